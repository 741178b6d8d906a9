/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Reference images to phi (see reference.h).
 */
#include "reference.h"

#include "cli.h"
#include "image_io.h"

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

static int one_phi(cli_engine *e, const char *path, const image *mask, const char *mask_path,
                   float *phi, float colour[3])
{
    char err[512];
    image ref;
    float *sel = NULL;
    fgsd_status st;
    int ret;

    if (image_read(path, &ref, err, sizeof err) < 0) {
        cli_error("reference: %s", err);
        return CLI_EXIT_ERROR;
    }
    ret = combine_mask(&ref, path, mask, mask_path, &sel);
    if (ret != CLI_EXIT_OK)
        goto out;
    progress_phase(&e->prog, "features");
    st = fgsd_features(e->session, ref.rgb, ref.width, ref.height, sel, phi);
    if (st != FGSD_OK) {
        char what[600];
        snprintf(what, sizeof what, "features of '%s'", path);
        ret = cli_engine_failed(e, st, what);
        goto out;
    }
    progress_done(&e->prog);
    cli_engine_notice(e); /* a large reference is measured on a sample */
    st = fgsd_mean_colour(ref.rgb, ref.width, ref.height, sel, colour);
    if (st != FGSD_OK) {
        cli_error("colour of '%s': %s", path, fgsd_status_string(st));
        ret = CLI_EXIT_ERROR;
    }
out:
    free(sel);
    image_free(&ref);
    return ret;
}

int reference_phi(cli_engine *e, const char *const *refs, const float *weights, int n,
                  const char *mask_path, float **phi, float colour[3])
{
    int dim = fgsd_model_feature_dim(e->model);
    float *all = NULL, *out = NULL, *equal = NULL, *colours = NULL;
    const float **rows = NULL, **crows = NULL;
    image mask = {0};
    char err[512];
    int ret = CLI_EXIT_ERROR;
    fgsd_status st;

    *phi = NULL;
    if (dim <= 0) {
        cli_error("model '%s' is unconditioned: it cannot follow a reference", e->model_path);
        return CLI_EXIT_ERROR;
    }
    if (mask_path && image_read(mask_path, &mask, err, sizeof err) < 0) {
        cli_error("mask: %s", err);
        return CLI_EXIT_ERROR;
    }
    all = malloc((size_t)n * (size_t)dim * sizeof *all);
    out = malloc((size_t)dim * sizeof *out);
    rows = malloc((size_t)n * sizeof *rows);
    equal = malloc((size_t)n * sizeof *equal);
    colours = malloc((size_t)n * 3 * sizeof *colours);
    crows = malloc((size_t)n * sizeof *crows);
    if (!all || !out || !rows || !equal || !colours || !crows) {
        cli_error("out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        rows[i] = all + (size_t)i * (size_t)dim;
        crows[i] = colours + 3 * (size_t)i;
        equal[i] = 1.0f;
        ret = one_phi(e, refs[i], mask_path ? &mask : NULL, mask_path, all + (size_t)i * dim,
                      colours + 3 * (size_t)i);
        if (ret != CLI_EXIT_OK)
            goto out;
    }
    st = fgsd_features_blend(rows, weights ? weights : equal, n, dim, out);
    if (st == FGSD_OK && colour)
        st = fgsd_features_blend(crows, weights ? weights : equal, n, 3, colour);
    if (st != FGSD_OK) {
        cli_error("blending the references' features: %s", fgsd_status_string(st));
        ret = CLI_EXIT_ERROR;
        goto out;
    }
    *phi = out;
    out = NULL;
    ret = CLI_EXIT_OK;
out:
    free(crows);
    free(colours);
    free(equal);
    free(rows);
    free(out);
    free(all);
    image_free(&mask);
    return ret;
}
