/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Metadata key names from a model file's header (see model_keys.h and
 * docs/model-format.md: u64 little-endian header length, then JSON).
 */
#define _POSIX_C_SOURCE 200809L

#include "model_keys.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* safetensors' own limit on the header size. */
#define HEADER_MAX (100u << 20)

static char *read_header(const char *path, size_t *len)
{
    unsigned char b[8];
    uint64_t n = 0;
    char *text = NULL;
    FILE *fp = fopen(path, "rb");

    if (!fp)
        return NULL;
    if (fread(b, 1, 8, fp) != 8)
        goto out;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | b[i];
    if (n == 0 || n > HEADER_MAX)
        goto out;
    text = malloc((size_t)n);
    if (text && fread(text, 1, (size_t)n, fp) != (size_t)n) {
        free(text);
        text = NULL;
    }
    *len = (size_t)n;
out:
    fclose(fp);
    return text;
}

int model_keys_read(const char *path, char ***keys, int *n)
{
    size_t len = 0;
    char *text = read_header(path, &len);
    cJSON *root = NULL, *meta, *item;
    char **names = NULL;
    int count = 0, ret = -1;

    *keys = NULL;
    *n = 0;
    if (!text)
        return -1;
    root = cJSON_ParseWithLength(text, len);
    meta = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
    if (!cJSON_IsObject(meta))
        goto out;
    names = calloc((size_t)cJSON_GetArraySize(meta) + 1, sizeof *names);
    if (!names)
        goto out;
    cJSON_ArrayForEach(item, meta)
    {
        if (!item->string)
            continue;
        names[count] = strdup(item->string);
        if (!names[count])
            goto out;
        count++;
    }
    *keys = names;
    *n = count;
    names = NULL;
    ret = 0;
out:
    model_keys_free(names, count);
    cJSON_Delete(root);
    free(text);
    return ret;
}

void model_keys_free(char **keys, int n)
{
    if (!keys)
        return;
    for (int i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
}
