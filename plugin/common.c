/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What the procedures share around the engine work: input checks and
 * the return values.  Menus
 * are greyed by image type and drawable count, but scripts can call a
 * procedure on anything, so every run checks again.
 */
#include "plugin-config.h"

#include "plugin.h"

G_DEFINE_QUARK (fgsd-plugin-error-quark, fgsd_plugin_error)

GimpProcedure *
plugin_procedure_new (GimpPlugIn *plug_in, const gchar *name, GimpRunImageFunc run)
{
  GimpProcedure *procedure;

  procedure = gimp_image_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN, run, NULL,
                                        NULL);
  gimp_procedure_set_image_types (procedure, "RGB*, GRAY*");
  gimp_procedure_set_attribution (procedure, "fgsd contributors", "fgsd contributors", "2026");
  return procedure;
}

gboolean
plugin_check_image (GimpImage *image, GError **error)
{
  if (! image || ! gimp_image_is_valid (image))
    {
      g_set_error_literal (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_INPUT,
                           _("No image was given."));
      return FALSE;
    }
  if (gimp_image_get_base_type (image) == GIMP_INDEXED)
    {
      g_set_error_literal (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_INPUT,
                           _("Indexed images are not supported. Convert the image to RGB "
                             "(Image > Mode > RGB) and run the filter again."));
      return FALSE;
    }
  return TRUE;
}

gboolean
plugin_check_layer (GimpImage *image, GimpDrawable *drawable, GError **error)
{
  GimpItem *item = GIMP_ITEM (drawable);

  if (! gimp_item_is_layer (item))
    {
      g_set_error_literal (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_INPUT,
                           _("This filter works on layers; select a layer, not a channel "
                             "or a layer mask."));
      return FALSE;
    }
  if (gimp_item_is_group (item))
    {
      g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_INPUT,
                   _("“%s” is a layer group. Select a normal layer (merge the group "
                     "first if needed)."),
                   gimp_item_get_name (item));
      return FALSE;
    }
  if (gimp_image_get_id (gimp_item_get_image (item)) != gimp_image_get_id (image))
    {
      g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_INPUT,
                   _("The layer “%s” belongs to another image."), gimp_item_get_name (item));
      return FALSE;
    }
  return TRUE;
}

static gint
count (GimpDrawable **drawables)
{
  return drawables ? (gint) gimp_core_object_array_get_length ((GObject **) drawables) : 0;
}

GimpLayer *
plugin_single_layer (GimpImage *image, GimpDrawable **drawables, GError **error)
{
  gint n = count (drawables);

  if (n != 1)
    {
      g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_INPUT,
                   _("Select exactly one layer (selected now: %d)."), n);
      return NULL;
    }
  if (! plugin_check_layer (image, drawables[0], error))
    return NULL;
  return GIMP_LAYER (drawables[0]);
}

/* Positions from the root of the layer tree down to item (0 = top). */
static GArray *
stack_path (GimpImage *image, GimpItem *item)
{
  GArray *path = g_array_new (FALSE, FALSE, sizeof (gint));

  for (; item; item = gimp_item_get_parent (item))
    {
      gint position = gimp_image_get_item_position (image, item);

      g_array_prepend_val (path, position);
    }
  return path;
}

/* TRUE when a is drawn above b in the Layers dialog. */
static gboolean
is_above (GimpImage *image, GimpLayer *a, GimpLayer *b)
{
  GArray  *pa    = stack_path (image, GIMP_ITEM (a));
  GArray  *pb    = stack_path (image, GIMP_ITEM (b));
  gboolean above = pa->len < pb->len;

  for (guint i = 0; i < MIN (pa->len, pb->len); i++)
    if (g_array_index (pa, gint, i) != g_array_index (pb, gint, i))
      {
        above = g_array_index (pa, gint, i) < g_array_index (pb, gint, i);
        break;
      }
  g_array_free (pa, TRUE);
  g_array_free (pb, TRUE);
  return above;
}

GimpLayer **
plugin_layers_top_down (GimpImage *image, GimpDrawable **drawables, gint *n_layers,
                        GError **error)
{
  gint        n = count (drawables);
  GimpLayer **layers;

  if (n < 2)
    {
      g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_INPUT,
                   _("Interpolation needs two or more textures: select at least two layers "
                     "in the Layers dialog with Ctrl+click (selected now: %d). The upper "
                     "one is texture A, the lower one texture B; the same selection is "
                     "read on each."),
                   n);
      return NULL;
    }
  for (gint i = 0; i < n; i++)
    {
      if (! plugin_check_layer (image, drawables[i], error))
        return NULL;
      for (gint j = 0; j < i; j++)
        if (drawables[j] == drawables[i])
          {
            g_set_error_literal (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_INPUT,
                                 _("The textures must be different layers."));
            return NULL;
          }
    }
  /* GIMP passes selected layers in no documented order; the stack decides,
   * so the menu and scripts agree.  Insertion sort: n is small. */
  layers = g_new (GimpLayer *, n);
  for (gint i = 0; i < n; i++)
    {
      GimpLayer *l = GIMP_LAYER (drawables[i]);
      gint       j = i;

      for (; j > 0 && is_above (image, l, layers[j - 1]); j--)
        layers[j] = layers[j - 1];
      layers[j] = l;
    }
  *n_layers = n;
  return layers;
}

void
plugin_add_return_values (GimpProcedure *procedure)
{
  gimp_procedure_add_layer_return_value (procedure, "layer", _("Layer"),
                                         _("The new layer holding the result"), FALSE,
                                         G_PARAM_READWRITE);
  gimp_procedure_add_int_return_value (procedure, "seed", _("Seed"),
                                       _("The seed the run used (random-seed picks one)"), 0,
                                       G_MAXINT, 0, G_PARAM_READWRITE);
}

GimpValueArray *
plugin_return (GimpProcedure *procedure, GimpPDBStatusType status, GError *error,
               GimpLayer *layer, guint32 seed)
{
  GimpValueArray *values = gimp_procedure_new_return_values (procedure, status, error);

  if (status == GIMP_PDB_SUCCESS)
    {
      GIMP_VALUES_SET_LAYER (values, 1, layer);
      GIMP_VALUES_SET_INT (values, 2, (gint) seed);
    }
  return values;
}
