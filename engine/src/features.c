/* SPDX-License-Identifier: GPL-3.0-or-later
 * phi of a reference (method.md section 2) and convex blends of phi's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "canvas.h"
#include "denoise.h"

static double mask_weight(const float *mask, int w, int h)
{
    double s = 0.0;

    if (!mask)
        return (double)w * (double)h;
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
        s += mask[i];
    return s;
}

static fgsd_status check_mask(fgsd_session *s, const float *mask, int w, int h)
{
    if (!mask)
        return FGSD_OK;
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
        if (!(mask[i] >= 0.0f && mask[i] <= 1.0f))
            return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                                "mask values must lie in [0, 1] (pixel %zu)", i);
    return FGSD_OK;
}

fgsd_status fgsd_features(fgsd_session *s, const float *rgb, int width, int height,
                          const float *mask, float *phi)
{
    const fgsd_model_info *info;
    int dim;
    double *sums = NULL, *weights = NULL;
    canvas cv;
    unet_pass pass;
    char err[512];
    fgsd_status st;

    if (!s)
        return FGSD_ERR_INVALID_ARGUMENT;
    info = &s->model->info;
    dim = info->feature_dim;
    if (!phi)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "no output buffer given");
    if (!info->conditioned || dim <= 0)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                            "this model is unconditioned: it has no features");
    st = check_image(s, rgb, width, height, FGSD_MIN_REFERENCE_SIDE);
    if (!st)
        st = check_mask(s, mask, width, height);
    if (st)
        return st;
    if (mask_weight(mask, width, height) < FGSD_MIN_REFERENCE_PIXELS)
        return session_fail(s, FGSD_ERR_TOO_SMALL,
                            "the reference has %.0f selected pixels; at least %d are needed",
                            mask_weight(mask, width, height), FGSD_MIN_REFERENCE_PIXELS);
    if (canvas_init(&cv, width, height, info->channels, info->size_multiple, -1))
        return session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for the reference");
    if (unet_activation_bytes(s->model, cv.width, cv.height) > s->opt.memory_budget) {
        st = session_fail(s, FGSD_ERR_TOO_LARGE,
                          "a %dx%d reference is above the memory budget; select a smaller one",
                          width, height);
        goto out;
    }
    sums = calloc((size_t)dim, sizeof(double));
    weights = calloc((size_t)dim, sizeof(double));
    if (!sums || !weights) {
        st = session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory");
        goto out;
    }
    canvas_fill(&cv, rgb, info->channels);
    canvas_set_mask(&cv, mask);
    memset(&pass, 0, sizeof(pass));
    pass.input = cv.chw;
    pass.width = cv.width;
    pass.height = cv.height;
    pass.mask = cv.mask;
    pass.sums = sums;
    pass.weights = weights;
    pass.features_only = 1;
    st = unet_run(s->net, &pass, err, sizeof(err));
    if (st) /* out of GPU memory: this pass cannot be tiled, so on to the CPU */
        st = session_fail(s, st, "%s", err);
    if (st && session_recover_oom(s, st, 0)) {
        memset(sums, 0, (size_t)dim * sizeof(double));
        memset(weights, 0, (size_t)dim * sizeof(double));
        st = unet_run(s->net, &pass, err, sizeof(err));
    }
    if (st) {
        session_fail(s, st, "%s", err);
        goto out;
    }
    for (int i = 0; i < dim; i++)
        phi[i] = weights[i] > 0.0 ? (float)(sums[i] / weights[i]) : 0.0f;
out:
    free(sums);
    free(weights);
    canvas_free(&cv);
    return st;
}

fgsd_status fgsd_features_blend(const float *const *phis, const float *weights, int n, int dim,
                                float *out)
{
    double total = 0.0;

    if (!phis || !weights || !out || n <= 0 || dim <= 0)
        return FGSD_ERR_INVALID_ARGUMENT;
    for (int i = 0; i < n; i++) {
        if (!phis[i] || !isfinite(weights[i]) || weights[i] < 0.0f)
            return FGSD_ERR_INVALID_ARGUMENT;
        total += weights[i];
    }
    if (!(total > 0.0))
        return FGSD_ERR_INVALID_ARGUMENT;
    for (int k = 0; k < dim; k++) {
        double v = 0.0;
        for (int i = 0; i < n; i++)
            v += (double)weights[i] * phis[i][k];
        out[k] = (float)(v / total);
    }
    return FGSD_OK;
}

fgsd_status fgsd_mean_colour(const float *rgb, int width, int height, const float *mask,
                             float colour[3])
{
    double sum[3] = {0.0, 0.0, 0.0}, wsum = 0.0;

    if (!rgb || !colour || width < 1 || height < 1 || width > FGSD_MAX_SIDE ||
        height > FGSD_MAX_SIDE)
        return FGSD_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < (size_t)width * (size_t)height; i++) {
        double w = mask ? (double)mask[i] : 1.0;

        if (!(w >= 0.0 && w <= 1.0))
            return FGSD_ERR_INVALID_ARGUMENT;
        for (int c = 0; c < 3; c++)
            sum[c] += w * rgb[3 * i + (size_t)c];
        wsum += w;
    }
    if (!(wsum > 0.0))
        return FGSD_ERR_TOO_SMALL;
    for (int c = 0; c < 3; c++) {
        colour[c] = (float)(sum[c] / wsum);
        if (!isfinite(colour[c]))
            return FGSD_ERR_INVALID_ARGUMENT;
    }
    return FGSD_OK;
}
