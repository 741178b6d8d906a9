/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * `fgsd denoise`: remove noise from an image, optionally guided by a
 * reference.
 *
 * Without --iterate: one pass of the blind denoiser, D(x; phi_ref) (or the
 * unconditioned D(x) without --ref).  With --iterate: the sampler started
 * from the noisy image itself (init = image, sigma0 = 0; method.md section
 * 5, last paragraph), which walks down to --sigma-final and so removes
 * strong noise better than a single pass, adding detail of the reference.
 *
 * The denoiser is blind: it measures the noise itself.  --sigma is
 * therefore never fed to the engine; it is compared with the network's
 * estimate ||x - D(x)|| / sqrt(d), and a large disagreement is reported
 * (it usually means the image's values are not in [0, 1] units, or the
 * noise is not Gaussian).
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"
#include "engine_ctx.h"
#include "image_io.h"
#include "reference.h"
#include "sampler_opts.h"

#include <stdio.h>
#include <stdlib.h>

/* Estimate and --sigma further apart than this factor are reported. */
#define SIGMA_MISMATCH 2.0f

typedef struct denoise_opts {
    cli_engine_opts engine;
    cli_sampler_opts sampler;
    const char *in;
    const char *ref;
    const char *mask;
    const char *out;
    float sigma;
    int sigma_given;
    int iterate;
    int free_colour;
    int bits16;
} denoise_opts;

static void print_help(void)
{
    printf("Usage: fgsd denoise --in NOISY [--ref IMAGE] [--iterate] [OPTIONS] -o OUT\n"
           "\n"
           "Denoise an image (PNG or PFM, values in [0, 1] units; noisy PFM values may\n"
           "leave that range).  Without --iterate: one pass of the denoiser D(x; phi),\n"
           "conditioned on --ref or unconditioned without it.  With --iterate: the\n"
           "sampler started from the noisy image (no noise added), which steps down to\n"
           "--sigma-final; better on strong noise, and it adds detail of the reference.\n"
           "\n"
           "  --in IMAGE           the noisy image\n"
           "  --ref IMAGE          reference to follow (its alpha is a mask)\n"
           "  --mask IMAGE         selection in the reference (white counts)\n"
           "  --sigma S            the noise std you expect, in [0, 4] ([0, 1] units).\n"
           "                       The denoiser is blind and measures the noise itself:\n"
           "                       S is only compared with its estimate (printed), and a\n"
           "                       disagreement beyond a factor 2 is reported.  With\n"
           "                       --iterate the estimate is always printed.\n"
           "  --iterate            run the sampler from the image instead of one pass\n"
           "  --free-colour        with --iterate: let the colours drift (the paper's\n"
           "                       sampler); default: the image's low frequencies stay\n"
           "  -o, --output FILE    output: .png (8-bit RGB; --16bit for 16) or .pfm\n"
           "  --16bit              16-bit PNG output\n"
           "  --seed N             seed of the noise the sampler injects (default 0, so\n"
           "                       that denoising is repeatable)\n");
    printf("Sampler, with --iterate:\n");
    sampler_opts_help(FGSD_TASK_DENOISE, 0);
    printf("Engine:\n%s", CLI_ENGINE_HELP);
    printf("  -h, --help           this text\n"
           "\n"
           "Exit status: 0 done, 1 error, 2 bad usage, 130 interrupted (nothing written).\n");
}

/* Estimates the noise level, prints it, and compares it with --sigma. */
static int report_sigma(cli_engine *e, const denoise_opts *o, const image *in)
{
    float est = 0.0f;
    fgsd_status st;

    progress_phase(&e->prog, "estimating noise");
    st = fgsd_estimate_sigma(e->session, in->rgb, in->width, in->height, &est);
    if (st != FGSD_OK)
        return cli_engine_failed(e, st, "estimating the noise level");
    progress_done(&e->prog);
    if (o->sigma_given) {
        if (!e->quiet)
            cli_note("noise sigma: network estimate %.4g, --sigma %.4g", (double)est,
                     (double)o->sigma);
        if (est > o->sigma * SIGMA_MISMATCH || est * SIGMA_MISMATCH < o->sigma)
            cli_warning("the network estimates sigma %.4g, far from --sigma %.4g; the "
                        "denoiser uses its own estimate",
                        (double)est, (double)o->sigma);
    } else if (!e->quiet) {
        cli_note("noise sigma: network estimate %.4g", (double)est);
    }
    if (o->iterate && est < o->sampler.p.sigma_final && !e->quiet)
        cli_note("the estimate is already below --sigma-final %.4g: one pass only",
                 (double)o->sampler.p.sigma_final);
    return CLI_EXIT_OK;
}

static int denoise(cli_engine *e, denoise_opts *o, const image *in, const fgsd_reference *ref,
                   image *out)
{
    fgsd_sample_stats stats = {0};
    fgsd_status st;

    if (!o->iterate) {
        progress_phase(&e->prog, "denoising");
        st = fgsd_denoise(e->session, ref, in->rgb, in->width, in->height, out->rgb);
        if (st != FGSD_OK)
            return cli_engine_failed(e, st, "denoising");
        progress_done(&e->prog);
        cli_engine_notice(e);
        return CLI_EXIT_OK;
    }
    o->sampler.p.free_colour = o->free_colour;
    o->sampler.p.ascending = !o->sampler.fixed_schedule;
    progress_phase(&e->prog, "denoising");
    st = fgsd_denoise_iterate(e->session, ref, &o->sampler.p, in->rgb, in->width, in->height,
                              out->rgb, &stats);
    if (st != FGSD_OK)
        return cli_engine_failed(e, st, "denoising");
    progress_done(&e->prog);
    cli_engine_notice(e);
    if (e->verbose)
        sampler_stats_note(&stats, -1);
    return CLI_EXIT_OK;
}

static int run(denoise_opts *o)
{
    image_write_options wo = {.png_16bit = o->bits16};
    image in = {0}, out = {0};
    fgsd_reference *ref = NULL;
    char err[512];
    cli_engine e;
    int ret;

    if (image_read(o->in, &in, err, sizeof err) < 0) {
        cli_error("input: %s", err);
        return CLI_EXIT_ERROR;
    }
    o->sampler.p.free_colour = o->free_colour;
    if (cli_check_memory("image", in.width, in.height,
                         (o->iterate ? fgsd_task_memory(FGSD_TASK_DENOISE, &o->sampler.p,
                                                        in.width, in.height)
                                     : 0) +
                             2 * CLI_IMAGE_BYTES(in.width, in.height)) != CLI_EXIT_OK) {
        image_free(&in);
        return CLI_EXIT_ERROR;
    }
    if (image_alloc(&out, in.width, in.height, err, sizeof err) < 0) {
        cli_error("%s", err);
        image_free(&in);
        return CLI_EXIT_ERROR;
    }
    cancel_install();
    ret = cli_engine_open(&e, &o->engine);
    if (ret != CLI_EXIT_OK)
        goto out_images;
    if (o->ref) {
        ret = reference_load(&e, &o->ref, NULL, 1, o->mask, &ref);
        if (ret != CLI_EXIT_OK)
            goto out;
    }
    if (o->iterate || o->sigma_given || o->engine.verbose) {
        ret = report_sigma(&e, o, &in);
        if (ret == CLI_EXIT_OK)
            ret = cli_engine_cancelled(&e);
        if (ret != CLI_EXIT_OK)
            goto out;
    }
    ret = denoise(&e, o, &in, ref, &out);
    if (ret == CLI_EXIT_OK)
        ret = cli_engine_cancelled(&e);
    if (ret != CLI_EXIT_OK)
        goto out;
    if (image_write(o->out, &out, &wo, err, sizeof err) < 0) {
        cli_error("%s", err);
        ret = CLI_EXIT_ERROR;
    }
out:
    fgsd_reference_free(ref);
    cli_engine_close(&e);
out_images:
    image_free(&out);
    image_free(&in);
    return ret;
}

int cmd_denoise(int argc, char **argv)
{
    denoise_opts o = {0};
    const char *pos[1];
    int npos, ret;

    sampler_opts_init(&o.sampler, FGSD_TASK_DENOISE);
    /* Repeatable by default: a denoiser that gives a different answer on
     * every run surprises more than it helps. */
    o.sampler.p.seed = 0;
    const arg_spec specs[] = {
        {.name = "--in", .alias = "-i", .type = ARG_STRING, .dest = &o.in},
        {.name = "--ref", .type = ARG_STRING, .dest = &o.ref},
        {.name = "--mask", .type = ARG_STRING, .dest = &o.mask},
        {.name = "--sigma", .type = ARG_FLOAT, .dest = &o.sigma, .lo = 0, .hi = 4,
         .given = &o.sigma_given},
        {.name = "--iterate", .type = ARG_FLAG, .dest = &o.iterate},
        {.name = "--free-colour", .type = ARG_FLAG, .dest = &o.free_colour,
         .given = &o.sampler.any_given},
        {.name = "--output", .alias = "-o", .type = ARG_STRING, .dest = &o.out},
        {.name = "--16bit", .type = ARG_FLAG, .dest = &o.bits16},
        CLI_SAMPLER_ARGS(&o.sampler),
        CLI_ENGINE_ARGS(&o.engine),
        {0},
    };

    switch (args_parse("denoise", argc, argv, specs, pos, 0, &npos)) {
    case ARGS_HELP:
        print_help();
        return CLI_EXIT_OK;
    case ARGS_USAGE:
        return CLI_EXIT_USAGE;
    case ARGS_OK:
        break;
    }
    if (!o.in)
        return args_usage_error("denoise", "--in NOISY is required");
    if (!o.out)
        return args_usage_error("denoise", "-o OUT is required");
    if (o.mask && !o.ref)
        return args_usage_error("denoise", "--mask needs a --ref");
    /* One pass has no steps: a sampler option there is a mistake to point
     * out, not to ignore. */
    if (!o.iterate && (o.sampler.any_given || o.sampler.seed_given))
        return args_usage_error("denoise", "sampler options (--h, --beta, --sigma-final, "
                                           "--fixed-schedule, --max-steps, --seed, --tileable, "
                                           "--free-colour) "
                                           "need --iterate");
    ret = cli_check_output(o.out);
    if (ret != CLI_EXIT_OK)
        return ret;
    return run(&o);
}
