/* SPDX-License-Identifier: GPL-3.0-or-later
 * The fgsd entries of a model file's __metadata__. */
#include "model_meta.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <zlib.h>

#include "errmsg.h"
#include "model.h"

#define FORMAT_NAME "fgsd-model"
#define CHECKSUM_PREFIX "crc32:"

/* A canonical decimal above FGSD_MODEL_FORMAT_VERSION: a newer exporter,
 * which deserves an "update fgsd" rather than a "corrupt file". */
static int is_newer_version(const char *v)
{
    size_t n = strlen(v);

    if (n == 0 || n > 9 || v[0] == '0' || strspn(v, "0123456789") != n)
        return 0;
    return atol(v) > FGSD_MODEL_FORMAT_VERSION;
}

fgsd_status meta_check_identity(const st_file *file, int *version, char *msg, size_t msglen)
{
    const char *format = st_meta(file, "format");
    const char *v = st_meta(file, "format_version");

    if (format == NULL)
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                          "no 'format' metadata: a safetensors file, but not an fgsd model");
    if (strcmp(format, FORMAT_NAME) != 0)
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                          "format is '%.40s', not '" FORMAT_NAME "': not an fgsd model", format);
    if (v == NULL)
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT, "no 'format_version' metadata");
    if (is_newer_version(v))
        return errmsg_set(msg, msglen, FGSD_ERR_VERSION,
                          "format version %s is newer than this fgsd reads (%d); update fgsd", v,
                          FGSD_MODEL_FORMAT_VERSION);
    if (strcmp(v, "1") != 0)
        return errmsg_set(msg, msglen, FGSD_ERR_VERSION,
                          "format version '%.20s' is not one this fgsd reads (%d)", v,
                          FGSD_MODEL_FORMAT_VERSION);
    *version = 1;
    return FGSD_OK;
}

fgsd_status meta_arch(const st_file *file, const char **arch, char *msg, size_t msglen)
{
    *arch = st_meta(file, "arch");
    if (*arch == NULL)
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT, "no 'arch' metadata");
    return FGSD_OK;
}

fgsd_status meta_feature_window(const st_file *file, int size_multiple, int *window, char *msg,
                                size_t msglen)
{
    const char *text = st_meta(file, "feature_window");
    cJSON *root;
    fgsd_status status = FGSD_OK;
    double v;

    *window = 0;
    if (text == NULL)
        return FGSD_OK;
    root = cJSON_Parse(text);
    v = cJSON_IsNumber(root) ? root->valuedouble : -1.0;
    cJSON_Delete(root);
    if (!(v >= size_multiple && v <= FGSD_MAX_SIDE) || v != floor(v) ||
        (int)v % size_multiple != 0)
        status = errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                            "metadata 'feature_window' is not a multiple of %d in %d..%d",
                            size_multiple, size_multiple, FGSD_MAX_SIDE);
    else
        *window = (int)v;
    return status;
}

fgsd_status meta_data_mean(const st_file *file, float mean[3], char *msg, size_t msglen)
{
    const char *text = st_meta(file, "data_mean");
    cJSON *root;
    const cJSON *item;
    fgsd_status status = FGSD_OK;
    int n = 0;

    if (text == NULL)
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT, "no 'data_mean' metadata");
    root = cJSON_Parse(text);
    if (!cJSON_IsArray(root) || cJSON_GetArraySize(root) != 3) {
        status = errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                            "metadata 'data_mean' is not a JSON array of 3 numbers");
        goto out;
    }
    cJSON_ArrayForEach(item, root)
    {
        if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) ||
            fabs(item->valuedouble) > 1e6) {
            status = errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                                "metadata 'data_mean' has an entry that is not a finite number");
            goto out;
        }
        mean[n++] = (float)item->valuedouble;
    }
out:
    cJSON_Delete(root);
    return status;
}

static int parse_hex32(const char *s, unsigned long *out)
{
    unsigned long v = 0;

    if (strlen(s) != 8 || strspn(s, "0123456789abcdef") != 8)
        return 0;
    for (int i = 0; i < 8; i++)
        v = (v << 4) | (unsigned long)(s[i] <= '9' ? s[i] - '0' : s[i] - 'a' + 10);
    *out = v;
    return 1;
}

fgsd_status meta_check_checksum(const st_file *file, char *msg, size_t msglen)
{
    const char *text = st_meta(file, "checksum");
    size_t prefix = strlen(CHECKSUM_PREFIX);
    unsigned long want, got;

    if (text == NULL)
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT, "no 'checksum' metadata");
    if (strncmp(text, CHECKSUM_PREFIX, prefix) != 0 || !parse_hex32(text + prefix, &want))
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                          "metadata 'checksum' is not \"crc32:\" and 8 lowercase hex digits");
    got = crc32_z(crc32_z(0L, Z_NULL, 0), file->data, file->data_len);
    if (got != want)
        return errmsg_set(msg, msglen, FGSD_ERR_CHECKSUM,
                          "data checksum is crc32:%08lx but the file says crc32:%08lx: the file "
                          "is corrupt; download or export it again",
                          got, want);
    return FGSD_OK;
}

static char *copy_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);

    if (c != NULL)
        memcpy(c, s, n);
    return c;
}

fgsd_status meta_copy(const st_file *file, fgsd_model *model, char *msg, size_t msglen)
{
    const cJSON *item;

    if (file->metadata == NULL)
        return FGSD_OK;
    if (cJSON_GetArraySize(file->metadata) > MODEL_MAX_META)
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT, "more than %d metadata entries",
                          MODEL_MAX_META);
    cJSON_ArrayForEach(item, file->metadata)
    {
        int i = model->n_meta;

        model->meta_key[i] = copy_string(item->string);
        model->meta_value[i] = copy_string(item->valuestring);
        /* Counted before the check so fgsd_model_free frees a half pair. */
        model->n_meta++;
        if (model->meta_key[i] == NULL || model->meta_value[i] == NULL)
            return errmsg_set(msg, msglen, FGSD_ERR_NO_MEMORY, "out of memory copying metadata");
    }
    return FGSD_OK;
}
