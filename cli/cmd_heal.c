/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * `fgsd heal`: fill a hole in an image with texture that continues its
 * surroundings (fgsd_heal; docs/design.md "Heal").  The hole is a mask image
 * (white = fill); the texture comes from a band around the hole or from
 * --ref images.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"
#include "engine_ctx.h"
#include "image_io.h"
#include "reference.h"
#include "sampler_opts.h"

#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_BAND 32

/* --start: the hole filled with squares of texture, or drawn by the sampler. */
enum { HEAL_PATCHES, HEAL_NOISE };
static const char *const start_names[] = {"patches", "noise", NULL};

typedef struct heal_opts {
    cli_engine_opts engine;
    cli_sampler_opts sampler;
    arg_strings refs;
    const char *in;
    const char *hole;
    const char *mask;
    const char *out;
    int band;
    int bits16;
    int start;
    fgsd_patch_params patch;
} heal_opts;

static void print_help(void)
{
    printf("Usage: fgsd heal --in IMAGE --hole MASK [--ref REF ...] [OPTIONS] -o OUT\n"
           "\n"
           "Fill the hole of IMAGE (white in MASK; grey is a soft edge) with texture that\n"
           "continues what surrounds it.  Pixels outside the hole are kept exactly.  The\n"
           "texture to follow is read from a band around the hole, or from --ref.\n"
           "\n"
           "  --in IMAGE           the image (PNG or PFM)\n"
           "  --hole MASK          same size as IMAGE: white = fill, black = keep (its\n"
           "                       grey level times its alpha)\n"
           "  --band N             width of the band around the hole that shows the\n"
           "                       texture, 1..%d pixels (default %d); ignored with --ref\n"
           "  --ref IMAGE          reference(s) to follow instead of the band\n"
           "  --mask IMAGE         selection in the reference(s) (white counts)\n"
           "  --start patches|noise  patches (default): squares of the band (or of the one\n"
           "                       --ref) laid over the hole, each fitting what is around\n"
           "                       it; no network pass.  noise: the sampler draws the hole\n"
           "  --patch N            patches: side of the squares, >= 8; 0 (default): 3/4 of\n"
           "                       the band, or 3/8 of the reference's smaller side\n"
           "  --candidates K       patches: positions tried per square, 1..%d (default %d)\n"
           "  -o, --output FILE    output: .png (8-bit RGB; --16bit for 16) or .pfm\n"
           "  --16bit              16-bit PNG output\n"
           "  --seed N             noise seed, 0..2^64-1 (default: random, printed)\n",
           FGSD_MAX_SIDE, DEFAULT_BAND, FGSD_MAX_PATCH_CANDIDATES,
           fgsd_patch_params_default().candidates);
    sampler_opts_help(FGSD_TASK_HEAL, 1);
    printf("Engine:\n%s", CLI_ENGINE_HELP);
    printf("  -h, --help           this text\n"
           "\n"
           "Exit status: 0 done, 1 error, 2 bad usage, 130 interrupted (nothing written).\n");
}

/* The hole mask of o->hole, checked against the image's size. */
static int read_hole(const heal_opts *o, const image *in, float **hole)
{
    image img = {0};
    char err[512];
    int ret;

    if (image_read(o->hole, &img, err, sizeof err) < 0) {
        cli_error("hole: %s", err);
        return CLI_EXIT_ERROR;
    }
    if (img.width != in->width || img.height != in->height) {
        cli_error("hole '%s' is %dx%d but image '%s' is %dx%d", o->hole, img.width, img.height,
                  o->in, in->width, in->height);
        image_free(&img);
        return CLI_EXIT_ERROR;
    }
    ret = mask_from_image(&img, hole);
    image_free(&img);
    return ret;
}

static int heal(cli_engine *e, heal_opts *o, const image *in, const float *hole,
                const fgsd_reference *ref, image *out)
{
    fgsd_sample_stats stats = {0};
    fgsd_status st;

    o->sampler.p.ascending = !o->sampler.fixed_schedule;
    progress_phase(&e->prog, "healing");
    st = fgsd_heal(e->session, ref, &o->sampler.p, in->rgb, hole, in->width, in->height,
                   o->band, out->rgb, &stats);
    if (st != FGSD_OK)
        return cli_engine_failed(e, st, "healing");
    progress_done(&e->prog);
    cli_engine_notice(e);
    if (e->verbose)
        sampler_stats_note(&stats, -1);
    return cli_engine_cancelled(e);
}

/* The hole filled with squares from the band, or from the one --ref. */
static int heal_patches(cli_engine *e, heal_opts *o, const image *in, const float *hole,
                        image *out)
{
    image src = {0};
    float *sel = NULL;
    fgsd_status st;
    int ret;

    if (o->refs.n) {
        ret = reference_source(o->refs.v[0], o->mask, &src, &sel);
        if (ret != CLI_EXIT_OK)
            return ret;
    }
    o->patch.seed = o->sampler.p.seed;
    progress_phase(&e->prog, "healing");
    st = fgsd_heal_from_patches(e->session, &o->patch, in->rgb, hole, in->width, in->height,
                                o->band, o->refs.n ? src.rgb : NULL, sel, src.width, src.height,
                                out->rgb);
    free(sel);
    image_free(&src);
    if (st != FGSD_OK)
        return cli_engine_failed(e, st, "healing");
    progress_done(&e->prog);
    return cli_engine_cancelled(e);
}

static int run(heal_opts *o)
{
    image_write_options wo = {.png_16bit = o->bits16};
    image in = {0}, out = {0};
    float *hole = NULL;
    fgsd_reference *ref = NULL;
    char err[512] = "";
    cli_engine e;
    int ret;

    if (image_read(o->in, &in, err, sizeof err) < 0) {
        cli_error("input: %s", err);
        return CLI_EXIT_ERROR;
    }
    ret = read_hole(o, &in, &hole);
    if (ret != CLI_EXIT_OK)
        goto out_images;
    ret = cli_check_memory("image", in.width, in.height,
                           fgsd_task_memory(FGSD_TASK_HEAL, &o->sampler.p, in.width, in.height) +
                               3 * CLI_IMAGE_BYTES(in.width, in.height));
    if (ret != CLI_EXIT_OK)
        goto out_images;
    if (image_alloc(&out, in.width, in.height, err, sizeof err) < 0) {
        cli_error("%s", err);
        ret = CLI_EXIT_ERROR;
        goto out_images;
    }
    cancel_install();
    ret = cli_engine_open(&e, &o->engine);
    if (ret != CLI_EXIT_OK)
        goto out_images;
    if (o->start == HEAL_PATCHES) {
        ret = heal_patches(&e, o, &in, hole, &out);
    } else {
        if (o->refs.n)
            ret = reference_load(&e, o->refs.v, NULL, o->refs.n, o->mask, &ref);
        if (ret == CLI_EXIT_OK)
            ret = heal(&e, o, &in, hole, ref, &out);
    }
    if (ret == CLI_EXIT_OK && image_write(o->out, &out, &wo, err, sizeof err) < 0) {
        cli_error("%s", err);
        ret = CLI_EXIT_ERROR;
    }
    if (ret == CLI_EXIT_OK)
        sampler_seed_note(&o->sampler, o->engine.quiet);
    fgsd_reference_free(ref);
    cli_engine_close(&e);
out_images:
    free(hole);
    image_free(&out);
    image_free(&in);
    return ret;
}

int cmd_heal(int argc, char **argv)
{
    heal_opts o = {.band = DEFAULT_BAND, .patch = fgsd_patch_params_default()};
    const char *pos[1];
    int npos, ret;

    sampler_opts_init(&o.sampler, FGSD_TASK_HEAL);
    const arg_spec specs[] = {
        {.name = "--in", .alias = "-i", .type = ARG_STRING, .dest = &o.in},
        {.name = "--hole", .type = ARG_STRING, .dest = &o.hole},
        {.name = "--band", .type = ARG_INT, .dest = &o.band, .lo = 1, .hi = FGSD_MAX_SIDE},
        {.name = "--ref", .type = ARG_STRINGS, .dest = &o.refs},
        {.name = "--mask", .type = ARG_STRING, .dest = &o.mask},
        {.name = "--output", .alias = "-o", .type = ARG_STRING, .dest = &o.out},
        {.name = "--16bit", .type = ARG_FLAG, .dest = &o.bits16},
        {.name = "--start", .type = ARG_CHOICE, .dest = &o.start, .choices = start_names},
        {.name = "--patch", .type = ARG_INT, .dest = &o.patch.patch, .lo = 0,
         .hi = FGSD_MAX_SIDE},
        {.name = "--candidates", .type = ARG_INT, .dest = &o.patch.candidates, .lo = 1,
         .hi = FGSD_MAX_PATCH_CANDIDATES},
        CLI_SAMPLER_ARGS(&o.sampler),
        CLI_SIGMA0_ARG(&o.sampler),
        CLI_ENGINE_ARGS(&o.engine),
        {0},
    };

    switch (args_parse("heal", argc, argv, specs, pos, 0, &npos)) {
    case ARGS_HELP:
        print_help();
        return CLI_EXIT_OK;
    case ARGS_USAGE:
        return CLI_EXIT_USAGE;
    case ARGS_OK:
        break;
    }
    if (!o.in)
        return args_usage_error("heal", "--in IMAGE is required");
    if (!o.hole)
        return args_usage_error("heal", "--hole MASK is required");
    if (!o.out)
        return args_usage_error("heal", "-o OUT is required");
    if (o.mask && !o.refs.n)
        return args_usage_error("heal", "--mask needs a --ref");
    if (o.start == HEAL_PATCHES && o.refs.n > 1)
        return args_usage_error("heal", "--start patches takes at most one --ref");
    if (o.patch.patch > 0 && o.patch.patch < 8)
        return args_usage_error("heal", "--patch is 0 (automatic) or at least 8");
    ret = cli_check_output(o.out);
    if (ret != CLI_EXIT_OK)
        return ret;
    if (!o.sampler.seed_given)
        o.sampler.p.seed = sampler_random_seed();
    return run(&o);
}
