/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Reads the reference texture: the current selection on a drawable.  Only
 * selected pixels count (the engine weights phi by the mask); transparent
 * pixels count for as much as they are opaque.  No selection is an error,
 * not "the whole layer": an accidental whole-layer reference of a mixed
 * picture gives a muddy average texture.
 */
#include "plugin-config.h"

#include <string.h>

#include <fgsd.h>

#include "pixels.h"
#include "plugin.h"
#include "reference.h"

static gchar *
drawable_name (GimpDrawable *drawable)
{
  return g_strdup (gimp_item_get_name (GIMP_ITEM (drawable)));
}

gboolean
reference_check (GimpImage *image, GimpDrawable *drawable, FgsdReference *ref, GError **error)
{
  gchar *name;
  gint   x, y, w, h;

  memset (ref, 0, sizeof *ref);
  if (gimp_selection_is_empty (image))
    {
      g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_SELECTION,
                   _("There is no selection. Select an area that shows the reference "
                     "texture (at least %d × %d pixels), for example with the Rectangle "
                     "Select tool, then run the filter again."),
                   FGSD_MIN_REFERENCE_SIDE, FGSD_MIN_REFERENCE_SIDE);
      return FALSE;
    }
  name = drawable_name (drawable);
  if (! gimp_drawable_mask_intersect (drawable, &x, &y, &w, &h))
    {
      g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_SELECTION,
                   _("The selection does not overlap the layer “%s”. Select part of the "
                     "reference texture on that layer."),
                   name);
      g_free (name);
      return FALSE;
    }
  if (w < FGSD_MIN_REFERENCE_SIDE || h < FGSD_MIN_REFERENCE_SIDE)
    {
      g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_SELECTION,
                   _("The selection on “%s” is too small (%d × %d pixels). The network "
                     "needs a reference of at least %d × %d pixels with %d pixels "
                     "selected."),
                   name, w, h, FGSD_MIN_REFERENCE_SIDE, FGSD_MIN_REFERENCE_SIDE,
                   FGSD_MIN_REFERENCE_PIXELS);
      g_free (name);
      return FALSE;
    }
  g_free (name);
  ref->x      = x;
  ref->y      = y;
  ref->width  = w;
  ref->height = h;
  return TRUE;
}

/* mask = selection value x alpha; returns the sum. */
static gdouble
weigh (gfloat *mask, const gfloat *rgba, gsize n)
{
  gdouble sum = 0.0;

  for (gsize i = 0; i < n; i++)
    {
      gfloat a = CLAMP (rgba[i * 4 + 3], 0.0f, 1.0f);
      gfloat m = CLAMP (mask[i], 0.0f, 1.0f) * a;

      mask[i] = m;
      sum += m;
    }
  return sum;
}

/* ref->mask <- selection x alpha (or alpha alone when mask is NULL on
 * entry), ref->rgb from rgba; checks the selected pixel count.  Takes
 * rgba. */
static gboolean
reference_finish (GimpDrawable *drawable, FgsdReference *ref, gfloat *rgba, GError **error)
{
  gsize  n = (gsize) ref->width * (gsize) ref->height;
  gchar *name;

  if (! ref->mask)
    {
      ref->mask = g_try_new (gfloat, n);
      if (! ref->mask)
        {
          g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_MEMORY,
                       _("Not enough memory for a %d × %d reference."), ref->width,
                       ref->height);
          goto fail;
        }
      for (gsize i = 0; i < n; i++)
        ref->mask[i] = 1.0f;
    }
  ref->selected = weigh (ref->mask, rgba, n);
  if (ref->selected < FGSD_MIN_REFERENCE_PIXELS)
    {
      name = drawable_name (drawable);
      g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_SELECTION,
                   _("The selection on “%s” holds only about %.0f opaque selected pixels. "
                     "The network needs a reference of at least %d × %d pixels with %d "
                     "pixels selected."),
                   name, ref->selected, FGSD_MIN_REFERENCE_SIDE, FGSD_MIN_REFERENCE_SIDE,
                   FGSD_MIN_REFERENCE_PIXELS);
      g_free (name);
      goto fail;
    }
  ref->rgb = pixels_rgba_to_rgb (rgba, n, TRUE, error);
  if (! ref->rgb)
    goto fail;
  g_free (rgba);
  return TRUE;

fail:
  g_free (rgba);
  reference_clear (ref);
  return FALSE;
}

gboolean
reference_read_layer (GimpDrawable *drawable, FgsdReference *ref, GError **error)
{
  gfloat *rgba;
  gchar  *name;

  memset (ref, 0, sizeof *ref);
  ref->width  = gimp_drawable_get_width (drawable);
  ref->height = gimp_drawable_get_height (drawable);
  if (ref->width < FGSD_MIN_REFERENCE_SIDE || ref->height < FGSD_MIN_REFERENCE_SIDE)
    {
      name = drawable_name (drawable);
      g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_SELECTION,
                   _("The reference layer “%s” is too small (%d × %d pixels). The "
                     "network needs a reference of at least %d × %d pixels."),
                   name, ref->width, ref->height, FGSD_MIN_REFERENCE_SIDE,
                   FGSD_MIN_REFERENCE_SIDE);
      g_free (name);
      return FALSE;
    }
  rgba = pixels_read_rgba (drawable, 0, 0, ref->width, ref->height, error);
  if (! rgba)
    return FALSE;
  return reference_finish (drawable, ref, rgba, error);
}

gboolean
reference_read (GimpImage *image, GimpDrawable *drawable, FgsdReference *ref, GError **error)
{
  gfloat *rgba = NULL;
  gint    offx, offy;

  if (! reference_check (image, drawable, ref, error))
    return FALSE;
  gimp_drawable_get_offsets (drawable, &offx, &offy);

  rgba = pixels_read_rgba (drawable, ref->x, ref->y, ref->width, ref->height, error);
  if (! rgba)
    goto fail;
  ref->mask = pixels_read_selection (image, ref->x + offx, ref->y + offy, ref->width,
                                     ref->height, error);
  if (! ref->mask)
    goto fail;
  return reference_finish (drawable, ref, rgba, error);

fail:
  g_free (rgba);
  reference_clear (ref);
  return FALSE;
}

void
reference_clear (FgsdReference *ref)
{
  g_clear_pointer (&ref->rgb, g_free);
  g_clear_pointer (&ref->mask, g_free);
}
