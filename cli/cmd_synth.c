/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * `fgsd synth` and `fgsd interpolate`: draw a new texture conditioned on the
 * features of one or more references (method.md sections 2 and 5).  The two
 * differ only in how the references' phi vectors are weighted: equally (the
 * class centroid) or by --weight (interpolation, a convex blend).
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"
#include "engine_ctx.h"
#include "image_io.h"
#include "reference.h"
#include "sampler_opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define DEFAULT_SIDE 512

/* --start: where the sampler starts (docs/design.md "Patch start"). */
enum { START_DEFAULT, START_PATCHES, START_NOISE };
static const char *const start_names[] = {"default", "patches", "noise", NULL};

typedef struct synth_opts {
    cli_engine_opts engine;
    cli_sampler_opts sampler;
    arg_strings refs;
    arg_floats weights;
    const char *mask;
    const char *out;
    int size[2];
    int bits16;
    int unconditioned;
    int free_colour;
    float guidance;
    const char *guide_model;
    int start;
    fgsd_patch_params patch;
    float strength;
} synth_opts;

static void print_help(int interpolate)
{
    if (interpolate)
        printf("Usage: fgsd interpolate --ref A --ref B --weight a [OPTIONS] -o OUT\n"
               "       fgsd interpolate --ref A --weight wa --ref B --weight wb ... -o OUT\n"
               "\n"
               "Draw a texture between several references.  With two references and one\n"
               "--weight a, A weighs a and B 1 - a.  Otherwise give one --weight per --ref,\n"
               "in the same order; they are normalised to sum to 1.\n"
               "\n"
               "  --ref IMAGE          a reference (PNG or PFM; its alpha is a mask)\n"
               "  --weight W           weight, in [0, 1]\n"
               "  --start noise|patches  noise (default): the sampler draws one texture\n"
               "                       that follows the blend of their feature vectors;\n"
               "                       patches: a mixture, each reference's own squares\n"
               "                       over its weight's share of the canvas, in regions a\n"
               "                       few squares wide (not with --tileable, --guidance or\n"
               "                       --levels)\n"
               "  --patch N            side of the squares, >= 8; 0 (default): 3/8 of the\n"
               "                       smallest reference's smaller side, within 8..128\n"
               "  --candidates K       positions tried per square, 1..%d (default %d)\n",
               FGSD_MAX_PATCH_CANDIDATES, fgsd_patch_params_default().candidates);
    else
        printf("Usage: fgsd synth --ref IMAGE [--ref IMAGE ...] [OPTIONS] -o OUT\n"
               "\n"
               "Draw a new texture like the reference(s).  Several references: the sampler\n"
               "follows the mean (centroid) of their feature vectors.\n"
               "\n"
               "  --ref IMAGE          reference (PNG or PFM; its alpha is a mask)\n"
               "  --unconditioned      no reference: a sample of the model's prior\n"
               "  --start patches|noise  patches: quilt squares of the reference into the\n"
               "                       canvas, then let the sampler redraw it with\n"
               "                       --strength; noise: the sampler draws from noise\n"
               "                       (--sigma0).  Default: patches for one reference,\n"
               "                       noise with several, --unconditioned, --tileable,\n"
               "                       --guidance or --levels\n"
               "  --patch N            side of the squares, >= 8; 0 (default): 3/8 of the\n"
               "                       reference's smaller side, within 8..128\n"
               "  --candidates K       positions tried per square, 1..%d (default %d)\n"
               "  --strength S         patches: the noise the sampler redraws from, in\n"
               "                       [0, 4]; 0 = the quilt alone (default %g)\n",
               FGSD_MAX_PATCH_CANDIDATES,
               fgsd_patch_params_default().candidates, (double)FGSD_PATCH_STRENGTH);
    printf("  --mask IMAGE         selection in the reference(s): white counts, black does\n"
           "                       not; multiplies their alpha; same size as each reference\n"
           "  --size WxH           output size, each side 8..%d (default %dx%d)\n"
           "  -o, --output FILE    output: .png (8-bit RGB; --16bit for 16) or .pfm (float,\n"
           "                       unclipped)\n"
           "  --16bit              16-bit PNG output\n"
           "  --free-colour        start at the model's data mean and let the colour\n"
           "                       drift (the paper's sampler); default: start at the\n"
           "                       references' mean colour and keep it\n"
           "  --seed N             noise seed, 0..2^64-1 (default: random, printed on\n"
           "                       stderr at the end so that the run can be repeated)\n"
           "  --guidance W         classifier-free guidance on top: D0 + W (D - D0), D0\n"
           "                       the unconditional denoiser; 0 (default) none, else\n"
           "                       1..8; 1.15-1.25 worth trying (docs/quality.md);\n"
           "                       one more pass per step\n"
           "  --guide-model FILE   model giving D0 (e.g. the baseline uncond.fgsd);\n"
           "                       default: the model without its projection\n"
           "  --levels N           coarse to fine: draw at 1/2^(N-1) of the size from the\n"
           "                       reference shrunk as much first, then each finer level\n"
           "                       from the one above; 1..%d (default 1: one level)\n",
           FGSD_MAX_SIDE, DEFAULT_SIDE, DEFAULT_SIDE, FGSD_MAX_SAMPLER_LEVELS);
    sampler_opts_help(FGSD_TASK_SYNTHESIZE, 1);
    printf("Engine:\n%s", CLI_ENGINE_HELP);
    printf("  -h, --help           this text\n"
           "\n"
           "Exit status: 0 done, 1 error, 2 bad usage, 130 interrupted (nothing written).\n");
}

/* The weights of the blend, per the rules in the help text. */
static int blend_weights(const synth_opts *o, const char *cmd, float *w)
{
    const arg_floats *ws = &o->weights;
    double sum = 0.0;

    if (o->refs.n < 2)
        return args_usage_error(cmd, "interpolate needs at least two --ref");
    if (o->refs.n == 2 && ws->n == 1) {
        w[0] = ws->v[0];
        w[1] = 1.0f - ws->v[0];
        return CLI_EXIT_OK;
    }
    if (ws->n != o->refs.n)
        return args_usage_error(cmd, "give one --weight per --ref (or one --weight a for "
                                     "exactly two: a for the first, 1 - a for the second)");
    for (int i = 0; i < ws->n; i++) {
        w[i] = ws->v[i];
        sum += ws->v[i];
    }
    if (!(sum > 0.0))
        return args_usage_error(cmd, "the weights sum to 0");
    return CLI_EXIT_OK;
}

/* The start the options ask for, the default resolved: patches for synth
 * from one reference, unless the run is tileable, guided or coarse to
 * fine; noise for an interpolation (a texture between the references; its
 * patches are a mixture of them, docs/quality.md "(d) Interpolation"). */
static int start_of(const synth_opts *o, int interpolate)
{
    if (o->start != START_DEFAULT)
        return o->start;
    return o->refs.n == 1 && !interpolate && !o->sampler.p.tileable &&
                   !(o->guidance > 0.0f) && o->sampler.p.levels == 1
               ? START_PATCHES
               : START_NOISE;
}

static int check_options(const synth_opts *o, const char *cmd, int interpolate, float *w)
{
    if (!o->out)
        return args_usage_error(cmd, "-o OUT is required");
    if (interpolate) {
        int ret = blend_weights(o, cmd, w);
        if (ret != CLI_EXIT_OK)
            return ret;
    } else if (o->unconditioned && o->refs.n) {
        return args_usage_error(cmd, "--unconditioned takes no --ref");
    } else if (!o->unconditioned && !o->refs.n) {
        return args_usage_error(cmd, "--ref is required (or --unconditioned)");
    }
    if (o->mask && !o->refs.n)
        return args_usage_error(cmd, "--mask needs a --ref");
    if (o->guidance > 0.0f && o->guidance < 1.0f)
        return args_usage_error(cmd, "--guidance is 0 (none) or 1..8");
    if (o->guidance > 0.0f && !o->refs.n)
        return args_usage_error(cmd, "--guidance needs a --ref (it guides towards it)");
    if (o->guide_model && !(o->guidance > 0.0f))
        return args_usage_error(cmd, "--guide-model needs --guidance W");
    if (start_of(o, interpolate) == START_PATCHES) {
        if (o->refs.n != 1 && !interpolate)
            return args_usage_error(cmd, "--start patches takes exactly one --ref (fgsd "
                                         "interpolate mixes several)");
        if (interpolate && (o->strength > 0.0f))
            return args_usage_error(cmd, "--strength needs fgsd synth: an interpolation from "
                                         "patches is not redrawn");
        if (o->sampler.p.tileable)
            return args_usage_error(cmd, "--start patches is not tileable: use --start noise");
        if (o->guidance > 0.0f)
            return args_usage_error(cmd, "--guidance needs --start noise");
        if (o->sampler.p.levels > 1)
            return args_usage_error(cmd, "--levels needs --start noise");
        if (o->patch.patch > 0 && o->patch.patch < 8)
            return args_usage_error(cmd, "--patch is 0 (automatic) or at least 8");
    }
    return cli_check_output(o->out);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* An interpolation from patches: every reference read with its selection,
 * then mixed with weights w. */
static int mix_patches(cli_engine *e, synth_opts *o, const float *w, float *out)
{
    int n = o->refs.n, ret = CLI_EXIT_OK;
    image *img = calloc((size_t)n, sizeof(image));
    float **sel = calloc((size_t)n, sizeof(float *));
    fgsd_patch_source *src = calloc((size_t)n, sizeof(fgsd_patch_source));
    fgsd_status st;

    if (!img || !sel || !src) {
        cli_error("out of memory");
        ret = CLI_EXIT_ERROR;
    }
    for (int i = 0; ret == CLI_EXIT_OK && i < n; i++) {
        ret = reference_source(o->refs.v[i], o->mask, &img[i], &sel[i]);
        if (ret == CLI_EXIT_OK)
            src[i] = (fgsd_patch_source){img[i].rgb, sel[i], img[i].width, img[i].height, w[i]};
    }
    if (ret == CLI_EXIT_OK) {
        o->patch.seed = o->sampler.p.seed;
        progress_phase(&e->prog, "sampling");
        st = fgsd_interpolate_from_patches(e->session, &o->patch, src, n, o->size[0],
                                           o->size[1], out);
        if (st != FGSD_OK)
            ret = cli_engine_failed(e, st, "sampling");
    }
    for (int i = 0; img && sel && i < n; i++) {
        image_free(&img[i]);
        free(sel[i]);
    }
    free(img);
    free(sel);
    free(src);
    return ret;
}

/* Runs the synthesis and writes the output.  ref NULL: unconditioned; w:
 * an interpolation's weights (NULL for synth). */
static int sample_and_write(cli_engine *e, synth_opts *o, const fgsd_reference *ref,
                            const float *w)
{
    image_write_options wo = {.png_16bit = o->bits16};
    fgsd_sample_stats stats = {0};
    image out;
    char err[512];
    double t0;
    fgsd_status st;
    int ret;

    if (image_alloc(&out, o->size[0], o->size[1], err, sizeof err) < 0) {
        cli_error("%s", err);
        return CLI_EXIT_ERROR;
    }
    o->sampler.p.ascending = !o->sampler.fixed_schedule;
    o->sampler.p.free_colour = o->free_colour;
    o->sampler.p.guidance = o->guidance;
    t0 = now_s();
    if (w && start_of(o, 1) == START_PATCHES) {
        ret = mix_patches(e, o, w, out.rgb);
        if (ret != CLI_EXIT_OK)
            goto out;
        st = FGSD_OK;
    } else if (start_of(o, 0) == START_PATCHES) {
        /* The image read once; its features only for a redraw. */
        fgsd_reference *redraw = NULL;
        image src;
        float *sel;

        ret = reference_source(o->refs.v[0], o->mask, &src, &sel);
        if (ret != CLI_EXIT_OK)
            goto out;
        if (o->strength > 0.0f)
            ret = reference_measure(e, o->refs.v[0], &src, sel, &redraw);
        if (ret == CLI_EXIT_OK) {
            o->sampler.p.sigma0 = o->strength;
            o->patch.seed = o->sampler.p.seed;
            progress_phase(&e->prog, "sampling");
            st = fgsd_synthesize_from_patches(e->session, redraw, &o->sampler.p, &o->patch,
                                              src.rgb, sel, src.width, src.height, o->size[0],
                                              o->size[1], out.rgb, &stats);
        }
        free(sel);
        image_free(&src);
        fgsd_reference_free(redraw);
        if (ret != CLI_EXIT_OK)
            goto out;
    } else {
        progress_phase(&e->prog, "sampling");
        st = fgsd_synthesize(e->session, ref, &o->sampler.p, o->size[0], o->size[1], out.rgb,
                             &stats);
    }
    if (st != FGSD_OK) {
        ret = cli_engine_failed(e, st, "sampling");
        goto out;
    }
    progress_done(&e->prog);
    cli_engine_notice(e);
    if (e->verbose)
        sampler_stats_note(&stats, now_s() - t0);
    ret = cli_engine_cancelled(e);
    if (ret != CLI_EXIT_OK)
        goto out;
    if (image_write(o->out, &out, &wo, err, sizeof err) < 0) {
        cli_error("%s", err);
        ret = CLI_EXIT_ERROR;
        goto out;
    }
    ret = CLI_EXIT_OK;
out:
    image_free(&out);
    return ret;
}

static int run(const char *cmd, int interpolate, int argc, char **argv)
{
    synth_opts o = {.size = {DEFAULT_SIDE, DEFAULT_SIDE},
                    .patch = fgsd_patch_params_default(),
                    .strength = FGSD_PATCH_STRENGTH};
    const char *pos[1];
    int npos, ret;
    float w[ARG_LIST_MAX];
    fgsd_reference *ref = NULL;
    cli_engine e, g = {0};
    cli_engine_opts gopts;

    sampler_opts_init(&o.sampler, FGSD_TASK_SYNTHESIZE);
    const arg_spec specs[] = {
        {.name = "--ref", .type = ARG_STRINGS, .dest = &o.refs},
        {.name = interpolate ? "--weight" : "--unconditioned",
         .type = interpolate ? ARG_FLOATS : ARG_FLAG,
         .dest = interpolate ? (void *)&o.weights : (void *)&o.unconditioned, .lo = 0, .hi = 1},
        {.name = "--mask", .type = ARG_STRING, .dest = &o.mask},
        {.name = "--size", .type = ARG_SIZE, .dest = o.size, .lo = 8, .hi = FGSD_MAX_SIDE},
        {.name = "--output", .alias = "-o", .type = ARG_STRING, .dest = &o.out},
        {.name = "--16bit", .type = ARG_FLAG, .dest = &o.bits16},
        {.name = "--free-colour", .type = ARG_FLAG, .dest = &o.free_colour},
        {.name = "--guidance", .type = ARG_FLOAT, .dest = &o.guidance, .lo = 0, .hi = 8},
        {.name = "--guide-model", .type = ARG_STRING, .dest = &o.guide_model},
        {.name = "--levels", .type = ARG_INT, .dest = &o.sampler.p.levels, .lo = 1,
         .hi = FGSD_MAX_SAMPLER_LEVELS},
        {.name = "--start", .type = ARG_CHOICE, .dest = &o.start, .choices = start_names},
        {.name = "--patch", .type = ARG_INT, .dest = &o.patch.patch, .lo = 0,
         .hi = FGSD_MAX_SIDE},
        {.name = "--candidates", .type = ARG_INT, .dest = &o.patch.candidates, .lo = 1,
         .hi = FGSD_MAX_PATCH_CANDIDATES},
        {.name = "--strength", .type = ARG_FLOAT, .dest = &o.strength, .lo = 0, .hi = 4},
        CLI_SAMPLER_ARGS(&o.sampler),
        CLI_SIGMA0_ARG(&o.sampler),
        CLI_ENGINE_ARGS(&o.engine),
        {0},
    };

    switch (args_parse(cmd, argc, argv, specs, pos, 0, &npos)) {
    case ARGS_HELP:
        print_help(interpolate);
        return CLI_EXIT_OK;
    case ARGS_USAGE:
        return CLI_EXIT_USAGE;
    case ARGS_OK:
        break;
    }
    ret = check_options(&o, cmd, interpolate, w);
    if (ret != CLI_EXIT_OK)
        return ret;
    if (!o.sampler.seed_given)
        o.sampler.p.seed = sampler_random_seed();
    o.sampler.p.free_colour = o.free_colour;
    o.sampler.p.guidance = o.guidance;
    ret = cli_check_memory("result", o.size[0], o.size[1],
                           fgsd_task_memory(FGSD_TASK_SYNTHESIZE, &o.sampler.p, o.size[0],
                                            o.size[1]) +
                               CLI_IMAGE_BYTES(o.size[0], o.size[1]));
    if (ret != CLI_EXIT_OK)
        return ret;

    cancel_install();
    ret = cli_engine_open(&e, &o.engine);
    if (ret != CLI_EXIT_OK)
        return ret;
    e.reference_scales = o.sampler.p.levels; /* coarse to fine: one phi per level */
    if (o.guide_model) {
        /* The guide runs with the same engine settings, silently: its
         * passes are part of the sampler's steps. */
        gopts = o.engine;
        gopts.model = o.guide_model;
        gopts.verbose = 0;
        gopts.quiet = 1;
        ret = cli_engine_open(&g, &gopts);
        if (ret != CLI_EXIT_OK)
            goto out;
    }
    /* A patch start reads its references itself (sample_and_write). */
    if (o.refs.n && start_of(&o, interpolate) != START_PATCHES) {
        ret = reference_load(&e, o.refs.v, interpolate ? w : NULL, o.refs.n, o.mask, &ref);
        if (ret != CLI_EXIT_OK)
            goto out;
    }
    fgsd_session_set_guide(e.session, g.session);
    ret = sample_and_write(&e, &o, ref, interpolate ? w : NULL);
    /* Said after success only, so that an error stays the one line on
     * stderr; a run that failed has nothing to repeat. */
    if (ret == CLI_EXIT_OK)
        sampler_seed_note(&o.sampler, o.engine.quiet);
out:
    fgsd_reference_free(ref);
    cli_engine_close(&g);
    cli_engine_close(&e);
    return ret;
}

int cmd_synth(int argc, char **argv)
{
    return run("synth", 0, argc, argv);
}

int cmd_interpolate(int argc, char **argv)
{
    return run("interpolate", 1, argc, argv);
}
