/* SPDX-License-Identifier: GPL-3.0-or-later
 * Loading a model file (docs/model-format.md) into struct fgsd_model, and
 * the model's public accessors.  The file is untrusted: every check of the
 * format's "Errors" section runs before a weight is read, in the order the
 * format lists them, so the status names the first thing that is wrong. */
#define _POSIX_C_SOURCE 200809L /* fstat, fileno */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "errmsg.h"
#include "half.h"
#include "model.h"
#include "model_arch.h"
#include "model_layout.h"
#include "model_meta.h"
#include "safetensors.h"

#define MSG_LEN 256

/* Fixed texts rather than strerror, which may use a static buffer. */
static const char *errno_text(int e)
{
    switch (e) {
    case ENOENT:
        return "no such file";
    case EACCES:
        return "permission denied";
    case EISDIR:
        return "is a folder";
    case ENOMEM:
        return "out of memory";
    case EIO:
        return "input/output error";
    default:
        return "system error";
    }
}

static fgsd_status read_file(const char *path, unsigned char **buf, size_t *len, char *msg,
                             size_t msglen)
{
    FILE *f;
    struct stat st;
    size_t size;
    fgsd_status status = FGSD_OK;

    *buf = NULL;
    f = fopen(path, "rb");
    if (f == NULL)
        return errmsg_set(msg, msglen, FGSD_ERR_IO, "cannot open: %s", errno_text(errno));
    if (fstat(fileno(f), &st) != 0) {
        status = errmsg_set(msg, msglen, FGSD_ERR_IO, "cannot stat: %s", errno_text(errno));
        goto out_close;
    }
    if (!S_ISREG(st.st_mode)) {
        status = errmsg_set(msg, msglen, FGSD_ERR_IO, "not a regular file");
        goto out_close;
    }
    if (st.st_size < 0 || (uintmax_t)st.st_size > ST_MAX_FILE) {
        status = errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                            "file is over the 2 GiB limit of model files");
        goto out_close;
    }
    size = (size_t)st.st_size;
    *buf = malloc(size > 0 ? size : 1);
    if (*buf == NULL) {
        status = errmsg_set(msg, msglen, FGSD_ERR_NO_MEMORY, "out of memory reading %zu bytes",
                            size);
        goto out_close;
    }
    if (fread(*buf, 1, size, f) != size) {
        status = errmsg_set(msg, msglen, FGSD_ERR_IO, "read error: %s",
                            ferror(f) ? errno_text(errno) : "the file shrank while reading");
        free(*buf);
        *buf = NULL;
        goto out_close;
    }
    *len = size;
out_close:
    fclose(f);
    return status;
}

static void format_shape(char *out, size_t outlen, int ndim, const int64_t *shape)
{
    size_t used = 0;

    out[0] = '\0';
    for (int d = 0; d < ndim && used < outlen; d++) {
        int n = snprintf(out + used, outlen - used, "%s%lld", d == 0 ? "[" : ", ",
                         (long long)shape[d]);
        if (n < 0)
            return;
        used += (size_t)n;
    }
    if (used < outlen)
        snprintf(out + used, outlen - used, "]");
}

/* Every expected tensor present with its exact shape, and nothing else. */
static fgsd_status match_tensors(const st_file *file, const model_layout *layout, char *msg,
                                 size_t msglen)
{
    char got[64], want[64];

    for (int i = 0; i < layout->n; i++) {
        const layout_tensor *lt = &layout->t[i];
        st_tensor *t = st_find(file, lt->name);

        if (t == NULL)
            return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                              "tensor '%s' is missing (file does not match its arch)", lt->name);
        if (t->ndim != lt->ndim ||
            memcmp(t->shape, lt->shape, sizeof(int64_t) * (size_t)lt->ndim) != 0) {
            format_shape(got, sizeof(got), t->ndim, t->shape);
            format_shape(want, sizeof(want), lt->ndim, lt->shape);
            return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                              "tensor '%s' has shape %s; its arch needs %s", lt->name, got, want);
        }
        t->used = 1;
    }
    for (size_t i = 0; i < file->n_tensors; i++) {
        if (!file->tensors[i].used)
            return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                              "unexpected tensor '%.60s' (file does not match its arch)",
                              file->tensors[i].name);
    }
    return FGSD_OK;
}

static float f32_le(const unsigned char *p)
{
    uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                    (uint32_t)p[3] << 24;
    float f;

    memcpy(&f, &bits, sizeof(f));
    return f;
}

/* Widens one tensor to floats (little-endian in the file, whatever the
 * host) and returns the index of its first non-finite value, or numel. */
static size_t widen(const st_tensor *t, const unsigned char *src, float *dst)
{
    size_t bad = t->numel;

    if (t->dtype == ST_F32) {
        for (size_t k = 0; k < t->numel; k++)
            dst[k] = f32_le(src + 4 * k);
    } else {
        for (size_t k = 0; k < t->numel; k++)
            dst[k] = half_to_float((uint16_t)(src[2 * k] | src[2 * k + 1] << 8));
    }
    for (size_t k = 0; k < t->numel; k++) {
        if (!isfinite(dst[k])) {
            bad = k;
            break;
        }
    }
    return bad;
}

static fgsd_status copy_weights(const st_file *file, const model_layout *layout, float *storage,
                                char *msg, size_t msglen)
{
    for (int i = 0; i < layout->n; i++) {
        const layout_tensor *lt = &layout->t[i];
        const st_tensor *t = st_find(file, lt->name);
        size_t bad = widen(t, file->data + t->begin, storage + lt->offset);

        if (bad != t->numel)
            return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                              "tensor '%s' holds a NaN or infinite weight (at index %zu): the "
                              "training diverged or the file is corrupt",
                              lt->name, bad);
    }
    return FGSD_OK;
}

/* One 64-byte aligned block for every float, so that backends may read
 * whole vectors and the model is freed with one call. */
static fgsd_status alloc_storage(const model_layout *layout, fgsd_model *model, char *msg,
                                 size_t msglen)
{
    size_t bytes;

    if (layout->storage_floats > (SIZE_MAX - 64) / sizeof(float))
        return errmsg_set(msg, msglen, FGSD_ERR_NO_MEMORY, "model too large for this machine");
    bytes = (layout->storage_floats * sizeof(float) + 63) / 64 * 64;
    model->storage = aligned_alloc(64, bytes > 0 ? bytes : 64);
    if (model->storage == NULL)
        return errmsg_set(msg, msglen, FGSD_ERR_NO_MEMORY,
                          "out of memory for %zu bytes of weights", bytes);
    /* The alignment padding between tensors is read by vector loads. */
    memset(model->storage, 0, bytes);
    return FGSD_OK;
}

/* The checks on the container and the metadata: everything but the data. */
static fgsd_status check_header(st_file *file, const unsigned char *buf, size_t len,
                                model_arch *arch, fgsd_model *model, char *msg, size_t msglen)
{
    const char *arch_json;
    fgsd_status status;

    status = st_open(buf, len, file, msg, msglen);
    if (status == FGSD_OK)
        status = meta_check_identity(file, &model->info.format_version, msg, msglen);
    if (status == FGSD_OK)
        status = meta_arch(file, &arch_json, msg, msglen);
    if (status == FGSD_OK)
        status = arch_parse(arch_json, arch, msg, msglen);
    if (status == FGSD_OK)
        status = meta_data_mean(file, model->info.data_mean, msg, msglen);
    if (status == FGSD_OK)
        status = st_index(file, msg, msglen);
    return status;
}

static fgsd_status load_buffer(const unsigned char *buf, size_t len, fgsd_model **out, char *msg,
                               size_t msglen)
{
    st_file file;
    model_arch arch;
    model_layout *layout = NULL;
    fgsd_model *model;
    fgsd_status status;

    memset(&file, 0, sizeof(file));
    model = calloc(1, sizeof(*model));
    layout = malloc(sizeof(*layout));
    if (model == NULL || layout == NULL) {
        status = errmsg_set(msg, msglen, FGSD_ERR_NO_MEMORY, "out of memory");
        goto out;
    }
    status = check_header(&file, buf, len, &arch, model, msg, msglen);
    if (status != FGSD_OK)
        goto out;
    status = layout_build(&arch, model, layout, msg, msglen);
    if (status != FGSD_OK)
        goto out;
    status = meta_feature_window(&file, model->info.size_multiple, &model->info.feature_window,
                                 msg, msglen);
    if (status != FGSD_OK)
        goto out;
    status = match_tensors(&file, layout, msg, msglen);
    if (status != FGSD_OK)
        goto out;
    status = meta_check_checksum(&file, msg, msglen);
    if (status != FGSD_OK)
        goto out;
    status = alloc_storage(layout, model, msg, msglen);
    if (status != FGSD_OK)
        goto out;
    status = copy_weights(&file, layout, model->storage, msg, msglen);
    if (status != FGSD_OK)
        goto out;
    layout_attach(layout, model->storage);
    status = meta_copy(&file, model, msg, msglen);
    if (status != FGSD_OK)
        goto out;
    *out = model;
    model = NULL;
out:
    fgsd_model_free(model);
    free(layout);
    st_release(&file);
    return status;
}

/* "name: msg" on one line: names and texts from the file may hold control
 * characters, which would break a log line or a dialog. */
static void report(char *err, size_t errlen, fgsd_status status, const char *name,
                   const char *msg)
{
    if (err == NULL || errlen == 0)
        return;
    if (status == FGSD_OK)
        err[0] = '\0';
    else if (name != NULL)
        snprintf(err, errlen, "%s: %s", name, msg);
    else
        snprintf(err, errlen, "%s", msg);
    for (char *p = err; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
}

fgsd_status fgsd_model_load_memory(const void *data, size_t size, fgsd_model **model, char *err,
                                   size_t errlen)
{
    char msg[MSG_LEN] = "";
    fgsd_status status;

    if (model != NULL)
        *model = NULL;
    if (data == NULL || model == NULL)
        status = errmsg_set(msg, sizeof(msg), FGSD_ERR_INVALID_ARGUMENT,
                            "fgsd_model_load_memory: data and model must not be NULL");
    else
        status = load_buffer(data, size, model, msg, sizeof(msg));
    report(err, errlen, status, NULL, msg);
    return status;
}

fgsd_status fgsd_model_load(const char *path, fgsd_model **model, char *err, size_t errlen)
{
    char msg[MSG_LEN] = "";
    unsigned char *buf = NULL;
    size_t len = 0;
    fgsd_status status;

    if (model != NULL)
        *model = NULL;
    if (path == NULL || model == NULL) {
        status = errmsg_set(msg, sizeof(msg), FGSD_ERR_INVALID_ARGUMENT,
                            "fgsd_model_load: path and model must not be NULL");
        report(err, errlen, status, NULL, msg);
        return status;
    }
    status = read_file(path, &buf, &len, msg, sizeof(msg));
    if (status == FGSD_OK)
        status = load_buffer(buf, len, model, msg, sizeof(msg));
    free(buf);
    report(err, errlen, status, path, msg);
    return status;
}

void fgsd_model_free(fgsd_model *model)
{
    if (model == NULL)
        return;
    for (int i = 0; i < model->n_meta; i++) {
        free(model->meta_key[i]);
        free(model->meta_value[i]);
    }
    free(model->storage);
    free(model);
}

void fgsd_model_get_info(const fgsd_model *model, fgsd_model_info *info)
{
    if (info == NULL)
        return;
    if (model == NULL)
        memset(info, 0, sizeof(*info));
    else
        *info = model->info;
}

const char *fgsd_model_metadata(const fgsd_model *model, const char *key)
{
    if (model == NULL || key == NULL)
        return NULL;
    for (int i = 0; i < model->n_meta; i++) {
        if (strcmp(model->meta_key[i], key) == 0)
            return model->meta_value[i];
    }
    return NULL;
}

int fgsd_model_metadata_count(const fgsd_model *model)
{
    return model != NULL ? model->n_meta : 0;
}

const char *fgsd_model_metadata_key(const fgsd_model *model, int i)
{
    if (model == NULL || i < 0 || i >= model->n_meta)
        return NULL;
    return model->meta_key[i];
}

int fgsd_model_feature_dim(const fgsd_model *model)
{
    return model != NULL ? model->info.feature_dim : 0;
}
