/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * plug-in-fgsd-restyle: redraws the active layer in the texture of the
 * selection (on "reference-layer", or on the layer itself).  The sampler
 * starts from the layer plus noise of std "strength" (method.md section 5,
 * last paragraph; the paper's appendix figures 12-13) and keeps the layer's
 * low frequencies, its colour layout (fgsd_sampler_params
 * .keep_low_frequencies): low strength keeps its shapes and adds the
 * reference's detail, high strength keeps little but its colours.  The
 * result goes into a new layer above (same size, position and alpha).
 */
#include "plugin-config.h"

#include <libgimp/gimpui.h>

#include "../ui/dialog.h"
#include "args.h"
#include "engine.h"
#include "output.h"
#include "pixels.h"
#include "plugin.h"
#include "reference.h"

static gchar *
summary (GimpLayer *layer)
{
  gchar *name = g_markup_escape_text (gimp_item_get_name (GIMP_ITEM (layer)), -1);
  gchar *text = g_strdup_printf (_("Restyling <b>%s</b> into a new layer above it, in the "
                                   "texture of the selection on the reference layer or, if "
                                   "none is chosen, on <b>%s</b> itself."),
                                 name, name);

  g_free (name);
  return text;
}

static GimpValueArray *
restyle_run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
             GimpDrawable **drawables, GimpProcedureConfig *config, gpointer data)
{
  GimpPDBStatusType   status = GIMP_PDB_EXECUTION_ERROR;
  FgsdArgs            args   = { 0 };
  FgsdReference       ref    = { 0 };
  FgsdEngine          engine = { 0 };
  fgsd_sampler_params params;
  GimpLayer          *layer;
  GimpDrawable       *reference;
  GimpLayer          *result = NULL;
  gfloat             *phi    = NULL;
  gfloat             *in     = NULL; /* the layer, RGBA */
  gfloat             *in_rgb = NULL;
  gfloat             *rgb    = NULL;
  gfloat             *rgba   = NULL;
  gchar              *name   = NULL;
  GError             *error  = NULL;
  guint32             seed   = 0;
  const gchar        *label;
  gint                w, h, offx, offy;

  gegl_init (NULL, NULL);
  label = _("Restyling");
  if (! plugin_check_image (image, &error) ||
      ! (layer = plugin_single_layer (image, drawables, &error)))
    {
      status = GIMP_PDB_CALLING_ERROR;
      goto out;
    }
  /* The reference layer is known only after the dialog; say now if there
   * is no selection at all. */
  if (gimp_selection_is_empty (image) &&
      ! reference_check (image, GIMP_DRAWABLE (layer), &ref, &error))
    goto out;

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gchar   *text = summary (layer);
      gboolean ok;

      gimp_ui_init (PLUG_IN_BINARY);
      ok = fgsd_dialog_run (procedure, config, FGSD_DIALOG_RESTYLE, text);
      g_free (text);
      if (! ok)
        {
          status = GIMP_PDB_CANCEL;
          goto out;
        }
    }
  args_read (config, &args);
  reference = GIMP_DRAWABLE (args.reference_layer ? args.reference_layer : layer);
  if (! plugin_check_layer (image, reference, &error))
    {
      status = GIMP_PDB_CALLING_ERROR;
      goto out;
    }

  w = gimp_drawable_get_width (GIMP_DRAWABLE (layer));
  h = gimp_drawable_get_height (GIMP_DRAWABLE (layer));
  if (! engine_check_memory (w, h, ENGINE_FLOATS_PER_PIXEL_DENOISE + 1, &error))
    goto out;
  gimp_progress_init (label);
  if (! reference_read (image, reference, &ref, &error) ||
      ! (in = pixels_read_rgba (GIMP_DRAWABLE (layer), 0, 0, w, h, &error)) ||
      ! (in_rgb = pixels_rgba_to_rgb (in, (gsize) w * (gsize) h, TRUE, &error)) ||
      ! engine_open (&engine, args.model, args_backend (&args), run_mode, label, &error))
    goto out;
  engine_set_progress_range (&engine, 0.0, 0.05);
  if (! engine_features (&engine, &ref, &phi, &error))
    goto out;
  reference_clear (&ref);

  seed                        = args_pick_seed (&args);
  params                      = args_sampler (&args, seed);
  params.init                 = in_rgb;
  params.keep_low_frequencies = 1;
  engine_set_progress_range (&engine, 0.05, 1.0);
  if (! engine_sample (&engine, &params, phi, w, h, &rgb, NULL, &error) ||
      ! (rgba = pixels_rgb_to_rgba (rgb, in, (gsize) w * (gsize) h, &error)))
    goto out;

  gimp_drawable_get_offsets (GIMP_DRAWABLE (layer), &offx, &offy);
  name = g_strdup_printf (_("%s restyled (strength %.2f, seed %u)"),
                          gimp_item_get_name (GIMP_ITEM (layer)), args.noise_level, seed);
  {
    FgsdOutput out = {
      .image     = image,
      .above     = GIMP_DRAWABLE (layer),
      .like      = GIMP_DRAWABLE (layer),
      .name      = name,
      .width     = w,
      .height    = h,
      .offset_x  = offx,
      .offset_y  = offy,
      .new_image = args.output == ARGS_OUTPUT_NEW_IMAGE,
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
  g_free (in_rgb);
  g_free (in);
  g_free (phi);
  engine_close (&engine);
  reference_clear (&ref);
  args_clear (&args);
  return plugin_return (procedure, status, error, result, seed);
}

GimpProcedure *
procedure_restyle_new (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = plugin_procedure_new (plug_in, PROC_RESTYLE, restyle_run);
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, _("_Restyle with Texture (FGSD)..."));
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Artistic");
  gimp_procedure_set_documentation (
    procedure, _("Redraw a layer in the texture of the selected area"),
    _("The active layer is redrawn by the diffusion sampler, started from the layer plus "
      "noise of std \"strength\" and guided by the texture of the selection on "
      "\"reference-layer\" (or on the active layer itself when none is given; at least "
      "32 × 32 pixels with 1024 selected). The layer's colour layout is kept: low "
      "strength (0.1-0.3) keeps its shapes and adds the reference's detail, high strength "
      "(1 and up) keeps little but its colours. The result goes into a new layer above "
      "(same size, position and alpha) or a new image; the layer is not changed. Returns "
      "the new layer and the seed used."),
    PROC_RESTYLE);
  args_add (procedure, ARGS_TASK_RESTYLE);
  plugin_add_return_values (procedure);
  return procedure;
}
