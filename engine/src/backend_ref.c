/* SPDX-License-Identifier: GPL-3.0-or-later
 * The reference backend: plain C, planar CHW, obviously correct.
 * It is the oracle of the op tests and of the engine-vs-PyTorch tests, so it
 * stays simple; speed does not matter here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

struct backend {
    char error[256];
    fgsd_status status; /* of the failure error describes */
};

struct backend_tensor {
    int c, h, w;
    float *data;
    int view; /* data belongs to another tensor */
};

struct backend_conv {
    model_conv desc;
    int relu;
    float *weight;
    float *bias;
};

static fgsd_status ref_create(const backend_config *cfg, backend **out, char *err, size_t errlen)
{
    (void)cfg;
    *out = calloc(1, sizeof(**out));
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        return FGSD_ERR_NO_MEMORY;
    }
    return FGSD_OK;
}

static void ref_destroy(backend *be)
{
    free(be);
}

static const char *ref_error(backend *be)
{
    return be->error;
}

static fgsd_status ref_status(backend *be)
{
    return be->status;
}

static fgsd_status fail(backend *be, fgsd_status st, const char *what)
{
    snprintf(be->error, sizeof(be->error), "reference backend: %s", what);
    be->status = st;
    return st;
}

static size_t weight_count(const model_conv *c)
{
    return (size_t)c->cin * (size_t)c->cout * (size_t)c->k * (size_t)c->k;
}

static backend_conv *ref_conv_prepare(backend *be, const model_conv *conv, int relu)
{
    backend_conv *c = calloc(1, sizeof(*c));
    size_t n = weight_count(conv);

    if (!c)
        goto out_oom;
    c->desc = *conv;
    c->relu = relu;
    c->weight = malloc(n * sizeof(float));
    if (!c->weight)
        goto out_free;
    memcpy(c->weight, conv->weight, n * sizeof(float));
    if (conv->bias) {
        c->bias = malloc((size_t)conv->cout * sizeof(float));
        if (!c->bias)
            goto out_free;
        memcpy(c->bias, conv->bias, (size_t)conv->cout * sizeof(float));
    }
    c->desc.weight = c->weight;
    c->desc.bias = c->bias;
    return c;

out_free:
    free(c->weight);
    free(c);
out_oom:
    fail(be, FGSD_ERR_NO_MEMORY, "out of memory preparing weights");
    return NULL;
}

static void ref_conv_free(backend *be, backend_conv *c)
{
    (void)be;
    if (!c)
        return;
    free(c->weight);
    free(c->bias);
    free(c);
}

static backend_tensor *ref_tensor_new(backend *be, int c, int h, int w)
{
    backend_tensor *t = calloc(1, sizeof(*t));
    size_t n = (size_t)c * (size_t)h * (size_t)w;

    if (!t)
        goto out_oom;
    t->c = c;
    t->h = h;
    t->w = w;
    t->data = calloc(n ? n : 1, sizeof(float));
    if (!t->data) {
        free(t);
        goto out_oom;
    }
    return t;

out_oom:
    fail(be, FGSD_ERR_NO_MEMORY, "out of memory for a feature map");
    return NULL;
}

static void ref_tensor_free(backend *be, backend_tensor *t)
{
    (void)be;
    if (!t)
        return;
    if (!t->view)
        free(t->data);
    free(t);
}

/* Planar CHW: a run of channels is one contiguous block. */
static fgsd_status ref_tensor_view(backend *be, backend_tensor *parent, int c0, int c,
                                   backend_tensor **out)
{
    backend_tensor *t;

    *out = NULL;
    if (c0 < 0 || c < 1 || c0 + c > parent->c)
        return FGSD_OK;
    if (!(t = calloc(1, sizeof(*t))))
        return fail(be, FGSD_ERR_NO_MEMORY, "out of memory for a feature map");
    *t = (backend_tensor){c, parent->h, parent->w,
                          parent->data + (size_t)c0 * (size_t)parent->h * (size_t)parent->w, 1};
    *out = t;
    return FGSD_OK;
}

static size_t numel(const backend_tensor *t)
{
    return (size_t)t->c * (size_t)t->h * (size_t)t->w;
}

static fgsd_status ref_upload(backend *be, backend_tensor *t, const float *chw)
{
    (void)be;
    memcpy(t->data, chw, numel(t) * sizeof(float));
    return FGSD_OK;
}

static fgsd_status ref_download(backend *be, const backend_tensor *t, float *chw)
{
    (void)be;
    memcpy(chw, t->data, numel(t) * sizeof(float));
    return FGSD_OK;
}

static float at(const backend_tensor *t, int c, int y, int x)
{
    if (y < 0 || y >= t->h || x < 0 || x >= t->w)
        return 0.0f; /* zero padding */
    return t->data[((size_t)c * (size_t)t->h + (size_t)y) * (size_t)t->w + (size_t)x];
}

static float *ptr(backend_tensor *t, int c, int y, int x)
{
    return &t->data[((size_t)c * (size_t)t->h + (size_t)y) * (size_t)t->w + (size_t)x];
}

/* 3x3, stride 1, zero padding 1; weight [cout][cin][3][3]. */
static void conv3x3(const backend_conv *cv, const backend_tensor *in, backend_tensor *out)
{
    const model_conv *d = &cv->desc;

    for (int o = 0; o < d->cout; o++) {
        for (int y = 0; y < out->h; y++) {
            for (int x = 0; x < out->w; x++) {
                double acc = d->bias ? d->bias[o] : 0.0;
                for (int i = 0; i < d->cin; i++) {
                    const float *wk = &d->weight[((size_t)o * (size_t)d->cin + (size_t)i) * 9];
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++)
                            acc += (double)wk[ky * 3 + kx] * at(in, i, y + ky - 1, x + kx - 1);
                }
                if (cv->relu && acc < 0.0)
                    acc = 0.0;
                *ptr(out, o, y, x) = (float)acc;
            }
        }
    }
}

/* Transposed 2x2 stride 2: each input pixel paints a 2x2 output patch;
 * weight [cin][cout][2][2] as in PyTorch's ConvTranspose2d. */
static void convt2x2(const backend_conv *cv, const backend_tensor *in, backend_tensor *out)
{
    const model_conv *d = &cv->desc;

    for (int o = 0; o < d->cout; o++) {
        for (int y = 0; y < out->h; y++) {
            for (int x = 0; x < out->w; x++) {
                double acc = d->bias ? d->bias[o] : 0.0;
                int ky = y & 1, kx = x & 1;
                for (int i = 0; i < d->cin; i++) {
                    float wv = d->weight[(((size_t)i * (size_t)d->cout + (size_t)o) * 2 +
                                          (size_t)ky) * 2 + (size_t)kx];
                    acc += (double)wv * at(in, i, y / 2, x / 2);
                }
                if (cv->relu && acc < 0.0)
                    acc = 0.0;
                *ptr(out, o, y, x) = (float)acc;
            }
        }
    }
}

static fgsd_status ref_conv(backend *be, const backend_conv *c, const backend_tensor *in,
                            backend_tensor *out)
{
    const model_conv *d = &c->desc;
    int scale = d->transposed ? 2 : 1;

    if (in->c != d->cin || out->c != d->cout || out->h != in->h * scale ||
        out->w != in->w * scale)
        return fail(be, FGSD_ERR_INTERNAL, "conv shape mismatch");
    if (d->transposed)
        convt2x2(c, in, out);
    else
        conv3x3(c, in, out);
    return FGSD_OK;
}

static fgsd_status ref_avgpool2(backend *be, const backend_tensor *in, backend_tensor *out)
{
    if (out->c != in->c || out->h * 2 != in->h || out->w * 2 != in->w)
        return fail(be, FGSD_ERR_INTERNAL, "pool shape mismatch");
    for (int c = 0; c < out->c; c++)
        for (int y = 0; y < out->h; y++)
            for (int x = 0; x < out->w; x++)
                *ptr(out, c, y, x) = 0.25f * (at(in, c, 2 * y, 2 * x) + at(in, c, 2 * y, 2 * x + 1) +
                                              at(in, c, 2 * y + 1, 2 * x) +
                                              at(in, c, 2 * y + 1, 2 * x + 1));
    return FGSD_OK;
}

static fgsd_status ref_concat(backend *be, const backend_tensor *a, const backend_tensor *b,
                              backend_tensor *out)
{
    if (a->h != b->h || a->w != b->w || out->h != a->h || out->w != a->w ||
        out->c != a->c + b->c)
        return fail(be, FGSD_ERR_INTERNAL, "concat shape mismatch");
    memcpy(out->data, a->data, numel(a) * sizeof(float));
    memcpy(out->data + numel(a), b->data, numel(b) * sizeof(float));
    return FGSD_OK;
}

/* weights_gen: host weights are read in place, nothing to keep. */
static fgsd_status ref_channel_sums(backend *be, const backend_tensor *t, const float *weights,
                                    uint64_t weights_gen, int x0, int y0, int x1, int y1,
                                    double *sums)
{
    (void)weights_gen;
    if (x0 < 0 || y0 < 0 || x1 > t->w || y1 > t->h || x0 > x1 || y0 > y1)
        return fail(be, FGSD_ERR_INTERNAL, "channel_sums rectangle outside the tensor");
    for (int c = 0; c < t->c; c++) {
        double s = 0.0;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                double w = weights ? weights[(size_t)y * (size_t)t->w + (size_t)x] : 1.0;
                s += w * at(t, c, y, x);
            }
        sums[c] = s;
    }
    return FGSD_OK;
}

static fgsd_status ref_add_channel(backend *be, backend_tensor *t, const float *offsets)
{
    (void)be;
    for (int c = 0; c < t->c; c++)
        for (int y = 0; y < t->h; y++)
            for (int x = 0; x < t->w; x++)
                *ptr(t, c, y, x) += offsets[c];
    return FGSD_OK;
}

const backend_ops backend_ref_ops = {
    .name = "reference",
    .create = ref_create,
    .destroy = ref_destroy,
    .error = ref_error,
    .status = ref_status,
    .conv_prepare = ref_conv_prepare,
    .conv_free = ref_conv_free,
    .tensor_new = ref_tensor_new,
    .tensor_free = ref_tensor_free,
    .tensor_view = ref_tensor_view,
    .upload = ref_upload,
    .download = ref_download,
    .conv = ref_conv,
    .avgpool2 = ref_avgpool2,
    .concat = ref_concat,
    .channel_sums = ref_channel_sums,
    .add_channel = ref_add_channel,
};
