/* SPDX-License-Identifier: GPL-3.0-or-later
 * The safetensors container, parsed from untrusted bytes.  Every number is
 * range-checked before it becomes a size, and every size product is
 * overflow-checked, so nothing past the buffer is ever read. */
#include "safetensors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"

#define META_KEY "__metadata__"

static uint64_t read_u64le(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* cJSON stores numbers as doubles: accept only integers in [0, max]. */
static int json_uint(const cJSON *j, double max, uint64_t *out)
{
    double v;

    if (!cJSON_IsNumber(j))
        return 0;
    v = j->valuedouble;
    if (!isfinite(v) || v < 0 || v > max || floor(v) != v)
        return 0;
    *out = (uint64_t)v;
    return 1;
}

static int mul_size(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b)
        return 0;
    *out = a * b;
    return 1;
}

/* Duplicate keys are refused so that every reader of the file (cJSON finds
 * the first, Python's json the last) sees the same value. */
static fgsd_status check_metadata(const cJSON *meta, char *msg, size_t msglen)
{
    const cJSON *item;
    int n = 0;

    if (!cJSON_IsObject(meta))
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT, "header: " META_KEY " is not an object");
    cJSON_ArrayForEach(item, meta)
    {
        if (!cJSON_IsString(item))
            return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                              "header: metadata '%.40s' is not a string", item->string);
        if (++n > ST_MAX_META)
            return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                              "header: more than %d metadata entries", ST_MAX_META);
        for (const cJSON *prev = meta->child; prev != item; prev = prev->next) {
            if (strcmp(prev->string, item->string) == 0)
                return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                                  "header: metadata '%.40s' appears twice", item->string);
        }
    }
    return FGSD_OK;
}

fgsd_status st_open(const unsigned char *buf, size_t len, st_file *file, char *msg, size_t msglen)
{
    const char *header;
    const char *parse_end = NULL;
    uint64_t n;
    size_t hlen;
    const cJSON *item;
    fgsd_status status;

    memset(file, 0, sizeof(*file));
    if (len > ST_MAX_FILE)
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                          "file is %zu bytes, over the 2 GiB limit of model files", len);
    if (len < 8)
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                          "file is only %zu bytes (truncated, or not a model file)", len);
    n = read_u64le(buf);
    if (n > ST_MAX_HEADER)
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                          "header length %llu is over the 16 MiB limit (not a model file?)",
                          (unsigned long long)n);
    hlen = (size_t)n;
    if (hlen > len - 8)
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                          "header length %zu runs past the end of the file (%zu bytes): "
                          "truncated",
                          hlen, len);
    header = (const char *)buf + 8;
    /* safetensors requires the header to start with '{': it also rejects a
     * byte-swapped length that happens to land inside the file. */
    if (hlen < 2 || header[0] != '{')
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                          "header does not start with '{' (not a model file)");

    file->header = cJSON_ParseWithLengthOpts(header, hlen, &parse_end, 0);
    if (file->header == NULL) {
        size_t at = parse_end != NULL ? (size_t)(parse_end - header) : 0;
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                          "header is not valid JSON (near byte %zu): file corrupt", at);
    }
    /* The writer pads the header with spaces to align the data; anything
     * else after the JSON value is garbage. */
    for (const char *p = parse_end; p < header + hlen; p++) {
        if (!is_space((unsigned char)*p)) {
            status = errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                                "header has bytes after its JSON object (near byte %zu)",
                                (size_t)(p - header));
            goto out_free;
        }
    }
    if (!cJSON_IsObject(file->header)) {
        status = errmsg_set(msg, msglen, FGSD_ERR_FORMAT, "header is not a JSON object");
        goto out_free;
    }
    cJSON_ArrayForEach(item, file->header)
    {
        if (strcmp(item->string, META_KEY) != 0)
            continue;
        if (file->metadata != NULL) {
            status = errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                                "header has two " META_KEY " entries");
            goto out_free;
        }
        status = check_metadata(item, msg, msglen);
        if (status != FGSD_OK)
            goto out_free;
        file->metadata = item;
    }
    file->data = buf + 8 + hlen;
    file->data_len = len - 8 - hlen;
    return FGSD_OK;

out_free:
    st_release(file);
    return status;
}

static fgsd_status parse_dtype(const cJSON *entry, st_tensor *t, char *msg, size_t msglen)
{
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype");

    if (!cJSON_IsString(dtype))
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT, "tensor '%.60s' has no dtype", t->name);
    if (strcmp(dtype->valuestring, "F32") == 0) {
        t->dtype = ST_F32;
    } else if (strcmp(dtype->valuestring, "F16") == 0) {
        t->dtype = ST_F16;
    } else {
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                          "tensor '%.60s' has dtype '%.16s'; fgsd reads F32 and F16 only",
                          t->name, dtype->valuestring);
    }
    return FGSD_OK;
}

static fgsd_status parse_shape(const cJSON *entry, st_tensor *t, char *msg, size_t msglen)
{
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    const cJSON *dim;
    size_t numel = 1;

    if (!cJSON_IsArray(shape))
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT, "tensor '%.60s' has no shape", t->name);
    t->ndim = 0;
    cJSON_ArrayForEach(dim, shape)
    {
        uint64_t d;

        if (t->ndim == ST_MAX_DIMS)
            return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                              "tensor '%.60s' has more than %d dimensions", t->name, ST_MAX_DIMS);
        if (!json_uint(dim, (double)INT32_MAX, &d))
            return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                              "tensor '%.60s' has a shape entry that is not a size", t->name);
        t->shape[t->ndim++] = (int64_t)d;
        if (!mul_size(numel, (size_t)d, &numel))
            return errmsg_set(msg, msglen, FGSD_ERR_FORMAT, "tensor '%.60s' is impossibly large",
                              t->name);
    }
    t->numel = numel;
    return FGSD_OK;
}

static fgsd_status parse_offsets(const cJSON *entry, const st_file *file, st_tensor *t, char *msg,
                                 size_t msglen)
{
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    uint64_t begin, end;
    size_t bytes;

    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
        !json_uint(cJSON_GetArrayItem(offs, 0), (double)ST_MAX_FILE, &begin) ||
        !json_uint(cJSON_GetArrayItem(offs, 1), (double)ST_MAX_FILE, &end))
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                          "tensor '%.60s' has no valid data_offsets [begin, end]", t->name);
    if (begin > end)
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                          "tensor '%.60s' has data_offsets [%llu, %llu) that end before they "
                          "begin",
                          t->name, (unsigned long long)begin, (unsigned long long)end);
    if (end > file->data_len)
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                          "tensor '%.60s' lies at bytes [%llu, %llu), outside the %zu-byte data "
                          "section: file truncated or corrupt",
                          t->name, (unsigned long long)begin, (unsigned long long)end,
                          file->data_len);
    if (!mul_size(t->numel, st_dtype_size(t->dtype), &bytes))
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT, "tensor '%.60s' is impossibly large",
                          t->name);
    if (bytes != end - begin)
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                          "tensor '%.60s' takes %llu bytes but its shape and dtype need %zu",
                          t->name, (unsigned long long)(end - begin), bytes);
    t->begin = (size_t)begin;
    t->end = (size_t)end;
    return FGSD_OK;
}

static fgsd_status parse_entry(const cJSON *entry, const st_file *file, st_tensor *t, char *msg,
                               size_t msglen)
{
    fgsd_status status;

    t->name = entry->string;
    if (!cJSON_IsObject(entry))
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT, "tensor '%.60s' is not an object",
                          t->name);
    status = parse_dtype(entry, t, msg, msglen);
    if (status == FGSD_OK)
        status = parse_shape(entry, t, msg, msglen);
    if (status == FGSD_OK)
        status = parse_offsets(entry, file, t, msg, msglen);
    return status;
}

static int by_begin(const void *a, const void *b)
{
    const st_tensor *x = a, *y = b;

    return (x->begin > y->begin) - (x->begin < y->begin);
}

static int by_name(const void *a, const void *b)
{
    const st_tensor *x = a, *y = b;

    return strcmp(x->name, y->name);
}

/* Gaps are allowed (the exporter aligns each tensor to 8 bytes); overlaps
 * and trailing bytes are not. */
static fgsd_status check_layout(st_file *file, char *msg, size_t msglen)
{
    size_t last_end = 0;

    qsort(file->tensors, file->n_tensors, sizeof(st_tensor), by_begin);
    for (size_t i = 0; i < file->n_tensors; i++) {
        const st_tensor *t = &file->tensors[i];

        if (i > 0 && t->begin < file->tensors[i - 1].end)
            return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                              "tensors '%.60s' and '%.60s' overlap in the data section",
                              file->tensors[i - 1].name, t->name);
        last_end = t->end;
    }
    if (last_end != file->data_len)
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT,
                          "data section has %zu bytes but its tensors end at byte %zu",
                          file->data_len, last_end);

    qsort(file->tensors, file->n_tensors, sizeof(st_tensor), by_name);
    for (size_t i = 1; i < file->n_tensors; i++) {
        if (strcmp(file->tensors[i - 1].name, file->tensors[i].name) == 0)
            return errmsg_set(msg, msglen, FGSD_ERR_FORMAT, "tensor '%.60s' appears twice",
                              file->tensors[i].name);
    }
    return FGSD_OK;
}

fgsd_status st_index(st_file *file, char *msg, size_t msglen)
{
    const cJSON *entry;
    size_t n = 0;
    fgsd_status status;

    cJSON_ArrayForEach(entry, file->header)
    {
        if (entry != file->metadata)
            n++;
    }
    if (n == 0)
        return errmsg_set(msg, msglen, FGSD_ERR_FORMAT, "header lists no tensors");
    file->tensors = calloc(n, sizeof(st_tensor));
    if (file->tensors == NULL)
        return errmsg_set(msg, msglen, FGSD_ERR_NO_MEMORY, "out of memory indexing %zu tensors",
                          n);
    cJSON_ArrayForEach(entry, file->header)
    {
        if (entry == file->metadata)
            continue;
        status = parse_entry(entry, file, &file->tensors[file->n_tensors], msg, msglen);
        if (status != FGSD_OK)
            return status;
        file->n_tensors++;
    }
    return check_layout(file, msg, msglen);
}

st_tensor *st_find(const st_file *file, const char *name)
{
    st_tensor key;

    if (file->tensors == NULL)
        return NULL;
    memset(&key, 0, sizeof(key));
    key.name = name;
    return bsearch(&key, file->tensors, file->n_tensors, sizeof(st_tensor), by_name);
}

const char *st_meta(const st_file *file, const char *key)
{
    const cJSON *item;

    if (file->metadata == NULL)
        return NULL;
    item = cJSON_GetObjectItemCaseSensitive(file->metadata, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

size_t st_dtype_size(st_dtype dtype)
{
    return dtype == ST_F16 ? 2 : 4;
}

void st_release(st_file *file)
{
    if (file == NULL)
        return;
    cJSON_Delete(file->header);
    free(file->tensors);
    memset(file, 0, sizeof(*file));
}
