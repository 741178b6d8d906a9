/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * PNG reading and writing through libpng (see image_io.h for the units).
 *
 * libpng reports errors by longjmp.  Everything that must survive the jump
 * lives in a heap-allocated state, and setjmp is called from small functions
 * (guarded_*) without local variables, so no automatic variable is modified
 * between setjmp and longjmp (C11 7.13.2.1).
 */
#include "image_formats.h"

#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct png_state {
    png_structp png;
    png_infop info;
    char msg[200];       /* libpng's message of the last error */
    unsigned char *raw;  /* decoded rows (read) or one row (write) */
    png_bytep *rows;     /* row pointers into raw (read) */
    image out;           /* pixels being produced (read) */
} png_state;

static void on_error(png_structp png, png_const_charp msg)
{
    png_state *st = png_get_error_ptr(png);

    snprintf(st->msg, sizeof st->msg, "%s", msg);
    png_longjmp(png, 1);
}

/* Warnings (unknown chunks, odd ICC profiles) do not stop a read and would
 * only clutter the one-line error convention of the CLI. */
static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void free_state(png_state *st, int reading)
{
    if (!st)
        return;
    if (reading)
        png_destroy_read_struct(&st->png, &st->info, NULL);
    else
        png_destroy_write_struct(&st->png, &st->info);
    free(st->rows);
    free(st->raw);
    image_free(&st->out);
    free(st);
}

/* Sets up the transforms that bring every PNG to 1..4 channels of 8 or 16
 * bits: palette and low-bit gray expanded, tRNS turned into an alpha
 * channel.  Returns 0, or -1 with a message for dimensions out of range. */
static int read_header(png_state *st, const char *name, char *err, size_t errlen)
{
    png_uint_32 w = png_get_image_width(st->png, st->info);
    png_uint_32 h = png_get_image_height(st->png, st->info);
    int color = png_get_color_type(st->png, st->info);
    int depth = png_get_bit_depth(st->png, st->info);

    if (w < 1 || h < 1 || w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE) {
        snprintf(err, errlen, "%s: %lux%lu pixels: each side must be 1..%d", name,
                 (unsigned long)w, (unsigned long)h, IMAGE_MAX_SIDE);
        return -1;
    }
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(st->png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(st->png);
    if (png_get_valid(st->png, st->info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(st->png);
    (void)png_set_interlace_handling(st->png);
    png_read_update_info(st->png, st->info);
    return 0;
}

/* Converts the decoded rows into st->out; channels 1..4 of 8 or 16 bits. */
static int convert_rows(png_state *st, int channels, int depth, char *err, size_t errlen)
{
    image *img = &st->out;
    const double scale = depth == 16 ? 1.0 / 65535.0 : 1.0 / 255.0;
    const int has_alpha = channels == 2 || channels == 4;
    const int colour = channels >= 3;
    int opaque = 1;
    size_t npix = (size_t)img->width * (size_t)img->height;

    if (has_alpha) {
        img->alpha = malloc(npix * sizeof *img->alpha);
        if (!img->alpha) {
            snprintf(err, errlen, "out of memory for a %dx%d alpha channel", img->width,
                     img->height);
            return -1;
        }
    }
    for (int y = 0; y < img->height; y++) {
        const unsigned char *row = st->rows[y];
        for (int x = 0; x < img->width; x++) {
            size_t p = (size_t)y * (size_t)img->width + (size_t)x;
            float v[4] = {0}; /* channels is 1..4 (libpng transforms) */
            for (int c = 0; c < channels; c++) {
                size_t k = (size_t)x * (size_t)channels + (size_t)c;
                unsigned s = depth == 16 ? (unsigned)row[2 * k] << 8 | row[2 * k + 1] : row[k];
                v[c] = (float)(s * scale);
            }
            for (int c = 0; c < 3; c++)
                img->rgb[3 * p + (size_t)c] = colour ? v[c] : v[0];
            if (has_alpha) {
                img->alpha[p] = v[channels - 1];
                opaque &= v[channels - 1] == 1.0f;
            }
        }
    }
    /* A fully opaque alpha channel selects everything: drop it so that it
     * does not turn into a mask that only costs time. */
    if (has_alpha && opaque) {
        free(img->alpha);
        img->alpha = NULL;
    }
    return 0;
}

/* Decodes the whole file into st->out.  libpng errors longjmp out of here
 * to the setjmp in png_read_stream. */
static int decode(png_state *st, FILE *fp, const char *name, char *err, size_t errlen)
{
    png_init_io(st->png, fp);
    png_read_info(st->png, st->info);
    if (read_header(st, name, err, errlen) < 0)
        return -1;

    int channels = png_get_channels(st->png, st->info);
    int depth = png_get_bit_depth(st->png, st->info);
    size_t rowbytes = png_get_rowbytes(st->png, st->info);
    int w = (int)png_get_image_width(st->png, st->info);
    int h = (int)png_get_image_height(st->png, st->info);

    if (channels < 1 || channels > 4 || (depth != 8 && depth != 16)) {
        snprintf(err, errlen, "%s: unsupported PNG layout (%d channels of %d bits)", name,
                 channels, depth);
        return -1;
    }
    if (image_alloc(&st->out, w, h, err, errlen) < 0)
        return -1;
    /* h <= IMAGE_MAX_SIDE and rowbytes <= 8 * IMAGE_MAX_SIDE: no overflow. */
    st->raw = malloc((size_t)h * rowbytes);
    st->rows = malloc((size_t)h * sizeof *st->rows);
    if (!st->raw || !st->rows) {
        snprintf(err, errlen, "%s: out of memory for %dx%d pixels", name, w, h);
        return -1;
    }
    for (int y = 0; y < h; y++)
        st->rows[y] = st->raw + (size_t)y * rowbytes;
    png_read_image(st->png, st->rows);
    png_read_end(st->png, NULL);
    return convert_rows(st, channels, depth, err, errlen);
}

/* The setjmp lives in a function with no local state, so nothing can be
 * clobbered by the jump. */
static int guarded_decode(png_state *st, FILE *fp, const char *name, char *err, size_t errlen)
{
    if (setjmp(png_jmpbuf(st->png))) {
        snprintf(err, errlen, "%s: corrupt or truncated PNG file (%s)", name, st->msg);
        return -1;
    }
    return decode(st, fp, name, err, errlen);
}

int png_read_stream(FILE *fp, const char *name, image *img, char *err, size_t errlen)
{
    png_state *st = calloc(1, sizeof *st);
    int ret = -1;

    memset(img, 0, sizeof *img);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    st->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, st, on_error, on_warning);
    if (st->png)
        st->info = png_create_info_struct(st->png);
    if (!st->info) {
        snprintf(err, errlen, "out of memory (libpng)");
        goto out;
    }
    if (guarded_decode(st, fp, name, err, errlen) < 0)
        goto out;
    *img = st->out;
    memset(&st->out, 0, sizeof st->out);
    ret = 0;
out:
    free_state(st, 1);
    return ret;
}

static unsigned quantise(float v, unsigned maxv)
{
    /* !(v > 0) also catches NaN, which has no better value than black. */
    if (!(v > 0.0f))
        return 0;
    if (v >= 1.0f)
        return maxv;
    return (unsigned)((double)v * maxv + 0.5);
}

/* Encodes img as RGB rows; libpng errors longjmp to guarded_encode. */
static void encode(png_state *st, FILE *fp, const image *img, int bits16)
{
    png_init_io(st->png, fp);
    png_set_IHDR(st->png, st->info, (png_uint_32)img->width, (png_uint_32)img->height,
                 bits16 ? 16 : 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    /* The values are sRGB-encoded (the training data was), so say so. */
    png_set_sRGB(st->png, st->info, PNG_sRGB_INTENT_PERCEPTUAL);
    png_write_info(st->png, st->info);
    for (int y = 0; y < img->height; y++) {
        const float *src = img->rgb + (size_t)y * (size_t)img->width * 3;
        for (size_t k = 0; k < (size_t)img->width * 3; k++) {
            if (bits16) {
                unsigned s = quantise(src[k], 65535);
                st->raw[2 * k] = (unsigned char)(s >> 8);
                st->raw[2 * k + 1] = (unsigned char)(s & 0xff);
            } else {
                st->raw[k] = (unsigned char)quantise(src[k], 255);
            }
        }
        png_write_row(st->png, st->raw);
    }
    png_write_end(st->png, NULL);
}

static int guarded_encode(png_state *st, FILE *fp, const image *img, int bits16, char *err,
                          size_t errlen)
{
    if (setjmp(png_jmpbuf(st->png))) {
        snprintf(err, errlen, "writing PNG: %s", st->msg);
        return -1;
    }
    encode(st, fp, img, bits16);
    return 0;
}

int png_write_stream(FILE *fp, const image *img, int bits16, char *err, size_t errlen)
{
    png_state *st = calloc(1, sizeof *st);
    int ret = -1;

    if (!st) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    st->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, st, on_error, on_warning);
    if (st->png)
        st->info = png_create_info_struct(st->png);
    st->raw = malloc((size_t)img->width * (bits16 ? 6 : 3));
    if (!st->info || !st->raw) {
        snprintf(err, errlen, "out of memory (libpng)");
        goto out;
    }
    if (guarded_encode(st, fp, img, bits16, err, errlen) < 0)
        goto out;
    ret = 0;
out:
    free_state(st, 0);
    return ret;
}
