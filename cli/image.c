/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The command line's image type (see image.h).
 */
#include "image.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int image_alloc(image *img, int width, int height, char *err, size_t errlen)
{
    memset(img, 0, sizeof *img);
    if (width < 1 || height < 1 || width > IMAGE_MAX_SIDE || height > IMAGE_MAX_SIDE) {
        snprintf(err, errlen, "image size %dx%d out of range (1..%d per side)", width, height,
                 IMAGE_MAX_SIDE);
        return -1;
    }
    /* Sides <= 2^15, so 3 * w * h * sizeof(float) < 2^34 fits a 64-bit
     * size_t; on 32-bit hosts the check below refuses what cannot fit. */
    if ((uint64_t)width * (uint64_t)height * 3 > SIZE_MAX / sizeof(float)) {
        snprintf(err, errlen, "image %dx%d too large for this machine", width, height);
        return -1;
    }
    img->rgb = malloc((size_t)width * (size_t)height * 3 * sizeof(float));
    if (!img->rgb) {
        snprintf(err, errlen, "out of memory for a %dx%d image", width, height);
        return -1;
    }
    img->width = width;
    img->height = height;
    return 0;
}

void image_free(image *img)
{
    free(img->rgb);
    free(img->alpha);
    memset(img, 0, sizeof *img);
}
