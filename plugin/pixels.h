/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Pixel transfer between GIMP drawables and the engine's arrays.  Everything
 * goes through babl "R'G'B'A float" in the drawable's own colour space, so
 * 8-, 16- and 32-bit, integer and float, linear and perceptual, RGB and grey
 * drawables all arrive as sRGB-encoded values (what the network was trained
 * on) and go back in the drawable's precision.
 */
#ifndef FGSD_PLUGIN_PIXELS_H
#define FGSD_PLUGIN_PIXELS_H

#include <libgimp/gimp.h>

/* The format every transfer uses for drawable. */
const Babl *pixels_format (GimpDrawable *drawable);

/* Reads a w x h rectangle at (x, y), drawable coordinates, as RGBA float
 * (4 values a pixel).  NULL with error set when memory runs out. */
gfloat     *pixels_read_rgba (GimpDrawable *drawable, gint x, gint y, gint w, gint h,
                              GError **error);

/* Reads the image's selection mask (0..1) for a w x h rectangle at (x, y) in
 * image coordinates. */
gfloat     *pixels_read_selection (GimpImage *image, gint x, gint y, gint w, gint h,
                                   GError **error);

/* The Rec. 601 luma mean and population standard deviation of all of
 * drawable (as the engine measures an image it restyles; clamp: each
 * channel clamped to [0, 1] first, as the run reads the layer), read tile
 * by tile. */
void        pixels_luma_stats (GimpDrawable *drawable, gboolean clamp, gdouble *mean,
                               gdouble *std);

/* Writes RGBA float (in the format of like) to all of drawable. */
void        pixels_write_rgba (GimpDrawable *drawable, GimpDrawable *like, const gfloat *rgba);

/* Splits RGBA into RGB (3 a pixel), optionally clamping to [0, 1].  Returns
 * NULL with error set when memory runs out. */
gfloat     *pixels_rgba_to_rgb (const gfloat *rgba, gsize n, gboolean clamp, GError **error);

/* Joins RGB (clamped to [0, 1]) with alpha taken from alpha_rgba (the A of
 * an RGBA array; NULL = opaque) into a new RGBA array. */
gfloat     *pixels_rgb_to_rgba (const gfloat *rgb, const gfloat *alpha_rgba, gsize n,
                                GError **error);

/* w * h, or 0 with error set when it cannot be allocated as 4 floats. */
gsize       pixels_count (gint w, gint h, GError **error);

#endif
