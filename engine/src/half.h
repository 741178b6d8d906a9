/* SPDX-License-Identifier: GPL-3.0-or-later
 * IEEE 754 binary16 -> binary32, for F16 model files. */
#ifndef FGSD_HALF_H
#define FGSD_HALF_H

#include <stdint.h>

/* Exact: every half value (subnormals, infinities, NaN payloads) has a float
 * with the same value. */
float half_to_float(uint16_t h);

#endif
