/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * bench_engine: times the engine through its public API only (fgsd.h).
 *
 *   bench_engine --model M (--denoise SIZE | --sample SIZE) [options]
 *
 * One measurement per process, so that the peak RSS it prints belongs to that
 * measurement alone; bench/run.py starts one process per measurement and
 * interleaves them with bench/bench_torch.py.  Prints one JSON object on one
 * line (stdout); errors go to stderr with exit status 1 (2 for usage).
 *
 * --denoise SIZE   fgsd_denoise passes on a SIZE image (N or WxH)
 * --sample SIZE    fgsd_synthesize of a SIZE image with exactly --steps passes
 *                  (sigma_final tiny, max_steps = steps)
 * --threads T      session threads (default 1; 0 = all cores)
 * --backend B      auto|cpu|cuda|reference (default cpu)
 * --budget MIB     session memory budget in MiB (default 0: the engine's)
 * --max-tile N     session max_tile (default 0)
 * --reps N         timed repetitions (default 5; each a full call)
 * --warmup N       untimed calls first (default 1: primitive creation, JIT)
 * --steps N        sampler passes (default 20)
 * --unconditioned  phi = NULL (default: a fixed phi when the model is
 *                  conditioned, the same one bench_torch.py uses)
 *
 * The input image and phi are simple deterministic formulas that
 * bench_torch.py reproduces exactly (bench_input, bench_phi), so both sides
 * run on the same numbers.
 *
 * Output fields: times_s (wall time of every timed call), median_s, min_s;
 * cpu_s and cpu_median_s (CPU time of the process, all threads, per call);
 * first_s (the first call, warm-up or not: includes creating the oneDNN
 * primitives); step_s (--sample: median wall time between the sampler's
 * progress callbacks after the first, i.e. one steady-state step) and
 * step_cpu_s (the same in CPU time); tiles; out_mean and out_rms (of the last
 * call's output: run.py compares them with PyTorch's to catch the two sides
 * computing different things); rss_before_kib (peak RSS once the model is
 * loaded and the input and output images are made, before any pass: the
 * engine allocates its activations in the first pass); peak_rss_kib (the
 * peak at the end, see peak_rss_kib()). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "fgsd.h"

#define MAX_REPS 1000

typedef struct options {
    const char *model;
    int denoise; /* 1: --denoise, 0: --sample */
    int width, height;
    int threads;
    fgsd_backend_kind backend;
    long budget_mib;
    int max_tile;
    int reps, warmup, steps;
    int unconditioned;
} options;

/* Step timestamps of one fgsd_synthesize call (progress callback). */
typedef struct step_clock {
    double *t, *c; /* wall and CPU time of each callback */
    int n, cap;
} step_clock;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Peak resident set of this process in KiB: VmHWM of /proc/self/status,
 * which belongs to this program's own address space.  getrusage's ru_maxrss
 * is only the fallback: Linux carries it over from the parent across fork
 * and exec, so a child of a large process (a Python that imported torch)
 * would report its parent's peak. */
/* CPU time of the whole process (every thread), seconds.  On a machine
 * shared with other jobs the wall time of a call includes the time spent
 * waiting for a core; with one thread the CPU time does not. */
static double cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    if (f) {
        while (fgets(line, sizeof(line), f))
            if (!strncmp(line, "VmHWM:", 6)) {
                kib = strtol(line + 6, NULL, 10);
                break;
            }
        fclose(f);
    }
    if (kib > 0)
        return kib;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss; /* KiB on Linux */
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double *s;
    double m;

    if (n <= 0)
        return 0.0;
    s = malloc((size_t)n * sizeof(*s));
    if (!s)
        return v[0];
    memcpy(s, v, (size_t)n * sizeof(*s));
    qsort(s, (size_t)n, sizeof(*s), cmp_double);
    m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return m;
}

static double min_of(const double *v, int n)
{
    double m = v[0];

    for (int i = 1; i < n; i++)
        if (v[i] < m)
            m = v[i];
    return m;
}

static int progress_cb(void *user, int step, float sigma, float fraction)
{
    step_clock *c = user;

    (void)step;
    (void)sigma;
    (void)fraction;
    if (c->n < c->cap) {
        c->c[c->n] = cpu_s();
        c->t[c->n++] = now_s();
    }
    return 0;
}

/* The benchmark input, interleaved RGB: a fixed hash of the value's index
 * (Knuth's multiplicative hash mod 2^32) mapped to [0.1, 0.9]: noise-like,
 * no denormals, identical in bench_torch.py. */
static void bench_input(float *rgb, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)((uint64_t)i * 2654435761u + 12345u);
        rgb[i] = 0.1f + 0.8f * (float)((double)u / 4294967296.0);
    }
}

static void bench_phi(float *phi, int dim)
{
    for (int k = 0; k < dim; k++)
        phi[k] = 0.05f + 0.01f * (float)(k % 7);
}

static int parse_size(const char *s, int *w, int *h)
{
    char *end;
    long a, b;

    errno = 0;
    a = strtol(s, &end, 10);
    if (errno || end == s)
        return -1;
    if (*end == 'x' || *end == 'X') {
        const char *p = end + 1;
        b = strtol(p, &end, 10);
        if (errno || end == p)
            return -1;
    } else {
        b = a;
    }
    if (*end || a < 8 || b < 8 || a > FGSD_MAX_SIDE || b > FGSD_MAX_SIDE)
        return -1;
    *w = (int)a;
    *h = (int)b;
    return 0;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_engine --model M (--denoise SIZE | --sample SIZE) [--threads T]\n"
               "       [--backend auto|cpu|cuda|reference] [--budget MIB] [--max-tile N]\n"
               "       [--reps N] [--warmup N] [--steps N] [--unconditioned]\n");
}

static int parse_args(int argc, char **argv, options *o)
{
    static const char *const backends[] = {"auto", "cpu", "cuda", "reference"};
    int have_size = 0;

    memset(o, 0, sizeof(*o));
    o->threads = 1;
    o->backend = FGSD_BACKEND_CPU;
    o->reps = 5;
    o->warmup = 1;
    o->steps = 20;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;

        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(a, "--unconditioned")) {
            o->unconditioned = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "bench_engine: %s needs a value (or is unknown)\n", a);
            return -1;
        }
        i++;
        if (!strcmp(a, "--model")) {
            o->model = v;
        } else if (!strcmp(a, "--denoise") || !strcmp(a, "--sample")) {
            if (parse_size(v, &o->width, &o->height)) {
                fprintf(stderr, "bench_engine: bad size '%s' (N or WxH, 8..%d)\n", v,
                        FGSD_MAX_SIDE);
                return -1;
            }
            o->denoise = !strcmp(a, "--denoise");
            have_size = 1;
        } else if (!strcmp(a, "--backend")) {
            int k;
            for (k = 0; k < 4 && strcmp(v, backends[k]); k++)
                ;
            if (k == 4) {
                fprintf(stderr, "bench_engine: unknown backend '%s'\n", v);
                return -1;
            }
            o->backend = (fgsd_backend_kind)k;
        } else if (!strcmp(a, "--threads") && !parse_int(v, 0, 1024, &n)) {
            o->threads = (int)n;
        } else if (!strcmp(a, "--budget") && !parse_int(v, 0, 1L << 30, &n)) {
            o->budget_mib = n;
        } else if (!strcmp(a, "--max-tile") && !parse_int(v, 0, FGSD_MAX_SIDE, &n)) {
            o->max_tile = (int)n;
        } else if (!strcmp(a, "--reps") && !parse_int(v, 1, MAX_REPS, &n)) {
            o->reps = (int)n;
        } else if (!strcmp(a, "--warmup") && !parse_int(v, 0, MAX_REPS, &n)) {
            o->warmup = (int)n;
        } else if (!strcmp(a, "--steps") && !parse_int(v, 1, FGSD_MAX_STEPS, &n)) {
            o->steps = (int)n;
        } else {
            fprintf(stderr, "bench_engine: bad option or value: %s %s\n", a, v);
            return -1;
        }
    }
    if (!o->model || !have_size) {
        usage(stderr);
        return -1;
    }
    return 0;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    options o;
    fgsd_model *model = NULL;
    fgsd_session *session = NULL;
    fgsd_model_info info;
    fgsd_session_options so;
    fgsd_sampler_params sp;
    fgsd_sample_stats stats = {0, 0.0f, 0};
    step_clock clock = {NULL, NULL, 0, 0};
    double times[MAX_REPS], cpu[MAX_REPS], first = 0.0, step_med = 0.0, step_cpu_med = 0.0;
    double *steps_dt = NULL, *steps_cpu = NULL, out_sum = 0.0, out_ss = 0.0;
    int n_steps_dt = 0;
    float *in = NULL, *out = NULL, *phi = NULL;
    fgsd_reference *ref = NULL;
    size_t n;
    long rss_before;
    char err[512] = "";
    fgsd_status st;
    int ret = 1;

    if (parse_args(argc, argv, &o))
        return 2;
    st = fgsd_model_load(o.model, &model, err, sizeof(err));
    if (st) {
        fprintf(stderr, "bench_engine: %s: %s\n", o.model, err[0] ? err : fgsd_status_string(st));
        return 1;
    }
    fgsd_model_get_info(model, &info);

    so = fgsd_session_options_default();
    so.backend = o.backend;
    so.threads = o.threads;
    so.max_tile = o.max_tile;
    if (o.budget_mib > 0)
        so.memory_budget = (size_t)o.budget_mib << 20;
    so.progress = progress_cb;
    so.progress_user = &clock;
    st = fgsd_session_create(model, &so, &session, err, sizeof(err));
    if (st) {
        fprintf(stderr, "bench_engine: session: %s\n", err[0] ? err : fgsd_status_string(st));
        goto out;
    }

    n = (size_t)o.width * (size_t)o.height * 3;
    in = o.denoise ? malloc(n * sizeof(float)) : NULL; /* the sampler makes its own */
    out = malloc(n * sizeof(float));
    clock.cap = o.steps + 2;
    clock.t = malloc((size_t)clock.cap * sizeof(double));
    clock.c = malloc((size_t)clock.cap * sizeof(double));
    steps_dt = malloc((size_t)o.reps * (size_t)clock.cap * sizeof(double));
    steps_cpu = malloc((size_t)o.reps * (size_t)clock.cap * sizeof(double));
    if (!o.unconditioned && info.conditioned && info.feature_dim > 0) {
        phi = malloc((size_t)info.feature_dim * sizeof(float));
        if (phi)
            bench_phi(phi, info.feature_dim);
    }
    if ((o.denoise && !in) || !out || !clock.t || !clock.c || !steps_dt || !steps_cpu ||
        (!o.unconditioned && info.conditioned && info.feature_dim > 0 && !phi)) {
        fprintf(stderr, "bench_engine: out of memory\n");
        goto out;
    }
    if (phi && fgsd_reference_from_features(phi, info.feature_dim, info.data_mean, &ref)) {
        fprintf(stderr, "bench_engine: out of memory\n");
        goto out;
    }
    if (in)
        bench_input(in, n);
    /* Touch the output so that rss_before counts it (not memset to 0: the
     * compiler may turn malloc + memset into calloc, which touches nothing). */
    for (size_t i = 0; i < n; i++)
        out[i] = 0.5f;
    sp = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    sp.max_steps = o.steps;
    sp.sigma_final = 1e-30f; /* never reached: exactly max_steps passes */
    sp.seed = 1;
    sp.free_colour = 1; /* the paper's sampler, as bench_torch.py runs it */
    /* bench_torch.py's settings: the same work per step and the same
     * result, so that run.py can check the outputs agree (with the
     * synthesis defaults h0 0.02, beta 0.4 they did not: 8e-2, issue 23.4) */
    sp.h0 = 0.05f;
    sp.beta = 0.05f;
    sp.ascending = 1;
    rss_before = peak_rss_kib();

    for (int r = 0; r < o.warmup + o.reps; r++) {
        double t0, t1, c0, c1;

        clock.n = 0;
        c0 = cpu_s();
        t0 = now_s();
        if (o.denoise)
            st = fgsd_denoise(session, ref, in, o.width, o.height, out);
        else
            st = fgsd_synthesize(session, ref, &sp, o.width, o.height, out, &stats);
        t1 = now_s();
        c1 = cpu_s();
        if (st) {
            fprintf(stderr, "bench_engine: %s: %s\n", o.denoise ? "denoise" : "sample",
                    fgsd_session_last_error(session));
            goto out;
        }
        if (!o.denoise && stats.steps != o.steps) {
            fprintf(stderr, "bench_engine: sampler ran %d steps, not %d\n", stats.steps, o.steps);
            goto out;
        }
        if (r == 0)
            first = t1 - t0;
        if (r >= o.warmup) {
            times[r - o.warmup] = t1 - t0;
            cpu[r - o.warmup] = c1 - c0;
            for (int k = 1; k < clock.n; k++) {
                steps_cpu[n_steps_dt] = clock.c[k] - clock.c[k - 1];
                steps_dt[n_steps_dt++] = clock.t[k] - clock.t[k - 1];
            }
        }
    }
    if (n_steps_dt) {
        step_med = median(steps_dt, n_steps_dt);
        step_cpu_med = median(steps_cpu, n_steps_dt);
    }
    for (size_t i = 0; i < n; i++) {
        out_sum += out[i];
        out_ss += (double)out[i] * out[i];
    }

    printf("{\"impl\":\"engine\",\"what\":\"%s\",\"width\":%d,\"height\":%d,\"threads\":%d,"
           "\"backend\":",
           o.denoise ? "denoise" : "sample", o.width, o.height, o.threads);
    json_string(fgsd_session_backend_name(session));
    printf(",\"conditioned\":%s,\"steps\":%d,\"budget_mib\":%ld,\"tiles\":%d,\"reps\":%d,"
           "\"times_s\":[",
           phi ? "true" : "false", o.denoise ? 1 : o.steps, o.budget_mib,
           o.denoise ? 0 : stats.tiles, o.reps);
    for (int r = 0; r < o.reps; r++)
        printf("%s%.6f", r ? "," : "", times[r]);
    printf("],\"cpu_s\":[");
    for (int r = 0; r < o.reps; r++)
        printf("%s%.6f", r ? "," : "", cpu[r]);
    printf("],\"cpu_median_s\":%.6f,\"median_s\":%.6f,\"min_s\":%.6f,\"first_s\":%.6f,"
           "\"step_s\":%.6f,\"step_cpu_s\":%.6f,\"out_mean\":%.9g,\"out_rms\":%.9g,"
           "\"rss_before_kib\":%ld,\"peak_rss_kib\":%ld,\"notice\":",
           median(cpu, o.reps), median(times, o.reps), min_of(times, o.reps), first, step_med,
           step_cpu_med, out_sum / (double)n, sqrt(out_ss / (double)n), rss_before,
           peak_rss_kib());
    json_string(fgsd_session_notice(session));
    printf("}\n");
    ret = 0;

out:
    free(steps_dt);
    free(steps_cpu);
    free(clock.t);
    free(clock.c);
    fgsd_reference_free(ref);
    free(phi);
    free(in);
    free(out);
    fgsd_session_free(session);
    fgsd_model_free(model);
    return ret;
}
