/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Sampler options: defaults, help and the random seed (see sampler_opts.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "sampler_opts.h"

#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

void sampler_opts_init(cli_sampler_opts *o, fgsd_task task)
{
    o->task = task;
    o->p = fgsd_sampler_params_default(task);
    o->fixed_schedule = !o->p.ascending;
    o->seed_given = 0;
    o->any_given = 0;
}

void sampler_stats_note(const fgsd_sample_stats *stats, double seconds)
{
    if (seconds >= 0)
        cli_note("%d steps, final sigma %.4g, %d tile%s per pass, %.2f s", stats->steps,
                 (double)stats->final_sigma, stats->tiles, stats->tiles == 1 ? "" : "s", seconds);
    else
        cli_note("%d steps, final sigma %.4g, %d tile%s per pass", stats->steps,
                 (double)stats->final_sigma, stats->tiles, stats->tiles == 1 ? "" : "s");
}

void sampler_seed_note(const cli_sampler_opts *o, int quiet)
{
    if (!o->seed_given && !quiet)
        cli_note("seed %" PRIu64 " (repeat with --seed %" PRIu64 ")", o->p.seed, o->p.seed);
}

uint64_t sampler_random_seed(void)
{
    struct timespec ts;
    uint64_t z;

    clock_gettime(CLOCK_REALTIME, &ts);
    z = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    z ^= (uint64_t)getpid() << 40;
    /* splitmix64's finaliser, so that close clock readings give unrelated
     * seeds. */
    z ^= z >> 30;
    z *= 0xBF58476D1CE4E5B9u;
    z ^= z >> 27;
    z *= 0x94D049BB133111EBu;
    z ^= z >> 31;
    return z & 0xffffffffu;
}

void sampler_opts_help(fgsd_task task, int with_sigma0)
{
    fgsd_sampler_params d = fgsd_sampler_params_default(task);

    printf("Sampler (paper Algorithm 1):\n");
    printf("  --h H                step size h0, in (0, 1) (default %g; 0.01-0.05 usual)\n",
           (double)d.h0);
    printf("  --beta B             injected-noise control, in (0, 1] (default %g; smaller\n"
           "                       = more noise injected: slower, more diverse)\n",
           (double)d.beta);
    if (with_sigma0)
        printf("  --sigma0 S           initial noise std, in [0, 4] (default %g)\n",
               (double)d.sigma0);
    printf("  --sigma-final S      stop when the noise estimate falls below S, in (0, 1)\n"
           "                       (default %g)\n",
           (double)d.sigma_final);
    printf("  --fixed-schedule     fixed step h = h0 (default: ascending\n"
           "                       h_t = h0 t / (1 + h0 (t - 1)))\n");
    printf("  --max-steps N        step cap, 1..%d (default %d)\n", CLI_MAX_STEPS, d.max_steps);
    printf("  --tileable           output that tiles seamlessly (wrap-around)\n");
}
