/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The run of the texture procedures (see texture-procedure.h).
 */
#include "plugin-config.h"

#include <libgimp/gimpui.h>

#include "dialog.h"
#include "engine.h"
#include "output.h"
#include "pixels.h"
#include "plugin.h"
#include "texture-procedure.h"

/* The selection on each layer as a reference, mixed with weights (one
 * layer: its own reference). */
static gboolean
mixed_reference (FgsdEngine *engine, GimpImage *image, GimpLayer **layers, gint n,
                 const gdouble *weights, fgsd_reference **out, GError **error)
{
  FgsdReference    ref  = { 0 };
  fgsd_reference **each = g_new0 (fgsd_reference *, n);
  gboolean         ok   = FALSE;

  for (gint i = 0; i < n; i++)
    {
      engine_set_progress_range (engine, 0.06 * i / n, 0.06 * (i + 1) / n);
      if (! reference_read (image, GIMP_DRAWABLE (layers[i]), &ref, error) ||
          ! engine_reference (engine, &ref, &each[i], error))
        goto out;
      reference_clear (&ref);
    }
  ok = engine_blend (engine, (const fgsd_reference *const *) each, weights, n, out, error);

out:
  reference_clear (&ref);
  for (gint i = 0; i < n; i++)
    fgsd_reference_free (each[i]);
  g_free (each);
  return ok;
}

GimpValueArray *
texture_procedure_run (const FgsdTextureProcedure *tp, GimpProcedure *procedure,
                       GimpRunMode run_mode, GimpImage *image, GimpDrawable **drawables,
                       GimpProcedureConfig *config)
{
  GimpPDBStatusType   status    = GIMP_PDB_EXECUTION_ERROR;
  FgsdArgs            args      = { 0 };
  FgsdReference       ref       = { 0 };
  FgsdEngine          engine    = { 0 };
  fgsd_sampler_params params;
  GimpLayer         **layers    = NULL;
  GimpLayer          *result    = NULL;
  gdouble            *weights   = NULL;
  fgsd_reference     *reference = NULL;
  gfloat             *rgb       = NULL;
  gfloat             *rgba      = NULL;
  gchar              *name      = NULL;
  GError             *error     = NULL;
  guint32             seed      = 0;
  gint                n         = 0;
  gint                w, h;

  gegl_init (NULL, NULL);
  if (! plugin_check_image (image, &error) ||
      ! (layers = tp->layers (image, drawables, &n, &error)))
    {
      status = GIMP_PDB_CALLING_ERROR;
      goto out;
    }
  /* The top layer last: its size is the one the summary shows. */
  for (gint i = n - 1; i >= 0; i--)
    if (! reference_check (image, GIMP_DRAWABLE (layers[i]), &ref, &error))
      goto out;

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gchar   *text = tp->summary (layers, n, &ref);
      gboolean ok;

      gimp_ui_init (PLUG_IN_BINARY);
      args_fill_size (config, image);
      ok = fgsd_dialog_run (procedure, config, tp->kind, text);
      g_free (text);
      if (! ok)
        {
          status = GIMP_PDB_CANCEL;
          goto out;
        }
    }
  args_read (config, &args);
  weights = g_new (gdouble, n);
  if (! tp->weights (&args, n, weights, &error))
    {
      status = GIMP_PDB_CALLING_ERROR;
      goto out;
    }
  w      = args.width > 0 ? args.width : gimp_image_get_width (image);
  h      = args.height > 0 ? args.height : gimp_image_get_height (image);
  params = args_sampler (&args, 0);
  if (! engine_check_memory (FGSD_TASK_SYNTHESIZE, &params, w, h, ENGINE_OWN_FLOATS_SYNTH,
                             &error))
    goto out;

  gimp_progress_init (tp->label);
  if (! engine_open (&engine, args.model, args_backend (&args), run_mode, tp->label, &error) ||
      (args.guidance > 1.0 && ! engine_open_guide (&engine, args.guide_model,
                                                   args_backend (&args), run_mode, &error)) ||
      ! mixed_reference (&engine, image, layers, n, weights, &reference, &error))
    goto out;

  seed   = args_pick_seed (&args);
  params = args_sampler (&args, seed);
  engine_set_progress_range (&engine, 0.06, 1.0);
  if (n == 1 && ARGS_PATCH_START (&args))
    {
      /* The squares come from the selection's own pixels. */
      gboolean ok = reference_read (image, GIMP_DRAWABLE (layers[0]), &ref, &error) &&
                    engine_synthesize_from_patches (&engine, reference, &params, &ref, w, h,
                                                    &rgb, &error);
      if (! ok)
        goto out;
    }
  else if (! engine_synthesize (&engine, reference, &params, w, h, &rgb, &error))
    goto out;
  if (! (rgba = pixels_rgb_to_rgba (rgb, NULL, (gsize) w * (gsize) h, &error)))
    goto out;

  name = tp->name (weights, n, seed);
  {
    FgsdOutput out = {
      .image     = image,
      .above     = GIMP_DRAWABLE (layers[0]),
      .like      = GIMP_DRAWABLE (layers[0]),
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
  g_free (weights);
  g_free (layers);
  engine_close (&engine);
  reference_clear (&ref);
  args_clear (&args);
  return plugin_return (procedure, status, error, result, seed);
}
