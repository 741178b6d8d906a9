/* SPDX-License-Identifier: GPL-3.0-or-later
 * The CUDA kernels of the backend (cuda_kernels.cu), as C launchers.
 *
 * Device tensors are NHWC: element (c, y, x) of a C x H x W map is at
 * (y * W + x) * C + c, or with CUK_NCHW (FGSD_CUDA_LAYOUT=nchw) NCHW, at
 * (c * H + y) * W + x; of the backend's activation type (cuk_type: float,
 * or bf16 in the half mode, or'ed with the layout); weights, biases and offsets stay float, and
 * every kernel computes in float, rounding once where it stores bf16.  Every launcher queues its kernel on `stream` and
 * returns the launch status (cudaSuccess or the error of the launch; errors
 * of the kernel itself show at the next synchronisation).  Element counts
 * are size_t; the kernels loop grid-stride, so any size launches. */
#ifndef FGSD_CUDA_KERNELS_H
#define FGSD_CUDA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cuk_type { CUK_F32 = 0, CUK_BF16 = 1, CUK_NCHW = 2 } cuk_type;

/* dst (the backend's layout: NHWC, or NCHW with CUK_NCHW) = src (planar CHW),
 * and back. */
cudaError_t cuk_chw_to_nhwc(const float *src, void *dst, cuk_type type, int c, int h, int w,
                            cudaStream_t stream);
cudaError_t cuk_nhwc_to_chw(const void *src, cuk_type type, float *dst, int c, int h, int w,
                            cudaStream_t stream);

/* dst[i] = src[i] rounded to bf16 (the half mode's cuDNN filters). */
cudaError_t cuk_to_bf16(const float *src, void *dst, size_t n, cudaStream_t stream);

/* y[p][c] = y[p][c] + bias[c] (bias may be NULL), then max(., 0) when relu;
 * NaN stays NaN, as in the reference backend. */
cudaError_t cuk_bias_act(void *y, cuk_type type, const float *bias, int c, size_t pixels,
                         int relu, cudaStream_t stream);

/* 3x3 convolution, stride 1, zero padding 1, accumulated in fp32 in the
 * order (ky, kx, i): the backend's fallback when cuDNN runs no algorithm.
 * w is [cout][3][3][cin] (cuDNN's KRSC filter layout), or with CUK_NCHW
 * [cout][cin][3][3] (KCRS); bias may be NULL. */
cudaError_t cuk_conv3x3(const void *in, const float *w, const float *bias, void *out,
                        cuk_type type, int cin, int cout, int h, int wd, int relu,
                        cudaStream_t stream);

/* Transposed 2x2 stride-2 convolution: in is cin x h x wd, out is
 * cout x 2h x 2wd; w is [ky * 2 + kx][cin][cout]; bias may be NULL. */
cudaError_t cuk_convt2x2(const void *in, const float *w, const float *bias, void *out,
                         cuk_type type, int cin, int cout, int h, int wd, int relu,
                         cudaStream_t stream);

/* out = 2x2 average of in (c x 2oh x 2ow -> c x oh x ow), summed in the
 * reference backend's order so the result is bit-identical. */
cudaError_t cuk_avgpool2(const void *in, void *out, cuk_type type, int c, int oh, int ow,
                         cudaStream_t stream);

/* out[p] = [a[p], b[p]]. */
cudaError_t cuk_concat(const void *a, const void *b, void *out, cuk_type type, int ca, int cb,
                       size_t pixels, cudaStream_t stream);

/* t[p][c] += offsets[c] (offsets on the device). */
cudaError_t cuk_add_channel(void *t, cuk_type type, const float *offsets, int c, size_t pixels,
                            cudaStream_t stream);

/* Partial channel sums in double over the rectangle [x0, x1) x [y0, y1) of
 * a c x h x wd map: chunk k of `chunks` covers rows y0 + k * rows / chunks up
 * to the next chunk's first row; partial[k * c + ch] = sum of t * weight over
 * it.  weights (device, may be NULL = 1) holds rows y0 .. y1 - 1 of the
 * H x W plane, row-major.  The caller adds the chunks in order, so the result
 * does not depend on scheduling (deterministic). */
cudaError_t cuk_channel_sums(const void *t, cuk_type type, const float *weights, int c, int wd,
                             int ht, int x0, int y0, int x1, int y1, int chunks, double *partial,
                             cudaStream_t stream);

/* out[ch] = sum over k < chunks of partial[k * c + ch], added in order of k
 * (cuk_channel_sums' chunks reduced on the device, deterministic). */
cudaError_t cuk_reduce_chunks(const double *partial, int chunks, int c, double *out,
                              cudaStream_t stream);

/* channel_project's second half (backend.h): sums[ch] = the chunks of
 * cuk_channel_sums added as cuk_reduce_chunks adds them; with
 * CUK_PROJECT_PHI, offsets[ch] = (float)(g * (phi - mean)) in double, mean
 * = means[ch] (CUK_PROJECT_MEANS) or sums[ch] / total (0 when total is not
 * positive), g = gain[ch] (CUK_PROJECT_GAIN) or 1.  params (device): the
 * total as a double, then gain, phi and means, c floats each. */
enum { CUK_PROJECT_GAIN = 1, CUK_PROJECT_PHI = 2, CUK_PROJECT_MEANS = 4 };
cudaError_t cuk_project(const double *partial, int chunks, int c, const void *params, int flags,
                        float *offsets, double *sums, cudaStream_t stream);

/* out[i] = rng_normal(seed, step, first + i), docs/rng.md (rng_core.h);
 * _at: first 0, the step read from device memory (a CUDA graph's step
 * changes without a new graph). */
cudaError_t cuk_rng_normal(uint64_t seed, uint32_t step, uint32_t first, size_t n, float *out,
                           cudaStream_t stream);
cudaError_t cuk_rng_normal_at(uint64_t seed, const uint32_t *step, size_t n, float *out,
                              cudaStream_t stream);

/* ---- the sampler's images (backend.h image_*): interleaved RGB floats ---- */

/* t (c x h x w NHWC, c = 3) <- the window of img (iw x ih x 3) whose (0, 0)
 * is at (wx, wy), mirrored (periodic 0) or wrapped beyond it: canvas.c's
 * canvas_fill. */
cudaError_t cuk_window_fill(const float *img, int iw, int ih, int wx, int wy, int periodic,
                            void *t, cuk_type type, int c, int h, int w, cudaStream_t stream);

/* clean[(y iw + x) 3 + ch] <- t's value at (x - wx, y - wy), or x_img's
 * value minus it (residual), for x in [x0, x1), y in [y0, y1): canvas.c's
 * canvas_store. */
cudaError_t cuk_window_store(const void *t, cuk_type type, int c, int h, int w,
                             const float *x_img, float *clean, int iw, int wx, int wy, int x0,
                             int y0, int x1, int y1, int residual, cudaStream_t stream);

/* y[i] = y[i] + a x[i] in float, rounded as the host rounds. */
cudaError_t cuk_add_scaled(float *y, float a, const float *x, size_t n, cudaStream_t stream);

/* x[i] = (float)(x - h (x - d) + g z) in double: image_math.h's
 * sisa_update_value to the bit. */
cudaError_t cuk_sisa_update(float *x, const float *d, const float *z, double h, double g,
                            size_t n, cudaStream_t stream);
/* The same with h and g read from device memory (hg[0], hg[1]). */
cudaError_t cuk_sisa_update_at(float *x, const float *d, const float *z, const double *hg,
                               size_t n, cudaStream_t stream);

/* Partial sums in double of (x[i] - d[i])^2: block k of `chunks` sums its
 * share in a fixed order, so the caller's in-order total is deterministic
 * (not the host's order: image_residual's one exception). */
cudaError_t cuk_residual(const float *x, const float *d, size_t n, int chunks, double *partial,
                         cudaStream_t stream);

/* The colour lock's low-pass (image_math.h add_lowpass, to the bit):
 * planes (3 x h x w) = a - b (b NULL: a), per channel of the interleaved
 * images; the box filter of width k with wrap-around along rows or
 * columns of each plane, src to dst, one line per thread, summed in double
 * in the host's order; v += sign planes. */
cudaError_t cuk_planes_diff(const float *a, const float *b, float *planes, size_t pixels,
                            cudaStream_t stream);
cudaError_t cuk_box_rows(const float *src, float *dst, int w, int h, int k, cudaStream_t stream);
cudaError_t cuk_box_cols(const float *src, float *dst, int w, int h, int k, cudaStream_t stream);
cudaError_t cuk_add_planes(float *v, float sign, const float *planes, size_t pixels,
                           cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
