/* SPDX-License-Identifier: GPL-3.0-or-later
 * References: phi and mean colour of a texture at full scale and at the
 * coarser scales of the coarse-to-fine sampler, and convex blends of them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"
#include "ref_features.h"

/* The mean colour of rgb weighted by mask (NULL = 1); FGSD_ERR_TOO_SMALL
 * when nothing is selected. */
static fgsd_status mean_colour(const float *rgb, int w, int h, const float *mask, float colour[3])
{
    double sum[3] = {0.0, 0.0, 0.0}, wsum = 0.0;

    for (size_t i = 0; i < (size_t)w * (size_t)h; i++) {
        double m = mask ? (double)mask[i] : 1.0;

        for (int c = 0; c < 3; c++)
            sum[c] += m * rgb[3 * i + (size_t)c];
        wsum += m;
    }
    if (!(wsum > 0.0))
        return FGSD_ERR_TOO_SMALL;
    for (int c = 0; c < 3; c++)
        colour[c] = (float)(sum[c] / wsum);
    return FGSD_OK;
}

/* dst (w/2 x h/2, ch channels) <- 2x2 means of src (w x h); an odd last row
 * or column is dropped (models/sisa.py shrink: avg_pool2d). */
static void halve(const float *src, int w, int h, int ch, float *dst)
{
    int hw = w / 2, hh = h / 2;

    for (int y = 0; y < hh; y++)
        for (int x = 0; x < hw; x++)
            for (int c = 0; c < ch; c++) {
                size_t a = ((size_t)(2 * y) * (size_t)w + (size_t)(2 * x)) * (size_t)ch + c;
                size_t b = a + (size_t)w * (size_t)ch;

                dst[((size_t)y * (size_t)hw + (size_t)x) * (size_t)ch + c] =
                    0.25f * ((src[a] + src[a + (size_t)ch]) + (src[b] + src[b + (size_t)ch]));
            }
}

/* A coarser scale is measured while it still makes a reference. */
static int big_enough(const float *mask, int w, int h)
{
    return w >= FGSD_MIN_REFERENCE_SIDE && h >= FGSD_MIN_REFERENCE_SIDE &&
           features_mask_weight(mask, w, h) >= FGSD_MIN_REFERENCE_PIXELS;
}

static fgsd_reference *reference_new(int dim)
{
    fgsd_reference *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->dim = dim;
    r->phi = calloc((size_t)FGSD_MAX_SAMPLER_LEVELS * (size_t)dim, sizeof(float));
    if (!r->phi) {
        free(r);
        return NULL;
    }
    return r;
}

fgsd_status fgsd_reference_measure(fgsd_session *s, const float *rgb, int width, int height,
                                   const float *mask, fgsd_reference **reference)
{
    return fgsd_reference_measure_scales(s, rgb, width, height, mask, 0, reference);
}

fgsd_status fgsd_reference_measure_scales(fgsd_session *s, const float *rgb, int width,
                                          int height, const float *mask, int scales,
                                          fgsd_reference **reference)
{
    const fgsd_model_info *info;
    fgsd_reference *r = NULL;
    float *img = NULL, *msk = NULL, *next = NULL, *next_mask = NULL;
    int w = width, h = height;
    fgsd_status st;

    if (!s)
        return FGSD_ERR_INVALID_ARGUMENT;
    if (!reference)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "no output given");
    *reference = NULL;
    info = &s->model->info;
    /* Level 0 checks the image and mask and says what is wrong with them. */
    r = reference_new(info->feature_dim > 0 ? info->feature_dim : 1);
    if (!r)
        return session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for the reference");
    st = features_measure(s, rgb, width, height, mask, info->feature_window, r->phi);
    if (!st)
        st = mean_colour(rgb, width, height, mask, r->colour[0]);
    if (st)
        goto out;
    r->levels = 1;
    img = (float *)rgb;
    msk = (float *)mask;
    while (r->levels < FGSD_MAX_SAMPLER_LEVELS && (scales <= 0 || r->levels < scales)) {
        int hw = w / 2, hh = h / 2;

        next = malloc((size_t)hw * (size_t)hh * 3 * sizeof(float) + 1);
        next_mask = mask ? malloc((size_t)hw * (size_t)hh * sizeof(float) + 1) : NULL;
        if (!next || (mask && !next_mask)) {
            st = session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for the reference");
            goto out;
        }
        halve(img, w, h, 3, next);
        if (mask)
            halve(msk, w, h, 1, next_mask);
        if (img != rgb)
            free(img);
        if (msk != mask)
            free(msk);
        img = next;
        msk = next_mask;
        next = next_mask = NULL;
        w = hw;
        h = hh;
        if (!big_enough(msk, w, h))
            break;
        st = features_measure(s, img, w, h, msk, info->feature_window,
                              r->phi + (size_t)r->levels * (size_t)r->dim);
        if (!st)
            st = mean_colour(img, w, h, msk, r->colour[r->levels]);
        if (st)
            goto out;
        r->levels++;
    }
    *reference = r;
    r = NULL;
out:
    if (img != rgb)
        free(img);
    if (msk != mask)
        free(msk);
    free(next);
    free(next_mask);
    fgsd_reference_free(r);
    return st;
}

fgsd_status fgsd_reference_blend(const fgsd_reference *const *refs, const float *weights, int n,
                                 fgsd_reference **reference)
{
    fgsd_reference *r;
    double total = 0.0;
    int levels;

    if (!refs || !weights || !reference || n <= 0)
        return FGSD_ERR_INVALID_ARGUMENT;
    *reference = NULL;
    levels = FGSD_MAX_SAMPLER_LEVELS;
    for (int i = 0; i < n; i++) {
        if (!refs[i] || refs[i]->dim != refs[0]->dim || !isfinite(weights[i]) || weights[i] < 0.0f)
            return FGSD_ERR_INVALID_ARGUMENT;
        total += weights[i];
        levels = refs[i]->levels < levels ? refs[i]->levels : levels;
    }
    if (!(total > 0.0) || !isfinite(total))
        return FGSD_ERR_INVALID_ARGUMENT;
    r = reference_new(refs[0]->dim);
    if (!r)
        return FGSD_ERR_NO_MEMORY;
    r->levels = levels;
    for (int l = 0; l < levels; l++) {
        size_t off = (size_t)l * (size_t)r->dim;

        for (int k = 0; k < r->dim; k++) {
            double v = 0.0;

            for (int i = 0; i < n; i++)
                v += (double)weights[i] * refs[i]->phi[off + (size_t)k];
            r->phi[off + (size_t)k] = (float)(v / total);
        }
        for (int c = 0; c < 3; c++) {
            double v = 0.0;

            for (int i = 0; i < n; i++)
                v += (double)weights[i] * refs[i]->colour[l][c];
            r->colour[l][c] = (float)(v / total);
        }
    }
    *reference = r;
    return FGSD_OK;
}

fgsd_status fgsd_reference_from_features(const float *phi, int dim, const float colour[3],
                                         fgsd_reference **reference)
{
    fgsd_reference *r;

    if (!phi || !colour || !reference || dim <= 0)
        return FGSD_ERR_INVALID_ARGUMENT;
    *reference = NULL;
    for (int k = 0; k < dim; k++)
        if (!isfinite(phi[k]))
            return FGSD_ERR_INVALID_ARGUMENT;
    for (int c = 0; c < 3; c++)
        if (!isfinite(colour[c]))
            return FGSD_ERR_INVALID_ARGUMENT;
    r = reference_new(dim);
    if (!r)
        return FGSD_ERR_NO_MEMORY;
    r->levels = 1;
    memcpy(r->phi, phi, (size_t)dim * sizeof(float));
    memcpy(r->colour[0], colour, sizeof(r->colour[0]));
    *reference = r;
    return FGSD_OK;
}

void fgsd_reference_free(fgsd_reference *reference)
{
    if (!reference)
        return;
    free(reference->phi);
    free(reference);
}

int fgsd_reference_levels(const fgsd_reference *reference)
{
    return reference ? reference->levels : 0;
}

const float *fgsd_reference_features(const fgsd_reference *reference, int level)
{
    if (!reference || level < 0 || level >= reference->levels)
        return NULL;
    return reference->phi + (size_t)level * (size_t)reference->dim;
}

void fgsd_reference_colour(const fgsd_reference *reference, float colour[3])
{
    if (reference && colour)
        memcpy(colour, reference->colour[0], sizeof(reference->colour[0]));
}

fgsd_status reference_check(fgsd_session *s, const fgsd_reference *reference)
{
    const fgsd_model_info *info = &s->model->info;

    if (!reference)
        return FGSD_OK;
    if (!info->conditioned)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                            "this model is unconditioned: it takes no reference");
    if (reference->dim != info->feature_dim)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                            "the reference was measured with another model (%d features, "
                            "this model has %d)",
                            reference->dim, info->feature_dim);
    return FGSD_OK;
}

const float *reference_phi(const fgsd_reference *reference, int level)
{
    return fgsd_reference_features(reference, level);
}
