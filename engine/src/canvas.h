/* SPDX-License-Identifier: GPL-3.0-or-later
 * Canvases: the planar, padded images the network runs on.
 * The network needs sizes that are multiples of 2^levels; images of other
 * sizes are placed at the origin and mirrored into the extra band (a mirror
 * looks like more texture, unlike a black band).  Wrap-around canvases
 * (tileable output) surround the image with a periodic halo instead. */
#ifndef FGSD_CANVAS_H
#define FGSD_CANVAS_H

#include <stddef.h>

typedef struct canvas {
    int width, height;   /* multiples of the size multiple */
    int x0, y0;          /* where the image's (0, 0) sits */
    int periodic;        /* 1: wrap-around halo, 0: mirrored band */
    int image_width, image_height;
    float *chw;          /* channels x height x width */
    float *mask;         /* height x width: weight of each canvas pixel */
    float *out;          /* channels x height x width: network output */
} canvas;

/* Allocates the buffers for an image of w x h; wrap_halo < 0: mirrored pad
 * at the right and bottom; >= 0: periodic halo of that many pixels on every
 * side.  Returns 0, or -1 when out of memory or the sizes overflow. */
int canvas_init(canvas *cv, int w, int h, int channels, int multiple, int wrap_halo);
void canvas_free(canvas *cv);

/* A window of win_w x win_h canvas pixels whose (0, 0) is at (wx, wy) of the
 * image's own (virtual, mirrored or periodic) canvas: one tile.  pixels 0:
 * the mask alone (chw and out NULL: the pixels stay where the backend
 * computes).  Returns 0 or -1 when out of memory. */
int canvas_init_window(canvas *cv, int win_w, int win_h, int img_w, int img_h, int channels,
                       int wx, int wy, int periodic, int pixels);

/* clean (interleaved, the image's size) <- on [x0, x1) x [y0, y1) (image
 * coordinates) the network output out, or x - out for a residual model. */
void canvas_store(const canvas *cv, int channels, int x0, int y0, int x1, int y1,
                  const float *x, int residual, float *clean);


/* Fills chw from an interleaved image of the canvas' image size. */
void canvas_fill(canvas *cv, const float *hwc, int channels);

/* mask = image-sized weights (NULL = 1) inside the image, 0 outside. */
void canvas_set_mask(canvas *cv, const float *image_mask);

/* mask = 1 on the image rectangle [x0, x1) x [y0, y1) (image coordinates),
 * 0 elsewhere: the pixels a tile owns. */
void canvas_set_mask_rect(canvas *cv, int x0, int y0, int x1, int y1);

/* Bytes canvas_init allocates. */
size_t canvas_bytes(int w, int h, int channels, int multiple, int wrap_halo);

#endif
