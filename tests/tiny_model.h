/* SPDX-License-Identifier: GPL-3.0-or-later
 * The tiny untrained model of model_writer (test_model_arch_tiny, F32),
 * loaded through the public API: the set-up the engine and CUDA tests
 * share. */
#ifndef FGSD_TEST_TINY_MODEL_H
#define FGSD_TEST_TINY_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "fgsd.h"

/* The model with weights from seed, or NULL with the reason in err. */
fgsd_model *test_tiny_model_load(uint64_t seed, char *err, size_t errlen);

#endif
