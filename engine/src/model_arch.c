/* SPDX-License-Identifier: GPL-3.0-or-later
 * The "arch" metadata of a model file: parsing, limits, derived numbers. */
#include "model_arch.h"

#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "errmsg.h"

enum {
    F_CHANNELS,
    F_WIDTHS,
    F_ENC_CONVS,
    F_MID_CONVS,
    F_DEC_CONVS,
    F_FEATURES,
    F_CONDITIONED,
    F_OUTPUT,
    F_PADDING,
    F_BIAS,
    F_COUNT
};

static const char *const field_name[F_COUNT] = {
    "channels",       "widths",      "enc_convs", "mid_convs", "dec_convs",
    "feature_blocks", "conditioned", "output",    "padding",   "bias",
};

static int json_int(const cJSON *j, int *out)
{
    double v;

    if (!cJSON_IsNumber(j))
        return 0;
    v = j->valuedouble;
    if (!isfinite(v) || v < -1e9 || v > 1e9 || floor(v) != v)
        return 0;
    *out = (int)v;
    return 1;
}

/* Every field must be there exactly once, and nothing else: an unknown
 * field describes a network this engine would run wrongly. */
static fgsd_status collect_fields(const cJSON *root, const cJSON *field[F_COUNT], char *msg,
                                  size_t msglen)
{
    const cJSON *item;

    memset(field, 0, F_COUNT * sizeof(field[0]));
    cJSON_ArrayForEach(item, root)
    {
        int f = 0;

        while (f < F_COUNT && strcmp(item->string, field_name[f]) != 0)
            f++;
        if (f == F_COUNT)
            return errmsg_set(msg, msglen, FGSD_ERR_ARCHITECTURE,
                              "arch has an unknown field '%.40s' (a newer model?); update fgsd",
                              item->string);
        if (field[f] != NULL)
            return errmsg_set(msg, msglen, FGSD_ERR_ARCHITECTURE, "arch lists '%s' twice",
                              field_name[f]);
        field[f] = item;
    }
    for (int f = 0; f < F_COUNT; f++) {
        if (field[f] == NULL)
            return errmsg_set(msg, msglen, FGSD_ERR_ARCHITECTURE, "arch has no '%s' field",
                              field_name[f]);
    }
    return FGSD_OK;
}

static fgsd_status parse_count(const cJSON *j, const char *name, int lo, int hi, int *out,
                               char *msg, size_t msglen)
{
    if (!json_int(j, out) || *out < lo || *out > hi)
        return errmsg_set(msg, msglen, FGSD_ERR_ARCHITECTURE,
                          "arch: '%s' must be an integer in %d..%d", name, lo, hi);
    return FGSD_OK;
}

static fgsd_status parse_widths(const cJSON *j, model_arch *arch, char *msg, size_t msglen)
{
    const cJSON *w;
    int n;

    if (!cJSON_IsArray(j))
        return errmsg_set(msg, msglen, FGSD_ERR_ARCHITECTURE, "arch: 'widths' is not an array");
    n = cJSON_GetArraySize(j);
    if (n < 2 || n > FGSD_MAX_LEVELS + 1)
        return errmsg_set(msg, msglen, FGSD_ERR_ARCHITECTURE,
                          "arch: %d widths make %d levels; fgsd runs 1..%d levels (2..%d widths)",
                          n, n - 1, FGSD_MAX_LEVELS, FGSD_MAX_LEVELS + 1);
    arch->levels = n - 1;
    n = 0;
    cJSON_ArrayForEach(w, j)
    {
        if (!json_int(w, &arch->widths[n]) || arch->widths[n] < 1 ||
            arch->widths[n] > ARCH_MAX_WIDTH)
            return errmsg_set(msg, msglen, FGSD_ERR_ARCHITECTURE,
                              "arch: widths[%d] must be an integer in 1..%d", n, ARCH_MAX_WIDTH);
        n++;
    }
    return FGSD_OK;
}

static int block_index(const model_arch *arch, const char *name)
{
    char candidate[8];

    for (int b = 0; b < arch_block_count(arch); b++) {
        arch_block_name(arch, b, candidate);
        if (strcmp(candidate, name) == 0)
            return b;
    }
    return -1;
}

/* Needs arch->levels.  Network order keeps phi's layout unambiguous: the
 * slices of phi follow the blocks as the forward pass meets them. */
static fgsd_status parse_features(const cJSON *j, model_arch *arch, char *msg, size_t msglen)
{
    const cJSON *item;

    if (!cJSON_IsArray(j))
        return errmsg_set(msg, msglen, FGSD_ERR_ARCHITECTURE,
                          "arch: 'feature_blocks' is not an array");
    arch->n_features = 0;
    cJSON_ArrayForEach(item, j)
    {
        int b, prev;

        if (!cJSON_IsString(item))
            return errmsg_set(msg, msglen, FGSD_ERR_ARCHITECTURE,
                              "arch: 'feature_blocks' has an entry that is not a string");
        b = block_index(arch, item->valuestring);
        if (b < 0)
            return errmsg_set(msg, msglen, FGSD_ERR_ARCHITECTURE,
                              "arch: feature block '%.20s' is not a block of a %d-level network",
                              item->valuestring, arch->levels);
        prev = arch->n_features > 0 ? arch->feature_block[arch->n_features - 1] : -1;
        if (b == prev)
            return errmsg_set(msg, msglen, FGSD_ERR_ARCHITECTURE,
                              "arch: feature block '%s' is listed twice", item->valuestring);
        if (b < prev)
            return errmsg_set(msg, msglen, FGSD_ERR_ARCHITECTURE,
                              "arch: feature blocks are not in network order ('%s' comes late)",
                              item->valuestring);
        arch->feature_block[arch->n_features++] = b;
    }
    return FGSD_OK;
}

static fgsd_status parse_bool(const cJSON *j, const char *name, int *out, char *msg, size_t msglen)
{
    if (!cJSON_IsBool(j))
        return errmsg_set(msg, msglen, FGSD_ERR_ARCHITECTURE, "arch: '%s' must be true or false",
                          name);
    *out = cJSON_IsTrue(j) ? 1 : 0;
    return FGSD_OK;
}

static fgsd_status parse_choice(const cJSON *j, const char *name, const char *one,
                                const char *zero, int *out, char *msg, size_t msglen)
{
    if (cJSON_IsString(j) && strcmp(j->valuestring, one) == 0)
        *out = 1;
    else if (cJSON_IsString(j) && strcmp(j->valuestring, zero) == 0)
        *out = 0;
    else
        return errmsg_set(msg, msglen, FGSD_ERR_ARCHITECTURE,
                          "arch: '%s' must be \"%s\" or \"%s\"", name, one, zero);
    return FGSD_OK;
}

static fgsd_status parse_fields(const cJSON *const field[F_COUNT], model_arch *arch, char *msg,
                                size_t msglen)
{
    fgsd_status status;

    if (!json_int(field[F_CHANNELS], &arch->channels) || arch->channels != 3)
        return errmsg_set(msg, msglen, FGSD_ERR_ARCHITECTURE,
                          "arch: 'channels' must be 3; fgsd runs RGB models only");
    status = parse_widths(field[F_WIDTHS], arch, msg, msglen);
    if (status == FGSD_OK)
        status = parse_count(field[F_ENC_CONVS], "enc_convs", 1, MODEL_MAX_CONVS,
                             &arch->enc_convs, msg, msglen);
    if (status == FGSD_OK)
        status = parse_count(field[F_MID_CONVS], "mid_convs", 1, MODEL_MAX_CONVS,
                             &arch->mid_convs, msg, msglen);
    if (status == FGSD_OK)
        status = parse_count(field[F_DEC_CONVS], "dec_convs", 1, MODEL_MAX_CONVS,
                             &arch->dec_convs, msg, msglen);
    if (status == FGSD_OK)
        status = parse_features(field[F_FEATURES], arch, msg, msglen);
    if (status == FGSD_OK)
        status = parse_bool(field[F_CONDITIONED], "conditioned", &arch->conditioned, msg, msglen);
    if (status == FGSD_OK)
        status = parse_choice(field[F_OUTPUT], "output", "residual", "clean",
                              &arch->output_residual, msg, msglen);
    if (status == FGSD_OK)
        status = parse_choice(field[F_PADDING], "padding", "circular", "zeros", &arch->circular,
                              msg, msglen);
    if (status == FGSD_OK)
        status = parse_bool(field[F_BIAS], "bias", &arch->bias, msg, msglen);
    if (status == FGSD_OK && arch->conditioned && arch->n_features == 0)
        status = errmsg_set(msg, msglen, FGSD_ERR_ARCHITECTURE,
                            "arch: a conditioned model needs at least one feature block");
    return status;
}

fgsd_status arch_parse(const char *json, model_arch *arch, char *msg, size_t msglen)
{
    const cJSON *field[F_COUNT];
    cJSON *root;
    fgsd_status status;

    memset(arch, 0, sizeof(*arch));
    root = cJSON_Parse(json);
    if (root == NULL)
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT, "metadata 'arch' is not valid JSON");
    if (!cJSON_IsObject(root)) {
        status = errmsg_set(msg, msglen, FGSD_ERR_FORMAT, "metadata 'arch' is not a JSON object");
        goto out;
    }
    status = collect_fields(root, field, msg, msglen);
    if (status == FGSD_OK)
        status = parse_fields(field, arch, msg, msglen);
out:
    cJSON_Delete(root);
    return status;
}

int arch_block_count(const model_arch *arch)
{
    return 2 * arch->levels + 1;
}

model_block_kind arch_block_kind(const model_arch *arch, int block)
{
    if (block < arch->levels)
        return BLOCK_ENC;
    return block == arch->levels ? BLOCK_MID : BLOCK_DEC;
}

int arch_block_level(const model_arch *arch, int block)
{
    return block <= arch->levels ? block : 2 * arch->levels - block;
}

/* Levels are 0..FGSD_MAX_LEVELS: one digit. */
void arch_block_name(const model_arch *arch, int block, char name[8])
{
    model_block_kind kind = arch_block_kind(arch, block);

    if (kind == BLOCK_MID) {
        memcpy(name, "mid", 4);
        return;
    }
    memcpy(name, kind == BLOCK_ENC ? "enc" : "dec", 3);
    name[3] = (char)('0' + arch_block_level(arch, block) % 10);
    name[4] = '\0';
}

int arch_block_convs(const model_arch *arch, int block)
{
    switch (arch_block_kind(arch, block)) {
    case BLOCK_ENC:
        return arch->enc_convs;
    case BLOCK_MID:
        return arch->mid_convs;
    case BLOCK_DEC:
        break;
    }
    return arch->dec_convs;
}

/* The usual chain rule: RF = 1 + sum over the layers of the longest path of
 * (kernel - 1) * step, where step (the input pixel spacing in full-size
 * pixels) doubles at each pooling and halves at each transposed conv.  The
 * longest path runs enc0 .. mid .. dec0, out (skips are shorter):
 *   a 3x3 conv at level i adds 2 * 2^i,
 *   a 2x2 average pool from level i adds 2^i,
 *   a 2x2 stride-2 transposed conv adds 0 (each output reads one input),
 *   the final 3x3 out conv adds 2.
 * In closed form: 3 + (2 enc + 2 dec + 1) (2^L - 1) + 2 mid 2^L.
 * The reference UNet (L = 3, convs 2/3/4) gives 142 and the format's example
 * (2/3/2) 114.  The 84 px quoted in method.md is the same sum stopped at the
 * middle block (encoder side only); the output sees the decoder convs too. */
int arch_receptive_field(const model_arch *arch)
{
    int rf = 1;
    int step = 1;

    for (int i = 0; i < arch->levels; i++) {
        rf += 2 * arch->enc_convs * step; /* enc i convs */
        rf += step;                       /* pool to level i + 1 */
        step *= 2;
    }
    rf += 2 * arch->mid_convs * step;
    for (int i = arch->levels - 1; i >= 0; i--) {
        step /= 2;
        rf += 2 * arch->dec_convs * step; /* dec i convs, after the up conv */
    }
    return rf + 2;
}
