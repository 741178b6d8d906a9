/* SPDX-License-Identifier: GPL-3.0-or-later
 * Sessions: backend choice (with fallback), errors, notices, progress. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

#define DEFAULT_MEMORY_BUDGET ((size_t)1 << 30)

fgsd_session_options fgsd_session_options_default(void)
{
    fgsd_session_options o;

    memset(&o, 0, sizeof(o));
    o.backend = FGSD_BACKEND_AUTO;
    o.memory_budget = DEFAULT_MEMORY_BUDGET;
    return o;
}

fgsd_status session_fail(fgsd_session *s, fgsd_status st, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->error, sizeof(s->error), fmt, ap);
    va_end(ap);
    return st;
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

/* Picks the backend; a CUDA request that cannot be met falls back to the CPU
 * with a notice (or fails when cuda_strict). */
static fgsd_status choose_backend(fgsd_session *s)
{
    backend_config cfg = {s->opt.threads, s->opt.deterministic, s->opt.memory_budget};
    char err[256] = "";
    fgsd_status st;

    switch (s->opt.backend) {
    case FGSD_BACKEND_REFERENCE:
        s->ops = &backend_ref_ops;
        break;
    case FGSD_BACKEND_CUDA:
        if (s->opt.cuda_strict)
            return session_fail(s, FGSD_ERR_BACKEND,
                                "CUDA backend not available in this build of fgsd");
        snprintf(s->notice, sizeof(s->notice),
                 "CUDA backend not available in this build of fgsd; using the CPU");
        s->ops = cpu_ops();
        break;
    case FGSD_BACKEND_AUTO:
    case FGSD_BACKEND_CPU:
        s->ops = cpu_ops();
        break;
    default:
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "unknown backend %d",
                            (int)s->opt.backend);
    }
    st = s->ops->create(&cfg, &s->be, err, sizeof(err));
    if (st)
        return session_fail(s, st, "%s backend: %s", s->ops->name, err);
    return FGSD_OK;
}

fgsd_status fgsd_session_create(const fgsd_model *model, const fgsd_session_options *options,
                                fgsd_session **out, char *errbuf, size_t errlen)
{
    fgsd_session *s;
    fgsd_status st;
    char err[512];

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
    if (s->opt.memory_budget == 0)
        s->opt.memory_budget = DEFAULT_MEMORY_BUDGET;
    st = choose_backend(s);
    if (st)
        goto out_free;
    st = unet_create(model, s->ops, s->be, &s->net, err, sizeof(err));
    if (st) {
        session_fail(s, st, "%s", err);
        goto out_free;
    }
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
    unet_free(s->net);
    if (s->be)
        s->ops->destroy(s->be);
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
