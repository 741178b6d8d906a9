/* SPDX-License-Identifier: GPL-3.0-or-later
 * Counter-based Gaussian noise, exactly as docs/rng.md specifies (the Python
 * twin models/fgsd_rng.py must give the same values); the arithmetic is
 * rng_core.h's, shared with the CUDA kernels. */
#include "rng.h"
#include "rng_core.h"

#ifdef _OPENMP
#include <omp.h>
#endif

float rng_normal(uint64_t seed, uint32_t step, uint32_t index)
{
    return rng_core_normal(rng_core_key(seed), step, index);
}

void rng_normal_fill(uint64_t seed, uint32_t step, uint32_t first, size_t n, float *out)
{
    uint64_t key = rng_core_key(seed);

    for (size_t i = 0; i < n; i++)
        out[i] = rng_core_normal(key, step, first + (uint32_t)i);
}

void rng_normal_fill_strided(uint64_t seed, uint32_t step, uint32_t first, uint32_t stride,
                             size_t n, float *out, int threads)
{
    uint64_t key = rng_core_key(seed);
    long long count = (long long)n;

#ifdef _OPENMP
    if (threads <= 0)
        threads = omp_get_max_threads();
    /* Below a 64² image's values the threads cost more than they save. */
#pragma omp parallel for num_threads(threads) schedule(static) if (count >= 3 * 64 * 64)
#else
    (void)threads;
#endif
    for (long long i = 0; i < count; i++)
        out[i] = rng_core_normal(key, step, first + stride * (uint32_t)i);
}

void rng_normal_fill_threads(uint64_t seed, uint32_t step, uint32_t first, size_t n, float *out,
                             int threads)
{
    rng_normal_fill_strided(seed, step, first, 1, n, out, threads);
}
