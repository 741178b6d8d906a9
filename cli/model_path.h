/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Which model file a command uses when --model is not given.
 */
#ifndef FGSD_CLI_MODEL_PATH_H
#define FGSD_CLI_MODEL_PATH_H

/* Returns given when not NULL; else $FGSD_MODEL when set (even if missing:
 * an explicit choice must not silently fall through); else the installed
 * default (FGSD_DATADIR/default.fgsd) when it exists; else the source tree's
 * models/default.fgsd when it exists, for runs from the build folder.
 * *source names where the path came from.  NULL when none is found (an
 * error line listing the places looked at is printed). */
const char *model_path_resolve(const char *given, const char **source);

#endif
