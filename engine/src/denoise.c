/* SPDX-License-Identifier: GPL-3.0-or-later
 * The whole-image denoiser pass (denoise_image): whole, or in tiles with
 * staged or extrapolated feature means.  The public calls over it are in
 * denoise_calls.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "canvas.h"
#include "denoise.h"
#include "tile_plan.h"

/* The image a pass reads and the one it writes: host arrays, or the
 * backend's images (x NULL). */
typedef struct denoise_io {
    const float *x;
    float *clean;
    const backend_image *dx;
    backend_image *dclean;
} denoise_io;

/* Runs the first `blocks` blocks (0 = all) of the net on every tile,
 * projecting with fixed whole-image means (NULL = each tile measures its
 * own, exact when there is one tile); adds the interior sums of the feature
 * blocks into sums/weights; writes the clean interior into io's clean
 * image (blocks 0). */
static fgsd_status run_tiles(fgsd_session *s, const tile_plan *plan, const denoise_io *io, int w,
                             int h, const float *phi, const float *means, int blocks,
                             double *sums, double *weights)
{
    const fgsd_model_info *info = &s->model->info;
    int C = info->channels;
    canvas cv;
    unet_pass pass;
    char err[512];
    fgsd_status st = FGSD_OK;

    for (int i = 0; i < plan->n && !st; i++) {
        const tile *t = &plan->tile[i];

        if (canvas_init_window(&cv, plan->win_w, plan->win_h, w, h, C, t->wx, t->wy,
                               plan->periodic, io->x != NULL))
            return session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for a tile");
        if (io->x)
            canvas_fill(&cv, io->x, C);
        canvas_set_mask_rect(&cv, t->ix0, t->iy0, t->ix1, t->iy1);
        memset(&pass, 0, sizeof(pass));
        pass.input = cv.chw;
        pass.input_image = io->dx;
        pass.window = (backend_window){w, h, t->wx, t->wy, plan->periodic,
                                       t->ix0, t->iy0, t->ix1, t->iy1};
        pass.out_image = blocks ? NULL : io->dclean;
        pass.width = cv.width;
        pass.height = cv.height;
        pass.mask = cv.mask;
        pass.phi_ref = phi;
        pass.fixed_means = means;
        pass.sums = sums;
        pass.weights = weights;
        pass.blocks = blocks;
        pass.out = cv.out;
        st = unet_run(s->net, &pass, err, sizeof(err));
        if (st)
            session_fail(s, st, "%s", err);
        else if (!blocks && io->x)
            canvas_store(&cv, C, t->ix0, t->iy0, t->ix1, t->iy1, io->x, info->output_residual,
                         io->clean);
        canvas_free(&cv);
    }
    return st;
}

/* Exact whole-image means for a tiled pass: block by block, each stage runs
 * the net up to the next feature block with the means found so far. */
static fgsd_status staged_means(fgsd_session *s, const tile_plan *plan, const denoise_io *io,
                                int w, int h, const float *phi, float *means)
{
    const fgsd_model *m = s->model;
    int dim = m->info.feature_dim;
    double *sums = calloc((size_t)dim, sizeof(double));
    double *weights = calloc((size_t)dim, sizeof(double));
    fgsd_status st = FGSD_OK;

    if (!sums || !weights)
        st = session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory");
    for (int b = 0; b < m->n_blocks && !st; b++) {
        const model_block *blk = &m->block[b];
        if (!blk->is_feature)
            continue;
        memset(sums, 0, (size_t)dim * sizeof(double));
        memset(weights, 0, (size_t)dim * sizeof(double));
        st = run_tiles(s, plan, io, w, h, phi, means, b + 1, sums, weights);
        for (int c = 0; !st && c < blk->width; c++) {
            int k = blk->phi_offset + c;
            means[k] = weights[k] > 0.0 ? (float)(sums[k] / weights[k]) : 0.0f;
        }
    }
    free(sums);
    free(weights);
    return st;
}

/* The means a tiled pass projects with: exact (staged) ones, or for a
 * lagged pass between anchors the line through the last two exact ones. */
static fgsd_status tiled_means(fgsd_session *s, const tile_plan *plan, const denoise_io *io,
                               int w, int h, const float *phi, denoise_ctx *ctx, float *means)
{
    int dim = s->model->info.feature_dim;
    fgsd_status st;

    if (ctx->lagged && ctx->anchors > 0 && ctx->pass % DENOISE_EXACT_EVERY) {
        const float *a = ctx->anchor[0];
        if (ctx->anchors == 1) {
            memcpy(means, a, (size_t)dim * sizeof(float));
        } else {
            float f = (float)(ctx->pass - ctx->anchor_pass[0]) /
                      (float)(ctx->anchor_pass[0] - ctx->anchor_pass[1]);
            for (int k = 0; k < dim; k++)
                means[k] = a[k] + f * (a[k] - ctx->anchor[1][k]);
        }
        return FGSD_OK;
    }
    st = staged_means(s, plan, io, w, h, phi, means);
    if (st || !ctx->lagged)
        return st;
    if (!ctx->anchor[0]) {
        ctx->anchor[0] = malloc((size_t)dim * sizeof(float));
        ctx->anchor[1] = malloc((size_t)dim * sizeof(float));
        if (!ctx->anchor[0] || !ctx->anchor[1])
            return session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory");
    }
    /* A retry of this pass (out of memory) overwrites its own anchor. */
    if (!ctx->anchors || ctx->anchor_pass[0] != ctx->pass) {
        float *t = ctx->anchor[1];
        ctx->anchor[1] = ctx->anchor[0];
        ctx->anchor[0] = t;
        ctx->anchor_pass[1] = ctx->anchor_pass[0];
        if (ctx->anchors < 2)
            ctx->anchors++;
    }
    memcpy(ctx->anchor[0], means, (size_t)dim * sizeof(float));
    ctx->anchor_pass[0] = ctx->pass;
    return FGSD_OK;
}

/* One attempt of denoise_image; *window_bytes: the memory of the planned
 * windows (0 when planning failed). */
fgsd_status denoise_plan_check(fgsd_session *s, int w, int h, int periodic)
{
    tile_plan plan;
    char err[512] = "";
    fgsd_status st = tile_plan_make(&plan, s->model, w, h, periodic, session_budget(s),
                                    s->opt.max_tile, err, sizeof(err));

    if (st)
        return session_fail(s, st, "%dx%d: %s", w, h, err[0] ? err : "out of memory");
    tile_plan_free(&plan);
    return FGSD_OK;
}

static fgsd_status denoise_pass(fgsd_session *s, const denoise_io *io, int w, int h,
                                const float *phi, denoise_ctx *ctx, size_t *window_bytes)
{
    const fgsd_model *m = s->model;
    int dim = m->info.feature_dim > 0 ? m->info.feature_dim : 1;
    denoise_ctx defaults = {0};
    tile_plan plan;
    float *means = NULL;
    char err[512] = "";
    fgsd_status st;

    if (!ctx) {
        defaults.max_window = s->opt.max_tile;
        ctx = &defaults;
    }
    *window_bytes = 0;
    st = tile_plan_make(&plan, m, w, h, ctx->periodic, session_budget(s), ctx->max_window, err,
                        sizeof(err));
    if (st)
        return session_fail(s, st, "%dx%d: %s", w, h, err[0] ? err : "out of memory");
    ctx->tiles = plan.n;
    *window_bytes = tile_window_bytes(m, plan.win_w, plan.win_h);
    /* One tile measures its own (exact) means; several project with
     * whole-image ones. */
    if (plan.n > 1 && phi) {
        means = calloc((size_t)dim, sizeof(float));
        st = means ? tiled_means(s, &plan, io, w, h, phi, ctx, means)
                   : session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory");
        if (st)
            goto out;
    }
    st = run_tiles(s, &plan, io, w, h, phi, means, 0, NULL, NULL);
    if (!st)
        ctx->pass++;
out:
    free(means);
    tile_plan_free(&plan);
    return st;
}

/* Out of GPU memory, the session tiles smaller or moves to the CPU
 * (session_recover_oom) and the pass runs again; it ends, as each retry
 * halves the budget or leaves the GPU. */
fgsd_status denoise_image(fgsd_session *s, const float *x, int w, int h, const float *phi,
                          denoise_ctx *ctx, float *clean)
{
    denoise_io io = {.x = x, .clean = clean};
    size_t window_bytes;
    fgsd_status st;

    do
        st = denoise_pass(s, &io, w, h, phi, ctx, &window_bytes);
    while (st && session_recover_oom(s, st, window_bytes));
    return st;
}

fgsd_status denoise_backend_image(fgsd_session *s, const backend_image *x, int w, int h,
                                  const float *phi, denoise_ctx *ctx, backend_image *clean)
{
    denoise_io io = {.dx = x, .dclean = clean};
    size_t window_bytes;

    return denoise_pass(s, &io, w, h, phi, ctx, &window_bytes);
}

void denoise_ctx_free(denoise_ctx *ctx)
{
    free(ctx->anchor[0]);
    free(ctx->anchor[1]);
    ctx->anchor[0] = ctx->anchor[1] = NULL;
    ctx->anchors = 0;
}
