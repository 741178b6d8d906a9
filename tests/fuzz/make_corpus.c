/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * make_corpus DIR
 *
 * Writes the seed corpora of the fuzz targets (docs/fuzzing.md):
 *   DIR/model_load   small valid models from tests/model_writer.h, one per
 *                    kind of architecture and storage (.fgsd)
 *   DIR/image_io     small valid images of every PNG colour type, bit depth
 *                    and interlacing the reader handles, and PFM files in
 *                    both byte orders (.png, .pfm)
 * The output is deterministic; tests/fuzz/corpus holds a copy (regenerate
 * it with tools/fuzz-smoke --regenerate-corpus).  Every file is a few KiB
 * at most: libFuzzer's default input size limit follows the largest seed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <png.h>

#include "model_writer.h"

static const char *outdir;

static int make_dir(const char *path)
{
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        perror(path);
        return -1;
    }
    return 0;
}

static int write_file(const char *sub, const char *name, const void *buf, size_t len)
{
    char path[4096];
    FILE *fp;
    int ret = 0;

    snprintf(path, sizeof(path), "%s/%s/%s", outdir, sub, name);
    fp = fopen(path, "wb");
    if (!fp) {
        perror(path);
        return -1;
    }
    if (fwrite(buf, 1, len, fp) != len)
        ret = -1;
    if (fclose(fp) != 0)
        ret = -1;
    if (ret)
        perror(path);
    return ret;
}

/* ---- models ------------------------------------------------------------ */

/* window: the "feature_window" metadata, or NULL for none. */
static int model(const char *name, const test_model_arch *arch, uint64_t seed, int dtype,
                 const char *window)
{
    test_model m;
    unsigned char *buf;
    size_t len;
    int ret;

    if (test_model_make(arch, seed, dtype, &m) < 0)
        return -1;
    ret = (window && test_model_set_meta(&m, "feature_window", window) < 0) ||
                  test_model_serialize(&m, &buf, &len) < 0
              ? -1
              : 0;
    test_model_free(&m);
    if (ret < 0) {
        fprintf(stderr, "make_corpus: cannot build %s\n", name);
        return -1;
    }
    ret = write_file("model_load", name, buf, len);
    free(buf);
    return ret;
}

static test_model_arch small_arch(int levels, int width, int convs)
{
    test_model_arch a;

    memset(&a, 0, sizeof(a));
    a.levels = levels;
    for (int l = 0; l <= levels; l++)
        a.widths[l] = width;
    a.enc_convs = a.mid_convs = a.dec_convs = convs;
    a.data_mean[0] = 0.5f;
    a.data_mean[1] = 0.5f;
    a.data_mean[2] = 0.5f;
    return a;
}

static int models(void)
{
    test_model_arch a = test_model_arch_tiny();
    int bad = 0;

    bad |= model("tiny-f32.fgsd", &a, 42, TEST_MODEL_F32, NULL);
    bad |= model("tiny-f16.fgsd", &a, 43, TEST_MODEL_F16, NULL);
    bad |= model("tiny-window.fgsd", &a, 45, TEST_MODEL_F32, "16");
    a.conditioned = 0;
    a.n_features = 0;
    bad |= model("tiny-uncond-mixed.fgsd", &a, 44, TEST_MODEL_MIXED, NULL);

    /* One level of width 1: every block, a few hundred bytes. */
    a = small_arch(1, 1, 1);
    a.conditioned = 1;
    a.n_features = 3;
    a.features[0] = "enc0";
    a.features[1] = "mid";
    a.features[2] = "dec0";
    a.bias = 1;
    a.circular = 1;
    a.residual = 0;
    bad |= model("l1-bias-circular-clean.fgsd", &a, 1, TEST_MODEL_F32, NULL);

    /* Three levels, two convs per block, F16, features late in the net. */
    a = small_arch(3, 2, 2);
    a.widths[3] = 3;
    a.conditioned = 1;
    a.n_features = 2;
    a.features[0] = "mid";
    a.features[1] = "dec0";
    a.residual = 1;
    bad |= model("l3-f16.fgsd", &a, 3, TEST_MODEL_F16, NULL);

    /* The deepest network the format allows: six levels (a 64-pixel size
     * multiple), unconditioned, residual. */
    a = small_arch(6, 1, 1);
    a.residual = 1;
    bad |= model("l6-uncond.fgsd", &a, 6, TEST_MODEL_F16, NULL);
    return bad ? -1 : 0;
}

/* ---- PNG images -------------------------------------------------------- */

typedef struct png_spec {
    const char *name;
    int width, height;
    int color_type; /* PNG_COLOR_TYPE_* */
    int depth;
    int interlace;
    int trns; /* add a tRNS chunk (palette: two transparent entries; gray/RGB: one colour) */
} png_spec;

typedef struct mem_out {
    unsigned char *buf;
    size_t len, cap;
} mem_out;

static void mem_write(png_structp png, png_bytep data, png_size_t n)
{
    mem_out *m = png_get_io_ptr(png);

    if (m->len + n > m->cap) {
        size_t cap = (m->len + n) * 2;
        unsigned char *p = realloc(m->buf, cap);
        if (!p)
            png_error(png, "out of memory");
        m->buf = p;
        m->cap = cap;
    }
    memcpy(m->buf + m->len, data, n);
    m->len += n;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

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

/* Packs sample s (depth bits) at sample index i of a row. */
static void put_sample(unsigned char *row, size_t i, int depth, unsigned s)
{
    if (depth == 16) {
        row[2 * i] = (unsigned char)(s >> 8);
        row[2 * i + 1] = (unsigned char)(s & 0xff);
    } else if (depth == 8) {
        row[i] = (unsigned char)s;
    } else {
        size_t per = (size_t)(8 / depth);
        int shift = 8 - depth * (int)(i % per + 1);
        row[i / per] = (unsigned char)(row[i / per] | (s & ((1u << depth) - 1)) << shift);
    }
}

static int png_file(const png_spec *sp)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int ch = channels_of(sp->color_type);
    size_t rowbytes = ((size_t)sp->width * (size_t)ch * (size_t)sp->depth + 7) / 8;
    unsigned char *rows = calloc((size_t)sp->height, rowbytes);
    png_bytep *rp = calloc((size_t)sp->height, sizeof(png_bytep));
    /* Changed between setjmp and a libpng error: static, not automatic. */
    static mem_out m;
    int ret = -1;

    memset(&m, 0, sizeof(m));
    if (!png || !info || !rows || !rp)
        goto out;
    if (setjmp(png_jmpbuf(png)))
        goto out;
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)sp->width, (png_uint_32)sp->height, sp->depth,
                 sp->color_type, sp->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (sp->color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[4] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {40, 80, 255}};
        png_byte alpha[2] = {0, 128};
        png_set_PLTE(png, info, pal, 4);
        if (sp->trns)
            png_set_tRNS(png, info, alpha, 2, NULL);
    } else if (sp->trns) {
        png_color_16 c;
        memset(&c, 0, sizeof(c));
        c.gray = 1;
        c.red = 1;
        png_set_tRNS(png, info, NULL, 0, &c);
    }
    for (int y = 0; y < sp->height; y++) {
        unsigned char *row = rows + (size_t)y * rowbytes;
        unsigned maxv = sp->color_type == PNG_COLOR_TYPE_PALETTE ? 3u : (1u << sp->depth) - 1;
        rp[y] = row;
        for (int x = 0; x < sp->width; x++)
            for (int c = 0; c < ch; c++) {
                unsigned v = (unsigned)(x * 7 + y * 13 + c * 5) * 2654435761u >> 7;
                put_sample(row, (size_t)x * (size_t)ch + (size_t)c, sp->depth, v % (maxv + 1));
            }
    }
    png_set_rows(png, info, rp);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    ret = write_file("image_io", sp->name, m.buf, m.len);
out:
    png_destroy_write_struct(&png, &info);
    free(m.buf);
    free(rows);
    free(rp);
    if (ret)
        fprintf(stderr, "make_corpus: cannot write %s\n", sp->name);
    return ret;
}

/* ---- PFM images -------------------------------------------------------- */

static int pfm_file(const char *name, int w, int h, int channels, int little_endian)
{
    unsigned char buf[1024];
    int n = snprintf((char *)buf, sizeof(buf), "%s\n%d %d\n%s\n", channels == 3 ? "PF" : "Pf",
                     w, h, little_endian ? "-1.0" : "1.0");
    size_t len = (size_t)n;

    for (int i = 0; i < w * h * channels; i++) {
        float f = (float)i / 8.0f - 0.75f; /* some outside [0, 1] */
        uint32_t u;
        memcpy(&u, &f, sizeof(u));
        for (int b = 0; b < 4; b++)
            buf[len + (size_t)b] =
                (unsigned char)(u >> (little_endian ? 8 * b : 8 * (3 - b)) & 0xff);
        len += 4;
    }
    return write_file("image_io", name, buf, len);
}

static int images(void)
{
    static const png_spec specs[] = {
        {"rgb8.png", 4, 3, PNG_COLOR_TYPE_RGB, 8, 0, 0},
        {"rgb16-trns.png", 3, 2, PNG_COLOR_TYPE_RGB, 16, 0, 1},
        {"rgba8-interlaced.png", 9, 9, PNG_COLOR_TYPE_RGB_ALPHA, 8, 1, 0},
        {"rgba16.png", 2, 2, PNG_COLOR_TYPE_RGB_ALPHA, 16, 0, 0},
        {"gray1.png", 11, 3, PNG_COLOR_TYPE_GRAY, 1, 0, 0},
        {"gray4-trns.png", 5, 4, PNG_COLOR_TYPE_GRAY, 4, 0, 1},
        {"gray16.png", 3, 3, PNG_COLOR_TYPE_GRAY, 16, 0, 0},
        {"graya8.png", 4, 4, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, 0},
        {"palette2-trns.png", 6, 5, PNG_COLOR_TYPE_PALETTE, 2, 0, 1},
        {"palette8-interlaced.png", 8, 8, PNG_COLOR_TYPE_PALETTE, 8, 1, 0},
    };
    int bad = 0;

    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        bad |= png_file(&specs[i]);
    bad |= pfm_file("rgb-le.pfm", 4, 3, 3, 1);
    bad |= pfm_file("rgb-be.pfm", 2, 2, 3, 0);
    bad |= pfm_file("gray-le.pfm", 3, 2, 1, 1);
    bad |= pfm_file("gray-be.pfm", 5, 1, 1, 0);
    return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
    char path[4096];

    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus DIR\n");
        return 2;
    }
    outdir = argv[1];
    if (make_dir(outdir))
        return 1;
    snprintf(path, sizeof(path), "%s/model_load", outdir);
    if (make_dir(path))
        return 1;
    snprintf(path, sizeof(path), "%s/image_io", outdir);
    if (make_dir(path))
        return 1;
    return models() || images() ? 1 : 0;
}
