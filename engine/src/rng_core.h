/* SPDX-License-Identifier: GPL-3.0-or-later
 * The noise generator of docs/rng.md as inline functions that compile both
 * as host C (engine/src/rng.c) and as CUDA device code (cuda_kernels.cu), so
 * that the CPU and the GPU run one transcription of the spec.  On the device,
 * log and cos are CUDA's double-precision functions (at most 1-2 ulp of
 * double from the correctly rounded value), so after rounding to float a
 * value can differ from the CPU's by one float ulp at rare points (test_cuda
 * checks the kernel's output against rng.c on a GPU). */
#ifndef FGSD_RNG_CORE_H
#define FGSD_RNG_CORE_H

#include <stdint.h>

#ifdef __CUDACC__
#define RNG_CORE_FN __host__ __device__ static inline
#else
#include <math.h>
#define RNG_CORE_FN static inline
#endif

/* splitmix64's finaliser (docs/rng.md: mix): a bijection that scrambles
 * every input bit. */
RNG_CORE_FN uint64_t rng_core_mix(uint64_t z)
{
    z ^= z >> 30;
    z *= 0xBF58476D1CE4E5B9ULL;
    z ^= z >> 27;
    z *= 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return z;
}

/* key = mix(seed + golden ratio), once per seed for a whole fill. */
RNG_CORE_FN uint64_t rng_core_key(uint64_t seed)
{
    return rng_core_mix(seed + 0x9E3779B97F4A7C15ULL);
}

RNG_CORE_FN float rng_core_normal(uint64_t key, uint32_t step, uint32_t index)
{
    uint64_t counter = ((uint64_t)step << 32) | index;
    uint64_t r = rng_core_mix(rng_core_mix(counter ^ key) + key);
    double u1 = ((double)(r >> 40) + 0.5) / 16777216.0;
    double u2 = ((double)(r & 0xFFFFFFu) + 0.5) / 16777216.0;

    /* Box-Muller; u1 > 0 always, so the log is finite (|z| < 5.8). */
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

#endif
