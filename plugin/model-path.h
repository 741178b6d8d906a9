/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Where the model file comes from: the "model" argument, else $FGSD_MODEL
 * (as the CLI), else default.fgsd beside the plug-in executable (user
 * installs), else <datadir>/fgsd/default.fgsd (system installs).
 */
#ifndef FGSD_PLUGIN_MODEL_PATH_H
#define FGSD_PLUGIN_MODEL_PATH_H

#include <libgimp/gimp.h>

#define MODEL_DEFAULT_NAME "default.fgsd"

/* A newly allocated local path, or NULL with error set. */
gchar *model_path_resolve (GFile *model, GError **error);

#endif
