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
#define MODEL_GUIDE_NAME   "uncond.fgsd"

/* A newly allocated local path, or NULL with error set: model, or when it is
 * NULL or empty $FGSD_MODEL, else default.fgsd beside the plug-in, else in
 * FGSD_DATADIR. */
gchar *model_path_resolve (GFile *model, GError **error);

/* The same for guidance's model: $FGSD_GUIDE_MODEL, else uncond.fgsd (the
 * baseline installed beside the default model). */
gchar *model_path_resolve_guide (GFile *model, GError **error);

#endif
