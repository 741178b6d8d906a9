/* SPDX-License-Identifier: GPL-3.0-or-later
 * The oneDNN backend's primitive cache (see onednn_cache.h).  A linear table:
 * a UNet pass at one canvas size needs one entry per conv plus a few per
 * level for the other ops (a few dozen), so a search costs far less than the
 * op it finds. */
#include <stdlib.h>

#include "onednn_cache.h"

static int key_equal(const onednn_key *a, const onednn_key *b)
{
    return a->op == b->op && a->conv == b->conv && a->c0 == b->c0 && a->c1 == b->c1 &&
           a->h == b->h && a->w == b->w && a->flags == b->flags;
}

onednn_entry *onednn_cache_find(const onednn_cache *cache, const onednn_key *key)
{
    for (int i = 0; i < cache->n; i++)
        if (key_equal(&cache->entry[i]->key, key))
            return cache->entry[i];
    return NULL;
}

int onednn_cache_add(onednn_cache *cache, onednn_entry *entry)
{
    /* A session that meets many canvas sizes (one per image in an
     * interactive host) would otherwise keep every size's primitives and
     * buffers; a full table starts afresh instead.  The largest UNet
     * (6 levels, 8 convs per block) needs about 150 entries per size. */
    if (cache->n >= ONEDNN_CACHE_MAX) {
        for (int i = 0; i < cache->n; i++)
            onednn_entry_free(cache->entry[i]);
        cache->n = 0;
    }
    if (cache->n == cache->cap) {
        int cap = cache->cap ? 2 * cache->cap : 32;
        onednn_entry **grown = realloc(cache->entry, (size_t)cap * sizeof(*grown));

        if (!grown) {
            onednn_entry_free(entry);
            return -1;
        }
        cache->entry = grown;
        cache->cap = cap;
    }
    cache->entry[cache->n++] = entry;
    return 0;
}

void onednn_cache_drop_conv(onednn_cache *cache, unsigned conv)
{
    int kept = 0;

    for (int i = 0; i < cache->n; i++) {
        if (cache->entry[i]->key.conv == conv)
            onednn_entry_free(cache->entry[i]);
        else
            cache->entry[kept++] = cache->entry[i];
    }
    cache->n = kept;
}

void onednn_cache_clear(onednn_cache *cache)
{
    for (int i = 0; i < cache->n; i++)
        onednn_entry_free(cache->entry[i]);
    free(cache->entry);
    cache->entry = NULL;
    cache->n = cache->cap = 0;
}

void onednn_step_free(onednn_step *s)
{
    dnnl_primitive_destroy(s->prim);
    dnnl_memory_destroy(s->scratchpad);
    s->prim = NULL;
    s->scratchpad = NULL;
}

void onednn_entry_free(onednn_entry *entry)
{
    if (!entry)
        return;
    onednn_step_free(&entry->main);
    onednn_step_free(&entry->pre);
    onednn_step_free(&entry->post);
    dnnl_memory_destroy(entry->src_tmp);
    dnnl_memory_destroy(entry->dst_tmp);
    dnnl_memory_destroy(entry->user);
    dnnl_memory_destroy(entry->weights);
    free(entry);
}
