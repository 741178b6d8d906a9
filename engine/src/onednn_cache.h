/* SPDX-License-Identifier: GPL-3.0-or-later
 * The oneDNN backend's primitive cache: every primitive it runs is created
 * once per op and shape and kept here, together with the reorders and the
 * temporary buffers that op needs around it.  Owned by one backend state, so
 * like the session it is not thread-safe. */
#ifndef FGSD_ONEDNN_CACHE_H
#define FGSD_ONEDNN_CACHE_H

#include <oneapi/dnnl/dnnl.h>

typedef enum onednn_op {
    ONEDNN_CONV = 1,
    ONEDNN_DECONV,
    ONEDNN_POOL,
    ONEDNN_CONCAT,
    ONEDNN_ADD_CHANNEL,
    ONEDNN_UPLOAD,
    ONEDNN_DOWNLOAD,
} onednn_op;

/* What a primitive depends on.  Tensor layouts are a function of the channel
 * count (backend_onednn.c), so shapes are enough, except that conv entries
 * are per prepared conv: they may hold that conv's weights reordered for the
 * layout the primitive of this size wants. */
typedef struct onednn_key {
    onednn_op op;
    unsigned conv; /* conv ops: the prepared conv's id; 0 otherwise */
    int c0, c1;    /* in and out channels (concat: the two inputs) */
    int h, w;      /* input size */
    int flags;     /* conv: ONEDNN_RELU | ONEDNN_BIAS */
} onednn_key;

#define ONEDNN_RELU 1
#define ONEDNN_BIAS 2

/* One primitive and its scratchpad memory object (NULL when it needs none).
 * The scratchpad has no buffer of its own: the backend points it at its
 * shared scratch buffer before each execution. */
typedef struct onednn_step {
    dnnl_primitive_t prim;
    dnnl_memory_t scratchpad;
} onednn_step;

typedef struct onednn_entry {
    onednn_key key;
    onednn_step main;
    onednn_step pre;         /* conv only: input reorder into src_tmp, or none */
    onednn_step post;        /* conv only: output reorder from dst_tmp, or none */
    dnnl_memory_t src_tmp;   /* the layout the conv reads, when not the tensor's */
    dnnl_memory_t dst_tmp;   /* the layout the conv writes, when not the tensor's */
    dnnl_memory_t user;      /* upload/download: the caller's planar buffer (handle
                                set per call); add_channel: the offsets vector */
    dnnl_memory_t weights;   /* conv: the weights in this primitive's layout when
                                it is not the one conv_prepare chose, else NULL */
} onednn_entry;

typedef struct onednn_cache {
    onednn_entry **entry;
    int n, cap;
} onednn_cache;

/* NULL when absent. */
onednn_entry *onednn_cache_find(const onednn_cache *cache, const onednn_key *key);

#define ONEDNN_CACHE_MAX 512

/* Takes entry.  Returns 0, or -1 when out of memory (entry is then freed).
 * When the table holds ONEDNN_CACHE_MAX entries, it frees them all first, so
 * entry pointers found earlier must not be kept across this call. */
int onednn_cache_add(onednn_cache *cache, onednn_entry *entry);

/* Frees the entries of one prepared conv. */
void onednn_cache_drop_conv(onednn_cache *cache, unsigned conv);

/* Frees every entry and the table. */
void onednn_cache_clear(onednn_cache *cache);

/* Destroys s's primitive and scratchpad memory object (NULL members are fine). */
void onednn_step_free(onednn_step *s);

/* Frees what entry holds and entry itself.  Accepts NULL and partly filled
 * entries (calloc'ed, then filled in order). */
void onednn_entry_free(onednn_entry *entry);

#endif
