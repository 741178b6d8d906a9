/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The engine as the commands use it: the model, one session with the
 * progress callback wired in, and the conversion of engine failures into
 * one error line and an exit code.
 */
#ifndef FGSD_CLI_ENGINE_CTX_H
#define FGSD_CLI_ENGINE_CTX_H

#include "args.h"
#include "progress.h"

#include <fgsd.h>

typedef struct cli_engine_opts {
    const char *model; /* --model, or NULL for the default */
    int backend;       /* index into cli_backend_choices */
    int threads;       /* 0 = all cores */
    int deterministic;
    int memory_mib;    /* activation budget in MiB; 0 = the engine's default */
    int max_tile;      /* largest tile window side; 0 = as the budget allows */
    int verbose;
    int quiet;
} cli_engine_opts;

extern const char *const cli_backend_choices[];

/* The options every engine-running command takes, as arg_spec entries. */
#define CLI_ENGINE_ARGS(o)                                                                       \
    {.name = "--model", .alias = "-m", .type = ARG_STRING, .dest = &(o)->model},                 \
        {.name = "--backend", .type = ARG_CHOICE, .dest = &(o)->backend,                         \
         .choices = cli_backend_choices},                                                        \
        {.name = "--threads", .type = ARG_INT, .dest = &(o)->threads, .lo = 0, .hi = 1024},      \
        {.name = "--deterministic", .type = ARG_FLAG, .dest = &(o)->deterministic},              \
        {.name = "--memory-budget", .type = ARG_INT, .dest = &(o)->memory_mib, .lo = 0,          \
         .hi = 1 << 20},                                                                         \
        {.name = "--max-tile", .type = ARG_INT, .dest = &(o)->max_tile, .lo = 0, .hi = 1 << 16}, \
        {.name = "--verbose", .alias = "-v", .type = ARG_FLAG, .dest = &(o)->verbose},           \
        {.name = "--quiet", .alias = "-q", .type = ARG_FLAG, .dest = &(o)->quiet}

/* Help lines for CLI_ENGINE_ARGS. */
#define CLI_ENGINE_HELP                                                                          \
    "  -m, --model FILE     model file (default: $FGSD_MODEL, else the installed\n"              \
    "                       default.fgsd)\n"                                                     \
    "  --backend NAME       auto, cpu, cuda or reference (default auto)\n"                        \
    "  --threads N          CPU threads, 0..1024 (default 0 = all cores)\n"                      \
    "  --deterministic      bit-identical results run to run (may be slower)\n"                   \
    "  --memory-budget MIB  memory for the network's activations (default 0: 1024 on\n"         \
    "                       the CPU, most of the free GPU memory on a GPU);\n"                   \
    "                       larger images run in overlapping tiles that fit\n"                   \
    "  --max-tile N         largest tile side in pixels (default 0 = as the budget\n"            \
    "                       allows)\n"                                                           \
    "  -v, --verbose        say which model and backend are used, and timings\n"                 \
    "  -q, --quiet          no progress, notes or seed on stderr (errors still)\n"

typedef struct cli_engine {
    fgsd_model *model;
    fgsd_session *session;
    fgsd_model_info info;
    const char *model_path;
    progress prog;
    char notice[512]; /* the last notice shown, to show each only once */
    int verbose;
    int quiet;
    int reference_scales; /* scales a reference is measured at: 1, synth --levels N */
} cli_engine;

/* Loads the model and creates the session.  The struct must stay where it
 * is until cli_engine_close (the session keeps a pointer to e->prog).
 * Returns an exit code; on failure the error is printed and e is closed. */
int cli_engine_open(cli_engine *e, const cli_engine_opts *o);

/* Accepts a zeroed or already closed struct. */
void cli_engine_close(cli_engine *e);

/* Shows the session's notice on stderr if it is new (and not quiet). */
void cli_engine_notice(cli_engine *e);

/* Prints "<what>: <engine detail>" as the error line and returns the exit
 * code for status (CLI_EXIT_CANCELLED for a cancellation). */
int cli_engine_failed(cli_engine *e, fgsd_status status, const char *what);

/* After a call that cannot be interrupted (features, one denoiser pass) and
 * before anything is written: a Ctrl-C that came meanwhile, or after the
 * sampler's last step, prints "cancelled; nothing written" and returns
 * CLI_EXIT_CANCELLED; else CLI_EXIT_OK. */
int cli_engine_cancelled(cli_engine *e);

/* Bytes of one of the command's own RGB float images of width x height. */
#define CLI_IMAGE_BYTES(w, h) ((size_t)(w) * (size_t)(h) * 3 * sizeof(float))

/* Refuses (error line, CLI_EXIT_ERROR) a run whose full-size buffers (bytes:
 * the engine's, fgsd_task_memory, and the command's own images) exceed
 * fgsd_memory_available.  Without this a size the machine cannot hold is
 * not refused by malloc (Linux overcommits) but ends in the OOM killer.
 * what names the image ("result", "image"). */
int cli_check_memory(const char *what, int width, int height, size_t bytes);

/* Loads only the model (for `info`).  Returns an exit code. */
int cli_model_load(const char *path, fgsd_model **model);

#endif
