/* SPDX-License-Identifier: GPL-3.0-or-later
 * The CUDA kernels of the backend (cuda_kernels.cu), as C launchers.
 *
 * Device tensors are NHWC: element (c, y, x) of a C x H x W map is at
 * (y * W + x) * C + c, of the backend's activation type (cuk_type: float,
 * or bf16 in the half mode); weights, biases and offsets stay float, and
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

typedef enum cuk_type { CUK_F32, CUK_BF16 } cuk_type;

/* dst (NHWC) = src (planar CHW), and back. */
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
 * w is [cout][3][3][cin] (cuDNN's KRSC filter layout); bias may be NULL. */
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
                             int x0, int y0, int x1, int y1, int chunks, double *partial,
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

/* out[i] = rng_normal(seed, step, first + i), docs/rng.md (rng_core.h). */
cudaError_t cuk_rng_normal(uint64_t seed, uint32_t step, uint32_t first, size_t n, float *out,
                           cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
