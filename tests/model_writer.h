/* SPDX-License-Identifier: GPL-3.0-or-later
 * Builds fgsd model files in memory for tests (docs/model-format.md), with
 * deterministic weights, and lets a test break them on purpose.
 *
 * Written independently of the engine's loader (own names, own half
 * conversion, zlib's crc32) so that the two check each other.
 *
 * Typical use:
 *     test_model_arch arch = test_model_arch_tiny();
 *     unsigned char *buf; size_t len;
 *     test_model_build(&arch, 42, TEST_MODEL_F32, &buf, &len);
 *     ... fgsd_model_load_memory(buf, len, ...) ...
 *     free(buf);
 * or, to corrupt a file: test_model_make, edit the header with the
 * test_model_patch_* helpers (or cJSON directly) or poke m.data,
 * test_model_update_checksum when the checksum should still match,
 * test_model_serialize, test_model_free.
 *
 * Every function returning int returns 0 on success, -1 on failure (bad
 * argument or out of memory). */
#ifndef FGSD_TEST_MODEL_WRITER_H
#define FGSD_TEST_MODEL_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define TEST_MODEL_MAX_LEVELS 6
#define TEST_MODEL_MAX_BLOCKS (2 * TEST_MODEL_MAX_LEVELS + 1)

typedef struct test_model_arch {
    int levels; /* L, 1..6 */
    int widths[TEST_MODEL_MAX_LEVELS + 1];
    int enc_convs, mid_convs, dec_convs;
    int n_features;
    const char *features[TEST_MODEL_MAX_BLOCKS]; /* block names, network order */
    int conditioned;
    int residual; /* "output": 1 "residual", 0 "clean" */
    int circular; /* "padding": 1 "circular", 0 "zeros" */
    int bias;
    float data_mean[3];
} test_model_arch;

/* Storage of the tensors. */
enum { TEST_MODEL_F32 = 0, TEST_MODEL_F16 = 1, TEST_MODEL_MIXED = 2 /* every other F16 */ };

/* A 2-level conditioned residual model, widths {4, 6, 8}, convs 1/2/2,
 * features enc0, mid, dec1, no bias, zero padding, mean {0.5, 0.25, 0.125}:
 * a few thousand weights, a file of a few KiB. */
test_model_arch test_model_arch_tiny(void);

typedef struct test_model {
    cJSON *header;       /* the whole safetensors header object: editable */
    unsigned char *data; /* the data section */
    size_t data_len;
} test_model;

/* Lays the model out as the exporter does: tensors in network order
 * (enc*, mid, dec* with up first, gains after their block, out last), each
 * begin aligned to 8 bytes, the checksum set.  Metadata: format,
 * format_version, arch, data_mean, checksum, recipe, description. */
int test_model_make(const test_model_arch *arch, uint64_t seed, int dtype, test_model *m);
void test_model_free(test_model *m);

/* u64 length, header padded with spaces to a multiple of 8, data.  *buf
 * comes from malloc. */
int test_model_serialize(const test_model *m, unsigned char **buf, size_t *len);

/* make + serialize + free. */
int test_model_build(const test_model_arch *arch, uint64_t seed, int dtype, unsigned char **buf,
                     size_t *len);

/* The value the writer stores at element index of tensor name: a multiple of
 * 1/1024 in [-0.5, 0.5] (gains: 1 + a multiple of 1/1024 in
 * [-0.125, 0.125]), so F16 files hold it exactly. */
float test_model_weight(uint64_t seed, const char *name, size_t index);

/* Header edits.  A NULL value (json) removes the entry. */
int test_model_set_meta(test_model *m, const char *key, const char *value);
/* Replaces one field of the arch metadata with a JSON text ("[0, 6, 8]"). */
int test_model_patch_arch(test_model *m, const char *field, const char *json);
/* Replaces one field of a tensor entry ("shape", "dtype", "data_offsets"). */
int test_model_patch_tensor(test_model *m, const char *tensor, const char *field,
                            const char *json);
int test_model_remove_tensor(test_model *m, const char *tensor);
/* The header entry of a tensor, or NULL. */
cJSON *test_model_tensor(const test_model *m, const char *tensor);
/* Its [begin, end) in the data section. */
int test_model_tensor_range(const test_model *m, const char *tensor, size_t *begin,
                            size_t *end);
/* Sets "checksum" to the CRC-32 of the current data. */
int test_model_update_checksum(test_model *m);

/* On serialized files: where the data section starts (0 if buf is not a
 * well-formed file), and recomputing the checksum in place after poking the
 * data (the header keeps its length). */
size_t test_model_data_start(const unsigned char *buf, size_t len);
int test_model_rechecksum(unsigned char *buf, size_t len);

#endif
