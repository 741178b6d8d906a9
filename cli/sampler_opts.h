/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The sampler's options (method.md section 5) as command-line options,
 * shared by synth, interpolate and denoise --iterate.
 */
#ifndef FGSD_CLI_SAMPLER_OPTS_H
#define FGSD_CLI_SAMPLER_OPTS_H

#include "args.h"

#include <fgsd.h>
#include <stdint.h>

typedef struct cli_sampler_opts {
    fgsd_task task;
    fgsd_sampler_params p; /* starts as fgsd_sampler_params_default(task) */
    int fixed_schedule;
    int seed_given;
    int any_given; /* 1 when any sampler option (except --sigma0) appeared */
} cli_sampler_opts;

/* Fills o with the engine's defaults for task. */
void sampler_opts_init(cli_sampler_opts *o, fgsd_task task);

/* A seed from the clock and the process id, for runs without --seed; kept
 * below 2^32 so that it is easy to copy from the log. */
uint64_t sampler_random_seed(void);

/* -v's line after a run: steps, final sigma, tiles per pass, and the time
 * when seconds >= 0. */
void sampler_stats_note(const fgsd_sample_stats *stats, double seconds);

/* After a successful run without --seed: the seed that repeats it (nothing
 * when quiet or when --seed was given). */
void sampler_seed_note(const cli_sampler_opts *o, int quiet);

/* Prints the sampler options' help, with the engine's defaults. */
void sampler_opts_help(fgsd_task task, int with_sigma0);

/* The engine's step cap (sampler_sisa.c; fgsd.h says only ">= 1"). */
#define CLI_MAX_STEPS FGSD_MAX_STEPS

/* The ranges are the engine's documented ones (fgsd.h). */
#define CLI_SAMPLER_ARGS(o)                                                                      \
    {.name = "--h", .type = ARG_FLOAT, .dest = &(o)->p.h0, .lo = 0, .hi = 1,                     \
     .open = ARG_OPEN_LO | ARG_OPEN_HI, .given = &(o)->any_given},                                \
        {.name = "--beta", .type = ARG_FLOAT, .dest = &(o)->p.beta, .lo = 0, .hi = 1,            \
         .open = ARG_OPEN_LO, .given = &(o)->any_given},                                          \
        {.name = "--sigma-final", .type = ARG_FLOAT, .dest = &(o)->p.sigma_final, .lo = 0,       \
         .hi = 1, .open = ARG_OPEN_LO | ARG_OPEN_HI, .given = &(o)->any_given},                   \
        {.name = "--fixed-schedule", .type = ARG_FLAG, .dest = &(o)->fixed_schedule,             \
         .given = &(o)->any_given},                                                               \
        {.name = "--max-steps", .type = ARG_INT, .dest = &(o)->p.max_steps, .lo = 1,             \
         .hi = CLI_MAX_STEPS, .given = &(o)->any_given},                                          \
        {.name = "--seed", .type = ARG_U64, .dest = &(o)->p.seed, .given = &(o)->seed_given},    \
        {.name = "--tileable", .type = ARG_FLAG, .dest = &(o)->p.tileable,                       \
         .given = &(o)->any_given}

#define CLI_SIGMA0_ARG(o)                                                                        \
    {.name = "--sigma0", .type = ARG_FLOAT, .dest = &(o)->p.sigma0, .lo = 0, .hi = 4}

#endif
