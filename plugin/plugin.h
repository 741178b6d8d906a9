/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Shared declarations of the fgsd GIMP plug-in: procedure names, the error
 * domain and the procedures' create functions.
 */
#ifndef FGSD_PLUGIN_H
#define FGSD_PLUGIN_H

#include <libgimp/gimp.h>

#include "i18n.h"

/* Executable name == its folder name under plug-ins/ (GIMP 3 requires it). */
#define PLUG_IN_BINARY "fgsd"
#define PLUG_IN_ROLE   "fgsd"

#define PROC_SYNTHESIZE  "plug-in-fgsd-synthesize"
#define PROC_DENOISE     "plug-in-fgsd-denoise"
#define PROC_INTERPOLATE "plug-in-fgsd-interpolate"
#define PROC_HEAL        "plug-in-fgsd-heal"
#define PROC_RESTYLE     "plug-in-fgsd-restyle"

#define FGSD_PLUGIN_ERROR (fgsd_plugin_error_quark ())

typedef enum
{
  FGSD_PLUGIN_ERROR_INPUT,      /* bad drawable, image type or parameter */
  FGSD_PLUGIN_ERROR_SELECTION,  /* no selection, or one too small */
  FGSD_PLUGIN_ERROR_MODEL,      /* model file missing or unreadable */
  FGSD_PLUGIN_ERROR_ENGINE,     /* the engine failed (message says why) */
  FGSD_PLUGIN_ERROR_MEMORY      /* an allocation failed */
} FgsdPluginError;

GQuark          fgsd_plugin_error_quark (void);

GimpProcedure  *procedure_synthesize_new  (GimpPlugIn *plug_in);
GimpProcedure  *procedure_denoise_new     (GimpPlugIn *plug_in);
GimpProcedure  *procedure_interpolate_new (GimpPlugIn *plug_in);
GimpProcedure  *procedure_heal_new        (GimpPlugIn *plug_in);
GimpProcedure  *procedure_restyle_new     (GimpPlugIn *plug_in);

/* A new image procedure with what the three share: image types (RGB and
 * grey, with or without alpha; not indexed) and attribution. */
GimpProcedure  *plugin_procedure_new (GimpPlugIn *plug_in, const gchar *name,
                                      GimpRunImageFunc run);

/* Common checks of the image and the drawables a procedure was called on;
 * each sets a translated message in error and returns FALSE on failure. */
gboolean        plugin_check_image   (GimpImage *image, GError **error);
GimpLayer      *plugin_single_layer  (GimpImage *image, GimpDrawable **drawables,
                                      GError **error);
/* Interpolation: two or more different layers, returned (g_free the array)
 * from the top of the stack down, whatever order drawables has: the first
 * is texture A.  *n_layers receives their number. */
GimpLayer     **plugin_layers_top_down (GimpImage *image, GimpDrawable **drawables,
                                        gint *n_layers, GError **error);
gboolean        plugin_check_layer   (GimpImage *image, GimpDrawable *drawable,
                                      GError **error);

/* Declares the return values "layer" and "seed" shared by the procedures. */
void            plugin_add_return_values (GimpProcedure *procedure);

/* Return values of every procedure: status, the new layer, the seed used.
 * Takes error. */
GimpValueArray *plugin_return (GimpProcedure *procedure, GimpPDBStatusType status,
                               GError *error, GimpLayer *layer, guint32 seed);

#endif
