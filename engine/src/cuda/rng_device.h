/* SPDX-License-Identifier: GPL-3.0-or-later
 * The noise generator of docs/rng.md as inline functions that compile both
 * as host C and as CUDA device code, so the GPU draws the same values as
 * engine/src/rng.c for the same (seed, step, index).  tests/test_cuda_rng.c
 * checks this transcription against rng.c on the host, bit for bit.  On the
 * device, log and cos are CUDA's double-precision functions (at most 1-2 ulp
 * of double from the correctly rounded value), so after rounding to float a
 * value can differ from the CPU's by one float ulp at rare points. */
#ifndef FGSD_RNG_DEVICE_H
#define FGSD_RNG_DEVICE_H

#include <stdint.h>

#ifdef __CUDACC__
#define RNGD_FN __host__ __device__ static inline
#else
#include <math.h>
#define RNGD_FN static inline
#endif

/* splitmix64's finaliser (docs/rng.md: mix). */
RNGD_FN uint64_t rngd_mix(uint64_t z)
{
    z ^= z >> 30;
    z *= 0xBF58476D1CE4E5B9ULL;
    z ^= z >> 27;
    z *= 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return z;
}

/* key = mix(seed + golden ratio), once per (seed) for a whole fill. */
RNGD_FN uint64_t rngd_key(uint64_t seed)
{
    return rngd_mix(seed + 0x9E3779B97F4A7C15ULL);
}

RNGD_FN float rngd_normal_keyed(uint64_t key, uint32_t step, uint32_t index)
{
    uint64_t counter = ((uint64_t)step << 32) | index;
    uint64_t r = rngd_mix(rngd_mix(counter ^ key) + key);
    double u1 = ((double)(r >> 40) + 0.5) / 16777216.0;
    double u2 = ((double)(r & 0xFFFFFFu) + 0.5) / 16777216.0;

    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

#endif
