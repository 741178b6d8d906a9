/* SPDX-License-Identifier: GPL-3.0-or-later
 * The graph runner keeps the mask pyramid (and its totals) while the passes
 * bring the same mask (issue 24: a sampler run's passes all do), and builds
 * it again the moment the mask changes, in place or by pointer, or the
 * canvas does: every output equals a fresh runner's to the bit.
 *
 * And the deferred pass (backend.h pass_begin, what the CUDA backend runs
 * as one CUDA graph): on a backend that takes passes deferred, every op
 * recorded and run only at pass_end, the runner's outputs, sums and weights
 * equal the immediate path's to the bit, it reads no sums or downloads
 * before pass_end, and a failed op still ends the pass.  A pass over a
 * window of a backend's image (backend.h window_fill, window_store: the
 * sampler's images on a GPU) records its fill and store with the rest and
 * stores what the immediate path stores. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend.h"
#include "host_images.h"
#include "model.h"
#include "op_check.h"
#include "tiny_model.h"
#include "unet.h"

typedef struct fixture {
    fgsd_model *model;
    backend *be;
    int dim;
    float *phi;
} fixture;

static int setup(void **state)
{
    char err[256];
    fixture *f = calloc(1, sizeof(*f));

    if (!f || !(f->model = test_tiny_model_load(3, err, sizeof(err))))
        return -1;
    f->be = open_backend(&backend_ref_ops, 1, 1);
    f->dim = fgsd_model_feature_dim(f->model);
    f->phi = random_floats((size_t)f->dim, 0.5f, 5u);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    backend_ref_ops.destroy(f->be);
    fgsd_model_free(f->model);
    free(f->phi);
    free(f);
    return 0;
}

/* One pass of net over x (w x h) with mask (NULL: none): its output. */
static float *pass_of(unet *net, const fixture *f, const float *x, const float *mask, int w,
                      int h)
{
    char err[256];
    float *out = malloc(numel(3, h, w) * sizeof(float));
    unet_pass p = {.input = x, .width = w, .height = h, .mask = mask, .phi_ref = f->phi,
                   .out = out};

    assert_non_null(out);
    assert_int_equal(unet_run(net, &p, err, sizeof(err)), FGSD_OK);
    return out;
}

/* The same pass on a runner made for it alone. */
static float *fresh_pass(const fixture *f, const float *x, const float *mask, int w, int h)
{
    char err[256];
    unet *net = NULL;
    float *out;

    assert_int_equal(unet_create(f->model, &backend_ref_ops, f->be, &net, err, sizeof(err)),
                     FGSD_OK);
    out = pass_of(net, f, x, mask, w, h);
    unet_free(net);
    return out;
}

static float *mask_of(size_t n, uint64_t seed)
{
    float *m = random_floats(n, 0.5f, seed);

    for (size_t i = 0; i < n; i++)
        m[i] += 0.5f; /* [0, 1) */
    return m;
}

static void assert_same(float *got, float *want, size_t n)
{
    assert_memory_equal(got, want, n * sizeof(float));
    free(got);
    free(want);
}

static void test_mask_pyramid_kept(void **state)
{
    const fixture *f = *state;
    char err[256];
    unet *net = NULL;
    int w = 32, h = 24;
    size_t n = numel(3, h, w), np = (size_t)w * (size_t)h;
    float *x = random_floats(n, 0.5f, 7u), *a = mask_of(np, 8u), *b = mask_of(np, 9u);
    float *b_copy = malloc(np * sizeof(float)), *x2 = random_floats(numel(3, 16, 16), 0.5f, 10u);

    assert_non_null(b_copy);
    memcpy(b_copy, b, np * sizeof(float));
    assert_int_equal(unet_create(f->model, &backend_ref_ops, f->be, &net, err, sizeof(err)),
                     FGSD_OK);
    assert_same(pass_of(net, f, x, a, w, h), fresh_pass(f, x, a, w, h), n);
    assert_int_equal(unet_mask_builds(net), 1);
    /* The same mask again, then an equal copy at another address: kept. */
    free(pass_of(net, f, x, a, w, h));
    assert_int_equal(unet_mask_builds(net), 1);
    assert_same(pass_of(net, f, x, b, w, h), fresh_pass(f, x, b, w, h), n);
    assert_int_equal(unet_mask_builds(net), 2);
    assert_same(pass_of(net, f, x, b_copy, w, h), fresh_pass(f, x, b, w, h), n);
    assert_int_equal(unet_mask_builds(net), 2);
    /* Changed in place (one pixel): built again. */
    b[np / 2] = 1.0f - b[np / 2];
    assert_same(pass_of(net, f, x, b, w, h), fresh_pass(f, x, b, w, h), n);
    assert_int_equal(unet_mask_builds(net), 3);
    /* No mask, twice; then a mask of ones, which is not "no mask". */
    assert_same(pass_of(net, f, x, NULL, w, h), fresh_pass(f, x, NULL, w, h), n);
    free(pass_of(net, f, x, NULL, w, h));
    assert_int_equal(unet_mask_builds(net), 4);
    for (size_t i = 0; i < np; i++)
        a[i] = 1.0f;
    assert_same(pass_of(net, f, x, a, w, h), fresh_pass(f, x, NULL, w, h), n);
    assert_int_equal(unet_mask_builds(net), 5);
    /* Another canvas size: built for it. */
    assert_same(pass_of(net, f, x2, NULL, 16, 16), fresh_pass(f, x2, NULL, 16, 16),
                numel(3, 16, 16));
    assert_int_equal(unet_mask_builds(net), 6);
    unet_free(net);
    free(x);
    free(x2);
    free(a);
    free(b);
    free(b_copy);
}

/* ---- a backend that defers every pass, on the reference backend ---- */

enum { REC_UPLOAD, REC_CONV, REC_POOL, REC_CONCAT, REC_PROJECT, REC_DOWNLOAD, REC_FILL,
       REC_STORE };

typedef struct rec_op {
    int kind;
    const backend_conv *conv;
    const backend_tensor *a, *b;
    backend_tensor *t;
    const float *src, *weights, *gain, *phi, *means;
    float *dst;
    uint64_t gen;
    double total;
    double *sums;
    const backend_image *img; /* REC_FILL, REC_STORE */
    backend_image *clean;
    backend_window win;
    int residual;
} rec_op;

static struct {
    rec_op op[256];
    int n, in_pass, passes, fail_at; /* fail_at: record index whose op fails, -1 none */
} rec;

static backend_ops deferring_ops;

static fgsd_status d_tensor_view(backend *be, backend_tensor *parent, int c0, int c,
                                 backend_tensor **out)
{
    fgsd_status st = backend_ref_ops.tensor_view(be, parent, c0, c, out);

    if (*out)
        shape_view(*out, parent, c);
    return st;
}

static int d_pass_begin(backend *be)
{
    (void)be;
    assert_false(rec.in_pass);
    rec.in_pass = 1;
    rec.n = 0;
    return 1;
}

static fgsd_status record(const rec_op *op)
{
    assert_true(rec.in_pass);
    assert_true(rec.n < (int)(sizeof(rec.op) / sizeof(rec.op[0])));
    rec.op[rec.n] = *op;
    return rec.n++ == rec.fail_at ? FGSD_ERR_BACKEND : FGSD_OK;
}

static fgsd_status d_upload(backend *be, backend_tensor *t, const float *chw)
{
    (void)be;
    return record(&(rec_op){.kind = REC_UPLOAD, .t = t, .src = chw});
}

static fgsd_status d_conv(backend *be, const backend_conv *c, const backend_tensor *in,
                          backend_tensor *out)
{
    (void)be;
    return record(&(rec_op){.kind = REC_CONV, .conv = c, .a = in, .t = out});
}

static fgsd_status d_pool(backend *be, const backend_tensor *in, backend_tensor *out)
{
    (void)be;
    return record(&(rec_op){.kind = REC_POOL, .a = in, .t = out});
}

static fgsd_status d_concat(backend *be, const backend_tensor *a, const backend_tensor *b,
                            backend_tensor *out)
{
    (void)be;
    return record(&(rec_op){.kind = REC_CONCAT, .a = a, .b = b, .t = out});
}

/* The host ops cannot run in a deferred pass. */
static fgsd_status d_channel_sums(backend *be, const backend_tensor *t, const float *w,
                                  uint64_t gen, int x0, int y0, int x1, int y1, double *sums)
{
    assert_false(rec.in_pass);
    return backend_ref_ops.channel_sums(be, t, w, gen, x0, y0, x1, y1, sums);
}

static fgsd_status d_add_channel(backend *be, backend_tensor *t, const float *offsets)
{
    assert_false(rec.in_pass);
    return backend_ref_ops.add_channel(be, t, offsets);
}

/* Results reach the host at pass_end: until then they hold NaN. */
static fgsd_status d_project(backend *be, backend_tensor *t, const float *weights, uint64_t gen,
                             double total, const float *gain, const float *phi,
                             const float *means, double *sums)
{
    (void)be;
    for (int c = 0; sums && c < shape_of(t)->c; c++)
        sums[c] = NAN;
    return record(&(rec_op){.kind = REC_PROJECT, .t = t, .weights = weights, .gen = gen,
                            .total = total, .gain = gain, .phi = phi, .means = means,
                            .sums = sums});
}

static fgsd_status d_download(backend *be, const backend_tensor *t, float *chw)
{
    const tensor_shape *sh = shape_of(t);

    (void)be;
    for (size_t i = 0; i < numel(sh->c, sh->h, sh->w); i++)
        chw[i] = NAN;
    return record(&(rec_op){.kind = REC_DOWNLOAD, .a = t, .dst = chw});
}

static fgsd_status d_window_fill(backend *be, backend_tensor *t, const backend_image *x,
                                 const backend_window *win)
{
    (void)be;
    return record(&(rec_op){.kind = REC_FILL, .t = t, .img = x, .win = *win});
}

static fgsd_status d_window_store(backend *be, const backend_tensor *t, const backend_image *x,
                                  backend_image *clean, const backend_window *win, int residual)
{
    (void)be;
    return record(&(rec_op){.kind = REC_STORE, .a = t, .img = x, .clean = clean, .win = *win,
                            .residual = residual});
}

/* backend.h channel_project's arithmetic, on the reference backend. */
static fgsd_status run_project(backend *be, const rec_op *op)
{
    const tensor_shape *t = shape_of(op->t);
    double sums[256];
    float offsets[256];
    fgsd_status st;

    assert_true(t->c <= 256);
    st = backend_ref_ops.channel_sums(be, op->t, op->weights, op->gen, 0, 0, t->w, t->h, sums);
    if (st)
        return st;
    if (op->sums)
        memcpy(op->sums, sums, (size_t)t->c * sizeof(double));
    if (!op->phi)
        return FGSD_OK;
    for (int c = 0; c < t->c; c++) {
        double mean = op->means ? op->means[c] : (op->total > 0.0 ? sums[c] / op->total : 0.0);
        double g = op->gain ? op->gain[c] : 1.0;
        offsets[c] = (float)(g * (op->phi[c] - mean));
    }
    return backend_ref_ops.add_channel(be, op->t, offsets);
}

static fgsd_status d_pass_end(backend *be)
{
    fgsd_status st = FGSD_OK;

    assert_true(rec.in_pass);
    rec.in_pass = 0;
    rec.passes++;
    for (int i = 0; i < rec.n && !st && i != rec.fail_at; i++) {
        const rec_op *op = &rec.op[i];
        switch (op->kind) {
        case REC_UPLOAD: st = backend_ref_ops.upload(be, op->t, op->src); break;
        case REC_CONV: st = backend_ref_ops.conv(be, op->conv, op->a, op->t); break;
        case REC_POOL: st = backend_ref_ops.avgpool2(be, op->a, op->t); break;
        case REC_CONCAT: st = backend_ref_ops.concat(be, op->a, op->b, op->t); break;
        case REC_PROJECT: st = run_project(be, op); break;
        case REC_FILL: st = host_window_fill(be, op->t, op->img, &op->win); break;
        case REC_STORE:
            st = host_window_store(be, op->a, op->img, op->clean, &op->win, op->residual);
            break;
        default: st = backend_ref_ops.download(be, op->a, op->dst); break;
        }
    }
    return st;
}

static const backend_ops *deferring(void)
{
    deferring_ops = backend_ref_ops;
    deferring_ops.tensor_new = shape_tensor_new;
    deferring_ops.tensor_view = d_tensor_view;
    deferring_ops.upload = d_upload;
    deferring_ops.conv = d_conv;
    deferring_ops.avgpool2 = d_pool;
    deferring_ops.concat = d_concat;
    deferring_ops.channel_sums = d_channel_sums;
    deferring_ops.add_channel = d_add_channel;
    deferring_ops.download = d_download;
    deferring_ops.pass_begin = d_pass_begin;
    deferring_ops.pass_end = d_pass_end;
    deferring_ops.channel_project = d_project;
    deferring_ops.window_fill = d_window_fill;
    deferring_ops.window_store = d_window_store;
    rec.fail_at = -1;
    return &deferring_ops;
}

/* One pass of each runner: out (when a whole pass), sums and weights equal. */
static void assert_same_pass(unet *imm, unet *def, unet_pass p, int dim)
{
    char err[256];
    size_t n = numel(3, p.height, p.width);
    float *out_i = calloc(n, sizeof(float)), *out_d = calloc(n, sizeof(float));
    double *s_i = calloc((size_t)dim, sizeof(double)), *s_d = calloc((size_t)dim, sizeof(double));
    double *w_i = calloc((size_t)dim, sizeof(double)), *w_d = calloc((size_t)dim, sizeof(double));
    int passes = rec.passes;

    assert_true(out_i && out_d && s_i && s_d && w_i && w_d);
    p.out = out_i;
    p.sums = s_i;
    p.weights = w_i;
    assert_int_equal(unet_run(imm, &p, err, sizeof(err)), FGSD_OK);
    p.out = out_d;
    p.sums = s_d;
    p.weights = w_d;
    assert_int_equal(unet_run(def, &p, err, sizeof(err)), FGSD_OK);
    assert_int_equal(rec.passes, passes + 1);
    assert_memory_equal(out_i, out_d, n * sizeof(float));
    assert_memory_equal(s_i, s_d, (size_t)dim * sizeof(double));
    assert_memory_equal(w_i, w_d, (size_t)dim * sizeof(double));
    free(out_i);
    free(out_d);
    free(s_i);
    free(s_d);
    free(w_i);
    free(w_d);
}

static void test_deferred_pass(void **state)
{
    const fixture *f = *state;
    const backend_ops *dops = deferring();
    char err[256];
    unet *imm = NULL, *def = NULL;
    int w = 32, h = 24;
    size_t n = numel(3, h, w), np = (size_t)w * (size_t)h;
    float *x = random_floats(n, 0.5f, 11u), *x2 = random_floats(n, 0.5f, 12u);
    float *mask = mask_of(np, 13u), *means = random_floats((size_t)f->dim, 0.3f, 14u);
    unet_pass p = {.input = x, .width = w, .height = h, .mask = mask, .phi_ref = f->phi};

    assert_int_equal(unet_create(f->model, &backend_ref_ops, f->be, &imm, err, sizeof(err)),
                     FGSD_OK);
    assert_int_equal(unet_create(f->model, dops, f->be, &def, err, sizeof(err)), FGSD_OK);
    /* A whole pass, twice with another input (a sampler's steps). */
    assert_same_pass(imm, def, p, f->dim);
    p.input = x2;
    assert_same_pass(imm, def, p, f->dim);
    /* A reference's features (no projection, sums only). */
    p.phi_ref = NULL;
    p.features_only = 1;
    assert_same_pass(imm, def, p, f->dim);
    /* A tiled pass's stage: fixed means, the first blocks, no mask. */
    p.phi_ref = f->phi;
    p.features_only = 0;
    p.fixed_means = means;
    p.blocks = 3;
    p.mask = NULL;
    assert_same_pass(imm, def, p, f->dim);
    /* Whole, with fixed means. */
    p.blocks = 0;
    assert_same_pass(imm, def, p, f->dim);
    /* A failing op (the fifth recorded): its status comes back, the pass
     * is ended, and the next pass runs. */
    rec.fail_at = 4;
    p.out = calloc(n, sizeof(float));
    assert_non_null(p.out);
    assert_int_equal(unet_run(def, &p, err, sizeof(err)), FGSD_ERR_BACKEND);
    assert_false(rec.in_pass);
    free(p.out);
    p.out = NULL;
    rec.fail_at = -1;
    assert_same_pass(imm, def, p, f->dim);
    unet_free(imm);
    unet_free(def);
    free(x);
    free(x2);
    free(mask);
    free(means);
}

/* A pass over a window of an image (the sampler's images on a backend that
 * keeps them): the deferred pass records the fill first and the store
 * last, and stores the immediate path's interior to the bit, mirrored and
 * wrapped. */
static void test_deferred_windows(void **state)
{
    const fixture *f = *state;
    const backend_ops *dops = deferring();
    backend_ops iops = backend_ref_ops;
    char err[256];
    unet *imm = NULL, *def = NULL;
    int iw = 45, ih = 37, w = 64, h = 48;
    size_t n = (size_t)iw * (size_t)ih * 3;
    float *x = random_floats(n, 0.5f, 31u), *mask = mask_of((size_t)w * (size_t)h, 32u);
    backend_image *img = host_image_new(iw, ih, x);
    backend_image *ci = host_image_new(iw, ih, NULL), *cd = host_image_new(iw, ih, NULL);

    assert_true(img && ci && cd);
    iops.tensor_new = shape_tensor_new;
    iops.window_fill = host_window_fill;
    iops.window_store = host_window_store;
    assert_int_equal(unet_create(f->model, &iops, f->be, &imm, err, sizeof(err)), FGSD_OK);
    assert_int_equal(unet_create(f->model, dops, f->be, &def, err, sizeof(err)), FGSD_OK);
    for (int periodic = 0; periodic < 2; periodic++) {
        unet_pass p = {.input_image = img, .out_image = ci, .width = w, .height = h,
                       .mask = mask, .phi_ref = f->phi};

        p.window = (backend_window){iw, ih, -8, -6, periodic, 0, 0, iw, ih};
        memset(ci->p, 0, n * sizeof(float));
        memset(cd->p, 0, n * sizeof(float));
        assert_int_equal(unet_run(imm, &p, err, sizeof(err)), FGSD_OK);
        p.out_image = cd;
        assert_int_equal(unet_run(def, &p, err, sizeof(err)), FGSD_OK);
        assert_int_equal(rec.op[0].kind, REC_FILL);
        assert_int_equal(rec.op[rec.n - 1].kind, REC_STORE);
        assert_true(max_abs(ci->p, n) > 0.0);
        assert_memory_equal(ci->p, cd->p, n * sizeof(float));
    }
    unet_free(imm);
    unet_free(def);
    host_image_free(img);
    host_image_free(ci);
    host_image_free(cd);
    free(x);
    free(mask);
}

/* The decoder's concatenation written in place (backend.h tensor_view: the
 * up-convolution and the encoder write cat's two halves) against the copy
 * of a backend without views: every output equal to the bit. */
static void test_concat_views(void **state)
{
    const fixture *f = *state;
    backend_ops copying = backend_ref_ops;
    char err[256];
    unet *viewed = NULL, *copied = NULL;
    int w = 40, h = 32;
    size_t n = numel(3, h, w);
    float *x = random_floats(n, 0.5f, 21u), *mask = mask_of((size_t)w * (size_t)h, 22u);

    copying.tensor_view = NULL;
    assert_int_equal(unet_create(f->model, &backend_ref_ops, f->be, &viewed, err, sizeof(err)),
                     FGSD_OK);
    assert_int_equal(unet_create(f->model, &copying, f->be, &copied, err, sizeof(err)), FGSD_OK);
    assert_same(pass_of(viewed, f, x, mask, w, h), pass_of(copied, f, x, mask, w, h), n);
    assert_same(pass_of(viewed, f, x, NULL, w, h), pass_of(copied, f, x, NULL, w, h), n);
    unet_free(viewed);
    unet_free(copied);
    free(x);
    free(mask);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_pyramid_kept),
        cmocka_unit_test(test_deferred_pass),
        cmocka_unit_test(test_deferred_windows),
        cmocka_unit_test(test_concat_views),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
