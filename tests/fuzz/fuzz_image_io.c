/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * libFuzzer target: the command line's PNG and PFM readers (cli/image_io.h)
 * on arbitrary bytes (docs/fuzzing.md).
 *
 * The readers take a FILE *, so the bytes are handed over with fmemopen:
 * no API addition is needed.  Every input goes to both readers (not only
 * the one image_read would pick by the magic bytes), each on a fresh
 * stream.  A decoded image must be well formed, and it is written back
 * (PFM, and PNG at 16 bits) and read again: PFM must come back bit for bit,
 * PNG within half a 16-bit step of the clipped values.
 *
 * One thing is filtered out before the PNG reader: a header that claims more
 * than FUZZ_MAX_PIXELS pixels.  The reader allocates the whole image once
 * the header is read (a valid PNG of 32768 x 32768 may be a few MiB of
 * compressed data, so the size of the input says nothing), and libFuzzer
 * would report the gigabytes as an out-of-memory crash.  The PFM reader
 * checks the data is present before it allocates, so it gets every input.
 */
#define _GNU_SOURCE /* fmemopen, open_memstream */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_formats.h"
#include "image_io.h"

#define FUZZ_MAX_PIXELS (1u << 20)
/* Round trips only for small images: they are about the writers' rules,
 * which a few thousand pixels exercise as well as a million. */
#define ROUND_TRIP_MAX_PIXELS 4096

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "fuzz_image_io: %s:%d: check failed: %s\n", __FILE__,     \
                    __LINE__, #cond);                                                  \
            abort();                                                                   \
        }                                                                              \
    } while (0)

typedef int (*reader_fn)(FILE *fp, const char *name, image *img, char *err, size_t errlen);

static int png_claims_too_much(const uint8_t *data, size_t size)
{
    static const unsigned char magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint32_t w, h;

    /* signature, IHDR length and type, then width and height (big endian) */
    if (size < 24 || memcmp(data, magic, 8) != 0)
        return 0;
    w = (uint32_t)data[16] << 24 | (uint32_t)data[17] << 16 | (uint32_t)data[18] << 8 | data[19];
    h = (uint32_t)data[20] << 24 | (uint32_t)data[21] << 16 | (uint32_t)data[22] << 8 | data[23];
    return (uint64_t)w * h > FUZZ_MAX_PIXELS;
}

static void check_message(const char *err, size_t errlen)
{
    size_t n = strnlen(err, errlen);

    CHECK(n > 0 && n < errlen);
    CHECK(strchr(err, '\n') == NULL);
}

static void check_image(const image *img)
{
    size_t n = (size_t)img->width * (size_t)img->height;

    CHECK(img->width >= 1 && img->width <= IMAGE_MAX_SIDE);
    CHECK(img->height >= 1 && img->height <= IMAGE_MAX_SIDE);
    CHECK(img->rgb != NULL);
    for (size_t i = 0; i < 3 * n; i++)
        CHECK(isfinite(img->rgb[i]));
    if (img->alpha)
        for (size_t i = 0; i < n; i++)
            CHECK(img->alpha[i] >= 0.0f && img->alpha[i] <= 1.0f);
}

static int read_bytes(reader_fn read, const void *data, size_t size, image *img, char *err,
                      size_t errlen)
{
    FILE *fp = fmemopen((void *)data, size, "rb");
    int ret;

    CHECK(fp != NULL);
    ret = read(fp, "fuzz", img, err, errlen);
    fclose(fp);
    return ret;
}

/* Writes img with write_png (1) or PFM (0) into memory and reads it back. */
static void round_trip(const image *img, int png)
{
    char *buf = NULL;
    size_t len = 0;
    char err[256] = "";
    image back;
    FILE *fp = open_memstream(&buf, &len);
    int ret;
    size_t n = (size_t)img->width * (size_t)img->height * 3;

    CHECK(fp != NULL);
    ret = png ? png_write_stream(fp, img, 1, err, sizeof(err))
              : pfm_write_stream(fp, img, err, sizeof(err));
    CHECK(ret == 0);
    CHECK(fclose(fp) == 0);
    ret = read_bytes(png ? png_read_stream : pfm_read_stream, buf, len, &back, err, sizeof(err));
    if (ret != 0)
        fprintf(stderr, "fuzz_image_io: reading back: %s\n", err);
    CHECK(ret == 0);
    CHECK(back.width == img->width && back.height == img->height);
    CHECK(back.alpha == NULL);
    if (png) {
        for (size_t i = 0; i < n; i++) {
            float v = img->rgb[i] < 0.0f ? 0.0f : (img->rgb[i] > 1.0f ? 1.0f : img->rgb[i]);
            CHECK(fabsf(back.rgb[i] - v) <= 0.5f / 65535.0f + 1e-6f);
        }
    } else {
        CHECK(memcmp(back.rgb, img->rgb, n * sizeof(float)) == 0);
    }
    image_free(&back);
    free(buf);
}

static void try_reader(reader_fn read, const uint8_t *data, size_t size)
{
    image img;
    char err[256];
    int ret;

    memset(&img, 0x5a, sizeof(img)); /* the reader must reset it */
    memset(err, 0, sizeof(err));
    ret = read_bytes(read, data, size, &img, err, sizeof(err));
    if (ret != 0) {
        CHECK(ret == -1);
        CHECK(img.rgb == NULL && img.alpha == NULL && img.width == 0 && img.height == 0);
        check_message(err, sizeof(err));
        return;
    }
    CHECK(ret == 0);
    check_image(&img);
    if ((size_t)img.width * (size_t)img.height <= ROUND_TRIP_MAX_PIXELS) {
        round_trip(&img, 0);
        round_trip(&img, 1);
    }
    image_free(&img);
    CHECK(img.rgb == NULL && img.alpha == NULL);
    image_free(&img); /* accepts a freed image */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* fmemopen refuses an empty buffer on some C libraries; an empty file
     * is covered by the unit tests. */
    if (size == 0)
        return 0;
    if (!png_claims_too_much(data, size))
        try_reader(png_read_stream, data, size);
    try_reader(pfm_read_stream, data, size);
    return 0;
}
