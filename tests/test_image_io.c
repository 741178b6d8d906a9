/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The command line's image I/O (cli/image_io.h): PNG and PFM round trips in
 * every layout the reader accepts, exact sample values, and bad files
 * (corrupt, truncated, absurd sizes) rejected with a one-line message and
 * without a crash or a huge allocation.
 *
 * Links only the I/O files and libpng.  malloc is wrapped (-Wl,--wrap) to
 * record the largest request the I/O code makes, which shows that a lying
 * PFM header is refused before anything is allocated for it.
 */
#define _POSIX_C_SOURCE 200809L

#include "image_io.h"

#include <dirent.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- allocation watch ---------------------------------------------------- */

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);

static size_t largest_malloc;

void *__wrap_malloc(size_t size)
{
    if (size > largest_malloc)
        largest_malloc = size;
    return __real_malloc(size);
}

/* ---- helpers --------------------------------------------------------------- */

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fgsd-test-io-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char p[512];

    (void)state;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            unlink(p);
        }
    }
    if (d)
        closedir(d);
    return rmdir(tmpdir);
}

static const char *path_in_tmp(const char *name)
{
    static char p[512];

    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *buf;
    long len;

    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    rewind(fp);
    buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    *n = (size_t)len;
    return buf;
}

/* Deterministic test samples: a small LCG, no libc rand state. */
static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* A PNG of any layout written with libpng directly, independent of the
 * writer under test.  samples: rows of width * channels values (0..2^depth-1,
 * or palette indices), packed by this helper. */
typedef struct raw_png {
    int width, height, color_type, depth;
    const unsigned *samples;
    const png_color *palette;
    int npalette;
    const png_byte *trns;
    int ntrns;
    int interlaced;
} raw_png;

static int channels_of(int color_type)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
    case PNG_COLOR_TYPE_PALETTE:
        return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        return 2;
    case PNG_COLOR_TYPE_RGB:
        return 3;
    default:
        return 4;
    }
}

static void write_raw_png(const char *path, const raw_png *r)
{
    FILE *fp = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    int ch = channels_of(r->color_type);
    size_t rowbytes = ((size_t)r->width * (size_t)ch * (size_t)r->depth + 7) / 8;
    unsigned char *raw = calloc(rowbytes * (size_t)r->height, 1);
    png_bytep *rows = calloc((size_t)r->height, sizeof *rows);

    assert_non_null(fp);
    assert_non_null(raw);
    assert_non_null(rows);
    for (int y = 0; y < r->height; y++) {
        unsigned char *row = rows[y] = raw + (size_t)y * rowbytes;
        for (int k = 0; k < r->width * ch; k++) {
            unsigned v = r->samples[(size_t)y * (size_t)r->width * (size_t)ch + (size_t)k];
            if (r->depth == 16) {
                row[2 * k] = (unsigned char)(v >> 8);
                row[2 * k + 1] = (unsigned char)(v & 0xff);
            } else if (r->depth == 8) {
                row[k] = (unsigned char)v;
            } else {
                int per = 8 / r->depth;
                int shift = 8 - r->depth * (k % per + 1);
                row[k / per] = (unsigned char)(row[k / per] | v << shift);
            }
        }
    }
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng failed writing the test file");
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)r->width, (png_uint_32)r->height, r->depth,
                 r->color_type, r->interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (r->palette)
        png_set_PLTE(png, info, r->palette, r->npalette);
    if (r->trns)
        png_set_tRNS(png, info, r->trns, r->ntrns, NULL);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(raw);
    assert_int_equal(fclose(fp), 0);
}

static void assert_one_line(const char *err)
{
    assert_true(strlen(err) > 0);
    assert_null(strchr(err, '\n'));
}

static size_t count_files(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    size_t n = 0;

    assert_non_null(d);
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* ---- PNG ----------------------------------------------------------------- */

/* Our writer and reader: every 8-bit or 16-bit sample value survives. */
static void roundtrip_rgb(int bits16)
{
    const unsigned maxv = bits16 ? 65535u : 255u;
    const char *p = path_in_tmp(bits16 ? "rgb16.png" : "rgb8.png");
    image_write_options wo = {.png_16bit = bits16};
    image img, back;
    char err[256];
    uint32_t s = 7;
    unsigned *want;

    assert_int_equal(image_alloc(&img, 37, 23, err, sizeof err), 0);
    want = malloc(37 * 23 * 3 * sizeof *want);
    assert_non_null(want);
    for (size_t i = 0; i < 37 * 23 * 3; i++) {
        want[i] = i < 6 ? (i % 2 ? maxv : 0) : lcg(&s) % (maxv + 1);
        img.rgb[i] = (float)want[i] / (float)maxv;
    }
    assert_int_equal(image_write(p, &img, &wo, err, sizeof err), 0);
    assert_int_equal(image_read(p, &back, err, sizeof err), 0);
    assert_int_equal(back.width, 37);
    assert_int_equal(back.height, 23);
    assert_null(back.alpha);
    for (size_t i = 0; i < 37 * 23 * 3; i++) {
        assert_int_equal((unsigned)lrint((double)back.rgb[i] * maxv), want[i]);
        assert_true(fabsf(back.rgb[i] - img.rgb[i]) < 1e-6f);
    }
    free(want);
    image_free(&img);
    image_free(&back);
}

static void test_png_rgb8_roundtrip(void **state)
{
    (void)state;
    roundtrip_rgb(0);
}

static void test_png_rgb16_roundtrip(void **state)
{
    (void)state;
    roundtrip_rgb(1);
}

/* Out-of-range values clip, NaN becomes black, halves round to nearest. */
static void test_png_write_clips(void **state)
{
    const float v[12] = {-0.5f, 1.5f, NAN, INFINITY, -INFINITY, 0.5f,
                         0.25f, 1.0f, 0.0f, 2.0f / 255.0f, 0.999f, 1e-9f};
    const unsigned want[12] = {0, 255, 0, 255, 0, 128, 64, 255, 0, 2, 255, 0};
    image img, back;
    char err[256];

    (void)state;
    assert_int_equal(image_alloc(&img, 2, 2, err, sizeof err), 0);
    memcpy(img.rgb, v, sizeof v);
    assert_int_equal(image_write(path_in_tmp("clip.png"), &img, NULL, err, sizeof err), 0);
    assert_int_equal(image_read(path_in_tmp("clip.png"), &back, err, sizeof err), 0);
    for (int i = 0; i < 12; i++)
        assert_int_equal((unsigned)lrint((double)back.rgb[i] * 255.0), want[i]);
    image_free(&img);
    image_free(&back);
}

/* Gray (8 and 16 bit) is replicated to R, G and B. */
static void test_png_gray(void **state)
{
    const unsigned g8[6] = {0, 1, 127, 128, 254, 255};
    const unsigned g16[6] = {0, 1, 256, 32768, 65534, 65535};
    image img;
    char err[256];

    (void)state;
    for (int pass = 0; pass < 2; pass++) {
        const unsigned *g = pass ? g16 : g8;
        const double maxv = pass ? 65535.0 : 255.0;
        raw_png r = {3, 2, PNG_COLOR_TYPE_GRAY, pass ? 16 : 8, g, NULL, 0, NULL, 0, 0};
        write_raw_png(path_in_tmp("gray.png"), &r);
        assert_int_equal(image_read(path_in_tmp("gray.png"), &img, err, sizeof err), 0);
        assert_int_equal(img.width, 3);
        assert_int_equal(img.height, 2);
        assert_null(img.alpha);
        for (int i = 0; i < 6; i++)
            for (int c = 0; c < 3; c++)
                assert_int_equal(lrint(img.rgb[3 * i + c] * maxv), g[i]);
        image_free(&img);
    }
}

/* 1-bit gray expands to 0 and 1. */
static void test_png_gray_1bit(void **state)
{
    const unsigned g[10] = {0, 1, 1, 0, 1, 0, 0, 0, 1, 1};
    raw_png r = {10, 1, PNG_COLOR_TYPE_GRAY, 1, g, NULL, 0, NULL, 0, 0};
    image img;
    char err[256];

    (void)state;
    write_raw_png(path_in_tmp("bits.png"), &r);
    assert_int_equal(image_read(path_in_tmp("bits.png"), &img, err, sizeof err), 0);
    for (int i = 0; i < 10; i++)
        assert_true(img.rgb[3 * i + 1] == (float)g[i]);
    image_free(&img);
}

static void test_png_gray_alpha(void **state)
{
    const unsigned ga[8] = {10, 0, 20, 255, 30, 128, 40, 1};
    raw_png r = {2, 2, PNG_COLOR_TYPE_GRAY_ALPHA, 8, ga, NULL, 0, NULL, 0, 0};
    image img;
    char err[256];

    (void)state;
    write_raw_png(path_in_tmp("ga.png"), &r);
    assert_int_equal(image_read(path_in_tmp("ga.png"), &img, err, sizeof err), 0);
    assert_non_null(img.alpha);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(lrint(img.rgb[3 * i + 2] * 255.0), ga[2 * i]);
        assert_int_equal(lrint(img.alpha[i] * 255.0), ga[2 * i + 1]);
    }
    image_free(&img);
}

static void test_png_rgba16(void **state)
{
    const unsigned px[8] = {65535, 0, 1000, 0, 1, 2, 3, 65535};
    raw_png r = {2, 1, PNG_COLOR_TYPE_RGB_ALPHA, 16, px, NULL, 0, NULL, 0, 0};
    image img;
    char err[256];

    (void)state;
    write_raw_png(path_in_tmp("rgba16.png"), &r);
    assert_int_equal(image_read(path_in_tmp("rgba16.png"), &img, err, sizeof err), 0);
    assert_non_null(img.alpha);
    assert_int_equal(lrint(img.rgb[0] * 65535.0), 65535);
    assert_int_equal(lrint(img.rgb[2] * 65535.0), 1000);
    assert_int_equal(lrint(img.rgb[5] * 65535.0), 3);
    assert_true(img.alpha[0] == 0.0f);
    assert_true(img.alpha[1] == 1.0f);
    image_free(&img);
}

/* Adam7-interlaced files decode to the same pixels. */
static void test_png_interlaced(void **state)
{
    unsigned px[3 * 13 * 11];
    raw_png r = {13, 11, PNG_COLOR_TYPE_RGB, 8, px, NULL, 0, NULL, 0, 1};
    image img;
    char err[256];
    uint32_t s = 11;

    (void)state;
    for (size_t i = 0; i < 3 * 13 * 11; i++)
        px[i] = lcg(&s) % 256;
    write_raw_png(path_in_tmp("adam7.png"), &r);
    assert_int_equal(image_read(path_in_tmp("adam7.png"), &img, err, sizeof err), 0);
    for (size_t i = 0; i < 3 * 13 * 11; i++)
        assert_int_equal(lrint(img.rgb[i] * 255.0), px[i]);
    image_free(&img);
}

/* A fully opaque alpha channel is dropped: it would select everything. */
static void test_png_rgba_opaque_has_no_alpha(void **state)
{
    const unsigned px[8] = {1, 2, 3, 255, 4, 5, 6, 255};
    raw_png r = {2, 1, PNG_COLOR_TYPE_RGB_ALPHA, 8, px, NULL, 0, NULL, 0, 0};
    image img;
    char err[256];

    (void)state;
    write_raw_png(path_in_tmp("opaque.png"), &r);
    assert_int_equal(image_read(path_in_tmp("opaque.png"), &img, err, sizeof err), 0);
    assert_null(img.alpha);
    assert_int_equal(lrint(img.rgb[4] * 255.0), 5);
    image_free(&img);
}

/* Palette (2-bit indices) with a tRNS chunk: colours and alpha expanded. */
static void test_png_palette(void **state)
{
    const png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}};
    const png_byte trns[2] = {0, 128};
    const unsigned idx[6] = {0, 1, 2, 3, 3, 0};
    raw_png r = {3, 2, PNG_COLOR_TYPE_PALETTE, 2, idx, pal, 4, trns, 2, 0};
    image img;
    char err[256];

    (void)state;
    write_raw_png(path_in_tmp("pal.png"), &r);
    assert_int_equal(image_read(path_in_tmp("pal.png"), &img, err, sizeof err), 0);
    assert_int_equal(img.width, 3);
    assert_non_null(img.alpha);
    for (int i = 0; i < 6; i++) {
        const png_color *c = &pal[idx[i]];
        assert_int_equal(lrint(img.rgb[3 * i] * 255.0), c->red);
        assert_int_equal(lrint(img.rgb[3 * i + 1] * 255.0), c->green);
        assert_int_equal(lrint(img.rgb[3 * i + 2] * 255.0), c->blue);
        assert_int_equal(lrint(img.alpha[i] * 255.0), idx[i] < 2 ? trns[idx[i]] : 255);
    }
    image_free(&img);
}

static void test_png_corrupt(void **state)
{
    const unsigned px[3 * 64 * 64] = {0};
    raw_png r = {64, 64, PNG_COLOR_TYPE_RGB, 8, px, NULL, 0, NULL, 0, 0};
    unsigned char *buf;
    size_t n;
    image img;
    char err[256];

    (void)state;
    write_raw_png(path_in_tmp("good.png"), &r);
    buf = read_bytes(path_in_tmp("good.png"), &n);

    /* Truncated in the middle of the image data. */
    write_bytes(path_in_tmp("trunc.png"), buf, n / 2);
    err[0] = '\0';
    assert_int_equal(image_read(path_in_tmp("trunc.png"), &img, err, sizeof err), -1);
    assert_one_line(err);
    assert_null(img.rgb);

    /* Only the signature. */
    write_bytes(path_in_tmp("sig.png"), buf, 8);
    err[0] = '\0';
    assert_int_equal(image_read(path_in_tmp("sig.png"), &img, err, sizeof err), -1);
    assert_one_line(err);

    /* A flipped byte in the IHDR: its CRC no longer matches. */
    buf[20] ^= 0x55;
    write_bytes(path_in_tmp("crc.png"), buf, n);
    err[0] = '\0';
    assert_int_equal(image_read(path_in_tmp("crc.png"), &img, err, sizeof err), -1);
    assert_one_line(err);
    buf[20] ^= 0x55;

    /* Garbage in the compressed data (its CRC patched by flipping it in
     * the data only: libpng reports the CRC or the inflate error). */
    for (size_t i = 60; i < n - 20; i++)
        buf[i] = (unsigned char)(buf[i] * 31u + 7u);
    write_bytes(path_in_tmp("zlib.png"), buf, n);
    err[0] = '\0';
    assert_int_equal(image_read(path_in_tmp("zlib.png"), &img, err, sizeof err), -1);
    assert_one_line(err);
    free(buf);

    /* Neither format, and an empty file. */
    write_bytes(path_in_tmp("text.png"), "hello, world", 12);
    assert_int_equal(image_read(path_in_tmp("text.png"), &img, err, sizeof err), -1);
    assert_one_line(err);
    write_bytes(path_in_tmp("empty.png"), "", 0);
    assert_int_equal(image_read(path_in_tmp("empty.png"), &img, err, sizeof err), -1);
    assert_one_line(err);
    assert_int_equal(image_read(path_in_tmp("missing.png"), &img, err, sizeof err), -1);
    assert_non_null(strstr(err, "missing.png"));
}

/* A valid PNG wider than the engine accepts is refused from its header. */
static void test_png_too_wide(void **state)
{
    const int w = IMAGE_MAX_SIDE + 1;
    unsigned *px = calloc((size_t)w, sizeof *px);
    raw_png r = {w, 1, PNG_COLOR_TYPE_GRAY, 1, px, NULL, 0, NULL, 0, 0};
    image img;
    char err[256];

    (void)state;
    assert_non_null(px);
    write_raw_png(path_in_tmp("wide.png"), &r);
    free(px);
    assert_int_equal(image_read(path_in_tmp("wide.png"), &img, err, sizeof err), -1);
    assert_one_line(err);
}

/* ---- PFM ----------------------------------------------------------------- */

static void test_pfm_roundtrip(void **state)
{
    const char *p = path_in_tmp("float.pfm");
    image img, back;
    char err[256];
    unsigned char *raw;
    size_t n;
    float first;
    uint32_t s = 3;

    (void)state;
    assert_int_equal(image_alloc(&img, 5, 4, err, sizeof err), 0);
    for (size_t i = 0; i < 5 * 4 * 3; i++)
        img.rgb[i] = ((float)(lcg(&s) % 20001) - 10000.0f) / 1234.5f;
    img.rgb[0] = -3.25f;
    img.rgb[1] = 1e30f;
    img.rgb[2] = -1e-30f;
    assert_int_equal(image_write(p, &img, NULL, err, sizeof err), 0);
    assert_int_equal(image_read(p, &back, err, sizeof err), 0);
    assert_int_equal(back.width, 5);
    assert_int_equal(back.height, 4);
    assert_memory_equal(back.rgb, img.rgb, 5 * 4 * 3 * sizeof(float));

    /* On disk: little-endian, and the first row stored is the bottom one. */
    raw = read_bytes(p, &n);
    assert_memory_equal(raw, "PF\n5 4\n-1.0\n", 12);
    assert_int_equal(n, 12 + 5 * 4 * 3 * 4);
    {
        uint32_t u = (uint32_t)raw[12] | (uint32_t)raw[13] << 8 | (uint32_t)raw[14] << 16 |
                     (uint32_t)raw[15] << 24;
        memcpy(&first, &u, sizeof first);
    }
    assert_true(first == img.rgb[3 * 5 * 3]);
    free(raw);
    image_free(&img);
    image_free(&back);
}

/* A big-endian gray "Pf" written by hand (header with extra spaces). */
static void test_pfm_gray_big_endian(void **state)
{
    const char *p = path_in_tmp("gray.pfm");
    const float v[4] = {0.5f, -2.0f, 3.0f, 0.125f}; /* bottom row first */
    unsigned char file[64];
    size_t n = (size_t)snprintf((char *)file, sizeof file, "Pf\n2  2\n1.0\n");
    image img;
    char err[256];

    (void)state;
    for (int i = 0; i < 4; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        for (int b = 0; b < 4; b++)
            file[n++] = (unsigned char)(u >> (24 - 8 * b));
    }
    write_bytes(p, file, n);
    assert_int_equal(image_read(p, &img, err, sizeof err), 0);
    /* Top row = the file's second row. */
    for (int c = 0; c < 3; c++) {
        assert_true(img.rgb[0 + c] == 3.0f);
        assert_true(img.rgb[3 + c] == 0.125f);
        assert_true(img.rgb[6 + c] == 0.5f);
        assert_true(img.rgb[9 + c] == -2.0f);
    }
    image_free(&img);
}

static void expect_pfm_error(const char *name, const void *data, size_t n, const char *word)
{
    image img;
    char err[256] = "";

    write_bytes(path_in_tmp(name), data, n);
    assert_int_equal(image_read(path_in_tmp(name), &img, err, sizeof err), -1);
    assert_one_line(err);
    assert_null(img.rgb);
    if (word && !strstr(err, word))
        fail_msg("error '%s' does not mention '%s'", err, word);
}

#define EXPECT_PFM_ERROR(name, text, word) expect_pfm_error(name, text, sizeof text - 1, word)

static void test_pfm_bad_headers(void **state)
{
    (void)state;
    EXPECT_PFM_ERROR("h1.pfm", "PF\nabc 4\n-1.0\n", "header");
    EXPECT_PFM_ERROR("h2.pfm", "PF\n4 4\n0\n", "header");
    EXPECT_PFM_ERROR("h3.pfm", "PF\n4 4\nnan\n", "header");
    EXPECT_PFM_ERROR("h4.pfm", "PF\n-4 4\n-1\n", "header");
    EXPECT_PFM_ERROR("h5.pfm", "PF\n4", "header");
    EXPECT_PFM_ERROR("h6.pfm", "PF\n0 4\n-1\n", "range");
    EXPECT_PFM_ERROR("h7.pfm", "PF\n4 99999999999999999999\n-1\n", "range");
    EXPECT_PFM_ERROR("h8.pfm", "PF\n4 4\n-1.000000000000000000000000000000000000000000\n",
                     "header");
    EXPECT_PFM_ERROR("h9.pfm", "PF4 4 -1\n", "header");
}

/* A header claiming the largest size over a few bytes of data is refused
 * from the file size, before the 12 GiB it claims are allocated. */
static void test_pfm_huge_dimensions(void **state)
{
    static const char hdr[] = "PF\n32768 32768\n-1.0\n\0\0\0\0\0\0\0\0";

    (void)state;
    largest_malloc = 0;
    expect_pfm_error("huge.pfm", hdr, sizeof hdr - 1, "truncated");
    assert_true(largest_malloc < 1u << 20);
    largest_malloc = 0;
    EXPECT_PFM_ERROR("huge2.pfm", "PF\n32769 8\n-1.0\n", "range");
    assert_true(largest_malloc < 1u << 20);
}

static void test_pfm_truncated_and_nonfinite(void **state)
{
    unsigned char file[128];
    size_t n = (size_t)snprintf((char *)file, sizeof file, "Pf\n2 2\n-1\n");
    float v[4] = {0.0f, 1.0f, NAN, 2.0f};

    (void)state;
    memcpy(file + n, v, sizeof v); /* little-endian host assumed by this test */
    expect_pfm_error("trunc.pfm", file, n + 10, "truncated");
    expect_pfm_error("nan.pfm", file, n + sizeof v, "non-finite");
}

/* ---- writing --------------------------------------------------------------- */

static void test_write_failures_leave_nothing(void **state)
{
    image img;
    char err[256];
    size_t before;

    (void)state;
    assert_int_equal(image_alloc(&img, 2, 2, err, sizeof err), 0);
    memset(img.rgb, 0, 12 * sizeof(float));
    before = count_files();
    assert_int_equal(image_write(path_in_tmp("x.jpg"), &img, NULL, err, sizeof err), -1);
    assert_one_line(err);
    assert_int_equal(image_write(path_in_tmp("nodir/x.png"), &img, NULL, err, sizeof err), -1);
    assert_one_line(err);
    assert_int_equal(count_files(), before);

    /* Replacing an existing file leaves exactly the new file, no temp. */
    write_bytes(path_in_tmp("old.png"), "old", 3);
    before = count_files();
    assert_int_equal(image_write(path_in_tmp("old.png"), &img, NULL, err, sizeof err), 0);
    assert_int_equal(count_files(), before);
    image_free(&img);
    assert_int_equal(image_read(path_in_tmp("old.png"), &img, err, sizeof err), 0);
    image_free(&img);
}

static void test_format_for_path(void **state)
{
    (void)state;
    assert_int_equal(image_format_for_path("a.png"), IMAGE_FORMAT_PNG);
    assert_int_equal(image_format_for_path("dir.x/A.PNG"), IMAGE_FORMAT_PNG);
    assert_int_equal(image_format_for_path("b.pfm"), IMAGE_FORMAT_PFM);
    assert_int_equal(image_format_for_path("b.Pfm"), IMAGE_FORMAT_PFM);
    assert_int_equal(image_format_for_path("dir.png/b"), IMAGE_FORMAT_UNKNOWN);
    assert_int_equal(image_format_for_path("b.tif"), IMAGE_FORMAT_UNKNOWN);
    assert_int_equal(image_format_for_path("png"), IMAGE_FORMAT_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_rgb8_roundtrip),
        cmocka_unit_test(test_png_rgb16_roundtrip),
        cmocka_unit_test(test_png_write_clips),
        cmocka_unit_test(test_png_gray),
        cmocka_unit_test(test_png_gray_1bit),
        cmocka_unit_test(test_png_gray_alpha),
        cmocka_unit_test(test_png_rgba16),
        cmocka_unit_test(test_png_interlaced),
        cmocka_unit_test(test_png_rgba_opaque_has_no_alpha),
        cmocka_unit_test(test_png_palette),
        cmocka_unit_test(test_png_corrupt),
        cmocka_unit_test(test_png_too_wide),
        cmocka_unit_test(test_pfm_roundtrip),
        cmocka_unit_test(test_pfm_gray_big_endian),
        cmocka_unit_test(test_pfm_bad_headers),
        cmocka_unit_test(test_pfm_huge_dimensions),
        cmocka_unit_test(test_pfm_truncated_and_nonfinite),
        cmocka_unit_test(test_write_failures_leave_nothing),
        cmocka_unit_test(test_format_for_path),
    };

    return cmocka_run_group_tests_name("image_io", tests, setup, teardown);
}
