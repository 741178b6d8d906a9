/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * libFuzzer target: fgsd_model_load_memory on arbitrary bytes
 * (docs/fuzzing.md).
 *
 * Every input is loaded as it is.  Mutated weights almost never keep the
 * checksum right, so the input is also loaded a second time with its
 * "crc32:" text recomputed (tests/model_writer.h), which lets the fuzzer
 * reach the checks after the checksum (non-finite weights, metadata copy)
 * and run the architectures it invents.
 *
 * A model that loads must be usable: a reference-backend session is created
 * and one denoiser pass runs on an 8x8 image, with a projection when the
 * model is conditioned and without one.  Besides the sanitizers, the target
 * aborts when the API breaks its own contract: a status without a message,
 * a model pointer that does not match the status, a multi-line message,
 * inconsistent model info, or a loaded model that cannot run.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fgsd.h"
#include "model_writer.h"

#define SIDE 8
#define REF_SIDE 32

/* Contract violations are crashes, so that libFuzzer keeps the input. */
#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "fuzz_model_load: %s:%d: check failed: %s\n", __FILE__,   \
                    __LINE__, #cond);                                                  \
            abort();                                                                   \
        }                                                                              \
    } while (0)

static void check_message(const char *err, size_t errlen)
{
    size_t n = strnlen(err, errlen);

    CHECK(n < errlen);
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)err[i] >= 0x20 && err[i] != 0x7f);
}

static void check_info(const fgsd_model *model)
{
    fgsd_model_info info;
    int dim = 0;

    fgsd_model_get_info(model, &info);
    CHECK(info.format_version == FGSD_MODEL_FORMAT_VERSION);
    CHECK(info.channels == 3);
    CHECK(info.levels >= 1 && info.levels <= FGSD_MAX_LEVELS);
    CHECK(info.size_multiple == 1 << info.levels);
    for (int l = 0; l <= info.levels; l++)
        CHECK(info.widths[l] >= 1);
    for (int l = 0; l <= info.levels; l++)
        dim += 2 * info.widths[l];
    CHECK(info.feature_dim >= 0 && info.feature_dim <= dim);
    CHECK(info.conditioned ? info.feature_dim > 0 : info.feature_dim == 0);
    CHECK(fgsd_model_feature_dim(model) == info.feature_dim);
    CHECK(info.receptive_field > 0);
    CHECK(info.parameters > 0);
    CHECK(fgsd_model_metadata_count(model) >= 5); /* format, version, arch, mean, crc */
    for (int i = 0; i < fgsd_model_metadata_count(model); i++) {
        const char *key = fgsd_model_metadata_key(model, i);
        CHECK(key != NULL);
        CHECK(fgsd_model_metadata(model, key) != NULL);
    }
    CHECK(fgsd_model_metadata_key(model, fgsd_model_metadata_count(model)) == NULL);
}

/* Denoiser passes on a fixed 8x8 image, and phi of a 32x32 reference for a
 * conditioned model; they must succeed. */
static void run_model(const fgsd_model *model)
{
    fgsd_session_options opt = fgsd_session_options_default();
    fgsd_session *s = NULL;
    float x[SIDE * SIDE * 3], out[SIDE * SIDE * 3];
    float *phi = NULL, *ref = NULL;
    fgsd_reference *refd = NULL;
    int dim = fgsd_model_feature_dim(model);
    char err[256];
    fgsd_status st;

    opt.backend = FGSD_BACKEND_REFERENCE;
    opt.threads = 1;
    st = fgsd_session_create(model, &opt, &s, err, sizeof(err));
    if (st != FGSD_OK)
        fprintf(stderr, "fuzz_model_load: session: %s\n", err);
    CHECK(st == FGSD_OK && s != NULL);
    for (int i = 0; i < SIDE * SIDE * 3; i++)
        x[i] = (float)((i * 37) % 64) / 64.0f;
    if (dim > 0) {
        phi = malloc((size_t)dim * sizeof(float));
        CHECK(phi != NULL);
        for (int i = 0; i < dim; i++)
            phi[i] = 0.25f + (float)(i % 4) * 0.125f;
    }
    if (phi)
        CHECK(fgsd_reference_from_features(phi, dim, x, &refd) == FGSD_OK);
    st = fgsd_denoise(s, refd, x, SIDE, SIDE, out);
    if (st != FGSD_OK)
        fprintf(stderr, "fuzz_model_load: denoise: %s\n", fgsd_session_last_error(s));
    CHECK(st == FGSD_OK);
    if (phi) {
        st = fgsd_denoise(s, NULL, x, SIDE, SIDE, out);
        CHECK(st == FGSD_OK);
        /* phi of the smallest reference allowed, 32x32: in windows when the
         * file's feature_window is below 32 */
        ref = malloc((size_t)REF_SIDE * REF_SIDE * 3 * sizeof(float));
        CHECK(ref != NULL);
        for (int i = 0; i < REF_SIDE * REF_SIDE * 3; i++)
            ref[i] = (float)((i * 29) % 64) / 64.0f;
        st = fgsd_features(s, ref, REF_SIDE, REF_SIDE, NULL, phi);
        if (st != FGSD_OK)
            fprintf(stderr, "fuzz_model_load: features: %s\n", fgsd_session_last_error(s));
        CHECK(st == FGSD_OK);
        free(ref);
    }
    fgsd_reference_free(refd);
    free(phi);
    fgsd_session_free(s);
}

static void try_load(const uint8_t *data, size_t size)
{
    fgsd_model *model = (fgsd_model *)&model; /* must be overwritten */
    char err[256];
    fgsd_status st;

    memset(err, 'x', sizeof(err));
    st = fgsd_model_load_memory(data, size, &model, err, sizeof(err));
    check_message(err, sizeof(err));
    CHECK(fgsd_status_string(st) != NULL);
    if (st != FGSD_OK) {
        CHECK(model == NULL);
        CHECK(err[0] != '\0');
        return;
    }
    CHECK(model != NULL);
    CHECK(err[0] == '\0');
    check_info(model);
    run_model(model);
    fgsd_model_free(model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *copy;

    try_load(data, size);
    /* Again with the checksum made to match the (mutated) data. */
    if (size < 16)
        return 0;
    copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    if (test_model_rechecksum(copy, size) == 0 && memcmp(copy, data, size) != 0)
        try_load(copy, size);
    free(copy);
    return 0;
}
