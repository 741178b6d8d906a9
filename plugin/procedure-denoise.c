/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * plug-in-fgsd-denoise: the active layer is the noisy one; the reference is
 * the selection, read on "reference-layer" (a clean layer) or, when that is
 * none, on the noisy layer itself (a clean part of it).  The whole noisy
 * layer is denoised into a new layer right above it, with the same size,
 * offsets and alpha.
 *
 * The denoiser is blind (method.md section 1): it measures the noise itself.
 * By default one denoiser pass makes the result.  With "iterate" the
 * sampler starts from the noisy layer (init = layer, sigma0 = 0; method.md
 * section 5, last paragraph) and walks down to "final-noise", keeping the
 * layer's low frequencies; the paper finds that better on strong noise, but
 * with the bundled model one pass is 3-5 dB better (docs/quality.md,
 * "Denoising in the product"), hence the default.  The layer's noise sigma
 * ("noise-level", 0 = estimate it with fgsd_estimate_sigma) names the layer
 * and, at or below final-noise, makes even "iterate" a single pass.
 */
#include "plugin-config.h"

#include <libgimp/gimp.h>

#include "layer-filter.h"
#include "plugin.h"

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
denoise (const FgsdLayerJob *job, gfloat **rgb, gchar **name, GError **error)
{
  fgsd_sampler_params params;
  gfloat              sigma = 0.0f;
  gboolean            ok;

  engine_set_progress_range (job->engine, 0.05, 0.1);
  if (! noise_level (job->engine, job->args, job->rgb, job->width, job->height, &sigma, error))
    return FALSE;
  engine_set_progress_range (job->engine, 0.1, 1.0);
  if (! job->args->iterate || sigma <= job->args->final_noise)
    {
      ok = engine_denoise (job->engine, job->rgb, job->width, job->height, job->reference,
                           rgb, error);
    }
  else
    {
      /* The noisy layer's low frequencies are nearly the clean ones (white
       * noise is weak there); holding them (free_colour 0) keeps the
       * colours, which drift otherwise (measured: 5 dB better at sigma
       * 0.1-0.5, docs/design.md). */
      params        = args_sampler (job->args, job->seed);
      params.sigma0 = 0.0f; /* here the layer's noise, which the engine measures itself */
      ok            = engine_denoise_iterate (job->engine, job->reference, &params,
                                              job->rgb, job->width, job->height, rgb, error);
    }
  if (ok)
    *name = g_strdup_printf (_("%s denoised (noise %.3f)"),
                             gimp_item_get_name (GIMP_ITEM (job->layer)), (gdouble) sigma);
  return ok;
}

/* The preview: the crop denoised as the run denoises the layer (the noise
 * level estimated on the crop when it is to be estimated). */
static gboolean
denoise_preview (fgsd_session *s, const FgsdArgs *args, guint32 seed,
                 const FgsdPreviewInput *in, gfloat **rgb, gint *w, gint *h, GError **error)
{
  const FgsdReference *r      = &in->refs[0];
  fgsd_reference      *ref    = NULL;
  fgsd_sampler_params  params = args_sampler (args, seed);
  gfloat               sigma  = (gfloat) args->noise_level;
  fgsd_status          st;

  *w   = in->width;
  *h   = in->height;
  *rgb = g_malloc ((gsize) *w * (gsize) *h * 3 * sizeof (gfloat));
  st   = fgsd_reference_measure_scales (s, r->rgb, r->width, r->height, r->mask, 1, &ref);
  if (! st && args->iterate && ! (sigma > 0.0f))
    st = fgsd_estimate_sigma (s, in->image, *w, *h, &sigma);
  if (! st && (! args->iterate || sigma <= args->final_noise))
    st = fgsd_denoise (s, ref, in->image, *w, *h, *rgb);
  else if (! st)
    {
      params.sigma0 = 0.0f;
      st = fgsd_denoise_iterate (s, ref, &params, in->image, *w, *h, *rgb, NULL);
    }
  fgsd_reference_free (ref);
  if (st)
    g_clear_pointer (rgb, g_free);
  return st ? preview_engine_failed (s, st, error) : TRUE;
}

static GimpValueArray *
denoise_run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
             GimpDrawable **drawables, GimpProcedureConfig *config, gpointer data)
{
  /* Not clamped: noise on a float layer reaches below 0 and above 1, and
   * the denoiser needs it whole. */
  const FgsdLayerFilter filter = {
    .dialog           = FGSD_PROC_DENOISE,
    .label            = _("Denoising with reference"),
    .summary          = summary,
    .task             = FGSD_TASK_DENOISE,
    .clamp_input      = FALSE,
    .compute          = denoise,
    .preview          = denoise_preview,
  };

  return layer_filter_run (&filter, procedure, run_mode, image, drawables, config);
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
      "\"noise-level\" is the layer's noise sigma in 0..1 units (0 = estimate it). One "
      "denoiser pass is made; with \"iterate\" (and noise above \"final-noise\") the "
      "sampler starts from the noisy layer instead and walks the noise down to "
      "\"final-noise\". Returns the new layer and the seed used."),
    PROC_DENOISE);
  args_add (procedure, FGSD_PROC_DENOISE);
  plugin_add_return_values (procedure);
  return procedure;
}
