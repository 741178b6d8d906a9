/* SPDX-License-Identifier: GPL-3.0-or-later
 * From an architecture to the model's blocks and the tensors the file must
 * hold (names and shapes of docs/model-format.md), each with the place in
 * the model that will point at its floats. */
#ifndef FGSD_MODEL_LAYOUT_H
#define FGSD_MODEL_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "fgsd.h"
#include "model.h"
#include "model_arch.h"

/* weight and bias of every conv (up convs included), one gain per block, out. */
#define LAYOUT_MAX_TENSORS (MODEL_MAX_BLOCKS * (MODEL_MAX_CONVS + 1) * 2 + MODEL_MAX_BLOCKS + 2)
/* Floats per alignment unit in storage: 16 floats = 64 bytes (style.md §6). */
#define LAYOUT_ALIGN_FLOATS 16

typedef struct layout_tensor {
    char name[32];
    int ndim;
    int64_t shape[4];
    size_t numel;
    size_t offset;     /* in floats from the start of storage, aligned */
    const float **dst; /* the model field that gets storage + offset */
} layout_tensor;

typedef struct model_layout {
    int n;
    layout_tensor t[LAYOUT_MAX_TENSORS];
    size_t storage_floats; /* including alignment padding */
} model_layout;

/* Fills model->info (all but format_version and data_mean), the blocks, out
 * and circular from arch, and layout with the expected tensors.  Weight
 * pointers stay NULL until layout_attach.  FGSD_ERR_NO_MEMORY when the
 * storage size does not fit in size_t. */
fgsd_status layout_build(const model_arch *arch, fgsd_model *model, model_layout *layout,
                         char *msg, size_t msglen);

/* Points every weight of the model into storage (layout_build's floats). */
void layout_attach(const model_layout *layout, float *storage);

#endif
