/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The per-format entry points behind image_io.h (image_png.c,
 * image_pfm.c), also called by the tests.  Readers get a stream positioned
 * at the start of the file (name is only for messages); writers a stream
 * that the caller flushes and closes.  Failures: a one-line message in err
 * (errlen bytes) and -1; 0 on success.
 */
#ifndef FGSD_CLI_IMAGE_FORMATS_H
#define FGSD_CLI_IMAGE_FORMATS_H

#include <stdio.h>

#include "image.h"

int png_read_stream(FILE *fp, const char *name, image *img, char *err, size_t errlen);
int png_write_stream(FILE *fp, const image *img, int bits16, char *err, size_t errlen);
int pfm_read_stream(FILE *fp, const char *name, image *img, char *err, size_t errlen);
int pfm_write_stream(FILE *fp, const image *img, char *err, size_t errlen);

#endif
