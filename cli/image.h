/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The command line's image: interleaved RGB float in the engine's units
 * (0 = black, 1 = white) and an optional alpha.  Files: image_io.h.
 */
#ifndef FGSD_CLI_IMAGE_H
#define FGSD_CLI_IMAGE_H

#include <stddef.h>

typedef struct image {
    int width;
    int height;
    float *rgb;   /* width * height * 3 values */
    float *alpha; /* width * height values in [0, 1]; NULL when the file has none */
} image;

/* Largest side accepted when reading (checked before any pixel buffer is
 * allocated); the engine's own limit. */
#define IMAGE_MAX_SIDE 32768

/* Allocates an image of the given size (alpha NULL); rgb uninitialised.
 * Returns -1 with a message in err (errlen bytes) on failure, else 0. */
int image_alloc(image *img, int width, int height, char *err, size_t errlen);

/* Frees the buffers and zeroes img.  Accepts an already freed image. */
void image_free(image *img);

#endif
