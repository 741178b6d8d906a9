/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Default model lookup (see model_path.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "model_path.h"

#include "cli.h"

#include <stdlib.h>
#include <unistd.h>

/* Both come from meson: the install datadir and the source root. */
#ifndef FGSD_DATADIR
#error "FGSD_DATADIR must be defined by the build"
#endif
#ifndef FGSD_SOURCE_DIR
#error "FGSD_SOURCE_DIR must be defined by the build"
#endif

#define INSTALLED_MODEL FGSD_DATADIR "/default.fgsd"
#define SOURCE_MODEL FGSD_SOURCE_DIR "/models/default.fgsd"

const char *model_path_resolve(const char *given, const char **source)
{
    const char *env = getenv("FGSD_MODEL");

    if (given) {
        *source = "--model";
        return given;
    }
    if (env && *env) {
        *source = "$FGSD_MODEL";
        return env;
    }
    if (access(INSTALLED_MODEL, R_OK) == 0) {
        *source = "installed default";
        return INSTALLED_MODEL;
    }
    if (access(SOURCE_MODEL, R_OK) == 0) {
        *source = "source tree default";
        return SOURCE_MODEL;
    }
    *source = NULL;
    cli_error("no model: pass --model, set FGSD_MODEL, or install %s (also looked for %s)",
              INSTALLED_MODEL, SOURCE_MODEL);
    return NULL;
}
