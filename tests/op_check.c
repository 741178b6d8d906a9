/* SPDX-License-Identifier: GPL-3.0-or-later
 * Helpers of the op suites (op_check.h). */
#include "op_check.h"

#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

backend *open_backend(const backend_ops *ops, int threads, int deterministic)
{
    backend_config cfg = {threads, deterministic, 0};
    char err[256] = "";
    backend *be = NULL;

    if (ops->create(&cfg, &be, err, sizeof(err)) != FGSD_OK)
        print_error("%s: %s\n", ops->name, err);
    assert_non_null(be);
    return be;
}

uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

float *random_floats(size_t n, float scale, uint64_t seed)
{
    float *v = malloc((n ? n : 1) * sizeof(float));

    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = scale * (float)((double)(next_random(&seed) >> 11) * 0x1.0p-52 - 1.0);
    return v;
}

float *abs_copy(const float *v, size_t n)
{
    float *a = malloc((n ? n : 1) * sizeof(float));

    assert_non_null(a);
    for (size_t i = 0; i < n; i++)
        a[i] = fabsf(v[i]);
    return a;
}

size_t numel(int c, int h, int w)
{
    return (size_t)c * (size_t)h * (size_t)w;
}

double max_abs(const float *v, size_t n)
{
    double m = 0.0;

    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)v[i]));
    return m;
}

double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0.0;

    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - (double)b[i]));
    return m;
}

backend_tensor *tensor_with(const backend_ops *ops, backend *be, int c, int h, int w,
                            const float *chw)
{
    backend_tensor *t = ops->tensor_new(be, c, h, w);

    if (!t)
        print_error("%s: tensor_new: %s\n", ops->name, ops->error(be));
    assert_non_null(t);
    if (chw)
        assert_int_equal(ops->upload(be, t, chw), FGSD_OK);
    return t;
}

float *download(const backend_ops *ops, backend *be, const backend_tensor *t, int c, int h, int w)
{
    float *v = malloc(numel(c, h, w) * sizeof(float));

    assert_non_null(v);
    if (ops->download(be, t, v) != FGSD_OK) {
        print_error("%s: download: %s\n", ops->name, ops->error(be));
        fail();
    }
    return v;
}

int compare(const char *what, const float *got, const float *want, const float *scale, size_t n,
            double tol)
{
    int bad = 0;

    for (size_t i = 0; i < n; i++) {
        double s = scale ? scale[i] : 1.0;
        double d = fabs((double)got[i] - (double)want[i]);

        if (!(d <= tol * s)) {
            if (bad < 5)
                print_error("%s: [%zu] got %.9g want %.9g (|diff| %.3g > %.3g)\n", what, i,
                            (double)got[i], (double)want[i], d, tol * s);
            bad++;
        }
    }
    return bad;
}

int conv_check(const backend_ops *ops, backend *be, const char *label, int deterministic,
               const conv_shape *sh, const size2 *sizes, int n_sizes, int transposed, int bias,
               int relu, uint64_t seed)
{
    const backend_ops *ref = &backend_ref_ops;
    int k = transposed ? 2 : 3, scale = transposed ? 2 : 1;
    size_t nw = (size_t)sh->cin * (size_t)sh->cout * (size_t)(k * k);
    float *w = random_floats(nw, 1.0f, seed);
    float *b = random_floats((size_t)sh->cout, 1.0f, seed + 1);
    float *aw = abs_copy(w, nw), *ab = abs_copy(b, (size_t)sh->cout);
    model_conv mc = {sh->cin, sh->cout, k, transposed, w, bias ? b : NULL};
    model_conv amc = {sh->cin, sh->cout, k, transposed, aw, bias ? ab : NULL};
    backend *rb = open_backend(ref, 0, 0);
    backend_conv *cv = ops->conv_prepare(be, &mc, relu);
    backend_conv *rcv = ref->conv_prepare(rb, &mc, relu);
    backend_conv *acv = ref->conv_prepare(rb, &amc, 0);
    double n_terms = (double)sh->cin * k * k + 1.0;
    int bad = 0;

    if (!cv)
        print_error("%s: conv_prepare: %s\n", label, ops->error(be));
    assert_non_null(cv);
    assert_non_null(rcv);
    assert_non_null(acv);
    /* One prepared conv at every size: plans per size, weights shared. */
    for (int s = 0; s < n_sizes; s++) {
        int h = sizes[s].h, wd = sizes[s].w, oh = h * scale, ow = wd * scale;
        size_t nin = numel(sh->cin, h, wd), nout = numel(sh->cout, oh, ow);
        float *x = random_floats(nin, 1.0f, seed + 2 + (uint64_t)s);
        float *ax = abs_copy(x, nin);
        backend_tensor *in = tensor_with(ops, be, sh->cin, h, wd, x);
        backend_tensor *out = tensor_with(ops, be, sh->cout, oh, ow, NULL);
        backend_tensor *rin = tensor_with(ref, rb, sh->cin, h, wd, x);
        backend_tensor *rain = tensor_with(ref, rb, sh->cin, h, wd, ax);
        backend_tensor *rout = tensor_with(ref, rb, sh->cout, oh, ow, NULL);
        backend_tensor *raout = tensor_with(ref, rb, sh->cout, oh, ow, NULL);
        float *got, *want, *mag, *first = NULL;
        char what[200];

        snprintf(what, sizeof(what), "%s: %s %d->%d at %dx%d%s%s", label,
                 transposed ? "convT2x2" : "conv3x3", sh->cin, sh->cout, h, wd,
                 bias ? " +bias" : "", relu ? " +relu" : "");
        /* Twice: the second run takes the cached plan, and in deterministic
         * mode must give the same bits. */
        for (int rep = 0; rep < 2; rep++) {
            fgsd_status st = ops->conv(be, cv, in, out);

            if (st != FGSD_OK)
                print_error("%s: %s\n", what, ops->error(be));
            assert_int_equal(st, FGSD_OK);
            if (rep == 0)
                first = download(ops, be, out, sh->cout, oh, ow);
        }
        assert_int_equal(ref->conv(rb, rcv, rin, rout), FGSD_OK);
        assert_int_equal(ref->conv(rb, acv, rain, raout), FGSD_OK);
        got = download(ops, be, out, sh->cout, oh, ow);
        if (deterministic)
            assert_memory_equal(first, got, nout * sizeof(float));
        want = download(ref, rb, rout, sh->cout, oh, ow);
        mag = download(ref, rb, raout, sh->cout, oh, ow);
        bad += compare(what, got, want, mag, nout, (n_terms + 2.0) * FLT_EPSILON);
        free(first);
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
    ops->conv_free(be, cv);
    ref->conv_free(rb, rcv);
    ref->conv_free(rb, acv);
    ref->destroy(rb);
    free(w);
    free(b);
    free(aw);
    free(ab);
    return bad;
}

/* Newest last; the oldest are overwritten once the table is full (their
 * tensors long freed in the tests that use it). */
static tensor_shape shapes[4096];
static int n_shapes;

static void shape_note(const backend_tensor *t, int c, int h, int w)
{
    if (n_shapes == (int)(sizeof(shapes) / sizeof(shapes[0])))
        n_shapes = 0;
    shapes[n_shapes++] = (tensor_shape){t, c, h, w};
}

backend_tensor *shape_tensor_new(backend *be, int c, int h, int w)
{
    backend_tensor *t = backend_ref_ops.tensor_new(be, c, h, w);

    if (t)
        shape_note(t, c, h, w);
    return t;
}

void shape_view(const backend_tensor *view, const backend_tensor *parent, int c)
{
    const tensor_shape *p = shape_of(parent);

    shape_note(view, c, p->h, p->w);
}

const tensor_shape *shape_of(const backend_tensor *t)
{
    for (int i = n_shapes - 1; i >= 0; i--)
        if (shapes[i].t == t)
            return &shapes[i];
    fail_msg("a tensor the wrapper did not make");
    return NULL;
}
