/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The flow shared by the procedures that draw a new texture from the
 * selection on one or more layers (synthesize, interpolate): the layers
 * checked, the dialog in interactive mode, the size and memory checked,
 * each layer's selection measured and the references blended with the
 * procedure's weights, the texture drawn, the result in a new layer above
 * the top reference layer or in a new image.  Everything before the result
 * only reads the image: GIMP's Cancel kills the plug-in, and the image must
 * then be as it was.
 */
#ifndef FGSD_PLUGIN_TEXTURE_PROCEDURE_H
#define FGSD_PLUGIN_TEXTURE_PROCEDURE_H

#include <libgimp/gimp.h>

#include "args.h"
#include "procedure-kind.h"
#include "reference.h"

typedef struct
{
  FgsdProcedureKind kind;
  const gchar      *label; /* progress text, translated */
  /* The reference layers from the drawables, top down (g_free the array);
   * NULL with error when the drawables do not fit the procedure. */
  GimpLayer **(*layers) (GimpImage *image, GimpDrawable **drawables, gint *n, GError **error);
  /* The dialog's summary (Pango markup); ref is the top layer's selection. */
  gchar      *(*summary) (GimpLayer **layers, gint n, const FgsdReference *ref);
  /* The share of each of the n references; FALSE with error when the
   * arguments give none that fits. */
  gboolean    (*weights) (const FgsdArgs *args, gint n, gdouble *weights, GError **error);
  /* The new layer's name. */
  gchar      *(*name) (const gdouble *weights, gint n, guint32 seed);
} FgsdTextureProcedure;

GimpValueArray *texture_procedure_run (const FgsdTextureProcedure *tp, GimpProcedure *procedure,
                                       GimpRunMode run_mode, GimpImage *image,
                                       GimpDrawable **drawables, GimpProcedureConfig *config);

#endif
