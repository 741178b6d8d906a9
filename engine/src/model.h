/* SPDX-License-Identifier: GPL-3.0-or-later
 * The in-memory model: architecture and weights as the loader leaves them.
 * Filled only by model_load.c; read-only afterwards (shareable by threads). */
#ifndef FGSD_MODEL_H
#define FGSD_MODEL_H

#include "fgsd.h"

#define MODEL_MAX_CONVS 8
#define MODEL_MAX_META 32

/* Block ids in network order: enc0..enc{L-1}, mid, dec{L-1}..dec0. */
#define MODEL_MAX_BLOCKS (2 * FGSD_MAX_LEVELS + 1)

typedef enum model_block_kind { BLOCK_ENC, BLOCK_MID, BLOCK_DEC } model_block_kind;

/* A convolution in PyTorch layout:
 *   3x3, stride 1, padding 1:  weight [cout][cin][3][3]
 *   transposed 2x2, stride 2:  weight [cin][cout][2][2]  (ConvTranspose2d)
 * bias is NULL when the file has none (bias-free nets, the default). */
typedef struct model_conv {
    int cin, cout, k;
    int transposed;
    const float *weight;
    const float *bias;
} model_conv;

typedef struct model_block {
    model_block_kind kind;
    int level;               /* resolution level: 0 = full size */
    int width;               /* output channels */
    int n_convs;
    model_conv conv[MODEL_MAX_CONVS]; /* each followed by ReLU */
    model_conv up;           /* BLOCK_DEC only: transposed conv from level+1 */
    int is_feature;          /* its output is a slice of phi */
    int phi_offset;          /* where that slice starts in phi */
    const float *gain;       /* [width], conditioned models only */
    char name[8];            /* "enc0", "mid", "dec1", ... */
} model_block;

struct fgsd_model {
    fgsd_model_info info;
    int n_blocks;            /* 2 * levels + 1 */
    model_block block[MODEL_MAX_BLOCKS];
    model_conv out;          /* final conv widths[0] -> channels, no ReLU */
    int circular;            /* padding the model was trained with */
    int n_meta;
    char *meta_key[MODEL_MAX_META];
    char *meta_value[MODEL_MAX_META];
    void *storage;           /* one allocation holding every float above */
};

#endif
