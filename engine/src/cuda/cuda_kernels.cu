/* SPDX-License-Identifier: GPL-3.0-or-later
 * CUDA kernels of the GPU backend: everything but the 3x3 convolutions that
 * cuDNN runs (cuda_kernels.h states each one's contract).  They follow
 * backend_ref.c's arithmetic: fp32, and where the reference is exact (pool,
 * concat, per-channel add) they use round-to-nearest intrinsics so that the
 * compiler cannot contract or reorder, and the results are bit-identical. */
#include <cuda_bf16.h>

#include "cuda_kernels.h"
#include "../rng_core.h"

#define THREADS 256
#define MAX_BLOCKS (1u << 20)

/* Blocks for a grid-stride loop over n elements. */
static unsigned blocks_for(size_t n)
{
    size_t b = (n + THREADS - 1) / THREADS;

    if (b == 0)
        b = 1;
    return b > MAX_BLOCKS ? MAX_BLOCKS : (unsigned)b;
}

#define GRID_STRIDE(i, n)                                                                        \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);                      \
         i += (size_t)blockDim.x * gridDim.x)

/* Activations are float or bf16 (the backend's precision); every kernel
 * computes in float and rounds once when it stores a bf16 value, so the
 * float versions do exactly what they did before there was a choice. */
static __device__ __forceinline__ float ld(float v) { return v; }
static __device__ __forceinline__ float ld(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> static __device__ __forceinline__ T st(float v);
template <> __device__ __forceinline__ float st<float>(float v) { return v; }
template <> __device__ __forceinline__ __nv_bfloat16 st<__nv_bfloat16>(float v)
{
    return __float2bfloat16_rn(v);
}

/* Launches kernel<float> or kernel<__nv_bfloat16> by the activations' type. */
#define BY_TYPE(type, kernel, grid, ...)                                                          \
    do {                                                                                         \
        if ((type) & CUK_BF16)                                                                   \
            kernel<__nv_bfloat16><<<(grid), THREADS, 0, stream>>>(__VA_ARGS__);                  \
        else                                                                                     \
            kernel<float><<<(grid), THREADS, 0, stream>>>(__VA_ARGS__);                          \
    } while (0)

/* The layout (cuk_type's CUK_NCHW): where value (p, ch) of a map of c
 * channels and `plane` pixels lies, and which (p, ch) memory index i
 * holds, so that elementwise kernels walk memory in order either way. */
#define NCHW(type) (((type) & CUK_NCHW) != 0)

static __device__ __forceinline__ size_t at(int nchw, size_t p, size_t ch, size_t c,
                                            size_t plane)
{
    return nchw ? ch * plane + p : p * c + ch;
}

static __device__ __forceinline__ size_t channel_of(int nchw, size_t i, size_t c, size_t plane)
{
    return nchw ? i / plane : i % c;
}

static __device__ __forceinline__ size_t pixel_of(int nchw, size_t i, size_t c, size_t plane)
{
    return nchw ? i % plane : i / c;
}

template <typename T>
static __global__ void chw_to_nhwc(const float *__restrict__ src, void *dst_, int c, size_t plane,
                                   size_t n, int nchw)
{
    T *__restrict__ dst = (T *)dst_;

    GRID_STRIDE(i, n)
    {
        size_t p = pixel_of(nchw, i, (size_t)c, plane), ch = channel_of(nchw, i, (size_t)c, plane);
        dst[i] = st<T>(src[ch * plane + p]);
    }
}

template <typename T>
static __global__ void nhwc_to_chw(const void *src_, float *__restrict__ dst, int c, size_t plane,
                                   size_t n, int nchw)
{
    const T *__restrict__ src = (const T *)src_;

    GRID_STRIDE(i, n)
    {
        size_t ch = i / plane, p = i % plane;
        dst[i] = ld(src[at(nchw, p, ch, (size_t)c, plane)]);
    }
}

extern "C" cudaError_t cuk_chw_to_nhwc(const float *src, void *dst, cuk_type type, int c, int h,
                                       int w, cudaStream_t stream)
{
    size_t plane = (size_t)h * (size_t)w, n = plane * (size_t)c;

    if (n)
        BY_TYPE(type, chw_to_nhwc, blocks_for(n), src, dst, c, plane, n, NCHW(type));
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_nhwc_to_chw(const void *src, cuk_type type, float *dst, int c, int h,
                                       int w, cudaStream_t stream)
{
    size_t plane = (size_t)h * (size_t)w, n = plane * (size_t)c;

    if (n)
        BY_TYPE(type, nhwc_to_chw, blocks_for(n), src, dst, c, plane, n, NCHW(type));
    return cudaGetLastError();
}

static __global__ void to_bf16(const float *__restrict__ src, __nv_bfloat16 *__restrict__ dst,
                               size_t n)
{
    GRID_STRIDE(i, n)
    {
        dst[i] = __float2bfloat16_rn(src[i]);
    }
}

extern "C" cudaError_t cuk_to_bf16(const float *src, void *dst, size_t n, cudaStream_t stream)
{
    if (n)
        to_bf16<<<blocks_for(n), THREADS, 0, stream>>>(src, (__nv_bfloat16 *)dst, n);
    return cudaGetLastError();
}

static __device__ float bias_relu(float v, const float *bias, size_t o, int relu)
{
    if (bias)
        v = __fadd_rn(v, bias[o]);
    if (relu && v < 0.0f)
        v = 0.0f;
    return v;
}

template <typename T>
static __global__ void bias_act(void *y_, const float *__restrict__ bias, int c, size_t n,
                                int relu, int nchw, size_t plane)
{
    T *y = (T *)y_;

    GRID_STRIDE(i, n)
    {
        y[i] = st<T>(bias_relu(ld(y[i]), bias, channel_of(nchw, i, (size_t)c, plane), relu));
    }
}

extern "C" cudaError_t cuk_bias_act(void *y, cuk_type type, const float *bias, int c,
                                    size_t pixels, int relu, cudaStream_t stream)
{
    size_t n = pixels * (size_t)c;

    if (n && (bias || relu))
        BY_TYPE(type, bias_act, blocks_for(n), y, bias, c, n, relu, NCHW(type), pixels);
    return cudaGetLastError();
}

/* One thread per output value; consecutive threads take consecutive output
 * channels, so weight reads are coalesced and input reads broadcast. */
template <typename T>
static __global__ void conv3x3(const void *in_, const float *__restrict__ w,
                               const float *__restrict__ bias, void *out_, int cin, int cout,
                               int h, int wd, int relu, size_t n, int nchw)
{
    const T *__restrict__ in = (const T *)in_;
    T *__restrict__ out = (T *)out_;
    size_t plane = (size_t)h * (size_t)wd;

    GRID_STRIDE(i, n)
    {
        size_t o = channel_of(nchw, i, (size_t)cout, plane);
        size_t p = pixel_of(nchw, i, (size_t)cout, plane);
        int x = (int)(p % (size_t)wd), y = (int)(p / (size_t)wd);
        float acc = 0.0f;

        for (int ky = 0; ky < 3; ky++) {
            int iy = y + ky - 1;
            if (iy < 0 || iy >= h)
                continue;
            for (int kx = 0; kx < 3; kx++) {
                int ix = x + kx - 1;
                if (ix < 0 || ix >= wd)
                    continue;
                size_t q = (size_t)iy * (size_t)wd + (size_t)ix;

                if (nchw) { /* filter [cout][cin][3][3] (KCRS) */
                    const float *wk = w + o * (size_t)cin * 9 + (size_t)ky * 3 + (size_t)kx;
                    for (int ci = 0; ci < cin; ci++)
                        acc = fmaf(ld(in[(size_t)ci * plane + q]), wk[(size_t)ci * 9], acc);
                } else { /* filter [cout][3][3][cin] (KRSC) */
                    const T *src = in + q * (size_t)cin;
                    const float *wk = w + ((o * 3 + (size_t)ky) * 3 + (size_t)kx) * (size_t)cin;
                    for (int ci = 0; ci < cin; ci++)
                        acc = fmaf(ld(src[ci]), wk[ci], acc);
                }
            }
        }
        out[i] = st<T>(bias_relu(acc, bias, o, relu));
    }
}

extern "C" cudaError_t cuk_conv3x3(const void *in, const float *w, const float *bias, void *out,
                                   cuk_type type, int cin, int cout, int h, int wd, int relu,
                                   cudaStream_t stream)
{
    size_t n = (size_t)h * (size_t)wd * (size_t)cout;

    if (n)
        BY_TYPE(type, conv3x3, blocks_for(n), in, w, bias, out, cin, cout, h, wd, relu, n,
                NCHW(type));
    return cudaGetLastError();
}

/* Each input pixel paints a 2x2 output patch (backend_ref.c convt2x2); one
 * thread per output value, output channel fastest. */
template <typename T>
static __global__ void convt2x2(const void *in_, const float *__restrict__ w,
                                const float *__restrict__ bias, void *out_, int cin, int cout,
                                int wd, int relu, size_t n, int nchw)
{
    const T *__restrict__ in = (const T *)in_;
    T *__restrict__ out = (T *)out_;
    size_t oplane = n / (size_t)cout, iplane = oplane / 4;

    GRID_STRIDE(i, n)
    {
        size_t o = channel_of(nchw, i, (size_t)cout, oplane);
        size_t p = pixel_of(nchw, i, (size_t)cout, oplane), ow = 2 * (size_t)wd;
        size_t ox = p % ow, oy = p / ow;
        size_t k = (oy & 1) * 2 + (ox & 1);
        size_t q = (oy >> 1) * (size_t)wd + (ox >> 1);
        const float *wk = w + k * (size_t)cin * (size_t)cout + o;
        float acc = 0.0f;

        for (int ci = 0; ci < cin; ci++)
            acc = fmaf(ld(in[at(nchw, q, (size_t)ci, (size_t)cin, iplane)]),
                       wk[(size_t)ci * (size_t)cout], acc);
        out[i] = st<T>(bias_relu(acc, bias, o, relu));
    }
}

extern "C" cudaError_t cuk_convt2x2(const void *in, const float *w, const float *bias, void *out,
                                    cuk_type type, int cin, int cout, int h, int wd, int relu,
                                    cudaStream_t stream)
{
    size_t n = 4 * (size_t)h * (size_t)wd * (size_t)cout;

    if (n)
        BY_TYPE(type, convt2x2, blocks_for(n), in, w, bias, out, cin, cout, wd, relu, n,
                NCHW(type));
    return cudaGetLastError();
}

template <typename T>
static __global__ void avgpool2(const void *in_, void *out_, int c, int ow, size_t n, int nchw)
{
    const T *__restrict__ in = (const T *)in_;
    T *__restrict__ out = (T *)out_;
    size_t oplane = n / (size_t)c, iplane = 4 * oplane, cc = (size_t)c;

    GRID_STRIDE(i, n)
    {
        size_t ch = channel_of(nchw, i, cc, oplane), p = pixel_of(nchw, i, cc, oplane);
        size_t x = p % (size_t)ow, y = p / (size_t)ow, iw = 2 * (size_t)ow;
        size_t q = (2 * y) * iw + 2 * x;
        float s = __fadd_rn(__fadd_rn(__fadd_rn(ld(in[at(nchw, q, ch, cc, iplane)]),
                                                ld(in[at(nchw, q + 1, ch, cc, iplane)])),
                                      ld(in[at(nchw, q + iw, ch, cc, iplane)])),
                            ld(in[at(nchw, q + iw + 1, ch, cc, iplane)]));

        out[i] = st<T>(__fmul_rn(0.25f, s));
    }
}

extern "C" cudaError_t cuk_avgpool2(const void *in, void *out, cuk_type type, int c, int oh,
                                    int ow, cudaStream_t stream)
{
    size_t n = (size_t)oh * (size_t)ow * (size_t)c;

    if (n)
        BY_TYPE(type, avgpool2, blocks_for(n), in, out, c, ow, n, NCHW(type));
    return cudaGetLastError();
}

template <typename T>
static __global__ void concat(const void *a_, const void *b_, void *out_, int ca, int cb,
                              size_t n, int nchw)
{
    const T *__restrict__ a = (const T *)a_, *__restrict__ b = (const T *)b_;
    T *__restrict__ out = (T *)out_;
    size_t c = (size_t)ca + (size_t)cb, plane = n / c;

    GRID_STRIDE(i, n)
    {
        size_t ch = channel_of(nchw, i, c, plane), p = pixel_of(nchw, i, c, plane);
        out[i] = ch < (size_t)ca ? a[at(nchw, p, ch, (size_t)ca, plane)]
                                 : b[at(nchw, p, ch - (size_t)ca, (size_t)cb, plane)];
    }
}

extern "C" cudaError_t cuk_concat(const void *a, const void *b, void *out, cuk_type type, int ca,
                                  int cb, size_t pixels, cudaStream_t stream)
{
    size_t n = pixels * ((size_t)ca + (size_t)cb);

    if (n)
        BY_TYPE(type, concat, blocks_for(n), a, b, out, ca, cb, n, NCHW(type));
    return cudaGetLastError();
}

template <typename T>
static __global__ void add_channel(void *t_, const float *__restrict__ offsets, int c, size_t n,
                                   int nchw)
{
    T *t = (T *)t_;
    size_t plane = n / (size_t)c;

    GRID_STRIDE(i, n)
    {
        t[i] = st<T>(__fadd_rn(ld(t[i]), offsets[channel_of(nchw, i, (size_t)c, plane)]));
    }
}

extern "C" cudaError_t cuk_add_channel(void *t, cuk_type type, const float *offsets, int c,
                                       size_t pixels, cudaStream_t stream)
{
    size_t n = pixels * (size_t)c;

    if (n)
        BY_TYPE(type, add_channel, blocks_for(n), t, offsets, c, n, NCHW(type));
    return cudaGetLastError();
}

/* Block k sums rows [ya, yb) of its chunk; thread ch walks the chunk's
 * pixels in row-major order for its channels (reads coalesced across ch). */
template <typename T>
static __global__ void channel_sums(const void *t_, const float *__restrict__ wt, int c, int wd,
                                    int ht, int x0, int y0, int x1, int y1, int chunks,
                                    double *__restrict__ partial, int nchw)
{
    size_t plane = (size_t)wd * (size_t)ht;
    const T *__restrict__ t = (const T *)t_;
    long long rows = y1 - y0, k = blockIdx.x;
    int ya = y0 + (int)(k * rows / chunks), yb = y0 + (int)((k + 1) * rows / chunks);

    for (int ch = (int)threadIdx.x; ch < c; ch += (int)blockDim.x) {
        double s = 0.0;
        for (int y = ya; y < yb; y++)
            for (int x = x0; x < x1; x++) {
                double w = wt ? (double)wt[(size_t)(y - y0) * (size_t)wd + (size_t)x] : 1.0;
                s += w * (double)ld(t[at(nchw, (size_t)y * (size_t)wd + (size_t)x, (size_t)ch,
                                         (size_t)c, plane)]);
            }
        partial[(size_t)k * (size_t)c + (size_t)ch] = s;
    }
}

extern "C" cudaError_t cuk_channel_sums(const void *t, cuk_type type, const float *weights, int c,
                                        int wd, int ht, int x0, int y0, int x1, int y1,
                                        int chunks, double *partial, cudaStream_t stream)
{
    int threads = c < THREADS ? (c + 31) / 32 * 32 : THREADS;

    if (chunks > 0 && c > 0) {
        if (type & CUK_BF16)
            channel_sums<__nv_bfloat16><<<(unsigned)chunks, (unsigned)threads, 0, stream>>>(
                t, weights, c, wd, ht, x0, y0, x1, y1, chunks, partial, NCHW(type));
        else
            channel_sums<float><<<(unsigned)chunks, (unsigned)threads, 0, stream>>>(
                t, weights, c, wd, ht, x0, y0, x1, y1, chunks, partial, NCHW(type));
    }
    return cudaGetLastError();
}

/* out[ch] = the chunks' partial sums of channel ch added in chunk order:
 * the host's order before, so the sums are the same to the bit. */
static __global__ void reduce_chunks(const double *__restrict__ partial, int chunks, int c,
                                     double *__restrict__ out)
{
    int ch = (int)(blockIdx.x * blockDim.x + threadIdx.x);

    if (ch < c) {
        double s = 0.0;
        for (int k = 0; k < chunks; k++)
            s += partial[(size_t)k * (size_t)c + (size_t)ch];
        out[ch] = s;
    }
}

extern "C" cudaError_t cuk_reduce_chunks(const double *partial, int chunks, int c, double *out,
                                         cudaStream_t stream)
{
    if (c > 0)
        reduce_chunks<<<(unsigned)((c + THREADS - 1) / THREADS), THREADS, 0, stream>>>(
            partial, chunks, c, out);
    return cudaGetLastError();
}

/* channel_project (backend.h): the chunks reduced as reduce_chunks does,
 * then unet.c's offset arithmetic in double, so both equal the host path's
 * to the bit.  params: the total (a double), then gain, phi and means (c
 * floats each). */
static __global__ void project(const double *__restrict__ partial, int chunks, int c,
                               const unsigned char *__restrict__ params, int flags,
                               float *__restrict__ offsets, double *__restrict__ sums)
{
    int ch = (int)(blockIdx.x * blockDim.x + threadIdx.x);

    if (ch < c) {
        const float *gain = (const float *)(params + sizeof(double));
        const float *phi = gain + c, *means = phi + c;
        double total = *(const double *)params;
        double s = 0.0, mean, g;

        for (int k = 0; k < chunks; k++)
            s += partial[(size_t)k * (size_t)c + (size_t)ch];
        sums[ch] = s;
        if (!(flags & CUK_PROJECT_PHI))
            return;
        mean = (flags & CUK_PROJECT_MEANS) ? (double)means[ch] : (total > 0.0 ? s / total : 0.0);
        g = (flags & CUK_PROJECT_GAIN) ? (double)gain[ch] : 1.0;
        offsets[ch] = (float)(g * ((double)phi[ch] - mean));
    }
}

extern "C" cudaError_t cuk_project(const double *partial, int chunks, int c, const void *params,
                                   int flags, float *offsets, double *sums, cudaStream_t stream)
{
    if (c > 0)
        project<<<(unsigned)((c + THREADS - 1) / THREADS), THREADS, 0, stream>>>(
            partial, chunks, c, (const unsigned char *)params, flags, offsets, sums);
    return cudaGetLastError();
}

/* step_at (device, may be NULL): the step read there instead (a graph's). */
static __global__ void rng_normal(uint64_t key, uint32_t step, const uint32_t *step_at,
                                  uint32_t first, size_t n, float *out)
{
    uint32_t s = step_at ? *step_at : step;

    GRID_STRIDE(i, n)
    {
        out[i] = rng_core_normal(key, s, first + (uint32_t)i);
    }
}

extern "C" cudaError_t cuk_rng_normal(uint64_t seed, uint32_t step, uint32_t first, size_t n,
                                      float *out, cudaStream_t stream)
{
    if (n)
        rng_normal<<<blocks_for(n), THREADS, 0, stream>>>(rng_core_key(seed), step, NULL, first,
                                                          n, out);
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_rng_normal_at(uint64_t seed, const uint32_t *step, size_t n,
                                         float *out, cudaStream_t stream)
{
    if (n)
        rng_normal<<<blocks_for(n), THREADS, 0, stream>>>(rng_core_key(seed), 0, step, 0, n, out);
    return cudaGetLastError();
}

/* ---- the sampler's images ------------------------------------------------------- */

/* canvas.c's mirror and wrap (source_of). */
static __device__ __forceinline__ int mirror_index(int i, int n)
{
    int period;

    if (n == 1)
        return 0;
    period = 2 * (n - 1);
    i %= period;
    if (i < 0)
        i += period;
    return i < n ? i : period - i;
}

static __device__ __forceinline__ int wrap_index(int i, int n)
{
    i %= n;
    return i < 0 ? i + n : i;
}

template <typename T>
static __global__ void window_fill(const float *__restrict__ img, int iw, int ih, int wx, int wy,
                                   int periodic, void *t_, int c, int w, size_t pixels, int nchw)
{
    T *__restrict__ t = (T *)t_;

    GRID_STRIDE(p, pixels)
    {
        int x = (int)(p % (size_t)w) + wx, y = (int)(p / (size_t)w) + wy;
        int sx = periodic ? wrap_index(x, iw) : mirror_index(x, iw);
        int sy = periodic ? wrap_index(y, ih) : mirror_index(y, ih);
        const float *src = img + ((size_t)sy * (size_t)iw + (size_t)sx) * 3;

        for (int ch = 0; ch < c; ch++)
            t[at(nchw, p, (size_t)ch, (size_t)c, pixels)] = st<T>(src[ch]);
    }
}

extern "C" cudaError_t cuk_window_fill(const float *img, int iw, int ih, int wx, int wy,
                                       int periodic, void *t, cuk_type type, int c, int h, int w,
                                       cudaStream_t stream)
{
    size_t pixels = (size_t)h * (size_t)w;

    if (pixels)
        BY_TYPE(type, window_fill, blocks_for(pixels), img, iw, ih, wx, wy, periodic, t, c, w,
                pixels, NCHW(type));
    return cudaGetLastError();
}

template <typename T>
static __global__ void window_store(const void *t_, int c, int w, size_t tplane,
                                    const float *__restrict__ x, float *__restrict__ clean, int iw,
                                    int wx, int wy, int x0, int y0, int rw, int residual,
                                    size_t pixels, int nchw)
{
    const T *__restrict__ t = (const T *)t_;

    GRID_STRIDE(p, pixels)
    {
        int xx = x0 + (int)(p % (size_t)rw), y = y0 + (int)(p / (size_t)rw);
        size_t q = (size_t)(y - wy) * (size_t)w + (size_t)(xx - wx);
        size_t k = ((size_t)y * (size_t)iw + (size_t)xx) * 3;

        for (int ch = 0; ch < c; ch++) {
            float v = ld(t[at(nchw, q, (size_t)ch, (size_t)c, tplane)]);
            clean[k + (size_t)ch] = residual ? __fsub_rn(x[k + (size_t)ch], v) : v;
        }
    }
}

extern "C" cudaError_t cuk_window_store(const void *t, cuk_type type, int c, int h, int w,
                                        const float *x_img, float *clean, int iw, int wx, int wy,
                                        int x0, int y0, int x1, int y1, int residual,
                                        cudaStream_t stream)
{
    size_t pixels = x1 > x0 && y1 > y0 ? (size_t)(x1 - x0) * (size_t)(y1 - y0) : 0;

    if (pixels)
        BY_TYPE(type, window_store, blocks_for(pixels), t, c, w, (size_t)h * (size_t)w, x_img,
                clean, iw, wx, wy, x0, y0, x1 - x0, residual, pixels, NCHW(type));
    return cudaGetLastError();
}

static __global__ void add_scaled(float *__restrict__ y, float a, const float *__restrict__ x,
                                  size_t n)
{
    GRID_STRIDE(i, n)
    y[i] = __fadd_rn(y[i], __fmul_rn(a, x[i]));
}

extern "C" cudaError_t cuk_add_scaled(float *y, float a, const float *x, size_t n,
                                      cudaStream_t stream)
{
    if (n)
        add_scaled<<<blocks_for(n), THREADS, 0, stream>>>(y, a, x, n);
    return cudaGetLastError();
}

/* (float)(x - h ((double)x - d) + g z), each operation rounded as the
 * host's (no contraction into fused multiply-adds). */
static __global__ void sisa_update(float *__restrict__ x, const float *__restrict__ d,
                                   const float *__restrict__ z, double h, double g,
                                   const double *hg, size_t n)
{
    if (hg) {
        h = hg[0];
        g = hg[1];
    }
    GRID_STRIDE(i, n)
    {
        double xi = x[i];
        double step = __dmul_rn(h, __dsub_rn(xi, (double)d[i]));

        x[i] = (float)__dadd_rn(__dsub_rn(xi, step), __dmul_rn(g, (double)z[i]));
    }
}

extern "C" cudaError_t cuk_sisa_update(float *x, const float *d, const float *z, double h,
                                       double g, size_t n, cudaStream_t stream)
{
    if (n)
        sisa_update<<<blocks_for(n), THREADS, 0, stream>>>(x, d, z, h, g, NULL, n);
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_sisa_update_at(float *x, const float *d, const float *z,
                                          const double *hg, size_t n, cudaStream_t stream)
{
    if (n)
        sisa_update<<<blocks_for(n), THREADS, 0, stream>>>(x, d, z, 0.0, 0.0, hg, n);
    return cudaGetLastError();
}

/* Block k: its threads sum a grid stride over its share, then halve in
 * shared memory: a fixed order for a fixed n and chunks. */
static __global__ void residual(const float *__restrict__ x, const float *__restrict__ d,
                                size_t n, double *partial)
{
    __shared__ double part[THREADS];
    size_t per = (n + gridDim.x - 1) / gridDim.x;
    size_t lo = (size_t)blockIdx.x * per, hi = lo + per < n ? lo + per : n;
    double s = 0.0;

    for (size_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
        double f = __dsub_rn((double)x[i], (double)d[i]);
        s = __dadd_rn(s, __dmul_rn(f, f));
    }
    part[threadIdx.x] = s;
    __syncthreads();
    for (int half = THREADS / 2; half > 0; half /= 2) {
        if ((int)threadIdx.x < half)
            part[threadIdx.x] = __dadd_rn(part[threadIdx.x], part[threadIdx.x + half]);
        __syncthreads();
    }
    if (threadIdx.x == 0)
        partial[blockIdx.x] = part[0];
}

extern "C" cudaError_t cuk_residual(const float *x, const float *d, size_t n, int chunks,
                                    double *partial, cudaStream_t stream)
{
    residual<<<chunks, THREADS, 0, stream>>>(x, d, n, partial);
    return cudaGetLastError();
}

static __global__ void planes_diff(const float *__restrict__ a, const float *__restrict__ b,
                                   float *__restrict__ planes, size_t pixels)
{
    GRID_STRIDE(i, 3 * pixels)
    {
        size_t ch = i / pixels, p = i % pixels;
        float v = a[3 * p + ch];

        planes[i] = b ? __fsub_rn(v, b[3 * p + ch]) : __fsub_rn(v, 0.0f);
    }
}

extern "C" cudaError_t cuk_planes_diff(const float *a, const float *b, float *planes,
                                       size_t pixels, cudaStream_t stream)
{
    if (pixels)
        planes_diff<<<blocks_for(3 * pixels), THREADS, 0, stream>>>(a, b, planes, pixels);
    return cudaGetLastError();
}

/* image_math.c's box_line over n values of src at stride `stride`, into
 * dst: the window's sum in double, slid in the host's order. */
static __device__ void box_line(const float *src, float *dst, int n, size_t stride, int k)
{
    double sum = 0.0;
    int lo;

    if (k > n)
        k = n;
    lo = k / 2;
    for (int j = -lo; j < k - lo; j++)
        sum = __dadd_rn(sum, (double)src[(size_t)(((j % n) + n) % n) * stride]);
    for (int i = 0; i < n; i++) {
        dst[(size_t)i * stride] = (float)__ddiv_rn(sum, (double)k);
        sum = __dadd_rn(sum, __dsub_rn((double)src[(size_t)((i + k - lo) % n) * stride],
                                       (double)src[(size_t)(((i - lo) % n + n) % n) * stride]));
    }
}

static __global__ void box_rows(const float *src, float *dst, int w, int h, int k)
{
    GRID_STRIDE(line, 3 * (size_t)h)
    box_line(src + line * (size_t)w, dst + line * (size_t)w, w, 1, k);
}

static __global__ void box_cols(const float *src, float *dst, int w, int h, int k)
{
    GRID_STRIDE(line, 3 * (size_t)w)
    {
        size_t plane = line / (size_t)w, x = line % (size_t)w;
        size_t o = plane * (size_t)w * (size_t)h + x;

        box_line(src + o, dst + o, h, (size_t)w, k);
    }
}

extern "C" cudaError_t cuk_box_rows(const float *src, float *dst, int w, int h, int k,
                                    cudaStream_t stream)
{
    if (w > 0 && h > 0)
        box_rows<<<blocks_for(3 * (size_t)h), THREADS, 0, stream>>>(src, dst, w, h, k);
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_box_cols(const float *src, float *dst, int w, int h, int k,
                                    cudaStream_t stream)
{
    if (w > 0 && h > 0)
        box_cols<<<blocks_for(3 * (size_t)w), THREADS, 0, stream>>>(src, dst, w, h, k);
    return cudaGetLastError();
}

static __global__ void add_planes(float *__restrict__ v, float sign,
                                  const float *__restrict__ planes, size_t pixels)
{
    GRID_STRIDE(i, 3 * pixels)
    {
        size_t p = i / 3, ch = i % 3;

        v[i] = __fadd_rn(v[i], __fmul_rn(sign, planes[ch * pixels + p]));
    }
}

extern "C" cudaError_t cuk_add_planes(float *v, float sign, const float *planes, size_t pixels,
                                      cudaStream_t stream)
{
    if (pixels)
        add_planes<<<blocks_for(3 * pixels), THREADS, 0, stream>>>(v, sign, planes, pixels);
    return cudaGetLastError();
}
