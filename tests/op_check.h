/* SPDX-License-Identifier: GPL-3.0-or-later
 * Helpers of the op suites (test_ops.c, test_cuda.c): seeded random inputs,
 * tensors in and out of a backend, and the element-wise comparison with a
 * per-element tolerance.  They fail the running cmocka test on errors. */
#ifndef FGSD_TEST_OP_CHECK_H
#define FGSD_TEST_OP_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

typedef struct size2 {
    int h, w;
} size2;

typedef struct conv_shape {
    int cin, cout;
} conv_shape;

/* A backend of ops with cfg {threads, deterministic}; fails the test if it
 * cannot be created. */
backend *open_backend(const backend_ops *ops, int threads, int deterministic);

/* splitmix64 step: the tests' own input generator (not the engine's). */
uint64_t next_random(uint64_t *state);

/* n floats uniform in [-scale, scale) from seed (malloc'd). */
float *random_floats(size_t n, float scale, uint64_t seed);

/* |v| element-wise (malloc'd): a per-element scale for compare. */
float *abs_copy(const float *v, size_t n);

size_t numel(int c, int h, int w);

/* Largest |v[i]|, and largest |a[i] - b[i]|, over n values. */
double max_abs(const float *v, size_t n);
double max_abs_diff(const float *a, const float *b, size_t n);

/* A c x h x w tensor of be, filled from chw when not NULL. */
backend_tensor *tensor_with(const backend_ops *ops, backend *be, int c, int h, int w,
                            const float *chw);

/* The tensor's values (malloc'd). */
float *download(const backend_ops *ops, backend *be, const backend_tensor *t, int c, int h,
                int w);

/* The shapes of the tensors a test's wrapper backend made over the
 * reference backend (backend_tensor is opaque): tensor_new through
 * shape_tensor_new notes each (newest first; a freed address may come
 * back), shape_view a view of parent's channels, shape_of finds one (and
 * fails the test for a tensor never noted). */
typedef struct tensor_shape {
    const backend_tensor *t;
    int c, h, w;
} tensor_shape;
backend_tensor *shape_tensor_new(backend *be, int c, int h, int w);
void shape_view(const backend_tensor *view, const backend_tensor *parent, int c);
const tensor_shape *shape_of(const backend_tensor *t);

/* Counts the elements where |got - want| > tol * scale[i] (scale NULL: 1),
 * and prints the first few. */
int compare(const char *what, const float *got, const float *want, const float *scale, size_t n,
            double tol);

/* One conv (3x3, or 2x2 stride-2 transposed) of shape sh with random
 * weights (bias and ReLU as asked), prepared once on be (of ops) and run
 * twice at each of sizes, against the reference backend.  Tolerance: each
 * output sums n = cin*k*k products and the bias; fp32 in any order is within
 * (n + 2) u S of the reference, which sums in double (Higham, 2nd ed.,
 * section 3.1), S the sum of the |terms| (the reference conv of |w|, |b|,
 * |x|); allowed: (n + 2) FLT_EPSILON S, twice the worst case, while a wrong
 * tap, channel or layout errs by about S.  deterministic: the two runs must
 * give the same bits.  label names the backend in messages.  Returns the
 * number of elements out of bounds. */
int conv_check(const backend_ops *ops, backend *be, const char *label, int deterministic,
               const conv_shape *sh, const size2 *sizes, int n_sizes, int transposed, int bias,
               int relu, uint64_t seed);

#endif
