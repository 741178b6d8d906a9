/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Puts a result into GIMP: a new layer above a given one, inside one undo
 * group, or a new image (with the source's precision, colour profile and
 * resolution, and no undo history).  Called last in every procedure, after
 * all computing is done, so a cancelled run (GIMP kills the plug-in) leaves
 * the image exactly as it was.
 */
#ifndef FGSD_PLUGIN_OUTPUT_H
#define FGSD_PLUGIN_OUTPUT_H

#include <libgimp/gimp.h>

typedef struct
{
  GimpImage    *image;     /* the source image */
  GimpDrawable *above;     /* the new layer goes right above this one */
  GimpDrawable *like;      /* the pixels are in pixels_format (like) */
  const gchar  *name;      /* layer name */
  gint          width;
  gint          height;
  gint          offset_x;  /* image coordinates of a new layer */
  gint          offset_y;
  gboolean      new_image;
  GimpRunMode   run_mode;
} FgsdOutput;

/* rgba: width * height * 4 floats.  Returns the new layer (owned by GIMP). */
GimpLayer *output_write (const FgsdOutput *out, const gfloat *rgba, GError **error);

#endif
