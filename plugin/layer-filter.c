/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The hooks of the whole-layer filters (layer-filter.h) for the run
 * skeleton (run.h).
 */
#include "plugin-config.h"

#include <libgimp/gimpui.h>

#include "layer-filter.h"
#include "output.h"
#include "pixels.h"
#include "plugin.h"
#include "reference.h"
#include "run.h"

typedef struct
{
  GimpLayer     *layer;
  GimpDrawable  *source; /* the reference layer */
  FgsdReference  ref;
} FilterState;

static const FgsdLayerFilter *
filter_of (const FgsdRun *run)
{
  return run->family;
}

static gboolean
filter_prepare (FgsdRun *run, gpointer state, GError **error)
{
  FilterState *fs = state;

  fs->layer = plugin_single_layer (run->image, run->drawables, error);
  if (! fs->layer)
    {
      run->calling_error = TRUE;
      return FALSE;
    }
  /* The reference layer is known only after the dialog; say now if there
   * is no selection at all. */
  return ! gimp_selection_is_empty (run->image) ||
         reference_check (run->image, GIMP_DRAWABLE (fs->layer), &fs->ref, error);
}

static gchar *
filter_summary (FgsdRun *run, gpointer state)
{
  FilterState *fs = state;

  return filter_of (run)->summary (fs->layer);
}

static gboolean
filter_check (FgsdRun *run, gpointer state, GError **error)
{
  FilterState *fs = state;

  fs->source = GIMP_DRAWABLE (run->args.reference_layer ? run->args.reference_layer
                                                        : fs->layer);
  run->calling_error = ! plugin_check_layer (run->image, fs->source, error);
  return ! run->calling_error;
}

static gboolean
filter_compute (FgsdRun *run, gpointer state, GError **error)
{
  const FgsdLayerFilter *filter    = filter_of (run);
  FilterState           *fs        = state;
  fgsd_reference        *reference = NULL;
  fgsd_sampler_params    params    = args_sampler (&run->args, 0);
  FgsdLayerJob           job;
  gfloat                *in        = NULL; /* the layer, RGBA */
  gfloat                *in_rgb    = NULL;
  gfloat                *rgb       = NULL;
  gboolean               ok        = FALSE;
  gint                   w = gimp_drawable_get_width (GIMP_DRAWABLE (fs->layer));
  gint                   h = gimp_drawable_get_height (GIMP_DRAWABLE (fs->layer));
  gint                   offx, offy;

  if (! engine_check_memory (filter->task, &params, w, h, ENGINE_OWN_FLOATS_LAYER, error) ||
      ! reference_read (run->image, fs->source, &fs->ref, error) ||
      ! (in = pixels_read_rgba (GIMP_DRAWABLE (fs->layer), 0, 0, w, h, error)) ||
      ! (in_rgb = pixels_rgba_to_rgb (in, (gsize) w * (gsize) h, filter->clamp_input, error)))
    goto out;
  engine_set_progress_range (&run->engine, 0.0, 0.05);
  if ((! filter->needs_phi || filter->needs_phi (&run->args)) &&
      ! engine_reference (&run->engine, &fs->ref, &reference, error))
    goto out;

  job = (FgsdLayerJob) { .layer = fs->layer, .args = &run->args, .engine = &run->engine,
                         .reference = reference, .source = &fs->ref, .rgb = in_rgb,
                         .width = w, .height = h, .seed = run->seed };
  if (! filter->compute (&job, &rgb, &run->name, error) ||
      ! (run->rgba = pixels_rgb_to_rgba (rgb, in, (gsize) w * (gsize) h, error)))
    goto out;

  gimp_drawable_get_offsets (GIMP_DRAWABLE (fs->layer), &offx, &offy);
  run->out = (FgsdOutput) {
    .image     = run->image,
    .above     = GIMP_DRAWABLE (fs->layer),
    .like      = GIMP_DRAWABLE (fs->layer),
    .width     = w,
    .height    = h,
    .offset_x  = offx,
    .offset_y  = offy,
    .new_image = run->args.output == ARGS_OUTPUT_NEW_IMAGE,
  };
  ok = TRUE;

out:
  g_free (rgb);
  g_free (in_rgb);
  g_free (in);
  fgsd_reference_free (reference);
  return ok;
}

static void
filter_clear (gpointer state)
{
  FilterState *fs = state;

  reference_clear (&fs->ref);
}

GimpValueArray *
layer_filter_run (const FgsdLayerFilter *filter, GimpProcedure *procedure, GimpRunMode run_mode,
                  GimpImage *image, GimpDrawable **drawables, GimpProcedureConfig *config)
{
  const FgsdRunHooks hooks = {
    .kind       = filter->dialog,
    .label      = filter->label,
    .family     = filter,
    .state_size = sizeof (FilterState),
    .prepare    = filter_prepare,
    .summary    = filter_summary,
    .check      = filter_check,
    .compute    = filter_compute,
    .clear      = filter_clear,
  };

  return run_procedure (&hooks, procedure, run_mode, image, drawables, config);
}
