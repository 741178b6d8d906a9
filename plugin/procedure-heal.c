/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * plug-in-fgsd-heal: fills the selection on the active layer with texture
 * that continues its surroundings (fgsd_heal; docs/design.md "Heal").  The
 * texture is read from a band of "band-width" pixels around the selection,
 * or from the whole of "reference-layer".  Only the selection's bounding box
 * grown by the engine's margin is read and sampled; the result is a new
 * layer of that size right above the active one, equal to it outside the
 * selection, so the layer itself is not touched and one undo removes the
 * patch.
 */
#include "plugin-config.h"

#include <libgimp/gimpui.h>

#include "dialog.h"
#include "args.h"
#include "engine.h"
#include "output.h"
#include "pixels.h"
#include "plugin.h"
#include "reference.h"

typedef struct
{
  gint x, y, width, height; /* drawable coordinates */
} Region;

static gchar *
summary (GimpLayer *layer, gint w, gint h)
{
  gchar *name = g_markup_escape_text (gimp_item_get_name (GIMP_ITEM (layer)), -1);
  gchar *text = g_strdup_printf (_("Healing the selection (%d × %d pixels) on <b>%s</b>: it "
                                   "is filled with texture that continues its "
                                   "surroundings, in a new layer above."),
                                 w, h, name);

  g_free (name);
  return text;
}

/* The selection's bounding box on layer; a clear error when there is none. */
static gboolean
hole_box (GimpImage *image, GimpLayer *layer, Region *box, GError **error)
{
  if (gimp_selection_is_empty (image))
    {
      g_set_error_literal (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_SELECTION,
                           _("There is no selection. Select the area to heal (for example "
                             "with the Free Select tool), then run the filter again."));
      return FALSE;
    }
  if (! gimp_drawable_mask_intersect (GIMP_DRAWABLE (layer), &box->x, &box->y, &box->width,
                                      &box->height))
    {
      g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_SELECTION,
                   _("The selection does not overlap the layer “%s”. Select the area to "
                     "heal on that layer."),
                   gimp_item_get_name (GIMP_ITEM (layer)));
      return FALSE;
    }
  return TRUE;
}

/* box grown by the engine's margin (fgsd_heal: the larger of the band and
 * half the receptive field), clipped to the layer. */
static Region
grow (const Region *box, GimpLayer *layer, const FgsdEngine *engine, gint band_width)
{
  fgsd_model_info info;
  gint            lw = gimp_drawable_get_width (GIMP_DRAWABLE (layer));
  gint            lh = gimp_drawable_get_height (GIMP_DRAWABLE (layer));
  gint            margin;
  Region          r;

  fgsd_model_get_info (engine->model, &info);
  margin   = MAX (band_width, info.receptive_field / 2);
  r.x      = MAX (0, box->x - margin);
  r.y      = MAX (0, box->y - margin);
  r.width  = MIN (lw, box->x + box->width + margin) - r.x;
  r.height = MIN (lh, box->y + box->height + margin) - r.y;
  return r;
}

/* The filled pixels are opaque: a blemish is usually removed with Edit >
 * Clear, which leaves the hole transparent, and the fill must show there.
 * Where the selection is partial, the alpha moves towards 1 as much. */
static void
fill_opaque (gfloat *rgba, const gfloat *hole, gsize n)
{
  for (gsize i = 0; i < n; i++)
    rgba[4 * i + 3] += hole[i] * (1.0f - rgba[4 * i + 3]);
}

static GimpValueArray *
heal_run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
          GimpDrawable **drawables, GimpProcedureConfig *config, gpointer data)
{
  GimpPDBStatusType   status = GIMP_PDB_EXECUTION_ERROR;
  FgsdArgs            args   = { 0 };
  FgsdReference       ref    = { 0 };
  FgsdEngine          engine = { 0 };
  fgsd_sampler_params params;
  GimpLayer          *layer;
  GimpLayer          *result = NULL;
  Region              box, r;
  fgsd_reference     *reference = NULL;
  gfloat             *in     = NULL; /* the region, RGBA */
  gfloat             *in_rgb = NULL;
  gfloat             *hole   = NULL;
  gfloat             *rgb    = NULL;
  gfloat             *rgba   = NULL;
  gchar              *name   = NULL;
  GError             *error  = NULL;
  guint32             seed   = 0;
  const gchar        *label;
  gint                offx, offy;

  gegl_init (NULL, NULL);
  label = _("Healing the selection");
  if (! plugin_check_image (image, &error) ||
      ! (layer = plugin_single_layer (image, drawables, &error)))
    {
      status = GIMP_PDB_CALLING_ERROR;
      goto out;
    }
  if (! hole_box (image, layer, &box, &error))
    goto out;

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gchar   *text = summary (layer, box.width, box.height);
      gboolean ok;

      gimp_ui_init (PLUG_IN_BINARY);
      ok = fgsd_dialog_run (procedure, config, FGSD_PROC_HEAL, text);
      g_free (text);
      if (! ok)
        {
          status = GIMP_PDB_CANCEL;
          goto out;
        }
    }
  args_read (config, &args);
  if (args.reference_layer &&
      ! plugin_check_layer (image, GIMP_DRAWABLE (args.reference_layer), &error))
    {
      status = GIMP_PDB_CALLING_ERROR;
      goto out;
    }

  gimp_progress_init (label);
  if (! engine_open (&engine, args.model, args_backend (&args), run_mode, label, &error))
    goto out;
  r = grow (&box, layer, &engine, args.band_width);
  params = args_sampler (&args, 0);
  if (! engine_check_memory (FGSD_TASK_HEAL, &params, r.width, r.height,
                             ENGINE_OWN_FLOATS_HEAL, &error))
    goto out;
  gimp_drawable_get_offsets (GIMP_DRAWABLE (layer), &offx, &offy);
  if (! (in = pixels_read_rgba (GIMP_DRAWABLE (layer), r.x, r.y, r.width, r.height,
                                &error)) ||
      ! (in_rgb = pixels_rgba_to_rgb (in, (gsize) r.width * (gsize) r.height, TRUE,
                                      &error)) ||
      ! (hole = pixels_read_selection (image, r.x + offx, r.y + offy, r.width, r.height,
                                       &error)))
    goto out;
  if (args.reference_layer &&
      ! reference_read_layer (GIMP_DRAWABLE (args.reference_layer), &ref, &error))
    goto out;
  seed = args_pick_seed (&args);
  if (args.start == ARGS_START_PATCHES)
    {
      if (! engine_heal_from_patches (&engine, seed, in_rgb, hole, r.width, r.height,
                                      args.band_width, args.reference_layer ? &ref : NULL,
                                      &rgb, &error))
        goto out;
    }
  else
    {
      if (args.reference_layer)
        {
          engine_set_progress_range (&engine, 0.0, 0.05);
          if (! engine_reference (&engine, &ref, &reference, &error))
            goto out;
        }
      params = args_sampler (&args, seed);
      engine_set_progress_range (&engine, 0.05, 1.0);
      if (! engine_heal (&engine, reference, &params, in_rgb, hole, r.width, r.height,
                         args.band_width, &rgb, &error))
        goto out;
    }
  if (! (rgba = pixels_rgb_to_rgba (rgb, in, (gsize) r.width * (gsize) r.height, &error)))
    goto out;
  fill_opaque (rgba, hole, (gsize) r.width * (gsize) r.height);

  name = g_strdup_printf (_("%s healed (seed %u)"), gimp_item_get_name (GIMP_ITEM (layer)),
                          seed);
  {
    FgsdOutput out = {
      .image     = image,
      .above     = GIMP_DRAWABLE (layer),
      .like      = GIMP_DRAWABLE (layer),
      .name      = name,
      .width     = r.width,
      .height    = r.height,
      .offset_x  = offx + r.x,
      .offset_y  = offy + r.y,
      .new_image = FALSE,
      .run_mode  = run_mode,
    };
    result = output_write (&out, rgba, &error);
  }
  if (result)
    status = GIMP_PDB_SUCCESS;

out:
  gimp_progress_end ();
  g_free (name);
  g_free (rgba);
  g_free (rgb);
  g_free (hole);
  g_free (in_rgb);
  g_free (in);
  fgsd_reference_free (reference);
  engine_close (&engine);
  reference_clear (&ref);
  args_clear (&args);
  return plugin_return (procedure, status, error, result, seed);
}

GimpProcedure *
procedure_heal_new (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = plugin_procedure_new (plug_in, PROC_HEAL, heal_run);
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, _("_Heal Selection with Texture (FGSD)..."));
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Enhance");
  gimp_procedure_set_documentation (
    procedure, _("Fill the selection with texture that continues its surroundings"),
    _("The selection on the active layer is the hole. It is filled by the diffusion "
      "sampler while the pixels around it stay fixed, so the new texture continues them. "
      "The texture to follow is read from a band of \"band-width\" pixels around the "
      "selection (at least 1024 pixels), or from the whole of \"reference-layer\" when "
      "given. The result is a new layer right above the active one covering the selection "
      "and its surroundings, equal to the layer outside the selection; the layer itself "
      "is not changed. Returns the new layer and the seed used."),
    PROC_HEAL);
  args_add (procedure, FGSD_PROC_HEAL);
  plugin_add_return_values (procedure);
  return procedure;
}
