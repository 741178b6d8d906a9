/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Reference images to fgsd_reference (see reference.h).
 */
#include "reference.h"

#include "cli.h"
#include "image_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mask_from_image(const image *img, float **out)
{
    size_t n = (size_t)img->width * (size_t)img->height;
    float *m = malloc(n * sizeof *m);

    if (!m) {
        cli_error("out of memory for a %dx%d mask", img->width, img->height);
        return CLI_EXIT_ERROR;
    }
    for (size_t i = 0; i < n; i++) {
        float v = (img->rgb[3 * i] + img->rgb[3 * i + 1] + img->rgb[3 * i + 2]) / 3.0f;
        if (img->alpha)
            v *= img->alpha[i];
        m[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    }
    *out = m;
    return CLI_EXIT_OK;
}

/* The selection for one reference: its alpha times the mask, or NULL when
 * neither exists (every pixel counts). */
static int combine_mask(const image *ref, const char *ref_path, const image *mask,
                        const char *mask_path, float **out)
{
    size_t n = (size_t)ref->width * (size_t)ref->height;
    float *m = NULL;
    int ret;

    *out = NULL;
    if (mask && (mask->width != ref->width || mask->height != ref->height)) {
        cli_error("mask '%s' is %dx%d but reference '%s' is %dx%d", mask_path, mask->width,
                  mask->height, ref_path, ref->width, ref->height);
        return CLI_EXIT_ERROR;
    }
    if (mask) {
        ret = mask_from_image(mask, &m);
        if (ret != CLI_EXIT_OK)
            return ret;
    }
    if (ref->alpha && !m) {
        m = malloc(n * sizeof *m);
        if (!m) {
            cli_error("out of memory for a %dx%d mask", ref->width, ref->height);
            return CLI_EXIT_ERROR;
        }
        memcpy(m, ref->alpha, n * sizeof *m);
    } else if (ref->alpha) {
        for (size_t i = 0; i < n; i++)
            m[i] *= ref->alpha[i];
    }
    *out = m;
    return CLI_EXIT_OK;
}

int reference_measure(cli_engine *e, const char *path, const image *ref, const float *sel,
                      fgsd_reference **out)
{
    fgsd_status st;

    *out = NULL;
    if (fgsd_model_feature_dim(e->model) <= 0) {
        cli_error("model '%s' is unconditioned: it cannot follow a reference", e->model_path);
        return CLI_EXIT_ERROR;
    }
    progress_phase(&e->prog, "features");
    st = fgsd_reference_measure_scales(e->session, ref->rgb, ref->width, ref->height, sel,
                                       e->reference_scales, out);
    if (st != FGSD_OK) {
        char what[600];
        snprintf(what, sizeof what, "features of '%s'", path);
        return cli_engine_failed(e, st, what);
    }
    progress_done(&e->prog);
    cli_engine_notice(e); /* a large reference is measured on a sample */
    return CLI_EXIT_OK;
}

static int one_reference(cli_engine *e, const char *path, const image *mask,
                         const char *mask_path, fgsd_reference **out)
{
    char err[512];
    image ref;
    float *sel = NULL;
    int ret;

    if (image_read(path, &ref, err, sizeof err) < 0) {
        cli_error("reference: %s", err);
        return CLI_EXIT_ERROR;
    }
    ret = combine_mask(&ref, path, mask, mask_path, &sel);
    if (ret == CLI_EXIT_OK)
        ret = reference_measure(e, path, &ref, sel, out);
    free(sel);
    image_free(&ref);
    return ret;
}

int reference_load(cli_engine *e, const char *const *refs, const float *weights, int n,
                   const char *mask_path, fgsd_reference **out)
{
    fgsd_reference **each = NULL;
    float *equal = NULL;
    image mask = {0};
    char err[512];
    int ret = CLI_EXIT_ERROR;
    fgsd_status st;

    *out = NULL;
    if (fgsd_model_feature_dim(e->model) <= 0) {
        cli_error("model '%s' is unconditioned: it cannot follow a reference", e->model_path);
        return CLI_EXIT_ERROR;
    }
    if (mask_path && image_read(mask_path, &mask, err, sizeof err) < 0) {
        cli_error("mask: %s", err);
        return CLI_EXIT_ERROR;
    }
    each = calloc((size_t)n, sizeof *each);
    equal = malloc((size_t)n * sizeof *equal);
    if (!each || !equal) {
        cli_error("out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        equal[i] = 1.0f;
        ret = one_reference(e, refs[i], mask_path ? &mask : NULL, mask_path, &each[i]);
        if (ret != CLI_EXIT_OK)
            goto out;
    }
    st = fgsd_reference_blend((const fgsd_reference *const *)each, weights ? weights : equal, n,
                              out);
    if (st != FGSD_OK) {
        cli_error("blending the references: %s", fgsd_status_string(st));
        ret = CLI_EXIT_ERROR;
        goto out;
    }
    ret = CLI_EXIT_OK;
out:
    for (int i = 0; each && i < n; i++)
        fgsd_reference_free(each[i]);
    free(each);
    free(equal);
    image_free(&mask);
    return ret;
}

int reference_source(const char *path, const char *mask_path, image *img, float **sel)
{
    image mask = {0};
    char err[512];
    int ret;

    *sel = NULL;
    if (image_read(path, img, err, sizeof err) < 0) {
        cli_error("reference: %s", err);
        return CLI_EXIT_ERROR;
    }
    if (mask_path && image_read(mask_path, &mask, err, sizeof err) < 0) {
        cli_error("mask: %s", err);
        image_free(img);
        return CLI_EXIT_ERROR;
    }
    ret = combine_mask(img, path, mask_path ? &mask : NULL, mask_path, sel);
    image_free(&mask);
    if (ret != CLI_EXIT_OK)
        image_free(img);
    return ret;
}
