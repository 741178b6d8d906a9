/* SPDX-License-Identifier: GPL-3.0-or-later
 * The CUDA backend (docs/cuda.md) against the reference backend: every op
 * on random inputs with the same fp32 bounds as test_ops.c, both convolution
 * paths (cuDNN and the direct kernel), deterministic mode, and the whole
 * network, tiled passes and the sampler through the public API.
 *
 * The module comes from $FGSD_CUDA_MODULE (meson sets it to the one it
 * built).  Exit 77 (skip) when there is no module, it does not load, or
 * there is no usable device, after checking, in the no-device case, that
 * sessions fall back to the CPU as documented.  A device that is present
 * but on which the backend cannot start is a failure. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <dlfcn.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend.h"
#include "canvas.h"
#include "image_math.h"
#include "rng.h"
#include "cuda/cuda_module.h"
#include "tiny_model.h"
#include "op_check.h"
#include "session.h"
#include "unet.h"


/* One denoiser pass conditioned on phi (NULL: none), through a reference. */
static fgsd_status denoise_phi(fgsd_session *s, const float *x, int w, int h, const float *phi,
                               int dim, float *out)
{
    const float grey[3] = {0.5f, 0.5f, 0.5f};
    fgsd_reference *r = NULL;
    fgsd_status st = phi ? fgsd_reference_from_features(phi, dim, grey, &r) : FGSD_OK;

    if (!st)
        st = fgsd_denoise(s, r, x, w, h, out);
    fgsd_reference_free(r);
    return st;
}

static const backend_ops *cuda; /* set once in main, before the tests */
static const fgsd_cuda_module *module;

/* ---- helpers ------------------------------------------------------------------ */

/* ---- ops ---------------------------------------------------------------------- */

static const size2 SIZES[] = {{8, 8}, {10, 6}, {33, 17}, {64, 48}};
#define N_SIZES ((int)(sizeof(SIZES) / sizeof(SIZES[0])))
static const int CHANNELS[] = {1, 3, 5, 16, 24, 64};
#define N_CHANNELS ((int)(sizeof(CHANNELS) / sizeof(CHANNELS[0])))

static const conv_shape CONV3_SHAPES[] = {{3, 16}, {5, 24}, {16, 16}, {24, 5},  {64, 64},
                                          {16, 3}, {3, 5},  {24, 16}, {32, 24}, {128, 64}};
static const conv_shape CONVT_SHAPES[] = {{16, 8}, {24, 5}, {64, 32}, {5, 3}, {128, 64}};

/* The three ways the backend runs: cuDNN, cuDNN deterministic, and the
 * direct kernel (FGSD_CUDA_CONV=direct, read at create). */
typedef struct mode {
    const char *name;
    int deterministic, direct;
} mode;

static const mode MODES[] = {{"cudnn", 0, 0}, {"cudnn-deterministic", 1, 0}, {"direct", 0, 1}};
#define N_MODES ((int)(sizeof(MODES) / sizeof(MODES[0])))

static backend *open_mode(const mode *m)
{
    backend *be;

    if (m->direct)
        setenv("FGSD_CUDA_CONV", "direct", 1);
    be = open_backend(cuda, 0, m->deterministic);
    unsetenv("FGSD_CUDA_CONV");
    return be;
}

/* Bound as test_ops.c (op_check.h, conv_check). */
static int conv_case(const mode *md, const conv_shape *sh, int transposed, int bias, int relu,
                     uint64_t seed)
{
    backend *be = open_mode(md);
    int bad = conv_check(cuda, be, md->name, md->deterministic, sh, SIZES, N_SIZES, transposed,
                         bias, relu, seed);

    cuda->destroy(be);
    return bad;
}

static void conv_all(const conv_shape *shapes, int n, int transposed)
{
    int bad = 0;

    for (int m = 0; m < N_MODES; m++)
        for (int s = 0; s < n; s++)
            for (int flags = 0; flags < 4; flags++)
                bad += conv_case(&MODES[m], &shapes[s], transposed, flags & 1, flags >> 1,
                                 1000u * (uint64_t)s + (uint64_t)flags);
    assert_int_equal(bad, 0);
}

static void test_conv3x3(void **state)
{
    (void)state;
    conv_all(CONV3_SHAPES, (int)(sizeof(CONV3_SHAPES) / sizeof(CONV3_SHAPES[0])), 0);
}

static void test_convt2x2(void **state)
{
    (void)state;
    conv_all(CONVT_SHAPES, (int)(sizeof(CONVT_SHAPES) / sizeof(CONVT_SHAPES[0])), 1);
}

/* Layout conversion both ways is a copy: exact, every shape. */
static void test_upload_download(void **state)
{
    backend *be = open_backend(cuda, 0, 0);

    (void)state;
    for (int k = 0; k < 300; k++) {
        int c = CHANNELS[k % N_CHANNELS], h = 1 + k % 37, w = 1 + k / 37;
        size_t n = numel(c, h, w);
        float *x = random_floats(n, 1.0f, (uint64_t)k);
        backend_tensor *t = tensor_with(cuda, be, c, h, w, x);
        float *got = download(cuda, be, t, c, h, w);

        assert_int_equal(compare("upload/download", got, x, NULL, n, 0.0), 0);
        free(got);
        free(x);
        cuda->tensor_free(be, t);
    }
    cuda->destroy(be);
}

/* Pool, concat and the per-channel add round as the reference does: exact. */
static void test_exact_ops(void **state)
{
    const backend_ops *ref = &backend_ref_ops;
    backend *be = open_backend(cuda, 0, 0), *rb = open_backend(ref, 0, 0);

    (void)state;
    for (int ci = 0; ci < N_CHANNELS; ci++) {
        for (int s = 0; s < N_SIZES; s++) {
            int c = CHANNELS[ci], h = SIZES[s].h & ~1, w = SIZES[s].w & ~1, c2 = 1 + ci * 3;
            size_t n = numel(c, h, w), np = numel(c, h / 2, w / 2), nc = numel(c + c2, h, w);
            float *x = random_floats(n, 1.0f, 5u + (uint64_t)ci);
            float *y = random_floats(numel(c2, h, w), 1.0f, 6u + (uint64_t)s);
            float *off = random_floats((size_t)c, 1.0f, 7u + (uint64_t)s);
            backend_tensor *t = tensor_with(cuda, be, c, h, w, x);
            backend_tensor *u = tensor_with(cuda, be, c2, h, w, y);
            backend_tensor *p = tensor_with(cuda, be, c, h / 2, w / 2, NULL);
            backend_tensor *cat = tensor_with(cuda, be, c + c2, h, w, NULL);
            backend_tensor *rt = tensor_with(ref, rb, c, h, w, x);
            backend_tensor *ru = tensor_with(ref, rb, c2, h, w, y);
            backend_tensor *rp = tensor_with(ref, rb, c, h / 2, w / 2, NULL);
            backend_tensor *rcat = tensor_with(ref, rb, c + c2, h, w, NULL);
            float *got, *want;

            assert_int_equal(cuda->avgpool2(be, t, p), FGSD_OK);
            assert_int_equal(ref->avgpool2(rb, rt, rp), FGSD_OK);
            got = download(cuda, be, p, c, h / 2, w / 2);
            want = download(ref, rb, rp, c, h / 2, w / 2);
            assert_int_equal(compare("avgpool2", got, want, NULL, np, 0.0), 0);
            free(got);
            free(want);
            assert_int_equal(cuda->concat(be, t, u, cat), FGSD_OK);
            assert_int_equal(ref->concat(rb, rt, ru, rcat), FGSD_OK);
            got = download(cuda, be, cat, c + c2, h, w);
            want = download(ref, rb, rcat, c + c2, h, w);
            assert_int_equal(compare("concat", got, want, NULL, nc, 0.0), 0);
            free(got);
            free(want);
            assert_int_equal(cuda->add_channel(be, t, off), FGSD_OK);
            assert_int_equal(ref->add_channel(rb, rt, off), FGSD_OK);
            got = download(cuda, be, t, c, h, w);
            want = download(ref, rb, rt, c, h, w);
            assert_int_equal(compare("add_channel", got, want, NULL, n, 0.0), 0);
            free(got);
            free(want);
            free(x);
            free(y);
            free(off);
            cuda->tensor_free(be, t);
            cuda->tensor_free(be, u);
            cuda->tensor_free(be, p);
            cuda->tensor_free(be, cat);
            ref->tensor_free(rb, rt);
            ref->tensor_free(rb, ru);
            ref->tensor_free(rb, rp);
            ref->tensor_free(rb, rcat);
        }
    }
    cuda->destroy(be);
    ref->destroy(rb);
}

/* Double sums of n products in any order: within n * n * DBL_EPSILON when
 * |x|, |w| <= 1 (test_ops.c); the big case spans many chunks. */
static void test_channel_sums(void **state)
{
    typedef struct rect {
        int x0, y0, x1, y1; /* -1: the tensor's width or height */
    } rect;
    static const rect rects[] = {{0, 0, -1, -1}, {1, 2, 5, 6}, {0, 3, -1, 4}, {2, 2, 2, 5}};
    static const size2 sizes[] = {{8, 8}, {33, 17}, {1030, 70}};
    const backend_ops *ref = &backend_ref_ops;
    backend *be = open_backend(cuda, 0, 0), *rb = open_backend(ref, 0, 0);

    (void)state;
    for (int ci = 0; ci < N_CHANNELS; ci++) {
        for (int s = 0; s < 3; s++) {
            int c = CHANNELS[ci], h = sizes[s].h, w = sizes[s].w;
            float *x = random_floats(numel(c, h, w), 1.0f, 31u + (uint64_t)ci);
            float *wt = random_floats(numel(1, h, w), 1.0f, 32u + (uint64_t)s);
            backend_tensor *t = tensor_with(cuda, be, c, h, w, x);
            backend_tensor *rt = tensor_with(ref, rb, c, h, w, x);
            double got[64], want[64];

            for (int r = 0; r < 4; r++) {
                int x0 = rects[r].x0, y0 = rects[r].y0;
                int x1 = rects[r].x1 < 0 ? w : rects[r].x1, y1 = rects[r].y1 < 0 ? h : rects[r].y1;
                double n = (double)(x1 - x0) * (y1 - y0);

                /* No weights; weights sent at every call; weights kept on
                 * the device under a generation (rows y0.. of the kept
                 * plane). */
                for (int weighted = 0; weighted < 3; weighted++) {
                    const float *ww = weighted ? wt : NULL;
                    uint64_t gen = weighted == 2 ? 100u + (uint64_t)s : 0u;
                    assert_int_equal(cuda->channel_sums(be, t, ww, gen, x0, y0, x1, y1, got),
                                     FGSD_OK);
                    assert_int_equal(ref->channel_sums(rb, rt, ww, 0, x0, y0, x1, y1, want),
                                     FGSD_OK);
                    for (int k = 0; k < c; k++)
                        if (!(fabs(got[k] - want[k]) <= n * n * DBL_EPSILON)) {
                            print_error("channel_sums c=%d %dx%d rect %d [%d]: %.17g vs %.17g\n",
                                        c, h, w, r, k, got[k], want[k]);
                            fail();
                        }
                }
            }
            free(x);
            free(wt);
            cuda->tensor_free(be, t);
            ref->tensor_free(rb, rt);
        }
    }
    cuda->destroy(be);
    ref->destroy(rb);
}

/* A mask kept under a generation is not sent again: the same pointer and
 * generation after the host's values changed still sum the kept copy; a
 * new generation sends the new values; with FGSD_CUDA_MASK_CACHE=0 every
 * call sends them.  FGSD_CUDA_DEVICE_REDUCE=0 (chunks added on the host)
 * gives the same sums to the bit. */
static void test_mask_generations(void **state)
{
    const int c = 16, h = 40, w = 24;
    float *x = random_floats(numel(c, h, w), 1.0f, 41u);
    float *wt = random_floats(numel(1, h, w), 1.0f, 42u);
    backend *be = open_backend(cuda, 0, 0), *nocache, *hostsum;
    backend_tensor *t = tensor_with(cuda, be, c, h, w, x), *t2, *t3;
    double first[16], kept[16], fresh[16], uncached[16], host[16];

    (void)state;
    setenv("FGSD_CUDA_MASK_CACHE", "0", 1);
    nocache = open_backend(cuda, 0, 0);
    unsetenv("FGSD_CUDA_MASK_CACHE");
    setenv("FGSD_CUDA_DEVICE_REDUCE", "0", 1);
    hostsum = open_backend(cuda, 0, 0);
    unsetenv("FGSD_CUDA_DEVICE_REDUCE");
    t2 = tensor_with(cuda, nocache, c, h, w, x);
    t3 = tensor_with(cuda, hostsum, c, h, w, x);
    assert_int_equal(cuda->channel_sums(be, t, wt, 7, 0, 0, w, h, first), FGSD_OK);
    assert_int_equal(cuda->channel_sums(hostsum, t3, wt, 7, 0, 0, w, h, host), FGSD_OK);
    assert_memory_equal(first, host, sizeof(first));
    assert_int_equal(cuda->channel_sums(nocache, t2, wt, 7, 0, 0, w, h, uncached), FGSD_OK);
    for (size_t i = 0; i < (size_t)h * (size_t)w; i++)
        wt[i] = 0.5f * wt[i] + 0.25f;
    assert_int_equal(cuda->channel_sums(be, t, wt, 7, 0, 0, w, h, kept), FGSD_OK);
    assert_memory_equal(first, kept, sizeof(first));
    assert_int_equal(cuda->channel_sums(be, t, wt, 8, 0, 0, w, h, fresh), FGSD_OK);
    assert_memory_not_equal(first, fresh, sizeof(first));
    assert_int_equal(cuda->channel_sums(nocache, t2, wt, 7, 0, 0, w, h, uncached), FGSD_OK);
    assert_memory_equal(fresh, uncached, sizeof(fresh));
    cuda->tensor_free(be, t);
    cuda->tensor_free(nocache, t2);
    cuda->tensor_free(hostsum, t3);
    cuda->destroy(be);
    cuda->destroy(nocache);
    cuda->destroy(hostsum);
    free(x);
    free(wt);
}

static void test_shape_errors(void **state)
{
    backend *be = open_backend(cuda, 0, 0);
    float w[16 * 3 * 9] = {0};
    model_conv mc = {3, 16, 3, 0, w, NULL};
    backend_conv *cv = cuda->conv_prepare(be, &mc, 1);
    backend_tensor *a = tensor_with(cuda, be, 3, 8, 8, NULL);
    backend_tensor *b = tensor_with(cuda, be, 16, 8, 6, NULL);
    double sums[16];

    (void)state;
    assert_non_null(cv);
    assert_int_not_equal(cuda->conv(be, cv, a, b), FGSD_OK);
    assert_true(cuda->error(be)[0] != '\0');
    assert_int_not_equal(cuda->avgpool2(be, a, b), FGSD_OK);
    assert_int_not_equal(cuda->concat(be, a, b, b), FGSD_OK);
    assert_int_not_equal(cuda->channel_sums(be, b, NULL, 0, 0, 0, 7, 8, sums), FGSD_OK);
    assert_true(cuda->memory_available(be) > 0);
    cuda->tensor_free(be, a);
    cuda->tensor_free(be, b);
    cuda->conv_free(be, cv);
    cuda->destroy(be);
}

/* ---- the whole engine through the public API ------------------------------------------ */

static fgsd_model *tiny_model(void)
{
    char err[256] = "";
    fgsd_model *m = test_tiny_model_load(7, err, sizeof(err));

    if (!m)
        print_error("tiny model: %s\n", err);
    assert_non_null(m);
    return m;
}

static fgsd_session *session_on(const fgsd_model *m, fgsd_backend_kind kind, int max_tile)
{
    fgsd_session_options o = fgsd_session_options_default();
    fgsd_session *s = NULL;
    char err[512] = "";

    o.backend = kind;
    o.cuda_strict = 1;
    o.max_tile = max_tile;
    if (fgsd_session_create(m, &o, &s, err, sizeof(err)) != FGSD_OK)
        print_error("session: %s\n", err);
    assert_non_null(s);
    return s;
}


/* A UNet pass chains about 20 ops, each within its own fp32 bound: the
 * outputs agree to 1e-4 of their largest magnitude (a wrong layout or tap
 * gives errors of the order of the values).  Tiles: the same, as tiling is
 * exact. */
static void test_network(void **state)
{
    fgsd_model *m = tiny_model();
    fgsd_session *g = session_on(m, FGSD_BACKEND_CUDA, 0);
    fgsd_session *gt = session_on(m, FGSD_BACKEND_CUDA, 64);
    fgsd_session *r = session_on(m, FGSD_BACKEND_REFERENCE, 0);
    int w = 120, h = 72, dim = fgsd_model_feature_dim(m);
    size_t n = (size_t)w * (size_t)h * 3;
    float *x = random_floats(n, 0.5f, 11), *a = malloc(n * sizeof(float));
    float *b = malloc(n * sizeof(float)), *phi = malloc((size_t)dim * sizeof(float));
    float *phr = malloc((size_t)dim * sizeof(float));

    (void)state;
    assert_true(a && b && phi && phr);
    assert_string_equal(fgsd_session_backend_name(g), "cuda-cudnn");
    for (size_t i = 0; i < n; i++)
        x[i] += 0.5f;
    assert_int_equal(fgsd_features(g, x, w, h, NULL, phi), FGSD_OK);
    assert_int_equal(fgsd_features(r, x, w, h, NULL, phr), FGSD_OK);
    assert_int_equal(compare("features", phi, phr, NULL, (size_t)dim, 1e-4 * max_abs(phr, (size_t)dim)), 0);
    assert_int_equal(denoise_phi(r, x, w, h, phr, dim, b), FGSD_OK);
    assert_int_equal(denoise_phi(g, x, w, h, phr, dim, a), FGSD_OK);
    assert_int_equal(compare("denoise", a, b, NULL, n, 1e-4 * max_abs(b, n)), 0);
    assert_int_equal(denoise_phi(gt, x, w, h, phr, dim, a), FGSD_OK);
    assert_int_equal(compare("denoise, tiled", a, b, NULL, n, 1e-4 * max_abs(b, n)), 0);
    free(x);
    free(a);
    free(b);
    free(phi);
    free(phr);
    fgsd_session_free(g);
    fgsd_session_free(gt);
    fgsd_session_free(r);
    fgsd_model_free(m);
}

/* ---- a pass as one CUDA graph (issue 24) ------------------------------------------- */

/* A deterministic backend with var set to 0, choosing its algorithms by
 * heuristics even in the FGSD_CUDA_ALGO=find run of the tests (timing
 * could choose other algorithms, with other roundings, per backend). */
static backend *open_switched(const char *var)
{
    const char *algo = getenv("FGSD_CUDA_ALGO");
    char *saved = algo ? strdup(algo) : NULL;
    backend *be;

    unsetenv("FGSD_CUDA_ALGO");
    if (var)
        setenv(var, "0", 1);
    be = open_backend(cuda, 0, 1);
    if (var)
        unsetenv(var);
    if (saved)
        setenv("FGSD_CUDA_ALGO", saved, 1);
    free(saved);
    return be;
}

typedef struct pass_result {
    float *out;
    double *sums, *weights;
} pass_result;

static pass_result run_one(unet *net, unet_pass p, int dim)
{
    char err[512] = "";
    pass_result r = {calloc(numel(3, p.height, p.width), sizeof(float)),
                     calloc((size_t)dim, sizeof(double)), calloc((size_t)dim, sizeof(double))};

    assert_true(r.out && r.sums && r.weights);
    p.out = r.out;
    p.sums = r.sums;
    p.weights = r.weights;
    if (unet_run(net, &p, err, sizeof(err)) != FGSD_OK)
        print_error("pass: %s\n", err);
    return r;
}

static void assert_same_result(pass_result a, pass_result b, size_t n, int dim)
{
    assert_memory_equal(a.out, b.out, n * sizeof(float));
    assert_memory_equal(a.sums, b.sums, (size_t)dim * sizeof(double));
    assert_memory_equal(a.weights, b.weights, (size_t)dim * sizeof(double));
}

static void result_free(pass_result r)
{
    free(r.out);
    free(r.sums);
    free(r.weights);
}

/* With the projection on the device (FGSD_CUDA_DEVICE_PROJECT) and whole
 * passes replayed as CUDA graphs (FGSD_CUDA_GRAPHS), outputs, sums and
 * weights equal the op-by-op path's to the bit over a sampler's passes (the
 * first queued op by op, the second captured, later ones launched), a
 * reference's features between them (the graph of the sampler's pass is
 * kept), a tiled stage with fixed means and no mask, and a whole tile. */
static void test_pass_graphs(void **state)
{
    fgsd_model *m = tiny_model();
    int w = 96, h = 64, dim = fgsd_model_feature_dim(m);
    size_t n = numel(3, h, w), np = (size_t)w * (size_t)h;
    backend *bi = open_switched("FGSD_CUDA_DEVICE_PROJECT"), *bo = open_switched("FGSD_CUDA_GRAPHS");
    backend *bg = open_switched(NULL);
    backend *bes[3] = {bi, bo, bg};
    unet *net[3] = {NULL, NULL, NULL};
    float *x[3], *mask = random_floats(np, 0.5f, 63u), *phi = random_floats((size_t)dim, 0.5f, 64u);
    float *means = random_floats((size_t)dim, 0.3f, 65u);
    unet_pass passes[7];
    fgsd_cuda_pass_stats si, so, sg;
    char err[512] = "";

    (void)state;
    for (int k = 0; k < 3; k++) {
        x[k] = random_floats(n, 0.5f, 60u + (uint64_t)k);
        assert_int_equal(unet_create(m, cuda, bes[k], &net[k], err, sizeof(err)), FGSD_OK);
    }
    for (size_t i = 0; i < np; i++)
        mask[i] += 0.5f;
    for (int k = 0; k < 7; k++)
        passes[k] = (unet_pass){.input = x[k % 3], .width = w, .height = h, .mask = mask,
                                .phi_ref = phi};
    passes[3].phi_ref = NULL; /* a reference's features, the same mask */
    passes[3].features_only = 1;
    passes[5].mask = NULL; /* a tiled pass's stage (a new mask pyramid) */
    passes[5].fixed_means = means;
    passes[5].blocks = 3;
    passes[6].mask = NULL; /* a whole tile with fixed means */
    passes[6].fixed_means = means;
    for (int k = 0; k < 7; k++) {
        pass_result r[3];
        for (int b = 0; b < 3; b++)
            r[b] = run_one(net[b], passes[k], dim);
        assert_same_result(r[0], r[1], n, dim);
        assert_same_result(r[0], r[2], n, dim);
        for (int b = 0; b < 3; b++)
            result_free(r[b]);
    }
    module->pass_stats(bi, &si);
    module->pass_stats(bo, &so);
    module->pass_stats(bg, &sg);
    printf("graphs: %lu passes deferred, %lu op by op, %lu captured, %lu launched, %lu failed\n",
           sg.deferred, sg.op_by_op, sg.captured, sg.launched, sg.capture_failed);
    assert_int_equal(si.deferred, 0);
    assert_int_equal(so.deferred, 7);
    assert_int_equal(so.captured + so.launched, 0);
    assert_int_equal(sg.deferred, 7);
    assert_int_equal(sg.capture_failed, 0);
    /* Passes 0-2 and 4 are alike: captured at 1, launched at 1, 2 and 4. */
    assert_int_equal(sg.captured, 1);
    assert_int_equal(sg.launched, 3);
    for (int k = 0; k < 3; k++) {
        unet_free(net[k]);
        cuda->destroy(bes[k]);
        free(x[k]);
    }
    free(mask);
    free(phi);
    free(means);
    fgsd_model_free(m);
}

/* FGSD_CUDA_LAYOUT (issue 24.4: fp32 NCHW against NHWC): with the direct
 * convolution kernel (the same order of accumulation in both layouts) a
 * network's outputs and sums are equal to the bit in NCHW and NHWC; in
 * NCHW a tensor's channel range is a view (the decoder's concatenation
 * without a copy), in NHWC there is none; an unknown layout is refused.
 * (The whole of test_cuda runs again with FGSD_CUDA_LAYOUT=nchw in the
 * GPU call, every op against the reference backend.) */
static void test_layouts(void **state)
{
    fgsd_model *m = tiny_model();
    int w = 64, h = 48, dim = fgsd_model_feature_dim(m);
    size_t n = numel(3, h, w), np = (size_t)w * (size_t)h;
    float *x = random_floats(n, 0.5f, 31u), *mask = random_floats(np, 0.5f, 32u);
    float *phi = random_floats((size_t)dim, 0.5f, 33u);
    backend *bes[2], *bad = NULL;
    unet *net[2];
    backend_tensor *parent, *view = NULL;
    backend_config cfg = {0, 0, 0};
    char err[512] = "";
    pass_result r[2];
    unet_pass p;

    (void)state;
    setenv("FGSD_CUDA_LAYOUT", "nhcw", 1);
    assert_int_equal(cuda->create(&cfg, &bad, err, sizeof(err)), FGSD_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "FGSD_CUDA_LAYOUT"));
    setenv("FGSD_CUDA_CONV", "direct", 1);
    for (int k = 0; k < 2; k++) {
        setenv("FGSD_CUDA_LAYOUT", k ? "nchw" : "nhwc", 1);
        bes[k] = open_backend(cuda, 0, 1);
        assert_int_equal(unet_create(m, cuda, bes[k], &net[k], err, sizeof(err)), FGSD_OK);
    }
    unsetenv("FGSD_CUDA_LAYOUT");
    unsetenv("FGSD_CUDA_CONV");
    for (size_t i = 0; i < np; i++)
        mask[i] += 0.5f;
    p = (unet_pass){.input = x, .width = w, .height = h, .mask = mask, .phi_ref = phi};
    for (int k = 0; k < 2; k++)
        r[k] = run_one(net[k], p, dim);
    assert_same_result(r[0], r[1], n, dim);
    for (int k = 0; k < 2; k++) {
        result_free(r[k]);
        parent = cuda->tensor_new(bes[k], 5, h, w);
        assert_non_null(parent);
        assert_int_equal(cuda->tensor_view(bes[k], parent, 2, 3, &view), FGSD_OK);
        if (!k) {
            assert_null(view);
        } else {
            float *all = calloc(numel(5, h, w), sizeof(float));
            assert_non_null(view);
            assert_non_null(all);
            assert_int_equal(cuda->upload(bes[k], parent, all), FGSD_OK);
            assert_int_equal(cuda->upload(bes[k], view, x), FGSD_OK);
            assert_int_equal(cuda->download(bes[k], parent, all), FGSD_OK);
            assert_memory_equal(all + 2 * np, x, n * sizeof(float));
            cuda->tensor_free(bes[k], view);
            free(all);
        }
        cuda->tensor_free(bes[k], parent);
        unet_free(net[k]);
        cuda->destroy(bes[k]);
    }
    free(x);
    free(mask);
    free(phi);
    fgsd_model_free(m);
}

/* FGSD_CUDA_PRECISION=bf16 (issue 24.4): bf16 activations and filters on
 * tensor cores, fp32 accumulation.  Its deviation from the reference is
 * printed (the GPU run measures it on the shipped model too); the bound,
 * 5 % of the largest output, only catches a wrong layout or type (errors of
 * the order of the values), and the output must differ from the fp32
 * mode's, or the switch did nothing.  An unknown precision is refused. */
static void test_bf16(void **state)
{
    fgsd_model *m = tiny_model();
    fgsd_session *r = session_on(m, FGSD_BACKEND_REFERENCE, 0);
    fgsd_session *f = session_on(m, FGSD_BACKEND_CUDA, 0), *g;
    int w = 120, h = 72, dim = fgsd_model_feature_dim(m);
    size_t n = (size_t)w * (size_t)h * 3;
    float *x = random_floats(n, 0.5f, 21), *a = malloc(n * sizeof(float));
    float *b = malloc(n * sizeof(float)), *c = malloc(n * sizeof(float));
    float *phi = malloc((size_t)dim * sizeof(float)), *phr = malloc((size_t)dim * sizeof(float));
    backend *bad = NULL;
    backend_config cfg = {0, 0, 0};
    char err[512] = "";

    (void)state;
    assert_true(a && b && c && phi && phr);
    setenv("FGSD_CUDA_PRECISION", "bf16", 1);
    g = session_on(m, FGSD_BACKEND_CUDA, 0);
    setenv("FGSD_CUDA_PRECISION", "fp16", 1);
    assert_int_equal(cuda->create(&cfg, &bad, err, sizeof(err)), FGSD_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "FGSD_CUDA_PRECISION"));
    unsetenv("FGSD_CUDA_PRECISION");
    for (size_t i = 0; i < n; i++)
        x[i] += 0.5f;
    assert_int_equal(fgsd_features(g, x, w, h, NULL, phi), FGSD_OK);
    assert_int_equal(fgsd_features(r, x, w, h, NULL, phr), FGSD_OK);
    printf("bf16: features within %.3g of the reference (largest %.3g)\n",
           max_abs_diff(phi, phr, (size_t)dim), max_abs(phr, (size_t)dim));
    assert_int_equal(compare("bf16 features", phi, phr, NULL, (size_t)dim,
                             5e-2 * max_abs(phr, (size_t)dim)), 0);
    assert_int_equal(denoise_phi(r, x, w, h, phr, dim, b), FGSD_OK);
    assert_int_equal(denoise_phi(g, x, w, h, phr, dim, a), FGSD_OK);
    assert_int_equal(denoise_phi(f, x, w, h, phr, dim, c), FGSD_OK);
    printf("bf16: denoise within %.3g of the reference, fp32 within %.3g (largest %.3g)\n",
           max_abs_diff(a, b, n), max_abs_diff(c, b, n), max_abs(b, n));
    assert_int_equal(compare("bf16 denoise", a, b, NULL, n, 5e-2 * max_abs(b, n)), 0);
    assert_memory_not_equal(a, c, n * sizeof(float));
    free(x);
    free(a);
    free(b);
    free(c);
    free(phi);
    free(phr);
    fgsd_session_free(r);
    fgsd_session_free(f);
    fgsd_session_free(g);
    fgsd_model_free(m);
}

/* The same seed draws the same noise on both backends; a few steps of the
 * sampler stay within 1e-3 of the largest value. */
static void test_sampler(void **state)
{
    fgsd_model *m = tiny_model();
    fgsd_session *g = session_on(m, FGSD_BACKEND_CUDA, 0);
    fgsd_session *r = session_on(m, FGSD_BACKEND_REFERENCE, 0);
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    int w = 48, h = 40;
    size_t n = (size_t)w * (size_t)h * 3;
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    fgsd_sample_stats sa, sb;

    (void)state;
    assert_true(a && b);
    p.seed = 5;
    p.max_steps = 4;
    assert_int_equal(fgsd_synthesize(g, NULL, &p, w, h, a, &sa), FGSD_OK);
    assert_int_equal(fgsd_synthesize(r, NULL, &p, w, h, b, &sb), FGSD_OK);
    assert_int_equal(sa.steps, sb.steps);
    assert_int_equal(compare("sample", a, b, NULL, n, 1e-3 * max_abs(b, n)), 0);
    free(a);
    free(b);
    fgsd_session_free(g);
    fgsd_session_free(r);
    fgsd_model_free(m);
}

/* The noise kernel runs rng_core.h as the CPU does, with CUDA's double log
 * and cos (within 1-2 ulp of double): after rounding to float a value may
 * differ by one float ulp, and only where the double lies next to a float
 * rounding boundary, which is rare. */
static void test_noise(void **state)
{
    backend *be = open_backend(cuda, 0, 0);
    size_t n = 3 * 517 * 389; /* more than one grid-stride pass: 603 339 values */
    float *g = malloc(n * sizeof(float)), *c = malloc(n * sizeof(float));
    size_t off = 0;

    (void)state;
    assert_true(g && c);
    for (uint32_t step = 0; step < 3; step++) {
        assert_int_equal(cuda->normal_noise(be, 0xFEEDull + step, step * 1000u, n, g), FGSD_OK);
        rng_normal_fill(0xFEEDull + step, step * 1000u, 0, n, c);
        for (size_t i = 0; i < n; i++) {
            if (g[i] == c[i])
                continue;
            if (fabsf(g[i] - c[i]) > fabsf(nextafterf(c[i], INFINITY) - c[i]))
                print_error("noise %zu: %.9g on the GPU, %.9g on the CPU\n", i, (double)g[i],
                            (double)c[i]);
            assert_true(fabsf(g[i] - c[i]) <= fabsf(nextafterf(c[i], INFINITY) - c[i]));
            off++;
        }
    }
    printf("noise: %zu of %zu values one ulp off the CPU's\n", off, 3 * n);
    assert_true(off * 1000 < 3 * n);
    free(g);
    free(c);
    cuda->destroy(be);
}

/* FGSD_CUDA_MEMORY_CAP_MIB: allocations beyond the cap fail as out of
 * memory (and say so), memory_available stays within it, and a session
 * under a small cap still denoises a large image, in tiles or on the CPU,
 * with the uncapped result. */
static void test_memory_cap(void **state)
{
    fgsd_model *m = tiny_model();
    fgsd_session *whole = session_on(m, FGSD_BACKEND_CUDA, 0);
    fgsd_session_options o = fgsd_session_options_default();
    fgsd_session *capped = NULL;
    backend *be;
    backend_tensor *t;
    char err[512] = "";
    int w = 640, h = 480, dim = fgsd_model_feature_dim(m);
    size_t n = (size_t)w * (size_t)h * 3;
    float *x = random_floats(n, 0.5f, 21), *a = malloc(n * sizeof(float));
    float *b = malloc(n * sizeof(float)), *phi = malloc((size_t)dim * sizeof(float));

    (void)state;
    assert_true(a && b && phi);
    setenv("FGSD_CUDA_MEMORY_CAP_MIB", "2", 1);
    be = open_backend(cuda, 0, 0);
    assert_true(cuda->memory_available(be) <= (size_t)2 << 20);
    t = cuda->tensor_new(be, 64, 128, 128); /* 4 MiB */
    assert_null(t);
    assert_int_equal(cuda->status(be), FGSD_ERR_NO_MEMORY);
    assert_non_null(strstr(cuda->error(be), "cap"));
    t = cuda->tensor_new(be, 16, 64, 64); /* 256 KiB */
    assert_non_null(t);
    cuda->tensor_free(be, t);
    cuda->destroy(be);

    o.backend = FGSD_BACKEND_CUDA;
    assert_int_equal(fgsd_session_create(m, &o, &capped, err, sizeof(err)), FGSD_OK);
    unsetenv("FGSD_CUDA_MEMORY_CAP_MIB");
    assert_non_null(capped);
    for (size_t i = 0; i < (size_t)dim; i++)
        phi[i] = 0.05f * (float)(i % 5);
    assert_int_equal(denoise_phi(whole, x, w, h, phi, dim, b), FGSD_OK);
    assert_int_equal(denoise_phi(capped, x, w, h, phi, dim, a), FGSD_OK);
    printf("memory cap: backend %s, notice \"%s\"\n", fgsd_session_backend_name(capped),
           fgsd_session_notice(capped));
    assert_int_equal(compare("denoise under a 2 MiB cap", a, b, NULL, n, 1e-4 * max_abs(b, n)),
                     0);
    free(x);
    free(a);
    free(b);
    free(phi);
    fgsd_session_free(whole);
    fgsd_session_free(capped);
    fgsd_model_free(m);
}


/* ---- the sampler's images (issue 24.3) ---------------------------------------- */

static backend_image *image_with(backend *be, int w, int h, const float *hwc)
{
    backend_image *im = NULL;

    assert_int_equal(cuda->image_new(be, w, h, &im), FGSD_OK);
    assert_non_null(im);
    if (hwc)
        assert_int_equal(cuda->image_upload(be, im, hwc), FGSD_OK);
    return im;
}

static void assert_image(backend *be, const backend_image *im, const float *want, size_t n,
                         const char *what)
{
    float *got = malloc(n * sizeof(float));

    assert_non_null(got);
    assert_int_equal(cuda->image_download(be, im, got), FGSD_OK);
    if (memcmp(got, want, n * sizeof(float)))
        print_error("%s: not equal to the host's to the bit (largest difference %.3g)\n", what,
                    (double)max_abs_diff(got, want, n));
    assert_memory_equal(got, want, n * sizeof(float));
    free(got);
}

/* Three images x, d, z of w x h on a backend, random (seeds 81-83; z
 * NULL-filled when no_z) on the device and in host copies, with the
 * host's scratch for add_lowpass. */
typedef struct image_set {
    backend *be;
    int w, h;
    size_t n;
    float *x, *d, *z, *buf;
    double *line;
    backend_image *ix, *id, *iz;
} image_set;

static image_set images_open(int w, int h, int no_z)
{
    image_set s = {.be = open_backend(cuda, 0, 0), .w = w, .h = h,
                   .n = (size_t)w * (size_t)h * 3};
    int side = w > h ? w : h;

    s.x = random_floats(s.n, 0.5f, 81u);
    s.d = random_floats(s.n, 0.5f, 82u);
    s.z = random_floats(s.n, 1.0f, 83u);
    s.buf = malloc((size_t)w * (size_t)h * sizeof(float));
    s.line = malloc((size_t)side * sizeof(double));
    assert_true(s.buf && s.line);
    s.ix = image_with(s.be, w, h, s.x);
    s.id = image_with(s.be, w, h, s.d);
    s.iz = image_with(s.be, w, h, no_z ? NULL : s.z);
    return s;
}

static void images_close(image_set *s)
{
    cuda->image_free(s->be, s->ix);
    cuda->image_free(s->be, s->id);
    cuda->image_free(s->be, s->iz);
    free(s->x);
    free(s->d);
    free(s->z);
    free(s->buf);
    free(s->line);
    cuda->destroy(s->be);
}

/* Each image op against the host's function (image_math.h, canvas.c): equal
 * to the bit, but the residual, whose sum is added in another fixed order
 * (relative 1e-12: 3 x 37 x 29 terms of the same sign in double). */
static void test_image_ops(void **state)
{
    image_set s = images_open(37, 29, 0);
    backend *be = s.be;
    size_t n = s.n;
    float *hy = malloc(n * sizeof(float));
    double ss = 0.0, want;
    const int ks[] = {1, 5, 16, 40}; /* 40: wider than the image */

    (void)state;
    assert_non_null(hy);
    assert_image(be, s.ix, s.x, n, "upload");
    memcpy(hy, s.x, n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        hy[i] = hy[i] + 0.37f * s.z[i];
    assert_int_equal(cuda->image_add_scaled(be, s.ix, 0.37f, s.iz), FGSD_OK);
    assert_image(be, s.ix, hy, n, "add_scaled");
    for (size_t i = 0; i < n; i++)
        hy[i] = sisa_update_value(hy[i], s.d[i], s.z[i], 0.0731, 0.219);
    assert_int_equal(cuda->image_sisa_update(be, s.ix, s.id, s.iz, 0.0731, 0.219), FGSD_OK);
    assert_image(be, s.ix, hy, n, "sisa_update");
    for (size_t k = 0; k < sizeof(ks) / sizeof(ks[0]); k++) {
        /* d <- d + lowpass(x - d), on x's host copy hy as v */
        add_lowpass(hy, 1.0f, hy, s.d, s.w, s.h, ks[k], s.buf, s.line);
        assert_int_equal(cuda->image_add_lowpass(be, s.ix, 1.0f, s.ix, s.id, ks[k]), FGSD_OK);
        assert_image(be, s.ix, hy, n, "add_lowpass(x - d)");
        /* z <- z - lowpass(z) */
        add_lowpass(s.z, -1.0f, s.z, NULL, s.w, s.h, ks[k], s.buf, s.line);
        assert_int_equal(cuda->image_add_lowpass(be, s.iz, -1.0f, s.iz, NULL, ks[k]), FGSD_OK);
        assert_image(be, s.iz, s.z, n, "add_lowpass(z)");
    }
    want = residual_sum(hy, s.d, n);
    assert_int_equal(cuda->image_residual(be, s.ix, s.id, &ss), FGSD_OK);
    printf("residual: %.17g on the GPU, %.17g on the host\n", ss, want);
    assert_true(fabs(ss - want) <= 1e-12 * want);
    assert_int_equal(cuda->image_copy(be, s.ix, s.id), FGSD_OK);
    assert_image(be, s.ix, s.d, n, "copy");
    assert_int_equal(cuda->image_noise(be, s.iz, 99u, 7u), FGSD_OK);
    assert_int_equal(cuda->normal_noise(be, 99u, 7u, n, hy), FGSD_OK);
    assert_image(be, s.iz, hy, n, "noise");
    free(hy);
    images_close(&s);
}

/* A sampler step recorded whole (backend.h step_begin): noise, the two
 * low-passes, the update and the residual, four times with another step
 * number, h and g each time (read from the slab by the graph), against the
 * host's functions: equal to the bit, the residual within 1e-12; run op by
 * op, captured, then launched twice. */
static void test_step_graph(void **state)
{
    image_set s = images_open(40, 24, 1);
    backend *be = s.be;
    size_t n = s.n;
    int k = 9;
    fgsd_cuda_pass_stats ps;

    (void)state;
    /* normal_noise's buffer now: a buffer that grows between steps makes
     * their graph stale (the backend's epoch). */
    assert_int_equal(cuda->normal_noise(be, 5u, 0u, n, s.z), FGSD_OK);
    for (uint32_t t = 1; t <= 4; t++) {
        double hh = 0.02 * t, g = 0.3 / t, ss = -1.0;

        assert_int_equal(cuda->step_begin(be), 1);
        assert_int_equal(cuda->image_noise(be, s.iz, 5u, t), FGSD_OK);
        assert_int_equal(cuda->image_add_lowpass(be, s.iz, -1.0f, s.iz, NULL, k), FGSD_OK);
        assert_int_equal(cuda->image_sisa_update(be, s.ix, s.id, s.iz, hh, g), FGSD_OK);
        assert_int_equal(cuda->image_add_lowpass(be, s.id, 1.0f, s.ix, s.id, k), FGSD_OK);
        assert_int_equal(cuda->image_residual(be, s.ix, s.id, &ss), FGSD_OK);
        assert_int_not_equal(cuda->image_download(be, s.ix, s.z), FGSD_OK); /* not in a step */
        assert_int_equal(cuda->step_end(be), FGSD_OK);
        assert_int_equal(cuda->normal_noise(be, 5u, t, n, s.z), FGSD_OK);
        add_lowpass(s.z, -1.0f, s.z, NULL, s.w, s.h, k, s.buf, s.line);
        for (size_t i = 0; i < n; i++)
            s.x[i] = sisa_update_value(s.x[i], s.d[i], s.z[i], hh, g);
        add_lowpass(s.d, 1.0f, s.x, s.d, s.w, s.h, k, s.buf, s.line);
        assert_image(be, s.iz, s.z, n, "a step's noise");
        assert_image(be, s.ix, s.x, n, "a step's update");
        assert_image(be, s.id, s.d, n, "a step's low-pass");
        assert_true(fabs(ss - residual_sum(s.x, s.d, n)) <= 1e-12 * ss);
    }
    module->pass_stats(be, &ps);
    printf("steps: %lu run, %lu captured, %lu launched\n", ps.steps, ps.captured, ps.launched);
    assert_int_equal(ps.steps, 4);
    assert_int_equal(ps.capture_failed, 0);
    assert_int_equal(ps.captured, 1);
    assert_int_equal(ps.launched, 3);
    images_close(&s);
}

/* window_fill and window_store against canvas_fill and canvas_store, for
 * windows reaching past every edge, mirrored and wrapped, and for a
 * residual and a clean output. */
static void test_windows(void **state)
{
    backend *be = open_backend(cuda, 0, 0);
    int w = 45, h = 31, ww = 64, wh = 48;
    size_t n = (size_t)w * (size_t)h * 3, wn = (size_t)ww * (size_t)wh * 3;
    float *x = random_floats(n, 0.5f, 91u), *out = random_floats(wn, 0.5f, 92u);
    float *got = malloc(wn * sizeof(float)), *clean = calloc(n, sizeof(float));
    backend_image *ix = image_with(be, w, h, x), *ic = image_with(be, w, h, NULL);
    backend_tensor *t = cuda->tensor_new(be, 3, wh, ww);
    const int at[][2] = {{-10, -9}, {-2, 0}, {7, 5}, {-30, -20}};

    (void)state;
    assert_true(got && clean && t);
    assert_int_equal(cuda->image_upload(be, ic, clean), FGSD_OK);
    for (int periodic = 0; periodic < 2; periodic++)
        for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
            int wx = at[k][0], wy = at[k][1];
            backend_window win = {w, h, wx, wy, periodic, 0, 0, 0, 0};
            canvas cv;

            /* The interior: what of the image the window covers, less 3 px. */
            win.ix0 = wx + 3 > 0 ? wx + 3 : 0;
            win.iy0 = wy + 3 > 0 ? wy + 3 : 0;
            win.ix1 = wx + ww - 3 < w ? wx + ww - 3 : w;
            win.iy1 = wy + wh - 3 < h ? wy + wh - 3 : h;
            assert_int_equal(canvas_init_window(&cv, ww, wh, w, h, 3, wx, wy, periodic, 1), 0);
            canvas_fill(&cv, x, 3);
            assert_int_equal(cuda->window_fill(be, t, ix, &win), FGSD_OK);
            assert_int_equal(cuda->download(be, t, got), FGSD_OK);
            assert_memory_equal(got, cv.chw, wn * sizeof(float));
            memcpy(cv.out, out, wn * sizeof(float));
            assert_int_equal(cuda->upload(be, t, out), FGSD_OK);
            for (int residual = 0; residual < 2; residual++) {
                canvas_store(&cv, 3, win.ix0, win.iy0, win.ix1, win.iy1, x, residual, clean);
                assert_int_equal(cuda->window_store(be, t, ix, ic, &win, residual), FGSD_OK);
                assert_image(be, ic, clean, n, "window_store");
            }
            canvas_free(&cv);
        }
    cuda->tensor_free(be, t);
    cuda->image_free(be, ix);
    cuda->image_free(be, ic);
    free(x);
    free(out);
    free(got);
    free(clean);
    cuda->destroy(be);
}

/* The sampler with its images on the GPU (the default) against the same
 * backend with FGSD_CUDA_DEVICE_LOOP=0 (the host loop), with the colour
 * lock, whole and tiled: the same steps, within 1e-5 of the largest value
 * (only the residual's order of summation differs, by an ulp of sigma
 * now and then); the windows were filled from the device images (and
 * none with the switch off), and the passes still ran as graphs. */
static void test_device_loop(void **state)
{
    fgsd_model *m = tiny_model();
    int w = 96, h = 80;
    size_t n = (size_t)w * (size_t)h * 3;
    float *tex = random_floats(64 * 64 * 3, 0.5f, 95u), *a = malloc(n * sizeof(float));
    float *b = malloc(n * sizeof(float));
    fgsd_session *r = session_on(m, FGSD_BACKEND_REFERENCE, 0);
    fgsd_reference *ref = NULL;

    (void)state;
    assert_true(a && b);
    for (size_t i = 0; i < 64 * 64 * 3; i++)
        tex[i] += 0.5f;
    assert_int_equal(fgsd_reference_measure(r, tex, 64, 64, NULL, &ref), FGSD_OK);
    for (int tile = 0; tile <= 64; tile += 64) {
        fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
        fgsd_session *on = session_on(m, FGSD_BACKEND_CUDA, tile), *off;
        fgsd_sample_stats sa, sb;
        fgsd_cuda_pass_stats pa, pb;

        setenv("FGSD_CUDA_DEVICE_LOOP", "0", 1);
        off = session_on(m, FGSD_BACKEND_CUDA, tile);
        unsetenv("FGSD_CUDA_DEVICE_LOOP");
        p.seed = 17;
        p.max_steps = 8;
        p.h0 = 0.001f;
        assert_int_equal(fgsd_synthesize(on, ref, &p, w, h, a, &sa), FGSD_OK);
        assert_int_equal(fgsd_synthesize(off, ref, &p, w, h, b, &sb), FGSD_OK);
        module->pass_stats(on->be, &pa);
        module->pass_stats(off->be, &pb);
        printf("device loop, tile %d: %d steps, %d tiles, %lu windows, %lu recordings, %lu "
               "whole steps, %lu launched; largest difference %.3g of %.3g\n",
               tile, sa.steps, sa.tiles, pa.windows, pa.deferred, pa.steps, pa.launched,
               (double)max_abs_diff(a, b, n), (double)max_abs(b, n));
        assert_int_equal(sa.steps, sb.steps);
        assert_int_equal(compare("device loop", a, b, NULL, n, 1e-5 * max_abs(b, n)), 0);
        assert_true(pa.windows >= (unsigned long)(sa.steps * sa.tiles));
        assert_int_equal(pb.windows, 0);
        /* Whole: each update and the estimate after it one step, replayed
         * as a graph; tiled: no steps (the staged means come back), and
         * more windows than kept graphs. */
        assert_int_equal(pa.steps, tile ? 0 : (unsigned long)(sa.steps - 1));
        if (!tile)
            assert_true(pa.launched >= pa.steps - 1);
        assert_string_equal(fgsd_session_notice(on), "");
        fgsd_session_free(on);
        fgsd_session_free(off);
    }
    fgsd_reference_free(ref);
    fgsd_session_free(r);
    free(tex);
    free(a);
    free(b);
    fgsd_model_free(m);
}

/* ---- no device: the documented fallback, then skip ------------------------------------- */

static int check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "FAILED", what);
    return ok ? 0 : 1;
}

static int no_device_checks(void)
{
    char err[512] = "";
    fgsd_model *m = test_tiny_model_load(7, err, sizeof(err));
    fgsd_session *s = NULL;
    fgsd_session_options o = fgsd_session_options_default();
    int bad = 0;

    if (!m)
        return check(0, "tiny model");
    o.backend = FGSD_BACKEND_CUDA;
    bad += check(fgsd_session_create(m, &o, &s, err, sizeof(err)) == FGSD_OK,
                 "CUDA request without a device gives a session");
    if (s) {
        printf("notice: %s\n", fgsd_session_notice(s));
        bad += check(strstr(fgsd_session_notice(s), "CUDA backend unavailable") != NULL,
                     "... with a notice naming the reason");
        bad += check(strcmp(fgsd_session_backend_name(s), "cuda-cudnn") != 0, "... on the CPU");
        fgsd_session_free(s);
        s = NULL;
    }
    o.cuda_strict = 1;
    bad += check(fgsd_session_create(m, &o, &s, err, sizeof(err)) == FGSD_ERR_BACKEND && !s,
                 "cuda_strict fails with FGSD_ERR_BACKEND");
    printf("error: %s\n", err);
    o.backend = FGSD_BACKEND_AUTO;
    o.cuda_strict = 0;
    bad += check(fgsd_session_create(m, &o, &s, err, sizeof(err)) == FGSD_OK && s &&
                     fgsd_session_notice(s)[0] == '\0',
                 "AUTO on a machine without a GPU: the CPU, silently");
    fgsd_session_free(s);
    fgsd_model_free(m);
    return bad;
}

int main(void)
{
    const char *path = getenv("FGSD_CUDA_MODULE");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upload_download), cmocka_unit_test(test_exact_ops),
        cmocka_unit_test(test_channel_sums),    cmocka_unit_test(test_mask_generations),
        cmocka_unit_test(test_shape_errors),    cmocka_unit_test(test_conv3x3),
        cmocka_unit_test(test_convt2x2),
        cmocka_unit_test(test_network),         cmocka_unit_test(test_sampler),
        cmocka_unit_test(test_noise),           cmocka_unit_test(test_memory_cap),
        cmocka_unit_test(test_pass_graphs),     cmocka_unit_test(test_bf16),
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_image_ops),       cmocka_unit_test(test_windows),
        cmocka_unit_test(test_step_graph),      cmocka_unit_test(test_device_loop),
    };
    const fgsd_cuda_module *mod;
    fgsd_cuda_entry_fn entry;
    char err[512] = "";
    backend *be = NULL;
    backend_config cfg = {0, 0, 0};
    void *h;
    int devices;

    if (!path || !*path) {
        printf("SKIP: no CUDA module in this build (configure with -Dcuda=enabled)\n");
        return 77;
    }
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        printf("SKIP: the CUDA module does not load: %s\n", dlerror());
        return 77;
    }
    *(void **)&entry = dlsym(h, FGSD_CUDA_ENTRY);
    mod = entry ? entry(FGSD_CUDA_ABI) : NULL;
    if (!mod || mod->ops_size != sizeof(backend_ops)) {
        printf("FAIL: %s does not match this build (ABI %d)\n", path, FGSD_CUDA_ABI);
        return 1;
    }
    devices = mod->probe(err, sizeof(err));
    if (devices <= 0) {
        if (no_device_checks())
            return 1;
        printf("SKIP: no CUDA device: %s\n", err);
        return 77;
    }
    cuda = mod->ops;
    module = mod;
    if (cuda->create(&cfg, &be, err, sizeof(err)) != FGSD_OK) {
        printf("FAIL: %d CUDA device(s), but the backend does not start: %s\n", devices, err);
        return 1;
    }
    cuda->destroy(be);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
