/* SPDX-License-Identifier: GPL-3.0-or-later
 * What a task keeps in memory at full size, and what the machine still
 * offers: the front ends refuse a size that cannot fit before they start,
 * since Linux overcommits and a canvas too large for the machine is not
 * refused by malloc but ends in the OOM killer. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fgsd.h"

size_t fgsd_task_memory(fgsd_task task, const fgsd_sampler_params *params, int width, int height)
{
    /* Full-size float images of the sampler (sampler_sisa.c): x, D(x), the
     * best D(x), one channel of the noise; one channel for the colour
     * lock's low-pass; D0 with guidance.  (A backend that draws the noise
     * on its device keeps the whole draw on the host too: 3 more.)
     * Activations are not counted: they stay within the session's memory
     * budget (tiles).  On a backend that keeps the sampler's images
     * (sampler_device.c, the GPU's) they lie there and the host keeps
     * one, the start: this is then an upper bound. */
    double floats = 3.0 * 3.0 + 1.0;
    int keep_low = !params || !params->free_colour;

    if (keep_low)
        floats += 1.0;
    if (params && params->guidance > 1.0f)
        floats += 3.0;
    switch (task) {
    case FGSD_TASK_HEAL:
        /* heal.c: the region, its keep mask, the band and the result. */
        floats += 3.0 + 1.0 + 1.0 + 3.0;
        break;
    case FGSD_TASK_SYNTHESIZE:
        /* tasks.c: with levels, the finer level's start (3) and the level
         * above (3/4). */
        if (params && params->levels > 1)
            floats += 3.0 + 0.75;
        break;
    default:
        break;
    }
    return (size_t)((double)width * (double)height * floats * sizeof(float));
}

/* MemAvailable + SwapFree of /proc/meminfo in bytes; 0 when unknown. */
static double system_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    double kib = 0.0, v;
    int found = 0;

    if (!f)
        return 0.0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "MemAvailable: %lf kB", &v) == 1 ||
            sscanf(line, "SwapFree: %lf kB", &v) == 1) {
            kib += v;
            found++;
        }
    }
    fclose(f);
    return found == 2 ? kib * 1024.0 : 0.0;
}

/* What RLIMIT_AS (ulimit -v) still allows this process; 0 when unlimited. */
static double rlimit_available(void)
{
    struct rlimit rl;
    FILE *f;
    double used_pages = 0.0;

    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 0.0;
    f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lf", &used_pages) != 1)
            used_pages = 0.0;
        fclose(f);
    }
    used_pages *= (double)sysconf(_SC_PAGESIZE);
    return (double)rl.rlim_cur > used_pages ? (double)rl.rlim_cur - used_pages : 1.0;
}

size_t fgsd_memory_available(int *address_space_limited)
{
    double sys = system_available(), lim = rlimit_available(), avail = sys;
    int limited = 0;

    if (lim > 0.0 && (avail <= 0.0 || lim < avail)) {
        avail = lim;
        limited = 1;
    }
    if (address_space_limited)
        *address_space_limited = limited;
    return avail > (double)SIZE_MAX ? SIZE_MAX : (size_t)avail;
}
