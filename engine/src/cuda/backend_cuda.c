/* SPDX-License-Identifier: GPL-3.0-or-later
 * The CUDA + cuDNN backend (docs/cuda.md), built into its own module
 * libfgsd-cuda.so that session.c loads with dlopen.
 *
 * Tensors live on the GPU as NHWC fp32 (or bf16 with FGSD_CUDA_PRECISION=
 * bf16).  3x3 convolutions run in cuDNN (legacy convolution API, NHWC,
 * cross-correlation as PyTorch), ReLU and bias fused into
 * cudnnConvolutionBiasActivationForward where cuDNN runs it (fp32);
 * everything else is a kernel of cuda_kernels.cu.  fp32 mode uses
 * CUDNN_FMA_MATH, which excludes TF32 tensor-core kernels, so results agree
 * with backend_ref.c within fp32 rounding (tests/test_cuda.c states the
 * bounds); bf16 mode uses tensor cores with fp32 accumulation.  Every call
 * queues on one stream; only download and channel_sums wait for it, as they
 * hand values to the host; a deferred pass (cuda_pass.c) waits once, at
 * its end.
 *
 * Device memory: tensors and weights are cudaMalloc'ed once (the graph
 * runner allocates per canvas size); staging buffers and the cuDNN
 * workspace grow on demand and are kept.  A failed cudaMalloc is
 * FGSD_ERR_NO_MEMORY, so the caller can tile smaller or fall back to the CPU.
 * FGSD_CUDA_MEMORY_CAP_MIB=N makes the backend behave as if the GPU had N MiB
 * for it (every cudaMalloc counted; cuDNN's own small allocations are not):
 * the out-of-memory paths are tested with it on a GPU of any size.
 *
 * Diagnostics (docs/cuda.md): FGSD_CUDA_PROFILE=1 waits for the GPU after
 * every op, adds up the time per kind of op and prints the table and each
 * convolution's chosen algorithm to stderr; FGSD_CUDA_ALGO=find ranks
 * cuDNN's algorithms by timing them (cudnnFindConvolutionForwardAlgorithm)
 * instead of by its heuristics. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dlfcn.h>
#include <time.h>

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "cuda_backend.h"
#include "cuda_kernels.h"
#include "cuda_module.h"

static const char *const prof_names[PROF_KINDS] = {
    "conv3x3", "convt2x2", "avgpool2", "concat", "channel_sums", "add_channel",
    "upload", "download", "noise", "images"};

/* ---- errors --------------------------------------------------------------- */

fgsd_status fail(backend *be, fgsd_status st, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(be->error, sizeof(be->error), "CUDA backend: ");

    va_start(ap, fmt);
    vsnprintf(be->error + n, sizeof(be->error) - (size_t)n, fmt, ap);
    va_end(ap);
    be->status = st;
    return st;
}

/* A CUDA runtime failure: out of memory is FGSD_ERR_NO_MEMORY (the caller
 * may tile smaller), anything else FGSD_ERR_BACKEND.  Clears the runtime's
 * last error, so the next launch check does not report this one again. */
fgsd_status cuda_fail(backend *be, cudaError_t e, const char *what)
{
    fgsd_status st = e == cudaErrorMemoryAllocation ? FGSD_ERR_NO_MEMORY : FGSD_ERR_BACKEND;

    (void)cudaGetLastError();
    if (st == FGSD_ERR_NO_MEMORY && be->cap)
        return fail(be, st, "out of GPU memory (%s; %zu of the %zu MiB cap in use)", what,
                    be->used >> 20, be->cap >> 20);
    if (st == FGSD_ERR_NO_MEMORY) {
        size_t free_b = 0, total = 0;
        (void)cudaMemGetInfo(&free_b, &total);
        (void)cudaGetLastError();
        return fail(be, st, "out of GPU memory (%s; %zu of %zu MiB free)", what, free_b >> 20,
                    total >> 20);
    }
    return fail(be, st, "%s: %s", what, cudaGetErrorString(e));
}

fgsd_status dnn_fail(backend *be, cudnnStatus_t s, const char *what)
{
    fgsd_status st = s == CUDNN_STATUS_ALLOC_FAILED ? FGSD_ERR_NO_MEMORY : FGSD_ERR_BACKEND;

    return fail(be, st, "cuDNN %s: %s", what, cudnnGetErrorString(s));
}

/* ---- device buffers ----------------------------------------------------------- */

/* cudaMalloc, counted against the cap. */
cudaError_t dev_alloc(backend *be, void **p, size_t bytes)
{
    cudaError_t e;

    *p = NULL;
    if (be->cap && (bytes > be->cap || be->used > be->cap - bytes))
        return cudaErrorMemoryAllocation;
    e = cudaMalloc(p, bytes);
    if (e == cudaSuccess)
        be->used += bytes;
    return e;
}

void dev_free(backend *be, void *p, size_t bytes)
{
    if (!p)
        return;
    cudaFree(p);
    be->used -= bytes;
}

fgsd_status devbuf_reserve(backend *be, devbuf *b, size_t bytes, const char *what)
{
    void *p = NULL;
    cudaError_t e;

    if (b->size >= bytes)
        return FGSD_OK;
    if (be->pass.capturing)
        return fail(be, FGSD_ERR_BACKEND, "%s would grow inside a CUDA graph's capture", what);
    be->epoch++; /* graphs that captured the old buffer are stale */
    /* Work queued on the stream may still read the old buffer. */
    CU(be, cudaStreamSynchronize(be->stream), "cudaStreamSynchronize");
    dev_free(be, b->p, b->size);
    b->p = NULL;
    b->size = 0;
    e = dev_alloc(be, &p, bytes);
    if (e != cudaSuccess)
        return cuda_fail(be, e, what);
    b->p = p;
    b->size = bytes;
    return FGSD_OK;
}

static void devbuf_free(backend *be, devbuf *b)
{
    dev_free(be, b->p, b->size);
    b->p = NULL;
    b->size = 0;
}

/* ---- FGSD_CUDA_PROFILE ------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The op's time: from an idle GPU to the end of its work. */
double prof_begin(backend *be)
{
    if (!be->profile)
        return 0.0;
    (void)cudaStreamSynchronize(be->stream);
    return now_s();
}

fgsd_status prof_end(backend *be, int kind, double t0, fgsd_status st)
{
    if (be->profile) {
        (void)cudaStreamSynchronize(be->stream);
        be->prof_s[kind] += now_s() - t0;
        be->prof_n[kind]++;
    }
    return st;
}

static void prof_print(const backend *be)
{
    double total = 0.0;

    for (int k = 0; k < PROF_KINDS; k++)
        total += be->prof_s[k];
    fprintf(stderr, "fgsd cuda profile: %.3f s in ops\n", total);
    for (int k = 0; k < PROF_KINDS; k++)
        if (be->prof_n[k])
            fprintf(stderr, "fgsd cuda profile: %-12s %7ld calls %9.3f ms %5.1f %%\n",
                    prof_names[k], be->prof_n[k], 1e3 * be->prof_s[k],
                    total > 0.0 ? 100.0 * be->prof_s[k] / total : 0.0);
}

/* ---- module probe, create, destroy ------------------------------------------------ */

/* What a failed cudaGetDeviceCount means for a user. */
static const char *device_error_hint(cudaError_t e)
{
    switch (e) {
    case cudaErrorNoDevice:
        return "no NVIDIA GPU found";
    case cudaErrorInsufficientDriver:
        return "the NVIDIA driver is older than this build's CUDA runtime";
    case cudaErrorInitializationError:
        return "the CUDA driver could not be initialised";
    default:
        return "CUDA is not usable";
    }
}

/* The driver's library: without it the runtime reports an "insufficient
 * driver", which on a machine with no NVIDIA driver at all means no GPU. */
static int driver_installed(void)
{
    void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);

    if (h)
        dlclose(h);
    return h != NULL;
}

static int cuda_probe(char *err, size_t errlen)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);

    (void)cudaGetLastError();
    if (e == cudaSuccess && n == 0)
        e = cudaErrorNoDevice;
    if (e == cudaSuccess)
        return n;
    if ((e == cudaErrorInsufficientDriver || e == cudaErrorStubLibrary) && !driver_installed()) {
        snprintf(err, errlen, "no NVIDIA driver found: libcuda.so.1 is not installed");
        return 0;
    }
    snprintf(err, errlen, "%s: cudaGetDeviceCount: %s", device_error_hint(e),
             cudaGetErrorString(e));
    return e == cudaErrorNoDevice || e == cudaErrorInitializationError ? 0 : -1;
}

static void cuda_destroy(backend *be)
{
    if (!be)
        return;
    if (be->stream)
        cudaStreamSynchronize(be->stream);
    if (be->profile)
        prof_print(be);
    cuda_pass_free(be);
    devbuf_free(be, &be->pass.slab_dev);
    devbuf_free(be, &be->offsets);
    if (be->pinned)
        cudaFreeHost(be->pinned);
    devbuf_free(be, &be->stage);
    devbuf_free(be, &be->small);
    devbuf_free(be, &be->partial);
    devbuf_free(be, &be->sums);
    devbuf_free(be, &be->image_planes);
    devbuf_free(be, &be->image_partial);
    for (int k = 0; k < MASK_SLOTS; k++)
        devbuf_free(be, &be->masks[k].buf);
    devbuf_free(be, &be->workspace);
    devbuf_free(be, &be->zero_bias);
    if (be->relu)
        cudnnDestroyActivationDescriptor(be->relu);
    if (be->dnn)
        cudnnDestroy(be->dnn);
    if (be->stream)
        cudaStreamDestroy(be->stream);
    (void)cudaGetLastError();
    free(be->host_partial);
    free(be);
}

/* An issue-24 switch: on unless the variable is "0". */
static int switch_on(const char *name)
{
    const char *v = getenv(name);

    return !(v && strcmp(v, "0") == 0);
}

/* Everything create needs beyond the allocation of be; on failure be->error
 * says why. */
static fgsd_status init_device(backend *be)
{
    int major = 0, minor = 0;
    size_t ver = cudnnGetVersion();
    const char *conv = getenv("FGSD_CUDA_CONV");
    const char *prec = getenv("FGSD_CUDA_PRECISION");
    const char *layout = getenv("FGSD_CUDA_LAYOUT");

    const char *cap = getenv("FGSD_CUDA_MEMORY_CAP_MIB");

    if (cap && *cap) {
        char *end = NULL;
        unsigned long long mib = strtoull(cap, &end, 10);

        if (*end || mib == 0 || mib > (1ull << 30))
            return fail(be, FGSD_ERR_INVALID_ARGUMENT,
                        "FGSD_CUDA_MEMORY_CAP_MIB must be a number of MiB, not \"%s\"", cap);
        be->cap = (size_t)mib << 20;
    }
    be->profile = getenv("FGSD_CUDA_PROFILE") && strcmp(getenv("FGSD_CUDA_PROFILE"), "1") == 0;
    be->find_algo = getenv("FGSD_CUDA_ALGO") && strcmp(getenv("FGSD_CUDA_ALGO"), "find") == 0;
    be->mask_cache = switch_on("FGSD_CUDA_MASK_CACHE");
    be->device_reduce = switch_on("FGSD_CUDA_DEVICE_REDUCE");
    be->deferred_passes = switch_on("FGSD_CUDA_DEVICE_PROJECT");
    be->graphs = switch_on("FGSD_CUDA_GRAPHS");
    be->device_images = switch_on("FGSD_CUDA_DEVICE_LOOP");
    be->stats = getenv("FGSD_CUDA_STATS") && strcmp(getenv("FGSD_CUDA_STATS"), "1") == 0;
    be->device = 0;
    CU(be, cudaSetDevice(be->device), "cudaSetDevice");
    CU(be, cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, be->device),
       "cudaDeviceGetAttribute");
    CU(be, cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, be->device),
       "cudaDeviceGetAttribute");
    if (ver / 10000 != CUDNN_MAJOR)
        return fail(be, FGSD_ERR_BACKEND, "cuDNN %zu.%zu found, this module was built for %d.x",
                    ver / 10000, ver / 100 % 100, CUDNN_MAJOR);
    CU(be, cudaStreamCreateWithFlags(&be->stream, cudaStreamNonBlocking), "cudaStreamCreate");
    DNN(be, cudnnCreate(&be->dnn), "cudnnCreate");
    DNN(be, cudnnSetStream(be->dnn, be->stream), "cudnnSetStream");
    DNN(be, cudnnCreateActivationDescriptor(&be->relu), "cudnnCreateActivationDescriptor");
    DNN(be, cudnnSetActivationDescriptor(be->relu, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0),
        "cudnnSetActivationDescriptor");
    /* A first kernel: fails here, with a clear message, when the module has
     * no code for this GPU (compute capability below the build's list). */
    if (devbuf_reserve(be, &be->small, 256, "a staging buffer"))
        return be->status;
    if (cuk_add_channel(be->small.p, CUK_F32, be->small.p, 1, 1, be->stream) != cudaSuccess ||
        cudaStreamSynchronize(be->stream) != cudaSuccess) {
        (void)cudaGetLastError();
        return fail(be, FGSD_ERR_BACKEND, "no kernel of this build runs on this GPU (sm_%d%d)",
                    major, minor);
    }
    be->direct_conv = conv && strcmp(conv, "direct") == 0;
    if (prec && *prec && strcmp(prec, "fp32") != 0 && strcmp(prec, "bf16") != 0)
        return fail(be, FGSD_ERR_INVALID_ARGUMENT,
                    "FGSD_CUDA_PRECISION must be fp32 or bf16, not \"%s\"", prec);
    be->precision = prec && strcmp(prec, "bf16") == 0 ? PRECISION_BF16 : PRECISION_FP32;
    if (layout && *layout && strcmp(layout, "nhwc") != 0 && strcmp(layout, "nchw") != 0)
        return fail(be, FGSD_ERR_INVALID_ARGUMENT,
                    "FGSD_CUDA_LAYOUT must be nhwc or nchw, not \"%s\"", layout);
    be->nchw = layout && strcmp(layout, "nchw") == 0;
    return FGSD_OK;
}

static fgsd_status cuda_create(const backend_config *cfg, backend **out, char *err, size_t errlen)
{
    backend *be;
    fgsd_status st;
    int n = cuda_probe(err, errlen);

    *out = NULL;
    if (n <= 0)
        return FGSD_ERR_BACKEND;
    be = calloc(1, sizeof(*be));
    if (!be) {
        snprintf(err, errlen, "out of memory");
        return FGSD_ERR_NO_MEMORY;
    }
    be->deterministic = cfg ? cfg->deterministic : 0;
    st = init_device(be);
    if (st) {
        snprintf(err, errlen, "%s", be->error);
        cuda_destroy(be);
        return st;
    }
    *out = be;
    return FGSD_OK;
}

static const char *cuda_error(backend *be)
{
    return be->error;
}

static fgsd_status cuda_status(backend *be)
{
    return be->status;
}

static size_t cuda_memory_available(backend *be)
{
    size_t free_b = 0, total = 0;

    if (cudaMemGetInfo(&free_b, &total) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    if (be->cap && be->cap - be->used < free_b)
        free_b = be->cap - be->used;
    return free_b;
}

/* ---- weights ------------------------------------------------------------------------ */

static void conv_destroy(backend *be, backend_conv *c)
{
    for (int k = 0; k < CONV_PLANS; k++) {
        if (c->plan[k].x)
            cudnnDestroyTensorDescriptor(c->plan[k].x);
        if (c->plan[k].y)
            cudnnDestroyTensorDescriptor(c->plan[k].y);
    }
    if (c->bias_desc)
        cudnnDestroyTensorDescriptor(c->bias_desc);
    if (c->filter)
        cudnnDestroyFilterDescriptor(c->filter);
    if (c->desc)
        cudnnDestroyConvolutionDescriptor(c->desc);
    dev_free(be, c->w, c->w_bytes);
    dev_free(be, c->w_bf16, c->w_bf16_bytes);
    dev_free(be, c->bias, c->bias_bytes);
    free(c);
}

static void cuda_conv_free(backend *be, backend_conv *c)
{
    if (c)
        conv_destroy(be, c);
}

/* PyTorch's layouts to the device's: 3x3 [o][i][ky][kx] -> [o][ky][kx][i]
 * (KRSC), kept as it is for NCHW activations (KCRS); transposed
 * [i][o][ky][kx] -> [ky*2+kx][i][o]. */
static float *reorder_weights(const model_conv *m, int nchw)
{
    size_t kk = (size_t)m->k * (size_t)m->k;
    size_t n = (size_t)m->cin * (size_t)m->cout * kk;
    float *w = malloc((n ? n : 1) * sizeof(float));

    if (!w)
        return NULL;
    for (size_t o = 0; o < (size_t)m->cout; o++)
        for (size_t i = 0; i < (size_t)m->cin; i++)
            for (size_t k = 0; k < kk; k++) {
                if (m->transposed)
                    w[(k * (size_t)m->cin + i) * (size_t)m->cout + o] =
                        m->weight[(i * (size_t)m->cout + o) * kk + k];
                else if (nchw)
                    w[(o * (size_t)m->cin + i) * kk + k] = m->weight[(o * (size_t)m->cin + i) * kk + k];
                else
                    w[(o * kk + k) * (size_t)m->cin + i] = m->weight[(o * (size_t)m->cin + i) * kk + k];
            }
    return w;
}

static fgsd_status upload_floats(backend *be, float **dst, size_t *bytes, const float *src,
                                 size_t n, const char *what)
{
    void *p = NULL;
    cudaError_t e;

    *bytes = (n ? n : 1) * sizeof(float);
    e = dev_alloc(be, &p, *bytes);
    if (e != cudaSuccess)
        return cuda_fail(be, e, what);
    *dst = p;
    CU(be, cudaMemcpy(p, src, n * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy (weights)");
    return FGSD_OK;
}

/* cuDNN's layout of the activations (and of the filters: KRSC or KCRS). */
static cudnnTensorFormat_t dnn_format(const backend *be)
{
    return be->nchw ? CUDNN_TENSOR_NCHW : CUDNN_TENSOR_NHWC;
}

/* cuDNN's type of the activations and filters in this mode. */
static cudnnDataType_t dnn_type(const backend *be)
{
    return be->precision == PRECISION_BF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
}

/* The bf16 mode's copy of a 3x3 filter for cuDNN (the direct kernel keeps
 * reading the float one). */
static fgsd_status bf16_filter(backend *be, backend_conv *c, size_t n)
{
    void *p = NULL;
    cudaError_t e;

    c->w_bf16_bytes = (n ? n : 1) * 2;
    e = dev_alloc(be, &p, c->w_bf16_bytes);
    if (e != cudaSuccess) {
        c->w_bf16_bytes = 0;
        return cuda_fail(be, e, "weights");
    }
    c->w_bf16 = p;
    CU(be, cuk_to_bf16(c->w, c->w_bf16, n, be->stream), "bf16 weights");
    CU(be, cudaStreamSynchronize(be->stream), "bf16 weights");
    return FGSD_OK;
}

static fgsd_status conv_descriptors(backend *be, backend_conv *c)
{
    DNN(be, cudnnCreateFilterDescriptor(&c->filter), "cudnnCreateFilterDescriptor");
    DNN(be, cudnnSetFilter4dDescriptor(c->filter, dnn_type(be), dnn_format(be), c->cout,
                                       c->cin, 3, 3),
        "cudnnSetFilter4dDescriptor");
    DNN(be, cudnnCreateConvolutionDescriptor(&c->desc), "cudnnCreateConvolutionDescriptor");
    DNN(be, cudnnSetConvolution2dDescriptor(c->desc, 1, 1, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                                            CUDNN_DATA_FLOAT),
        "cudnnSetConvolution2dDescriptor");
    /* fp32 mode: FMA kernels only, no TF32 (which rounds inputs to 10 bits);
     * bf16: tensor cores, accumulating in fp32 (the descriptor's type). */
    DNN(be, cudnnSetConvolutionMathType(c->desc, be->precision == PRECISION_BF16
                                                     ? CUDNN_TENSOR_OP_MATH
                                                     : CUDNN_FMA_MATH),
        "cudnnSetConvolutionMathType");
    DNN(be, cudnnCreateTensorDescriptor(&c->bias_desc), "cudnnCreateTensorDescriptor");
    DNN(be, cudnnSetTensor4dDescriptor(c->bias_desc, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 1,
                                       c->cout, 1, 1),
        "cudnnSetTensor4dDescriptor");
    return FGSD_OK;
}

static backend_conv *cuda_conv_prepare(backend *be, const model_conv *m, int relu)
{
    backend_conv *c;
    float *w;
    fgsd_status st;

    if ((m->transposed && m->k != 2) || (!m->transposed && m->k != 3) || m->cin <= 0 ||
        m->cout <= 0) {
        fail(be, FGSD_ERR_INTERNAL, "unsupported convolution (k=%d, transposed=%d)", m->k,
             m->transposed);
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    w = reorder_weights(m, be->nchw);
    if (!c || !w) {
        free(c);
        free(w);
        fail(be, FGSD_ERR_NO_MEMORY, "out of memory preparing weights");
        return NULL;
    }
    c->cin = m->cin;
    c->cout = m->cout;
    c->transposed = m->transposed;
    c->relu = relu;
    st = upload_floats(be, &c->w, &c->w_bytes, w, (size_t)m->cin * (size_t)m->cout * (size_t)(m->k * m->k),
                       "weights");
    free(w);
    if (!st && m->bias)
        st = upload_floats(be, &c->bias, &c->bias_bytes, m->bias, (size_t)m->cout, "bias");
    if (!st && !m->transposed && be->precision == PRECISION_BF16)
        st = bf16_filter(be, c, (size_t)m->cin * (size_t)m->cout * 9);
    if (!st && !m->transposed)
        st = conv_descriptors(be, c);
    if (st) {
        conv_destroy(be, c);
        return NULL;
    }
    return c;
}

/* ---- tensors --------------------------------------------------------------------------- */

/* The device allocation of t (at least one float, as cudaMalloc(0) is not
 * portable). */
static size_t tensor_bytes(const backend *be, const backend_tensor *t)
{
    return (numel(t) ? numel(t) : 1) * ACT_BYTES(be);
}

static size_t pixels(const backend_tensor *t)
{
    return (size_t)t->h * (size_t)t->w;
}

static backend_tensor *cuda_tensor_new(backend *be, int c, int h, int w)
{
    backend_tensor *t = calloc(1, sizeof(*t));
    void *p = NULL;
    cudaError_t e;
    char what[96];

    if (!t) {
        fail(be, FGSD_ERR_NO_MEMORY, "out of memory for a feature map");
        return NULL;
    }
    t->c = c;
    t->h = h;
    t->w = w;
    e = dev_alloc(be, &p, tensor_bytes(be, t));
    if (e != cudaSuccess) {
        snprintf(what, sizeof(what), "a %dx%dx%d feature map", c, h, w);
        cuda_fail(be, e, what);
        free(t);
        return NULL;
    }
    t->d = p;
    return t;
}

static void cuda_tensor_free(backend *be, backend_tensor *t)
{
    if (!t)
        return;
    if (!t->view)
        dev_free(be, t->d, tensor_bytes(be, t));
    free(t);
}

/* backend.h tensor_view: in NCHW channels [c0, c0 + c) are one run of
 * memory; in NHWC they are not (none, and the runner copies). */
static fgsd_status cuda_tensor_view(backend *be, backend_tensor *parent, int c0, int c,
                                    backend_tensor **out)
{
    backend_tensor *t;

    *out = NULL;
    if (!be->nchw)
        return FGSD_OK;
    if (c0 < 0 || c <= 0 || c0 + c > parent->c)
        return fail(be, FGSD_ERR_INTERNAL, "a view of channels %d..%d of %d", c0, c0 + c,
                    parent->c);
    t = calloc(1, sizeof(*t));
    if (!t)
        return fail(be, FGSD_ERR_NO_MEMORY, "out of memory for a view");
    t->c = c;
    t->h = parent->h;
    t->w = parent->w;
    t->d = (unsigned char *)parent->d + (size_t)c0 * pixels(parent) * ACT_BYTES(be);
    t->view = 1;
    *out = t;
    return FGSD_OK;
}

/* A page-locked host buffer of bytes, or NULL: copies from and to pageable
 * memory run at about 1.3 GB/s on the H200 (a 512² download took a fifth
 * of the pass), page-locked ones at the bus's speed.  The caller waits for
 * the stream before it touches the buffer again.  Without one (the host is
 * short of page-locked memory) the copies go straight to pageable memory. */
void *pinned_buffer(backend *be, size_t bytes)
{
    void *p = NULL;

    if (be->pinned_size >= bytes)
        return be->pinned;
    /* An earlier upload's copy may still read the old buffer. */
    (void)cudaStreamSynchronize(be->stream);
    if (be->pinned)
        cudaFreeHost(be->pinned);
    be->pinned = NULL;
    be->pinned_size = 0;
    if (cudaMallocHost(&p, bytes) != cudaSuccess) {
        (void)cudaGetLastError();
        return NULL;
    }
    be->pinned = p;
    be->pinned_size = bytes;
    return p;
}

/* bytes from the device buffer src to dst on the host, through the
 * page-locked buffer when there is one; waits for the stream. */
fgsd_status copy_to_host(backend *be, void *dst, const void *src, size_t bytes,
                         const char *what)
{
    void *pin = pinned_buffer(be, bytes);

    CU(be, cudaMemcpyAsync(pin ? pin : dst, src, bytes, cudaMemcpyDeviceToHost,
                           be->stream),
       what);
    CU(be, cudaStreamSynchronize(be->stream), what);
    if (pin)
        memcpy(dst, pin, bytes);
    return FGSD_OK;
}

static fgsd_status cuda_upload(backend *be, backend_tensor *t, const float *chw)
{
    size_t bytes = numel(t) * sizeof(float);

    void *pin;

    if (devbuf_reserve(be, &be->stage, bytes, "the upload buffer"))
        return be->status;
    /* The page-locked buffer may still feed an earlier copy. */
    CU(be, cudaStreamSynchronize(be->stream), "upload");
    pin = pinned_buffer(be, bytes);
    if (pin)
        memcpy(pin, chw, bytes);
    CU(be, cudaMemcpyAsync(be->stage.p, pin ? pin : (const void *)chw, bytes,
                           cudaMemcpyHostToDevice, be->stream),
       "cudaMemcpyAsync (upload)");
    CU(be, cuk_chw_to_nhwc(be->stage.p, t->d, ACT_TYPE(be), t->c, t->h, t->w, be->stream),
       "upload kernel");
    return FGSD_OK;
}

static fgsd_status cuda_download(backend *be, const backend_tensor *t, float *chw)
{
    size_t bytes = numel(t) * sizeof(float);

    if (devbuf_reserve(be, &be->stage, bytes, "the download buffer"))
        return be->status;
    CU(be, cuk_nhwc_to_chw(t->d, ACT_TYPE(be), be->stage.p, t->c, t->h, t->w, be->stream),
       "download kernel");
    return copy_to_host(be, chw, be->stage.p, bytes, "download");
}

/* ---- convolutions ------------------------------------------------------------------------- */

/* One attempt: algorithm algo, fused or not.  CUDNN_STATUS_NOT_SUPPORTED (or
 * BAD_PARAM for a combination this cuDNN refuses) means try another. */
static cudnnStatus_t run_cudnn(backend *be, const backend_conv *c, const conv_plan *p, int algo,
                               int fused, size_t ws, const backend_tensor *in, backend_tensor *out)
{
    float one = 1.0f, zero = 0.0f;
    cudnnConvolutionFwdAlgo_t a = (cudnnConvolutionFwdAlgo_t)algo;
    const void *filter = be->precision == PRECISION_BF16 ? c->w_bf16 : (const void *)c->w;

    if (fused)
        return cudnnConvolutionBiasActivationForward(
            be->dnn, &one, p->x, in->d, c->filter, filter, c->desc, a, be->workspace.p, ws, &zero,
            p->y, out->d, c->bias_desc, c->bias ? (const void *)c->bias : be->zero_bias.p,
            be->relu, p->y, out->d);
    return cudnnConvolutionForward(be->dnn, &one, p->x, in->d, c->filter, filter, c->desc, a,
                                   be->workspace.p, ws, &zero, p->y, out->d);
}

static int retryable(cudnnStatus_t s)
{
    return s == CUDNN_STATUS_NOT_SUPPORTED || s == CUDNN_STATUS_BAD_PARAM ||
           s == CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH;
}

/* Bias and ReLU after a plain convolution. */
static fgsd_status finish_plain(backend *be, const backend_conv *c, backend_tensor *out)
{
    CU(be, cuk_bias_act(out->d, ACT_TYPE(be), c->bias, c->cout, pixels(out), c->relu, be->stream),
       "bias kernel");
    return FGSD_OK;
}

/* Whether the mode allows the algorithm: in deterministic mode only
 * deterministic ones, in fp32 mode none that uses tensor-op math. */
static int usable(const backend *be, const cudnnConvolutionFwdAlgoPerf_t *perf)
{
    if (perf->status != CUDNN_STATUS_SUCCESS)
        return 0;
    if (be->deterministic && perf->determinism != CUDNN_DETERMINISTIC)
        return 0;
    return !(be->precision == PRECISION_FP32 && perf->mathType != CUDNN_DEFAULT_MATH &&
             perf->mathType != CUDNN_FMA_MATH);
}

/* The first fused try: bias and ReLU inside cuDNN in fp32 only (its bf16
 * bias types differ between versions; the bias kernel follows instead). */
static int fused_first(const backend *be, const backend_conv *c)
{
    return c->relu && be->precision == PRECISION_FP32;
}

#define TIMED_REPS 3

/* One timing of the exact call a plan would make (the fused op, or the
 * plain one and the bias kernel), TIMED_REPS times between two events after
 * a warm-up; a negative time when it does not run. */
static float time_call(backend *be, const backend_conv *c, const conv_plan *p, int algo,
                       int fused, size_t ws, const backend_tensor *in, backend_tensor *out,
                       cudaEvent_t e0, cudaEvent_t e1)
{
    float ms = -1.0f;
    int ok = run_cudnn(be, c, p, algo, fused, ws, in, out) == CUDNN_STATUS_SUCCESS &&
             cudaEventRecord(e0, be->stream) == cudaSuccess;

    for (int r = 0; r < TIMED_REPS && ok; r++) {
        ok = run_cudnn(be, c, p, algo, fused, ws, in, out) == CUDNN_STATUS_SUCCESS;
        if (ok && !fused)
            ok = cuk_bias_act(out->d, ACT_TYPE(be), c->bias, c->cout, pixels(out), c->relu,
                              be->stream) == cudaSuccess;
    }
    if (!ok || cudaEventRecord(e1, be->stream) != cudaSuccess ||
        cudaEventSynchronize(e1) != cudaSuccess || cudaEventElapsedTime(&ms, e0, e1) != cudaSuccess)
        ms = -1.0f;
    (void)cudaGetLastError();
    return ms < 0.0f ? -1.0f : ms / TIMED_REPS;
}

/* FGSD_CUDA_ALGO=find (issue 24.4): cuDNN's Find times the plain
 * convolution, but the call that runs may be the fused one or the plain one
 * with the bias kernel after it.  Each usable algorithm's calls are timed
 * on these tensors and the fastest becomes p's; 0 when none ran (the
 * caller then goes on as with the heuristics). */
static int time_exact_calls(backend *be, backend_conv *c, conv_plan *p,
                            const cudnnConvolutionFwdAlgoPerf_t *perf, int found,
                            const backend_tensor *in, backend_tensor *out)
{
    cudaEvent_t e0 = NULL, e1 = NULL;
    float best = -1.0f;

    if (cudaEventCreate(&e0) != cudaSuccess || cudaEventCreate(&e1) != cudaSuccess)
        found = 0;
    for (int i = 0; i < found; i++) {
        size_t ws = 0;

        if (!usable(be, &perf[i]) ||
            cudnnGetConvolutionForwardWorkspaceSize(be->dnn, p->x, c->filter, c->desc, p->y,
                                                    perf[i].algo, &ws) != CUDNN_STATUS_SUCCESS ||
            devbuf_reserve(be, &be->workspace, ws, "the cuDNN workspace"))
            continue;
        for (int fused = fused_first(be, c); fused >= 0; fused--) {
            float ms = time_call(be, c, p, (int)perf[i].algo, fused, ws, in, out, e0, e1);

            if (ms >= 0.0f && (best < 0.0f || ms < best)) {
                best = ms;
                p->algo = (int)perf[i].algo;
                p->fused = fused;
                p->workspace = ws;
            }
        }
    }
    if (e0)
        cudaEventDestroy(e0);
    if (e1)
        cudaEventDestroy(e1);
    (void)cudaGetLastError();
    if (best >= 0.0f && be->profile)
        fprintf(stderr, "fgsd cuda plan: conv3x3 %d->%d at %dx%d: algo %d%s (the exact call "
                "timed), %.3f ms, workspace %zu KiB\n", c->cin, c->cout, in->w, in->h, p->algo,
                p->fused ? " fused" : "", (double)best, p->workspace >> 10);
    return best >= 0.0f;
}

/* First run at a new size: cuDNN's heuristics rank the algorithms; the
 * first that runs within memory wins and is kept for this size (with
 * FGSD_CUDA_ALGO=find, the fastest exact call, time_exact_calls).  In
 * deterministic mode only deterministic ones count; in fp32 mode none that
 * uses tensor-op math.  The direct kernel is the last resort. */
static fgsd_status plan_and_run(backend *be, backend_conv *c, conv_plan *p,
                                const backend_tensor *in, backend_tensor *out)
{
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int found = 0, ws_oom = 0;
    cudnnStatus_t last = CUDNN_STATUS_SUCCESS;
    fgsd_status st;

    p->h = p->w = 0;
    if (!p->x)
        DNN(be, cudnnCreateTensorDescriptor(&p->x), "cudnnCreateTensorDescriptor");
    if (!p->y)
        DNN(be, cudnnCreateTensorDescriptor(&p->y), "cudnnCreateTensorDescriptor");
    DNN(be, cudnnSetTensor4dDescriptor(p->x, dnn_format(be), dnn_type(be), 1, c->cin, in->h,
                                       in->w),
        "cudnnSetTensor4dDescriptor");
    DNN(be, cudnnSetTensor4dDescriptor(p->y, dnn_format(be), dnn_type(be), 1, c->cout,
                                       out->h, out->w),
        "cudnnSetTensor4dDescriptor");
    if (c->relu && !c->bias) {
        st = devbuf_reserve(be, &be->zero_bias, (size_t)c->cout * sizeof(float), "a zero bias");
        if (st)
            return st;
        CU(be, cudaMemsetAsync(be->zero_bias.p, 0, (size_t)c->cout * sizeof(float), be->stream),
           "cudaMemsetAsync");
    }
    if (!be->direct_conv && be->find_algo &&
        cudnnFindConvolutionForwardAlgorithm(be->dnn, p->x, c->filter, c->desc, p->y,
                                             CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found,
                                             perf) != CUDNN_STATUS_SUCCESS) {
        (void)cudaGetLastError(); /* e.g. no memory to time them: the heuristics */
        found = 0;
    }
    if (!be->direct_conv && found && time_exact_calls(be, c, p, perf, found, in, out)) {
        cudnnStatus_t s = run_cudnn(be, c, p, p->algo, p->fused, p->workspace, in, out);

        if (s != CUDNN_STATUS_SUCCESS)
            return dnn_fail(be, s, "convolution");
        p->h = in->h;
        p->w = in->w;
        return p->fused ? FGSD_OK : finish_plain(be, c, out);
    }
    if (!be->direct_conv && !found)
        DNN(be, cudnnGetConvolutionForwardAlgorithm_v7(be->dnn, p->x, c->filter, c->desc, p->y,
                                                       CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found,
                                                       perf),
            "cudnnGetConvolutionForwardAlgorithm_v7");
    for (int i = 0; i < found; i++) {
        size_t ws = 0;

        if (!usable(be, &perf[i]))
            continue;
        if (cudnnGetConvolutionForwardWorkspaceSize(be->dnn, p->x, c->filter, c->desc, p->y,
                                                    perf[i].algo, &ws) != CUDNN_STATUS_SUCCESS)
            continue;
        if (devbuf_reserve(be, &be->workspace, ws, "the cuDNN workspace")) {
            ws_oom = 1;
            continue; /* another algorithm may need less */
        }
        for (int fused = fused_first(be, c); fused >= 0; fused--) {
            last = run_cudnn(be, c, p, (int)perf[i].algo, fused, ws, in, out);
            if (last == CUDNN_STATUS_SUCCESS) {
                p->algo = (int)perf[i].algo;
                p->fused = fused;
                p->workspace = ws;
                p->h = in->h;
                p->w = in->w;
                if (be->profile)
                    fprintf(stderr, "fgsd cuda plan: conv3x3 %d->%d at %dx%d: algo %d%s (%s), "
                            "%.3f ms, workspace %zu KiB\n", c->cin, c->cout, in->w, in->h,
                            p->algo, fused ? " fused" : "",
                            be->find_algo ? "timed" : "heuristic", (double)perf[i].time,
                            ws >> 10);
                return fused ? FGSD_OK : finish_plain(be, c, out);
            }
            if (!retryable(last))
                return dnn_fail(be, last, "convolution");
        }
    }
    if (ws_oom)
        return be->status; /* out of memory: the caller tiles smaller */
    p->algo = -1;
    p->fused = 1;
    p->workspace = 0;
    p->h = in->h;
    p->w = in->w;
    if (be->profile)
        fprintf(stderr, "fgsd cuda plan: conv3x3 %d->%d at %dx%d: the direct kernel\n", c->cin,
                c->cout, in->w, in->h);
    CU(be, cuk_conv3x3(in->d, c->w, c->bias, out->d, ACT_TYPE(be), c->cin, c->cout, in->h, in->w, c->relu,
                       be->stream),
       "conv3x3 kernel");
    return FGSD_OK;
}

/* The plan for this input size, or NULL. */
static conv_plan *find_plan(backend_conv *c, int h, int w)
{
    for (int k = 0; k < CONV_PLANS; k++)
        if (c->plan[k].h == h && c->plan[k].w == w) {
            c->plan[k].used_at = ++c->plan_clock;
            return &c->plan[k];
        }
    return NULL;
}

/* The slot a new size's plan takes: an empty one, or the least recently
 * used. */
static conv_plan *plan_slot(backend_conv *c)
{
    conv_plan *v = &c->plan[0];

    for (int k = 1; k < CONV_PLANS && v->h; k++)
        if (!c->plan[k].h || c->plan[k].used_at < v->used_at)
            v = &c->plan[k];
    v->used_at = ++c->plan_clock;
    return v;
}

static fgsd_status conv3x3(backend *be, backend_conv *c, const backend_tensor *in,
                           backend_tensor *out)
{
    conv_plan *p = find_plan(c, in->h, in->w);
    cudnnStatus_t s;

    if (!p && be->pass.capturing)
        return fail(be, FGSD_ERR_BACKEND, "a convolution at %dx%d not planned before a capture",
                    in->w, in->h);
    if (!p)
        return plan_and_run(be, c, plan_slot(c), in, out);
    if (p->algo < 0) {
        CU(be, cuk_conv3x3(in->d, c->w, c->bias, out->d, ACT_TYPE(be), c->cin, c->cout, in->h, in->w, c->relu,
                           be->stream),
           "conv3x3 kernel");
        return FGSD_OK;
    }
    /* The workspace is shared by every conv and may have moved since (or
     * been lost to a failed growth): reserve again, a no-op when it fits. */
    if (devbuf_reserve(be, &be->workspace, p->workspace, "the cuDNN workspace"))
        return be->status;
    s = run_cudnn(be, c, p, p->algo, p->fused, p->workspace, in, out);
    if (s != CUDNN_STATUS_SUCCESS)
        return dnn_fail(be, s, "convolution");
    return p->fused ? FGSD_OK : finish_plain(be, c, out);
}

fgsd_status cuda_conv(backend *be, const backend_conv *cc, const backend_tensor *in,
                             backend_tensor *out)
{
    backend_conv *c = (backend_conv *)cc; /* the plan cache is the backend's own */
    int scale = c->transposed ? 2 : 1;

    if (in->c != c->cin || out->c != c->cout || out->h != in->h * scale ||
        out->w != in->w * scale)
        return fail(be, FGSD_ERR_INTERNAL, "conv shape mismatch");
    if (c->transposed) {
        CU(be, cuk_convt2x2(in->d, c->w, c->bias, out->d, ACT_TYPE(be), c->cin, c->cout, in->h, in->w, c->relu,
                            be->stream),
           "convt2x2 kernel");
        return FGSD_OK;
    }
    return conv3x3(be, c, in, out);
}

/* ---- the other ops ------------------------------------------------------------------------------ */

fgsd_status cuda_avgpool2(backend *be, const backend_tensor *in, backend_tensor *out)
{
    if (out->c != in->c || out->h * 2 != in->h || out->w * 2 != in->w)
        return fail(be, FGSD_ERR_INTERNAL, "pool shape mismatch");
    CU(be, cuk_avgpool2(in->d, out->d, ACT_TYPE(be), out->c, out->h, out->w, be->stream), "avgpool2 kernel");
    return FGSD_OK;
}

fgsd_status cuda_concat(backend *be, const backend_tensor *a, const backend_tensor *b,
                               backend_tensor *out)
{
    if (a->h != b->h || a->w != b->w || out->h != a->h || out->w != a->w ||
        out->c != a->c + b->c)
        return fail(be, FGSD_ERR_INTERNAL, "concat shape mismatch");
    CU(be, cuk_concat(a->d, b->d, out->d, ACT_TYPE(be), a->c, b->c, pixels(out), be->stream), "concat kernel");
    return FGSD_OK;
}

/* The device copy of rows y0.. of the h x w weights: sent at every call,
 * or (weights_gen nonzero and the cache on) kept per pointer and
 * generation, the whole plane sent once (backend.h channel_sums). */
const float *device_weights(backend *be, const float *weights, uint64_t gen, int w, int h,
                                   int y0, int rows)
{
    size_t full = (size_t)w * (size_t)h * sizeof(float);
    mask_slot *slot = NULL, *victim = &be->masks[0];
    cudaError_t e;

    if (!gen || !be->mask_cache) {
        size_t bytes = (size_t)rows * (size_t)w * sizeof(float);

        if (devbuf_reserve(be, &be->small, bytes, "the mask"))
            return NULL;
        e = cudaMemcpyAsync(be->small.p, weights + (size_t)y0 * (size_t)w, bytes,
                            cudaMemcpyHostToDevice, be->stream);
        if (e != cudaSuccess) {
            cuda_fail(be, e, "cudaMemcpyAsync (mask)");
            return NULL;
        }
        return be->small.p;
    }
    for (int k = 0; k < MASK_SLOTS && !slot; k++) {
        mask_slot *m = &be->masks[k];

        if (m->host == weights && m->gen == gen && m->bytes == full)
            slot = m;
        else if (m->used_at < victim->used_at)
            victim = m;
    }
    if (!slot) {
        slot = victim;
        slot->host = NULL; /* until the copy below is queued */
        if (devbuf_reserve(be, &slot->buf, full, "the mask"))
            return NULL;
        /* From pageable memory: returns once the host's bytes are staged. */
        e = cudaMemcpyAsync(slot->buf.p, weights, full, cudaMemcpyHostToDevice, be->stream);
        if (e != cudaSuccess) {
            cuda_fail(be, e, "cudaMemcpyAsync (mask)");
            return NULL;
        }
        slot->host = weights;
        slot->gen = gen;
        slot->bytes = full;
    }
    slot->used_at = ++be->mask_clock;
    return (const float *)slot->buf.p + (size_t)y0 * (size_t)w;
}

static fgsd_status cuda_channel_sums(backend *be, const backend_tensor *t, const float *weights,
                                     uint64_t weights_gen, int x0, int y0, int x1, int y1,
                                     double *sums)
{
    int rows = y1 - y0, chunks = rows < SUM_CHUNKS ? rows : SUM_CHUNKS;
    size_t np;
    const float *wd = NULL;

    if (x0 < 0 || y0 < 0 || x1 > t->w || y1 > t->h || x0 > x1 || y0 > y1)
        return fail(be, FGSD_ERR_INTERNAL, "channel_sums rectangle outside the tensor");
    memset(sums, 0, (size_t)t->c * sizeof(double));
    if (rows == 0 || x1 == x0)
        return FGSD_OK;
    np = (size_t)chunks * (size_t)t->c;
    if (devbuf_reserve(be, &be->partial, np * sizeof(double), "partial sums"))
        return be->status;
    if (weights && !(wd = device_weights(be, weights, weights_gen, t->w, t->h, y0, rows)))
        return be->status;
    CU(be, cuk_channel_sums(t->d, ACT_TYPE(be), wd, t->c, t->w, t->h, x0, y0, x1, y1, chunks, be->partial.p,
                            be->stream),
       "channel_sums kernel");
    if (be->device_reduce) {
        if (devbuf_reserve(be, &be->sums, (size_t)t->c * sizeof(double), "the sums"))
            return be->status;
        CU(be, cuk_reduce_chunks(be->partial.p, chunks, t->c, be->sums.p, be->stream),
           "channel_sums reduction");
        return copy_to_host(be, sums, be->sums.p, (size_t)t->c * sizeof(double),
                            "cudaMemcpyAsync (sums)");
    }
    if (np > be->host_partial_n) {
        double *h = realloc(be->host_partial, np * sizeof(double));
        if (!h)
            return fail(be, FGSD_ERR_NO_MEMORY, "out of memory for partial sums");
        be->host_partial = h;
        be->host_partial_n = np;
    }
    CU(be, cudaMemcpyAsync(be->host_partial, be->partial.p, np * sizeof(double),
                           cudaMemcpyDeviceToHost, be->stream),
       "cudaMemcpyAsync (sums)");
    CU(be, cudaStreamSynchronize(be->stream), "channel_sums");
    for (int k = 0; k < chunks; k++) /* fixed order: deterministic */
        for (int c = 0; c < t->c; c++)
            sums[c] += be->host_partial[(size_t)k * (size_t)t->c + (size_t)c];
    return FGSD_OK;
}

static fgsd_status cuda_add_channel(backend *be, backend_tensor *t, const float *offsets)
{
    size_t bytes = (size_t)t->c * sizeof(float);

    if (devbuf_reserve(be, &be->small, bytes, "the offsets"))
        return be->status;
    CU(be, cudaMemcpyAsync(be->small.p, offsets, bytes, cudaMemcpyHostToDevice, be->stream),
       "cudaMemcpyAsync (offsets)");
    CU(be, cuk_add_channel(t->d, ACT_TYPE(be), be->small.p, t->c, pixels(t), be->stream),
       "add_channel kernel");
    return FGSD_OK;
}

static fgsd_status cuda_normal_noise(backend *be, uint64_t seed, uint32_t step, size_t n,
                                     float *out)
{
    size_t bytes = n * sizeof(float);

    if (n > UINT32_MAX)
        return fail(be, FGSD_ERR_INTERNAL, "noise of %zu values: indices are 32-bit", n);
    if (devbuf_reserve(be, &be->stage, bytes, "the noise buffer"))
        return be->status;
    CU(be, cuk_rng_normal(seed, step, 0, n, be->stage.p, be->stream), "noise kernel");
    return copy_to_host(be, out, be->stage.p, bytes, "noise");
}

/* The table's entries: each op, timed when FGSD_CUDA_PROFILE is set (the
 * op's own call is an argument, so it runs between the two time stamps). */
static fgsd_status op_upload(backend *be, backend_tensor *t, const float *chw)
{
    double t0;

    if (be->pass.open)
        return pass_record_upload(be, t, chw);
    t0 = prof_begin(be);
    return prof_end(be, PROF_UPLOAD, t0, cuda_upload(be, t, chw));
}

static fgsd_status op_download(backend *be, const backend_tensor *t, float *chw)
{
    double t0;

    if (be->pass.open)
        return pass_record_download(be, t, chw);
    t0 = prof_begin(be);
    return prof_end(be, PROF_DOWNLOAD, t0, cuda_download(be, t, chw));
}

static fgsd_status op_conv(backend *be, const backend_conv *c, const backend_tensor *in,
                           backend_tensor *out)
{
    double t0;

    if (be->pass.open)
        return pass_record_conv(be, c, in, out);
    t0 = prof_begin(be);
    return prof_end(be, c->transposed ? PROF_CONVT : PROF_CONV3, t0, cuda_conv(be, c, in, out));
}

static fgsd_status op_avgpool2(backend *be, const backend_tensor *in, backend_tensor *out)
{
    double t0;

    if (be->pass.open)
        return pass_record_pool(be, in, out);
    t0 = prof_begin(be);
    return prof_end(be, PROF_POOL, t0, cuda_avgpool2(be, in, out));
}

static fgsd_status op_concat(backend *be, const backend_tensor *a, const backend_tensor *b,
                             backend_tensor *out)
{
    double t0;

    if (be->pass.open)
        return pass_record_concat(be, a, b, out);
    t0 = prof_begin(be);
    return prof_end(be, PROF_CONCAT, t0, cuda_concat(be, a, b, out));
}

static fgsd_status op_channel_sums(backend *be, const backend_tensor *t, const float *weights,
                                   uint64_t weights_gen, int x0, int y0, int x1, int y1,
                                   double *sums)
{
    double t0;

    if (be->pass.open) /* they hand values to the host now: backend.h */
        return fail(be, FGSD_ERR_INTERNAL, "channel_sums inside a deferred pass");
    t0 = prof_begin(be);
    return prof_end(be, PROF_SUMS, t0,
                    cuda_channel_sums(be, t, weights, weights_gen, x0, y0, x1, y1, sums));
}

static fgsd_status op_add_channel(backend *be, backend_tensor *t, const float *offsets)
{
    double t0;

    if (be->pass.open)
        return fail(be, FGSD_ERR_INTERNAL, "add_channel inside a deferred pass");
    t0 = prof_begin(be);
    return prof_end(be, PROF_ADDCH, t0, cuda_add_channel(be, t, offsets));
}

static fgsd_status op_normal_noise(backend *be, uint64_t seed, uint32_t step, size_t n,
                                   float *out)
{
    double t0 = prof_begin(be);
    return prof_end(be, PROF_NOISE, t0, cuda_normal_noise(be, seed, step, n, out));
}

static fgsd_status op_window_fill(backend *be, backend_tensor *t, const backend_image *x,
                                  const backend_window *win)
{
    double t0;

    if (be->pass.open)
        return pass_record_fill(be, t, x, win);
    be->pass.windows++;
    t0 = prof_begin(be);
    return prof_end(be, PROF_UPLOAD, t0, cuda_window_fill(be, t, x, win));
}

static fgsd_status op_window_store(backend *be, const backend_tensor *t, const backend_image *x,
                                   backend_image *clean, const backend_window *win, int residual)
{
    double t0;

    if (be->pass.open)
        return pass_record_store(be, t, x, clean, win, residual);
    t0 = prof_begin(be);
    return prof_end(be, PROF_DOWNLOAD, t0, cuda_window_store(be, t, x, clean, win, residual));
}

static const backend_ops cuda_ops = {
    .name = "cuda-cudnn",
    .create = cuda_create,
    .destroy = cuda_destroy,
    .error = cuda_error,
    .status = cuda_status,
    .conv_prepare = cuda_conv_prepare,
    .conv_free = cuda_conv_free,
    .tensor_new = cuda_tensor_new,
    .tensor_free = cuda_tensor_free,
    .tensor_view = cuda_tensor_view,
    .upload = op_upload,
    .download = op_download,
    .conv = op_conv,
    .avgpool2 = op_avgpool2,
    .concat = op_concat,
    .channel_sums = op_channel_sums,
    .add_channel = op_add_channel,
    .memory_available = cuda_memory_available,
    .normal_noise = op_normal_noise,
    .pass_begin = cuda_pass_begin,
    .pass_end = cuda_pass_end,
    .channel_project = cuda_channel_project,
    .image_new = cuda_image_new,
    .image_free = cuda_image_free,
    .image_upload = cuda_image_upload,
    .image_download = cuda_image_download,
    .image_copy = cuda_image_copy,
    .image_noise = cuda_image_noise,
    .image_add_scaled = cuda_image_add_scaled,
    .image_add_lowpass = cuda_image_add_lowpass,
    .image_sisa_update = cuda_image_sisa_update,
    .image_residual = cuda_image_residual,
    .window_fill = op_window_fill,
    .window_store = op_window_store,
    .step_begin = cuda_step_begin,
    .step_end = cuda_step_end,
};

static void pass_stats(backend *be, fgsd_cuda_pass_stats *out)
{
    out->deferred = be->pass.deferred;
    out->op_by_op = be->pass.eager;
    out->captured = be->pass.captured;
    out->launched = be->pass.launched;
    out->capture_failed = be->pass.capture_failed;
    out->windows = be->pass.windows;
    out->steps = be->pass.steps;
}

static const fgsd_cuda_module module = {
    .abi = FGSD_CUDA_ABI,
    .ops_size = sizeof(backend_ops),
    .ops = &cuda_ops,
    .probe = cuda_probe,
    .pass_stats = pass_stats,
};

__attribute__((visibility("default"))) const fgsd_cuda_module *fgsd_cuda_module_get(int abi);

const fgsd_cuda_module *fgsd_cuda_module_get(int abi)
{
    return abi == FGSD_CUDA_ABI ? &module : NULL;
}
