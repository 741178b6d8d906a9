/* SPDX-License-Identifier: GPL-3.0-or-later
 * IEEE 754 binary16 -> binary32 by bit manipulation (no F16C: the loader runs
 * once per model, so portability beats speed here). */
#include "half.h"

#include <string.h>

float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    float f;

    if (exp == 0x1f) {
        /* Inf or NaN: keep the payload, top-aligned as IEEE asks. */
        bits = sign | 0x7f800000u | (mant << 13);
    } else if (exp != 0) {
        /* Normal: rebias the exponent from 15 to 127. */
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    } else if (mant == 0) {
        bits = sign;
    } else {
        /* Subnormal half = mant * 2^-24, a normal float: shift the mantissa
         * up until its leading 1 reaches the implicit bit. */
        exp = 113;
        while ((mant & 0x400u) == 0) {
            mant <<= 1;
            exp--;
        }
        bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
    }
    memcpy(&f, &bits, sizeof(f));
    return f;
}
