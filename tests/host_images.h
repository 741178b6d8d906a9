/* SPDX-License-Identifier: GPL-3.0-or-later
 * The tests' images for backend.h's image ops, kept in host memory, and
 * the canvas window ops over them on the reference backend (the tensors
 * made through op_check.h's shape_tensor_new), computing as canvas.c
 * does: what test_sampler_images and test_unet plug into wrapper
 * backends. */
#ifndef FGSD_TEST_HOST_IMAGES_H
#define FGSD_TEST_HOST_IMAGES_H

#include "backend.h"

struct backend_image {
    int w, h;
    float *p; /* w x h x 3, interleaved */
};

/* w x h x 3 floats, a copy of hwc when not NULL; NULL when out of memory. */
backend_image *host_image_new(int w, int h, const float *hwc);
void host_image_free(backend_image *im);
size_t host_image_floats(const backend_image *im);

/* backend.h window_fill and window_store. */
fgsd_status host_window_fill(backend *be, backend_tensor *t, const backend_image *x,
                             const backend_window *win);
fgsd_status host_window_store(backend *be, const backend_tensor *t, const backend_image *x,
                              backend_image *clean, const backend_window *win, int residual);

#endif
