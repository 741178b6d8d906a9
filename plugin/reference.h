/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Selection -> reference: the selected pixels of a drawable, cut to the
 * selection's bounding box, with a weight per pixel (selection value times
 * the drawable's alpha) that fgsd_features uses as its mask.
 */
#ifndef FGSD_PLUGIN_REFERENCE_H
#define FGSD_PLUGIN_REFERENCE_H

#include <libgimp/gimp.h>

typedef struct
{
  gint    x, y;          /* bounding box in drawable coordinates */
  gint    width, height;
  gfloat *rgb;           /* width * height * 3, sRGB-encoded, in [0, 1] */
  gfloat *mask;          /* width * height, in [0, 1] */
  gdouble selected;      /* sum of mask: the number of selected pixels */
} FgsdReference;

/* Checks, without reading pixels, that drawable has a selection over it whose
 * bounding box is at least FGSD_MIN_REFERENCE_SIDE on each side; on success
 * stores the box (drawable coordinates) in ref. */
gboolean reference_check (GimpImage *image, GimpDrawable *drawable, FgsdReference *ref,
                          GError **error);

/* reference_check, then reads the pixels and the mask and checks that at
 * least FGSD_MIN_REFERENCE_PIXELS pixels are selected. */
gboolean reference_read  (GimpImage *image, GimpDrawable *drawable, FgsdReference *ref,
                          GError **error);

/* The whole of drawable as a reference, weighted by its alpha only (for a
 * reference layer when the selection has another job, as in healing). */
gboolean reference_read_layer (GimpDrawable *drawable, FgsdReference *ref, GError **error);

void     reference_clear (FgsdReference *ref);

#endif
