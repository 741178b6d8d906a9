/* SPDX-License-Identifier: GPL-3.0-or-later
 * Counter-based Gaussian noise (docs/rng.md): a pure function of
 * (seed, step, index), so threads, tiles and backends draw the same noise. */
#ifndef FGSD_RNG_H
#define FGSD_RNG_H

#include <stddef.h>
#include <stdint.h>

float rng_normal(uint64_t seed, uint32_t step, uint32_t index);

/* out[i] = rng_normal(seed, step, first + i) for i in [0, n). */
void rng_normal_fill(uint64_t seed, uint32_t step, uint32_t first, size_t n, float *out);

/* The same on up to threads threads (0: OpenMP's default; without OpenMP
 * one).  Each value depends on its index alone: the result is the same
 * whatever the thread count.  A 512² image's noise takes about 40 ms on
 * one core, an eighth of a CPU step there, and more than that once the
 * network runs on several cores. */
void rng_normal_fill_threads(uint64_t seed, uint32_t step, uint32_t first, size_t n, float *out,
                             int threads);

/* out[i] = rng_normal(seed, step, first + stride i) for i in [0, n), on
 * threads as rng_normal_fill_threads: one channel of an interleaved
 * image's noise (first = the channel, stride = 3). */
void rng_normal_fill_strided(uint64_t seed, uint32_t step, uint32_t first, uint32_t stride,
                             size_t n, float *out, int threads);

#endif
