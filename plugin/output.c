/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "plugin-config.h"

#include "output.h"
#include "pixels.h"
#include "plugin.h"

static GimpImageType
layer_type (GimpImage *image)
{
  /* Always with alpha: an opaque result the user can erase into.  Indexed
   * images never get here (plugin_check_image). */
  return gimp_image_get_base_type (image) == GIMP_GRAY ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE;
}

static GimpLayer *
new_layer (GimpImage *image, const FgsdOutput *out, GError **error)
{
  GimpLayer *layer = gimp_layer_new (image, out->name, out->width, out->height,
                                     layer_type (image), 100.0,
                                     gimp_image_get_default_new_layer_mode (image));

  if (! layer)
    g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_MEMORY,
                 _("Could not create a %d × %d layer."), out->width, out->height);
  return layer;
}

static GimpLayer *
write_new_layer (const FgsdOutput *out, const gfloat *rgba, GError **error)
{
  GimpImage       *image = out->image;
  GimpItem        *parent;
  GimpLayer       *layer;
  const GimpLayer *selected[2] = { NULL, NULL };
  gint             position;

  gimp_image_undo_group_start (image);
  layer = new_layer (image, out, error);
  if (! layer)
    goto out;
  parent   = gimp_item_get_parent (GIMP_ITEM (out->above));
  position = gimp_image_get_item_position (image, GIMP_ITEM (out->above));
  if (! gimp_image_insert_layer (image, layer, parent ? GIMP_LAYER (parent) : NULL, position))
    {
      g_set_error_literal (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_INPUT,
                           _("Could not add the result layer to the image."));
      gimp_item_delete (GIMP_ITEM (layer));
      layer = NULL;
      goto out;
    }
  gimp_layer_set_offsets (layer, out->offset_x, out->offset_y);
  pixels_write_rgba (GIMP_DRAWABLE (layer), out->like, rgba);
  selected[0] = layer;
  gimp_image_set_selected_layers (image, selected);
out:
  gimp_image_undo_group_end (image);
  return layer;
}

static void
copy_image_settings (GimpImage *from, GimpImage *to)
{
  GimpColorProfile *profile = gimp_image_get_color_profile (from);
  gdouble           xres, yres;

  if (profile)
    {
      gimp_image_set_color_profile (to, profile);
      g_object_unref (profile);
    }
  gimp_image_get_resolution (from, &xres, &yres);
  gimp_image_set_resolution (to, xres, yres);
}

static GimpLayer *
write_new_image (const FgsdOutput *out, const gfloat *rgba, GError **error)
{
  GimpImage *image;
  GimpLayer *layer;

  image = gimp_image_new_with_precision (out->width, out->height,
                                         gimp_image_get_base_type (out->image),
                                         gimp_image_get_precision (out->image));
  if (! image)
    {
      g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_MEMORY,
                   _("Could not create a %d × %d image."), out->width, out->height);
      return NULL;
    }
  /* A new image starts with an empty undo history, as opened files do. */
  gimp_image_undo_disable (image);
  copy_image_settings (out->image, image);
  layer = new_layer (image, out, error);
  if (! layer)
    {
      gimp_image_delete (image);
      return NULL;
    }
  gimp_image_insert_layer (image, layer, NULL, 0);
  pixels_write_rgba (GIMP_DRAWABLE (layer), out->like, rgba);
  gimp_image_undo_enable (image);
  if (out->run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_display_new (image);
  return layer;
}

GimpLayer *
output_write (const FgsdOutput *out, const gfloat *rgba, GError **error)
{
  GimpLayer *layer;

  layer = out->new_image ? write_new_image (out, rgba, error)
                         : write_new_layer (out, rgba, error);
  if (layer && out->run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();
  return layer;
}
