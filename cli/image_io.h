/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Image files for the command line: PNG (libpng) and PFM, read into and
 * written from the engine's units (interleaved RGB float, 0 = black,
 * 1 = white).
 *
 * PNG: 1..16-bit gray, gray+alpha, RGB, RGBA and palette files are read;
 * sample values map linearly to [0, 1] (v / 255 or v / 65535): the engine
 * was trained on sRGB-encoded values, so no gamma is applied or undone.
 * Gray is replicated to RGB.  Output is RGB, 8 or 16 bit, clipped to [0, 1]
 * and rounded to nearest.
 *
 * PFM ("PF" colour, "Pf" gray): values are kept as they are, unclipped, in
 * the same units.  Rows are stored bottom to top (the format's rule); both
 * byte orders are read, little-endian is written.
 *
 * Every function reports failure as a one-line message in err (errlen bytes
 * including the NUL) and returns -1; 0 on success.
 */
#ifndef FGSD_CLI_IMAGE_IO_H
#define FGSD_CLI_IMAGE_IO_H

#include <stddef.h>

#include "image.h"

typedef enum image_format {
    IMAGE_FORMAT_UNKNOWN = 0,
    IMAGE_FORMAT_PNG,
    IMAGE_FORMAT_PFM,
} image_format;

typedef struct image_write_options {
    int png_16bit; /* 1: 16-bit PNG samples; 0: 8-bit */
} image_write_options;

/* Reads a PNG or PFM file, chosen by its first bytes.  On success img owns
 * freshly allocated buffers (free with image_free); on failure img is
 * zeroed.  Non-finite PFM values are rejected. */
int image_read(const char *path, image *img, char *err, size_t errlen);

/* The format an output path asks for: ".pfm" (any case) is PFM, ".png" is
 * PNG, anything else IMAGE_FORMAT_UNKNOWN. */
image_format image_format_for_path(const char *path);

/* Writes img (alpha is ignored) to path in the format of its extension.  The
 * data goes to a temporary file in the same folder, renamed over path only
 * once complete, so a failure never leaves a partial file and never removes
 * an existing one. */
int image_write(const char *path, const image *img, const image_write_options *opts, char *err,
                size_t errlen);

#endif
