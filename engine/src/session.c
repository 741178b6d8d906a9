/* SPDX-License-Identifier: GPL-3.0-or-later
 * Sessions: backend choice (with fallback), errors, notices, progress. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_loader.h"
#include "rng.h"
#include "session.h"

#define DEFAULT_MEMORY_BUDGET ((size_t)1 << 30)

fgsd_session_options fgsd_session_options_default(void)
{
    fgsd_session_options o;

    memset(&o, 0, sizeof(o));
    o.backend = FGSD_BACKEND_AUTO;
    o.memory_budget = 0; /* automatic: DEFAULT_MEMORY_BUDGET on the CPU, the GPU's own */
    return o;
}

fgsd_status session_fail(fgsd_session *s, fgsd_status st, const char *fmt, ...)
{
    char msg[sizeof(s->error)];
    va_list ap;

    /* Through a copy: callers may quote the last error in the new one. */
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    memcpy(s->error, msg, sizeof(msg));
    return st;
}

void session_noise(fgsd_session *s, uint64_t seed, uint32_t step, size_t n, float *z)
{
    /* A failed draw on the backend (say, no GPU memory left for it) costs
     * nothing but time: the CPU draws the same values. */
    if (!s->ops->normal_noise || s->ops->normal_noise(s->be, seed, step, n, z) != FGSD_OK)
        rng_normal_fill_threads(seed, step, 0, n, z, s->opt.threads);
}

void fgsd_session_set_guide(fgsd_session *s, fgsd_session *guide)
{
    if (s)
        s->guide = guide == s ? NULL : guide;
}

void fgsd_session_set_watch(fgsd_session *s, fgsd_watch_fn fn, void *user, int every)
{
    if (!s)
        return;
    s->watch = fn;
    s->watch_user = user;
    s->watch_every = every > 0 ? every : 1;
}

int session_watch_due(const fgsd_session *s, int step)
{
    return s->watch && (step == 1 || step % s->watch_every == 0);
}

int session_watch(fgsd_session *s, int step, const float *d, int width, int height)
{
    if (!session_watch_due(s, step))
        return 0;
    return s->watch(s->watch_user, d, width, height, step);
}

int session_progress(fgsd_session *s, int step, float sigma, float fraction)
{
    if (!s->opt.progress)
        return 0;
    return s->opt.progress(s->opt.progress_user, step, sigma, fraction);
}

static const backend_ops *cpu_ops(void)
{
#ifdef FGSD_HAVE_ONEDNN
    return &backend_onednn_ops;
#else
    return &backend_ref_ops;
#endif
}

/* Starts the CUDA backend and its graph.  On failure reason says why and
 * *quiet is 1 when FGSD_BACKEND_AUTO should fall back without a notice. */
static fgsd_status start_cuda(fgsd_session *s, const backend_config *cfg, char *reason,
                              size_t len, int *quiet)
{
    const fgsd_cuda_module *mod = cuda_module_get(reason, len, quiet);
    const backend_ops *ops;
    char err[512] = "";
    size_t avail;
    fgsd_status st;
    int devices;

    if (!mod)
        return FGSD_ERR_BACKEND;
    ops = mod->ops;
    devices = mod->probe(err, sizeof(err));
    if (devices <= 0) {
        snprintf(reason, len, "%s", err);
        *quiet = devices == 0;
        return FGSD_ERR_BACKEND;
    }
    st = ops->create(cfg, &s->be, err, sizeof(err));
    if (st) {
        snprintf(reason, len, "%s", err);
        return st;
    }
    s->ops = ops;
    st = unet_create(s->model, s->ops, s->be, &s->net, err, sizeof(err));
    if (st) {
        snprintf(reason, len, "%s", err);
        s->ops->destroy(s->be);
        s->be = NULL;
        s->ops = NULL;
        return st;
    }
    /* Leave a quarter of the free memory to cuDNN's workspace, the context
     * and other programs; the planner tiles within the rest. */
    avail = ops->memory_available ? ops->memory_available(s->be) : 0;
    s->device_budget = avail / 4 * 3;
    return FGSD_OK;
}

static fgsd_status start_host(fgsd_session *s, const backend_ops *ops, const backend_config *cfg)
{
    char err[512] = "";
    fgsd_status st;

    s->ops = ops;
    s->device_budget = 0;
    st = ops->create(cfg, &s->be, err, sizeof(err));
    if (st)
        return session_fail(s, st, "%s backend: %s", ops->name, err);
    st = unet_create(s->model, s->ops, s->be, &s->net, err, sizeof(err));
    if (st)
        return session_fail(s, st, "%s", err);
    return FGSD_OK;
}

static backend_config session_config(const fgsd_session *s)
{
    backend_config cfg = {s->opt.threads, s->opt.deterministic, s->opt.memory_budget};

    return cfg;
}

/* The backends a session can ask for: the host backend it runs on, and
 * whether the CUDA module is tried first. */
static const struct {
    fgsd_backend_kind kind;
    const backend_ops *host; /* NULL: the CPU's (cpu_ops) */
    int cuda_first;
} backends[] = {
    {FGSD_BACKEND_AUTO, NULL, 1},
    {FGSD_BACKEND_CPU, NULL, 0},
    {FGSD_BACKEND_CUDA, NULL, 1},
    {FGSD_BACKEND_REFERENCE, &backend_ref_ops, 0},
};

/* Picks the backend and builds the graph on it; a CUDA request that cannot
 * be met falls back to the CPU with a notice (or fails when cuda_strict).
 * FGSD_BACKEND_AUTO falls back silently where there is no module or no GPU,
 * and with a notice when CUDA is there but broken. */
static fgsd_status choose_backend(fgsd_session *s)
{
    backend_config cfg = session_config(s);
    char reason[400] = "";
    int quiet;

    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        const backend_ops *host = backends[i].host ? backends[i].host : cpu_ops();

        if (backends[i].kind != s->opt.backend)
            continue;
        if (!backends[i].cuda_first)
            return start_host(s, host, &cfg);
        if (!start_cuda(s, &cfg, reason, sizeof(reason), &quiet))
            return FGSD_OK;
        if (s->opt.backend == FGSD_BACKEND_CUDA && s->opt.cuda_strict)
            return session_fail(s, FGSD_ERR_BACKEND, "CUDA backend unavailable (%s)", reason);
        if (s->opt.backend == FGSD_BACKEND_CUDA || !quiet)
            snprintf(s->notice, sizeof(s->notice), "CUDA backend unavailable (%s); using the CPU",
                     reason);
        return start_host(s, host, &cfg);
    }
    return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "unknown backend %d", (int)s->opt.backend);
}

static void stop_backend(fgsd_session *s)
{
    unet_free(s->net);
    s->net = NULL;
    if (s->be)
        s->ops->destroy(s->be);
    s->be = NULL;
}

size_t session_budget(const fgsd_session *s)
{
    if (s->device_budget && (s->budget_auto || s->device_budget < s->opt.memory_budget))
        return s->device_budget;
    return s->opt.memory_budget;
}

int session_recover_oom(fgsd_session *s, fgsd_status st, size_t window_bytes)
{
    backend_config cfg = session_config(s);
    const char *gpu = s->ops->name;
    char why[512];

    if (!s->ops->memory_available || s->opt.cuda_strict)
        return 0;
    if (st == FGSD_ERR_TOO_LARGE && session_budget(s) == s->opt.memory_budget)
        return 0; /* the caller's own budget is too small: not the GPU's doing */
    if (st != FGSD_ERR_NO_MEMORY && st != FGSD_ERR_TOO_LARGE)
        return 0;
    if (st == FGSD_ERR_NO_MEMORY && window_bytes > ((size_t)1 << 20)) {
        size_t b = session_budget(s);
        s->device_budget = (window_bytes < b ? window_bytes : b) / 2;
        snprintf(s->notice, sizeof(s->notice),
                 "out of GPU memory for a %zu MiB pass; trying smaller tiles", window_bytes >> 20);
        return 1;
    }
    snprintf(why, sizeof(why), "%s", s->error);
    stop_backend(s);
    if (start_host(s, cpu_ops(), &cfg))
        return 0;
    snprintf(s->notice, sizeof(s->notice),
             "out of GPU memory even for the smallest tile (%s: %.400s); continuing on the CPU",
             gpu, why);
    return 1;
}

fgsd_status fgsd_session_create(const fgsd_model *model, const fgsd_session_options *options,
                                fgsd_session **out, char *errbuf, size_t errlen)
{
    fgsd_session *s;
    fgsd_status st;

    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!out || !model) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "no model or no session pointer given");
        return FGSD_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    if (options && (options->threads < 0 || options->threads > 1024)) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "threads must be 0 (all cores) to 1024, not %d",
                     options->threads);
        return FGSD_ERR_INVALID_ARGUMENT;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "out of memory");
        return FGSD_ERR_NO_MEMORY;
    }
    s->model = model;
    s->opt = options ? *options : fgsd_session_options_default();
    /* 0: on the CPU 1 GiB; on a GPU what it can hold (a 2048² pass needs
     * 3 GiB whole, and four tiles with their halos and statistics passes
     * cost the H200 13 times a 1024² pass instead of about 4). */
    s->budget_auto = s->opt.memory_budget == 0;
    if (s->opt.memory_budget == 0)
        s->opt.memory_budget = DEFAULT_MEMORY_BUDGET;
    st = choose_backend(s);
    if (st)
        goto out_free;
    *out = s;
    return FGSD_OK;

out_free:
    if (errbuf && errlen)
        snprintf(errbuf, errlen, "%s", s->error);
    fgsd_session_free(s);
    return st;
}

void fgsd_session_free(fgsd_session *s)
{
    if (!s)
        return;
    stop_backend(s);
    free(s);
}

const char *fgsd_session_last_error(const fgsd_session *s)
{
    return s ? s->error : "no session";
}

const char *fgsd_session_notice(const fgsd_session *s)
{
    return s ? s->notice : "";
}

const char *fgsd_session_backend_name(const fgsd_session *s)
{
    return s && s->ops ? s->ops->name : "none";
}
