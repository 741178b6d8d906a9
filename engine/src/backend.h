/* SPDX-License-Identifier: GPL-3.0-or-later
 * The backend interface: the graph runner (unet.c) calls only this.
 *
 * Tensors are batch-1 C x H x W float feature maps in a layout private to the
 * backend (planar for the reference backend, blocked for oneDNN, NHWC on the
 * GPU).  upload/download convert from/to planar CHW floats on the host.
 * Every op writes a tensor allocated by the caller with the right shape.
 * Ops return FGSD_OK or an error; on error they write a message into the
 * backend's error buffer (backend_error). */
#ifndef FGSD_BACKEND_H
#define FGSD_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "fgsd.h"
#include "model.h"

typedef struct backend backend;             /* per-session backend state */
typedef struct backend_tensor backend_tensor;
typedef struct backend_conv backend_conv;   /* weights prepared for the backend */
typedef struct backend_image backend_image; /* an interleaved RGB image where the backend computes */

/* Where a canvas window lies on an image (canvas.c): its (0, 0) at (wx, wy)
 * of the image's virtual canvas, mirrored (periodic 0) or wrapped beyond
 * the image; the window owns the image rectangle [ix0, ix1) x [iy0, iy1). */
typedef struct backend_window {
    int image_width, image_height;
    int wx, wy;
    int periodic;
    int ix0, iy0, ix1, iy1;
} backend_window;

typedef struct backend_config {
    int threads;        /* 0 = all cores */
    int deterministic;
    size_t memory_budget;
} backend_config;

typedef struct backend_ops {
    const char *name;

    /* Creates the backend in *out; on failure *out is NULL, err holds a
     * message and the status says why: FGSD_ERR_NO_MEMORY when an allocation
     * failed, FGSD_ERR_BACKEND when the backend is unavailable. */
    fgsd_status (*create)(const backend_config *cfg, backend **out, char *err, size_t errlen);
    void (*destroy)(backend *be);
    const char *(*error)(backend *be);
    /* The status of the failure error() describes: why conv_prepare or
     * tensor_new returned NULL (FGSD_ERR_NO_MEMORY, FGSD_ERR_BACKEND, ...). */
    fgsd_status (*status)(backend *be);

    /* Weights are reordered once here.  relu: fuse a ReLU after the conv.
     * Borrows conv's arrays only for the duration of the call. */
    backend_conv *(*conv_prepare)(backend *be, const model_conv *conv, int relu);
    void (*conv_free)(backend *be, backend_conv *c);

    backend_tensor *(*tensor_new)(backend *be, int c, int h, int w);
    void (*tensor_free)(backend *be, backend_tensor *t);
    /* Optional (NULL: none): in *out a tensor that is channels [c0, c0 + c)
     * of parent, sharing its memory, so that ops writing it write parent
     * (the decoder's concatenation is then no copy); *out NULL and FGSD_OK
     * where the layout keeps those channels apart (NHWC), an error (with
     * error()) when memory ran out.  Freed with tensor_free, before parent. */
    fgsd_status (*tensor_view)(backend *be, backend_tensor *parent, int c0, int c,
                               backend_tensor **out);
    fgsd_status (*upload)(backend *be, backend_tensor *t, const float *chw);
    fgsd_status (*download)(backend *be, const backend_tensor *t, float *chw);

    /* out = conv(in) (+ bias) (+ ReLU).  3x3: zero padding 1, same size.
     * Transposed 2x2 stride 2: out is twice the size of in. */
    fgsd_status (*conv)(backend *be, const backend_conv *c, const backend_tensor *in,
                        backend_tensor *out);
    /* out = 2x2 average pool of in (H and W of in are even). */
    fgsd_status (*avgpool2)(backend *be, const backend_tensor *in, backend_tensor *out);
    /* out = channel concatenation [a, b] (same H, W). */
    fgsd_status (*concat)(backend *be, const backend_tensor *a, const backend_tensor *b,
                          backend_tensor *out);
    /* sums[c] = sum over (x, y) in [x0, x1) x [y0, y1) of t[c][y][x] * w[y][x]
     * where w is weights (H x W, planar) or 1 when weights is NULL.  Summed in
     * double for accuracy: tiles add their partial sums.  weights_gen: 0, or
     * a number the caller gives only to these weights' present contents (the
     * mask pyramid's generation, unet.c): a later call with the same pointer
     * and number may use a copy the backend kept (the GPU's, so that the
     * mask is not sent again at every pass). */
    fgsd_status (*channel_sums)(backend *be, const backend_tensor *t, const float *weights,
                                uint64_t weights_gen, int x0, int y0, int x1, int y1,
                                double *sums);
    /* t[c][y][x] += offsets[c] for every position. */
    fgsd_status (*add_channel)(backend *be, backend_tensor *t, const float *offsets);

    /* Bytes the backend can still allocate (free GPU memory), so that the
     * tiling planner keeps windows within it; 0 = unknown or bounded only by
     * host memory.  NULL (host backends) means 0. */
    size_t (*memory_available)(backend *be);

    /* out[i] = rng_normal(seed, step, i), i < n (docs/rng.md), drawn where
     * the backend computes and copied to the host: on a GPU the draw of a
     * 512² image takes a fraction of a millisecond instead of tens on one
     * core.  NULL: the caller draws on the CPU (rng_normal_fill). */
    fgsd_status (*normal_noise)(backend *be, uint64_t seed, uint32_t step, size_t n, float *out);

    /* Optional, the three or none (NULL on the host backends): a pass the
     * backend sees whole, as ggml's graph_compute does, so that a GPU can
     * run it as one CUDA graph with no host round trip inside.
     *
     * pass_begin returns 1 when the backend takes the coming pass deferred
     * and 0 when it runs ops as they come (a switch, the profiler).  In a
     * deferred pass the caller measures and projects with channel_project
     * (not channel_sums and add_channel); the ops may only be queued, and
     * pass_end runs them and returns the first failure: only then are
     * downloads and channel_project's sums on the host, and the arrays the
     * ops were given must stay valid until it returns.  pass_end ends the
     * pass whatever happened, so call it after a failed op too. */
    int (*pass_begin)(backend *be);
    fgsd_status (*pass_end)(backend *be);
    /* A feature block measured and projected where t lives: with S[c] the
     * sums channel_sums gives over the whole tensor (weights, weights_gen as
     * there), mean = means ? means[c] : (total > 0 ? S[c] / total : 0), and
     * when phi is not NULL
     *     t[c] += (float)(g * (phi[c] - mean)),  g = gain ? gain[c] : 1,
     * in double, as unet.c's host path computes it (equal to the bit).
     * sums (may be NULL) receives S. */
    fgsd_status (*channel_project)(backend *be, backend_tensor *t, const float *weights,
                                   uint64_t weights_gen, double total, const float *gain,
                                   const float *phi, const float *means, double *sums);

    /* Optional, all or none (NULL on the host backends): the sampler's
     * images where the backend computes (sampler_device.c), so that a step
     * brings back only sigma (docs/cuda.md "The sampler on the GPU").  Each
     * computes as the host loop's own functions (image_math.h) compute,
     * equal to the bit but image_residual, whose sum may be added in
     * another (fixed) order.  Images are width x height x 3 floats,
     * interleaved as the API's.
     *
     * image_new: *out NULL and FGSD_OK where the backend keeps the images
     * on the host after all (a switch); an error when memory ran out. */
    fgsd_status (*image_new)(backend *be, int width, int height, backend_image **out);
    void (*image_free)(backend *be, backend_image *im);
    fgsd_status (*image_upload)(backend *be, backend_image *im, const float *hwc);
    /* Waits for everything queued before it. */
    fgsd_status (*image_download)(backend *be, const backend_image *im, float *hwc);
    fgsd_status (*image_copy)(backend *be, backend_image *dst, const backend_image *src);
    /* im[i] = rng_normal(seed, step, i) (docs/rng.md). */
    fgsd_status (*image_noise)(backend *be, backend_image *im, uint64_t seed, uint32_t step);
    /* y += a x (image_add_scaled), v += sign lowpass(a - b) (b NULL: of a;
     * image_add_lowpass), x <- x - h (x - d) + g z (image_sisa_update), and
     * *ss = the sum of (x - d)^2 (image_residual, waits). */
    fgsd_status (*image_add_scaled)(backend *be, backend_image *y, float a,
                                    const backend_image *x);
    fgsd_status (*image_add_lowpass)(backend *be, backend_image *v, float sign,
                                     const backend_image *a, const backend_image *b, int k);
    fgsd_status (*image_sisa_update)(backend *be, backend_image *x, const backend_image *d,
                                     const backend_image *z, double h, double g);
    fgsd_status (*image_residual)(backend *be, const backend_image *x, const backend_image *d,
                                  double *ss);
    /* The canvas ops of a pass over a window of image x (in a deferred
     * pass too, in place of upload and download): t <- the window, planar
     * channels 0..2 as canvas_fill writes them; and clean <- the window's
     * interior of t, or of x - t when residual (the network's output). */
    fgsd_status (*window_fill)(backend *be, backend_tensor *t, const backend_image *x,
                               const backend_window *win);
    fgsd_status (*window_store)(backend *be, const backend_tensor *t, const backend_image *x,
                                backend_image *clean, const backend_window *win, int residual);

    /* Optional, both or none, with the image ops: a sampler step the
     * backend sees whole, as it sees a pass, so that a GPU runs it as one
     * CUDA graph.  step_begin returns 1 when the backend takes the coming
     * step deferred: until step_end, image_noise, image_add_lowpass,
     * image_sisa_update, image_residual and the ops of whole passes (their
     * pass_begin and pass_end join the step) are only recorded; step_end
     * runs them and returns the first failure, and only then is
     * image_residual's sum written.  The other image ops may not come
     * inside a step, nor a pass that asks for sums (a tiled pass's); the
     * arrays given must stay valid until step_end, which ends the step
     * whatever happened. */
    int (*step_begin)(backend *be);
    fgsd_status (*step_end)(backend *be);
} backend_ops;

extern const backend_ops backend_ref_ops;
#ifdef FGSD_HAVE_ONEDNN
extern const backend_ops backend_onednn_ops;
#endif

#endif
