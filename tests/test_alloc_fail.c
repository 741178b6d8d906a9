/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Allocation failure at every allocation site in turn, as SQLite tests it
 * (style.md section 8, suite 'api').
 *
 * malloc, calloc, realloc, aligned_alloc and free are wrapped at link time
 * (-Wl,--wrap=..., tests/meson.build), which catches every call the engine's
 * own code makes; cJSON, a shared library, allocates through hooks
 * (cJSON_InitHooks) that go through the same wrappers.  The wrappers count
 * the allocations made, can fail the N-th one, and keep a table of the live
 * blocks (with the caller's address, for a leak report).
 *
 * For N = 0, 1, 2, ... one whole workflow runs through the public API with
 * the N-th allocation failing, until a run makes fewer than N + 1
 * allocations.  The workflow: load a small model from memory and from a
 * file, a reference-backend session, masked features, one denoiser pass, a
 * noise estimate, a 2-step sample, then a second session with a small
 * max_tile and a tiled denoise, a tiled 2-step sample and a tiled tileable
 * one.  Every run must:
 *   - report the failure from the very call during which it happened, with
 *     FGSD_ERR_NO_MEMORY (see allowed_status for the one documented
 *     exception), and stop there, as a caller would;
 *   - return, from every call before it, FGSD_OK with outputs bit-identical
 *     to the run without a failure (no "FGSD_OK with garbage");
 *   - leave the number of live blocks where it was once everything is
 *     freed (no leak on any error path).
 * Two modes: "transient" fails only the N-th allocation; "persistent" fails
 * it and every one after it (a machine that stays out of memory), which
 * reaches the cleanup paths with allocations still failing.
 */
#define _GNU_SOURCE /* dladdr; mkstemp, fdopen */

#include <dlfcn.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "fgsd.h"
#include "model_writer.h"

/* ---- the wrappers ---------------------------------------------------------- */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__real_aligned_alloc(size_t align, size_t size);
void __real_free(void *p);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void *__wrap_aligned_alloc(size_t align, size_t size);
void __wrap_free(void *p);

/* Live blocks: an open-addressing table keyed by address (no allocation of
 * its own).  The engine's reference path is single-threaded. */
#define LIVE_SLOTS (1u << 16)
#define TOMBSTONE ((void *)1)

typedef struct live_block {
    void *p;
    long index;   /* which allocation made it */
    size_t size;
    void *caller; /* return address in the allocating function */
    long run;     /* the workflow run that made it */
} live_block;

static live_block live[LIVE_SLOTS];
static long live_count;
static long run_number;     /* workflow runs so far */
static long allocations;    /* allocation calls so far */
static long fail_at = -1;   /* index of the allocation to fail; -1: none */
static int persistent;      /* fail every allocation from fail_at on */
static long failures;       /* allocations failed so far */
static int in_cjson;        /* set by the cJSON hooks around their call */
static int first_failure_in_cjson;
static int table_full;

static size_t slot_of(const void *p)
{
    uintptr_t h = (uintptr_t)p >> 4;

    h ^= h >> 17;
    h *= 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 20) & (LIVE_SLOTS - 1);
}

static void live_add(void *p, size_t size, void *caller)
{
    size_t i = slot_of(p);

    for (size_t k = 0; k < LIVE_SLOTS; k++, i = (i + 1) & (LIVE_SLOTS - 1)) {
        if (live[i].p == NULL || live[i].p == TOMBSTONE) {
            live[i].p = p;
            live[i].index = allocations - 1;
            live[i].size = size;
            live[i].caller = caller;
            live[i].run = run_number;
            live_count++;
            return;
        }
    }
    table_full = 1;
}

static void live_remove(void *p)
{
    size_t i = slot_of(p);

    for (size_t k = 0; k < LIVE_SLOTS && live[i].p != NULL; k++, i = (i + 1) & (LIVE_SLOTS - 1)) {
        if (live[i].p == p) {
            live[i].p = TOMBSTONE;
            live_count--;
            return;
        }
    }
    /* Not ours (made before the table existed or by unwrapped code): a
     * foreign free is harmless, and a leak check would not see it anyway. */
}

/* Counts an allocation call; 1 when it must fail. */
static int inject(void)
{
    long i = allocations++;

    if (fail_at >= 0 && (i == fail_at || (persistent && i > fail_at))) {
        if (failures++ == 0)
            first_failure_in_cjson = in_cjson;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t size)
{
    void *p;

    if (inject())
        return NULL;
    p = __real_malloc(size);
    if (p)
        live_add(p, size, __builtin_return_address(0));
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    void *p;

    if (inject())
        return NULL;
    p = __real_calloc(n, size);
    if (p)
        live_add(p, n * size, __builtin_return_address(0));
    return p;
}

void *__wrap_aligned_alloc(size_t align, size_t size)
{
    void *p;

    if (inject())
        return NULL;
    p = __real_aligned_alloc(align, size);
    if (p)
        live_add(p, size, __builtin_return_address(0));
    return p;
}

void *__wrap_realloc(void *old, size_t size)
{
    void *p;

    if (inject())
        return NULL; /* old stays valid, as with a real failure */
    p = __real_realloc(old, size);
    if (p || size == 0) {
        if (old)
            live_remove(old);
        if (p)
            live_add(p, size, __builtin_return_address(0));
    }
    return p;
}

void __wrap_free(void *p)
{
    if (p)
        live_remove(p);
    __real_free(p);
}

static void *cjson_malloc(size_t size)
{
    void *p;

    in_cjson = 1;
    p = __wrap_malloc(size);
    in_cjson = 0;
    return p;
}

static void cjson_free(void *p)
{
    __wrap_free(p);
}

/* The blocks the last run left, with where they were allocated: FILE+OFFSET
 * for addr2line -f -e FILE OFFSET. */
static void report_leaks(void)
{
    for (size_t i = 0; i < LIVE_SLOTS; i++) {
        Dl_info where;

        if (live[i].p == NULL || live[i].p == TOMBSTONE || live[i].run != run_number)
            continue;
        if (dladdr(live[i].caller, &where) && where.dli_fname)
            print_error("  leaked: allocation #%ld, %zu bytes, allocated from %s+0x%tx\n",
                        live[i].index, live[i].size, where.dli_fname,
                        (char *)live[i].caller - (char *)where.dli_fbase);
        else
            print_error("  leaked: allocation #%ld, %zu bytes, allocated from %p\n",
                        live[i].index, live[i].size, live[i].caller);
    }
}

/* ---- the workflow ---------------------------------------------------------- */

enum {
    S_LOAD_MEMORY,
    S_LOAD_FILE,
    S_SESSION,
    S_REFERENCE,
    S_DENOISE,
    S_SIGMA,
    S_SAMPLE,
    S_SESSION_TILED,
    S_DENOISE_TILED,
    S_SAMPLE_TILED,
    S_SAMPLE_TILEABLE,
    S_COUNT
};

static const char *const step_name[S_COUNT] = {
    "fgsd_model_load_memory", "fgsd_model_load",      "fgsd_session_create",
    "fgsd_reference_measure", "fgsd_denoise",         "fgsd_estimate_sigma",
    "fgsd_synthesize",        "fgsd_session_create (tiled)", "fgsd_denoise (tiled)",
    "fgsd_synthesize (tiled)", "fgsd_synthesize (tiled, tileable)",
};

/* Image sizes.  The test model's receptive field needs a 16-pixel halo, so
 * MAX_TILE = 48 leaves tile interiors of 16 pixels: 4 x 1 tiles at TW x TH,
 * tileable or not. */
#define REF_W 40
#define REF_H 36
#define DN 8
#define SG_W 12
#define SG_H 8
#define SM_W 16
#define SM_H 12
#define TW 52
#define TH 8
#define MAX_TILE 48

/* Inputs, and outputs of the run without failures (the baseline). */
typedef struct outputs {
    fgsd_model_info info;
    int n_meta;
    float phi[64];
    float denoised[DN * DN * 3];
    float sigma;
    float sample[SM_W * SM_H * 3];
    fgsd_sample_stats sample_stats;
    float denoised_tiled[TW * TH * 3];
    float sample_tiled[TW * TH * 3];
    fgsd_sample_stats tiled_stats;
    float sample_tileable[TW * TH * 3];
} outputs;

typedef struct fixture {
    unsigned char *model_buf;
    size_t model_len;
    char model_path[64];
    float ref[REF_W * REF_H * 3], mask[REF_W * REF_H];
    float dn_in[DN * DN * 3], sg_in[SG_W * SG_H * 3], tiled_in[TW * TH * 3];
    outputs base;
    int have_base;
} fixture;

typedef struct run_result {
    int failed_step;     /* step that returned an error, or -1 */
    fgsd_status status;  /* its status */
    int injected_step;   /* step during which the first failure was injected, or -1 */
    int injected_in_cjson;
    long injected;       /* failures injected */
    char err[512];       /* the message the failing call gave */
} run_result;

static void fill(float *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)(seed >> 8) / 16777216.0f;
    }
}

/* A conditioned two-level model, small but with every kind of tensor:
 * biases, gains, F32 and F16 storage. */
static void build_model(fixture *f)
{
    test_model_arch a = test_model_arch_tiny();
    test_model m;

    a.widths[0] = 2;
    a.widths[1] = 3;
    a.widths[2] = 2;
    a.enc_convs = a.mid_convs = a.dec_convs = 1;
    a.bias = 1;
    assert_int_equal(test_model_make(&a, 11, TEST_MODEL_MIXED, &m), 0);
    /* the 40x36 reference is then measured in four 32x32 windows */
    assert_int_equal(test_model_set_meta(&m, "feature_window", "32"), 0);
    assert_int_equal(test_model_serialize(&m, &f->model_buf, &f->model_len), 0);
    test_model_free(&m);
}

static int step;         /* step now running */
static int injected_step;

/* Notes the step during which the first failure happened. */
static void step_done(void)
{
    if (failures > 0 && injected_step < 0)
        injected_step = step;
}

/* One workflow; out receives what the successful steps produced. */
static void run_workflow(fixture *f, outputs *out, run_result *r)
{
    fgsd_model *model = NULL, *model2 = NULL;
    fgsd_session *s = NULL, *t = NULL;
    fgsd_reference *ref = NULL;
    fgsd_session_options opt = fgsd_session_options_default();
    fgsd_sampler_params sp = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    fgsd_status st = FGSD_OK;

    memset(r, 0, sizeof(*r));
    r->failed_step = -1;
    injected_step = -1;
    opt.backend = FGSD_BACKEND_REFERENCE;
    opt.threads = 1;
    sp.max_steps = 2;
    sp.seed = 5;

#define STEP(id, call)                                                                      \
    do {                                                                                    \
        step = (id);                                                                        \
        st = (call);                                                                        \
        step_done();                                                                        \
        if (st != FGSD_OK) {                                                                \
            r->failed_step = (id);                                                          \
            goto out;                                                                       \
        }                                                                                   \
    } while (0)

    STEP(S_LOAD_MEMORY,
         fgsd_model_load_memory(f->model_buf, f->model_len, &model, r->err, sizeof(r->err)));
    fgsd_model_get_info(model, &out->info);
    out->n_meta = fgsd_model_metadata_count(model);
    STEP(S_LOAD_FILE, fgsd_model_load(f->model_path, &model2, r->err, sizeof(r->err)));
    fgsd_model_free(model2);
    model2 = NULL;
    STEP(S_SESSION, fgsd_session_create(model, &opt, &s, r->err, sizeof(r->err)));
    STEP(S_REFERENCE, fgsd_reference_measure(s, f->ref, REF_W, REF_H, f->mask, &ref));
    memcpy(out->phi, fgsd_reference_features(ref, 0),
           (size_t)out->info.feature_dim * sizeof(float));
    STEP(S_DENOISE, fgsd_denoise(s, ref, f->dn_in, DN, DN, out->denoised));
    STEP(S_SIGMA, fgsd_estimate_sigma(s, f->sg_in, SG_W, SG_H, &out->sigma));
    STEP(S_SAMPLE, fgsd_synthesize(s, ref, &sp, SM_W, SM_H, out->sample, &out->sample_stats));
    opt.max_tile = MAX_TILE;
    STEP(S_SESSION_TILED, fgsd_session_create(model, &opt, &t, r->err, sizeof(r->err)));
    STEP(S_DENOISE_TILED, fgsd_denoise(t, ref, f->tiled_in, TW, TH, out->denoised_tiled));
    STEP(S_SAMPLE_TILED,
         fgsd_synthesize(t, ref, &sp, TW, TH, out->sample_tiled, &out->tiled_stats));
    sp.tileable = 1;
    STEP(S_SAMPLE_TILEABLE, fgsd_synthesize(t, ref, &sp, TW, TH, out->sample_tileable, NULL));
#undef STEP

out:
    if (st != FGSD_OK) {
        const fgsd_session *es = r->failed_step == S_SESSION_TILED ? NULL
                                 : r->failed_step >= S_DENOISE_TILED ? t
                                 : r->failed_step > S_SESSION         ? s
                                                                      : NULL;
        if (es)
            snprintf(r->err, sizeof(r->err), "%s", fgsd_session_last_error(es));
        r->status = st;
    }
    r->injected_step = injected_step;
    r->injected_in_cjson = first_failure_in_cjson;
    r->injected = failures;
    fgsd_reference_free(ref);
    fgsd_session_free(t);
    fgsd_session_free(s);
    fgsd_model_free(model2);
    fgsd_model_free(model);
}

/* The status a failed call may return.  FGSD_ERR_NO_MEMORY, except that
 * cJSON cannot tell a failed allocation from a syntax error: its parser
 * returns NULL for both, and the loader then reports the header (or a
 * metadata value) as corrupt, FGSD_ERR_FORMAT. */
static int allowed_status(const run_result *r)
{
    if (r->status == FGSD_ERR_NO_MEMORY)
        return 1;
    return r->status == FGSD_ERR_FORMAT && r->injected_in_cjson &&
           (r->failed_step == S_LOAD_MEMORY || r->failed_step == S_LOAD_FILE);
}

#define BAD(...)                                                                          \
    do {                                                                                  \
        print_error("%s mode, allocation #%ld failed: ", persistent ? "persistent"      \
                                                                    : "transient",      \
                    n);                                                                   \
        print_error(__VA_ARGS__);                                                         \
        print_error("\n");                                                                \
        fail();                                                                           \
    } while (0)

static int same(const void *a, const void *b, size_t n)
{
    return memcmp(a, b, n) == 0;
}

/* The outputs of every step before failed_step (all steps when -1) must
 * equal the baseline. */
static int outputs_match(const outputs *o, const outputs *b, int failed_step)
{
    int upto = failed_step < 0 ? S_COUNT : failed_step;
    int ok = 1;

    if (upto > S_LOAD_MEMORY)
        ok &= same(&o->info, &b->info, sizeof(o->info)) && o->n_meta == b->n_meta;
    if (upto > S_REFERENCE)
        ok &= same(o->phi, b->phi, sizeof(o->phi));
    if (upto > S_DENOISE)
        ok &= same(o->denoised, b->denoised, sizeof(o->denoised));
    if (upto > S_SIGMA)
        ok &= same(&o->sigma, &b->sigma, sizeof(o->sigma));
    if (upto > S_SAMPLE)
        ok &= same(o->sample, b->sample, sizeof(o->sample)) &&
              same(&o->sample_stats, &b->sample_stats, sizeof(o->sample_stats));
    if (upto > S_DENOISE_TILED)
        ok &= same(o->denoised_tiled, b->denoised_tiled, sizeof(o->denoised_tiled));
    if (upto > S_SAMPLE_TILED)
        ok &= same(o->sample_tiled, b->sample_tiled, sizeof(o->sample_tiled)) &&
              same(&o->tiled_stats, &b->tiled_stats, sizeof(o->tiled_stats));
    if (upto > S_SAMPLE_TILEABLE)
        ok &= same(o->sample_tileable, b->sample_tileable, sizeof(o->sample_tileable));
    return ok;
}

/* Runs the workflow with allocation n failing (n < 0: none). */
static long run_once(fixture *f, long n, outputs *o, run_result *r)
{
    long before = live_count;

    memset(o, 0, sizeof(*o));
    run_number++;
    allocations = 0;
    failures = 0;
    first_failure_in_cjson = 0;
    fail_at = n;
    run_workflow(f, o, r);
    fail_at = -1;
    if (table_full)
        BAD("the live-block table is full");
    if (live_count != before) {
        report_leaks();
        BAD("%ld blocks leaked (the run stopped at %s: %s)", live_count - before,
            r->failed_step >= 0 ? step_name[r->failed_step] : "the end", r->err);
    }
    return allocations;
}

static void check_run(fixture *f, long n, const outputs *o, const run_result *r)
{
    if (r->injected == 0) {
        /* The countdown was not reached: the whole workflow must succeed. */
        if (r->failed_step >= 0)
            BAD("%s failed without an allocation failure: %s (%s)", step_name[r->failed_step],
                fgsd_status_string(r->status), r->err);
        if (!outputs_match(o, &f->base, -1))
            BAD("outputs differ from the run without failures");
        return;
    }
    if (r->failed_step < 0)
        BAD("every call returned FGSD_OK although an allocation failed during %s",
            step_name[r->injected_step]);
    if (r->failed_step != r->injected_step)
        BAD("the allocation failed during %s but %s reported the error (%s)",
            step_name[r->injected_step], step_name[r->failed_step], r->err);
    if (!allowed_status(r))
        BAD("%s returned %s (%s), not FGSD_ERR_NO_MEMORY", step_name[r->failed_step],
            fgsd_status_string(r->status), r->err);
    if (r->err[0] == '\0')
        BAD("%s gave no error message", step_name[r->failed_step]);
    if (!outputs_match(o, &f->base, r->failed_step))
        BAD("a call before %s returned FGSD_OK with outputs unlike the run without failures",
            step_name[r->failed_step]);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    cJSON_Hooks hooks = {cjson_malloc, cjson_free};
    int fd;
    FILE *fp;

    if (!f)
        return -1;
    cJSON_InitHooks(&hooks);
    build_model(f);
    snprintf(f->model_path, sizeof(f->model_path), "/tmp/fgsd-alloc-fail-XXXXXX");
    fd = mkstemp(f->model_path);
    if (fd < 0)
        return -1;
    fp = fdopen(fd, "wb");
    if (!fp || fwrite(f->model_buf, 1, f->model_len, fp) != f->model_len || fclose(fp) != 0)
        return -1;
    fill(f->ref, sizeof(f->ref) / sizeof(float), 1);
    for (int i = 0; i < REF_W * REF_H; i++)
        f->mask[i] = i % REF_W < 34 ? 1.0f : (i % 3) * 0.5f; /* >= 1024 selected */
    fill(f->dn_in, sizeof(f->dn_in) / sizeof(float), 2);
    fill(f->sg_in, sizeof(f->sg_in) / sizeof(float), 3);
    fill(f->tiled_in, sizeof(f->tiled_in) / sizeof(float), 4);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    unlink(f->model_path);
    free(f->model_buf);
    free(f);
    cJSON_InitHooks(NULL);
    return 0;
}

static void baseline(fixture *f)
{
    run_result r;
    long n = -1;

    if (f->have_base)
        return;
    run_once(f, -1, &f->base, &r);
    if (r.failed_step >= 0)
        BAD("the workflow fails without any allocation failure: %s: %s (%s)",
            step_name[r.failed_step], fgsd_status_string(r.status), r.err);
    /* The sizes above really give several tiles. */
    assert_int_equal(f->base.tiled_stats.tiles, 4);
    assert_int_equal(f->base.sample_stats.tiles, 1);
    assert_int_equal(f->base.info.feature_dim, 2 + 2 + 3);
    f->have_base = 1;
}

static void sweep(fixture *f, int persist)
{
    static outputs o;
    run_result r;
    long n, made = 0, by_cjson = 0, steps[S_COUNT] = {0};

    baseline(f);
    persistent = persist;
    for (n = 0;; n++) {
        made = run_once(f, n, &o, &r);
        check_run(f, n, &o, &r);
        if (r.injected == 0)
            break;
        steps[r.failed_step]++;
        by_cjson += r.status == FGSD_ERR_FORMAT;
    }
    persistent = 0;
    print_message("# %s: %ld allocations failed in turn, each reported and cleaned up "
                  "(%ld in cJSON reported as FGSD_ERR_FORMAT); per call:",
                  persist ? "persistent" : "transient", made, by_cjson);
    for (int i = 0; i < S_COUNT; i++)
        print_message(" %ld", steps[i]);
    print_message("\n");
    assert_true(n == made && n > 100);
    /* Every call allocates today, so every call must have been hit; if one
     * stops allocating, drop it from this check. */
    for (int i = 0; i < S_COUNT; i++)
        if (steps[i] == 0) {
            print_error("no allocation failed during %s\n", step_name[i]);
            fail();
        }
}

static void test_transient_failures(void **state)
{
    sweep(*state, 0);
}

static void test_persistent_failures(void **state)
{
    sweep(*state, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transient_failures),
        cmocka_unit_test(test_persistent_failures),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
