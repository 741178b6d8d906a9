/* SPDX-License-Identifier: GPL-3.0-or-later
 * The oneDNN CPU backend (style.md section 4), on the oneDNN v3 C API.
 *
 * - Layout: every feature map keeps the blocked layout oneDNN's convolution
 *   prefers (found once per backend, see probe_layout) from upload to
 *   download; reorders happen only there and around an op whose primitive
 *   has no fast kernel for the tensors' layouts (conv_entry_new).
 * - Weights are reordered in conv_prepare for the layout the conv primitive
 *   wants; a primitive of another size that wants another layout gets its own
 *   copy, reordered once when that primitive is created.  By our own loop
 *   (weights_convert), not a oneDNN reorder: see there why.
 * - ReLU is a post-op of the conv; primitives are created once per op and
 *   shape and cached in the backend (onednn_cache.h); one engine and one
 *   in-order stream per backend; scratchpads are ours (user mode), one buffer
 *   shared by every primitive of the backend.
 * - Threads: see threads_enter.
 * Process-wide oneDNN state we leave alone: its primitive cache (capacity
 * from ONEDNN_PRIMITIVE_CACHE_CAPACITY), verbose and ISA settings. */
#include "backend.h"
#include "onednn_cache.h"
#include "onednn_layout.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#if DNNL_CPU_THREADING_RUNTIME == DNNL_RUNTIME_OMP && defined(_OPENMP)
#include <omp.h>
#define HAVE_OMP_THREADS 1
#endif

/* conv_prepare does not know the size a conv will run at; it plans the
 * weights for this one.  With oneDNN 3.7 on AVX-512, conv primitives of 3..256
 * channels want the same weight layout at every size from 2x2 to 256x256
 * (measured), so the copy made here is the only one; with AVX2 a 64->64 conv
 * at 8x8 wants another layout than at 64x64 and gets its own copy
 * (conv_entry_new; the ops test runs under AVX2 too). */
#define NOMINAL_SIZE 64

/* Largest channel block channel_sums accumulates at once (oneDNN's blocked
 * layouts use 4, 8 or 16). */
#define MAX_BLOCK 64

#define MAX_ARGS 6

struct backend {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int threads;              /* OpenMP threads for every call into oneDNN */
    int deterministic;
    dnnl_format_tag_t layout; /* tensors with >= min_c channels */
    int min_c;                /* fewer channels: planar nchw */
    unsigned next_conv;       /* id of the next prepared conv */
    onednn_cache cache;
    void *scratch;            /* the scratchpad of every primitive */
    size_t scratch_size;
    char error[256];
    fgsd_status status; /* of the failure error describes */
};

struct backend_tensor {
    int c, h, w;
    dnnl_memory_t mem;
    const_dnnl_memory_desc_t md; /* owned by mem */
    float *data;                 /* mem's buffer */
    /* Element (c, y, x) is at data[(c / blk) * sc + y * sy + x * sx + c % blk];
     * this covers nchw, nhwc and nChw{4,8,16}c. */
    int64_t sc, sy, sx;
    int blk;
};

struct backend_conv {
    unsigned id;
    int cin, cout, k, transposed, relu;
    dnnl_memory_t weights; /* in the layout of a primitive at NOMINAL_SIZE */
    dnnl_memory_t bias;    /* plain [cout], NULL when none */
};

/* ---- errors ------------------------------------------------------------- */

static const char *status_name(dnnl_status_t s)
{
    switch (s) {
    case dnnl_out_of_memory:
        return "out of memory";
    case dnnl_invalid_arguments:
        return "invalid arguments";
    case dnnl_unimplemented:
        return "unimplemented";
    case dnnl_last_impl_reached:
        return "no implementation";
    case dnnl_runtime_error:
        return "runtime error";
    case dnnl_not_required:
        return "not required";
    default:
        return "failure";
    }
}

static fgsd_status fail(backend *be, fgsd_status st, const char *what)
{
    snprintf(be->error, sizeof(be->error), "oneDNN backend: %s", what);
    be->status = st;
    return st;
}

/* Every oneDNN call goes through this: FGSD_OK, or the error recorded. */
static fgsd_status check(backend *be, dnnl_status_t s, const char *what)
{
    if (s == dnnl_success)
        return FGSD_OK;
    snprintf(be->error, sizeof(be->error), "oneDNN backend: %s: %s", what, status_name(s));
    be->status = s == dnnl_out_of_memory ? FGSD_ERR_NO_MEMORY : FGSD_ERR_BACKEND;
    return be->status;
}

static const char *onednn_error(backend *be)
{
    return be->error;
}

static fgsd_status onednn_status(backend *be)
{
    return be->status;
}

/* ---- threads -------------------------------------------------------------- */

/* Debian's libdnnl is built with the OpenMP runtime (DNNL_CPU_THREADING_RUNTIME
 * is OMP in dnnl_config.h; libdnnl.so links GNU libgomp).  oneDNN then uses
 * omp_get_max_threads() of the calling thread, read when a primitive is
 * created (JIT kernels split their work for that count, and it is part of
 * oneDNN's primitive cache key) and when it runs.  omp_set_num_threads() sets
 * that value for the calling thread only (libgomp gives a thread outside a
 * parallel region its own copy of the ICVs), so every call into oneDNN is
 * bracketed: set our count, then put the caller's back.  Other threads of the
 * process, and the caller's own OpenMP code, see no change.  With a TBB or
 * sequential oneDNN, or a compiler without OpenMP, the runtime's default
 * applies and cfg->threads is ignored. */
static int threads_enter(const backend *be)
{
#ifdef HAVE_OMP_THREADS
    int saved = omp_get_max_threads();

    if (saved != be->threads)
        omp_set_num_threads(be->threads);
    return saved;
#else
    (void)be;
    return 0;
#endif
}

static void threads_leave(const backend *be, int saved)
{
#ifdef HAVE_OMP_THREADS
    if (saved != be->threads)
        omp_set_num_threads(saved);
#else
    (void)be;
    (void)saved;
#endif
}

/* threads = 0: OpenMP's default for this thread when the backend is created
 * (OMP_NUM_THREADS when set, else every core the process may run on), fixed
 * from then on so that creation and execution agree. */
static int threads_resolve(int threads)
{
#ifdef HAVE_OMP_THREADS
    return threads > 0 ? threads : omp_get_max_threads();
#else
    return threads;
#endif
}

/* ---- helpers ------------------------------------------------------------- */

/* Attributes of every primitive: our scratchpad.  Conv primitives (c not
 * NULL) also get strict fp32 math, determinism when asked, and c's ReLU. */
static fgsd_status attr_new(backend *be, const backend_conv *c, dnnl_primitive_attr_t *attr)
{
    dnnl_post_ops_t po = NULL;
    fgsd_status st;

    st = check(be, dnnl_primitive_attr_create(attr), "attributes");
    if (st)
        return st;
    st = check(be, dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user),
               "scratchpad mode");
    /* Strict fp32 whatever ONEDNN_DEFAULT_FPMATH_MODE says: the tolerance
     * against the reference backend assumes fp32 products. */
    if (!st && c)
        st = check(be, dnnl_primitive_attr_set_fpmath_mode(*attr, dnnl_fpmath_mode_strict),
                   "fpmath mode");
    if (!st && c && be->deterministic)
        st = check(be, dnnl_primitive_attr_set_deterministic(*attr, 1), "deterministic mode");
    if (!st && c && c->relu) {
        st = check(be, dnnl_post_ops_create(&po), "post-ops");
        if (!st)
            st = check(be, dnnl_post_ops_append_eltwise(po, dnnl_eltwise_relu, 0.0f, 0.0f),
                       "ReLU post-op");
        if (!st)
            st = check(be, dnnl_primitive_attr_set_post_ops(*attr, po), "post-ops");
        dnnl_post_ops_destroy(po);
    }
    if (st) {
        dnnl_primitive_attr_destroy(*attr);
        *attr = NULL;
    }
    return st;
}

static fgsd_status grow_scratch(backend *be, size_t size)
{
    void *p;

    if (size <= be->scratch_size)
        return FGSD_OK;
    size = (size + 63) & ~(size_t)63;
    p = aligned_alloc(64, size);
    if (!p)
        return fail(be, FGSD_ERR_NO_MEMORY, "out of memory for a scratchpad");
    free(be->scratch);
    be->scratch = p;
    be->scratch_size = size;
    return FGSD_OK;
}

/* Creates s's primitive from pd and a scratchpad memory object without a
 * buffer (run() points it at be->scratch). */
static fgsd_status step_init(backend *be, const_dnnl_primitive_desc_t pd, onednn_step *s,
                             const char *what)
{
    const_dnnl_memory_desc_t md;
    size_t size;
    fgsd_status st;

    st = check(be, dnnl_primitive_create(&s->prim, pd), what);
    if (st)
        return st;
    md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size = md ? dnnl_memory_desc_get_size(md) : 0;
    if (!size)
        return FGSD_OK;
    st = grow_scratch(be, size);
    if (!st)
        st = check(be, dnnl_memory_create(&s->scratchpad, md, be->engine, DNNL_MEMORY_NONE),
                   "scratchpad memory");
    return st;
}

static fgsd_status run(backend *be, const onednn_step *s, const dnnl_exec_arg_t *args, int n,
                       const char *what)
{
    dnnl_exec_arg_t all[MAX_ARGS + 1];
    fgsd_status st;

    memcpy(all, args, (size_t)n * sizeof(*args));
    if (s->scratchpad) {
        st = check(be, dnnl_memory_set_data_handle(s->scratchpad, be->scratch), "scratchpad");
        if (st)
            return st;
        all[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s->scratchpad};
    }
    return check(be, dnnl_primitive_execute(s->prim, be->stream, n, all), what);
}

static fgsd_status stream_wait(backend *be)
{
    return check(be, dnnl_stream_wait(be->stream), "stream wait");
}

/* A reorder step from src to dst. */
static fgsd_status reorder_init(backend *be, const_dnnl_memory_desc_t src,
                                const_dnnl_memory_desc_t dst, onednn_step *s)
{
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    fgsd_status st;

    st = attr_new(be, NULL, &attr);
    if (st)
        return st;
    st = check(be, dnnl_reorder_primitive_desc_create(&pd, src, be->engine, dst, be->engine, attr),
               "reorder");
    if (!st)
        st = step_init(be, pd, s, "reorder");
    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_attr_destroy(attr);
    return st;
}

static fgsd_status plain_md(backend *be, int ndims, const dnnl_dims_t dims, dnnl_format_tag_t tag,
                            dnnl_memory_desc_t *md)
{
    return check(be, dnnl_memory_desc_create_with_tag(md, ndims, dims, dnnl_f32, tag),
                 "memory descriptor");
}

/* The layout of a c x h x w tensor (see probe_layout). */
static fgsd_status tensor_md(backend *be, int c, int h, int w, dnnl_memory_desc_t *md)
{
    dnnl_dims_t dims = {1, c, h, w};

    return plain_md(be, 4, dims, c >= be->min_c ? be->layout : dnnl_nchw, md);
}

static fgsd_status cache_put(backend *be, onednn_entry *e)
{
    if (onednn_cache_add(&be->cache, e))
        return fail(be, FGSD_ERR_NO_MEMORY, "out of memory for the primitive cache");
    return FGSD_OK;
}

/* ---- the tensor layout ------------------------------------------------------ */

/* Tensors use what a convolution primitive picks with format_tag any for a
 * typical layer (64 -> 64 channels at 32x32).  oneDNN 3.7 picks nChw16c with
 * AVX-512 (jit kernels; nChw16c measured 197 GFLOP/s against 173 for nhwc,
 * conv 64->64 at 256x256, 1 thread) and nhwc with AVX2 (brgemm kernels).
 * With a blocked layout, tensors with fewer channels than one block (the RGB
 * image) stay planar nchw, which is what the first conv's kernel reads
 * (measured, AVX-512: conv 3->32 at 256x256 runs at 200 GFLOP/s with an nchw
 * src; with nChw16c oneDNN only has its reference code, 0.1 GFLOP/s).
 * Channel counts that are not a multiple of the block are padded with zeros
 * to whole blocks, as oneDNN's own choice does (24 -> 32). */
static fgsd_status probe_layout(backend *be)
{
    dnnl_dims_t sdims = {1, 64, 32, 32}, wdims = {64, 64, 3, 3};
    dnnl_dims_t one = {1, 1}, zero = {0, 0};
    dnnl_memory_desc_t src = NULL, wei = NULL;
    dnnl_primitive_desc_t pd = NULL;
    const_dnnl_memory_desc_t dst;
    const dnnl_dims_t *blks, *idxs, *strides;
    int nblks = 0;
    fgsd_status st;

    be->layout = dnnl_nchw;
    be->min_c = 1;
    st = plain_md(be, 4, sdims, dnnl_format_tag_any, &src);
    if (!st)
        st = plain_md(be, 4, wdims, dnnl_format_tag_any, &wei);
    if (!st)
        st = check(be,
                   dnnl_convolution_forward_primitive_desc_create(
                       &pd, be->engine, dnnl_forward_inference, dnnl_convolution_direct, src, wei,
                       NULL, src, one, zero, one, one, NULL),
                   "layout probe");
    if (st)
        goto out;
    dst = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    st = check(be, dnnl_memory_desc_query(dst, dnnl_query_inner_nblks_s32, &nblks), "query");
    if (!st)
        st = check(be, dnnl_memory_desc_query(dst, dnnl_query_inner_blks, &blks), "query");
    if (!st)
        st = check(be, dnnl_memory_desc_query(dst, dnnl_query_inner_idxs, &idxs), "query");
    if (!st)
        st = check(be, dnnl_memory_desc_query(dst, dnnl_query_strides, &strides), "query");
    if (st)
        goto out;
    if (nblks == 1 && (*idxs)[0] == 1) {
        switch ((*blks)[0]) {
        case 16:
            be->layout = dnnl_nChw16c;
            be->min_c = 16;
            break;
        case 8:
            be->layout = dnnl_nChw8c;
            be->min_c = 8;
            break;
        case 4:
            be->layout = dnnl_nChw4c;
            be->min_c = 4;
            break;
        default:
            break;
        }
    } else if (nblks == 0 && (*strides)[1] == 1) {
        be->layout = dnnl_nhwc;
    }

out:
    dnnl_primitive_desc_destroy(pd);
    dnnl_memory_desc_destroy(src);
    dnnl_memory_desc_destroy(wei);
    return st;
}

/* ---- backend ---------------------------------------------------------------- */

static void onednn_destroy(backend *be)
{
    if (!be)
        return;
    onednn_cache_clear(&be->cache);
    free(be->scratch);
    dnnl_stream_destroy(be->stream);
    dnnl_engine_destroy(be->engine);
    free(be);
}

static fgsd_status onednn_create(const backend_config *cfg, backend **out, char *err,
                                 size_t errlen)
{
    backend *be = calloc(1, sizeof(*be));
    fgsd_status st;
    int saved;

    *out = NULL;
    if (!be) {
        snprintf(err, errlen, "out of memory");
        return FGSD_ERR_NO_MEMORY;
    }
    be->threads = threads_resolve(cfg->threads);
    be->deterministic = cfg->deterministic;
    st = check(be, dnnl_engine_create(&be->engine, dnnl_cpu, 0), "CPU engine");
    if (!st)
        st = check(be, dnnl_stream_create(&be->stream, be->engine, dnnl_stream_default_flags),
                   "stream");
    if (!st) {
        saved = threads_enter(be);
        st = probe_layout(be);
        threads_leave(be, saved);
    }
    if (st) {
        snprintf(err, errlen, "%s", be->error);
        onednn_destroy(be);
        return st;
    }
    *out = be;
    return FGSD_OK;
}

/* ---- tensors ---------------------------------------------------------------- */

/* Reads back the strides of the layout for channel_sums. */
static fgsd_status tensor_layout(backend *be, backend_tensor *t)
{
    const dnnl_dims_t *strides, *blks;
    int nblks = 0;
    fgsd_status st;

    st = check(be, dnnl_memory_desc_query(t->md, dnnl_query_strides, &strides), "query");
    if (!st)
        st = check(be, dnnl_memory_desc_query(t->md, dnnl_query_inner_nblks_s32, &nblks),
                   "query");
    if (!st && nblks)
        st = check(be, dnnl_memory_desc_query(t->md, dnnl_query_inner_blks, &blks), "query");
    if (st)
        return st;
    if (nblks > 1 || (nblks == 1 && (*blks)[0] > MAX_BLOCK))
        return fail(be, FGSD_ERR_INTERNAL, "unexpected tensor layout");
    t->blk = nblks ? (int)(*blks)[0] : 1;
    t->sc = (*strides)[1];
    t->sy = (*strides)[2];
    t->sx = (*strides)[3];
    return FGSD_OK;
}

static void onednn_tensor_free(backend *be, backend_tensor *t)
{
    (void)be;
    if (!t)
        return;
    dnnl_memory_destroy(t->mem);
    free(t);
}

static backend_tensor *onednn_tensor_new(backend *be, int c, int h, int w)
{
    backend_tensor *t = calloc(1, sizeof(*t));
    dnnl_memory_desc_t md = NULL;
    void *data = NULL;
    fgsd_status st;

    if (!t) {
        fail(be, FGSD_ERR_NO_MEMORY, "out of memory for a feature map");
        return NULL;
    }
    t->c = c;
    t->h = h;
    t->w = w;
    if (c < 1 || h < 1 || w < 1) {
        st = fail(be, FGSD_ERR_INTERNAL, "feature map of an empty shape");
        goto out_free;
    }
    st = tensor_md(be, c, h, w, &md);
    if (!st)
        st = check(be, dnnl_memory_create(&t->mem, md, be->engine, DNNL_MEMORY_ALLOCATE),
                   "feature map");
    dnnl_memory_desc_destroy(md);
    if (!st)
        st = check(be, dnnl_memory_get_memory_desc(t->mem, &t->md), "memory descriptor");
    if (!st)
        st = check(be, dnnl_memory_get_data_handle(t->mem, &data), "memory handle");
    if (!st)
        st = tensor_layout(be, t);
    if (st)
        goto out_free;
    /* Zero, padding channels included: ops read the padding of blocked
     * layouts and assume it is zero. */
    t->data = data;
    memset(t->data, 0, dnnl_memory_desc_get_size(t->md));
    return t;

out_free:
    onednn_tensor_free(be, t);
    return NULL;
}

/* Planar and blocked (nChw16c) layouts keep each channel block's plane
 * together, so channels [c0, c0 + c) in whole blocks are one run of
 * memory: a tensor of its own over the parent's buffer.  NHWC interleaves
 * the channels: no view. */
static fgsd_status onednn_tensor_view(backend *be, backend_tensor *parent, int c0, int c,
                                      backend_tensor **out)
{
    backend_tensor *t;
    dnnl_memory_desc_t md = NULL;
    float *data;
    fgsd_status st;

    *out = NULL;
    if (c0 < 0 || c < 1 || c0 + c > parent->c || c0 % parent->blk || c % parent->blk ||
        parent->sc != parent->sy * parent->h)
        return FGSD_OK;
    t = calloc(1, sizeof(*t));
    if (!t)
        return fail(be, FGSD_ERR_NO_MEMORY, "out of memory for a feature map");
    t->c = c;
    t->h = parent->h;
    t->w = parent->w;
    data = parent->data + (size_t)(c0 / parent->blk) * (size_t)parent->sc;
    st = tensor_md(be, c, t->h, t->w, &md);
    if (!st)
        st = check(be, dnnl_memory_create(&t->mem, md, be->engine, data), "feature map view");
    dnnl_memory_desc_destroy(md);
    if (!st)
        st = check(be, dnnl_memory_get_memory_desc(t->mem, &t->md), "memory descriptor");
    if (!st)
        st = tensor_layout(be, t);
    t->data = data;
    if (!st && (t->blk != parent->blk || t->sc != parent->sc || t->sy != parent->sy ||
                t->sx != parent->sx)) {
        /* Its own layout is not the parent's slice (a view too narrow for
         * the blocked layout is planar): no view. */
        onednn_tensor_free(be, t);
        return FGSD_OK;
    }
    if (st) {
        onednn_tensor_free(be, t);
        return st;
    }
    *out = t;
    return FGSD_OK;
}

/* Reorders between the caller's planar CHW buffer and t: upload when to_t. */
static fgsd_status transfer(backend *be, const backend_tensor *t, float *chw, int to_t)
{
    onednn_key key = {to_t ? ONEDNN_UPLOAD : ONEDNN_DOWNLOAD, 0, t->c, t->c, t->h, t->w, 0};
    onednn_entry *e = onednn_cache_find(&be->cache, &key);
    dnnl_memory_desc_t md = NULL;
    dnnl_dims_t dims = {1, t->c, t->h, t->w};
    dnnl_memory_t src, dst;
    fgsd_status st;

    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e)
            return fail(be, FGSD_ERR_NO_MEMORY, "out of memory for a primitive");
        e->key = key;
        st = plain_md(be, 4, dims, dnnl_nchw, &md);
        if (!st)
            st = check(be, dnnl_memory_create(&e->user, md, be->engine, DNNL_MEMORY_NONE),
                       "host memory");
        if (!st)
            st = to_t ? reorder_init(be, md, t->md, &e->main)
                      : reorder_init(be, t->md, md, &e->main);
        dnnl_memory_desc_destroy(md);
        if (st) {
            onednn_entry_free(e);
            return st;
        }
        st = cache_put(be, e);
        if (st)
            return st;
    }
    src = to_t ? e->user : t->mem;
    dst = to_t ? t->mem : e->user;
    st = check(be, dnnl_memory_set_data_handle(e->user, chw), "host memory");
    if (!st)
        st = run(be, &e->main, (dnnl_exec_arg_t[]){{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}}, 2,
                 to_t ? "upload" : "download");
    if (!st)
        st = stream_wait(be);
    /* Keep no pointer to the caller's buffer once the call returns. */
    dnnl_memory_set_data_handle(e->user, DNNL_MEMORY_NONE);
    return st;
}

static fgsd_status onednn_upload(backend *be, backend_tensor *t, const float *chw)
{
    int saved = threads_enter(be);
    /* The reorder only reads the caller's buffer; oneDNN's memory handle is
     * not const-qualified. */
    fgsd_status st = transfer(be, t, (float *)(uintptr_t)chw, 1);

    threads_leave(be, saved);
    return st;
}

static fgsd_status onednn_download(backend *be, const backend_tensor *t, float *chw)
{
    int saved = threads_enter(be);
    fgsd_status st = transfer(be, t, chw, 0);

    threads_leave(be, saved);
    return st;
}

/* ---- convolutions ------------------------------------------------------------ */

static int is_reference_impl(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;

    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success)
        return 0;
    return impl && strstr(impl, "ref:") != NULL;
}

static fgsd_status conv_pd_try(backend *be, const backend_conv *c, const_dnnl_memory_desc_t src,
                               const_dnnl_memory_desc_t dst, dnnl_primitive_desc_t *pd)
{
    dnnl_dims_t wdims = {c->cout, c->cin, c->k, c->k}, bdims = {c->cout};
    dnnl_dims_t stride1 = {1, 1}, stride2 = {2, 2}, zero = {0, 0}, one = {1, 1};
    dnnl_memory_desc_t wei = NULL, bias = NULL;
    dnnl_primitive_attr_t attr = NULL;
    fgsd_status st;

    st = plain_md(be, 4, wdims, dnnl_format_tag_any, &wei);
    if (!st && c->bias)
        st = plain_md(be, 1, bdims, dnnl_a, &bias);
    if (!st)
        st = attr_new(be, c, &attr);
    if (st)
        goto out;
    if (c->transposed)
        st = check(be,
                   dnnl_deconvolution_forward_primitive_desc_create(
                       pd, be->engine, dnnl_forward_inference, dnnl_deconvolution_direct, src, wei,
                       bias, dst, stride2, zero, zero, zero, attr),
                   "transposed convolution");
    else
        st = check(be,
                   dnnl_convolution_forward_primitive_desc_create(
                       pd, be->engine, dnnl_forward_inference, dnnl_convolution_direct, src, wei,
                       bias, dst, stride1, zero, one, one, attr),
                   "convolution");
out:
    dnnl_primitive_attr_destroy(attr);
    dnnl_memory_desc_destroy(wei);
    dnnl_memory_desc_destroy(bias);
    return st;
}

/* The conv primitive descriptor for tensors of layouts src and dst: with
 * those very layouts when oneDNN has a real kernel for them (the common case,
 * as the tensor layout is the conv's own choice), else with format_tag any
 * (the caller then reorders).  Fixed layouts first rather than any, because
 * any can cost two reorders per call for little gain: a transposed conv
 * 64->32 at 128x128, 1 thread, AVX-512, runs 2.27 ms on nChw16c and 1.60 ms
 * on the nhwc that any picks, to which add reordering its 4 MB input and its
 * 8 MB output. */
static fgsd_status conv_pd_new(backend *be, const backend_conv *c, const_dnnl_memory_desc_t src,
                               const_dnnl_memory_desc_t dst, dnnl_primitive_desc_t *pd)
{
    dnnl_dims_t sdims, ddims;
    const dnnl_dims_t *q;
    dnnl_memory_desc_t sany = NULL, dany = NULL;
    fgsd_status st;

    st = conv_pd_try(be, c, src, dst, pd);
    if (!st && !is_reference_impl(*pd))
        return FGSD_OK;
    dnnl_primitive_desc_destroy(*pd);
    *pd = NULL;
    st = check(be, dnnl_memory_desc_query(src, dnnl_query_dims, &q), "query");
    if (st)
        return st;
    memcpy(sdims, *q, sizeof(sdims));
    st = check(be, dnnl_memory_desc_query(dst, dnnl_query_dims, &q), "query");
    if (st)
        return st;
    memcpy(ddims, *q, sizeof(ddims));
    st = plain_md(be, 4, sdims, dnnl_format_tag_any, &sany);
    if (!st)
        st = plain_md(be, 4, ddims, dnnl_format_tag_any, &dany);
    if (!st)
        st = conv_pd_try(be, c, sany, dany, pd);
    dnnl_memory_desc_destroy(sany);
    dnnl_memory_desc_destroy(dany);
    return st;
}

static fgsd_status memory_new(backend *be, const_dnnl_memory_desc_t md, dnnl_memory_t *mem)
{
    return check(be, dnnl_memory_create(mem, md, be->engine, DNNL_MEMORY_ALLOCATE), "buffer");
}

/* Copies weights from src (layout smd) into a new memory of layout dmd, zero
 * padded.  Done here rather than with a reorder primitive: oneDNN 3.7.2's
 * jit:uni reorder writes wrong values when the input channels are not a
 * multiple of the block (measured on AVX-512: oihw 16x24x3x3 to ABcd16b16a
 * misplaces 128 of the 3456 weights and leaves the padding unset; convs with
 * 17, 20, 24, 31, 33 or 40 input channels then computed wrong results, with
 * any tensor layout), and weights are converted once, so a plain loop costs
 * nothing that matters. */
static fgsd_status weights_convert(backend *be, const_dnnl_memory_desc_t smd, const float *src,
                                   const_dnnl_memory_desc_t dmd, dnnl_memory_t *out)
{
    onednn_layout sl, dl;
    void *data = NULL;
    fgsd_status st;

    if (onednn_layout_get(smd, &sl) || onednn_layout_get(dmd, &dl) || sl.ndims != 4 ||
        dl.ndims != 4)
        return fail(be, FGSD_ERR_BACKEND, "weights in a layout this backend cannot write");
    st = memory_new(be, dmd, out);
    if (!st)
        st = check(be, dnnl_memory_get_data_handle(*out, &data), "memory handle");
    if (st)
        return st;
    memset(data, 0, dnnl_memory_desc_get_size(dmd));
    onednn_layout_copy4(&sl, src, &dl, data);
    return FGSD_OK;
}

/* The model's weights are in PyTorch's layout: 3x3 [cout][cin][3][3] (oneDNN's
 * oihw) and transposed [cin][cout][2][2] (oneDNN's iohw: oneDNN orders the
 * dims of deconvolution weights (out, in) as well). */
static fgsd_status weights_from_model(backend *be, const backend_conv *c, const float *w,
                                      const_dnnl_memory_desc_t md, dnnl_memory_t *out)
{
    dnnl_dims_t dims = {c->cout, c->cin, c->k, c->k};
    dnnl_memory_desc_t pmd = NULL;
    fgsd_status st;

    st = plain_md(be, 4, dims, c->transposed ? dnnl_iohw : dnnl_oihw, &pmd);
    if (!st)
        st = weights_convert(be, pmd, w, md, out);
    dnnl_memory_desc_destroy(pmd);
    return st;
}

static fgsd_status bias_from_model(backend *be, const model_conv *conv, dnnl_memory_t *out)
{
    dnnl_dims_t dims = {conv->cout};
    dnnl_memory_desc_t md = NULL;
    void *data = NULL;
    fgsd_status st;

    st = plain_md(be, 1, dims, dnnl_a, &md);
    if (!st)
        st = memory_new(be, md, out);
    if (!st)
        st = check(be, dnnl_memory_get_data_handle(*out, &data), "memory handle");
    if (!st)
        memcpy(data, conv->bias, (size_t)conv->cout * sizeof(float));
    dnnl_memory_desc_destroy(md);
    return st;
}

/* Weights for the layout a primitive at NOMINAL_SIZE wants. */
static fgsd_status prepare_weights(backend *be, backend_conv *c, const float *w)
{
    int scale = c->transposed ? 2 : 1;
    dnnl_memory_desc_t src = NULL, dst = NULL;
    dnnl_primitive_desc_t pd = NULL;
    fgsd_status st;

    st = tensor_md(be, c->cin, NOMINAL_SIZE, NOMINAL_SIZE, &src);
    if (!st)
        st = tensor_md(be, c->cout, NOMINAL_SIZE * scale, NOMINAL_SIZE * scale, &dst);
    if (!st)
        st = conv_pd_new(be, c, src, dst, &pd);
    if (!st)
        st = weights_from_model(be, c, w,
                                dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0),
                                &c->weights);
    dnnl_primitive_desc_destroy(pd);
    dnnl_memory_desc_destroy(src);
    dnnl_memory_desc_destroy(dst);
    return st;
}

static void onednn_conv_free(backend *be, backend_conv *c)
{
    if (!c)
        return;
    onednn_cache_drop_conv(&be->cache, c->id);
    dnnl_memory_destroy(c->weights);
    dnnl_memory_destroy(c->bias);
    free(c);
}

static backend_conv *onednn_conv_prepare(backend *be, const model_conv *conv, int relu)
{
    backend_conv *c = calloc(1, sizeof(*c));
    fgsd_status st = FGSD_OK;
    int saved;

    if (!c) {
        fail(be, FGSD_ERR_NO_MEMORY, "out of memory preparing weights");
        return NULL;
    }
    c->id = ++be->next_conv;
    c->cin = conv->cin;
    c->cout = conv->cout;
    c->k = conv->k;
    c->transposed = conv->transposed;
    c->relu = relu;
    if (conv->cin < 1 || conv->cout < 1 || conv->k != (conv->transposed ? 2 : 3) ||
        !conv->weight) {
        fail(be, FGSD_ERR_INTERNAL, "conv of an unsupported shape");
        goto out_free;
    }
    saved = threads_enter(be);
    if (conv->bias)
        st = bias_from_model(be, conv, &c->bias);
    if (!st)
        st = prepare_weights(be, c, conv->weight);
    threads_leave(be, saved);
    if (st)
        goto out_free;
    return c;

out_free:
    onednn_conv_free(be, c);
    return NULL;
}

/* The primitive of conv c on tensors shaped like in and out, with the
 * reorders it needs when it could not use their layouts, and c's weights
 * reordered once more when it wants another weight layout than the one
 * conv_prepare chose. */
static fgsd_status conv_entry_new(backend *be, const backend_conv *c, const backend_tensor *in,
                                  const backend_tensor *out, const onednn_key *key,
                                  onednn_entry **res)
{
    onednn_entry *e = calloc(1, sizeof(*e));
    dnnl_primitive_desc_t pd = NULL;
    const_dnnl_memory_desc_t md, wmd;
    void *wdata = NULL;
    fgsd_status st;

    if (!e)
        return fail(be, FGSD_ERR_NO_MEMORY, "out of memory for a primitive");
    e->key = *key;
    st = conv_pd_new(be, c, in->md, out->md, &pd);
    if (!st)
        st = step_init(be, pd, &e->main, "convolution");
    if (st)
        goto out;
    md = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    if (!dnnl_memory_desc_equal(md, in->md)) {
        st = memory_new(be, md, &e->src_tmp);
        if (!st)
            st = reorder_init(be, in->md, md, &e->pre);
        if (st)
            goto out;
    }
    md = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    if (!dnnl_memory_desc_equal(md, out->md)) {
        st = memory_new(be, md, &e->dst_tmp);
        if (!st)
            st = reorder_init(be, md, out->md, &e->post);
        if (st)
            goto out;
    }
    md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    st = check(be, dnnl_memory_get_memory_desc(c->weights, &wmd), "memory descriptor");
    if (!st)
        st = check(be, dnnl_memory_get_data_handle(c->weights, &wdata), "memory handle");
    if (!st && !dnnl_memory_desc_equal(md, wmd))
        st = weights_convert(be, wmd, wdata, md, &e->weights);

out:
    dnnl_primitive_desc_destroy(pd);
    if (st) {
        onednn_entry_free(e);
        return st;
    }
    *res = e;
    return FGSD_OK;
}

static fgsd_status conv_run(backend *be, const backend_conv *c, const backend_tensor *in,
                            backend_tensor *out)
{
    onednn_key key = {c->transposed ? ONEDNN_DECONV : ONEDNN_CONV, c->id, c->cin, c->cout, in->h,
                      in->w, (c->relu ? ONEDNN_RELU : 0) | (c->bias ? ONEDNN_BIAS : 0)};
    onednn_entry *e = onednn_cache_find(&be->cache, &key);
    dnnl_exec_arg_t args[MAX_ARGS];
    dnnl_memory_t src, dst;
    fgsd_status st;
    int n = 0;

    if (!e) {
        st = conv_entry_new(be, c, in, out, &key, &e);
        if (!st)
            st = cache_put(be, e);
        if (st)
            return st;
    }
    src = e->src_tmp ? e->src_tmp : in->mem;
    dst = e->dst_tmp ? e->dst_tmp : out->mem;
    if (e->pre.prim) {
        st = run(be, &e->pre, (dnnl_exec_arg_t[]){{DNNL_ARG_FROM, in->mem}, {DNNL_ARG_TO, src}}, 2,
                 "input reorder");
        if (st)
            return st;
    }
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, src};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, e->weights ? e->weights : c->weights};
    if (c->bias)
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, c->bias};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DST, dst};
    st = run(be, &e->main, args, n, "convolution");
    if (!st && e->post.prim)
        st = run(be, &e->post, (dnnl_exec_arg_t[]){{DNNL_ARG_FROM, dst}, {DNNL_ARG_TO, out->mem}},
                 2, "output reorder");
    if (!st)
        st = stream_wait(be);
    return st;
}

static fgsd_status onednn_conv(backend *be, const backend_conv *c, const backend_tensor *in,
                               backend_tensor *out)
{
    int scale = c->transposed ? 2 : 1;
    fgsd_status st;
    int saved;

    if (in->c != c->cin || out->c != c->cout || out->h != in->h * scale ||
        out->w != in->w * scale)
        return fail(be, FGSD_ERR_INTERNAL, "conv shape mismatch");
    saved = threads_enter(be);
    st = conv_run(be, c, in, out);
    threads_leave(be, saved);
    return st;
}

/* ---- pooling, concatenation, offsets ----------------------------------------- */

static fgsd_status pool_entry_new(backend *be, const backend_tensor *in, const backend_tensor *out,
                                  const onednn_key *key, onednn_entry **res)
{
    dnnl_dims_t two = {2, 2}, zero = {0, 0};
    onednn_entry *e = calloc(1, sizeof(*e));
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    fgsd_status st;

    if (!e)
        return fail(be, FGSD_ERR_NO_MEMORY, "out of memory for a primitive");
    e->key = *key;
    /* No padding, so include/exclude padding give the same mean of four. */
    st = attr_new(be, NULL, &attr);
    if (!st)
        st = check(be,
                   dnnl_pooling_forward_primitive_desc_create(
                       &pd, be->engine, dnnl_forward_inference, dnnl_pooling_avg_exclude_padding,
                       in->md, out->md, two, two, zero, zero, zero, attr),
                   "average pooling");
    if (!st)
        st = step_init(be, pd, &e->main, "average pooling");
    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_attr_destroy(attr);
    if (st) {
        onednn_entry_free(e);
        return st;
    }
    *res = e;
    return FGSD_OK;
}

static fgsd_status onednn_avgpool2(backend *be, const backend_tensor *in, backend_tensor *out)
{
    onednn_key key = {ONEDNN_POOL, 0, in->c, out->c, in->h, in->w, 0};
    onednn_entry *e;
    fgsd_status st = FGSD_OK;
    int saved;

    if (out->c != in->c || out->h * 2 != in->h || out->w * 2 != in->w)
        return fail(be, FGSD_ERR_INTERNAL, "pool shape mismatch");
    saved = threads_enter(be);
    e = onednn_cache_find(&be->cache, &key);
    if (!e) {
        st = pool_entry_new(be, in, out, &key, &e);
        if (!st)
            st = cache_put(be, e);
    }
    if (!st)
        st = run(be, &e->main,
                 (dnnl_exec_arg_t[]){{DNNL_ARG_SRC, in->mem}, {DNNL_ARG_DST, out->mem}}, 2,
                 "average pooling");
    if (!st)
        st = stream_wait(be);
    threads_leave(be, saved);
    return st;
}

static fgsd_status concat_entry_new(backend *be, const backend_tensor *a, const backend_tensor *b,
                                    const backend_tensor *out, const onednn_key *key,
                                    onednn_entry **res)
{
    onednn_entry *e = calloc(1, sizeof(*e));
    const_dnnl_memory_desc_t srcs[2] = {a->md, b->md};
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    fgsd_status st;

    if (!e)
        return fail(be, FGSD_ERR_NO_MEMORY, "out of memory for a primitive");
    e->key = *key;
    st = attr_new(be, NULL, &attr);
    if (!st)
        st = check(be,
                   dnnl_concat_primitive_desc_create(&pd, be->engine, out->md, 2, 1, srcs, attr),
                   "concatenation");
    if (!st)
        st = step_init(be, pd, &e->main, "concatenation");
    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_attr_destroy(attr);
    if (st) {
        onednn_entry_free(e);
        return st;
    }
    *res = e;
    return FGSD_OK;
}

static fgsd_status onednn_concat(backend *be, const backend_tensor *a, const backend_tensor *b,
                                 backend_tensor *out)
{
    onednn_key key = {ONEDNN_CONCAT, 0, a->c, b->c, a->h, a->w, 0};
    onednn_entry *e;
    fgsd_status st = FGSD_OK;
    int saved;

    if (a->h != b->h || a->w != b->w || out->h != a->h || out->w != a->w ||
        out->c != a->c + b->c)
        return fail(be, FGSD_ERR_INTERNAL, "concat shape mismatch");
    saved = threads_enter(be);
    e = onednn_cache_find(&be->cache, &key);
    if (!e) {
        st = concat_entry_new(be, a, b, out, &key, &e);
        if (!st)
            st = cache_put(be, e);
    }
    if (!st)
        st = run(be, &e->main,
                 (dnnl_exec_arg_t[]){{DNNL_ARG_MULTIPLE_SRC, a->mem},
                                     {DNNL_ARG_MULTIPLE_SRC + 1, b->mem},
                                     {DNNL_ARG_DST, out->mem}},
                 3, "concatenation");
    if (!st)
        st = stream_wait(be);
    threads_leave(be, saved);
    return st;
}

/* A binary add of a [1][c][1][1] vector broadcast over H and W, in place.
 * The vector's layout is left to oneDNN (format_tag any): with a planar one
 * it only has its reference code for blocked tensors. */
static fgsd_status add_entry_new(backend *be, const backend_tensor *t, const onednn_key *key,
                                 onednn_entry **res)
{
    dnnl_dims_t dims = {1, t->c, 1, 1};
    onednn_entry *e = calloc(1, sizeof(*e));
    dnnl_memory_desc_t md = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    const_dnnl_memory_desc_t vmd = NULL;
    void *data = NULL;
    fgsd_status st;

    if (!e)
        return fail(be, FGSD_ERR_NO_MEMORY, "out of memory for a primitive");
    e->key = *key;
    st = plain_md(be, 4, dims, dnnl_format_tag_any, &md);
    if (!st)
        st = attr_new(be, NULL, &attr);
    if (!st)
        st = check(be,
                   dnnl_binary_primitive_desc_create(&pd, be->engine, dnnl_binary_add, t->md, md,
                                                     t->md, attr),
                   "channel offsets");
    if (!st)
        st = step_init(be, pd, &e->main, "channel offsets");
    if (!st) {
        vmd = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 1);
        st = memory_new(be, vmd, &e->user);
    }
    if (!st)
        st = check(be, dnnl_memory_get_data_handle(e->user, &data), "memory handle");
    if (!st)
        memset(data, 0, dnnl_memory_desc_get_size(vmd));
    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_attr_destroy(attr);
    dnnl_memory_desc_destroy(md);
    if (st) {
        onednn_entry_free(e);
        return st;
    }
    *res = e;
    return FGSD_OK;
}

/* Writes offsets into the entry's vector, in whatever layout it has. */
static fgsd_status set_offsets(backend *be, const onednn_entry *e, int c, const float *offsets)
{
    const_dnnl_memory_desc_t md;
    onednn_layout l;
    void *data = NULL;
    fgsd_status st;

    st = check(be, dnnl_memory_get_memory_desc(e->user, &md), "memory descriptor");
    if (!st)
        st = check(be, dnnl_memory_get_data_handle(e->user, &data), "memory handle");
    if (st)
        return st;
    if (onednn_layout_get(md, &l))
        return fail(be, FGSD_ERR_BACKEND, "channel offsets in a layout this backend cannot write");
    for (int64_t i[4] = {0, 0, 0, 0}; i[1] < c; i[1]++)
        ((float *)data)[onednn_layout_offset(&l, i)] = offsets[i[1]];
    return FGSD_OK;
}

static fgsd_status onednn_add_channel(backend *be, backend_tensor *t, const float *offsets)
{
    onednn_key key = {ONEDNN_ADD_CHANNEL, 0, t->c, t->c, t->h, t->w, 0};
    onednn_entry *e;
    fgsd_status st = FGSD_OK;
    int saved;

    saved = threads_enter(be);
    e = onednn_cache_find(&be->cache, &key);
    if (!e) {
        st = add_entry_new(be, t, &key, &e);
        if (!st)
            st = cache_put(be, e);
    }
    if (!st)
        st = set_offsets(be, e, t->c, offsets);
    if (!st)
        st = run(be, &e->main,
                 (dnnl_exec_arg_t[]){{DNNL_ARG_SRC_0, t->mem},
                                     {DNNL_ARG_SRC_1, e->user},
                                     {DNNL_ARG_DST, t->mem}},
                 3, "channel offsets");
    if (!st)
        st = stream_wait(be);
    threads_leave(be, saved);
    return st;
}

/* ---- channel sums ------------------------------------------------------------ */

/* Read in place from the blocked layout: one pass over the rectangle per
 * block of channels, each channel summed in the same order as the reference
 * backend (row by row), so the result does not depend on threads. */
/* weights_gen: host weights are read in place, nothing to keep. */
static fgsd_status onednn_channel_sums(backend *be, const backend_tensor *t, const float *weights,
                                       uint64_t weights_gen, int x0, int y0, int x1, int y1,
                                       double *sums)
{
    (void)weights_gen;
    if (x0 < 0 || y0 < 0 || x1 > t->w || y1 > t->h || x0 > x1 || y0 > y1)
        return fail(be, FGSD_ERR_INTERNAL, "channel_sums rectangle outside the tensor");
    for (int c0 = 0; c0 < t->c; c0 += t->blk) {
        int nc = t->c - c0 < t->blk ? t->c - c0 : t->blk;
        const float *base = t->data + (int64_t)(c0 / t->blk) * t->sc;
        double acc[MAX_BLOCK] = {0};

        for (int y = y0; y < y1; y++) {
            for (int x = x0; x < x1; x++) {
                const float *p = base + y * t->sy + x * t->sx;
                double wv = weights ? weights[(size_t)y * (size_t)t->w + (size_t)x] : 1.0;

                for (int i = 0; i < nc; i++)
                    acc[i] += wv * p[i];
            }
        }
        for (int i = 0; i < nc; i++)
            sums[c0 + i] = acc[i];
    }
    return FGSD_OK;
}

const backend_ops backend_onednn_ops = {
    .name = "cpu-onednn",
    .create = onednn_create,
    .destroy = onednn_destroy,
    .error = onednn_error,
    .status = onednn_status,
    .conv_prepare = onednn_conv_prepare,
    .conv_free = onednn_conv_free,
    .tensor_new = onednn_tensor_new,
    .tensor_free = onednn_tensor_free,
    .tensor_view = onednn_tensor_view,
    .upload = onednn_upload,
    .download = onednn_download,
    .conv = onednn_conv,
    .avgpool2 = onednn_avgpool2,
    .concat = onednn_concat,
    .channel_sums = onednn_channel_sums,
    .add_channel = onednn_add_channel,
};
