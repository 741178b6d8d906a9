/* SPDX-License-Identifier: GPL-3.0-or-later
 * The graph runner: walks the UNet of docs/model-format.md block by block,
 * measuring feature means and applying the projection of method.md section 2
 * (a <- a + g * (phi_ref - mean_hw(a))) at every feature block. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unet.h"

/* Activations of one canvas size; reallocated when the size changes. */
typedef struct level_buffers {
    backend_tensor *skip, *a, *b, *up, *cat, *pooled;
    int joined;   /* up and skip are cat's two halves (backend.h tensor_view) */
    float *mask;  /* this level's pooled mask, NULL when there is none */
    double total; /* and its sum */
} level_buffers;

struct unet {
    const fgsd_model *model;
    const backend_ops *ops;
    backend *be;
    backend_conv *conv[MODEL_MAX_BLOCKS][MODEL_MAX_CONVS];
    backend_conv *up[MODEL_MAX_BLOCKS];
    backend_conv *out;
    int width, height; /* size the buffers below were made for (0: none) */
    backend_tensor *in, *result, *mid_a, *mid_b;
    level_buffers lv[FGSD_MAX_LEVELS + 1];
    float *offsets;    /* per-channel projection offsets, widest block */
    double *block_sums; /* per feature channel, as phi */
    /* The mask pyramid is kept while the passes' masks stay the same (a
     * sampler run: every pass); mask_gen numbers its contents, so that a
     * backend may keep its own copy of a level (backend.h channel_sums). */
    int mask_valid, mask_whole; /* built; built from no mask (all ones) */
    uint64_t mask_gen;
    unsigned long mask_builds;  /* for tests */
};

static fgsd_status backend_fail(unet *net, fgsd_status st, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", net->ops->error(net->be));
    return st ? st : FGSD_ERR_BACKEND;
}

static void free_buffers(unet *net)
{
    const backend_ops *ops = net->ops;

    for (int l = 0; l <= FGSD_MAX_LEVELS; l++) {
        level_buffers *b = &net->lv[l];
        ops->tensor_free(net->be, b->skip);
        ops->tensor_free(net->be, b->a);
        ops->tensor_free(net->be, b->b);
        ops->tensor_free(net->be, b->up);
        ops->tensor_free(net->be, b->cat);
        ops->tensor_free(net->be, b->pooled);
        free(b->mask);
        memset(b, 0, sizeof(*b));
    }
    ops->tensor_free(net->be, net->in);
    ops->tensor_free(net->be, net->result);
    ops->tensor_free(net->be, net->mid_a);
    ops->tensor_free(net->be, net->mid_b);
    net->in = net->result = net->mid_a = net->mid_b = NULL;
    net->width = net->height = 0;
    net->mask_valid = 0;
}

void unet_free(unet *net)
{
    if (!net)
        return;
    free_buffers(net);
    for (int b = 0; b < MODEL_MAX_BLOCKS; b++) {
        for (int j = 0; j < MODEL_MAX_CONVS; j++)
            net->ops->conv_free(net->be, net->conv[b][j]);
        net->ops->conv_free(net->be, net->up[b]);
    }
    net->ops->conv_free(net->be, net->out);
    free(net->offsets);
    free(net->block_sums);
    free(net);
}

fgsd_status unet_create(const fgsd_model *model, const backend_ops *ops, backend *be, unet **out,
                        char *err, size_t errlen)
{
    unet *net = calloc(1, sizeof(*net));
    int widest = 0, phi_end = 0;
    fgsd_status st;

    *out = NULL;
    if (!net) {
        snprintf(err, errlen, "out of memory");
        return FGSD_ERR_NO_MEMORY;
    }
    net->model = model;
    net->ops = ops;
    net->be = be;
    for (int b = 0; b < model->n_blocks; b++) {
        const model_block *blk = &model->block[b];
        if (blk->width > widest)
            widest = blk->width;
        if (blk->is_feature && blk->phi_offset + blk->width > phi_end)
            phi_end = blk->phi_offset + blk->width;
        for (int j = 0; j < blk->n_convs; j++) {
            net->conv[b][j] = ops->conv_prepare(be, &blk->conv[j], 1);
            if (!net->conv[b][j])
                goto out_backend;
        }
        if (blk->kind == BLOCK_DEC) {
            net->up[b] = ops->conv_prepare(be, &blk->up, 0);
            if (!net->up[b])
                goto out_backend;
        }
    }
    net->out = ops->conv_prepare(be, &model->out, 0);
    if (!net->out)
        goto out_backend;
    net->offsets = calloc((size_t)widest, sizeof(float));
    net->block_sums = calloc((size_t)phi_end + 1, sizeof(double));
    if (!net->offsets || !net->block_sums) {
        unet_free(net);
        snprintf(err, errlen, "out of memory");
        return FGSD_ERR_NO_MEMORY;
    }
    *out = net;
    return FGSD_OK;

out_backend:
    snprintf(err, errlen, "%s", ops->error(be));
    st = ops->status(be);
    unet_free(net);
    return st ? st : FGSD_ERR_BACKEND;
}

size_t unet_activation_bytes(const fgsd_model *model, int width, int height)
{
    const fgsd_model_info *in = &model->info;
    double px = (double)width * (double)height, ch = 2.0 * in->channels, bytes;

    /* Per level: skip, a, b, up (1x each), cat (2x), pooled (1x at next level). */
    for (int l = 0; l < in->levels; l++)
        ch += (6.0 * in->widths[l] + 0.25 * in->widths[l]) / pow(4.0, l);
    ch += 2.0 * in->widths[in->levels] / pow(4.0, in->levels);
    bytes = px * ch * sizeof(float) + px * 1.34 * sizeof(float); /* + mask pyramid */
    return bytes > (double)SIZE_MAX ? SIZE_MAX : (size_t)bytes;
}

static backend_tensor *new_tensor(unet *net, int c, int level)
{
    return net->ops->tensor_new(net->be, c, net->height >> level, net->width >> level);
}

static fgsd_status alloc_buffers(unet *net, int width, int height)
{
    const fgsd_model_info *info = &net->model->info;
    int L = info->levels;

    free_buffers(net);
    net->width = width;
    net->height = height;
    net->in = new_tensor(net, info->channels, 0);
    net->result = new_tensor(net, info->channels, 0);
    net->mid_a = new_tensor(net, info->widths[L], L);
    net->mid_b = new_tensor(net, info->widths[L], L);
    if (!net->in || !net->result || !net->mid_a || !net->mid_b)
        goto out_fail;
    for (int l = 0; l < L; l++) {
        level_buffers *b = &net->lv[l];
        int w = info->widths[l];
        b->cat = new_tensor(net, 2 * w, l);
        /* The concatenation [up, skip] without a copy where the backend can
         * make its halves tensors of their own. */
        if (b->cat && net->ops->tensor_view &&
            (net->ops->tensor_view(net->be, b->cat, 0, w, &b->up) ||
             net->ops->tensor_view(net->be, b->cat, w, w, &b->skip)))
            goto out_fail;
        b->joined = b->up && b->skip;
        if (!b->joined) { /* a copy into cat must not read cat itself */
            net->ops->tensor_free(net->be, b->up);
            net->ops->tensor_free(net->be, b->skip);
            b->up = b->skip = NULL;
        }
        if (!b->skip)
            b->skip = new_tensor(net, w, l);
        if (!b->up)
            b->up = new_tensor(net, w, l);
        b->a = new_tensor(net, w, l);
        b->b = new_tensor(net, w, l);
        b->pooled = new_tensor(net, w, l + 1);
        if (!b->skip || !b->a || !b->b || !b->up || !b->cat || !b->pooled)
            goto out_fail;
    }
    for (int l = 0; l <= L; l++) {
        size_t n = (size_t)(width >> l) * (size_t)(height >> l);
        net->lv[l].mask = malloc(n * sizeof(float));
        if (!net->lv[l].mask)
            goto out_fail;
    }
    return FGSD_OK;

out_fail:
    free_buffers(net);
    return FGSD_ERR_NO_MEMORY;
}

/* Numbers every pyramid built in the process, so that no two are alike
 * even where freed and reallocated masks share an address. */
static atomic_uint_least64_t mask_generations;

/* Whether the pyramid was built from this mask (NULL: all ones). */
static int mask_unchanged(const unet *net, const float *mask)
{
    size_t n0 = (size_t)net->width * (size_t)net->height;

    if (!net->mask_valid || (mask == NULL) != net->mask_whole)
        return 0;
    return !mask || !memcmp(net->lv[0].mask, mask, n0 * sizeof(float));
}

/* Level l's mask is the 2x2 average of level l-1's, as the image is pooled;
 * kept (with its totals) while the passes bring the same mask. */
static void build_mask_pyramid(unet *net, const float *mask)
{
    int L = net->model->info.levels;
    size_t n0 = (size_t)net->width * (size_t)net->height;

    if (mask_unchanged(net, mask))
        return;
    if (mask)
        memcpy(net->lv[0].mask, mask, n0 * sizeof(float));
    else
        for (size_t i = 0; i < n0; i++)
            net->lv[0].mask[i] = 1.0f;
    for (int l = 1; l <= L; l++) {
        int w = net->width >> l, h = net->height >> l, pw = net->width >> (l - 1);
        const float *p = net->lv[l - 1].mask;
        float *m = net->lv[l].mask;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t i = (size_t)(2 * y) * (size_t)pw + (size_t)(2 * x);
                m[(size_t)y * (size_t)w + (size_t)x] =
                    0.25f * (p[i] + p[i + 1] + p[i + (size_t)pw] + p[i + (size_t)pw + 1]);
            }
    }
    for (int l = 0; l <= L; l++) {
        size_t n = (size_t)(net->width >> l) * (size_t)(net->height >> l);
        double s = 0.0;

        for (size_t i = 0; i < n; i++)
            s += net->lv[l].mask[i];
        net->lv[l].total = s;
    }
    net->mask_valid = 1;
    net->mask_whole = !mask;
    net->mask_gen = atomic_fetch_add(&mask_generations, 1) + 1;
    net->mask_builds++;
}

/* Measures a feature block's output into net->block_sums (unet_run adds
 * them to pass->sums once the pass is over) and projects it (method.md
 * section 2).  Deferred (backend.h pass_begin): the backend does both where
 * the tensor lives and the sums arrive at pass_end. */
static fgsd_status feature_block(unet *net, const model_block *blk, backend_tensor *t,
                                 const unet_pass *pass, int deferred, char *err, size_t errlen)
{
    const backend_ops *ops = net->ops;
    int wl = net->width >> blk->level, hl = net->height >> blk->level;
    double total = net->lv[blk->level].total;
    double *sums = net->block_sums + blk->phi_offset;
    fgsd_status st;

    if (pass->weights)
        for (int c = 0; c < blk->width; c++)
            pass->weights[blk->phi_offset + c] += total;
    if (deferred) {
        st = ops->channel_project(net->be, t, net->lv[blk->level].mask, net->mask_gen, total,
                                  blk->gain,
                                  pass->phi_ref ? pass->phi_ref + blk->phi_offset : NULL,
                                  pass->fixed_means ? pass->fixed_means + blk->phi_offset : NULL,
                                  pass->sums ? sums : NULL);
        return st ? backend_fail(net, st, err, errlen) : FGSD_OK;
    }
    st = ops->channel_sums(net->be, t, net->lv[blk->level].mask, net->mask_gen, 0, 0, wl, hl,
                           sums);
    if (st)
        return backend_fail(net, st, err, errlen);
    if (!pass->phi_ref)
        return FGSD_OK;
    for (int c = 0; c < blk->width; c++) {
        double mean = pass->fixed_means ? pass->fixed_means[blk->phi_offset + c]
                                        : (total > 0.0 ? sums[c] / total : 0.0);
        double g = blk->gain ? blk->gain[c] : 1.0;
        net->offsets[c] = (float)(g * (pass->phi_ref[blk->phi_offset + c] - mean));
    }
    st = ops->add_channel(net->be, t, net->offsets);
    return st ? backend_fail(net, st, err, errlen) : FGSD_OK;
}

/* Runs a chain of convs: in -> ... -> last, ping-ponging through a and b.
 * The last conv writes into `last`. */
static fgsd_status conv_chain(unet *net, int b, const backend_tensor *in, backend_tensor *a,
                              backend_tensor *bb, backend_tensor *last, char *err, size_t errlen)
{
    const model_block *blk = &net->model->block[b];
    const backend_tensor *src = in;

    for (int j = 0; j < blk->n_convs; j++) {
        backend_tensor *dst = (j == blk->n_convs - 1) ? last : ((j & 1) ? bb : a);
        fgsd_status st = net->ops->conv(net->be, net->conv[b][j], src, dst);
        if (st)
            return backend_fail(net, st, err, errlen);
        src = dst;
    }
    return FGSD_OK;
}

static int last_feature_block(const fgsd_model *model)
{
    int last = -1;

    for (int b = 0; b < model->n_blocks; b++)
        if (model->block[b].is_feature)
            last = b;
    return last;
}

unsigned long unet_mask_builds(const unet *net)
{
    return net->mask_builds;
}

/* The blocks of a pass from upload to download; stop: the last block. */
static fgsd_status run_blocks(unet *net, const unet_pass *pass, int stop, int partial,
                              int deferred, char *err, size_t errlen)
{
    const fgsd_model *model = net->model;
    const backend_ops *ops = net->ops;
    const backend_tensor *cur;
    fgsd_status st;

    st = pass->input_image
             ? ops->window_fill(net->be, net->in, pass->input_image, &pass->window)
             : ops->upload(net->be, net->in, pass->input);
    if (st)
        return backend_fail(net, st, err, errlen);
    cur = net->in;
    for (int b = 0; b < model->n_blocks && b <= stop; b++) {
        const model_block *blk = &model->block[b];
        level_buffers *lv = &net->lv[blk->level];
        backend_tensor *outt;

        if (blk->kind == BLOCK_ENC) {
            outt = lv->skip;
            st = conv_chain(net, b, cur, lv->a, lv->b, outt, err, errlen);
        } else if (blk->kind == BLOCK_MID) {
            outt = (blk->n_convs & 1) ? net->mid_a : net->mid_b;
            st = conv_chain(net, b, cur, net->mid_a, net->mid_b, outt, err, errlen);
        } else {
            outt = (blk->n_convs & 1) ? lv->a : lv->b;
            st = ops->conv(net->be, net->up[b], cur, lv->up);
            if (!st && !lv->joined)
                st = ops->concat(net->be, lv->up, lv->skip, lv->cat);
            if (st)
                return backend_fail(net, st, err, errlen);
            st = conv_chain(net, b, lv->cat, lv->a, lv->b, outt, err, errlen);
        }
        if (st)
            return st;
        if (blk->is_feature) {
            st = feature_block(net, blk, outt, pass, deferred, err, errlen);
            if (st)
                return st;
        }
        cur = outt;
        if (blk->kind == BLOCK_ENC) {
            st = ops->avgpool2(net->be, outt, lv->pooled);
            if (st)
                return backend_fail(net, st, err, errlen);
            cur = lv->pooled;
        }
    }
    if (partial)
        return FGSD_OK;
    st = ops->conv(net->be, net->out, cur, net->result);
    if (!st && pass->out_image)
        st = ops->window_store(net->be, net->result, pass->input_image, pass->out_image,
                               &pass->window, model->info.output_residual);
    else if (!st)
        st = ops->download(net->be, net->result, pass->out);
    return st ? backend_fail(net, st, err, errlen) : FGSD_OK;
}

fgsd_status unet_run(unet *net, const unet_pass *pass, char *err, size_t errlen)
{
    const fgsd_model *model = net->model;
    const backend_ops *ops = net->ops;
    int m = model->info.size_multiple;
    int partial = pass->features_only || pass->blocks > 0;
    int stop = pass->blocks > 0 ? pass->blocks - 1
               : pass->features_only ? last_feature_block(model) : model->n_blocks;
    int deferred;
    fgsd_status st, end;

    if (pass->width <= 0 || pass->height <= 0 || pass->width % m || pass->height % m) {
        snprintf(err, errlen, "internal: canvas %dx%d is not a multiple of %d", pass->width,
                 pass->height, m);
        return FGSD_ERR_INTERNAL;
    }
    if (net->width != pass->width || net->height != pass->height) {
        st = alloc_buffers(net, pass->width, pass->height);
        if (st) {
            snprintf(err, errlen, "out of memory for a %dx%d canvas (%s)", pass->width,
                     pass->height, ops->error(net->be));
            return st;
        }
    }
    build_mask_pyramid(net, pass->mask);
    deferred = ops->pass_begin && ops->pass_begin(net->be);
    st = run_blocks(net, pass, stop, partial, deferred, err, errlen);
    end = deferred ? ops->pass_end(net->be) : FGSD_OK;
    if (st)
        return st;
    if (end)
        return backend_fail(net, end, err, errlen);
    /* Each feature block's sums, on the host now (a deferred pass's too). */
    for (int b = 0; pass->sums && b < model->n_blocks && b <= stop; b++) {
        const model_block *blk = &model->block[b];
        for (int c = 0; blk->is_feature && c < blk->width; c++)
            pass->sums[blk->phi_offset + c] += net->block_sums[blk->phi_offset + c];
    }
    return FGSD_OK;
}
