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
  gboolean       have_luma; /* the preview's: the layer's luma, read once */
  gdouble        luma_mean, luma_std;
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

/* The preview's input: the reference for args, and the layer's crop of
 * PREVIEW_SIDE at most around the selection's centre (the layer's centre
 * when the selection is not over it), at full scale. */
static FgsdPreviewInput *
filter_preview_read (FgsdRun *run, gpointer state, const FgsdArgs *args, GError **error)
{
  FilterState      *fs     = state;
  GimpDrawable     *layer  = GIMP_DRAWABLE (fs->layer);
  GimpDrawable     *source = args->reference_layer ? GIMP_DRAWABLE (args->reference_layer)
                                                   : layer;
  FgsdPreviewInput *in     = g_new0 (FgsdPreviewInput, 1);
  gfloat           *rgba   = NULL;
  gint              lw     = gimp_drawable_get_width (layer);
  gint              lh     = gimp_drawable_get_height (layer);
  gint              w      = MIN (lw, PREVIEW_SIDE), h = MIN (lh, PREVIEW_SIDE);
  gint              cx     = lw / 2, cy = lh / 2;
  gint              sx, sy, sw, sh;

  if (gimp_drawable_mask_intersect (layer, &sx, &sy, &sw, &sh))
    {
      cx = sx + sw / 2;
      cy = sy + sh / 2;
    }
  in->n_refs = 1;
  in->refs   = g_new0 (FgsdReference, 1);
  in->width  = w;
  in->height = h;
  if (! plugin_check_layer (run->image, source, error) ||
      ! reference_read (run->image, source, &in->refs[0], error) ||
      ! (rgba = pixels_read_rgba (layer, CLAMP (cx - w / 2, 0, lw - w),
                                  CLAMP (cy - h / 2, 0, lh - h), w, h, error)) ||
      ! (in->image = pixels_rgba_to_rgb (rgba, (gsize) w * (gsize) h,
                                         filter_of (run)->clamp_input, error)))
    {
      g_free (rgba);
      preview_input_free (in);
      return NULL;
    }
  g_free (rgba);
  if (filter_of (run)->needs_layer_luma && filter_of (run)->needs_layer_luma (args) &&
      ! fs->have_luma)
    {
      pixels_luma_stats (layer, filter_of (run)->clamp_input, &fs->luma_mean, &fs->luma_std);
      fs->have_luma = TRUE;
    }
  in->layer_luma_mean = fs->luma_mean;
  in->layer_luma_std  = fs->luma_std;
  return in;
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
    .preview_read   = filter->preview ? filter_preview_read : NULL,
    .preview_render = filter->preview,
  };

  return run_procedure (&hooks, procedure, run_mode, image, drawables, config);
}
