/* SPDX-License-Identifier: GPL-3.0-or-later
 * The safetensors container (https://huggingface.co/docs/safetensors):
 * u64 header length, JSON header, data section.  Parsed from untrusted bytes
 * in two steps so that a caller can check the metadata (format version)
 * before it judges the tensor entries, whose rules a newer version may
 * change. */
#ifndef FGSD_SAFETENSORS_H
#define FGSD_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "fgsd.h"

/* A real header is a few KiB per hundred tensors; 16 MiB leaves room for any
 * model this engine can run while refusing to hand cJSON a giant input. */
#define ST_MAX_HEADER ((size_t)16 << 20)
/* The reference model is ~46 MB as F32; 2 GiB also keeps every byte offset
 * exact in the double that cJSON stores numbers in. */
#define ST_MAX_FILE ((size_t)1 << 31)
#define ST_MAX_DIMS 8
/* Bounds the duplicate-key scan; fgsd files carry about ten. */
#define ST_MAX_META 256

typedef enum st_dtype { ST_F16, ST_F32 } st_dtype;

typedef struct st_tensor {
    const char *name; /* borrowed from the header tree */
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t numel;
    size_t begin, end; /* byte offsets in the data section, [begin, end) */
    int used;          /* free for the caller: set when matched */
} st_tensor;

typedef struct st_file {
    cJSON *header;             /* owned: the parsed JSON header */
    const cJSON *metadata;     /* "__metadata__" (string values only), or NULL */
    st_tensor *tensors;        /* owned, sorted by name; NULL before st_index */
    size_t n_tensors;
    const unsigned char *data; /* borrowed: the data section of the buffer */
    size_t data_len;
} st_file;

/* Step 1: the length prefix, the JSON syntax, the metadata object.  Borrows
 * buf, which must outlive file.  On error file holds nothing to release, but
 * st_release is harmless. */
fgsd_status st_open(const unsigned char *buf, size_t len, st_file *file, char *msg,
                    size_t msglen);

/* Step 2: every tensor entry (dtype F32/F16, shape, offsets inside the data
 * section and matching the shape), no duplicates, no overlaps, and the last
 * tensor ending exactly at the end of the data. */
fgsd_status st_index(st_file *file, char *msg, size_t msglen);

/* The tensor called name, or NULL (after st_index). */
st_tensor *st_find(const st_file *file, const char *name);

/* A metadata string, or NULL when absent. */
const char *st_meta(const st_file *file, const char *key);

size_t st_dtype_size(st_dtype dtype);

void st_release(st_file *file);

#endif
