/* SPDX-License-Identifier: GPL-3.0-or-later
 * Helpers of the op suites (test_ops.c, test_cuda.c): seeded random inputs,
 * tensors in and out of a backend, and the element-wise comparison with a
 * per-element tolerance.  They fail the running cmocka test on errors. */
#ifndef FGSD_TEST_OP_CHECK_H
#define FGSD_TEST_OP_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

/* splitmix64 step: the tests' own input generator (not the engine's). */
uint64_t next_random(uint64_t *state);

/* n floats uniform in [-scale, scale) from seed (malloc'd). */
float *random_floats(size_t n, float scale, uint64_t seed);

/* |v| element-wise (malloc'd): a per-element scale for compare. */
float *abs_copy(const float *v, size_t n);

size_t numel(int c, int h, int w);

/* A c x h x w tensor of be, filled from chw when not NULL. */
backend_tensor *tensor_with(const backend_ops *ops, backend *be, int c, int h, int w,
                            const float *chw);

/* The tensor's values (malloc'd). */
float *download(const backend_ops *ops, backend *be, const backend_tensor *t, int c, int h,
                int w);

/* Counts the elements where |got - want| > tol * scale[i] (scale NULL: 1),
 * and prints the first few. */
int compare(const char *what, const float *got, const float *want, const float *scale, size_t n,
            double tol);

#endif
