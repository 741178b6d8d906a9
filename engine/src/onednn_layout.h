/* SPDX-License-Identifier: GPL-3.0-or-later
 * Element offsets in oneDNN's blocked memory layouts, for the few places
 * where the oneDNN backend moves data itself instead of running a reorder
 * primitive (weights, see backend_onednn.c). */
#ifndef FGSD_ONEDNN_LAYOUT_H
#define FGSD_ONEDNN_LAYOUT_H

#include <stdint.h>

#include <oneapi/dnnl/dnnl.h>

#define ONEDNN_LAYOUT_MAX_DIMS 4
#define ONEDNN_LAYOUT_MAX_BLKS 6

/* A blocked layout of up to 4 logical dims, as dnnl_memory_desc_query
 * reports it: outer strides per dim, then inner blocks, outermost first. */
typedef struct onednn_layout {
    int ndims;
    int64_t dims[ONEDNN_LAYOUT_MAX_DIMS];
    int64_t strides[ONEDNN_LAYOUT_MAX_DIMS];
    int nblks;
    int64_t blks[ONEDNN_LAYOUT_MAX_BLKS];
    int idxs[ONEDNN_LAYOUT_MAX_BLKS];
} onednn_layout;

/* Fills l from md.  Returns 0, or -1 when md is not an f32 blocked layout of
 * at most 4 dims. */
int onednn_layout_get(const_dnnl_memory_desc_t md, onednn_layout *l);

/* Offset in elements of the element at logical index idx (ndims entries). */
int64_t onednn_layout_offset(const onednn_layout *l, const int64_t *idx);

/* dst[element] = src[element] for every logical element of two 4-dim
 * layouts with the same dims (padding of dst untouched). */
void onednn_layout_copy4(const onednn_layout *sl, const float *src, const onednn_layout *dl,
                         float *dst);

#endif
