/* SPDX-License-Identifier: GPL-3.0-or-later
 * Deferred passes and CUDA graphs of the CUDA backend (issue 24, items 1
 * and 2; docs/cuda.md "A pass as one CUDA graph").
 *
 * Between pass_begin and pass_end the ops are recorded, not run.  pass_end
 * stages the host's inputs (the image, the projection's phi, gains and
 * means) in one page-locked slab, then runs the list: the first time as it
 * comes, the second time captured into a CUDA graph, from then on by
 * launching that graph; outputs (the result, the feature sums) come back
 * through the slab after one wait.  A pass is a graph's if its records
 * agree in everything but their host pointers (the signature below) and no
 * buffer a graph captured has moved since (the backend's epoch). */
#ifndef FGSD_CUDA_PASS_H
#define FGSD_CUDA_PASS_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#include "backend.h"

typedef struct tensor_ref {
    int c, h, w;
    void *d;
} tensor_ref;

enum { PASS_UPLOAD, PASS_CONV, PASS_POOL, PASS_CONCAT, PASS_PROJECT, PASS_DOWNLOAD, PASS_FILL,
       PASS_STORE, PASS_NOISE, PASS_LOWPASS, PASS_UPDATE, PASS_RESIDUAL };

/* channel_project's inputs present (the kernel's flags). */
enum { PROJECT_GAIN = 1, PROJECT_PHI = 2, PROJECT_MEANS = 4, PROJECT_SUMS = 8 };

typedef struct pass_op {
    /* The signature: what the device does and on which memory. */
    int kind, flags;
    const backend_conv *conv;
    const void *conv_w;        /* its device weights: a freed conv's address may come back */
    tensor_ref a, b, t;        /* inputs a, b; output (or projected) t */
    const float *mask;         /* PASS_PROJECT: the kept mask on the device, or NULL */
    /* The sampler's images: FILL x; STORE x, clean (flags 1: a residual);
     * NOISE z; LOWPASS v, a, b; UPDATE x, d, z; RESIDUAL x, d. */
    float *img[3];
    int img_w, img_h;
    backend_window win;        /* FILL, STORE */
    int k;                     /* LOWPASS: the box width, and its sign */
    float sign;
    uint64_t seed;             /* NOISE */
    size_t in_off, in_bytes;   /* slab bytes staged from the host before the pass */
    size_t out_off, out_bytes; /* slab bytes for the host after it */
    /* The host's side, not compared. */
    const void *src;           /* PASS_UPLOAD: the image */
    const float *gain, *phi, *means;
    const float *mask_host;    /* PASS_PROJECT: the mask the device copy holds */
    uint64_t mask_gen;
    double total;
    uint32_t step;             /* PASS_NOISE's step, PASS_UPDATE's h and g: in the slab */
    double h, g;
    void *dst;                 /* PASS_DOWNLOAD: the image; PASS_PROJECT: the sums;
                                  PASS_RESIDUAL: the sum */
} pass_op;

#define PASS_SIGNATURE_BYTES offsetof(pass_op, src)

/* A pass seen before: its records, and its graph once captured. */
typedef struct pass_graph {
    pass_op *ops;
    int n;
    size_t slab;
    unsigned long epoch;
    cudaGraphExec_t exec; /* NULL: seen once, not captured yet */
    int no_graph;         /* its capture failed: it runs as it comes */
    unsigned long used_at;
} pass_graph;

#define PASS_GRAPHS 6

typedef struct cuda_pass {
    int open;
    fgsd_status status;     /* the first failure while recording */
    pass_op *ops;
    int n, cap;
    size_t slab;            /* bytes the records use in the slab */
    void *slab_host;        /* page-locked (pageable when the host has none to give) */
    size_t slab_host_size;
    int slab_pageable;      /* then passes run op by op and never as graphs */
    int in_flight;          /* the last pass (nothing to bring back) may still run */
    int step;               /* a sampler step is open: passes join it (step_begin) */
    devbuf slab_dev;        /* the projection's inputs on the device */
    int capturing;          /* inside cudaStreamBeginCapture: no allocation, no wait */
    pass_graph graph[PASS_GRAPHS];
    unsigned long clock;
    /* Counts for tests and the GPU run's log (FGSD_CUDA_STATS=1). */
    unsigned long deferred, eager, captured, launched, capture_failed;
    unsigned long windows;  /* window fills from device images (recorded or run) */
    unsigned long steps;    /* sampler steps run whole (step_end) */
} cuda_pass;

/* backend.h's pass ops. */
int cuda_pass_begin(backend *be);
fgsd_status cuda_pass_end(backend *be);
fgsd_status cuda_channel_project(backend *be, backend_tensor *t, const float *weights,
                                 uint64_t weights_gen, double total, const float *gain,
                                 const float *phi, const float *means, double *sums);

/* backend.h's step ops: a pass that spans the image ops of a sampler step. */
int cuda_step_begin(backend *be);
fgsd_status cuda_step_end(backend *be);

/* The ops inside an open pass: recorded (their arguments checked). */
fgsd_status pass_record_upload(backend *be, backend_tensor *t, const float *chw);
fgsd_status pass_record_download(backend *be, const backend_tensor *t, float *chw);
fgsd_status pass_record_conv(backend *be, const backend_conv *c, const backend_tensor *in,
                             backend_tensor *out);
fgsd_status pass_record_pool(backend *be, const backend_tensor *in, backend_tensor *out);
fgsd_status pass_record_concat(backend *be, const backend_tensor *a, const backend_tensor *b,
                               backend_tensor *out);
fgsd_status pass_record_fill(backend *be, backend_tensor *t, const backend_image *x,
                             const backend_window *win);
fgsd_status pass_record_store(backend *be, const backend_tensor *t, const backend_image *x,
                              backend_image *clean, const backend_window *win, int residual);
/* Inside an open step only. */
fgsd_status pass_record_noise(backend *be, backend_image *im, uint64_t seed, uint32_t step);
fgsd_status pass_record_lowpass(backend *be, backend_image *v, float sign,
                                const backend_image *a, const backend_image *b, int k);
fgsd_status pass_record_update(backend *be, backend_image *x, const backend_image *d,
                               const backend_image *z, double h, double g);
fgsd_status pass_record_residual(backend *be, const backend_image *x, const backend_image *d,
                                 double *ss);

/* Frees the graphs and slabs (backend destroy). */
void cuda_pass_free(backend *be);

#endif
