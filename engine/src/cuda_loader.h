/* SPDX-License-Identifier: GPL-3.0-or-later
 * The CUDA backend module, loaded at run time (cuda_loader.c). */
#ifndef FGSD_CUDA_LOADER_H
#define FGSD_CUDA_LOADER_H

#include <stddef.h>

#include "cuda/cuda_module.h"

/* The module, found and loaded on the first call (thread-safe; it stays
 * loaded until exit).  NULL when it cannot be used: reason (len bytes) says
 * why, and *quiet is 1 when that is the normal case of a machine without
 * the module or without a GPU, which FGSD_BACKEND_AUTO need not mention. */
const fgsd_cuda_module *cuda_module_get(char *reason, size_t len, int *quiet);

#endif
