/* SPDX-License-Identifier: GPL-3.0-or-later
 * Sessions: backend choice (with fallback), errors, notices, progress. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cuda/cuda_module.h"
#include "rng.h"
#include "session.h"

#ifndef FGSD_CUDA_MODULE_DIR
#define FGSD_CUDA_MODULE_DIR "/usr/local/lib/fgsd"
#endif

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

/* ---- the CUDA module (docs/cuda.md) -------------------------------------- */

/* Why the module could not be used: decides whether FGSD_BACKEND_AUTO says
 * anything (a machine without the module or without a GPU is the normal CPU
 * case, not news). */
typedef enum cuda_missing {
    CUDA_LOADED = 0,
    CUDA_NOT_INSTALLED, /* no module file where we look */
    CUDA_LOAD_FAILED,   /* a module that dlopen or its entry refused */
} cuda_missing;

/* Filled once per process by load_cuda_module (pthread_once): the module
 * stays loaded until exit, as the CUDA runtime inside it registers exit
 * handlers. */
static struct {
    const fgsd_cuda_module *mod;
    cuda_missing missing;
    int explicit_path; /* $FGSD_CUDA_MODULE was set: the user wants CUDA */
    char reason[400];
} cuda_state;
static pthread_once_t cuda_once = PTHREAD_ONCE_INIT;

/* 0: loaded; 1: no file at path; -1: refused (cuda_state.reason says why). */
static int try_module(const char *path)
{
    fgsd_cuda_entry_fn entry;
    const fgsd_cuda_module *mod;
    void *h;

    if (access(path, F_OK) != 0)
        return 1;
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(cuda_state.reason, sizeof(cuda_state.reason), "cannot load %s: %s", path,
                 e ? e : "dlopen failed");
        return -1;
    }
    *(void **)&entry = dlsym(h, FGSD_CUDA_ENTRY);
    mod = entry ? entry(FGSD_CUDA_ABI) : NULL;
    if (!mod || mod->ops_size != sizeof(backend_ops) || !mod->ops || !mod->probe) {
        snprintf(cuda_state.reason, sizeof(cuda_state.reason),
                 "%s is not a CUDA module of this version of fgsd (ABI %d)", path, FGSD_CUDA_ABI);
        dlclose(h);
        return -1;
    }
    cuda_state.mod = mod;
    return 0;
}

/* Search order: $FGSD_CUDA_MODULE (a file; nothing else is tried when it is
 * set), the folder of the library holding this code (the build tree) and its
 * fgsd/ subfolder (an installed, relocated prefix), then the install folder. */
static void load_cuda_module(void)
{
    const char *env = getenv("FGSD_CUDA_MODULE");
    char dirs[3][PATH_MAX], path[PATH_MAX + 32], looked[300] = "";
    int n = 0, r = 1;
    Dl_info info;

    cuda_state.missing = CUDA_LOAD_FAILED;
    if (env && *env) {
        cuda_state.explicit_path = 1;
        r = try_module(env);
        if (r > 0)
            snprintf(cuda_state.reason, sizeof(cuda_state.reason),
                     "FGSD_CUDA_MODULE names %s, which does not exist", env);
        if (r == 0)
            cuda_state.missing = CUDA_LOADED;
        return;
    }
    if (dladdr(&cuda_state, &info) && info.dli_fname &&
        strlen(info.dli_fname) < sizeof(dirs[0]) - 8) {
        char *slash;
        strcpy(dirs[0], info.dli_fname);
        slash = strrchr(dirs[0], '/');
        if (slash) {
            *slash = '\0';
            strcpy(dirs[1], dirs[0]);
            strcat(dirs[1], "/fgsd");
            n = 2;
        }
    }
    snprintf(dirs[n++], sizeof(dirs[0]), "%s", FGSD_CUDA_MODULE_DIR);
    for (int i = 0; i < n && r > 0; i++) {
        snprintf(path, sizeof(path), "%s/%s", dirs[i], FGSD_CUDA_MODULE_NAME);
        r = try_module(path);
        if (r > 0 && strlen(looked) + strlen(dirs[i]) + 3 < sizeof(looked))
            snprintf(looked + strlen(looked), sizeof(looked) - strlen(looked), "%s%s",
                     i ? ", " : "", dirs[i]);
    }
    if (r > 0) {
        cuda_state.missing = CUDA_NOT_INSTALLED;
        snprintf(cuda_state.reason, sizeof(cuda_state.reason),
                 "%s is not installed (looked in %s)", FGSD_CUDA_MODULE_NAME, looked);
    } else if (r == 0) {
        cuda_state.missing = CUDA_LOADED;
    }
}

/* An NVIDIA driver is installed: a CUDA module that fails to load there is
 * worth a notice even when the caller did not ask for CUDA. */
static int nvidia_driver_present(void)
{
    void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);

    if (h)
        dlclose(h);
    return h != NULL;
}

/* Starts the CUDA backend and its graph.  On failure reason says why and
 * *quiet is 1 when FGSD_BACKEND_AUTO should fall back without a notice. */
static fgsd_status start_cuda(fgsd_session *s, const backend_config *cfg, char *reason,
                              size_t len, int *quiet)
{
    const backend_ops *ops;
    char err[512] = "";
    size_t avail;
    fgsd_status st;
    int devices;

    *quiet = 0;
    pthread_once(&cuda_once, load_cuda_module);
    if (!cuda_state.mod) {
        snprintf(reason, len, "%s", cuda_state.reason);
        *quiet = !cuda_state.explicit_path &&
                 (cuda_state.missing == CUDA_NOT_INSTALLED || !nvidia_driver_present());
        return FGSD_ERR_BACKEND;
    }
    ops = cuda_state.mod->ops;
    devices = cuda_state.mod->probe(err, sizeof(err));
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

/* Picks the backend and builds the graph on it; a CUDA request that cannot
 * be met falls back to the CPU with a notice (or fails when cuda_strict).
 * FGSD_BACKEND_AUTO falls back silently where there is no module or no GPU,
 * and with a notice when CUDA is there but broken. */
static fgsd_status choose_backend(fgsd_session *s)
{
    backend_config cfg = session_config(s);
    char reason[400] = "";
    int quiet;
    fgsd_status st;

    switch (s->opt.backend) {
    case FGSD_BACKEND_REFERENCE:
        return start_host(s, &backend_ref_ops, &cfg);
    case FGSD_BACKEND_CPU:
        return start_host(s, cpu_ops(), &cfg);
    case FGSD_BACKEND_CUDA:
    case FGSD_BACKEND_AUTO:
        st = start_cuda(s, &cfg, reason, sizeof(reason), &quiet);
        if (!st)
            return FGSD_OK;
        if (s->opt.backend == FGSD_BACKEND_CUDA && s->opt.cuda_strict)
            return session_fail(s, FGSD_ERR_BACKEND, "CUDA backend unavailable (%s)", reason);
        if (s->opt.backend == FGSD_BACKEND_CUDA || !quiet)
            snprintf(s->notice, sizeof(s->notice), "CUDA backend unavailable (%s); using the CPU",
                     reason);
        return start_host(s, cpu_ops(), &cfg);
    default:
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "unknown backend %d",
                            (int)s->opt.backend);
    }
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
