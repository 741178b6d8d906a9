/* SPDX-License-Identifier: GPL-3.0-or-later
 * Element offsets in oneDNN's blocked layouts (see onednn_layout.h).  The
 * definition is oneDNN's (doc "Understanding Memory Formats"): a logical
 * index is split into an outer part per dim, weighted by that dim's stride,
 * and inner block indices laid out innermost-last, e.g. ABcd16b16a:
 * ((((o/16) * I16 + i/16) * KH + kh) * KW + kw) * 256 + (i%16) * 16 + o%16. */
#include "onednn_layout.h"

#include <string.h>

int onednn_layout_get(const_dnnl_memory_desc_t md, onednn_layout *l)
{
    const dnnl_dims_t *dims, *strides, *blks, *idxs;
    dnnl_format_kind_t kind;
    dnnl_data_type_t type;
    int ndims = 0, nblks = 0;

    memset(l, 0, sizeof(*l));
    if (dnnl_memory_desc_query(md, dnnl_query_ndims_s32, &ndims) != dnnl_success ||
        dnnl_memory_desc_query(md, dnnl_query_format_kind, &kind) != dnnl_success ||
        dnnl_memory_desc_query(md, dnnl_query_data_type, &type) != dnnl_success)
        return -1;
    if (ndims < 1 || ndims > ONEDNN_LAYOUT_MAX_DIMS || kind != dnnl_blocked || type != dnnl_f32)
        return -1;
    if (dnnl_memory_desc_query(md, dnnl_query_dims, &dims) != dnnl_success ||
        dnnl_memory_desc_query(md, dnnl_query_strides, &strides) != dnnl_success ||
        dnnl_memory_desc_query(md, dnnl_query_inner_nblks_s32, &nblks) != dnnl_success)
        return -1;
    if (nblks < 0 || nblks > ONEDNN_LAYOUT_MAX_BLKS)
        return -1;
    if (nblks && (dnnl_memory_desc_query(md, dnnl_query_inner_blks, &blks) != dnnl_success ||
                  dnnl_memory_desc_query(md, dnnl_query_inner_idxs, &idxs) != dnnl_success))
        return -1;
    l->ndims = ndims;
    l->nblks = nblks;
    for (int d = 0; d < ndims; d++) {
        l->dims[d] = (*dims)[d];
        l->strides[d] = (*strides)[d];
    }
    for (int k = 0; k < nblks; k++) {
        l->blks[k] = (*blks)[k];
        l->idxs[k] = (int)(*idxs)[k];
        if (l->blks[k] < 1 || l->idxs[k] < 0 || l->idxs[k] >= ndims)
            return -1;
    }
    return 0;
}

int64_t onednn_layout_offset(const onednn_layout *l, const int64_t *idx)
{
    int64_t outer[ONEDNN_LAYOUT_MAX_DIMS], inner = 0, off = 0;

    /* Divide each dim by all its inner blocks for the outer index; each inner
     * block holds the index divided by the blocks of its dim inside it. */
    for (int d = 0; d < l->ndims; d++)
        outer[d] = idx[d];
    for (int k = 0; k < l->nblks; k++)
        outer[l->idxs[k]] /= l->blks[k];
    for (int k = 0; k < l->nblks; k++) {
        int64_t below = 1;

        for (int j = k + 1; j < l->nblks; j++)
            if (l->idxs[j] == l->idxs[k])
                below *= l->blks[j];
        inner = inner * l->blks[k] + (idx[l->idxs[k]] / below) % l->blks[k];
    }
    for (int d = 0; d < l->ndims; d++)
        off += outer[d] * l->strides[d];
    return off + inner;
}

void onednn_layout_copy4(const onednn_layout *sl, const float *src, const onednn_layout *dl,
                         float *dst)
{
    int64_t i[4];

    for (i[0] = 0; i[0] < sl->dims[0]; i[0]++)
        for (i[1] = 0; i[1] < sl->dims[1]; i[1]++)
            for (i[2] = 0; i[2] < sl->dims[2]; i[2]++)
                for (i[3] = 0; i[3] < sl->dims[3]; i[3]++)
                    dst[onednn_layout_offset(dl, i)] = src[onednn_layout_offset(sl, i)];
}
