/* SPDX-License-Identifier: GPL-3.0-or-later
 * Counter-based Gaussian noise, exactly as docs/rng.md specifies (the Python
 * twin models/fgsd_rng.py must give the same values). */
#include <math.h>

#include "rng.h"

#define GOLDEN 0x9E3779B97F4A7C15ULL

/* splitmix64's finaliser: a bijection that scrambles every input bit. */
static uint64_t mix(uint64_t z)
{
    z ^= z >> 30;
    z *= 0xBF58476D1CE4E5B9ULL;
    z ^= z >> 27;
    z *= 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return z;
}

float rng_normal(uint64_t seed, uint32_t step, uint32_t index)
{
    uint64_t key = mix(seed + GOLDEN);
    uint64_t counter = ((uint64_t)step << 32) | index;
    uint64_t r = mix(mix(counter ^ key) + key);
    double u1 = ((double)(r >> 40) + 0.5) / 16777216.0;
    double u2 = ((double)(r & 0xFFFFFFu) + 0.5) / 16777216.0;

    /* Box-Muller; u1 > 0 always, so the log is finite (|z| < 5.8). */
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void rng_normal_fill(uint64_t seed, uint32_t step, uint32_t first, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = rng_normal(seed, step, first + (uint32_t)i);
}
