/* SPDX-License-Identifier: GPL-3.0-or-later
 * Healing a hole (docs/design.md "Heal"): the reference band around it, and
 * the sampler with the pixels outside the hole held (sampler.h's
 * known pixels) on the hole's bounding box grown by a margin.
 *
 * The margin is the larger of the band and half the receptive field: the
 * network sees at least as much context around the hole as it would inside
 * a whole image, and every band pixel lies inside the crop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "denoise.h"
#include "heal_offset.h"
#include "image_check.h"
#include "quilt.h"
#include "ref_features.h"
#include "reference.h"
#include "sampler.h"

typedef struct rect {
    int x, y, w, h;
} rect;

/* Sliding maximum of width 2 r + 1 along a line of n bytes (0 or 1) at
 * stride, by a running count of the set bytes in the window. */
static void dilate_line(unsigned char *v, int n, size_t stride, int r, unsigned char *line)
{
    int count = 0;

    for (int i = 0; i < n; i++)
        line[i] = v[(size_t)i * stride];
    for (int j = 0; j <= r && j < n; j++)
        count += line[j];
    for (int i = 0; i < n; i++) {
        v[(size_t)i * stride] = count > 0;
        if (i + r + 1 < n)
            count += line[i + r + 1];
        if (i - r >= 0)
            count -= line[i - r];
    }
}

fgsd_status fgsd_heal_band(const float *hole, int width, int height, int band_width,
                           float *band)
{
    size_t np;
    unsigned char *near = NULL, *line = NULL;

    if (!hole || !band || width < 1 || height < 1 || width > FGSD_MAX_SIDE ||
        height > FGSD_MAX_SIDE || band_width < 1 || band_width > FGSD_MAX_SIDE)
        return FGSD_ERR_INVALID_ARGUMENT;
    np = (size_t)width * (size_t)height;
    for (size_t i = 0; i < np; i++)
        if (!(hole[i] >= 0.0f && hole[i] <= 1.0f))
            return FGSD_ERR_INVALID_ARGUMENT;
    near = malloc(np);
    line = malloc((size_t)(width > height ? width : height));
    if (!near || !line) {
        free(near);
        free(line);
        return FGSD_ERR_NO_MEMORY;
    }
    for (size_t i = 0; i < np; i++)
        near[i] = (unsigned char)heal_in_hole(hole, i);
    /* Chebyshev distance <= band_width: a square dilation, rows then
     * columns. */
    for (int y = 0; y < height; y++)
        dilate_line(near + (size_t)y * (size_t)width, width, 1, band_width, line);
    for (int x = 0; x < width; x++)
        dilate_line(near + x, height, (size_t)width, band_width, line);
    for (size_t i = 0; i < np; i++)
        band[i] = near[i] ? 1.0f - hole[i] : 0.0f;
    free(near);
    free(line);
    return FGSD_OK;
}

/* The hole's bounding box grown by margin, clipped to the image; w = 0 when
 * the hole is empty. */
static rect hole_crop(const float *hole, int width, int height, int margin)
{
    int x0 = width, y0 = height, x1 = -1, y1 = -1;
    rect r = {0, 0, 0, 0};

    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            if (heal_in_hole(hole, (size_t)y * (size_t)width + (size_t)x)) {
                x0 = x < x0 ? x : x0;
                x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0;
                y1 = y > y1 ? y : y1;
            }
    if (x1 < 0)
        return r;
    r.x = x0 - margin > 0 ? x0 - margin : 0;
    r.y = y0 - margin > 0 ? y0 - margin : 0;
    r.w = (x1 + margin < width - 1 ? x1 + margin : width - 1) - r.x + 1;
    r.h = (y1 + margin < height - 1 ? y1 + margin : height - 1) - r.y + 1;
    return r;
}

/* Every hole weight in [0, 1], else an error that names the first pixel. */
static fgsd_status check_hole(fgsd_session *s, const float *hole, size_t np)
{
    for (size_t i = 0; i < np; i++)
        if (!(hole[i] >= 0.0f && hole[i] <= 1.0f))
            return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                                "the hole mask must lie in [0, 1] (pixel %zu is %g)", i,
                                (double)hole[i]);
    return FGSD_OK;
}

/* dst (r.w x r.h, ch channels) <- the rectangle r of src (width wide). */
static void crop(float *dst, const float *src, int width, rect r, int ch)
{
    for (int y = 0; y < r.h; y++)
        memcpy(dst + (size_t)y * (size_t)r.w * (size_t)ch,
               src + (((size_t)(r.y + y) * (size_t)width) + (size_t)r.x) * (size_t)ch,
               (size_t)r.w * (size_t)ch * sizeof(float));
}

static void paste(float *dst, int width, const float *src, rect r)
{
    for (int y = 0; y < r.h; y++)
        memcpy(dst + (((size_t)(r.y + y) * (size_t)width) + (size_t)r.x) * 3,
               src + (size_t)y * (size_t)r.w * 3, (size_t)r.w * 3 * sizeof(float));
}

/* The known pixels' mean colour, weighted by their mask: where the hole
 * starts (the data mean when nothing is known). */
static void known_colour(const float *known, const float *mask, size_t np,
                         const float *fallback, float colour[3])
{
    double sum[3] = {0.0, 0.0, 0.0}, weight = 0.0;

    for (size_t i = 0; i < np; i++) {
        weight += mask[i];
        for (int c = 0; c < 3; c++)
            sum[c] += (double)mask[i] * known[3 * i + (size_t)c];
    }
    for (int c = 0; c < 3; c++)
        colour[c] = weight > 0.0 ? (float)(sum[c] / weight) : fallback[c];
}

fgsd_status fgsd_heal(fgsd_session *s, const fgsd_reference *reference,
                      const fgsd_sampler_params *params, const float *image, const float *hole,
                      int width, int height, int band_width, float *out,
                      fgsd_sample_stats *stats)
{
    sisa_task t;
    const float *phi = reference_phi(reference, 0);
    const fgsd_model_info *info;
    float *img = NULL, *keep = NULL, *band = NULL, *own_phi = NULL, *res = NULL;
    size_t np;
    rect r;
    int margin;
    fgsd_status st;

    if (!s)
        return FGSD_ERR_INVALID_ARGUMENT;
    if (!params || !hole || !out)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "no parameters, hole or output given");
    st = sampler_check_params(s, params);
    if (!st)
        st = reference_check(s, reference);
    if (st)
        return st;
    if (band_width < 1 || band_width > FGSD_MAX_SIDE)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                            "the band width must lie in [1, %d], not %d", FGSD_MAX_SIDE,
                            band_width);
    st = image_check(s, image, width, height, 8);
    if (st)
        return st;
    info = &s->model->info;
    np = (size_t)width * (size_t)height;
    st = check_hole(s, hole, np);
    if (st)
        return st;
    margin = info->receptive_field / 2 > band_width ? info->receptive_field / 2 : band_width;
    r = hole_crop(hole, width, height, margin);
    if (r.w == 0)
        return session_fail(s, FGSD_ERR_TOO_SMALL, "the hole is empty: nothing to heal");
    if (r.w < 8 || r.h < 8)
        return session_fail(s, FGSD_ERR_TOO_SMALL,
                            "the image around the hole is %dx%d; at least 8x8 is needed", r.w,
                            r.h);

    np = (size_t)r.w * (size_t)r.h;
    img = malloc(np * 3 * sizeof(float));
    keep = malloc(np * sizeof(float));
    band = malloc(np * sizeof(float));
    res = malloc(np * 3 * sizeof(float));
    if (!img || !keep || !band || !res) {
        st = session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for a %dx%d region", r.w, r.h);
        goto out;
    }
    crop(img, image, width, r, 3);
    crop(keep, hole, width, r, 1);
    if (!phi && info->conditioned) {
        st = fgsd_heal_band(keep, r.w, r.h, band_width, band);
        if (st) {
            st = session_fail(s, st, "cannot find the band around the hole");
            goto out;
        }
        own_phi = malloc((size_t)info->feature_dim * sizeof(float));
        if (!own_phi) {
            st = session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for the features");
            goto out;
        }
        /* In one pass over the region, not in the model's windows: the
         * sampler measures the region whole with the same pixels around the
         * hole, and windows made the fills worse (docs/heal.md). */
        st = features_measure(s, img, r.w, r.h, band, 0, own_phi);
        if (st == FGSD_ERR_TOO_SMALL)
            st = session_fail(s, st,
                              "the band of %d pixels around the hole is too small for a "
                              "reference (%s); widen the band or give a reference",
                              band_width, fgsd_session_last_error(s));
        if (st)
            goto out;
        phi = own_phi;
    }
    for (size_t i = 0; i < np; i++)
        keep[i] = 1.0f - keep[i];
    memset(&t, 0, sizeof(t));
    t.p = params;
    t.phi = phi;
    t.width = r.w;
    t.height = r.h;
    t.seed = params->seed;
    t.sigma0 = params->sigma0;
    t.keep_low = !params->free_colour;
    t.known = img;
    t.known_mask = keep;
    known_colour(img, keep, np, info->data_mean, t.colour);
    st = sisa_run(s, &t, res, stats);
    if (st)
        goto out;
    if (out != image)
        memcpy(out, image, (size_t)width * (size_t)height * 3 * sizeof(float));
    paste(out, width, res, r);
out:
    free(img);
    free(keep);
    free(band);
    free(own_phi);
    free(res);
    return st;
}

/* Where the ring of held pixels around the hole repeats elsewhere in the
 * image, or in the reference when one is given (a lattice), the hole is
 * cloned from there whole (heal_offset.h); 0 when no place fits well
 * enough and the squares fill it.  The ring is half the band (at least 4,
 * at most OFFSET_RING px; a reference has no band: OFFSET_RING); in the
 * image, places within OFFSET_REACH px are searched. */
#define OFFSET_RING 16
#define OFFSET_REACH (FGSD_HEAL_CLONE_REACH - OFFSET_RING)

static int offset_fill(const float *image, const float *hole, int width, int height,
                       const float *source, const float *source_mask, int sw, int sh, rect r,
                       int band_width, float *canvas, float *shadow)
{
    int margin = source ? OFFSET_RING : band_width / 2;
    int dx = 0, dy = 0;
    double fit = 1.0;

    margin = margin < 4 ? 4 : (margin > OFFSET_RING ? OFFSET_RING : margin);

    if (!heal_offset_search(image, hole, width, height, source, source_mask, sw, sh, r.x, r.y,
                            r.w, r.h, margin, OFFSET_REACH, &dx, &dy, &fit) ||
        !(fit < HEAL_OFFSET_FIT))
        return 0;
    heal_offset_fill(hole, width, height, source ? source : image, source ? sw : width, r.x,
                     r.y, r.w, r.h, dx, dy, canvas, shadow);
    return 1;
}

/* Heal from patches (docs/design.md "Heal from patches"): a clone from one
 * offset where the hole's surroundings repeat (offset_fill), else quilt.c's
 * squares over the hole, from the band around it or from a source image. */
fgsd_status fgsd_heal_from_patches(fgsd_session *s, const fgsd_patch_params *q,
                                   const float *image, const float *hole, int width, int height,
                                   int band_width, const float *source, const float *source_mask,
                                   int sw, int sh, float *out)
{
    float *canvas = NULL, *band = NULL, *shadow = NULL;
    size_t np;
    rect r;
    int patch;
    fgsd_status st;

    if (!s)
        return FGSD_ERR_INVALID_ARGUMENT;
    if (!q || !hole || !out)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "no patch settings, hole or output given");
    if (!source && (band_width < 1 || band_width > FGSD_MAX_SIDE))
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                            "the band width must lie in [1, %d], not %d", FGSD_MAX_SIDE,
                            band_width);
    st = image_check(s, image, width, height, 8);
    if (!st && source)
        st = image_check(s, source, sw, sh, 8);
    if (!st) /* the source's size checked first: the mask's length is its */
        st = quilt_check(s, q, source ? source_mask : NULL, sw, sh);
    if (st)
        return st;
    np = (size_t)width * (size_t)height;
    st = check_hole(s, hole, np);
    if (st)
        return st;
    r = hole_crop(hole, width, height, 0);
    if (r.w == 0)
        return session_fail(s, FGSD_ERR_TOO_SMALL, "the hole is empty: nothing to heal");

    canvas = malloc(np * 3 * sizeof(float));
    shadow = malloc(np * 3 * sizeof(float));
    if (!source)
        band = malloc(np * sizeof(float));
    if (!canvas || !shadow || (!source && !band)) {
        st = session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for a %dx%d image", width,
                          height);
        goto out;
    }
    memcpy(canvas, image, np * 3 * sizeof(float));
    memcpy(shadow, image, np * 3 * sizeof(float));
    if (offset_fill(image, hole, width, height, source, source_mask, sw, sh, r, band_width,
                    canvas, shadow)) {
        st = FGSD_OK; /* a lattice: continued from one place */
    } else if (source) {
        patch = quilt_patch_side(q->patch, sw, sh);
        st = quilt_heal(s, source, source_mask, 0, sw, sh, patch, q, hole, r.x, r.y, r.w, r.h,
                        width, height, canvas, shadow);
    } else {
        /* Squares come from the band: 3/4 of its width by default, so that
         * the band holds many of them. */
        st = fgsd_heal_band(hole, width, height, band_width, band);
        if (st) {
            st = session_fail(s, st, "cannot find the band around the hole");
            goto out;
        }
        patch = q->patch ? q->patch : (3 * band_width / 4 > 8 ? 3 * band_width / 4 : 8);
        patch = quilt_patch_side(patch, width, height);
        st = quilt_heal(s, image, band, 1, width, height, patch, q, hole, r.x, r.y, r.w, r.h,
                        width, height, canvas, shadow);
    }
    /* The squares' edge meets the image: their mismatch along it is spread
     * smoothly over the hole. */
    if (!st)
        st = heal_blend(s, canvas, image, shadow, hole, r.x, r.y, r.w, r.h, width, height);
    if (st)
        goto out;
    /* A soft hole blends: the squares where it is 1, the image where 0. */
    for (size_t i = 0; i < np; i++) {
        float m = hole[i];

        for (int c = 0; c < 3; c++)
            out[i * 3 + (size_t)c] =
                m > 0.0f ? m * canvas[i * 3 + (size_t)c] + (1.0f - m) * image[i * 3 + (size_t)c]
                         : image[i * 3 + (size_t)c];
    }
out:
    free(canvas);
    free(shadow);
    free(band);
    return st;
}
