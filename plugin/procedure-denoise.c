/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * plug-in-fgsd-denoise: the active layer is the noisy one; the reference is
 * the selection, read on "reference-layer" (a clean layer) or, when that is
 * none, on the noisy layer itself (a clean part of it).  The whole noisy
 * layer is denoised into a new layer right above it, with the same size,
 * offsets and alpha.
 *
 * The denoiser is blind (method.md section 1): it measures the noise itself.
 * The layer's noise sigma ("noise-level", 0 = estimate it with
 * fgsd_estimate_sigma) only chooses the path: at or below "final-noise" one
 * denoiser pass is enough; above it the sampler starts from the noisy layer
 * (init = layer, sigma0 = 0; method.md section 5, last paragraph) and walks
 * down to final-noise, which removes strong noise better and adds detail of
 * the reference.
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
summary (GimpLayer *noisy)
{
  gchar *name = g_markup_escape_text (gimp_item_get_name (GIMP_ITEM (noisy)), -1);
  gchar *text = g_strdup_printf (_("Denoising <b>%s</b> into a new layer above it. The "
                                   "reference is the selection, on the reference layer or, "
                                   "if none is chosen, on a clean part of <b>%s</b>."),
                                 name, name);

  g_free (name);
  return text;
}

/* The layer's noise: the given one, or the network's estimate. */
static gboolean
noise_level (FgsdEngine *engine, const FgsdArgs *args, const gfloat *rgb, gint w, gint h,
             gfloat *sigma, GError **error)
{
  if (args->noise_level > 0.0)
    {
      *sigma = (gfloat) args->noise_level;
      return TRUE;
    }
  gimp_progress_set_text (_("Estimating the noise level"));
  return engine_estimate_sigma (engine, rgb, w, h, sigma, error);
}

static gboolean
denoise (FgsdEngine *engine, const FgsdArgs *args, const gfloat *phi, const gfloat *noisy,
         gint w, gint h, guint32 seed, gfloat **rgb, gfloat *sigma, GError **error)
{
  fgsd_sampler_params params;

  engine_set_progress_range (engine, 0.05, 0.1);
  if (! noise_level (engine, args, noisy, w, h, sigma, error))
    return FALSE;
  engine_set_progress_range (engine, 0.1, 1.0);
  if (*sigma <= args->final_noise)
    return engine_denoise (engine, noisy, w, h, phi, rgb, error);

  params        = args_sampler (args, seed);
  params.init   = noisy;
  params.sigma0 = 0.0f;
  return engine_sample (engine, &params, phi, w, h, rgb, NULL, error);
}

static GimpValueArray *
denoise_run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
             GimpDrawable **drawables, GimpProcedureConfig *config, gpointer data)
{
  GimpPDBStatusType status = GIMP_PDB_EXECUTION_ERROR;
  FgsdArgs          args   = { 0 };
  FgsdReference     ref    = { 0 };
  FgsdEngine        engine = { 0 };
  GimpLayer        *noisy;
  GimpDrawable     *reference;
  GimpLayer        *result = NULL;
  gfloat           *phi    = NULL;
  gfloat           *in     = NULL; /* the noisy layer, RGBA */
  gfloat           *in_rgb = NULL;
  gfloat           *rgb    = NULL;
  gfloat           *rgba   = NULL;
  gchar            *name   = NULL;
  GError           *error  = NULL;
  guint32           seed   = 0;
  gfloat            sigma  = 0.0f;
  const gchar      *label;
  gint              w, h, offx, offy;

  gegl_init (NULL, NULL);
  label = _("Denoising with reference");
  if (! plugin_check_image (image, &error) ||
      ! (noisy = plugin_single_layer (image, drawables, &error)))
    {
      status = GIMP_PDB_CALLING_ERROR;
      goto out;
    }
  /* The reference layer is known only after the dialog; say now if there
   * is no selection at all. */
  if (! reference_check (image, GIMP_DRAWABLE (noisy), &ref, &error) &&
      gimp_selection_is_empty (image))
    goto out;
  g_clear_error (&error);

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gchar   *text = summary (noisy);
      gboolean ok;

      gimp_ui_init (PLUG_IN_BINARY);
      ok = fgsd_dialog_run (procedure, config, FGSD_DIALOG_DENOISE, text);
      g_free (text);
      if (! ok)
        {
          status = GIMP_PDB_CANCEL;
          goto out;
        }
    }
  args_read (config, &args);
  reference = GIMP_DRAWABLE (args.reference_layer ? args.reference_layer : noisy);
  if (! plugin_check_layer (image, reference, &error))
    {
      status = GIMP_PDB_CALLING_ERROR;
      goto out;
    }

  w = gimp_drawable_get_width (GIMP_DRAWABLE (noisy));
  h = gimp_drawable_get_height (GIMP_DRAWABLE (noisy));
  if (! engine_check_memory (w, h, ENGINE_FLOATS_PER_PIXEL_DENOISE, &error))
    goto out;
  gimp_progress_init (label);
  if (! reference_read (image, reference, &ref, &error) ||
      ! (in = pixels_read_rgba (GIMP_DRAWABLE (noisy), 0, 0, w, h, &error)) ||
      ! (in_rgb = pixels_rgba_to_rgb (in, (gsize) w * (gsize) h, FALSE, &error)) ||
      ! engine_open (&engine, args.model, args_backend (&args), run_mode, label,
                     &error))
    goto out;
  engine_set_progress_range (&engine, 0.0, 0.05);
  if (! engine_features (&engine, &ref, &phi, &error))
    goto out;
  reference_clear (&ref);

  seed = args_pick_seed (&args);
  if (! denoise (&engine, &args, phi, in_rgb, w, h, seed, &rgb, &sigma, &error) ||
      ! (rgba = pixels_rgb_to_rgba (rgb, in, (gsize) w * (gsize) h, &error)))
    goto out;

  gimp_drawable_get_offsets (GIMP_DRAWABLE (noisy), &offx, &offy);
  name = g_strdup_printf (_("%s denoised (noise %.3f)"),
                          gimp_item_get_name (GIMP_ITEM (noisy)), (gdouble) sigma);
  {
    FgsdOutput out = {
      .image     = image,
      .above     = GIMP_DRAWABLE (noisy),
      .like      = GIMP_DRAWABLE (noisy),
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
procedure_denoise_new (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = plugin_procedure_new (plug_in, PROC_DENOISE, denoise_run);
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, _("_Denoise with Reference (FGSD)..."));
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Enhance");
  gimp_procedure_set_documentation (
    procedure, _("Remove noise from a layer, guided by a clean sample of its texture"),
    _("The active layer is the noisy one and is denoised as a whole into a new layer "
      "right above it (same size, position and alpha; the noisy layer is not changed). "
      "The reference is the selection: on \"reference-layer\" when given, else on a clean "
      "part of the noisy layer itself (at least 32 × 32 pixels with 1024 selected). "
      "\"noise-level\" is the layer's noise sigma in 0..1 units (0 = estimate it): at or "
      "below \"final-noise\" one denoiser pass is made, above it the sampler starts from "
      "the noisy layer and walks the noise down to \"final-noise\". Returns the new "
      "layer and the seed used."),
    PROC_DENOISE);
  args_add (procedure, ARGS_TASK_DENOISE);
  plugin_add_return_values (procedure);
  return procedure;
}
