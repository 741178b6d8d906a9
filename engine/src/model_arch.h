/* SPDX-License-Identifier: GPL-3.0-or-later
 * The "arch" metadata of a model file (docs/model-format.md): parsed from
 * untrusted JSON and checked against the limits this engine runs. */
#ifndef FGSD_MODEL_ARCH_H
#define FGSD_MODEL_ARCH_H

#include <stddef.h>

#include "fgsd.h"
#include "model.h"

#define ARCH_MAX_WIDTH 1024

typedef struct model_arch {
    int channels;
    int levels; /* L: number of 2x2 poolings */
    int widths[FGSD_MAX_LEVELS + 1];
    int enc_convs, mid_convs, dec_convs;
    int n_features;
    int feature_block[MODEL_MAX_BLOCKS]; /* block indices, increasing */
    int conditioned;
    int output_residual;
    int circular;
    int bias;
} model_arch;

/* Parses json (the arch string).  FGSD_ERR_FORMAT when it is not JSON,
 * FGSD_ERR_ARCHITECTURE when a field is missing, unknown, of the wrong type
 * or outside the limits. */
fgsd_status arch_parse(const char *json, model_arch *arch, char *msg, size_t msglen);

/* Blocks in network order: 0..L-1 = enc0..enc{L-1}, L = mid,
 * L+1..2L = dec{L-1}..dec0. */
int arch_block_count(const model_arch *arch);
model_block_kind arch_block_kind(const model_arch *arch, int block);
int arch_block_level(const model_arch *arch, int block);
void arch_block_name(const model_arch *arch, int block, char name[8]);
int arch_block_convs(const model_arch *arch, int block);

/* Receptive field of one output pixel, in pixels. */
int arch_receptive_field(const model_arch *arch);

#endif
