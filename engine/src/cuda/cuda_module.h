/* SPDX-License-Identifier: GPL-3.0-or-later
 * The contract between libfgsd and the CUDA backend module libfgsd-cuda.so
 * (docs/cuda.md).  The engine never links CUDA: session.c dlopen()s the
 * module and calls its one exported function, FGSD_CUDA_ENTRY. */
#ifndef FGSD_CUDA_MODULE_H
#define FGSD_CUDA_MODULE_H

#include <stddef.h>

#include "backend.h"

/* Bump on any change to backend_ops, backend_config, model_conv or the
 * struct below: a module built against another version is refused. */
#define FGSD_CUDA_ABI 6

#define FGSD_CUDA_ENTRY "fgsd_cuda_module_get"
#define FGSD_CUDA_MODULE_NAME "libfgsd-cuda.so"

/* How a backend's deferred passes ran (docs/cuda.md "A pass as one CUDA
 * graph"): for the tests and the GPU run's log. */
typedef struct fgsd_cuda_pass_stats {
    unsigned long deferred;       /* passes run whole */
    unsigned long op_by_op;       /* of them, queued op by op */
    unsigned long captured;       /* graphs captured */
    unsigned long launched;       /* passes run as a graph launch */
    unsigned long capture_failed; /* captures that failed (then op by op) */
    unsigned long windows;        /* windows filled from the sampler's device images */
    unsigned long steps;          /* sampler steps run whole (backend.h step_begin) */
} fgsd_cuda_pass_stats;

typedef struct fgsd_cuda_module {
    int abi;                 /* FGSD_CUDA_ABI of the module's build */
    size_t ops_size;         /* sizeof(backend_ops) in the module's build */
    const backend_ops *ops;
    /* Whether a device can be used, before creating a backend: > 0 the
     * number of CUDA devices, 0 none (no NVIDIA driver or no GPU), < 0 the
     * CUDA runtime failed otherwise (driver too old for the runtime, ...).
     * err says why when <= 0. */
    int (*probe)(char *err, size_t errlen);
    void (*pass_stats)(backend *be, fgsd_cuda_pass_stats *out);
} fgsd_cuda_module;

/* The module's entry point: its description when abi equals the module's
 * FGSD_CUDA_ABI, else NULL. */
typedef const fgsd_cuda_module *(*fgsd_cuda_entry_fn)(int abi);

#endif
