/* SPDX-License-Identifier: GPL-3.0-or-later
 * The model loader (engine/src/model_load.c) against files made by
 * tests/model_writer.c: valid files load with every field and weight as
 * written; every kind of broken file is refused with the right status, a
 * one-line message and no model. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>

#include <cmocka.h>

#include "fgsd.h"
#include "half.h"
#include "model.h"
#include "model_writer.h"

#define SEED 1234u
#define TMP_PATH "test_model_load.tmp.fgsd"

/* ---- helpers -------------------------------------------------------------- */

/* Loads a copy of exactly len bytes, so that valgrind and ASan see any read
 * past the end. */
static fgsd_status load_exact(const unsigned char *buf, size_t len, fgsd_model **model, char *err,
                              size_t errlen)
{
    unsigned char *copy = malloc(len > 0 ? len : 1);
    fgsd_status status;

    assert_non_null(copy);
    if (len > 0)
        memcpy(copy, buf, len);
    status = fgsd_model_load_memory(copy, len, model, err, errlen);
    free(copy);
    return status;
}

static void assert_one_line(const char *err)
{
    assert_true(strlen(err) > 0);
    assert_null(strchr(err, '\n'));
}

/* Expects a refusal: the status, no model, a one-line message. */
static void expect_refused(const unsigned char *buf, size_t len, fgsd_status want,
                           const char *case_name, const char *substr)
{
    fgsd_model *model = (fgsd_model *)&model; /* must be reset to NULL */
    char err[256] = "";
    fgsd_status status = load_exact(buf, len, &model, err, sizeof(err));

    if (status != want)
        fail_msg("%s: status %d (%s), want %d (%s); message: %s", case_name, status,
                 fgsd_status_string(status), want, fgsd_status_string(want), err);
    assert_null(model);
    assert_one_line(err);
    /* To review the wording of every message: FGSD_TEST_VERBOSE=1. */
    if (getenv("FGSD_TEST_VERBOSE") != NULL)
        print_message("%-32s %s\n", case_name, err);
    if (substr != NULL && strstr(err, substr) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", case_name, err, substr);
}

static size_t numel4(int a, int b, int c, int d)
{
    return (size_t)a * (size_t)b * (size_t)c * (size_t)d;
}

static void check_values(const float *w, const char *name, size_t numel)
{
    if (w == NULL)
        fail_msg("%s: no data", name);
    assert_int_equal((uintptr_t)w % 64, 0);
    for (size_t k = 0; k < numel; k++) {
        float want = test_model_weight(SEED, name, k);

        if (w[k] != want)
            fail_msg("%s[%zu] = %g, the writer wrote %g", name, k, (double)w[k], (double)want);
    }
}

static void check_conv(const model_conv *c, const char *prefix, int cin, int cout, int k,
                       int transposed, int bias)
{
    char name[40];

    assert_int_equal(c->cin, cin);
    assert_int_equal(c->cout, cout);
    assert_int_equal(c->k, k);
    assert_int_equal(c->transposed, transposed);
    snprintf(name, sizeof(name), "%s.weight", prefix);
    check_values(c->weight, name, numel4(cin, cout, k, k));
    if (bias) {
        snprintf(name, sizeof(name), "%s.bias", prefix);
        check_values(c->bias, name, (size_t)cout);
    } else {
        assert_null(c->bias);
    }
}

static int listed(const test_model_arch *a, const char *name)
{
    for (int f = 0; f < a->n_features; f++) {
        if (strcmp(a->features[f], name) == 0)
            return 1;
    }
    return 0;
}

/* The whole model against the arch the writer was given, walked here from
 * docs/model-format.md rather than from the loader's code. */
static void check_model(const fgsd_model *m, const test_model_arch *a)
{
    int L = a->levels;
    int phi = 0;
    int64_t params = 0;
    fgsd_model_info info;

    fgsd_model_get_info(m, &info);
    assert_int_equal(info.format_version, 1);
    assert_int_equal(info.channels, 3);
    assert_int_equal(info.levels, L);
    for (int i = 0; i <= L; i++)
        assert_int_equal(info.widths[i], a->widths[i]);
    assert_int_equal(info.conditioned, a->conditioned);
    assert_int_equal(info.output_residual, a->residual);
    assert_int_equal(info.size_multiple, 1 << L);
    assert_int_equal(info.feature_window, 0);
    for (int c = 0; c < 3; c++)
        assert_true(info.data_mean[c] == a->data_mean[c]);
    assert_int_equal(m->circular, a->circular);
    assert_int_equal(m->n_blocks, 2 * L + 1);

    for (int b = 0; b <= 2 * L; b++) {
        const model_block *blk = &m->block[b];
        int level = b <= L ? b : 2 * L - b;
        int w = a->widths[level];
        int convs = b < L ? a->enc_convs : b == L ? a->mid_convs : a->dec_convs;
        int cin = b < L ? (level == 0 ? 3 : a->widths[level - 1])
                        : b == L ? a->widths[L - 1] : 2 * w;
        char name[16], prefix[32];

        if (b < L)
            snprintf(name, sizeof(name), "enc%d", level);
        else if (b == L)
            snprintf(name, sizeof(name), "mid");
        else
            snprintf(name, sizeof(name), "dec%d", level);
        assert_string_equal(blk->name, name);
        assert_int_equal(blk->kind, b < L ? BLOCK_ENC : b == L ? BLOCK_MID : BLOCK_DEC);
        assert_int_equal(blk->level, level);
        assert_int_equal(blk->width, w);
        assert_int_equal(blk->n_convs, convs);
        if (b > L) {
            snprintf(prefix, sizeof(prefix), "%s.up", name);
            check_conv(&blk->up, prefix, a->widths[level + 1], w, 2, 1, a->bias);
            params += (int64_t)numel4(a->widths[level + 1], w, 2, 2) + (a->bias ? w : 0);
        }
        for (int j = 0; j < convs; j++) {
            snprintf(prefix, sizeof(prefix), "%s.conv%d", name, j);
            check_conv(&blk->conv[j], prefix, j == 0 ? cin : w, w, 3, 0, a->bias);
            params += (int64_t)numel4(j == 0 ? cin : w, w, 3, 3) + (a->bias ? w : 0);
        }
        if (a->conditioned && listed(a, name)) {
            snprintf(prefix, sizeof(prefix), "gain.%s", name);
            assert_true(blk->is_feature);
            assert_int_equal(blk->phi_offset, phi);
            check_values(blk->gain, prefix, (size_t)w);
            phi += w;
            params += w;
        } else {
            assert_false(blk->is_feature);
            assert_null(blk->gain);
        }
    }
    check_conv(&m->out, "out", a->widths[0], 3, 3, 0, a->bias);
    params += (int64_t)numel4(a->widths[0], 3, 3, 3) + (a->bias ? 3 : 0);
    assert_int_equal(info.feature_dim, phi);
    assert_int_equal(fgsd_model_feature_dim(m), phi);
    assert_int_equal(info.parameters, params);
}

static void load_and_check(const test_model_arch *a, int dtype)
{
    unsigned char *buf;
    size_t len;
    fgsd_model *model = NULL;
    char err[256] = "x";

    assert_int_equal(test_model_build(a, SEED, dtype, &buf, &len), 0);
    assert_int_equal(load_exact(buf, len, &model, err, sizeof(err)), FGSD_OK);
    assert_non_null(model);
    assert_string_equal(err, "");
    check_model(model, a);
    fgsd_model_free(model);
    free(buf);
}

/* ---- valid files ---------------------------------------------------------- */

static void test_tiny_f32(void **state)
{
    test_model_arch a = test_model_arch_tiny();
    fgsd_model_info info;
    fgsd_model *model = NULL;
    unsigned char *buf;
    size_t len;

    (void)state;
    load_and_check(&a, TEST_MODEL_F32);

    /* Numbers worked out by hand for this arch, as a check on check_model. */
    assert_int_equal(test_model_build(&a, SEED, TEST_MODEL_F32, &buf, &len), 0);
    assert_int_equal(load_exact(buf, len, &model, NULL, 0), FGSD_OK);
    fgsd_model_get_info(model, &info);
    assert_int_equal(info.feature_dim, 4 + 8 + 6);
    assert_int_equal(info.parameters, 3150);
    /* 1 + enc0 2 + pool 1 + enc1 4 + pool 2 + mid 16 + dec1 8 + dec0 4 + out 2 */
    assert_int_equal(info.receptive_field, 40);
    assert_int_equal(info.size_multiple, 4);
    assert_int_equal(model->block[3].phi_offset, 12);
    assert_float_equal(model->block[0].conv[0].weight[5],
                       test_model_weight(SEED, "enc0.conv0.weight", 5), 0);
    fgsd_model_free(model);
    free(buf);
}

static void test_tiny_f16(void **state)
{
    test_model_arch a = test_model_arch_tiny();

    (void)state;
    load_and_check(&a, TEST_MODEL_F16);
    load_and_check(&a, TEST_MODEL_MIXED);
}

static void test_variants(void **state)
{
    test_model_arch a = test_model_arch_tiny();

    (void)state;
    /* Biases, circular padding, clean output, unconditioned: the listed
     * feature blocks then carry no gains and phi is empty. */
    a.bias = 1;
    a.circular = 1;
    a.residual = 0;
    a.conditioned = 0;
    load_and_check(&a, TEST_MODEL_F32);
    load_and_check(&a, TEST_MODEL_F16);

    a.conditioned = 1;
    a.n_features = 5;
    a.features[0] = "enc0";
    a.features[1] = "enc1";
    a.features[2] = "mid";
    a.features[3] = "dec1";
    a.features[4] = "dec0";
    load_and_check(&a, TEST_MODEL_MIXED);

    /* One level, odd widths (gaps between F16 tensors), many convs. */
    a = test_model_arch_tiny();
    a.levels = 1;
    a.widths[0] = 3;
    a.widths[1] = 5;
    a.enc_convs = 3;
    a.mid_convs = 1;
    a.dec_convs = 4;
    a.n_features = 1;
    a.features[0] = "dec0";
    load_and_check(&a, TEST_MODEL_F16);
    load_and_check(&a, TEST_MODEL_F32);

    /* Six levels, the most the engine runs. */
    a = test_model_arch_tiny();
    a.levels = 6;
    for (int i = 0; i <= 6; i++)
        a.widths[i] = 1 + i % 3;
    a.n_features = 2;
    a.features[0] = "enc5";
    a.features[1] = "dec5";
    load_and_check(&a, TEST_MODEL_F32);
}

static int receptive_field(int levels, int enc, int mid, int dec)
{
    test_model_arch a = test_model_arch_tiny();
    unsigned char *buf;
    size_t len;
    fgsd_model *model = NULL;
    fgsd_model_info info;

    a.levels = levels;
    for (int i = 0; i <= levels; i++)
        a.widths[i] = 2;
    a.enc_convs = enc;
    a.mid_convs = mid;
    a.dec_convs = dec;
    a.n_features = 1;
    a.features[0] = "mid";
    assert_int_equal(test_model_build(&a, SEED, TEST_MODEL_F32, &buf, &len), 0);
    assert_int_equal(load_exact(buf, len, &model, NULL, 0), FGSD_OK);
    fgsd_model_get_info(model, &info);
    fgsd_model_free(model);
    free(buf);
    return info.receptive_field;
}

static void test_receptive_field(void **state)
{
    (void)state;
    /* model-format.md's example arch (convs 2/3/2) and the reference UNet of
     * method.md (2/3/4), 3 levels each; then the smallest net. */
    assert_int_equal(receptive_field(3, 2, 3, 2), 114);
    assert_int_equal(receptive_field(3, 2, 3, 4), 142);
    /* 1 + enc 2 + pool 1 + mid 4 + dec 2 + out 2 */
    assert_int_equal(receptive_field(1, 1, 1, 1), 12);
}

static void test_metadata(void **state)
{
    test_model_arch a = test_model_arch_tiny();
    test_model m;
    unsigned char *buf;
    size_t len;
    fgsd_model *model = NULL;

    (void)state;
    assert_int_equal(test_model_make(&a, SEED, TEST_MODEL_F32, &m), 0);
    assert_int_equal(test_model_set_meta(&m, "trained_on", "brodatz"), 0);
    assert_int_equal(test_model_set_meta(&m, "empty", ""), 0);
    assert_int_equal(test_model_set_meta(&m, "feature_window", "48"), 0);
    assert_int_equal(test_model_serialize(&m, &buf, &len), 0);
    test_model_free(&m);
    assert_int_equal(load_exact(buf, len, &model, NULL, 0), FGSD_OK);
    {
        fgsd_model_info info;

        fgsd_model_get_info(model, &info);
        assert_int_equal(info.feature_window, 48);
    }

    assert_string_equal(fgsd_model_metadata(model, "format"), "fgsd-model");
    assert_string_equal(fgsd_model_metadata(model, "format_version"), "1");
    assert_string_equal(fgsd_model_metadata(model, "description"),
                        "tests/model_writer.c test model");
    assert_string_equal(fgsd_model_metadata(model, "recipe"), "{\"data\": \"none\", \"steps\": 0}");
    assert_string_equal(fgsd_model_metadata(model, "trained_on"), "brodatz");
    assert_string_equal(fgsd_model_metadata(model, "empty"), "");
    assert_non_null(strstr(fgsd_model_metadata(model, "checksum"), "crc32:"));
    assert_null(fgsd_model_metadata(model, "Description"));
    assert_null(fgsd_model_metadata(model, "no such key"));
    assert_null(fgsd_model_metadata(model, NULL));
    assert_null(fgsd_model_metadata(NULL, "format"));
    fgsd_model_free(model);
    free(buf);
}

static int write_file(const char *path, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (f == NULL)
        return -1;
    ok = fwrite(buf, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static void test_load_file(void **state)
{
    test_model_arch a = test_model_arch_tiny();
    unsigned char *buf;
    size_t len;
    fgsd_model *model = NULL;
    char err[256] = "";

    (void)state;
    assert_int_equal(test_model_build(&a, SEED, TEST_MODEL_F16, &buf, &len), 0);
    assert_int_equal(write_file(TMP_PATH, buf, len), 0);
    assert_int_equal(fgsd_model_load(TMP_PATH, &model, err, sizeof(err)), FGSD_OK);
    check_model(model, &a);
    fgsd_model_free(model);

    /* A broken file on disk: the message starts with its path. */
    assert_int_equal(write_file(TMP_PATH, buf, len - 1), 0);
    assert_int_equal(fgsd_model_load(TMP_PATH, &model, err, sizeof(err)), FGSD_ERR_FORMAT);
    assert_null(model);
    assert_int_equal(strncmp(err, TMP_PATH ": ", strlen(TMP_PATH) + 2), 0);
    assert_one_line(err);
    remove(TMP_PATH);
    free(buf);

    assert_int_equal(fgsd_model_load("no/such/model.fgsd", &model, err, sizeof(err)),
                     FGSD_ERR_IO);
    assert_null(model);
    assert_non_null(strstr(err, "no/such/model.fgsd"));
    assert_one_line(err);
    assert_int_equal(fgsd_model_load(".", &model, err, sizeof(err)), FGSD_ERR_IO);
    assert_null(model);
    assert_one_line(err);
}

static void test_arguments(void **state)
{
    test_model_arch a = test_model_arch_tiny();
    unsigned char *buf;
    size_t len;
    fgsd_model *model = (fgsd_model *)&model;
    char err[256] = "";
    char tiny[8];
    fgsd_model_info info;

    (void)state;
    assert_int_equal(fgsd_model_load(NULL, &model, err, sizeof(err)), FGSD_ERR_INVALID_ARGUMENT);
    assert_null(model);
    assert_one_line(err);
    assert_int_equal(fgsd_model_load("x.fgsd", NULL, NULL, 0), FGSD_ERR_INVALID_ARGUMENT);
    model = (fgsd_model *)&model;
    assert_int_equal(fgsd_model_load_memory(NULL, 10, &model, err, sizeof(err)),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_null(model);
    assert_int_equal(fgsd_model_load_memory("x", 1, NULL, err, sizeof(err)),
                     FGSD_ERR_INVALID_ARGUMENT);

    /* Tiny or absent message buffers: truncated, terminated, never overrun. */
    assert_int_equal(test_model_build(&a, SEED, TEST_MODEL_F32, &buf, &len), 0);
    buf[len / 2] ^= 0x40; /* in the data: checksum */
    memset(tiny, 'z', sizeof(tiny));
    assert_int_equal(load_exact(buf, len, &model, tiny, 5), FGSD_ERR_CHECKSUM);
    assert_int_equal(strlen(tiny), 4);
    assert_int_equal(tiny[5], 'z');
    tiny[0] = 'z';
    assert_int_equal(load_exact(buf, len, &model, tiny, 1), FGSD_ERR_CHECKSUM);
    assert_int_equal(tiny[0], '\0');
    assert_int_equal(load_exact(buf, len, &model, NULL, 100), FGSD_ERR_CHECKSUM);
    assert_int_equal(load_exact(buf, len, &model, tiny, 0), FGSD_ERR_CHECKSUM);
    free(buf);

    fgsd_model_free(NULL);
    memset(&info, 0x55, sizeof(info));
    fgsd_model_get_info(NULL, &info);
    assert_int_equal(info.levels, 0);
    assert_int_equal(fgsd_model_feature_dim(NULL), 0);
}

static void test_status_strings(void **state)
{
    (void)state;
    for (int s = FGSD_OK; s <= FGSD_ERR_INTERNAL; s++) {
        const char *text = fgsd_status_string((fgsd_status)s);

        assert_non_null(text);
        assert_true(strlen(text) > 0);
        assert_string_not_equal(text, "unknown status");
        for (int t = FGSD_OK; t < s; t++)
            assert_string_not_equal(text, fgsd_status_string((fgsd_status)t));
    }
    assert_string_equal(fgsd_status_string((fgsd_status)999), "unknown status");
    assert_string_equal(fgsd_status_string((fgsd_status)-1), "unknown status");
}

static void test_half(void **state)
{
    static const struct {
        uint16_t h;
        float f;
    } cases[] = {
        {0x0000, 0.0f},           {0x3c00, 1.0f},        {0xc000, -2.0f},
        {0x3555, 0.333251953125f}, {0x7bff, 65504.0f},    {0x0400, 6.103515625e-05f},
        {0x0001, 5.9604644775390625e-08f},                {0x03ff, 6.097555160522461e-05f},
        {0x8001, -5.9604644775390625e-08f},               {0x0200, 3.0517578125e-05f},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (half_to_float(cases[i].h) != cases[i].f)
            fail_msg("half 0x%04x -> %.10g, want %.10g", cases[i].h,
                     (double)half_to_float(cases[i].h), (double)cases[i].f);
    }
    assert_true(signbit(half_to_float(0x8000)) && half_to_float(0x8000) == 0.0f);
    assert_true(isinf(half_to_float(0x7c00)) && half_to_float(0x7c00) > 0);
    assert_true(isinf(half_to_float(0xfc00)) && half_to_float(0xfc00) < 0);
    assert_true(isnan(half_to_float(0x7e00)));
    assert_true(isnan(half_to_float(0x7c01)));
}

/* ---- broken files --------------------------------------------------------- */

typedef struct broken_case {
    const char *name;
    int dtype;
    /* Edits the model before serialization (NULL: none). */
    void (*edit)(test_model *m);
    /* Edits the serialized bytes (NULL: none); may realloc *buf. */
    void (*poke)(unsigned char **buf, size_t *len);
    fgsd_status want;
    const char *substr; /* expected in the message, or NULL */
} broken_case;

#define EDIT_META(fn, key, value)                                                               \
    static void fn(test_model *m)                                                               \
    {                                                                                           \
        assert_int_equal(test_model_set_meta(m, key, value), 0);                                \
    }
#define EDIT_ARCH(fn, field, json)                                                              \
    static void fn(test_model *m)                                                               \
    {                                                                                           \
        assert_int_equal(test_model_patch_arch(m, field, json), 0);                             \
    }
#define EDIT_TENSOR(fn, tensor, field, json)                                                    \
    static void fn(test_model *m)                                                               \
    {                                                                                           \
        assert_int_equal(test_model_patch_tensor(m, tensor, field, json), 0);                   \
    }

EDIT_META(format_wrong, "format", "fgsd-weights")
EDIT_META(format_missing, "format", NULL)
EDIT_META(version_2, "format_version", "2")
EDIT_META(version_10, "format_version", "10")
EDIT_META(version_0, "format_version", "0")
EDIT_META(version_text, "format_version", "1.0")
EDIT_META(version_missing, "format_version", NULL)
EDIT_META(arch_missing, "arch", NULL)
EDIT_META(arch_not_json, "arch", "{\"widths\": [4, 6")
EDIT_META(arch_not_object, "arch", "[4, 6, 8]")
EDIT_META(arch_duplicate_field,
          "arch", "{\"channels\": 3, \"channels\": 3, \"widths\": [4, 6, 8], \"enc_convs\": 1, "
                  "\"mid_convs\": 2, \"dec_convs\": 2, \"feature_blocks\": [\"mid\"], "
                  "\"conditioned\": true, \"output\": \"residual\", \"padding\": \"zeros\", "
                  "\"bias\": false}")
EDIT_META(mean_missing, "data_mean", NULL)
EDIT_META(mean_short, "data_mean", "[0.5, 0.5]")
EDIT_META(mean_text, "data_mean", "[0.5, \"a\", 0.5]")
EDIT_META(mean_not_json, "data_mean", "0.5 0.5 0.5")
EDIT_META(window_odd, "feature_window", "30")
EDIT_META(window_small, "feature_window", "0")
EDIT_META(window_huge, "feature_window", "1e9")
EDIT_META(window_fraction, "feature_window", "32.5")
EDIT_META(window_string, "feature_window", "\"64\"")
EDIT_META(checksum_missing, "checksum", NULL)
EDIT_META(checksum_malformed, "checksum", "crc32:XYZ")
EDIT_META(checksum_upper, "checksum", "CRC32:00000000")
EDIT_META(checksum_wrong, "checksum", "crc32:00000000")
EDIT_ARCH(width_zero, "widths", "[0, 6, 8]")
EDIT_ARCH(width_big, "widths", "[4, 1025, 8]")
EDIT_ARCH(width_fraction, "widths", "[4, 6.5, 8]")
EDIT_ARCH(width_text, "widths", "[4, \"6\", 8]")
EDIT_ARCH(levels_7, "widths", "[4, 4, 4, 4, 4, 4, 4, 4]")
EDIT_ARCH(levels_0, "widths", "[4]")
EDIT_ARCH(widths_not_array, "widths", "4")
EDIT_ARCH(channels_4, "channels", "4")
EDIT_ARCH(channels_missing, "channels", NULL)
EDIT_ARCH(enc_convs_0, "enc_convs", "0")
EDIT_ARCH(mid_convs_9, "mid_convs", "9")
EDIT_ARCH(dec_convs_huge, "dec_convs", "1e300")
EDIT_ARCH(block_unknown, "feature_blocks", "[\"enc0\", \"attn\"]")
EDIT_ARCH(block_too_deep, "feature_blocks", "[\"enc0\", \"enc2\"]")
EDIT_ARCH(block_duplicate, "feature_blocks", "[\"enc0\", \"enc0\", \"mid\"]")
EDIT_ARCH(block_order, "feature_blocks", "[\"mid\", \"enc0\"]")
EDIT_ARCH(block_not_string, "feature_blocks", "[\"enc0\", 1]")
EDIT_ARCH(blocks_empty_conditioned, "feature_blocks", "[]")
EDIT_ARCH(conditioned_text, "conditioned", "\"yes\"")
EDIT_ARCH(bias_number, "bias", "0")
EDIT_ARCH(output_noise, "output", "\"noise\"")
EDIT_ARCH(padding_reflect, "padding", "\"reflect\"")
EDIT_ARCH(arch_unknown_field, "norm", "\"layer\"")
EDIT_TENSOR(shape_swapped, "enc0.conv0.weight", "shape", "[3, 4, 3, 3]")
EDIT_TENSOR(shape_3d, "enc0.conv0.weight", "shape", "[4, 9, 3]")
EDIT_TENSOR(shape_bigger, "out.weight", "shape", "[3, 4, 3, 4]")
EDIT_TENSOR(shape_negative, "out.weight", "shape", "[-3, -4, 3, 3]")
EDIT_TENSOR(shape_missing, "out.weight", "shape", NULL)
EDIT_TENSOR(dtype_f64, "mid.conv0.weight", "dtype", "\"F64\"")
EDIT_TENSOR(dtype_bf16, "mid.conv0.weight", "dtype", "\"BF16\"")
EDIT_TENSOR(dtype_f16_for_f32, "mid.conv0.weight", "dtype", "\"F16\"")
EDIT_TENSOR(dtype_missing, "mid.conv0.weight", "dtype", NULL)
EDIT_TENSOR(offsets_reversed, "enc0.conv0.weight", "data_offsets", "[432, 0]")
EDIT_TENSOR(offsets_negative, "enc0.conv0.weight", "data_offsets", "[-8, 424]")
EDIT_TENSOR(offsets_fraction, "enc0.conv0.weight", "data_offsets", "[0.5, 432.5]")
EDIT_TENSOR(offsets_huge, "enc0.conv0.weight", "data_offsets", "[1e300, 1e300]")
EDIT_TENSOR(offsets_three, "enc0.conv0.weight", "data_offsets", "[0, 432, 864]")
EDIT_TENSOR(offsets_text, "enc0.conv0.weight", "data_offsets", "[\"0\", \"432\"]")
EDIT_TENSOR(offsets_missing, "enc0.conv0.weight", "data_offsets", NULL)

static void tensor_missing(test_model *m)
{
    assert_int_equal(test_model_remove_tensor(m, "mid.conv1.weight"), 0);
}

static void gain_missing(test_model *m)
{
    assert_int_equal(test_model_remove_tensor(m, "gain.dec1"), 0);
}

/* Appends bytes to the data section (checksum updated): a place for a tensor
 * that overlaps nothing. */
static size_t grow_data(test_model *m, size_t extra)
{
    size_t at = m->data_len;
    unsigned char *data = realloc(m->data, m->data_len + extra);

    assert_non_null(data);
    memset(data + at, 0, extra);
    m->data = data;
    m->data_len += extra;
    return at;
}

static void add_entry(test_model *m, const char *name, const char *json)
{
    cJSON *entry = cJSON_Parse(json);

    assert_non_null(entry);
    cJSON_AddItemToObject(m->header, name, entry);
}

/* An F32 tensor in new bytes at the end of the data (checksum updated). */
static void add_tail_tensor(test_model *m, const char *name, const char *shape, size_t bytes)
{
    char json[160];
    size_t at = grow_data(m, bytes);

    snprintf(json, sizeof(json),
             "{\"dtype\": \"F32\", \"shape\": %s, \"data_offsets\": [%zu, %zu]}", shape, at,
             at + bytes);
    add_entry(m, name, json);
    assert_int_equal(test_model_update_checksum(m), 0);
}

static void tensor_extra(test_model *m)
{
    add_tail_tensor(m, "extra.bias", "[4]", 16);
}

static void bias_unexpected(test_model *m)
{
    add_tail_tensor(m, "out.bias", "[3]", 12);
}

static void gain_unconditioned(test_model *m)
{
    /* conditioned false: the gains in the file become unknown tensors. */
    assert_int_equal(test_model_patch_arch(m, "conditioned", "false"), 0);
}

static void tensor_duplicate(test_model *m)
{
    char *text = cJSON_PrintUnformatted(test_model_tensor(m, "out.weight"));

    assert_non_null(text);
    add_entry(m, "out.weight", text);
    free(text);
}

static void tensor_duplicate_apart(test_model *m)
{
    add_tail_tensor(m, "out.weight", "[3, 4, 3, 3]", 432);
}

static void tensor_not_object(test_model *m)
{
    add_entry(m, "gain.enc1", "[1, 2, 3]");
}

static void metadata_not_string(test_model *m)
{
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(m->header, "__metadata__");

    cJSON_AddNumberToObject(meta, "steps", 1000);
}

static void metadata_missing(test_model *m)
{
    cJSON_DeleteItemFromObjectCaseSensitive(m->header, "__metadata__");
}

static void metadata_twice(test_model *m)
{
    add_entry(m, "__metadata__", "{\"format\": \"fgsd-model\"}");
}

static void metadata_key_twice(test_model *m)
{
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(m->header, "__metadata__");

    cJSON_AddStringToObject(meta, "format_version", "2");
}

static void metadata_too_many(test_model *m)
{
    for (int i = 0; i < MODEL_MAX_META; i++) {
        char key[16];

        snprintf(key, sizeof(key), "note%d", i);
        assert_int_equal(test_model_set_meta(m, key, "x"), 0);
    }
}

static void no_tensors(test_model *m)
{
    cJSON *meta = cJSON_DetachItemFromObjectCaseSensitive(m->header, "__metadata__");

    cJSON_Delete(m->header);
    m->header = cJSON_CreateObject();
    cJSON_AddItemToObject(m->header, "__metadata__", meta);
    m->data_len = 0;
    assert_int_equal(test_model_update_checksum(m), 0);
}

static void overlap(test_model *m)
{
    size_t b0, e0, b1, e1;
    char json[64];

    /* enc1.conv0 moved 8 bytes into enc0.conv0, its size unchanged. */
    assert_int_equal(test_model_tensor_range(m, "enc0.conv0.weight", &b0, &e0), 0);
    assert_int_equal(test_model_tensor_range(m, "enc1.conv0.weight", &b1, &e1), 0);
    snprintf(json, sizeof(json), "[%zu, %zu]", b0 + 8, b0 + 8 + (e1 - b1));
    assert_int_equal(test_model_patch_tensor(m, "enc1.conv0.weight", "data_offsets", json), 0);
}

static void past_end(test_model *m)
{
    size_t b, e;
    char json[64];

    assert_int_equal(test_model_tensor_range(m, "enc0.conv0.weight", &b, &e), 0);
    snprintf(json, sizeof(json), "[%zu, %zu]", m->data_len, m->data_len + (e - b));
    assert_int_equal(test_model_patch_tensor(m, "enc0.conv0.weight", "data_offsets", json), 0);
}

static void trailing_data(test_model *m)
{
    grow_data(m, 8);
    assert_int_equal(test_model_update_checksum(m), 0);
}

/* A bad value inside a tensor, with the checksum recomputed so that the
 * finiteness check is what must catch it. */
static void put_value(test_model *m, const char *tensor, size_t index, uint32_t f32bits,
                      uint16_t f16bits)
{
    cJSON *dtype = cJSON_GetObjectItemCaseSensitive(test_model_tensor(m, tensor), "dtype");
    size_t b, e;

    assert_int_equal(test_model_tensor_range(m, tensor, &b, &e), 0);
    if (strcmp(dtype->valuestring, "F16") == 0) {
        m->data[b + 2 * index] = (unsigned char)(f16bits & 0xff);
        m->data[b + 2 * index + 1] = (unsigned char)(f16bits >> 8);
    } else {
        for (int i = 0; i < 4; i++)
            m->data[b + 4 * index + (size_t)i] = (unsigned char)(f32bits >> (8 * i));
    }
    assert_int_equal(test_model_update_checksum(m), 0);
}

static void nan_weight(test_model *m)
{
    put_value(m, "mid.conv1.weight", 17, 0x7fc00000u, 0x7e00u);
}

static void inf_weight(test_model *m)
{
    put_value(m, "out.weight", 0, 0xff800000u, 0xfc00u);
}

static void nan_gain(test_model *m)
{
    put_value(m, "gain.dec1", 5, 0x7f800001u, 0x7c01u);
}

static void inf_last(test_model *m)
{
    put_value(m, "dec0.conv1.weight", 143, 0x7f800000u, 0x7c00u);
}

/* Pokes at the serialized bytes. */
static void set_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void cut(size_t *len, size_t at)
{
    assert_true(at < *len);
    *len = at;
}

static void cut_in_length(unsigned char **buf, size_t *len)
{
    (void)buf;
    cut(len, 5);
}

static void cut_empty(unsigned char **buf, size_t *len)
{
    (void)buf;
    cut(len, 0);
}

static void cut_after_length(unsigned char **buf, size_t *len)
{
    (void)buf;
    cut(len, 8);
}

static void cut_in_header(unsigned char **buf, size_t *len)
{
    cut(len, test_model_data_start(*buf, *len) / 2);
}

static void cut_at_data(unsigned char **buf, size_t *len)
{
    cut(len, test_model_data_start(*buf, *len));
}

static void cut_in_data(unsigned char **buf, size_t *len)
{
    size_t start = test_model_data_start(*buf, *len);

    cut(len, start + (*len - start) / 2);
}

static void cut_one_byte(unsigned char **buf, size_t *len)
{
    (void)buf;
    cut(len, *len - 1);
}

static void length_huge(unsigned char **buf, size_t *len)
{
    (void)len;
    set_u64(*buf, UINT64_MAX);
}

static void length_17mib(unsigned char **buf, size_t *len)
{
    (void)len;
    set_u64(*buf, (uint64_t)17 << 20);
}

static void length_past_end(unsigned char **buf, size_t *len)
{
    set_u64(*buf, *len - 7);
}

static void length_zero(unsigned char **buf, size_t *len)
{
    (void)len;
    set_u64(*buf, 0);
}

static void length_short(unsigned char **buf, size_t *len)
{
    /* Cuts the JSON in the middle: the rest reads as data. */
    set_u64(*buf, (test_model_data_start(*buf, *len) - 8) / 2);
}

static unsigned char *find_in_header(unsigned char *buf, size_t len, const char *what)
{
    size_t start = test_model_data_start(buf, len);
    size_t n = strlen(what);

    for (size_t i = 8; i + n <= start; i++) {
        if (memcmp(buf + i, what, n) == 0)
            return buf + i;
    }
    fail_msg("'%s' not in the header", what);
    return NULL;
}

static void json_colon(unsigned char **buf, size_t *len)
{
    *find_in_header(*buf, *len, "\"dtype\":") ^= 0x01; /* '"' -> '#' */
}

static void json_brace(unsigned char **buf, size_t *len)
{
    (void)len;
    (*buf)[8] = '[';
}

static void json_bit_flip(unsigned char **buf, size_t *len)
{
    find_in_header(*buf, *len, "\"shape\":")[7] ^= 0x20; /* ':' -> 0x1a */
}

static void json_not_object(unsigned char **buf, size_t *len)
{
    size_t start = test_model_data_start(*buf, *len);

    memset(*buf + 8, ' ', start - 8);
    memcpy(*buf + 8, "{}", 2);
}

static void json_garbage_after(unsigned char **buf, size_t *len)
{
    /* Moves the data up by 8 bytes and puts "x" after the JSON value. */
    size_t start = test_model_data_start(*buf, *len);
    unsigned char *out = malloc(*len + 8);

    assert_non_null(out);
    memcpy(out, *buf, start);
    memset(out + start, ' ', 8);
    out[start + 3] = 'x';
    memcpy(out + start + 8, *buf + start, *len - start);
    set_u64(out, start - 8 + 8);
    free(*buf);
    *buf = out;
    *len += 8;
}

static void data_flip(unsigned char **buf, size_t *len)
{
    (*buf)[*len - 3] ^= 0x10;
}

static void data_flip_first(unsigned char **buf, size_t *len)
{
    (*buf)[test_model_data_start(*buf, *len)] ^= 0x80;
}

static void data_nan_rechecksum(unsigned char **buf, size_t *len)
{
    /* The first tensor (enc0.conv0.weight, F32): weight 3 becomes NaN. */
    size_t start = test_model_data_start(*buf, *len);

    set_u64(*buf + start + 8, 0); /* weights 2 and 3 = 0 */
    (*buf)[start + 15] = 0x7f;
    (*buf)[start + 14] = 0xc0;
    assert_int_equal(test_model_rechecksum(*buf, *len), 0);
}

#define F32 TEST_MODEL_F32
#define F16 TEST_MODEL_F16
#define MIX TEST_MODEL_MIXED
#define FMT FGSD_ERR_FORMAT
#define VER FGSD_ERR_VERSION
#define ARC FGSD_ERR_ARCHITECTURE
#define CRC FGSD_ERR_CHECKSUM

static const broken_case broken[] = {
    /* container */
    {"empty file", F32, NULL, cut_empty, FMT, "only 0 bytes"},
    {"cut inside the length", F32, NULL, cut_in_length, FMT, "truncated"},
    {"cut after the length", F32, NULL, cut_after_length, FMT, "runs past the end"},
    {"cut inside the header", F32, NULL, cut_in_header, FMT, "truncated"},
    {"cut at the data", F32, NULL, cut_at_data, FMT, "outside the 0-byte data section"},
    {"cut inside the data", F16, NULL, cut_in_data, FMT, "outside"},
    {"cut 1 byte short", F32, NULL, cut_one_byte, FMT, "truncated"},
    {"cut 1 byte short, F16", F16, NULL, cut_one_byte, FMT, "truncated"},
    {"header length 2^64-1", F32, NULL, length_huge, FMT, "16 MiB"},
    {"header length 17 MiB", F32, NULL, length_17mib, FMT, "16 MiB"},
    {"header length past the end", F32, NULL, length_past_end, FMT, "past the end"},
    {"header length 0", F32, NULL, length_zero, FMT, "'{'"},
    {"header length cuts the JSON", F32, NULL, length_short, FMT, "JSON"},
    {"JSON syntax: quote", F32, NULL, json_colon, FMT, "not valid JSON"},
    {"JSON syntax: bit flip", F32, NULL, json_bit_flip, FMT, "not valid JSON"},
    {"JSON not an object", F32, NULL, json_brace, FMT, NULL},
    {"JSON empty object", F32, NULL, json_not_object, FMT, "format"},
    {"garbage after the JSON", F32, NULL, json_garbage_after, FMT, "after its JSON"},
    /* metadata */
    {"no metadata", F32, metadata_missing, NULL, FMT, "not an fgsd model"},
    {"two metadata objects", F32, metadata_twice, NULL, FMT, "two"},
    {"metadata key twice", F32, metadata_key_twice, NULL, FMT, "twice"},
    {"metadata not a string", F32, metadata_not_string, NULL, FMT, "steps"},
    {"too many metadata entries", F32, metadata_too_many, NULL, FMT, "metadata entries"},
    {"wrong format", F32, format_wrong, NULL, FMT, "fgsd-weights"},
    {"no format", F32, format_missing, NULL, FMT, "not an fgsd model"},
    {"version 2", F32, version_2, NULL, VER,
     "format version 2 is newer than this fgsd reads (1); update fgsd"},
    {"version 10", F32, version_10, NULL, VER, "update fgsd"},
    {"version 0", F32, version_0, NULL, VER, "'0'"},
    {"version 1.0", F32, version_text, NULL, VER, "'1.0'"},
    {"no version", F32, version_missing, NULL, FMT, "format_version"},
    /* arch */
    {"no arch", F32, arch_missing, NULL, FMT, "arch"},
    {"arch not JSON", F32, arch_not_json, NULL, FMT, "arch"},
    {"arch not an object", F32, arch_not_object, NULL, FMT, "arch"},
    {"arch field twice", F32, arch_duplicate_field, NULL, ARC, "twice"},
    {"arch unknown field", F32, arch_unknown_field, NULL, ARC, "norm"},
    {"width 0", F32, width_zero, NULL, ARC, "widths[0]"},
    {"width 1025", F32, width_big, NULL, ARC, "widths[1]"},
    {"width 6.5", F32, width_fraction, NULL, ARC, "widths[1]"},
    {"width a string", F32, width_text, NULL, ARC, "widths[1]"},
    {"widths not an array", F32, widths_not_array, NULL, ARC, "widths"},
    {"7 levels", F32, levels_7, NULL, ARC, "7 levels"},
    {"0 levels", F32, levels_0, NULL, ARC, "0 levels"},
    {"channels 4", F32, channels_4, NULL, ARC, "channels"},
    {"no channels", F32, channels_missing, NULL, ARC, "channels"},
    {"enc_convs 0", F32, enc_convs_0, NULL, ARC, "enc_convs"},
    {"mid_convs 9", F32, mid_convs_9, NULL, ARC, "mid_convs"},
    {"dec_convs 1e300", F32, dec_convs_huge, NULL, ARC, "dec_convs"},
    {"unknown block", F32, block_unknown, NULL, ARC, "attn"},
    {"block deeper than the net", F32, block_too_deep, NULL, ARC, "enc2"},
    {"duplicate block", F32, block_duplicate, NULL, ARC, "twice"},
    {"blocks out of order", F32, block_order, NULL, ARC, "order"},
    {"block not a string", F32, block_not_string, NULL, ARC, NULL},
    {"conditioned, no blocks", F32, blocks_empty_conditioned, NULL, ARC, "feature block"},
    {"conditioned a string", F32, conditioned_text, NULL, ARC, "conditioned"},
    {"bias a number", F32, bias_number, NULL, ARC, "bias"},
    {"output noise", F32, output_noise, NULL, ARC, "output"},
    {"padding reflect", F32, padding_reflect, NULL, ARC, "padding"},
    {"no data_mean", F32, mean_missing, NULL, FMT, "data_mean"},
    {"data_mean of 2", F32, mean_short, NULL, FMT, "data_mean"},
    {"data_mean with text", F32, mean_text, NULL, FMT, "data_mean"},
    {"data_mean not JSON", F32, mean_not_json, NULL, FMT, "data_mean"},
    {"feature_window not a multiple", F32, window_odd, NULL, FMT, "feature_window"},
    {"feature_window 0", F32, window_small, NULL, FMT, "feature_window"},
    {"feature_window 1e9", F32, window_huge, NULL, FMT, "feature_window"},
    {"feature_window 32.5", F32, window_fraction, NULL, FMT, "feature_window"},
    {"feature_window a string", F32, window_string, NULL, FMT, "feature_window"},
    /* tensors */
    {"no tensors", F32, no_tensors, NULL, FMT, "no tensors"},
    {"missing tensor", F32, tensor_missing, NULL, FMT, "mid.conv1.weight"},
    {"missing gain", F16, gain_missing, NULL, FMT, "gain.dec1"},
    {"extra tensor", F32, tensor_extra, NULL, FMT, "extra.bias"},
    {"bias in a bias-free net", F32, bias_unexpected, NULL, FMT, "out.bias"},
    {"gains in an unconditioned net", F32, gain_unconditioned, NULL, FMT, "gain."},
    {"tensor twice", F32, tensor_duplicate, NULL, FMT, "out.weight"},
    {"tensor twice, apart", F32, tensor_duplicate_apart, NULL, FMT, "twice"},
    {"tensor entry not an object", F32, tensor_not_object, NULL, FMT, "gain.enc1"},
    {"shape swapped", F32, shape_swapped, NULL, FMT, "[4, 3, 3, 3]"},
    {"shape 3-d", F32, shape_3d, NULL, FMT, "enc0.conv0.weight"},
    {"shape bigger than the data", F32, shape_bigger, NULL, FMT, "out.weight"},
    {"shape negative", F32, shape_negative, NULL, FMT, "out.weight"},
    {"no shape", F32, shape_missing, NULL, FMT, "out.weight"},
    {"dtype F64", F32, dtype_f64, NULL, FMT, "F64"},
    {"dtype BF16", F16, dtype_bf16, NULL, FMT, "BF16"},
    {"dtype F16 on F32 data", F32, dtype_f16_for_f32, NULL, FMT, "mid.conv0.weight"},
    {"no dtype", F32, dtype_missing, NULL, FMT, "dtype"},
    {"overlapping tensors", F32, overlap, NULL, FMT, "overlap"},
    {"tensor past the end", F32, past_end, NULL, FMT, "outside"},
    {"offsets reversed", F32, offsets_reversed, NULL, FMT, "end before"},
    {"offsets negative", F32, offsets_negative, NULL, FMT, "data_offsets"},
    {"offsets fractional", F32, offsets_fraction, NULL, FMT, "data_offsets"},
    {"offsets 1e300", F32, offsets_huge, NULL, FMT, "data_offsets"},
    {"three offsets", F32, offsets_three, NULL, FMT, "data_offsets"},
    {"offsets strings", F32, offsets_text, NULL, FMT, "data_offsets"},
    {"no offsets", F32, offsets_missing, NULL, FMT, "data_offsets"},
    {"bytes after the last tensor", F32, trailing_data, NULL, FMT, "tensors end"},
    /* checksum */
    {"no checksum", F32, checksum_missing, NULL, FMT, "checksum"},
    {"checksum malformed", F32, checksum_malformed, NULL, FMT, "checksum"},
    {"checksum upper case", F32, checksum_upper, NULL, FMT, "checksum"},
    {"checksum wrong", F32, checksum_wrong, NULL, CRC, "crc32:00000000"},
    {"data byte flipped", F32, NULL, data_flip, CRC, "corrupt"},
    {"first data byte flipped", F16, NULL, data_flip_first, CRC, "corrupt"},
    /* values */
    {"NaN weight", F32, nan_weight, NULL, FMT, "mid.conv1.weight"},
    {"NaN weight, F16", F16, nan_weight, NULL, FMT, "index 17"},
    {"-Inf weight", F32, inf_weight, NULL, FMT, "out.weight"},
    {"-Inf weight, F16", F16, inf_weight, NULL, FMT, "out.weight"},
    {"NaN gain", MIX, nan_gain, NULL, FMT, "gain.dec1"},
    {"Inf last weight", MIX, inf_last, NULL, FMT, "index 143"},
    {"NaN poked, checksum redone", F32, NULL, data_nan_rechecksum, FMT, "enc0.conv0.weight"},
};

static void make_broken(const broken_case *c, unsigned char **buf, size_t *len)
{
    test_model_arch a = test_model_arch_tiny();
    test_model m;

    assert_int_equal(test_model_make(&a, SEED, c->dtype, &m), 0);
    if (c->edit != NULL)
        c->edit(&m);
    assert_int_equal(test_model_serialize(&m, buf, len), 0);
    test_model_free(&m);
    if (c->poke != NULL)
        c->poke(buf, len);
}

static void test_broken_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        unsigned char *buf;
        size_t len;

        make_broken(&broken[i], &buf, &len);
        expect_refused(buf, len, broken[i].want, broken[i].name, broken[i].substr);
        free(buf);
    }
}

/* The status must be a real one and agree with the model pointer. */
static void load_any(const unsigned char *buf, size_t len, const char *what, size_t at)
{
    fgsd_model *model = (fgsd_model *)&model;
    char err[256] = "";
    fgsd_status status = load_exact(buf, len, &model, err, sizeof(err));

    if ((int)status < (int)FGSD_OK || (int)status > (int)FGSD_ERR_INTERNAL)
        fail_msg("%s at %zu: status %d", what, at, status);
    if (status == FGSD_OK) {
        assert_non_null(model);
        fgsd_model_free(model);
    } else {
        assert_null(model);
        if (strlen(err) == 0 || strchr(err, '\n') != NULL)
            fail_msg("%s at %zu: bad message \"%s\"", what, at, err);
    }
}

static void test_truncated_everywhere(void **state)
{
    static const int dtypes[] = {F32, F16, MIX};
    test_model_arch a = test_model_arch_tiny();

    (void)state;
    for (size_t d = 0; d < sizeof(dtypes) / sizeof(dtypes[0]); d++) {
        unsigned char *buf;
        size_t len;

        assert_int_equal(test_model_build(&a, SEED, dtypes[d], &buf, &len), 0);
        for (size_t n = 0; n < len; n++) {
            fgsd_model *model = (fgsd_model *)&model;
            fgsd_status status = load_exact(buf, n, &model, NULL, 0);

            if (status == FGSD_OK || model != NULL)
                fail_msg("dtype %d cut to %zu of %zu bytes: status %d", dtypes[d], n, len,
                         status);
        }
        free(buf);
    }
}

/* Every broken file, cut at its section boundaries and at a spread of other
 * lengths: still refused, never a crash. */
static void test_broken_truncated(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        unsigned char *buf;
        size_t len, start;

        make_broken(&broken[i], &buf, &len);
        start = test_model_data_start(buf, len);
        for (size_t n = 0; n < len; n++) {
            int boundary = n <= 9 || (start > 0 && n + 2 >= start && n <= start + 2) ||
                           n + 9 >= len;

            if (boundary || n % 97 == 0) {
                fgsd_model *model = (fgsd_model *)&model;
                fgsd_status status = load_exact(buf, n, &model, NULL, 0);

                if (status == FGSD_OK || model != NULL)
                    fail_msg("%s cut to %zu of %zu: status %d", broken[i].name, n, len, status);
            }
        }
        free(buf);
    }
}

/* Each header byte (and the first data bytes) replaced by three values: any
 * status may come back (a flipped letter in a description is still a valid
 * file) but never a crash, a leak or a half-made model. */
static void test_header_bytes_mutated(void **state)
{
    static const unsigned char values[] = {0x00, 0xff, '"'};
    test_model_arch a = test_model_arch_tiny();
    unsigned char *buf;
    size_t len, start;

    (void)state;
    assert_int_equal(test_model_build(&a, SEED, TEST_MODEL_MIXED, &buf, &len), 0);
    start = test_model_data_start(buf, len);
    for (size_t at = 0; at < start + 8; at++) {
        unsigned char keep = buf[at];

        for (size_t v = 0; v < sizeof(values); v++) {
            buf[at] = values[v];
            load_any(buf, len, "header byte", at);
        }
        buf[at] = keep;
    }
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_f32),
        cmocka_unit_test(test_tiny_f16),
        cmocka_unit_test(test_variants),
        cmocka_unit_test(test_receptive_field),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_half),
        cmocka_unit_test(test_broken_files),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_broken_truncated),
        cmocka_unit_test(test_header_bytes_mutated),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
