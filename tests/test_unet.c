/* SPDX-License-Identifier: GPL-3.0-or-later
 * The graph runner keeps the mask pyramid (and its totals) while the passes
 * bring the same mask (issue 24: a sampler run's passes all do), and builds
 * it again the moment the mask changes, in place or by pointer, or the
 * canvas does: every output equals a fresh runner's to the bit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_pyramid_kept),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
