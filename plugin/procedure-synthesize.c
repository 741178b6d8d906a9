/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * plug-in-fgsd-synthesize: a new texture like the selected area of the
 * active layer (paper Algorithm 1 conditioned on phi of the selection).
 * The source layer is only read.
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

static gchar *
summary (GimpLayer *layer, const FgsdReference *ref)
{
  gchar *name = g_markup_escape_text (gimp_item_get_name (GIMP_ITEM (layer)), -1);
  gchar *text = g_strdup_printf (_("Reference: the selection on <b>%s</b> (%d × %d pixels). "
                                   "A new texture like it is rendered into a new layer."),
                                 name, ref->width, ref->height);

  g_free (name);
  return text;
}

static GimpValueArray *
synthesize_run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
                GimpDrawable **drawables, GimpProcedureConfig *config, gpointer data)
{
  GimpPDBStatusType   status = GIMP_PDB_EXECUTION_ERROR;
  FgsdArgs            args   = { 0 };
  FgsdReference       ref    = { 0 };
  FgsdEngine          engine = { 0 };
  fgsd_sampler_params params;
  GimpLayer          *source;
  GimpLayer          *result = NULL;
  fgsd_reference     *reference = NULL;
  gfloat             *rgb    = NULL;
  gfloat             *rgba   = NULL;
  gchar              *name   = NULL;
  GError             *error  = NULL;
  guint32             seed   = 0;
  const gchar        *label;
  gint                w, h;

  gegl_init (NULL, NULL);
  label = _("Synthesizing texture");
  if (! plugin_check_image (image, &error) ||
      ! (source = plugin_single_layer (image, drawables, &error)))
    {
      status = GIMP_PDB_CALLING_ERROR;
      goto out;
    }
  if (! reference_check (image, GIMP_DRAWABLE (source), &ref, &error))
    goto out;

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gchar   *text = summary (source, &ref);
      gboolean ok;

      gimp_ui_init (PLUG_IN_BINARY);
      args_fill_size (config, image);
      ok = fgsd_dialog_run (procedure, config, FGSD_PROC_SYNTHESIZE, text);
      g_free (text);
      if (! ok)
        {
          status = GIMP_PDB_CANCEL;
          goto out;
        }
    }
  args_read (config, &args);
  w = args.width > 0 ? args.width : gimp_image_get_width (image);
  h = args.height > 0 ? args.height : gimp_image_get_height (image);
  params = args_sampler (&args, 0);
  if (! engine_check_memory (FGSD_TASK_SYNTHESIZE, &params, w, h, ENGINE_OWN_FLOATS_SYNTH,
                             &error))
    goto out;

  /* Everything up to output_write only reads the image: GIMP's Cancel kills
   * the plug-in, and the image must then be as it was. */
  gimp_progress_init (label);
  if (! reference_read (image, GIMP_DRAWABLE (source), &ref, &error) ||
      ! engine_open (&engine, args.model, args_backend (&args), run_mode, label,
                     &error) ||
      (args.guidance > 1.0 && ! engine_open_guide (&engine, args.guide_model,
                                                   args_backend (&args), run_mode, &error)))
    goto out;
  engine_set_progress_range (&engine, 0.0, 0.05);
  if (! engine_reference (&engine, &ref, &reference, &error))
    goto out;
  reference_clear (&ref);

  seed   = args_pick_seed (&args);
  params = args_sampler (&args, seed);
  engine_set_progress_range (&engine, 0.05, 1.0);
  if (! engine_synthesize (&engine, reference, &params, w, h, &rgb, &error) ||
      ! (rgba = pixels_rgb_to_rgba (rgb, NULL, (gsize) w * (gsize) h, &error)))
    goto out;

  name = g_strdup_printf (_("Texture (seed %u)"), seed);
  {
    FgsdOutput out = {
      .image     = image,
      .above     = GIMP_DRAWABLE (source),
      .like      = GIMP_DRAWABLE (source),
      .name      = name,
      .width     = w,
      .height    = h,
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
  fgsd_reference_free (reference);
  engine_close (&engine);
  reference_clear (&ref);
  args_clear (&args);
  return plugin_return (procedure, status, error, result, seed);
}

GimpProcedure *
procedure_synthesize_new (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = plugin_procedure_new (plug_in, PROC_SYNTHESIZE, synthesize_run);
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, _("_Texture from Selection (FGSD)..."));
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Render");
  gimp_procedure_set_documentation (
    procedure, _("Render a new texture that looks like the selected area"),
    _("Feature-guided score diffusion: the selected area of the active layer is the "
      "reference (only selected pixels count, weighted by the selection and the layer's "
      "alpha; at least 32 × 32 pixels with 1024 selected). A texture of the given size "
      "is grown from noise by a denoising network steered towards the reference's "
      "features, and put into a new layer above the source (or a new image). The source "
      "layer is not changed. Returns the new layer and the seed used."),
    PROC_SYNTHESIZE);
  args_add (procedure, FGSD_PROC_SYNTHESIZE);
  plugin_add_return_values (procedure);
  return procedure;
}
