/* SPDX-License-Identifier: GPL-3.0-or-later
 * The "ops" suite (style.md section 8): every op of every backend against the
 * reference backend on random inputs, and the reference backend itself on
 * small cases computed by hand, so the oracle is checked too. */
#include "backend.h"
#include "op_check.h"

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

#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef FGSD_HAVE_ONEDNN
#include "onednn_layout.h"
#endif

/* ---- the backends under test -------------------------------------------- */

typedef struct backend_case {
    const backend_ops *ops;
    int threads;
    int deterministic;
} backend_case;

/* The reference backend is in the table too: comparing it with itself checks
 * the harness.  oneDNN runs with 1 and 2 threads, as work splitting depends
 * on the thread count, and once in deterministic mode. */
static const backend_case BACKENDS[] = {
    {&backend_ref_ops, 0, 0},
#ifdef FGSD_HAVE_ONEDNN
    {&backend_onednn_ops, 1, 0},
    {&backend_onednn_ops, 2, 0},
    {&backend_onednn_ops, 2, 1},
#endif
};
#define N_BACKENDS ((int)(sizeof(BACKENDS) / sizeof(BACKENDS[0])))

static backend *open_case(const backend_case *bc)
{
    return open_backend(bc->ops, bc->threads, bc->deterministic);
}

/* ---- data ------------------------------------------------------------------ */

/* splitmix64: a fixed, portable random source, so failures reproduce. */
/* ---- the reference backend on hand-computed cases --------------------------- */

static void expect_exact(const float *got, const float *want, size_t n)
{
    assert_int_equal(compare("reference", got, want, NULL, n, 0.0), 0);
}

/* 4x4 image 1..16 row by row, and a constant second channel. */
static const float IMAGE_4X4[2 * 16] = {
    1, 2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
    1, 1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
};

/* Out 0: all-ones kernel on channel 0 (sums of 3x3 neighbourhoods, zero
 * padded) plus 10 x channel 1 at the centre, bias 0.5.  Out 1: a single tap at
 * (ky, kx) = (0, 2), so out(y, x) = in(y - 1, x + 1) (cross-correlation, as
 * PyTorch), bias -5. */
static void hand_conv3x3_weights(float *w, float *bias)
{
    memset(w, 0, 2 * 2 * 9 * sizeof(float));
    for (int k = 0; k < 9; k++)
        w[(0 * 2 + 0) * 9 + k] = 1.0f;
    w[(0 * 2 + 1) * 9 + 4] = 10.0f;
    w[(1 * 2 + 0) * 9 + 0 * 3 + 2] = 1.0f;
    bias[0] = 0.5f;
    bias[1] = -5.0f;
}

static void run_hand_conv3x3(int relu, const float *want)
{
    const backend_ops *ops = &backend_ref_ops;
    backend *be = open_backend(ops, 0, 0);
    float w[36], bias[2];
    model_conv mc = {2, 2, 3, 0, w, bias};
    backend_conv *cv;
    backend_tensor *in, *out;
    float *got;

    hand_conv3x3_weights(w, bias);
    cv = ops->conv_prepare(be, &mc, relu);
    assert_non_null(cv);
    in = tensor_with(ops, be, 2, 4, 4, IMAGE_4X4);
    out = tensor_with(ops, be, 2, 4, 4, NULL);
    assert_int_equal(ops->conv(be, cv, in, out), FGSD_OK);
    got = download(ops, be, out, 2, 4, 4);
    expect_exact(got, want, 32);
    free(got);
    ops->tensor_free(be, in);
    ops->tensor_free(be, out);
    ops->conv_free(be, cv);
    ops->destroy(be);
}

static void test_ref_conv3x3_hand(void **state)
{
    /* Neighbourhood sums of 1..16 + 10 + 0.5; shifted image - 5 (0 - 5 where
     * the tap falls in the padding). */
    static const float want[32] = {
        24.5, 34.5, 40.5, 32.5, 43.5, 64.5, 73.5, 55.5,
        67.5, 100.5, 109.5, 79.5, 56.5, 82.5, 88.5, 64.5,
        -5, -5, -5, -5, -3, -2, -1, -5,
        1, 2, 3, -5, 5, 6, 7, -5,
    };
    static const float want_relu[32] = {
        24.5, 34.5, 40.5, 32.5, 43.5, 64.5, 73.5, 55.5,
        67.5, 100.5, 109.5, 79.5, 56.5, 82.5, 88.5, 64.5,
        0, 0, 0, 0, 0, 0, 0, 0,
        1, 2, 3, 0, 5, 6, 7, 0,
    };

    (void)state;
    run_hand_conv3x3(0, want);
    run_hand_conv3x3(1, want_relu);
}

static void test_ref_convt2x2_hand(void **state)
{
    const backend_ops *ops = &backend_ref_ops;
    backend *be = open_backend(ops, 0, 0);
    /* in: channel 0 = [[1, 2], [3, 4]], channel 1 = ones. */
    static const float in_data[8] = {1, 2, 3, 4, 1, 1, 1, 1};
    /* [cin][cout][2][2]: (0,0) = [[1,2],[3,4]], (0,1) = [[0,1],[0,0]],
     * (1,0) = [[10,0],[0,0]], (1,1) = 0. */
    float w[16] = {1, 2, 3, 4, 0, 1, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0};
    float bias[2] = {0, 0.25f};
    model_conv mc = {2, 2, 2, 1, w, bias};
    /* Each input pixel v paints v * kernel on its 2x2 output patch. */
    static const float want[32] = {
        11, 2, 12, 4, 3, 4, 6, 8, 13, 6, 14, 8, 9, 12, 12, 16,
        0.25, 1.25, 0.25, 2.25, 0.25, 0.25, 0.25, 0.25,
        0.25, 3.25, 0.25, 4.25, 0.25, 0.25, 0.25, 0.25,
    };
    backend_conv *cv = ops->conv_prepare(be, &mc, 0);
    backend_tensor *in = tensor_with(ops, be, 2, 2, 2, in_data);
    backend_tensor *out = tensor_with(ops, be, 2, 4, 4, NULL);
    float *got;

    (void)state;
    assert_non_null(cv);
    assert_int_equal(ops->conv(be, cv, in, out), FGSD_OK);
    got = download(ops, be, out, 2, 4, 4);
    expect_exact(got, want, 32);
    free(got);
    ops->tensor_free(be, in);
    ops->tensor_free(be, out);
    ops->conv_free(be, cv);
    ops->destroy(be);
}

static void test_ref_pool_hand(void **state)
{
    const backend_ops *ops = &backend_ref_ops;
    backend *be = open_backend(ops, 0, 0);
    static const float want[8] = {3.5, 5.5, 11.5, 13.5, 1, 1, 1, 1};
    backend_tensor *in = tensor_with(ops, be, 2, 4, 4, IMAGE_4X4);
    backend_tensor *out = tensor_with(ops, be, 2, 2, 2, NULL);
    float *got;

    (void)state;
    assert_int_equal(ops->avgpool2(be, in, out), FGSD_OK);
    got = download(ops, be, out, 2, 2, 2);
    expect_exact(got, want, 8);
    free(got);
    ops->tensor_free(be, in);
    ops->tensor_free(be, out);
    ops->destroy(be);
}

static void test_ref_concat_hand(void **state)
{
    const backend_ops *ops = &backend_ref_ops;
    backend *be = open_backend(ops, 0, 0);
    static const float a_data[4] = {1, 2, 3, 4};
    static const float b_data[8] = {5, 6, 7, 8, 9, 10, 11, 12};
    static const float want[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    backend_tensor *a = tensor_with(ops, be, 1, 2, 2, a_data);
    backend_tensor *b = tensor_with(ops, be, 2, 2, 2, b_data);
    backend_tensor *out = tensor_with(ops, be, 3, 2, 2, NULL);
    float *got;

    (void)state;
    assert_int_equal(ops->concat(be, a, b, out), FGSD_OK);
    got = download(ops, be, out, 3, 2, 2);
    expect_exact(got, want, 12);
    free(got);
    ops->tensor_free(be, a);
    ops->tensor_free(be, b);
    ops->tensor_free(be, out);
    ops->destroy(be);
}

static void test_ref_channel_sums_hand(void **state)
{
    const backend_ops *ops = &backend_ref_ops;
    backend *be = open_backend(ops, 0, 0);
    float data[2 * 12], weights[12];
    double sums[2];
    backend_tensor *t;

    (void)state;
    /* 3 rows x 4 columns: channel 0 = 4y + x, channel 1 = 1; weight x + 1. */
    for (int y = 0; y < 3; y++) {
        for (int x = 0; x < 4; x++) {
            data[y * 4 + x] = (float)(4 * y + x);
            data[12 + y * 4 + x] = 1.0f;
            weights[y * 4 + x] = (float)(x + 1);
        }
    }
    t = tensor_with(ops, be, 2, 3, 4, data);
    /* Rectangle x in [1, 3), y in [1, 3): values 5 6 / 9 10, weights 2 3 / 2 3. */
    assert_int_equal(ops->channel_sums(be, t, weights, 0, 1, 1, 3, 3, sums), FGSD_OK);
    assert_true(sums[0] == 5 * 2 + 6 * 3 + 9 * 2 + 10 * 3);
    assert_true(sums[1] == 2 + 3 + 2 + 3);
    assert_int_equal(ops->channel_sums(be, t, NULL, 0, 1, 1, 3, 3, sums), FGSD_OK);
    assert_true(sums[0] == 5 + 6 + 9 + 10);
    assert_true(sums[1] == 4);
    /* The whole tensor: 0 + 1 + ... + 11. */
    assert_int_equal(ops->channel_sums(be, t, NULL, 0, 0, 0, 4, 3, sums), FGSD_OK);
    assert_true(sums[0] == 66);
    assert_true(sums[1] == 12);
    /* An empty rectangle sums to zero; one outside the tensor is refused. */
    assert_int_equal(ops->channel_sums(be, t, weights, 0, 2, 2, 2, 3, sums), FGSD_OK);
    assert_true(sums[0] == 0 && sums[1] == 0);
    assert_int_not_equal(ops->channel_sums(be, t, NULL, 0, 0, 0, 5, 3, sums), FGSD_OK);
    ops->tensor_free(be, t);
    ops->destroy(be);
}

static void test_ref_add_channel_hand(void **state)
{
    const backend_ops *ops = &backend_ref_ops;
    backend *be = open_backend(ops, 0, 0);
    static const float data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const float offsets[2] = {1, -2};
    static const float want[8] = {2, 3, 4, 5, 3, 4, 5, 6};
    backend_tensor *t = tensor_with(ops, be, 2, 2, 2, data);
    float *got;

    (void)state;
    assert_int_equal(ops->add_channel(be, t, offsets), FGSD_OK);
    got = download(ops, be, t, 2, 2, 2);
    expect_exact(got, want, 8);
    free(got);
    ops->tensor_free(be, t);
    ops->destroy(be);
}

/* ---- every backend against the reference ------------------------------------ */

/* Square, non-square and odd sizes (33x17 is not a multiple of any block). */
static const size2 SIZES[] = {{8, 8}, {10, 6}, {33, 17}};
#define N_SIZES ((int)(sizeof(SIZES) / sizeof(SIZES[0])))

/* Channel counts that are multiples of 16 and that are not (3, 5, 24: padded
 * blocks, planar tensors). */
static const int CHANNELS[] = {3, 5, 16, 24, 64};
#define N_CHANNELS ((int)(sizeof(CHANNELS) / sizeof(CHANNELS[0])))

static const conv_shape CONV3_SHAPES[] = {{3, 16}, {5, 24}, {16, 16}, {24, 5}, {64, 64},
                                          {16, 3}, {3, 5}, {24, 16}, {32, 24}};
static const conv_shape CONVT_SHAPES[] = {{16, 8}, {24, 5}, {64, 32}, {5, 3}, {32, 16}};

/* Conv tolerance: op_check.h, conv_check (the fp32 error bound of a sum of
 * n = cin*k*k + 1 terms, Higham section 3.1). */
static int conv_case(const backend_case *bc, const conv_shape *sh, int transposed, int bias,
                     int relu, uint64_t seed)
{
    backend *be = open_case(bc);
    char label[96];
    int bad;

    snprintf(label, sizeof(label), "%s/%d threads%s", bc->ops->name, bc->threads,
             bc->deterministic ? " deterministic" : "");
    bad = conv_check(bc->ops, be, label, bc->deterministic, sh, SIZES, N_SIZES, transposed, bias,
                     relu, seed);
    bc->ops->destroy(be);
    return bad;
}

/* Every case runs before the verdict, so one failure shows the whole pattern. */
static void conv_all(const conv_shape *shapes, int n_shapes, int transposed)
{
    int bad = 0;

    for (int i = 0; i < N_BACKENDS; i++)
        for (int s = 0; s < n_shapes; s++)
            for (int flags = 0; flags < 4; flags++)
                bad += conv_case(&BACKENDS[i], &shapes[s], transposed, flags & 1, flags >> 1,
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

/* Pool tolerance: a mean of 4 fp32 values, rounded at most 4 times on either
 * side: 8 u S with S the mean of the |values|; we allow 8 FLT_EPSILON S. */
static void test_avgpool2(void **state)
{
    static const size2 even[] = {{8, 8}, {10, 6}, {34, 18}};

    (void)state;
    for (int i = 0; i < N_BACKENDS; i++) {
        const backend_ops *ops = BACKENDS[i].ops, *ref = &backend_ref_ops;
        backend *be = open_case(&BACKENDS[i]), *rb = open_backend(ref, 0, 0);

        for (int ci = 0; ci < N_CHANNELS; ci++) {
            for (int s = 0; s < 3; s++) {
                int c = CHANNELS[ci], h = even[s].h, w = even[s].w;
                size_t nin = numel(c, h, w), nout = numel(c, h / 2, w / 2);
                float *x = random_floats(nin, 1.0f, 77u + (uint64_t)(ci * 3 + s));
                float *ax = abs_copy(x, nin);
                backend_tensor *in = tensor_with(ops, be, c, h, w, x);
                backend_tensor *out = tensor_with(ops, be, c, h / 2, w / 2, NULL);
                backend_tensor *rin = tensor_with(ref, rb, c, h, w, x);
                backend_tensor *rain = tensor_with(ref, rb, c, h, w, ax);
                backend_tensor *rout = tensor_with(ref, rb, c, h / 2, w / 2, NULL);
                backend_tensor *raout = tensor_with(ref, rb, c, h / 2, w / 2, NULL);
                float *got, *want, *mag;
                char what[96];

                snprintf(what, sizeof(what), "%s: avgpool2 c=%d at %dx%d", ops->name, c, h, w);
                assert_int_equal(ops->avgpool2(be, in, out), FGSD_OK);
                assert_int_equal(ref->avgpool2(rb, rin, rout), FGSD_OK);
                assert_int_equal(ref->avgpool2(rb, rain, raout), FGSD_OK);
                got = download(ops, be, out, c, h / 2, w / 2);
                want = download(ref, rb, rout, c, h / 2, w / 2);
                mag = download(ref, rb, raout, c, h / 2, w / 2);
                assert_int_equal(compare(what, got, want, mag, nout, 8.0 * FLT_EPSILON), 0);
                free(got);
                free(want);
                free(mag);
                free(x);
                free(ax);
                ops->tensor_free(be, in);
                ops->tensor_free(be, out);
                ref->tensor_free(rb, rin);
                ref->tensor_free(rb, rain);
                ref->tensor_free(rb, rout);
                ref->tensor_free(rb, raout);
            }
        }
        ops->destroy(be);
        ref->destroy(rb);
    }
}

/* Concatenation, upload and download move values: exact. */
static void test_concat(void **state)
{
    static const conv_shape pairs[] = {{3, 5}, {16, 16}, {5, 16}, {16, 24}, {24, 24}, {64, 64}};

    (void)state;
    for (int i = 0; i < N_BACKENDS; i++) {
        const backend_ops *ops = BACKENDS[i].ops;
        backend *be = open_case(&BACKENDS[i]);

        for (int p = 0; p < (int)(sizeof(pairs) / sizeof(pairs[0])); p++) {
            for (int s = 0; s < N_SIZES; s++) {
                int ca = pairs[p].cin, cb = pairs[p].cout, h = SIZES[s].h, w = SIZES[s].w;
                size_t na = numel(ca, h, w), nb = numel(cb, h, w);
                float *a = random_floats(na, 1.0f, 5u + (uint64_t)p);
                float *b = random_floats(nb, 1.0f, 50u + (uint64_t)p);
                float *want = malloc((na + nb) * sizeof(float)), *got;
                backend_tensor *ta = tensor_with(ops, be, ca, h, w, a);
                backend_tensor *tb = tensor_with(ops, be, cb, h, w, b);
                backend_tensor *out = tensor_with(ops, be, ca + cb, h, w, NULL);
                char what[96];

                assert_non_null(want);
                memcpy(want, a, na * sizeof(float));
                memcpy(want + na, b, nb * sizeof(float));
                snprintf(what, sizeof(what), "%s: concat %d+%d at %dx%d", ops->name, ca, cb, h,
                         w);
                assert_int_equal(ops->concat(be, ta, tb, out), FGSD_OK);
                got = download(ops, be, out, ca + cb, h, w);
                assert_int_equal(compare(what, got, want, NULL, na + nb, 0.0), 0);
                free(got);
                free(want);
                free(a);
                free(b);
                ops->tensor_free(be, ta);
                ops->tensor_free(be, tb);
                ops->tensor_free(be, out);
            }
        }
        ops->destroy(be);
    }
}

/* tensor_view (backend.h): channels [c0, c0 + c) of a parent as a tensor of
 * their own.  Where a backend gives them (the planar reference always;
 * oneDNN in its blocked layouts, for whole blocks, not in NHWC), uploading
 * a and b into the two halves of a 2c parent makes the parent their
 * concatenation, and the views read back what went in. */
static void test_tensor_view(void **state)
{
    static const int halves[] = {16, 32, 5};

    (void)state;
    for (int i = 0; i < N_BACKENDS; i++) {
        const backend_ops *ops = BACKENDS[i].ops;
        backend *be = open_case(&BACKENDS[i]);

        assert_non_null(ops->tensor_view);
        for (int k = 0; k < 3; k++) {
            int c = halves[k], h = 9, w = 13;
            size_t n = numel(c, h, w);
            float *a = random_floats(n, 1.0f, 70u + (uint64_t)k);
            float *b = random_floats(n, 1.0f, 80u + (uint64_t)k);
            float *want = malloc(2 * n * sizeof(float)), *got;
            backend_tensor *cat = tensor_with(ops, be, 2 * c, h, w, NULL);
            backend_tensor *va = NULL, *vb = NULL;

            assert_non_null(want);
            assert_int_equal(ops->tensor_view(be, cat, 0, c, &va), FGSD_OK);
            assert_int_equal(ops->tensor_view(be, cat, c, c, &vb), FGSD_OK);
            if (ops == &backend_ref_ops) {
                assert_non_null(va);
                assert_non_null(vb);
            }
            if (va && vb) {
                memcpy(want, a, n * sizeof(float));
                memcpy(want + n, b, n * sizeof(float));
                assert_int_equal(ops->upload(be, va, a), FGSD_OK);
                assert_int_equal(ops->upload(be, vb, b), FGSD_OK);
                got = download(ops, be, cat, 2 * c, h, w);
                assert_int_equal(compare(ops->name, got, want, NULL, 2 * n, 0.0), 0);
                free(got);
                got = download(ops, be, vb, c, h, w);
                assert_int_equal(compare(ops->name, got, b, NULL, n, 0.0), 0);
                free(got);
            }
            ops->tensor_free(be, va);
            ops->tensor_free(be, vb);
            ops->tensor_free(be, cat);
            free(a);
            free(b);
            free(want);
        }
        ops->destroy(be);
    }
}

static void test_upload_download(void **state)
{
    (void)state;
    for (int i = 0; i < N_BACKENDS; i++) {
        const backend_ops *ops = BACKENDS[i].ops;
        backend *be = open_case(&BACKENDS[i]);

        for (int ci = 0; ci < N_CHANNELS; ci++) {
            for (int s = 0; s < N_SIZES; s++) {
                int c = CHANNELS[ci], h = SIZES[s].h, w = SIZES[s].w;
                size_t n = numel(c, h, w);
                float *x = random_floats(n, 3.0f, 9u + (uint64_t)ci);
                backend_tensor *t = tensor_with(ops, be, c, h, w, x);
                float *got = download(ops, be, t, c, h, w);
                float *zero = calloc(n, sizeof(float));
                backend_tensor *fresh = tensor_with(ops, be, c, h, w, NULL);
                float *got0 = download(ops, be, fresh, c, h, w);

                assert_non_null(zero);
                assert_int_equal(compare(ops->name, got, x, NULL, n, 0.0), 0);
                /* New tensors read as zeros, as the reference's do. */
                assert_int_equal(compare(ops->name, got0, zero, NULL, n, 0.0), 0);
                free(got);
                free(got0);
                free(zero);
                free(x);
                ops->tensor_free(be, t);
                ops->tensor_free(be, fresh);
            }
        }
        ops->destroy(be);
    }
}

/* More shapes than a backend may keep primitives for (the oneDNN backend
 * starts its cache afresh at 512 entries): results stay right. */
static void test_many_shapes(void **state)
{
    (void)state;
    for (int i = 0; i < N_BACKENDS; i++) {
        const backend_ops *ops = BACKENDS[i].ops;
        backend *be = open_case(&BACKENDS[i]);

        for (int k = 0; k < 600; k++) {
            int h = 1 + k % 40, w = 1 + k / 40;
            size_t n = numel(16, h, w);
            float *x = random_floats(n, 1.0f, (uint64_t)k);
            backend_tensor *t = tensor_with(ops, be, 16, h, w, x);
            float *got = download(ops, be, t, 16, h, w);

            assert_int_equal(compare(ops->name, got, x, NULL, n, 0.0), 0);
            free(got);
            free(x);
            ops->tensor_free(be, t);
        }
        ops->destroy(be);
    }
}

/* Channel sums are double sums of up to H*W products, in any order:
 * |error| <= n * DBL_EPSILON * S with S the sum of |terms|. */
static void test_channel_sums(void **state)
{
    typedef struct rect {
        int x0, y0, x1, y1; /* -1: the tensor's width or height */
    } rect;
    static const rect rects[] = {{0, 0, -1, -1}, {1, 2, 5, 6}, {0, 3, -1, 4}, {2, 2, 2, 5}};

    (void)state;
    for (int i = 0; i < N_BACKENDS; i++) {
        const backend_ops *ops = BACKENDS[i].ops, *ref = &backend_ref_ops;
        backend *be = open_case(&BACKENDS[i]), *rb = open_backend(ref, 0, 0);

        for (int ci = 0; ci < N_CHANNELS; ci++) {
            for (int s = 0; s < N_SIZES; s++) {
                int c = CHANNELS[ci], h = SIZES[s].h, w = SIZES[s].w;
                float *x = random_floats(numel(c, h, w), 1.0f, 31u + (uint64_t)ci);
                float *wt = random_floats(numel(1, h, w), 1.0f, 32u + (uint64_t)s);
                backend_tensor *t = tensor_with(ops, be, c, h, w, x);
                backend_tensor *rt = tensor_with(ref, rb, c, h, w, x);
                double *got = malloc((size_t)c * sizeof(double));
                double *want = malloc((size_t)c * sizeof(double));

                assert_non_null(got);
                assert_non_null(want);
                for (int r = 0; r < (int)(sizeof(rects) / sizeof(rects[0])); r++) {
                    int x0 = rects[r].x0, y0 = rects[r].y0;
                    int x1 = rects[r].x1 < 0 ? w : rects[r].x1;
                    int y1 = rects[r].y1 < 0 ? h : rects[r].y1;
                    double n = (double)(x1 - x0) * (y1 - y0);

                    for (int weighted = 0; weighted < 2; weighted++) {
                        const float *ww = weighted ? wt : NULL;

                        assert_int_equal(ops->channel_sums(be, t, ww, 0, x0, y0, x1, y1, got),
                                         FGSD_OK);
                        assert_int_equal(ref->channel_sums(rb, rt, ww, 0, x0, y0, x1, y1, want),
                                         FGSD_OK);
                        for (int k = 0; k < c; k++) {
                            /* |x|, |w| <= 1, so S <= n. */
                            if (!(fabs(got[k] - want[k]) <= n * n * DBL_EPSILON)) {
                                print_error("%s: channel_sums c=%d at %dx%d rect %d: [%d] "
                                            "%.17g vs %.17g\n",
                                            ops->name, c, h, w, r, k, got[k], want[k]);
                                fail();
                            }
                        }
                    }
                }
                free(got);
                free(want);
                free(x);
                free(wt);
                ops->tensor_free(be, t);
                ref->tensor_free(rb, rt);
            }
        }
        ops->destroy(be);
        ref->destroy(rb);
    }
}

/* One fp32 addition per element on both sides: exact. */
static void test_add_channel(void **state)
{
    (void)state;
    for (int i = 0; i < N_BACKENDS; i++) {
        const backend_ops *ops = BACKENDS[i].ops;
        backend *be = open_case(&BACKENDS[i]);

        for (int ci = 0; ci < N_CHANNELS; ci++) {
            for (int s = 0; s < N_SIZES; s++) {
                int c = CHANNELS[ci], h = SIZES[s].h, w = SIZES[s].w;
                size_t n = numel(c, h, w), plane = numel(1, h, w);
                float *x = random_floats(n, 1.0f, 41u + (uint64_t)ci);
                float *off = random_floats((size_t)c, 1.0f, 42u + (uint64_t)s);
                float *want = malloc(n * sizeof(float)), *got;
                backend_tensor *t = tensor_with(ops, be, c, h, w, x);

                assert_non_null(want);
                for (size_t j = 0; j < n; j++)
                    want[j] = x[j] + off[j / plane];
                assert_int_equal(ops->add_channel(be, t, off), FGSD_OK);
                got = download(ops, be, t, c, h, w);
                assert_int_equal(compare(ops->name, got, want, NULL, n, 0.0), 0);
                free(got);
                free(want);
                free(x);
                free(off);
                ops->tensor_free(be, t);
            }
        }
        ops->destroy(be);
    }
}

/* A chain as the UNet runs it, on channel counts that are not multiples of a
 * block, so ops read what other ops wrote in the backend's own layout
 * (padding included): conv+ReLU, offsets, pool, transposed conv, pool,
 * transposed conv, concat [up, skip], conv.  This checks plumbing, not
 * accuracy (each op has its own bound above): a layout or padding mistake
 * shows as an error of the order of the values, so the bound is 1e-4 of the
 * largest output. */
static void chain_run(const backend_case *bc, float *const w[4], const float *x, const float *off,
                      float **res)
{
    const backend_ops *o = bc->ops;
    enum { C0 = 5, C1 = 24, C2 = 40, H = 12, W = 10 };
    model_conv m1 = {C0, C1, 3, 0, w[0], NULL}, mp = {C1, C2, 2, 1, w[1], NULL};
    model_conv mu = {C2, C1, 2, 1, w[2], NULL}, m2 = {2 * C1, C0, 3, 0, w[3], NULL};
    backend *be = open_case(bc);
    backend_conv *c1 = o->conv_prepare(be, &m1, 1), *cp = o->conv_prepare(be, &mp, 1);
    backend_conv *cu = o->conv_prepare(be, &mu, 0), *c2 = o->conv_prepare(be, &m2, 0);
    backend_tensor *t0 = tensor_with(o, be, C0, H, W, x);
    backend_tensor *skip = tensor_with(o, be, C1, H, W, NULL);
    backend_tensor *p1 = tensor_with(o, be, C1, H / 2, W / 2, NULL);
    backend_tensor *q = tensor_with(o, be, C2, H, W, NULL);
    backend_tensor *p2 = tensor_with(o, be, C2, H / 2, W / 2, NULL);
    backend_tensor *up = tensor_with(o, be, C1, H, W, NULL);
    backend_tensor *cat = tensor_with(o, be, 2 * C1, H, W, NULL);
    backend_tensor *out = tensor_with(o, be, C0, H, W, NULL);

    assert_true(c1 && cp && cu && c2);
    assert_int_equal(o->conv(be, c1, t0, skip), FGSD_OK);
    assert_int_equal(o->add_channel(be, skip, off), FGSD_OK);
    assert_int_equal(o->avgpool2(be, skip, p1), FGSD_OK);
    assert_int_equal(o->conv(be, cp, p1, q), FGSD_OK);
    assert_int_equal(o->avgpool2(be, q, p2), FGSD_OK);
    assert_int_equal(o->conv(be, cu, p2, up), FGSD_OK);
    assert_int_equal(o->concat(be, up, skip, cat), FGSD_OK);
    assert_int_equal(o->conv(be, c2, cat, out), FGSD_OK);
    *res = download(o, be, out, C0, H, W);
    o->tensor_free(be, t0);
    o->tensor_free(be, skip);
    o->tensor_free(be, p1);
    o->tensor_free(be, q);
    o->tensor_free(be, p2);
    o->tensor_free(be, up);
    o->tensor_free(be, cat);
    o->tensor_free(be, out);
    o->conv_free(be, c1);
    o->conv_free(be, cp);
    o->conv_free(be, cu);
    o->conv_free(be, c2);
    o->destroy(be);
}

static void test_chain(void **state)
{
    size_t n = numel(5, 12, 10);
    float *x = random_floats(n, 1.0f, 3);
    float *w[4] = {random_floats(5 * 24 * 9, 0.3f, 4), random_floats(24 * 40 * 4, 0.3f, 5),
                   random_floats(40 * 24 * 4, 0.3f, 6), random_floats(48 * 5 * 9, 0.3f, 7)};
    float *off = random_floats(24, 0.5f, 8);
    float *want, *got, big = 0.0f;

    (void)state;
    chain_run(&BACKENDS[0], w, x, off, &want);
    for (size_t j = 0; j < n; j++)
        big = fmaxf(big, fabsf(want[j]));
    assert_true(big > 0.1f);
    for (int i = 0; i < N_BACKENDS; i++) {
        chain_run(&BACKENDS[i], w, x, off, &got);
        assert_int_equal(compare(BACKENDS[i].ops->name, got, want, NULL, n, 1e-4 * (double)big),
                         0);
        free(got);
    }
    free(want);
    free(x);
    for (int k = 0; k < 4; k++)
        free(w[k]);
    free(off);
}

/* Ops check shapes and report errors, not crash. */
static void test_shape_errors(void **state)
{
    (void)state;
    for (int i = 0; i < N_BACKENDS; i++) {
        const backend_ops *ops = BACKENDS[i].ops;
        backend *be = open_case(&BACKENDS[i]);
        float w[16 * 3 * 9] = {0};
        model_conv mc = {3, 16, 3, 0, w, NULL};
        backend_conv *cv = ops->conv_prepare(be, &mc, 1);
        backend_tensor *a = tensor_with(ops, be, 3, 8, 8, NULL);
        backend_tensor *b = tensor_with(ops, be, 16, 8, 6, NULL);
        double sums[16];

        assert_non_null(cv);
        assert_int_not_equal(ops->conv(be, cv, a, b), FGSD_OK);
        assert_true(ops->error(be)[0] != '\0');
        assert_int_not_equal(ops->avgpool2(be, a, b), FGSD_OK);
        assert_int_not_equal(ops->concat(be, a, b, b), FGSD_OK);
        assert_int_not_equal(ops->channel_sums(be, b, NULL, 0, 0, 0, 7, 8, sums), FGSD_OK);
        ops->tensor_free(be, a);
        ops->tensor_free(be, b);
        ops->conv_free(be, cv);
        ops->destroy(be);
    }
}

/* The oneDNN backend sets the OpenMP thread count only around its own calls:
 * the caller's setting is the same afterwards. */
static void test_threads_restored(void **state)
{
#if defined(FGSD_HAVE_ONEDNN) && defined(_OPENMP)
    const backend_ops *ops = &backend_onednn_ops;
    backend *be;
    float w[16 * 16 * 9] = {0};
    model_conv mc = {16, 16, 3, 0, w, NULL};
    backend_conv *cv;
    backend_tensor *a, *b;

    (void)state;
    omp_set_num_threads(3);
    be = open_backend(ops, 1, 0);
    cv = ops->conv_prepare(be, &mc, 0);
    assert_non_null(cv);
    a = tensor_with(ops, be, 16, 8, 8, NULL);
    b = tensor_with(ops, be, 16, 8, 8, NULL);
    assert_int_equal(ops->conv(be, cv, a, b), FGSD_OK);
    assert_int_equal(omp_get_max_threads(), 3);
    ops->tensor_free(be, a);
    ops->tensor_free(be, b);
    ops->conv_free(be, cv);
    ops->destroy(be);
#else
    (void)state;
    skip();
#endif
}

#ifdef FGSD_HAVE_ONEDNN
/* Writes the plain [o][i][3][3] weights w into a zeroed buffer of layout tag
 * with onednn_layout (the oneDNN backend's own weight conversion). */
static float *to_layout(const float *w, const onednn_layout *pl, int o, int i,
                        dnnl_format_tag_t tag, onednn_layout *l, size_t *n)
{
    dnnl_dims_t dims = {o, i, 3, 3};
    dnnl_memory_desc_t md;
    float *buf;

    assert_int_equal(dnnl_memory_desc_create_with_tag(&md, 4, dims, dnnl_f32, tag), dnnl_success);
    assert_int_equal(onednn_layout_get(md, l), 0);
    *n = dnnl_memory_desc_get_size(md) / sizeof(float);
    buf = calloc(*n, sizeof(float));
    assert_non_null(buf);
    onednn_layout_copy4(pl, w, l, buf);
    dnnl_memory_desc_destroy(md);
    return buf;
}
#endif

/* The backend converts weights itself (oneDNN 3.7.2's reorder misplaces
 * weights with a channel tail): check the offsets against the blocked
 * formula written out by hand, and that converting through one blocked
 * layout into another equals converting directly. */
static void test_onednn_layout(void **state)
{
#ifdef FGSD_HAVE_ONEDNN
    static const conv_shape shapes[] = {{32, 32}, {5, 24}, {24, 5}, {3, 16}, {40, 17}};

    (void)state;
    for (int s = 0; s < (int)(sizeof(shapes) / sizeof(shapes[0])); s++) {
        int o = shapes[s].cout, i = shapes[s].cin, ob = (o + 15) / 16, ib = (i + 15) / 16;
        dnnl_dims_t dims = {o, i, 3, 3};
        dnnl_memory_desc_t pmd;
        onednn_layout pl, lx, ly, lz;
        float *w = random_floats((size_t)o * (size_t)i * 9, 1.0f, 99u + (uint64_t)s);
        float *x, *y, *z;
        size_t nx, ny, nz;

        assert_int_equal(dnnl_memory_desc_create_with_tag(&pmd, 4, dims, dnnl_f32, dnnl_oihw),
                         dnnl_success);
        assert_int_equal(onednn_layout_get(pmd, &pl), 0);
        x = to_layout(w, &pl, o, i, dnnl_ABcd16b16a, &lx, &nx);
        assert_int_equal(nx, (size_t)ob * (size_t)ib * 9 * 256);
        for (int a = 0; a < ob * 16; a++)
            for (int b = 0; b < ib * 16; b++)
                for (int k = 0; k < 9; k++) {
                    size_t off = ((((size_t)(a / 16) * (size_t)ib + (size_t)(b / 16)) * 9 +
                                   (size_t)k) * 16 + (size_t)(b % 16)) * 16 + (size_t)(a % 16);
                    float want = (a < o && b < i) ? w[((size_t)a * (size_t)i + (size_t)b) * 9 +
                                                      (size_t)k]
                                                  : 0.0f;

                    assert_true(x[off] == want);
                }
        /* ABcd16b16a -> Acdb16a must equal oihw -> Acdb16a. */
        y = to_layout(w, &pl, o, i, dnnl_Acdb16a, &ly, &ny);
        z = calloc(ny, sizeof(float));
        assert_non_null(z);
        onednn_layout_copy4(&lx, x, &ly, z);
        assert_memory_equal(y, z, ny * sizeof(float));
        free(z);
        /* And the deconvolution weights' BAcd16b16a, back to oihw. */
        free(y);
        y = to_layout(w, &pl, o, i, dnnl_BAcd16b16a, &lz, &nz);
        z = calloc((size_t)o * (size_t)i * 9, sizeof(float));
        assert_non_null(z);
        onednn_layout_copy4(&lz, y, &pl, z);
        assert_memory_equal(w, z, (size_t)o * (size_t)i * 9 * sizeof(float));
        free(x);
        free(y);
        free(z);
        free(w);
        dnnl_memory_desc_destroy(pmd);
    }
#else
    (void)state;
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ref_conv3x3_hand),
        cmocka_unit_test(test_ref_convt2x2_hand),
        cmocka_unit_test(test_ref_pool_hand),
        cmocka_unit_test(test_ref_concat_hand),
        cmocka_unit_test(test_ref_channel_sums_hand),
        cmocka_unit_test(test_ref_add_channel_hand),
        cmocka_unit_test(test_tensor_view), cmocka_unit_test(test_upload_download),
        cmocka_unit_test(test_many_shapes),
        cmocka_unit_test(test_conv3x3),
        cmocka_unit_test(test_convt2x2),
        cmocka_unit_test(test_avgpool2),
        cmocka_unit_test(test_concat),
        cmocka_unit_test(test_channel_sums),
        cmocka_unit_test(test_add_channel),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_shape_errors),
        cmocka_unit_test(test_threads_restored),
        cmocka_unit_test(test_onednn_layout),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
