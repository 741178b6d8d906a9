/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GEGL buffer reads and writes in "R'G'B'A float" with the drawable's space
 * (gimp3-plugin-notes.md section 4): babl converts from and to whatever
 * precision, TRC and base type the drawable has.  Grey drawables come out
 * with R = G = B and take back the luminance of what is written.
 */
#include "plugin-config.h"

#include <math.h>

#include <fgsd.h>

#include "pixels.h"
#include "plugin.h"

const Babl *
pixels_format (GimpDrawable *drawable)
{
  return babl_format_with_space ("R'G'B'A float", gimp_drawable_get_format (drawable));
}

gsize
pixels_count (gint w, gint h, GError **error)
{
  /* Sides are bounded by GIMP (524288) and the engine; the product times
   * 4 floats must still fit a gsize on 32-bit hosts. */
  if (w <= 0 || h <= 0 || (gsize) w > G_MAXSIZE / 16 / (gsize) h)
    {
      g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_MEMORY,
                   _("The area of %d × %d pixels is too large."), w, h);
      return 0;
    }
  return (gsize) w * (gsize) h;
}

static gfloat *
alloc_floats (gsize n, GError **error)
{
  gfloat *p = g_try_new (gfloat, n);

  if (! p)
    g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_MEMORY,
                 _("Not enough memory (%lu MB needed)."),
                 (unsigned long) (n * sizeof (gfloat) / (1024 * 1024) + 1));
  return p;
}

gfloat *
pixels_read_rgba (GimpDrawable *drawable, gint x, gint y, gint w, gint h, GError **error)
{
  gsize       n = pixels_count (w, h, error);
  gfloat     *px;
  GeglBuffer *buffer;

  if (n == 0 || ! (px = alloc_floats (n * 4, error)))
    return NULL;
  buffer = gimp_drawable_get_buffer (drawable);
  gegl_buffer_get (buffer, GEGL_RECTANGLE (x, y, w, h), 1.0, pixels_format (drawable), px,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref (buffer);
  return px;
}

gfloat *
pixels_read_selection (GimpImage *image, gint x, gint y, gint w, gint h, GError **error)
{
  gsize          n = pixels_count (w, h, error);
  gfloat        *mask;
  GimpSelection *selection;
  GeglBuffer    *buffer;

  if (n == 0 || ! (mask = alloc_floats (n, error)))
    return NULL;
  selection = gimp_image_get_selection (image);
  buffer    = gimp_drawable_get_buffer (GIMP_DRAWABLE (selection));
  gegl_buffer_get (buffer, GEGL_RECTANGLE (x, y, w, h), 1.0, babl_format ("Y float"), mask,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref (buffer);
  return mask;
}

void
pixels_luma_stats (GimpDrawable *drawable, gboolean clamp, gdouble *mean, gdouble *std)
{
  GeglBuffer         *buffer = gimp_drawable_get_buffer (drawable);
  GeglBufferIterator *it;
  gdouble             sum = 0.0, sq = 0.0, n = 0.0;

  it = gegl_buffer_iterator_new (buffer, gegl_buffer_get_extent (buffer), 0,
                                 pixels_format (drawable), GEGL_ACCESS_READ, GEGL_ABYSS_NONE, 1);
  while (gegl_buffer_iterator_next (it))
    {
      const gfloat *px = it->items[0].data;

      for (gint i = 0; i < it->length; i++, px += 4)
        {
          gfloat  r = clamp ? CLAMP (px[0], 0.0f, 1.0f) : px[0];
          gfloat  g = clamp ? CLAMP (px[1], 0.0f, 1.0f) : px[1];
          gfloat  b = clamp ? CLAMP (px[2], 0.0f, 1.0f) : px[2];
          gdouble y = fgsd_luma (r, g, b);

          sum += y;
          sq  += y * y;
        }
      n += it->length;
    }
  g_object_unref (buffer);
  *mean = n > 0.0 ? sum / n : 0.0;
  /* one pass: the engine's two passes differ in the last digits only */
  *std = n > 0.0 ? sqrt (MAX (sq / n - *mean * *mean, 0.0)) : 0.0;
}

void
pixels_write_rgba (GimpDrawable *drawable, GimpDrawable *like, const gfloat *rgba)
{
  gint        w      = gimp_drawable_get_width (drawable);
  gint        h      = gimp_drawable_get_height (drawable);
  GeglBuffer *buffer = gimp_drawable_get_buffer (drawable);

  gegl_buffer_set (buffer, GEGL_RECTANGLE (0, 0, w, h), 0, pixels_format (like), rgba,
                   GEGL_AUTO_ROWSTRIDE);
  g_object_unref (buffer); /* flushes the tiles to GIMP */
  gimp_drawable_update (drawable, 0, 0, w, h);
}

static inline gfloat
clamp01 (gfloat v)
{
  /* NaN compares false both ways and becomes 0. */
  return v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;
}

gfloat *
pixels_rgba_to_rgb (const gfloat *rgba, gsize n, gboolean clamp, GError **error)
{
  gfloat *rgb = alloc_floats (n * 3, error);

  if (! rgb)
    return NULL;
  for (gsize i = 0; i < n; i++)
    for (gint c = 0; c < 3; c++)
      rgb[i * 3 + c] = clamp ? clamp01 (rgba[i * 4 + c]) : rgba[i * 4 + c];
  return rgb;
}

gfloat *
pixels_rgb_to_rgba (const gfloat *rgb, const gfloat *alpha_rgba, gsize n, GError **error)
{
  gfloat *rgba = alloc_floats (n * 4, error);

  if (! rgba)
    return NULL;
  for (gsize i = 0; i < n; i++)
    {
      for (gint c = 0; c < 3; c++)
        rgba[i * 4 + c] = clamp01 (rgb[i * 3 + c]);
      rgba[i * 4 + 3] = alpha_rgba ? alpha_rgba[i * 4 + 3] : 1.0f;
    }
  return rgba;
}
