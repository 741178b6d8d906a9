/* SPDX-License-Identifier: GPL-3.0-or-later
 * Builds fgsd model files in memory for tests. */
#include "model_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

/* Upper bound on tensors: (8 convs + up) * (weight + bias) per block, gains,
 * out weight and bias. */
#define MAX_TENSORS (TEST_MODEL_MAX_BLOCKS * 18 + TEST_MODEL_MAX_BLOCKS + 2)

typedef struct plan_tensor {
    char name[48]; /* a 31-character prefix and ".weight" */
    int ndim;
    int shape[4];
    size_t numel;
} plan_tensor;

typedef struct plan {
    int n;
    plan_tensor t[MAX_TENSORS];
} plan;

test_model_arch test_model_arch_tiny(void)
{
    test_model_arch a;

    memset(&a, 0, sizeof(a));
    a.levels = 2;
    a.widths[0] = 4;
    a.widths[1] = 6;
    a.widths[2] = 8;
    a.enc_convs = 1;
    a.mid_convs = 2;
    a.dec_convs = 2;
    a.n_features = 3;
    a.features[0] = "enc0";
    a.features[1] = "mid";
    a.features[2] = "dec1";
    a.conditioned = 1;
    a.residual = 1;
    a.data_mean[0] = 0.5f;
    a.data_mean[1] = 0.25f;
    a.data_mean[2] = 0.125f;
    return a;
}

/* splitmix64 finaliser: a good 64-bit mix for counter-style hashing. */
static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float test_model_weight(uint64_t seed, const char *name, size_t index)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a of the name */
    int m;

    for (const char *p = name; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    h = mix64(mix64(h ^ seed) + index);
    m = (int)(h % 1025) - 512;
    if (strncmp(name, "gain.", 5) == 0)
        return 1.0f + (float)(m / 4) / 1024.0f;
    return (float)m / 1024.0f;
}

/* float -> IEEE half, round to nearest even; enough for finite values,
 * infinities and NaN (which the tests write on purpose). */
static uint16_t float_to_half(float f)
{
    uint32_t x;
    uint32_t sign, mant;
    int exp;

    memcpy(&x, &f, sizeof(x));
    sign = (x >> 16) & 0x8000u;
    exp = (int)((x >> 23) & 0xff);
    mant = x & 0x7fffffu;
    if (exp == 0xff)
        return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
    exp -= 127 - 15;
    if (exp >= 0x1f)
        return (uint16_t)(sign | 0x7c00u);
    if (exp <= 0) {
        /* Subnormal half: shift the mantissa with its implicit bit. */
        uint32_t full = mant | 0x800000u;
        int shift = 14 - exp;
        uint32_t h, rem, half;

        if (shift > 24)
            return (uint16_t)sign;
        h = full >> shift;
        rem = full & ((1u << shift) - 1);
        half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1)))
            h++;
        return (uint16_t)(sign | h);
    }
    {
        uint32_t h = ((uint32_t)exp << 10) | (mant >> 13);
        uint32_t rem = mant & 0x1fffu;

        if (rem > 0x1000u || (rem == 0x1000u && (h & 1)))
            h++; /* may carry into the exponent: still correct */
        return (uint16_t)(sign | h);
    }
}

static void block_name(const test_model_arch *a, int b, char name[16])
{
    if (b < a->levels)
        snprintf(name, 16, "enc%d", b);
    else if (b == a->levels)
        snprintf(name, 16, "mid");
    else
        snprintf(name, 16, "dec%d", 2 * a->levels - b);
}

static void plan_add(plan *p, const char *name, int ndim, int d0, int d1, int d2, int d3)
{
    plan_tensor *t = &p->t[p->n++];
    int dims[4] = {d0, d1, d2, d3};

    snprintf(t->name, sizeof(t->name), "%s", name);
    t->ndim = ndim;
    t->numel = 1;
    for (int d = 0; d < ndim; d++) {
        t->shape[d] = dims[d];
        t->numel *= (size_t)dims[d];
    }
}

/* weight [a0, a1, k, k] (PyTorch layout: the caller orders cin/cout) and
 * bias [cout]. */
static void plan_conv(plan *p, const test_model_arch *a, const char *prefix, int a0, int a1,
                      int k, int cout)
{
    char name[48];

    snprintf(name, sizeof(name), "%s.weight", prefix);
    plan_add(p, name, 4, a0, a1, k, k);
    if (a->bias) {
        snprintf(name, sizeof(name), "%s.bias", prefix);
        plan_add(p, name, 1, cout, 0, 0, 0);
    }
}

static int is_feature(const test_model_arch *a, const char *name)
{
    for (int f = 0; f < a->n_features; f++) {
        if (strcmp(a->features[f], name) == 0)
            return 1;
    }
    return 0;
}

static void make_plan(const test_model_arch *a, plan *p)
{
    int L = a->levels;

    p->n = 0;
    for (int b = 0; b <= 2 * L; b++) {
        char name[16], prefix[32];
        int level = b <= L ? b : 2 * L - b;
        int width = a->widths[level];
        int convs, cin;

        block_name(a, b, name);
        if (b < L) {
            convs = a->enc_convs;
            cin = level == 0 ? 3 : a->widths[level - 1];
        } else if (b == L) {
            convs = a->mid_convs;
            cin = a->widths[L - 1];
        } else {
            convs = a->dec_convs;
            cin = 2 * width;
            snprintf(prefix, sizeof(prefix), "%s.up", name);
            plan_conv(p, a, prefix, a->widths[level + 1], width, 2, width);
        }
        for (int j = 0; j < convs; j++) {
            snprintf(prefix, sizeof(prefix), "%s.conv%d", name, j);
            plan_conv(p, a, prefix, width, j == 0 ? cin : width, 3, width);
        }
        if (a->conditioned && is_feature(a, name)) {
            snprintf(prefix, sizeof(prefix), "gain.%s", name);
            plan_add(p, prefix, 1, width, 0, 0, 0);
        }
    }
    plan_conv(p, a, "out", 3, a->widths[0], 3, 3);
}

static cJSON *arch_json(const test_model_arch *a)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *feats = cJSON_CreateArray();

    cJSON_AddNumberToObject(o, "channels", 3);
    cJSON_AddItemToObject(o, "widths", cJSON_CreateIntArray(a->widths, a->levels + 1));
    cJSON_AddNumberToObject(o, "enc_convs", a->enc_convs);
    cJSON_AddNumberToObject(o, "mid_convs", a->mid_convs);
    cJSON_AddNumberToObject(o, "dec_convs", a->dec_convs);
    for (int f = 0; f < a->n_features; f++)
        cJSON_AddItemToArray(feats, cJSON_CreateString(a->features[f]));
    cJSON_AddItemToObject(o, "feature_blocks", feats);
    cJSON_AddBoolToObject(o, "conditioned", a->conditioned);
    cJSON_AddStringToObject(o, "output", a->residual ? "residual" : "clean");
    cJSON_AddStringToObject(o, "padding", a->circular ? "circular" : "zeros");
    cJSON_AddBoolToObject(o, "bias", a->bias);
    return o;
}

static int add_metadata(cJSON *header, const test_model_arch *a)
{
    cJSON *meta = cJSON_AddObjectToObject(header, "__metadata__");
    cJSON *arch = arch_json(a);
    char *arch_text = cJSON_PrintUnformatted(arch);
    char mean[96];
    int rc = -1;

    if (meta == NULL || arch_text == NULL)
        goto out;
    snprintf(mean, sizeof(mean), "[%.9g, %.9g, %.9g]", (double)a->data_mean[0],
             (double)a->data_mean[1], (double)a->data_mean[2]);
    cJSON_AddStringToObject(meta, "format", "fgsd-model");
    cJSON_AddStringToObject(meta, "format_version", "1");
    cJSON_AddStringToObject(meta, "arch", arch_text);
    cJSON_AddStringToObject(meta, "data_mean", mean);
    cJSON_AddStringToObject(meta, "checksum", "crc32:00000000");
    cJSON_AddStringToObject(meta, "recipe", "{\"data\": \"none\", \"steps\": 0}");
    cJSON_AddStringToObject(meta, "description", "tests/model_writer.c test model");
    rc = 0;
out:
    free(arch_text);
    cJSON_Delete(arch);
    return rc;
}

static void write_values(unsigned char *dst, const plan_tensor *t, uint64_t seed, int f16)
{
    for (size_t k = 0; k < t->numel; k++) {
        float v = test_model_weight(seed, t->name, k);

        if (f16) {
            uint16_t h = float_to_half(v);

            dst[2 * k] = (unsigned char)(h & 0xff);
            dst[2 * k + 1] = (unsigned char)(h >> 8);
        } else {
            uint32_t bits;

            memcpy(&bits, &v, sizeof(bits));
            for (int i = 0; i < 4; i++)
                dst[4 * k + (size_t)i] = (unsigned char)(bits >> (8 * i));
        }
    }
}

static int add_tensors(test_model *m, const plan *p, uint64_t seed, int dtype)
{
    size_t offset = 0;
    size_t begin[MAX_TENSORS];

    for (int i = 0; i < p->n; i++) {
        int f16 = dtype == TEST_MODEL_F16 || (dtype == TEST_MODEL_MIXED && i % 2 == 1);

        offset = (offset + 7) / 8 * 8;
        begin[i] = offset;
        offset += p->t[i].numel * (f16 ? 2 : 4);
    }
    m->data_len = offset;
    m->data = calloc(offset > 0 ? offset : 1, 1);
    if (m->data == NULL)
        return -1;
    for (int i = 0; i < p->n; i++) {
        const plan_tensor *t = &p->t[i];
        int f16 = dtype == TEST_MODEL_F16 || (dtype == TEST_MODEL_MIXED && i % 2 == 1);
        size_t end = begin[i] + t->numel * (f16 ? 2 : 4);
        cJSON *entry = cJSON_AddObjectToObject(m->header, t->name);
        double offs[2] = {(double)begin[i], (double)end};

        if (entry == NULL)
            return -1;
        cJSON_AddStringToObject(entry, "dtype", f16 ? "F16" : "F32");
        cJSON_AddItemToObject(entry, "shape", cJSON_CreateIntArray(t->shape, t->ndim));
        cJSON_AddItemToObject(entry, "data_offsets", cJSON_CreateDoubleArray(offs, 2));
        write_values(m->data + begin[i], t, seed, f16);
    }
    return 0;
}

int test_model_make(const test_model_arch *arch, uint64_t seed, int dtype, test_model *m)
{
    plan *p = NULL;
    int rc = -1;

    if (m == NULL)
        return -1;
    memset(m, 0, sizeof(*m));
    if (arch == NULL || arch->levels < 1 || arch->levels > TEST_MODEL_MAX_LEVELS)
        return -1;
    p = malloc(sizeof(*p));
    m->header = cJSON_CreateObject();
    if (p == NULL || m->header == NULL)
        goto out;
    make_plan(arch, p);
    if (add_metadata(m->header, arch) != 0 || add_tensors(m, p, seed, dtype) != 0)
        goto out;
    rc = test_model_update_checksum(m);
out:
    free(p);
    if (rc != 0)
        test_model_free(m);
    return rc;
}

void test_model_free(test_model *m)
{
    if (m == NULL)
        return;
    cJSON_Delete(m->header);
    free(m->data);
    memset(m, 0, sizeof(*m));
}

int test_model_serialize(const test_model *m, unsigned char **buf, size_t *len)
{
    char *text = cJSON_PrintUnformatted(m->header);
    size_t n, padded, total;
    unsigned char *out;

    if (text == NULL)
        return -1;
    n = strlen(text);
    padded = (n + 7) / 8 * 8;
    total = 8 + padded + m->data_len;
    out = malloc(total);
    if (out == NULL) {
        free(text);
        return -1;
    }
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(out + 8, text, n);
    memset(out + 8 + n, ' ', padded - n);
    if (m->data_len > 0)
        memcpy(out + 8 + padded, m->data, m->data_len);
    free(text);
    *buf = out;
    *len = total;
    return 0;
}

int test_model_build(const test_model_arch *arch, uint64_t seed, int dtype, unsigned char **buf,
                     size_t *len)
{
    test_model m;
    int rc;

    if (test_model_make(arch, seed, dtype, &m) != 0)
        return -1;
    rc = test_model_serialize(&m, buf, len);
    test_model_free(&m);
    return rc;
}

static int replace_field(cJSON *obj, const char *field, const char *json)
{
    cJSON *value;

    cJSON_DeleteItemFromObjectCaseSensitive(obj, field);
    if (json == NULL)
        return 0;
    value = cJSON_Parse(json);
    if (value == NULL)
        return -1;
    cJSON_AddItemToObject(obj, field, value);
    return 0;
}

int test_model_set_meta(test_model *m, const char *key, const char *value)
{
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(m->header, "__metadata__");

    if (meta == NULL)
        return -1;
    cJSON_DeleteItemFromObjectCaseSensitive(meta, key);
    if (value == NULL)
        return 0;
    return cJSON_AddStringToObject(meta, key, value) != NULL ? 0 : -1;
}

int test_model_patch_arch(test_model *m, const char *field, const char *json)
{
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(m->header, "__metadata__");
    cJSON *arch_str = cJSON_GetObjectItemCaseSensitive(meta, "arch");
    cJSON *arch;
    char *text;
    int rc;

    if (!cJSON_IsString(arch_str))
        return -1;
    arch = cJSON_Parse(arch_str->valuestring);
    if (arch == NULL)
        return -1;
    rc = replace_field(arch, field, json);
    text = cJSON_PrintUnformatted(arch);
    cJSON_Delete(arch);
    if (text == NULL)
        return -1;
    if (rc == 0)
        rc = test_model_set_meta(m, "arch", text);
    free(text);
    return rc;
}

cJSON *test_model_tensor(const test_model *m, const char *tensor)
{
    return cJSON_GetObjectItemCaseSensitive(m->header, tensor);
}

int test_model_patch_tensor(test_model *m, const char *tensor, const char *field,
                            const char *json)
{
    cJSON *entry = test_model_tensor(m, tensor);

    if (entry == NULL)
        return -1;
    return replace_field(entry, field, json);
}

int test_model_remove_tensor(test_model *m, const char *tensor)
{
    if (test_model_tensor(m, tensor) == NULL)
        return -1;
    cJSON_DeleteItemFromObjectCaseSensitive(m->header, tensor);
    return 0;
}

int test_model_tensor_range(const test_model *m, const char *tensor, size_t *begin,
                            size_t *end)
{
    cJSON *offs = cJSON_GetObjectItemCaseSensitive(test_model_tensor(m, tensor), "data_offsets");

    if (cJSON_GetArraySize(offs) != 2)
        return -1;
    *begin = (size_t)cJSON_GetArrayItem(offs, 0)->valuedouble;
    *end = (size_t)cJSON_GetArrayItem(offs, 1)->valuedouble;
    return 0;
}

static void crc_text(const unsigned char *data, size_t len, char out[16])
{
    unsigned long crc = crc32(0L, Z_NULL, 0);

    crc = crc32(crc, data, (uInt)len);
    snprintf(out, 16, "crc32:%08lx", crc);
}

int test_model_update_checksum(test_model *m)
{
    char text[16];

    crc_text(m->data, m->data_len, text);
    return test_model_set_meta(m, "checksum", text);
}

size_t test_model_data_start(const unsigned char *buf, size_t len)
{
    uint64_t n = 0;

    if (len < 8)
        return 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | buf[i];
    if (n > len - 8)
        return 0;
    return 8 + (size_t)n;
}

int test_model_rechecksum(unsigned char *buf, size_t len)
{
    size_t start = test_model_data_start(buf, len);
    char text[16];

    if (start == 0)
        return -1;
    for (size_t i = 8; i + 14 <= start; i++) {
        if (memcmp(buf + i, "crc32:", 6) == 0) {
            crc_text(buf + start, len - start, text);
            memcpy(buf + i, text, 14);
            return 0;
        }
    }
    return -1;
}
