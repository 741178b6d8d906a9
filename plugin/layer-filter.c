/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The run function of the whole-layer filters (layer-filter.h).
 */
#include "plugin-config.h"

#include <libgimp/gimpui.h>

#include "layer-filter.h"
#include "output.h"
#include "pixels.h"
#include "plugin.h"
#include "reference.h"

/* The dialog in interactive mode; FALSE when the user cancelled it. */
static gboolean
ask (const FgsdLayerFilter *filter, GimpProcedure *procedure, GimpProcedureConfig *config,
     GimpLayer *layer)
{
  gchar   *text = filter->summary (layer);
  gboolean ok;

  gimp_ui_init (PLUG_IN_BINARY);
  ok = fgsd_dialog_run (procedure, config, filter->dialog, text);
  g_free (text);
  return ok;
}

static GimpLayer *
write_result (GimpImage *image, GimpLayer *layer, const FgsdArgs *args, GimpRunMode run_mode,
              const gchar *name, const gfloat *rgba, gint w, gint h, GError **error)
{
  gint offx, offy;

  gimp_drawable_get_offsets (GIMP_DRAWABLE (layer), &offx, &offy);
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
      .new_image = args->output == ARGS_OUTPUT_NEW_IMAGE,
      .run_mode  = run_mode,
    };
    return output_write (&out, rgba, error);
  }
}

GimpValueArray *
layer_filter_run (const FgsdLayerFilter *filter, GimpProcedure *procedure, GimpRunMode run_mode,
                  GimpImage *image, GimpDrawable **drawables, GimpProcedureConfig *config)
{
  GimpPDBStatusType status = GIMP_PDB_EXECUTION_ERROR;
  FgsdArgs          args   = { 0 };
  FgsdReference     ref    = { 0 };
  FgsdEngine        engine = { 0 };
  FgsdLayerJob      job;
  GimpLayer        *layer;
  GimpDrawable     *source;  /* the reference layer */
  GimpLayer        *result = NULL;
  fgsd_reference   *reference = NULL;
  gfloat           *in     = NULL; /* the layer, RGBA */
  gfloat           *in_rgb = NULL;
  gfloat           *rgb    = NULL;
  gfloat           *rgba   = NULL;
  gchar            *name   = NULL;
  GError           *error  = NULL;
  guint32           seed   = 0;
  gint              w, h;

  gegl_init (NULL, NULL);
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

  if (run_mode == GIMP_RUN_INTERACTIVE && ! ask (filter, procedure, config, layer))
    {
      status = GIMP_PDB_CANCEL;
      goto out;
    }
  args_read (config, &args);
  source = GIMP_DRAWABLE (args.reference_layer ? args.reference_layer : layer);
  if (! plugin_check_layer (image, source, &error))
    {
      status = GIMP_PDB_CALLING_ERROR;
      goto out;
    }

  w = gimp_drawable_get_width (GIMP_DRAWABLE (layer));
  h = gimp_drawable_get_height (GIMP_DRAWABLE (layer));
  {
    fgsd_sampler_params params = args_sampler (&args, 0);

    if (! engine_check_memory (filter->task, &params, w, h, ENGINE_OWN_FLOATS_LAYER, &error))
      goto out;
  }
  gimp_progress_init (filter->label);
  if (! reference_read (image, source, &ref, &error) ||
      ! (in = pixels_read_rgba (GIMP_DRAWABLE (layer), 0, 0, w, h, &error)) ||
      ! (in_rgb = pixels_rgba_to_rgb (in, (gsize) w * (gsize) h, filter->clamp_input,
                                      &error)) ||
      ! engine_open (&engine, args.model, args_backend (&args), run_mode, filter->label,
                     &error))
    goto out;
  engine_set_progress_range (&engine, 0.0, 0.05);
  if (! engine_reference (&engine, &ref, &reference, &error))
    goto out;
  reference_clear (&ref);

  seed = args_pick_seed (&args);
  job  = (FgsdLayerJob) { .layer  = layer, .args = &args, .engine = &engine,
                          .reference = reference, .rgb = in_rgb, .width = w, .height = h,
                          .seed = seed };
  if (! filter->compute (&job, &rgb, &name, &error) ||
      ! (rgba = pixels_rgb_to_rgba (rgb, in, (gsize) w * (gsize) h, &error)))
    goto out;

  result = write_result (image, layer, &args, run_mode, name, rgba, w, h, &error);
  if (result)
    status = GIMP_PDB_SUCCESS;

out:
  gimp_progress_end ();
  g_free (name);
  g_free (rgba);
  g_free (rgb);
  g_free (in_rgb);
  g_free (in);
  fgsd_reference_free (reference);
  engine_close (&engine);
  reference_clear (&ref);
  args_clear (&args);
  return plugin_return (procedure, status, error, result, seed);
}
