/* SPDX-License-Identifier: GPL-3.0-or-later
 * From an architecture to the model's blocks and its expected tensors. */
#include "model_layout.h"

#include <stdio.h>
#include <string.h>

#include "errmsg.h"

typedef struct builder {
    model_layout *layout;
    int64_t parameters;
    int overflow;
} builder;

static void add_tensor(builder *bld, const char *name, int ndim, const int64_t *shape,
                       const float **dst)
{
    model_layout *l = bld->layout;
    layout_tensor *t = &l->t[l->n++];
    size_t numel = 1;
    size_t end;

    snprintf(t->name, sizeof(t->name), "%s", name);
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) {
        t->shape[d] = shape[d];
        /* Each dim is at most 2 * ARCH_MAX_WIDTH, so the product of four
         * fits in 64 bits; only size_t itself may be narrower. */
        numel *= (size_t)shape[d];
    }
    t->numel = numel;
    t->offset = l->storage_floats;
    t->dst = dst;
    bld->parameters += (int64_t)numel;
    end = t->offset + numel;
    if (end < t->offset || end > SIZE_MAX - LAYOUT_ALIGN_FLOATS)
        bld->overflow = 1;
    l->storage_floats = (end + LAYOUT_ALIGN_FLOATS - 1) / LAYOUT_ALIGN_FLOATS * LAYOUT_ALIGN_FLOATS;
}

/* "<prefix>.weight" in PyTorch layout and, with biases, "<prefix>.bias". */
static void add_conv(builder *bld, const model_arch *arch, const char *prefix, model_conv *conv)
{
    char name[32];
    int64_t shape[4];

    if (conv->transposed) {
        shape[0] = conv->cin;
        shape[1] = conv->cout;
    } else {
        shape[0] = conv->cout;
        shape[1] = conv->cin;
    }
    shape[2] = conv->k;
    shape[3] = conv->k;
    snprintf(name, sizeof(name), "%s.weight", prefix);
    add_tensor(bld, name, 4, shape, &conv->weight);
    if (arch->bias) {
        shape[0] = conv->cout;
        snprintf(name, sizeof(name), "%s.bias", prefix);
        add_tensor(bld, name, 1, shape, &conv->bias);
    }
}

static void set_conv(model_conv *conv, int cin, int cout, int k, int transposed)
{
    conv->cin = cin;
    conv->cout = cout;
    conv->k = k;
    conv->transposed = transposed;
    conv->weight = NULL;
    conv->bias = NULL;
}

static int first_cin(const model_arch *arch, const model_block *blk)
{
    switch (blk->kind) {
    case BLOCK_ENC:
        return blk->level == 0 ? arch->channels : arch->widths[blk->level - 1];
    case BLOCK_MID:
        return arch->widths[arch->levels - 1];
    case BLOCK_DEC:
        break;
    }
    return 2 * blk->width; /* [up, skip] */
}

static int is_feature(const model_arch *arch, int block)
{
    if (!arch->conditioned)
        return 0;
    for (int f = 0; f < arch->n_features; f++) {
        if (arch->feature_block[f] == block)
            return 1;
    }
    return 0;
}

static void build_block(builder *bld, const model_arch *arch, int b, model_block *blk,
                        int *phi_offset)
{
    char prefix[32];

    blk->kind = arch_block_kind(arch, b);
    blk->level = arch_block_level(arch, b);
    blk->width = arch->widths[blk->level];
    blk->n_convs = arch_block_convs(arch, b);
    arch_block_name(arch, b, blk->name);
    if (blk->kind == BLOCK_DEC) {
        set_conv(&blk->up, arch->widths[blk->level + 1], blk->width, 2, 1);
        snprintf(prefix, sizeof(prefix), "%s.up", blk->name);
        add_conv(bld, arch, prefix, &blk->up);
    }
    for (int j = 0; j < blk->n_convs; j++) {
        set_conv(&blk->conv[j], j == 0 ? first_cin(arch, blk) : blk->width, blk->width, 3, 0);
        snprintf(prefix, sizeof(prefix), "%s.conv%d", blk->name, j);
        add_conv(bld, arch, prefix, &blk->conv[j]);
    }
    blk->is_feature = is_feature(arch, b);
    if (blk->is_feature) {
        int64_t shape[1] = {blk->width};

        blk->phi_offset = *phi_offset;
        *phi_offset += blk->width;
        snprintf(prefix, sizeof(prefix), "gain.%s", blk->name);
        add_tensor(bld, prefix, 1, shape, &blk->gain);
    }
}

fgsd_status layout_build(const model_arch *arch, fgsd_model *model, model_layout *layout,
                         char *msg, size_t msglen)
{
    builder bld = {layout, 0, 0};
    fgsd_model_info *info = &model->info;
    int phi_offset = 0;

    layout->n = 0;
    layout->storage_floats = 0;
    model->n_blocks = arch_block_count(arch);
    for (int b = 0; b < model->n_blocks; b++)
        build_block(&bld, arch, b, &model->block[b], &phi_offset);
    set_conv(&model->out, arch->widths[0], arch->channels, 3, 0);
    add_conv(&bld, arch, "out", &model->out);
    model->circular = arch->circular;
    if (bld.overflow)
        return errmsg_set(msg, msglen, FGSD_ERR_NO_MEMORY,
                          "model too large for this machine's address space");

    info->channels = arch->channels;
    info->levels = arch->levels;
    memcpy(info->widths, arch->widths, sizeof(info->widths));
    info->conditioned = arch->conditioned;
    info->output_residual = arch->output_residual;
    info->feature_dim = phi_offset;
    info->receptive_field = arch_receptive_field(arch);
    info->size_multiple = 1 << arch->levels;
    info->parameters = bld.parameters;
    return FGSD_OK;
}

void layout_attach(const model_layout *layout, float *storage)
{
    for (int i = 0; i < layout->n; i++)
        *layout->t[i].dst = storage + layout->t[i].offset;
}
