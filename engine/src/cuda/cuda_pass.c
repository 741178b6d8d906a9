/* SPDX-License-Identifier: GPL-3.0-or-later
 * Deferred passes and CUDA graphs of the CUDA backend (cuda_pass.h).
 *
 * Why: a 512² pass is about 120 small launches and cuDNN calls queued from
 * the host, with a wait at each of the six feature blocks for its sums; on
 * the H200 that made a pass 12 ms for 2.4 ms of convolutions (docs/cuda.md).
 * Recorded whole, a pass needs no wait inside (the projection's offsets are
 * computed on the device) and, once seen, replays as one graph launch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_backend.h"
#include "cuda_kernels.h"

_Static_assert((int)PROJECT_GAIN == (int)CUK_PROJECT_GAIN &&
                   (int)PROJECT_PHI == (int)CUK_PROJECT_PHI &&
                   (int)PROJECT_MEANS == (int)CUK_PROJECT_MEANS,
               "channel_project's flags are the kernel's");

/* Slab records start on cache lines (and the projection's double). */
#define SLAB_ALIGN 64

static tensor_ref ref_of(const backend_tensor *t)
{
    tensor_ref r = {t->c, t->h, t->w, t->d};
    return r;
}

static backend_tensor tensor_of(const tensor_ref *r)
{
    backend_tensor t = {r->c, r->h, r->w, r->d, 0};
    return t;
}

static size_t slab_take(cuda_pass *p, size_t bytes)
{
    size_t off = p->slab;

    p->slab += (bytes + SLAB_ALIGN - 1) / SLAB_ALIGN * SLAB_ALIGN;
    return off;
}

/* Whether passes (and steps) are taken deferred: the profiler times ops
 * one by one; the projection on the device needs the masks kept there. */
static int deferring(const backend *be)
{
    return be->deferred_passes && !be->profile && be->mask_cache;
}

int cuda_step_begin(backend *be)
{
    cuda_pass *p = &be->pass;

    if (!deferring(be) || p->open)
        return 0;
    p->open = 1;
    p->step = 1;
    p->status = FGSD_OK;
    p->n = 0;
    p->slab = 0;
    return 1;
}

int cuda_pass_begin(backend *be)
{
    cuda_pass *p = &be->pass;

    if (p->step) /* the pass joins the open step */
        return 1;
    if (!deferring(be))
        return 0;
    p->open = 1;
    p->status = FGSD_OK;
    p->n = 0;
    p->slab = 0;
    return 1;
}

/* The pass's first failure while recording: returned now and by pass_end. */
static fgsd_status record_fail(backend *be, fgsd_status st)
{
    if (!be->pass.status)
        be->pass.status = st;
    return st;
}

/* A new record, zeroed so that padding compares equal; NULL after a
 * failure (be->pass.status says which). */
static pass_op *new_op(backend *be, int kind)
{
    cuda_pass *p = &be->pass;
    pass_op *op;

    if (!p->open) {
        record_fail(be, fail(be, FGSD_ERR_INTERNAL, "an op recorded outside a pass"));
        return NULL;
    }
    if (p->status)
        return NULL;
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 128;
        pass_op *ops = realloc(p->ops, (size_t)cap * sizeof(*ops));

        if (!ops) {
            record_fail(be, fail(be, FGSD_ERR_NO_MEMORY, "out of memory for a pass's records"));
            return NULL;
        }
        p->ops = ops;
        p->cap = cap;
    }
    op = &p->ops[p->n++];
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    return op;
}

fgsd_status pass_record_upload(backend *be, backend_tensor *t, const float *chw)
{
    size_t bytes = numel(t) * sizeof(float);
    pass_op *op = new_op(be, PASS_UPLOAD);

    if (!op)
        return be->pass.status;
    if (devbuf_reserve(be, &be->stage, bytes, "the upload buffer"))
        return record_fail(be, be->status);
    op->t = ref_of(t);
    op->in_bytes = bytes;
    op->in_off = slab_take(&be->pass, bytes);
    op->src = chw;
    return FGSD_OK;
}

fgsd_status pass_record_download(backend *be, const backend_tensor *t, float *chw)
{
    size_t bytes = numel(t) * sizeof(float);
    pass_op *op = new_op(be, PASS_DOWNLOAD);

    if (!op)
        return be->pass.status;
    if (devbuf_reserve(be, &be->stage, bytes, "the download buffer"))
        return record_fail(be, be->status);
    op->a = ref_of(t);
    op->out_bytes = bytes;
    op->out_off = slab_take(&be->pass, bytes);
    op->dst = chw;
    return FGSD_OK;
}

fgsd_status pass_record_conv(backend *be, const backend_conv *c, const backend_tensor *in,
                             backend_tensor *out)
{
    int scale = c->transposed ? 2 : 1;
    pass_op *op;

    if (in->c != c->cin || out->c != c->cout || out->h != in->h * scale ||
        out->w != in->w * scale)
        return record_fail(be, fail(be, FGSD_ERR_INTERNAL, "conv shape mismatch"));
    op = new_op(be, PASS_CONV);
    if (!op)
        return be->pass.status;
    op->conv = c;
    op->conv_w = c->w;
    op->a = ref_of(in);
    op->t = ref_of(out);
    return FGSD_OK;
}

fgsd_status pass_record_pool(backend *be, const backend_tensor *in, backend_tensor *out)
{
    pass_op *op;

    if (out->c != in->c || out->h * 2 != in->h || out->w * 2 != in->w)
        return record_fail(be, fail(be, FGSD_ERR_INTERNAL, "pool shape mismatch"));
    op = new_op(be, PASS_POOL);
    if (!op)
        return be->pass.status;
    op->a = ref_of(in);
    op->t = ref_of(out);
    return FGSD_OK;
}

fgsd_status pass_record_concat(backend *be, const backend_tensor *a, const backend_tensor *b,
                               backend_tensor *out)
{
    pass_op *op;

    if (a->h != b->h || a->w != b->w || out->h != a->h || out->w != a->w ||
        out->c != a->c + b->c)
        return record_fail(be, fail(be, FGSD_ERR_INTERNAL, "concat shape mismatch"));
    op = new_op(be, PASS_CONCAT);
    if (!op)
        return be->pass.status;
    op->a = ref_of(a);
    op->b = ref_of(b);
    op->t = ref_of(out);
    return FGSD_OK;
}

fgsd_status pass_record_fill(backend *be, backend_tensor *t, const backend_image *x,
                             const backend_window *win)
{
    pass_op *op;

    if (cuda_window_check(be, t, x, NULL, win))
        return record_fail(be, be->status);
    op = new_op(be, PASS_FILL);
    if (!op)
        return be->pass.status;
    be->pass.windows++;
    op->t = ref_of(t);
    op->img[0] = x->d;
    op->img_w = x->w;
    op->img_h = x->h;
    op->win = *win;
    return FGSD_OK;
}

fgsd_status pass_record_store(backend *be, const backend_tensor *t, const backend_image *x,
                              backend_image *clean, const backend_window *win, int residual)
{
    pass_op *op;

    if (cuda_window_check(be, t, x, clean, win))
        return record_fail(be, be->status);
    op = new_op(be, PASS_STORE);
    if (!op)
        return be->pass.status;
    op->a = ref_of(t);
    op->img[0] = x->d;
    op->img[1] = clean->d;
    op->img_w = x->w;
    op->img_h = x->h;
    op->win = *win;
    op->flags = residual ? 1 : 0;
    return FGSD_OK;
}

/* A record of a step's image op on images of im's size; NULL after a
 * failure or outside a step (be->pass.status says which). */
static pass_op *image_op(backend *be, int kind, const backend_image *im)
{
    pass_op *op;

    if (!be->pass.step) {
        record_fail(be, fail(be, FGSD_ERR_INTERNAL, "an image op inside a pass, not a step"));
        return NULL;
    }
    op = new_op(be, kind);
    if (op) {
        op->img_w = im->w;
        op->img_h = im->h;
    }
    return op;
}

fgsd_status pass_record_noise(backend *be, backend_image *im, uint64_t seed, uint32_t step)
{
    pass_op *op = image_op(be, PASS_NOISE, im);

    if (!op)
        return be->pass.status;
    op->img[0] = im->d;
    op->seed = seed;
    op->step = step;
    op->in_bytes = sizeof(uint32_t);
    op->in_off = slab_take(&be->pass, op->in_bytes);
    return FGSD_OK;
}

fgsd_status pass_record_lowpass(backend *be, backend_image *v, float sign,
                                const backend_image *a, const backend_image *b, int k)
{
    pass_op *op = image_op(be, PASS_LOWPASS, v);

    if (!op)
        return be->pass.status;
    op->img[0] = v->d;
    op->img[1] = a->d;
    op->img[2] = b ? b->d : NULL;
    op->sign = sign;
    op->k = k;
    return FGSD_OK;
}

fgsd_status pass_record_update(backend *be, backend_image *x, const backend_image *d,
                               const backend_image *z, double h, double g)
{
    pass_op *op = image_op(be, PASS_UPDATE, x);

    if (!op)
        return be->pass.status;
    op->img[0] = x->d;
    op->img[1] = d->d;
    op->img[2] = z->d;
    op->h = h;
    op->g = g;
    op->in_bytes = 2 * sizeof(double);
    op->in_off = slab_take(&be->pass, op->in_bytes);
    return FGSD_OK;
}

fgsd_status pass_record_residual(backend *be, const backend_image *x, const backend_image *d,
                                 double *ss)
{
    pass_op *op = image_op(be, PASS_RESIDUAL, x);

    if (!op)
        return be->pass.status;
    op->img[0] = x->d;
    op->img[1] = d->d;
    op->out_bytes = RESIDUAL_CHUNKS * sizeof(double);
    op->out_off = slab_take(&be->pass, op->out_bytes);
    op->dst = ss;
    *ss = 0.0; /* written at step_end */
    return FGSD_OK;
}

/* Whether every mask an earlier record of this pass uses is still kept
 * (a pass uses one per level, fewer than the slots; checked all the same,
 * as a replaced slot would feed an earlier record the wrong mask). */
static int pass_masks_kept(const backend *be)
{
    const cuda_pass *p = &be->pass;

    for (int i = 0; i < p->n; i++) {
        const pass_op *op = &p->ops[i];
        int kept = !op->mask;

        /* A slot refilled for another mask keeps its address: compare what
         * it holds. */
        for (int k = 0; k < MASK_SLOTS && !kept; k++)
            kept = be->masks[k].buf.p == (const void *)op->mask &&
                   be->masks[k].host == op->mask_host && be->masks[k].gen == op->mask_gen;
        if (!kept)
            return 0;
    }
    return 1;
}

fgsd_status cuda_channel_project(backend *be, backend_tensor *t, const float *weights,
                                 uint64_t weights_gen, double total, const float *gain,
                                 const float *phi, const float *means, double *sums)
{
    int chunks = t->h < SUM_CHUNKS ? t->h : SUM_CHUNKS;
    size_t c = (size_t)t->c;
    const float *wd = NULL;
    pass_op *op;

    if (!be->pass.open)
        return fail(be, FGSD_ERR_INTERNAL, "channel_project outside a deferred pass");
    if (weights && !weights_gen)
        return record_fail(be, fail(be, FGSD_ERR_INTERNAL,
                                    "channel_project needs a numbered mask"));
    if (devbuf_reserve(be, &be->partial, (size_t)(chunks > 0 ? chunks : 1) * c * sizeof(double),
                       "partial sums") ||
        devbuf_reserve(be, &be->sums, c * sizeof(double), "the sums") ||
        devbuf_reserve(be, &be->offsets, c * sizeof(float), "the offsets"))
        return record_fail(be, be->status);
    if (weights && !(wd = device_weights(be, weights, weights_gen, t->w, t->h, 0, t->h)))
        return record_fail(be, be->status);
    if (!pass_masks_kept(be))
        return record_fail(be, fail(be, FGSD_ERR_INTERNAL, "more masks in a pass than kept"));
    op = new_op(be, PASS_PROJECT);
    if (!op)
        return be->pass.status;
    op->t = ref_of(t);
    op->mask = wd;
    op->mask_host = wd ? weights : NULL;
    op->mask_gen = wd ? weights_gen : 0;
    op->flags = (gain ? PROJECT_GAIN : 0) | (phi ? PROJECT_PHI : 0) | (means ? PROJECT_MEANS : 0) |
                (sums ? PROJECT_SUMS : 0);
    op->in_bytes = sizeof(double) + 3 * c * sizeof(float);
    op->in_off = slab_take(&be->pass, op->in_bytes);
    if (sums) {
        op->out_bytes = c * sizeof(double);
        op->out_off = slab_take(&be->pass, op->out_bytes);
    }
    op->gain = gain;
    op->phi = phi;
    op->means = means;
    op->total = total;
    op->dst = sums;
    return FGSD_OK;
}

/* ---- running a pass ---------------------------------------------------------- */

/* The host's inputs into the slab, where the pass (or its graph) reads them. */
static void stage_inputs(cuda_pass *p)
{
    unsigned char *slab = p->slab_host;

    for (int i = 0; i < p->n; i++) {
        const pass_op *op = &p->ops[i];
        unsigned char *in = slab + op->in_off;
        size_t c = (size_t)op->t.c;

        if (op->kind == PASS_UPLOAD)
            memcpy(in, op->src, op->in_bytes);
        if (op->kind == PASS_NOISE)
            memcpy(in, &op->step, sizeof(op->step));
        if (op->kind == PASS_UPDATE) {
            memcpy(in, &op->h, sizeof(double));
            memcpy(in + sizeof(double), &op->g, sizeof(double));
        }
        if (op->kind != PASS_PROJECT)
            continue;
        memcpy(in, &op->total, sizeof(double));
        in += sizeof(double);
        if (op->gain)
            memcpy(in, op->gain, c * sizeof(float));
        if (op->phi)
            memcpy(in + c * sizeof(float), op->phi, c * sizeof(float));
        if (op->means)
            memcpy(in + 2 * c * sizeof(float), op->means, c * sizeof(float));
    }
}

/* The slabs for this pass: grown (a move makes earlier graphs stale), the
 * host's page-locked unless the host has none to give. */
static fgsd_status reserve_slabs(backend *be)
{
    cuda_pass *p = &be->pass;
    size_t bytes = p->slab ? p->slab : SLAB_ALIGN;

    if (devbuf_reserve(be, &p->slab_dev, bytes, "the pass's inputs"))
        return be->status;
    if (p->slab_host_size >= bytes)
        return FGSD_OK;
    CU(be, cudaStreamSynchronize(be->stream), "cudaStreamSynchronize");
    if (p->slab_pageable)
        free(p->slab_host);
    else if (p->slab_host)
        cudaFreeHost(p->slab_host);
    p->slab_host = NULL;
    p->slab_host_size = 0;
    be->epoch++;
    if (cudaMallocHost(&p->slab_host, bytes) != cudaSuccess) {
        (void)cudaGetLastError();
        /* Pageable: copies still work, graphs would not; this pass runs op
         * by op and later passes are not deferred. */
        p->slab_host = malloc(bytes);
        p->slab_pageable = 1;
        be->deferred_passes = 0;
        if (!p->slab_host)
            return fail(be, FGSD_ERR_NO_MEMORY, "out of memory for a pass's inputs");
    } else {
        p->slab_pageable = 0;
    }
    p->slab_host_size = bytes;
    return FGSD_OK;
}

static fgsd_status run_project(backend *be, const pass_op *op)
{
    cuda_pass *p = &be->pass;
    backend_tensor t = tensor_of(&op->t);
    int chunks = t.h < SUM_CHUNKS ? t.h : SUM_CHUNKS;
    unsigned char *dev_in = (unsigned char *)p->slab_dev.p + op->in_off;

    CU(be, cuk_channel_sums(t.d, ACT_TYPE(be), op->mask, t.c, t.w, t.h, 0, 0, t.w, t.h, chunks, be->partial.p,
                            be->stream),
       "channel_sums kernel");
    CU(be, cudaMemcpyAsync(dev_in, (unsigned char *)p->slab_host + op->in_off, op->in_bytes,
                           cudaMemcpyHostToDevice, be->stream),
       "cudaMemcpyAsync (projection)");
    CU(be, cuk_project(be->partial.p, chunks, t.c, dev_in, op->flags & 7, be->offsets.p,
                       be->sums.p, be->stream),
       "projection kernel");
    if (op->flags & PROJECT_PHI)
        CU(be, cuk_add_channel(t.d, ACT_TYPE(be), be->offsets.p, t.c, (size_t)t.h * (size_t)t.w, be->stream),
           "add_channel kernel");
    if (op->flags & PROJECT_SUMS)
        CU(be, cudaMemcpyAsync((unsigned char *)p->slab_host + op->out_off, be->sums.p,
                               op->out_bytes, cudaMemcpyDeviceToHost, be->stream),
           "cudaMemcpyAsync (sums)");
    return FGSD_OK;
}

/* Where op's staged inputs lie on the device. */
static void *dev_in(backend *be, const pass_op *op)
{
    return (unsigned char *)be->pass.slab_dev.p + op->in_off;
}

/* op's staged inputs from the slab to the device, in the stream's order. */
static fgsd_status stage_in(backend *be, const pass_op *op)
{
    CU(be, cudaMemcpyAsync(dev_in(be, op), (unsigned char *)be->pass.slab_host + op->in_off,
                           op->in_bytes, cudaMemcpyHostToDevice, be->stream),
       "cudaMemcpyAsync (a step's inputs)");
    return FGSD_OK;
}

static size_t image_values(const pass_op *op)
{
    return (size_t)op->img_w * (size_t)op->img_h * 3;
}

/* Queues the records in order (eagerly, or into a capture). */
static fgsd_status run_ops(backend *be)
{
    cuda_pass *p = &be->pass;
    unsigned char *slab = p->slab_host;

    for (int i = 0; i < p->n; i++) {
        const pass_op *op = &p->ops[i];
        backend_tensor a = tensor_of(&op->a), b = tensor_of(&op->b), t = tensor_of(&op->t);
        fgsd_status st = FGSD_OK;

        switch (op->kind) {
        case PASS_UPLOAD:
            CU(be, cudaMemcpyAsync(be->stage.p, slab + op->in_off, op->in_bytes,
                                   cudaMemcpyHostToDevice, be->stream),
               "cudaMemcpyAsync (upload)");
            CU(be, cuk_chw_to_nhwc(be->stage.p, t.d, ACT_TYPE(be), t.c, t.h, t.w, be->stream), "upload kernel");
            break;
        case PASS_CONV:
            st = cuda_conv(be, op->conv, &a, &t);
            break;
        case PASS_POOL:
            st = cuda_avgpool2(be, &a, &t);
            break;
        case PASS_CONCAT:
            st = cuda_concat(be, &a, &b, &t);
            break;
        case PASS_PROJECT:
            st = run_project(be, op);
            break;
        case PASS_NOISE:
            st = stage_in(be, op);
            if (!st)
                CU(be, cuk_rng_normal_at(op->seed, (const uint32_t *)dev_in(be, op),
                                         image_values(op), op->img[0], be->stream),
                   "noise kernel");
            break;
        case PASS_LOWPASS:
            st = cuda_lowpass(be, op->img[0], op->sign, op->img[1], op->img[2], op->img_w,
                              op->img_h, op->k);
            break;
        case PASS_UPDATE:
            st = stage_in(be, op);
            if (!st)
                CU(be, cuk_sisa_update_at(op->img[0], op->img[1], op->img[2],
                                          (const double *)dev_in(be, op), image_values(op),
                                          be->stream),
                   "update kernel");
            break;
        case PASS_RESIDUAL:
            CU(be, cuk_residual(op->img[0], op->img[1], image_values(op), RESIDUAL_CHUNKS,
                                be->image_partial.p, be->stream),
               "residual kernel");
            CU(be, cudaMemcpyAsync(slab + op->out_off, be->image_partial.p, op->out_bytes,
                                   cudaMemcpyDeviceToHost, be->stream),
               "cudaMemcpyAsync (residual)");
            break;
        case PASS_FILL:
        case PASS_STORE: {
            backend_image x = {op->img_w, op->img_h, op->img[0]};
            backend_image clean = {op->img_w, op->img_h, op->img[1]};

            st = op->kind == PASS_FILL ? cuda_window_fill(be, &t, &x, &op->win)
                                       : cuda_window_store(be, &a, &x, &clean, &op->win,
                                                           op->flags);
            break;
        }
        default: /* PASS_DOWNLOAD */
            CU(be, cuk_nhwc_to_chw(a.d, ACT_TYPE(be), be->stage.p, a.c, a.h, a.w, be->stream),
               "download kernel");
            CU(be, cudaMemcpyAsync(slab + op->out_off, be->stage.p, op->out_bytes,
                                   cudaMemcpyDeviceToHost, be->stream),
               "cudaMemcpyAsync (download)");
            break;
        }
        if (st)
            return st;
    }
    return FGSD_OK;
}

static int same_signature(const pass_op *a, const pass_op *b, int n)
{
    for (int i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], PASS_SIGNATURE_BYTES))
            return 0;
    return 1;
}

/* The graph slot of a pass seen before with the same records, or NULL. */
static pass_graph *find_graph(backend *be)
{
    cuda_pass *p = &be->pass;

    for (int k = 0; k < PASS_GRAPHS; k++) {
        pass_graph *g = &p->graph[k];

        if (g->ops && g->n == p->n && g->slab == p->slab && g->epoch == be->epoch &&
            same_signature(g->ops, p->ops, p->n)) {
            g->used_at = ++p->clock;
            return g;
        }
    }
    return NULL;
}

static void graph_clear(pass_graph *g)
{
    if (g->exec)
        cudaGraphExecDestroy(g->exec);
    free(g->ops);
    memset(g, 0, sizeof(*g));
}

/* Keeps this pass's records (in the least recently used slot), so that the
 * next pass like it is captured. */
static void remember(backend *be)
{
    cuda_pass *p = &be->pass;
    pass_graph *g = &p->graph[0];
    pass_op *ops = malloc((size_t)p->n * sizeof(*ops));

    if (!ops)
        return; /* it will run op by op again */
    for (int k = 1; k < PASS_GRAPHS && g->ops; k++)
        if (!p->graph[k].ops || p->graph[k].used_at < g->used_at)
            g = &p->graph[k];
    graph_clear(g);
    memcpy(ops, p->ops, (size_t)p->n * sizeof(*ops));
    g->ops = ops;
    g->n = p->n;
    g->slab = p->slab;
    g->epoch = be->epoch;
    g->used_at = ++p->clock;
}

/* The second time a pass comes: captured into a graph and launched.  A
 * capture that fails (an op that would allocate or plan, a call the
 * capture refuses) leaves nothing queued: the pass then runs op by op and
 * is not captured again. */
static fgsd_status capture_and_launch(backend *be, pass_graph *g)
{
    cuda_pass *p = &be->pass;
    cudaGraph_t graph = NULL;
    cudaGraphExec_t exec = NULL;
    fgsd_status st = FGSD_ERR_BACKEND;
    cudaError_t e = cudaStreamBeginCapture(be->stream, cudaStreamCaptureModeThreadLocal);

    if (e == cudaSuccess) {
        p->capturing = 1;
        st = run_ops(be);
        p->capturing = 0;
        e = cudaStreamEndCapture(be->stream, &graph);
        if (!st && e == cudaSuccess && graph)
            e = cudaGraphInstantiate(&exec, graph, 0);
    }
    if (graph)
        cudaGraphDestroy(graph);
    if (st || e != cudaSuccess || !exec) {
        (void)cudaGetLastError();
        if (exec)
            cudaGraphExecDestroy(exec);
        g->no_graph = 1;
        p->capture_failed++;
        if (be->stats)
            fprintf(stderr, "fgsd cuda: a pass could not be captured as a CUDA graph (%s); "
                    "it runs op by op\n", st ? be->error : cudaGetErrorString(e));
        p->eager++;
        return run_ops(be);
    }
    g->exec = exec;
    p->captured++;
    CU(be, cudaGraphLaunch(exec, be->stream), "cudaGraphLaunch");
    p->launched++;
    return FGSD_OK;
}

/* Runs what was recorded (a pass or a step): op by op, captured, or as its
 * graph; then what comes back to the host. */
static fgsd_status end_recording(backend *be)
{
    cuda_pass *p = &be->pass;
    pass_graph *g;
    fgsd_status st;
    int back = 0;

    p->open = 0;
    if (p->status)
        return p->status;
    /* The last pass's copies may still read the slab this one refills. */
    if (p->in_flight)
        CU(be, cudaStreamSynchronize(be->stream), "a pass");
    p->in_flight = 0;
    st = reserve_slabs(be);
    if (st)
        return st;
    stage_inputs(p);
    g = be->graphs && !p->slab_pageable ? find_graph(be) : NULL;
    if (g && g->exec) {
        CU(be, cudaGraphLaunch(g->exec, be->stream), "cudaGraphLaunch");
        p->launched++;
    } else if (g && !g->no_graph) {
        st = capture_and_launch(be, g);
    } else {
        st = run_ops(be);
        p->eager++;
        if (!st && !g && be->graphs && !p->slab_pageable)
            remember(be);
    }
    if (st)
        return st;
    p->deferred++;
    /* A pass whose results stay on the device (the sampler's images) is
     * not waited for: the host queues the step's next kernels meanwhile. */
    for (int i = 0; i < p->n && !back; i++)
        back = p->ops[i].dst != NULL;
    if (!back) {
        p->in_flight = 1;
        return FGSD_OK;
    }
    CU(be, cudaStreamSynchronize(be->stream), "a pass");
    for (int i = 0; i < p->n; i++) {
        const pass_op *op = &p->ops[i];
        const void *out = (unsigned char *)p->slab_host + op->out_off;

        if (op->kind == PASS_RESIDUAL)
            *(double *)op->dst = residual_total(out);
        else if (op->dst)
            memcpy(op->dst, out, op->out_bytes);
    }
    return FGSD_OK;
}

fgsd_status cuda_pass_end(backend *be)
{
    cuda_pass *p = &be->pass;

    if (!p->open)
        return fail(be, FGSD_ERR_INTERNAL, "pass_end without pass_begin");
    if (p->step) /* the step's end runs it */
        return p->status;
    return end_recording(be);
}

fgsd_status cuda_step_end(backend *be)
{
    cuda_pass *p = &be->pass;
    fgsd_status st;

    if (!p->step)
        return fail(be, FGSD_ERR_INTERNAL, "step_end without step_begin");
    p->step = 0;
    st = end_recording(be);
    if (!st)
        p->steps++;
    return st;
}

void cuda_pass_free(backend *be)
{
    cuda_pass *p = &be->pass;

    if (be->stats && (p->deferred || p->eager))
        fprintf(stderr, "fgsd cuda passes: %lu deferred (%lu of them sampler steps), %lu op by "
                "op, %lu graphs captured, %lu launched, %lu captures failed; %lu windows "
                "from device images\n", p->deferred, p->steps, p->eager, p->captured,
                p->launched, p->capture_failed, p->windows);
    for (int k = 0; k < PASS_GRAPHS; k++)
        graph_clear(&p->graph[k]);
    if (p->slab_pageable)
        free(p->slab_host);
    else if (p->slab_host)
        cudaFreeHost(p->slab_host);
    p->slab_host = NULL;
    free(p->ops);
    p->ops = NULL;
}
