/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Model loading, session creation and engine error reporting for the
 * commands (see engine_ctx.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "engine_ctx.h"

#include "cli.h"
#include "model_path.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Same order as fgsd_backend_kind. */
const char *const cli_backend_choices[] = {"auto", "cpu", "cuda", "reference", NULL};

static const fgsd_backend_kind backend_kinds[] = {
    FGSD_BACKEND_AUTO,
    FGSD_BACKEND_CPU,
    FGSD_BACKEND_CUDA,
    FGSD_BACKEND_REFERENCE,
};

int cli_model_load(const char *path, fgsd_model **model)
{
    char err[512] = "";
    fgsd_status st = fgsd_model_load(path, model, err, sizeof err);

    if (st != FGSD_OK) {
        cli_error("cannot load model '%s': %s", path, err[0] ? err : fgsd_status_string(st));
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

void cli_engine_notice(cli_engine *e)
{
    const char *n = e->session ? fgsd_session_notice(e->session) : "";

    if (!n || !*n || strcmp(n, e->notice) == 0)
        return;
    snprintf(e->notice, sizeof e->notice, "%s", n);
    if (e->quiet)
        return;
    progress_done(&e->prog);
    cli_note("note: %s", n);
}

int cli_engine_failed(cli_engine *e, fgsd_status status, const char *what)
{
    const char *detail = e->session ? fgsd_session_last_error(e->session) : "";

    progress_done(&e->prog);
    cli_engine_notice(e);
    if (status == FGSD_ERR_CANCELLED) {
        cli_error("cancelled; nothing written");
        return CLI_EXIT_CANCELLED;
    }
    cli_error("%s: %s", what, detail && *detail ? detail : fgsd_status_string(status));
    return CLI_EXIT_ERROR;
}

int cli_engine_open(cli_engine *e, const cli_engine_opts *o)
{
    fgsd_session_options so = fgsd_session_options_default();
    const char *source;
    char err[512] = "";
    fgsd_status st;
    int ret;

    memset(e, 0, sizeof *e);
    e->verbose = o->verbose;
    e->quiet = o->quiet;
    e->reference_scales = 1;
    progress_init(&e->prog, o->quiet);
    e->model_path = model_path_resolve(o->model, &source);
    if (!e->model_path)
        return CLI_EXIT_ERROR;
    if (e->verbose)
        cli_note("model %s (%s)", e->model_path, source);
    ret = cli_model_load(e->model_path, &e->model);
    if (ret != CLI_EXIT_OK)
        return ret;
    fgsd_model_get_info(e->model, &e->info);

    so.backend = backend_kinds[o->backend];
    so.threads = o->threads;
    so.deterministic = o->deterministic;
    so.memory_budget = (size_t)o->memory_mib << 20;
    so.max_tile = o->max_tile;
    so.progress = progress_callback;
    so.progress_user = &e->prog;
    st = fgsd_session_create(e->model, &so, &e->session, err, sizeof err);
    if (st != FGSD_OK) {
        cli_error("cannot start the %s backend: %s", cli_backend_choices[o->backend],
                  err[0] ? err : fgsd_status_string(st));
        cli_engine_close(e);
        return CLI_EXIT_ERROR;
    }
    cli_engine_notice(e);
    if (e->verbose)
        cli_note("backend %s", fgsd_session_backend_name(e->session));
    return CLI_EXIT_OK;
}

void cli_engine_close(cli_engine *e)
{
    progress_done(&e->prog);
    fgsd_session_free(e->session);
    fgsd_model_free(e->model);
    e->session = NULL;
    e->model = NULL;
}

int cli_engine_cancelled(cli_engine *e)
{
    if (!cancel_requested())
        return CLI_EXIT_OK;
    progress_done(&e->prog);
    cli_error("cancelled; nothing written");
    return CLI_EXIT_CANCELLED;
}

int cli_check_memory(const char *what, int width, int height, size_t bytes)
{
    const double gib = 1024.0 * 1024.0 * 1024.0;
    int limited = 0;
    size_t avail = fgsd_memory_available(&limited);

    if (avail == 0 || bytes <= avail)
        return CLI_EXIT_OK;
    cli_error("a %dx%d %s needs at least %.1f GiB of memory, more than the %.1f GiB available "
              "(%s); refused: choose a smaller size",
              width, height, what, (double)bytes / gib, (double)avail / gib,
              limited ? "the address-space limit, ulimit -v" : "free memory and swap");
    return CLI_EXIT_ERROR;
}
