/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * bench_preview --model M --ref REF.pfm [--start patches|noise] [--size N] [--threads T]
 *
 * The dialogs' preview (plugin/preview.c, issue 22) as its thread runs it
 * on a first request: the model loaded, a deterministic session created,
 * then a synthesis of N x N (default 128) from the reference, from patches
 * or, for noise, phi measured and the sampler run with a watch every 4
 * steps.  Prints one JSON line: load_s (model and session), first_frame_s
 * (from the request to the first image the pane can show: the first watch
 * call, or the patches' result), done_s (to the finished preview), steps.
 * Times are wall clock from the request.  A benchmark: it asserts nothing.
 */
#define _POSIX_C_SOURCE 200809L

#include <fgsd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A little-endian colour PFM (as tests/python/pfm.py writes), rows top first. */
static float *read_pfm(const char *path, int *w, int *h)
{
    FILE *f = fopen(path, "rb");
    char magic[3] = "";
    double scale;
    float *rgb = NULL;

    if (!f)
        return NULL;
    if (fscanf(f, "%2s %d %d %lf", magic, w, h, &scale) == 4 && !strcmp(magic, "PF") &&
        scale < 0 && *w > 0 && *h > 0 && fgetc(f) != EOF) {
        size_t row = (size_t)*w * 3;

        rgb = malloc(row * (size_t)*h * sizeof(float));
        for (int y = *h - 1; rgb && y >= 0; y--)
            if (fread(rgb + (size_t)y * row, sizeof(float), row, f) != row) {
                free(rgb);
                rgb = NULL;
            }
    }
    fclose(f);
    return rgb;
}

typedef struct {
    double start, first;
} timing;

static int watch(void *user, const float *rgb, int width, int height, int step)
{
    timing *t = user;

    if (t->first == 0.0)
        t->first = now_s() - t->start;
    return 0;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *ref_path = NULL, *start = "noise";
    int side = 128, threads = 2, rw, rh;
    fgsd_session_options o = fgsd_session_options_default();
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    fgsd_patch_params q = fgsd_patch_params_default();
    fgsd_sample_stats stats = {0};
    fgsd_model *model = NULL;
    fgsd_session *s = NULL;
    fgsd_reference *ref = NULL;
    timing t = {0};
    float *src, *out;
    char err[512];
    fgsd_status st;
    double load;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model"))
            model_path = argv[i + 1];
        else if (!strcmp(argv[i], "--ref"))
            ref_path = argv[i + 1];
        else if (!strcmp(argv[i], "--start"))
            start = argv[i + 1];
        else if (!strcmp(argv[i], "--size"))
            side = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
    }
    if (!model_path || !ref_path || side < 8 || threads < 1) {
        fprintf(stderr, "usage: bench_preview --model M --ref REF.pfm [--start patches|noise] "
                        "[--size N] [--threads T]\n");
        return 2;
    }
    src = read_pfm(ref_path, &rw, &rh);
    out = malloc((size_t)side * (size_t)side * 3 * sizeof(float));
    if (!src || !out) {
        fprintf(stderr, "bench_preview: cannot read %s\n", ref_path);
        return 1;
    }
    t.start = now_s();
    o.threads = threads;
    o.deterministic = 1;
    st = fgsd_model_load(model_path, &model, err, sizeof err);
    if (!st)
        st = fgsd_session_create(model, &o, &s, err, sizeof err);
    if (st) {
        fprintf(stderr, "bench_preview: %s: %s\n", fgsd_status_string(st), err);
        return 1;
    }
    load = now_s() - t.start;
    fgsd_session_set_watch(s, watch, &t, 4);
    p.seed = q.seed = 1;
    if (!strcmp(start, "patches")) {
        p.sigma0 = 0.0f;
        st = fgsd_synthesize_from_patches(s, NULL, &p, &q, src, NULL, rw, rh, side, side, out,
                                          &stats);
    } else {
        st = fgsd_reference_measure(s, src, rw, rh, NULL, &ref);
        if (!st)
            st = fgsd_synthesize(s, ref, &p, side, side, out, &stats);
    }
    if (st) {
        fprintf(stderr, "bench_preview: %s: %s\n", fgsd_status_string(st),
                fgsd_session_last_error(s));
        return 1;
    }
    double done = now_s() - t.start;
    printf("{\"start\": \"%s\", \"size\": %d, \"threads\": %d, \"load_s\": %.4f, "
           "\"first_frame_s\": %.4f, \"done_s\": %.4f, \"steps\": %d}\n",
           start, side, threads, load, t.first > 0.0 ? t.first : done, done, stats.steps);
    fgsd_reference_free(ref);
    fgsd_session_free(s);
    fgsd_model_free(model);
    free(src);
    free(out);
    return 0;
}
