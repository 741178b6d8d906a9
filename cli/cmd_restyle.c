/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * `fgsd restyle`: redraw an image in the texture of one or more references.
 * --start patches (the default for one reference): texture transfer, the
 * image redrawn in squares of the reference chosen to follow its light and
 * dark (fgsd_restyle_from_patches; --strength weighs the squares' fit to
 * each other against the image).  --start noise: the sampler starts from
 * the image plus noise of std --strength (method.md section 5, last
 * paragraph; the paper's appendix figures 12-13): a low strength keeps the
 * image's structure and adds the reference's fine detail, a high one keeps
 * little but the colour layout.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"
#include "engine_ctx.h"
#include "image_io.h"
#include "reference.h"
#include "sampler_opts.h"

#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_STRENGTH 0.5f

/* --start: how the image is redrawn (docs/design.md "Restyle from patches"). */
enum { START_DEFAULT, START_PATCHES, START_NOISE };
static const char *const start_names[] = {"default", "patches", "noise", NULL};

typedef struct restyle_opts {
    cli_engine_opts engine;
    cli_sampler_opts sampler;
    arg_strings refs;
    const char *in;
    const char *mask;
    const char *out;
    int bits16;
    int free_colour;
    int start;
    float strength; /* < 0: the start's default */
    fgsd_patch_params patch;
} restyle_opts;

static void print_help(void)
{
    printf("Usage: fgsd restyle --in IMAGE --ref REF [--ref REF ...] [OPTIONS] -o OUT\n"
           "\n"
           "Redraw IMAGE in the texture of the reference(s).\n"
           "\n"
           "  --in IMAGE           the image to restyle (PNG or PFM)\n"
           "  --ref IMAGE          reference (PNG or PFM; its alpha is a mask); several:\n"
           "                       the centroid of their features (--start noise)\n"
           "  --mask IMAGE         selection in the reference(s) (white counts)\n"
           "  --start patches|noise  patches: the image redrawn in squares of the\n"
           "                       reference that follow its light and dark (texture\n"
           "                       transfer; the reference's colours, no network);\n"
           "                       noise: the sampler redraws the image from noise of\n"
           "                       std --strength, keeping its colour layout.  Default:\n"
           "                       patches for one reference, else noise\n"
           "  --strength S         patches: in [0, 1], how little the image counts\n"
           "                       against the squares fitting each other (default %g);\n"
           "                       noise: the noise std, in (0, 4] (default %g; 0.1-0.3\n"
           "                       keeps the image's shapes, 1 and up its colours only)\n"
           "  --patch N            patches: side of the squares, >= 8; 0 (default): 1/8\n"
           "                       of the reference's smaller side (8..64)\n"
           "  --candidates K       patches: positions tried per square (default %d)\n"
           "  -o, --output FILE    output: .png (8-bit RGB; --16bit for 16) or .pfm\n"
           "  --16bit              16-bit PNG output\n"
           "  --free-colour        let the colours drift (the paper's sampler); default:\n"
           "                       the image's colour layout (its low frequencies) stays\n"
           "  --seed N             noise seed, 0..2^64-1 (default: random, printed)\n",
           (double)FGSD_TRANSFER_STRENGTH, (double)DEFAULT_STRENGTH,
           fgsd_patch_params_default().candidates);
    sampler_opts_help(FGSD_TASK_RESTYLE, 0);
    printf("Engine:\n%s", CLI_ENGINE_HELP);
    printf("  -h, --help           this text\n"
           "\n"
           "Exit status: 0 done, 1 error, 2 bad usage, 130 interrupted (nothing written).\n");
}

static int restyle(cli_engine *e, restyle_opts *o, const image *in, const fgsd_reference *ref,
                   image *out)
{
    fgsd_sample_stats stats = {0};
    fgsd_status st;

    o->sampler.p.free_colour = o->free_colour;
    o->sampler.p.ascending = !o->sampler.fixed_schedule;
    progress_phase(&e->prog, "restyling");
    st = fgsd_restyle(e->session, ref, &o->sampler.p, in->rgb, in->width, in->height, out->rgb,
                      &stats);
    if (st != FGSD_OK)
        return cli_engine_failed(e, st, "restyling");
    progress_done(&e->prog);
    cli_engine_notice(e);
    if (e->verbose)
        sampler_stats_note(&stats, -1);
    return cli_engine_cancelled(e);
}

/* The image redrawn in squares of the one reference (no phi measured:
 * the network does not run). */
static int restyle_from_patches(cli_engine *e, restyle_opts *o, const image *in, image *out)
{
    image src;
    float *sel;
    fgsd_status st;
    int ret = reference_source(o->refs.v[0], o->mask, &src, &sel);

    if (ret != CLI_EXIT_OK)
        return ret;
    o->patch.seed = o->sampler.p.seed;
    progress_phase(&e->prog, "restyling");
    st = fgsd_restyle_from_patches(e->session, &o->patch, o->strength, in->rgb, in->width,
                                   in->height, src.rgb, sel, src.width, src.height, out->rgb);
    free(sel);
    image_free(&src);
    if (st != FGSD_OK)
        return cli_engine_failed(e, st, "restyling");
    progress_done(&e->prog);
    cli_engine_notice(e);
    return cli_engine_cancelled(e);
}

static int run(restyle_opts *o)
{
    image_write_options wo = {.png_16bit = o->bits16};
    image in = {0}, out = {0};
    fgsd_reference *ref = NULL;
    char err[512] = "";
    cli_engine e;
    int ret;

    if (image_read(o->in, &in, err, sizeof err) < 0) {
        cli_error("input: %s", err);
        return CLI_EXIT_ERROR;
    }
    o->sampler.p.free_colour = o->free_colour;
    /* patches: the engine's canvas, the image's luminance and marks, 17
     * bytes a pixel */
    if (cli_check_memory("image", in.width, in.height,
                         (o->start == START_PATCHES
                              ? (size_t)in.width * (size_t)in.height * 17
                              : fgsd_task_memory(FGSD_TASK_RESTYLE, &o->sampler.p, in.width,
                                                 in.height)) +
                             2 * CLI_IMAGE_BYTES(in.width, in.height)) != CLI_EXIT_OK ||
        image_alloc(&out, in.width, in.height, err, sizeof err) < 0) {
        if (!out.rgb && err[0])
            cli_error("%s", err);
        image_free(&in);
        return CLI_EXIT_ERROR;
    }
    cancel_install();
    ret = cli_engine_open(&e, &o->engine);
    if (ret != CLI_EXIT_OK)
        goto out_images;
    if (o->start == START_PATCHES) {
        ret = restyle_from_patches(&e, o, &in, &out);
    } else {
        ret = reference_load(&e, o->refs.v, NULL, o->refs.n, o->mask, &ref);
        if (ret == CLI_EXIT_OK)
            ret = restyle(&e, o, &in, ref, &out);
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
    image_free(&out);
    image_free(&in);
    return ret;
}

/* The start and its strength, defaults resolved; a usage error where they
 * do not fit. */
static int resolve_start(restyle_opts *o)
{
    if (o->start == START_DEFAULT)
        o->start = o->refs.n == 1 ? START_PATCHES : START_NOISE;
    if (o->start == START_PATCHES) {
        if (o->refs.n != 1)
            return args_usage_error("restyle", "--start patches takes exactly one --ref");
        if (o->free_colour)
            return args_usage_error("restyle", "--free-colour needs --start noise (patches "
                                               "take the reference's colours)");
        if (o->sampler.p.tileable)
            return args_usage_error("restyle", "--tileable needs --start noise (the patches "
                                               "do not wrap)");
        if (o->patch.patch > 0 && o->patch.patch < 8)
            return args_usage_error("restyle", "--patch is 0 (automatic) or at least 8");
        if (o->strength > 1.0f)
            return args_usage_error("restyle", "--start patches takes a --strength in [0, 1] "
                                               "(--start noise for the sampler's noise std)");
        o->strength = o->strength < 0.0f ? FGSD_TRANSFER_STRENGTH : o->strength;
        return CLI_EXIT_OK;
    }
    if (o->strength == 0.0f)
        return args_usage_error("restyle", "--start noise takes a --strength in (0, 4]");
    o->sampler.p.sigma0 = o->strength < 0.0f ? DEFAULT_STRENGTH : o->strength;
    return CLI_EXIT_OK;
}

int cmd_restyle(int argc, char **argv)
{
    restyle_opts o = {.strength = -1.0f, .patch = fgsd_patch_params_default()};
    const char *pos[1];
    int npos, ret;

    sampler_opts_init(&o.sampler, FGSD_TASK_RESTYLE);
    const arg_spec specs[] = {
        {.name = "--in", .alias = "-i", .type = ARG_STRING, .dest = &o.in},
        {.name = "--ref", .type = ARG_STRINGS, .dest = &o.refs},
        {.name = "--mask", .type = ARG_STRING, .dest = &o.mask},
        {.name = "--strength", .type = ARG_FLOAT, .dest = &o.strength, .lo = 0, .hi = 4},
        {.name = "--start", .type = ARG_CHOICE, .dest = &o.start, .choices = start_names},
        {.name = "--patch", .type = ARG_INT, .dest = &o.patch.patch, .lo = 0,
         .hi = FGSD_MAX_SIDE},
        {.name = "--candidates", .type = ARG_INT, .dest = &o.patch.candidates, .lo = 1,
         .hi = FGSD_MAX_PATCH_CANDIDATES},
        {.name = "--output", .alias = "-o", .type = ARG_STRING, .dest = &o.out},
        {.name = "--16bit", .type = ARG_FLAG, .dest = &o.bits16},
        {.name = "--free-colour", .type = ARG_FLAG, .dest = &o.free_colour},
        CLI_SAMPLER_ARGS(&o.sampler),
        CLI_ENGINE_ARGS(&o.engine),
        {0},
    };

    switch (args_parse("restyle", argc, argv, specs, pos, 0, &npos)) {
    case ARGS_HELP:
        print_help();
        return CLI_EXIT_OK;
    case ARGS_USAGE:
        return CLI_EXIT_USAGE;
    case ARGS_OK:
        break;
    }
    if (!o.in)
        return args_usage_error("restyle", "--in IMAGE is required");
    if (!o.refs.n)
        return args_usage_error("restyle", "--ref is required");
    if (!o.out)
        return args_usage_error("restyle", "-o OUT is required");
    ret = resolve_start(&o);
    if (ret == CLI_EXIT_OK)
        ret = cli_check_output(o.out);
    if (ret != CLI_EXIT_OK)
        return ret;
    if (!o.sampler.seed_given)
        o.sampler.p.seed = sampler_random_seed();
    return run(&o);
}
