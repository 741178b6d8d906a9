/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The hooks of the texture procedures (see texture-procedure.h) for the
 * run skeleton (run.h).
 */
#include "plugin-config.h"

#include <libgimp/gimpui.h>

#include "engine.h"
#include "output.h"
#include "pixels.h"
#include "plugin.h"
#include "run.h"
#include "texture-procedure.h"

typedef struct
{
  GimpLayer    **layers;  /* top down */
  gint           n;
  FgsdReference  ref;     /* the top layer's selection box (summary) */
  gdouble       *weights;
} TextureState;

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

static const FgsdTextureProcedure *
texture_of (const FgsdRun *run)
{
  return run->family;
}

static gboolean
texture_prepare (FgsdRun *run, gpointer state, GError **error)
{
  TextureState *ts = state;

  ts->layers = texture_of (run)->layers (run->image, run->drawables, &ts->n, error);
  if (! ts->layers)
    {
      run->calling_error = TRUE;
      return FALSE;
    }
  /* The top layer last: its size is the one the summary shows. */
  for (gint i = ts->n - 1; i >= 0; i--)
    if (! reference_check (run->image, GIMP_DRAWABLE (ts->layers[i]), &ts->ref, error))
      return FALSE;
  if (run->run_mode == GIMP_RUN_INTERACTIVE)
    args_fill_size (run->config, run->image);
  return TRUE;
}

static gchar *
texture_summary (FgsdRun *run, gpointer state)
{
  TextureState *ts = state;

  return texture_of (run)->summary (ts->layers, ts->n, &ts->ref);
}

static gboolean
texture_check (FgsdRun *run, gpointer state, GError **error)
{
  TextureState *ts = state;

  ts->weights = g_new (gdouble, ts->n);
  if (! texture_of (run)->weights (&run->args, ts->n, ts->weights, error))
    {
      run->calling_error = TRUE;
      return FALSE;
    }
  return TRUE;
}

static gboolean
texture_compute (FgsdRun *run, gpointer state, GError **error)
{
  TextureState       *ts        = state;
  FgsdArgs           *args      = &run->args;
  fgsd_reference     *reference = NULL;
  gfloat             *rgb       = NULL;
  fgsd_sampler_params params;
  gboolean            ok        = FALSE;
  gboolean            patches   = ARGS_PATCH_START (args);
  gint                w         = args->width > 0 ? args->width
                                                  : gimp_image_get_width (run->image);
  gint                h         = args->height > 0 ? args->height
                                                   : gimp_image_get_height (run->image);

  params = args_sampler (args, run->seed);
  if (! engine_check_memory (FGSD_TASK_SYNTHESIZE, &params, w, h, ENGINE_OWN_FLOATS_SYNTH,
                             error))
    goto out;
  if (patches && ts->n > 1)
    {
      /* A mixture of the selections' own squares. */
      FgsdReference *refs = g_new0 (FgsdReference, ts->n);

      ok = TRUE;
      for (gint i = 0; ok && i < ts->n; i++)
        ok = reference_read (run->image, GIMP_DRAWABLE (ts->layers[i]), &refs[i], error);
      engine_set_progress_range (&run->engine, 0.0, 1.0);
      ok = ok && engine_interpolate_from_patches (&run->engine, run->seed, refs, ts->weights,
                                                  ts->n, w, h, &rgb, error);
      for (gint i = 0; i < ts->n; i++)
        reference_clear (&refs[i]);
      g_free (refs);
      if (! ok)
        goto out;
      ok = FALSE;
    }
  else if (patches)
    {
      /* The squares come from the selection's own pixels, read once;
       * their features only for a redraw. */
      engine_set_progress_range (&run->engine, 0.0, 0.06);
      if (! reference_read (run->image, GIMP_DRAWABLE (ts->layers[0]), &ts->ref, error) ||
          (params.sigma0 > 0.0f &&
           ! engine_reference (&run->engine, &ts->ref, &reference, error)))
        goto out;
      engine_set_progress_range (&run->engine, 0.06, 1.0);
      if (! engine_synthesize_from_patches (&run->engine, reference, &params, &ts->ref, w, h,
                                            &rgb, error))
        goto out;
    }
  else
    {
      if ((args->guidance > 1.0 && ! engine_open_guide (&run->engine, args->guide_model,
                                                        args_backend (args), run->run_mode,
                                                        error)) ||
          ! mixed_reference (&run->engine, run->image, ts->layers, ts->n, ts->weights,
                             &reference, error))
        goto out;
      engine_set_progress_range (&run->engine, 0.06, 1.0);
      if (! engine_synthesize (&run->engine, reference, &params, w, h, &rgb, error))
        goto out;
    }
  if (! (run->rgba = pixels_rgb_to_rgba (rgb, NULL, (gsize) w * (gsize) h, error)))
    goto out;

  run->name = texture_of (run)->name (ts->weights, ts->n, run->seed);
  run->out  = (FgsdOutput) {
    .image     = run->image,
    .above     = GIMP_DRAWABLE (ts->layers[0]),
    .like      = GIMP_DRAWABLE (ts->layers[0]),
    .width     = w,
    .height    = h,
    .new_image = args->output == ARGS_OUTPUT_NEW_IMAGE,
  };
  ok = TRUE;

out:
  g_free (rgb);
  fgsd_reference_free (reference);
  return ok;
}

/* The preview reads every layer's selection and the weights now. */
static FgsdPreviewInput *
texture_preview_read (FgsdRun *run, gpointer state, const FgsdArgs *args, GError **error)
{
  TextureState     *ts = state;
  FgsdPreviewInput *in = g_new0 (FgsdPreviewInput, 1);

  in->n_refs  = ts->n;
  in->refs    = g_new0 (FgsdReference, ts->n);
  in->weights = g_new (gdouble, ts->n);
  in->width   = args->width > 0 ? args->width : gimp_image_get_width (run->image);
  in->height  = args->height > 0 ? args->height : gimp_image_get_height (run->image);
  if (! texture_of (run)->weights (args, ts->n, in->weights, error))
    goto failed;
  for (gint i = 0; i < ts->n; i++)
    if (! reference_read (run->image, GIMP_DRAWABLE (ts->layers[i]), &in->refs[i], error))
      goto failed;
  return in;

failed:
  preview_input_free (in);
  return NULL;
}

/* A corner of the texture, PREVIEW_SIDE at most, as the run draws it
 * (synthesis at that size with the same seed; guided with the guide model
 * the preview thread gave the session). */
static gboolean
texture_preview_render (fgsd_session *s, const FgsdArgs *args, guint32 seed,
                        const FgsdPreviewInput *in, gfloat **rgb, gint *w, gint *h,
                        GError **error)
{
  fgsd_sampler_params params  = args_sampler (args, seed);
  fgsd_reference    **each    = g_new0 (fgsd_reference *, in->n_refs);
  fgsd_reference     *ref     = NULL;
  fgsd_patch_params   patch   = fgsd_patch_params_default ();
  fgsd_status         st      = FGSD_OK;
  gboolean            patches;
  float              *weights = g_new (float, in->n_refs);

  patches    = ARGS_PATCH_START (args);
  *w         = MIN (in->width, PREVIEW_SIDE);
  *h         = MIN (in->height, PREVIEW_SIDE);
  if ((! patches || params.sigma0 > 0.0f) && ! (patches && in->n_refs > 1))
    {
      for (gint i = 0; i < in->n_refs && ! st; i++)
        {
          const FgsdReference *r = &in->refs[i];

          weights[i] = (float) in->weights[i];
          st = fgsd_reference_measure_scales (s, r->rgb, r->width, r->height, r->mask, 1,
                                                 &each[i]);
        }
      if (! st)
        st = fgsd_reference_blend ((const fgsd_reference *const *) each, weights, in->n_refs,
                                   &ref);
    }
  *rgb = g_malloc ((gsize) *w * (gsize) *h * 3 * sizeof (gfloat));
  patch.seed = seed;
  if (! st && patches && in->n_refs > 1)
    {
      fgsd_patch_source *src = g_new0 (fgsd_patch_source, in->n_refs);

      for (gint i = 0; i < in->n_refs; i++)
        src[i] = (fgsd_patch_source) { in->refs[i].rgb, in->refs[i].mask, in->refs[i].width,
                                       in->refs[i].height, (float) in->weights[i] };
      st = fgsd_interpolate_from_patches (s, &patch, src, in->n_refs, *w, *h, *rgb);
      g_free (src);
    }
  else if (! st && patches)
    st = fgsd_synthesize_from_patches (s, ref, &params, &patch, in->refs[0].rgb,
                                       in->refs[0].mask, in->refs[0].width,
                                       in->refs[0].height, *w, *h, *rgb, NULL);
  else if (! st)
    st = fgsd_synthesize (s, ref, &params, *w, *h, *rgb, NULL);
  for (gint i = 0; i < in->n_refs; i++)
    fgsd_reference_free (each[i]);
  g_free (each);
  g_free (weights);
  fgsd_reference_free (ref);
  if (st)
    g_clear_pointer (rgb, g_free);
  return st ? preview_engine_failed (s, st, error) : TRUE;
}

static void
texture_clear (gpointer state)
{
  TextureState *ts = state;

  g_free (ts->layers);
  g_free (ts->weights);
  reference_clear (&ts->ref);
}

GimpValueArray *
texture_procedure_run (const FgsdTextureProcedure *tp, GimpProcedure *procedure,
                       GimpRunMode run_mode, GimpImage *image, GimpDrawable **drawables,
                       GimpProcedureConfig *config)
{
  const FgsdRunHooks hooks = {
    .kind       = tp->kind,
    .label      = tp->label,
    .family     = tp,
    .state_size = sizeof (TextureState),
    .prepare    = texture_prepare,
    .summary    = texture_summary,
    .check      = texture_check,
    .compute    = texture_compute,
    .clear      = texture_clear,
    .preview_read   = texture_preview_read,
    .preview_render = texture_preview_render,
  };

  return run_procedure (&hooks, procedure, run_mode, image, drawables, config);
}
