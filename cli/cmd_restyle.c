/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * `fgsd restyle`: redraw an image in the texture of one or more references.
 * The sampler starts from the image plus noise of std --strength (method.md
 * section 5, last paragraph; the paper's appendix figures 12-13): a low
 * strength keeps the image's structure and adds the reference's fine detail,
 * a high one keeps little but the colour layout and follows the reference.
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

typedef struct restyle_opts {
    cli_engine_opts engine;
    cli_sampler_opts sampler;
    arg_strings refs;
    const char *in;
    const char *mask;
    const char *out;
    int bits16;
    int free_colour;
} restyle_opts;

static void print_help(void)
{
    printf("Usage: fgsd restyle --in IMAGE --ref REF [--ref REF ...] [OPTIONS] -o OUT\n"
           "\n"
           "Redraw IMAGE in the texture of the reference(s): the sampler starts from the\n"
           "image with noise of std --strength added.  Low strength (0.1-0.3) keeps the\n"
           "image's structure and adds the reference's detail; high strength (1 and up)\n"
           "keeps little more than its colour layout.\n"
           "\n"
           "  --in IMAGE           the image to restyle (PNG or PFM)\n"
           "  --ref IMAGE          reference (PNG or PFM; its alpha is a mask); several:\n"
           "                       the centroid of their features\n"
           "  --mask IMAGE         selection in the reference(s) (white counts)\n"
           "  --strength S         noise std added to the image, in (0, 4] (default %g)\n"
           "  -o, --output FILE    output: .png (8-bit RGB; --16bit for 16) or .pfm\n"
           "  --16bit              16-bit PNG output\n"
           "  --free-colour        let the colours drift (the paper's sampler); default:\n"
           "                       the image's colour layout (its low frequencies) stays\n"
           "  --seed N             noise seed, 0..2^64-1 (default: random, printed)\n",
           (double)DEFAULT_STRENGTH);
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
    if (cli_check_memory("image", in.width, in.height,
                         fgsd_task_memory(FGSD_TASK_RESTYLE, &o->sampler.p, in.width,
                                          in.height) +
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
    ret = reference_load(&e, o->refs.v, NULL, o->refs.n, o->mask, &ref);
    if (ret == CLI_EXIT_OK)
        ret = restyle(&e, o, &in, ref, &out);
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

int cmd_restyle(int argc, char **argv)
{
    restyle_opts o = {0};
    const char *pos[1];
    int npos, ret;

    sampler_opts_init(&o.sampler, FGSD_TASK_RESTYLE);
    o.sampler.p.sigma0 = DEFAULT_STRENGTH;
    const arg_spec specs[] = {
        {.name = "--in", .alias = "-i", .type = ARG_STRING, .dest = &o.in},
        {.name = "--ref", .type = ARG_STRINGS, .dest = &o.refs},
        {.name = "--mask", .type = ARG_STRING, .dest = &o.mask},
        {.name = "--strength", .type = ARG_FLOAT, .dest = &o.sampler.p.sigma0, .lo = 0,
         .hi = 4, .open = ARG_OPEN_LO},
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
    ret = cli_check_output(o.out);
    if (ret != CLI_EXIT_OK)
        return ret;
    if (!o.sampler.seed_given)
        o.sampler.p.seed = sampler_random_seed();
    return run(&o);
}
