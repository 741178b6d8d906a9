/* SPDX-License-Identifier: GPL-3.0-or-later
 * phi of a reference (method.md section 2) and convex blends of phi's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canvas.h"
#include "denoise.h"
#include "image_check.h"
#include "ref_features.h"

double features_mask_weight(const float *mask, int w, int h)
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

fgsd_status features_check_reference(fgsd_session *s, const float *rgb, int width, int height,
                                     const float *mask)
{
    fgsd_status st = image_check(s, rgb, width, height, FGSD_MIN_REFERENCE_SIDE);
    double weight;

    if (!st)
        st = check_mask(s, mask, width, height);
    if (st)
        return st;
    weight = features_mask_weight(mask, width, height);
    if (weight < FGSD_MIN_REFERENCE_PIXELS)
        return session_fail(s, FGSD_ERR_TOO_SMALL,
                            "the reference has %.0f selected pixels; at least %d are needed",
                            weight, FGSD_MIN_REFERENCE_PIXELS);
    return FGSD_OK;
}

/* Adds one pass's feature sums and weights (phi = sums / weights) over a
 * whole image to sums and weights; a pass that runs out of GPU memory is
 * repeated on the CPU. */
static fgsd_status features_pass(fgsd_session *s, const float *rgb, int width, int height,
                                 const float *mask, double *pass_sums, double *pass_weights,
                                 double *sums, double *weights)
{
    const fgsd_model_info *info = &s->model->info;
    int dim = info->feature_dim;
    canvas cv;
    unet_pass pass;
    char err[512];
    fgsd_status st;

    if (canvas_init(&cv, width, height, info->channels, info->size_multiple, -1))
        return session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for the reference");
    if (unet_activation_bytes(s->model, cv.width, cv.height) > s->opt.memory_budget) {
        st = session_fail(s, FGSD_ERR_TOO_LARGE,
                          "a %dx%d reference is above the memory budget; select a smaller one",
                          width, height);
        goto out;
    }
    canvas_fill(&cv, rgb, info->channels);
    canvas_set_mask(&cv, mask);
    memset(&pass, 0, sizeof(pass));
    pass.input = cv.chw;
    pass.width = cv.width;
    pass.height = cv.height;
    pass.mask = cv.mask;
    pass.sums = pass_sums;
    pass.weights = pass_weights;
    pass.features_only = 1;
    memset(pass_sums, 0, (size_t)dim * sizeof(double));
    memset(pass_weights, 0, (size_t)dim * sizeof(double));
    st = unet_run(s->net, &pass, err, sizeof(err));
    if (st) /* out of GPU memory: this pass cannot be tiled, so on to the CPU */
        st = session_fail(s, st, "%s", err);
    if (st && session_recover_oom(s, st, 0)) {
        memset(pass_sums, 0, (size_t)dim * sizeof(double));
        memset(pass_weights, 0, (size_t)dim * sizeof(double));
        st = unet_run(s->net, &pass, err, sizeof(err));
    }
    if (st) {
        session_fail(s, st, "%s", err);
        goto out;
    }
    for (int i = 0; i < dim; i++) {
        sums[i] += pass_sums[i];
        weights[i] += pass_weights[i];
    }
out:
    canvas_free(&cv);
    return st;
}

/* At most this many windows per side are measured: a larger reference is
 * measured on an evenly spread grid of them (a sample: texture is
 * stationary), so a huge selection costs bounded time. */
#define MAX_WINDOWS_PER_SIDE 16

/* Start of window i of k of side w along n pixels: evenly spread, the first
 * at 0 and the last at n - w (models/evaluate.py window_starts). */
static int window_start(int i, int k, int n, int w)
{
    return k > 1 ? (int)lround((double)i * (n - w) / (k - 1)) : 0;
}

fgsd_status fgsd_features(fgsd_session *s, const float *rgb, int width, int height,
                          const float *mask, float *phi)
{
    if (!s)
        return FGSD_ERR_INVALID_ARGUMENT;
    return features_measure(s, rgb, width, height, mask, s->model->info.feature_window, phi);
}

fgsd_status features_measure(fgsd_session *s, const float *rgb, int width, int height,
                             const float *mask, int window, float *phi)
{
    const fgsd_model_info *info;
    int dim, ww, wh, kx, ky, windowed;
    double *sums = NULL, *weights = NULL, *pass_sums = NULL, *pass_weights = NULL;
    float *sub = NULL, *sub_mask = NULL;
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
    st = features_check_reference(s, rgb, width, height, mask);
    if (st)
        return st;
    /* phi depends on the image's size through the zero-padded borders, and
     * the model learnt it on crops of feature_window pixels (window): a reference
     * measured whole at another size pulls samples towards the wrong means
     * (docs/quality.md, "Reference size").  So a larger reference is cut into
     * windows of that side and their phi averaged, weighted by the selected
     * pixels as within one pass. */
    ww = window > 0 && width > window ? window : width;
    wh = window > 0 && height > window ? window : height;
    kx = (width + ww - 1) / ww;
    ky = (height + wh - 1) / wh;
    windowed = kx * ky > 1;
    if (kx > MAX_WINDOWS_PER_SIDE || ky > MAX_WINDOWS_PER_SIDE) {
        int all = kx * ky;

        kx = kx < MAX_WINDOWS_PER_SIDE ? kx : MAX_WINDOWS_PER_SIDE;
        ky = ky < MAX_WINDOWS_PER_SIDE ? ky : MAX_WINDOWS_PER_SIDE;
        snprintf(s->notice, sizeof(s->notice),
                 "the %dx%d reference was measured on %d of its %d windows of %dx%d pixels, "
                 "spread over it evenly",
                 width, height, kx * ky, all, ww, wh);
    }
    sums = calloc((size_t)dim, sizeof(double));
    weights = calloc((size_t)dim, sizeof(double));
    pass_sums = malloc((size_t)dim * sizeof(double));
    pass_weights = malloc((size_t)dim * sizeof(double));
    if (windowed) {
        sub = malloc((size_t)ww * (size_t)wh * 3 * sizeof(float));
        sub_mask = mask ? malloc((size_t)ww * (size_t)wh * sizeof(float)) : NULL;
    }
    if (!sums || !weights || !pass_sums || !pass_weights ||
        (windowed && (!sub || (mask && !sub_mask)))) {
        st = session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory");
        goto out;
    }
    if (!windowed)
        st = features_pass(s, rgb, width, height, mask, pass_sums, pass_weights, sums, weights);
    for (int j = 0; windowed && j < ky && !st; j++) {
        for (int i = 0; i < kx && !st; i++) {
            int x0 = window_start(i, kx, width, ww), y0 = window_start(j, ky, height, wh);
            double selected = 0.0;

            for (int y = 0; y < wh; y++) {
                size_t src = (size_t)(y0 + y) * (size_t)width + (size_t)x0;

                memcpy(sub + (size_t)y * ww * 3, rgb + src * 3, (size_t)ww * 3 * sizeof(float));
                if (mask) {
                    memcpy(sub_mask + (size_t)y * ww, mask + src, (size_t)ww * sizeof(float));
                    for (int x = 0; x < ww; x++)
                        selected += sub_mask[(size_t)y * ww + (size_t)x];
                }
            }
            if (mask && !(selected > 0.0))
                continue; /* nothing selected here: it would add nothing */
            st = features_pass(s, sub, ww, wh, sub_mask, pass_sums, pass_weights, sums, weights);
            if (!st && session_progress(s, 0, 0.0f, (float)(j * kx + i + 1) / (float)(kx * ky)))
                st = session_fail(s, FGSD_ERR_CANCELLED,
                                  "cancelled while measuring the reference (window %d of %d)",
                                  j * kx + i + 1, kx * ky);
        }
    }
    if (!st)
        for (int i = 0; i < dim; i++)
            phi[i] = weights[i] > 0.0 ? (float)(sums[i] / weights[i]) : 0.0f;
out:
    free(sums);
    free(weights);
    free(pass_sums);
    free(pass_weights);
    free(sub);
    free(sub_mask);
    return st;
}
