/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * PFM (portable float map) reading and writing.
 *
 * The format (Paul Debevec's definition, also netpbm's pfm): a text header
 * "PF" (RGB) or "Pf" (gray), whitespace, width, whitespace, height,
 * whitespace, a scale whose sign gives the byte order (negative: little
 * endian), exactly one whitespace character, then width x height samples of
 * 32-bit IEEE floats, rows from the BOTTOM of the image to the top.  The
 * scale's magnitude carries no meaning for us and is ignored.
 */
#include "image_formats.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Longest header token we accept: a scale such as "-1.000000" fits; junk in
 * a corrupt file stops here instead of being read forever. */
#define TOKEN_MAX 40

/* Reads one whitespace-delimited token after skipping leading whitespace;
 * *sep receives the character that ended it (EOF at end of file). */
static int read_token(FILE *fp, char *tok, size_t size, int *sep)
{
    int c;
    size_t n = 0;

    do
        c = getc(fp);
    while (c != EOF && isspace(c));
    while (c != EOF && !isspace(c)) {
        if (n + 1 >= size)
            return -1;
        tok[n++] = (char)c;
        c = getc(fp);
    }
    tok[n] = '\0';
    *sep = c;
    return n > 0 ? 0 : -1;
}

static int parse_side(const char *tok, int *out)
{
    long v = 0;

    if (!*tok)
        return -1;
    for (const char *p = tok; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        v = v * 10 + (*p - '0');
        /* Stop before overflow; the caller reports the side as too big. */
        if (v > IMAGE_MAX_SIDE) {
            *out = IMAGE_MAX_SIDE + 1;
            return 0;
        }
    }
    *out = (int)v;
    return 0;
}

typedef struct pfm_header {
    int channels; /* 3 ("PF") or 1 ("Pf") */
    int width;
    int height;
    int little_endian;
} pfm_header;

static int read_header(FILE *fp, const char *name, pfm_header *hd, char *err, size_t errlen)
{
    char tok[TOKEN_MAX];
    int sep;
    char *end;
    double scale;

    if (read_token(fp, tok, sizeof tok, &sep) < 0 || (strcmp(tok, "PF") && strcmp(tok, "Pf")))
        goto bad;
    hd->channels = tok[1] == 'F' ? 3 : 1;
    if (read_token(fp, tok, sizeof tok, &sep) < 0 || parse_side(tok, &hd->width) < 0)
        goto bad;
    if (read_token(fp, tok, sizeof tok, &sep) < 0 || parse_side(tok, &hd->height) < 0)
        goto bad;
    if (hd->width < 1 || hd->height < 1 || hd->width > IMAGE_MAX_SIDE ||
        hd->height > IMAGE_MAX_SIDE) {
        snprintf(err, errlen, "%s: PFM size out of range: each side must be 1..%d", name,
                 IMAGE_MAX_SIDE);
        return -1;
    }
    if (read_token(fp, tok, sizeof tok, &sep) < 0)
        goto bad;
    errno = 0;
    scale = strtod(tok, &end);
    if (*end || errno || !isfinite(scale) || scale == 0.0 || !isspace(sep))
        goto bad;
    hd->little_endian = scale < 0.0;
    return 0;
bad:
    snprintf(err, errlen, "%s: not a valid PFM header (expected \"PF\" or \"Pf\", width, "
             "height, non-zero scale)", name);
    return -1;
}

/* Bytes left from the current position, or -1 when the stream cannot seek
 * (a pipe): then a short read reports the truncation instead. */
static long long bytes_left(FILE *fp)
{
    long pos = ftell(fp);
    long end;

    if (pos < 0 || fseek(fp, 0, SEEK_END) != 0)
        return -1;
    end = ftell(fp);
    if (fseek(fp, pos, SEEK_SET) != 0 || end < pos)
        return -1;
    return (long long)end - pos;
}

static float decode_float(const unsigned char *b, int little_endian)
{
    uint32_t u;
    float f;

    if (little_endian)
        u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    else
        u = (uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 | (uint32_t)b[0] << 24;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Reads the rows (bottom to top in the file) into img, replicating gray. */
static int read_pixels(FILE *fp, const char *name, const pfm_header *hd, image *img,
                       unsigned char *row, char *err, size_t errlen)
{
    size_t rowbytes = (size_t)hd->width * (size_t)hd->channels * 4;

    for (int fy = 0; fy < hd->height; fy++) {
        int y = hd->height - 1 - fy;
        float *dst = img->rgb + (size_t)y * (size_t)hd->width * 3;

        if (fread(row, 1, rowbytes, fp) != rowbytes) {
            snprintf(err, errlen, "%s: truncated PFM file (%d of %d rows)", name, fy,
                     hd->height);
            return -1;
        }
        for (int x = 0; x < hd->width; x++) {
            for (int c = 0; c < 3; c++) {
                int sc = hd->channels == 3 ? c : 0;
                size_t k = ((size_t)x * (size_t)hd->channels + (size_t)sc) * 4;
                float v = decode_float(row + k, hd->little_endian);
                if (!isfinite(v)) {
                    snprintf(err, errlen, "%s: non-finite value at pixel (%d, %d)", name, x, y);
                    return -1;
                }
                dst[(size_t)x * 3 + (size_t)c] = v;
            }
        }
    }
    return 0;
}

int pfm_read_stream(FILE *fp, const char *name, image *img, char *err, size_t errlen)
{
    pfm_header hd;
    unsigned char *row = NULL;
    long long left;
    int ret = -1;

    memset(img, 0, sizeof *img);
    if (read_header(fp, name, &hd, err, errlen) < 0)
        return -1;
    /* Check the data is there before allocating for it: a header may claim
     * 32768 x 32768 in a 20-byte file. */
    left = bytes_left(fp);
    if (left >= 0 && left < (long long)hd.width * hd.height * hd.channels * 4) {
        snprintf(err, errlen, "%s: truncated PFM file (%lld bytes of pixel data for %dx%d)",
                 name, left, hd.width, hd.height);
        return -1;
    }
    row = malloc((size_t)hd.width * (size_t)hd.channels * 4);
    if (!row) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (image_alloc(img, hd.width, hd.height, err, errlen) < 0)
        goto out;
    if (read_pixels(fp, name, &hd, img, row, err, errlen) < 0)
        goto out_free_image;
    ret = 0;
    goto out;
out_free_image:
    image_free(img);
out:
    free(row);
    return ret;
}

static void encode_float(unsigned char *b, float f)
{
    uint32_t u;

    memcpy(&u, &f, sizeof u);
    b[0] = (unsigned char)(u & 0xff);
    b[1] = (unsigned char)(u >> 8 & 0xff);
    b[2] = (unsigned char)(u >> 16 & 0xff);
    b[3] = (unsigned char)(u >> 24);
}

int pfm_write_stream(FILE *fp, const image *img, char *err, size_t errlen)
{
    size_t n = (size_t)img->width * 3;
    unsigned char *row = malloc(n * 4);
    int ret = -1;

    if (!row) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (fprintf(fp, "PF\n%d %d\n-1.0\n", img->width, img->height) < 0)
        goto out_io;
    for (int y = img->height - 1; y >= 0; y--) {
        const float *src = img->rgb + (size_t)y * n;
        for (size_t k = 0; k < n; k++)
            encode_float(row + 4 * k, src[k]);
        if (fwrite(row, 1, n * 4, fp) != n * 4)
            goto out_io;
    }
    ret = 0;
    goto out;
out_io:
    snprintf(err, errlen, "writing PFM: %s", strerror(errno));
out:
    free(row);
    return ret;
}
