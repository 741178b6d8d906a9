/* SPDX-License-Identifier: GPL-3.0-or-later
 * The CUDA backend's own declarations, shared by its ops (backend_cuda.c)
 * and its deferred passes and CUDA graphs (cuda_pass.c). */
#ifndef FGSD_CUDA_BACKEND_H
#define FGSD_CUDA_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "backend.h"
#include "cuda_kernels.h"

/* Rows per partial sum of channel_sums: enough blocks to fill a GPU, few
 * enough partials to add on the host. */
#define SUM_CHUNKS 512

/* Blocks of the residual's sum (image_residual): partial sums added on the
 * host in order, by residual_total. */
#define RESIDUAL_CHUNKS 256

static inline double residual_total(const double *part)
{
    double sum = 0.0;

    for (int k = 0; k < RESIDUAL_CHUNKS; k++)
        sum += part[k];
    return sum;
}

/* Numerical mode (FGSD_CUDA_PRECISION): fp32 (FMA kernels only, equal to
 * the CPU within fp32 rounding), or bf16 activations and cuDNN filters
 * with fp32 accumulation on tensor cores (a looser tolerance, measured). */
typedef enum cuda_precision { PRECISION_FP32, PRECISION_BF16 } cuda_precision;

/* The activations' element type and layout (the kernels' cuk_type), and
 * size, in this mode. */
#define ACT_TYPE(be)                                                                             \
    ((cuk_type)(((be)->precision == PRECISION_BF16 ? CUK_BF16 : CUK_F32) |                      \
                ((be)->nchw ? CUK_NCHW : 0)))
#define ACT_BYTES(be) ((be)->precision == PRECISION_BF16 ? (size_t)2 : sizeof(float))

/* Kinds of op that FGSD_CUDA_PROFILE times. */
enum { PROF_CONV3, PROF_CONVT, PROF_POOL, PROF_CONCAT, PROF_SUMS, PROF_ADDCH, PROF_UPLOAD,
       PROF_DOWNLOAD, PROF_NOISE, PROF_IMAGES, PROF_KINDS };

typedef struct devbuf {
    void *p;
    size_t size;
} devbuf;

#include "cuda_pass.h"

/* A mask kept on the device (channel_sums' weights with a generation). */
typedef struct mask_slot {
    const float *host;
    uint64_t gen;
    size_t bytes;
    unsigned long used_at; /* the least recently used slot is replaced */
    devbuf buf;
} mask_slot;
#define MASK_SLOTS (FGSD_MAX_LEVELS + 1)

struct backend {
    char error[512];
    fgsd_status status; /* of the failure error describes */
    int device;
    int deterministic;
    int direct_conv;    /* FGSD_CUDA_CONV=direct: the plain kernel, not cuDNN */
    cuda_precision precision;
    /* FGSD_CUDA_LAYOUT=nchw: activations NCHW, cuDNN filters KCRS (the
     * decoder's concatenation then a view, no copy); default NHWC.  For
     * the GPU run to time fp32 in both layouts (issue 24.4). */
    int nchw;
    cudaStream_t stream;
    cudnnHandle_t dnn;
    cudnnActivationDescriptor_t relu;
    devbuf stage;       /* upload/download staging, planar CHW */
    devbuf small;       /* channel_sums weights, add_channel offsets */
    devbuf partial;     /* channel_sums partial sums */
    devbuf workspace;   /* cuDNN */
    devbuf zero_bias;   /* the fused op needs a bias; bias-free convs use zeros */
    size_t used;        /* bytes this backend has cudaMalloc'ed */
    size_t cap;         /* FGSD_CUDA_MEMORY_CAP_MIB in bytes; 0: none */
    int find_algo;      /* FGSD_CUDA_ALGO=find */
    int profile;        /* FGSD_CUDA_PROFILE=1 */
    double prof_s[PROF_KINDS];
    long prof_n[PROF_KINDS];
    double *host_partial;
    size_t host_partial_n;
    void *pinned;       /* page-locked host staging of upload, download, noise */
    size_t pinned_size; /* 0: none (cudaMallocHost failed: pageable copies) */
    /* Issue 24's switches, each on unless its variable says 0, so that the
     * GPU run can time both: FGSD_CUDA_MASK_CACHE (masks kept per
     * generation) and FGSD_CUDA_DEVICE_REDUCE (the chunks' sums added on
     * the device, c values brought back instead of chunks x c). */
    int mask_cache, device_reduce;
    mask_slot masks[MASK_SLOTS];
    unsigned long mask_clock;
    devbuf sums;        /* device_reduce, channel_project: the c reduced sums */
    devbuf offsets;     /* channel_project: the c offsets */
    /* Bumped whenever a buffer that a CUDA graph may have captured moves
     * (devbuf_reserve, the pass slabs): graphs of an older epoch are
     * never launched. */
    unsigned long epoch;
    /* Deferred passes and their CUDA graphs (cuda_pass.c), switched by
     * FGSD_CUDA_DEVICE_PROJECT and FGSD_CUDA_GRAPHS. */
    int deferred_passes, graphs;
    /* The sampler's images on the device (cuda_images.c), switched by
     * FGSD_CUDA_DEVICE_LOOP; the low-pass's planes and the residual's
     * partial sums, reserved with the images, before the passes. */
    int device_images;
    devbuf image_planes, image_partial;
    int stats;          /* FGSD_CUDA_STATS=1: the passes' counts at the end */
    cuda_pass pass;
};

#define CONV_PLANS 4

struct backend_tensor {
    int c, h, w;
    void *d;  /* ACT_TYPE elements */
    int view; /* d lies in another tensor (tensor_view, NCHW) */
};

/* Values in t. */
static inline size_t numel(const backend_tensor *t)
{
    return (size_t)t->c * (size_t)t->h * (size_t)t->w;
}

/* cuDNN's choice for one input size, found on first use at that size and
 * kept beside the plans of other sizes (a tiled canvas alternates window
 * sizes; a CUDA graph's capture may not plan). */
typedef struct conv_plan {
    int h, w;           /* 0: none yet */
    unsigned long used_at;
    int algo;           /* cudnnConvolutionFwdAlgo_t, or -1: direct kernel */
    int fused;          /* bias + ReLU inside cuDNN */
    size_t workspace;
    cudnnTensorDescriptor_t x, y;
} conv_plan;

struct backend_conv {
    int cin, cout, transposed, relu;
    float *w;           /* 3x3: [cout][3][3][cin]; 2x2: [ky*2+kx][cin][cout] */
    float *bias;        /* NULL when the model has none */
    void *w_bf16;       /* the bf16 mode's cuDNN filter (3x3 only) */
    size_t w_bytes, bias_bytes, w_bf16_bytes;
    cudnnFilterDescriptor_t filter;
    cudnnConvolutionDescriptor_t desc;
    cudnnTensorDescriptor_t bias_desc;
    conv_plan plan[CONV_PLANS];
    unsigned long plan_clock;
};

/* ---- backend_cuda.c, for cuda_pass.c and cuda_images.c --------------------- */

/* cudaMalloc counted against FGSD_CUDA_MEMORY_CAP_MIB, and its free. */
cudaError_t dev_alloc(backend *be, void **p, size_t bytes);
void dev_free(backend *be, void *p, size_t bytes);
/* A page-locked host buffer of at least bytes, or NULL (backend_cuda.c). */
void *pinned_buffer(backend *be, size_t bytes);
/* bytes from device src to host dst through the page-locked buffer; waits. */
fgsd_status copy_to_host(backend *be, void *dst, const void *src, size_t bytes,
                         const char *what);
/* FGSD_CUDA_PROFILE's timing around an op. */
double prof_begin(backend *be);
fgsd_status prof_end(backend *be, int kind, double t0, fgsd_status st);

fgsd_status fail(backend *be, fgsd_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A CUDA runtime failure: out of memory is FGSD_ERR_NO_MEMORY. */
fgsd_status cuda_fail(backend *be, cudaError_t e, const char *what);
fgsd_status dnn_fail(backend *be, cudnnStatus_t s, const char *what);
/* b holds at least bytes (grown, never shrunk; a move bumps be->epoch). */
fgsd_status devbuf_reserve(backend *be, devbuf *b, size_t bytes, const char *what);
/* The device copy of a numbered mask (backend.h channel_sums), rows
 * y0 .. y0 + rows - 1 of the w x h plane; NULL when it failed. */
const float *device_weights(backend *be, const float *weights, uint64_t gen, int w, int h,
                            int y0, int rows);
/* The ops as they run at once (outside a deferred pass, or when it runs). */
fgsd_status cuda_conv(backend *be, const backend_conv *c, const backend_tensor *in,
                      backend_tensor *out);
fgsd_status cuda_avgpool2(backend *be, const backend_tensor *in, backend_tensor *out);
fgsd_status cuda_concat(backend *be, const backend_tensor *a, const backend_tensor *b,
                        backend_tensor *out);

/* ---- cuda_images.c: backend.h's image ops --------------------------------- */

struct backend_image {
    int w, h;
    float *d;   /* w x h x 3, interleaved */
};

fgsd_status cuda_image_new(backend *be, int width, int height, backend_image **out);
void cuda_image_free(backend *be, backend_image *im);
fgsd_status cuda_image_upload(backend *be, backend_image *im, const float *hwc);
fgsd_status cuda_image_download(backend *be, const backend_image *im, float *hwc);
fgsd_status cuda_image_copy(backend *be, backend_image *dst, const backend_image *src);
fgsd_status cuda_image_noise(backend *be, backend_image *im, uint64_t seed, uint32_t step);
fgsd_status cuda_image_add_scaled(backend *be, backend_image *y, float a,
                                  const backend_image *x);
fgsd_status cuda_image_add_lowpass(backend *be, backend_image *v, float sign,
                                   const backend_image *a, const backend_image *b, int k);
fgsd_status cuda_image_sisa_update(backend *be, backend_image *x, const backend_image *d,
                                   const backend_image *z, double h, double g);
fgsd_status cuda_image_residual(backend *be, const backend_image *x, const backend_image *d,
                                double *ss);
/* v += sign lowpass(a - b) on w x h images (b may be NULL), as it runs. */
fgsd_status cuda_lowpass(backend *be, float *v, float sign, const float *a, const float *b, int w,
                         int h, int k);
/* The window ops as they run (outside a deferred pass, or when it runs),
 * and their arguments' check (clean NULL: a fill's). */
fgsd_status cuda_window_check(backend *be, const backend_tensor *t, const backend_image *x,
                              const backend_image *clean, const backend_window *win);
fgsd_status cuda_window_fill(backend *be, backend_tensor *t, const backend_image *x,
                             const backend_window *win);
fgsd_status cuda_window_store(backend *be, const backend_tensor *t, const backend_image *x,
                              backend_image *clean, const backend_window *win, int residual);

#define CU(be, call, what)                                                                       \
    do {                                                                                         \
        cudaError_t e_ = (call);                                                                 \
        if (e_ != cudaSuccess)                                                                   \
            return cuda_fail(be, e_, what);                                                      \
    } while (0)

#define DNN(be, call, what)                                                                      \
    do {                                                                                         \
        cudnnStatus_t s_ = (call);                                                               \
        if (s_ != CUDNN_STATUS_SUCCESS)                                                          \
            return dnn_fail(be, s_, what);                                                       \
    } while (0)

#endif
