/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "plugin-config.h"

#include <string.h>

#include "engine.h"
#include "model-path.h"
#include "pixels.h"
#include "plugin.h"

/* One progress message a twentieth of a second at most: each is an IPC round
 * trip to GIMP, and a CPU step on a small texture can take a few ms. */
#define PROGRESS_INTERVAL_US 50000

static int
on_progress (void *user, int step, float sigma, float fraction)
{
  FgsdEngine *engine = user;
  gint64      now    = g_get_monotonic_time ();
  gdouble     f;

  if (now - engine->last_update_us < PROGRESS_INTERVAL_US && fraction < 1.0f)
    return 0;
  engine->last_update_us = now;
  f = engine->range_start + (engine->range_end - engine->range_start) * CLAMP (fraction, 0, 1);
  if (f < engine->last_fraction)
    f = engine->last_fraction; /* the bar never runs backwards */
  engine->last_fraction = f;
  if (sigma > 0.0f)
    /* TRANSLATORS: "Synthesizing texture: step 12, noise 0.153" */
    gimp_progress_set_text_printf (_("%s: step %d, noise %.3f"), engine->label, step,
                                   (gdouble) sigma);
  gimp_progress_update (f);
  /* GIMP cancels a plug-in by killing it, so there is nothing to return
   * here: cancelling works because the image is touched only at the end. */
  return 0;
}

static void
set_engine_error (FgsdEngine *engine, fgsd_status status, const gchar *what, GError **error)
{
  const gchar *detail = engine->session ? fgsd_session_last_error (engine->session) : "";

  if (status == FGSD_ERR_NO_MEMORY || status == FGSD_ERR_TOO_LARGE)
    g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_MEMORY,
                 _("%s failed: not enough memory (%s)."), what,
                 detail && *detail ? detail : fgsd_status_string (status));
  else
    g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_ENGINE, _("%s failed: %s%s%s"),
                 what, fgsd_status_string (status), detail && *detail ? ": " : "",
                 detail ? detail : "");
}

static void
show_notice (const gchar *notice, GimpRunMode run_mode)
{
  if (! notice || ! *notice)
    return;
  if (run_mode == GIMP_RUN_NONINTERACTIVE)
    g_printerr ("fgsd: %s\n", notice);
  else
    gimp_message (notice);
}

gboolean
engine_load_session (const gchar *path, fgsd_backend_kind backend, fgsd_progress_fn progress,
                     gpointer progress_user, const gchar *cannot_use, const gchar *cannot_start,
                     fgsd_model **model, fgsd_session **session, GError **error)
{
  fgsd_session_options options = fgsd_session_options_default ();
  fgsd_status          status;
  char                 err[512] = "";

  *session = NULL;
  status   = fgsd_model_load (path, model, err, sizeof err);
  if (status != FGSD_OK)
    {
      g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_MODEL, cannot_use, path,
                   fgsd_status_string (status), *err ? ": " : "", err);
      return FALSE;
    }
  options.backend       = backend;
  /* The seed promises the same layer for the same settings, run after run:
   * without this oneDNN may split a convolution's sum over threads and add
   * the parts in the order they finish.  (It did not explain the test
   * failure it was first made for: that was GIMP's side, docs/status.md.) */
  options.deterministic = 1;
  options.progress      = progress;
  options.progress_user = progress_user;
  status = fgsd_session_create (*model, &options, session, err, sizeof err);
  if (status != FGSD_OK)
    {
      g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_ENGINE, cannot_start,
                   fgsd_status_string (status), *err ? ": " : "", err);
      g_clear_pointer (model, fgsd_model_free);
      return FALSE;
    }
  return TRUE;
}

gboolean
engine_open (FgsdEngine *engine, GFile *model, fgsd_backend_kind backend, GimpRunMode run_mode,
             const gchar *label, GError **error)
{
  memset (engine, 0, sizeof *engine);
  engine->label      = label;
  engine->range_end  = 1.0;
  engine->model_path = model_path_resolve (model, error);
  if (! engine->model_path)
    return FALSE;
  if (! engine_load_session (engine->model_path, backend, on_progress, engine,
                             _("Cannot use the model file “%s”: %s%s%s"),
                             _("Starting the network failed: %s%s%s"), &engine->model,
                             &engine->session, error))
    {
      engine_close (engine);
      return FALSE;
    }
  engine->feature_dim = fgsd_model_feature_dim (engine->model);
  if (engine->feature_dim <= 0)
    {
      g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_MODEL,
                   _("The model file “%s” has no feature projection, so it cannot follow "
                     "a reference texture. Choose a conditioned fgsd model."),
                   engine->model_path);
      engine_close (engine);
      return FALSE;
    }
  show_notice (fgsd_session_notice (engine->session), run_mode);
  return TRUE;
}

gboolean
engine_open_guide (FgsdEngine *engine, GFile *model, fgsd_backend_kind backend,
                   GimpRunMode run_mode, GError **error)
{
  gchar   *path = model_path_resolve_guide (model, error);
  gboolean ok;

  if (! path)
    return FALSE;
  /* Its passes are part of each step: no progress of their own. */
  ok = engine_load_session (path, backend, NULL, NULL,
                            _("Cannot use the guide model file “%s”: %s%s%s"),
                            _("Starting the guide model failed: %s%s%s"), &engine->guide_model,
                            &engine->guide, error);
  g_free (path);
  if (! ok)
    return FALSE;
  /* The main session has said the same of the backend already. */
  if (g_strcmp0 (fgsd_session_notice (engine->guide), fgsd_session_notice (engine->session)))
    show_notice (fgsd_session_notice (engine->guide), run_mode);
  return TRUE;
}

void
engine_close (FgsdEngine *engine)
{
  g_clear_pointer (&engine->guide, fgsd_session_free);
  g_clear_pointer (&engine->guide_model, fgsd_model_free);
  g_clear_pointer (&engine->session, fgsd_session_free);
  g_clear_pointer (&engine->model, fgsd_model_free);
  g_clear_pointer (&engine->model_path, g_free);
}

void
engine_set_progress_range (FgsdEngine *engine, gdouble start, gdouble end)
{
  engine->range_start    = start;
  engine->range_end      = end;
  engine->last_update_us = 0;
  gimp_progress_update (start);
}

gboolean
engine_reference (FgsdEngine *engine, const FgsdReference *ref, fgsd_reference **out,
                  GError **error)
{
  /* One scale: the plug-in's sampler runs at one level. */
  fgsd_status status = fgsd_reference_measure_scales (engine->session, ref->rgb, ref->width,
                                                      ref->height, ref->mask, 1, out);

  if (status != FGSD_OK)
    {
      set_engine_error (engine, status, _("Measuring the reference texture"), error);
      return FALSE;
    }
  return TRUE;
}

gboolean
engine_blend (FgsdEngine *engine, const fgsd_reference *const *refs, const gdouble *weights,
              gint n, fgsd_reference **out, GError **error)
{
  gfloat     *w = g_new (gfloat, n);
  fgsd_status status;

  for (gint i = 0; i < n; i++)
    w[i] = (gfloat) weights[i];
  status = fgsd_reference_blend (refs, w, n, out);
  g_free (w);
  if (status != FGSD_OK)
    {
      set_engine_error (engine, status, _("Mixing the textures"), error);
      return FALSE;
    }
  return TRUE;
}

static gfloat *
alloc_rgb (gint w, gint h, GError **error)
{
  gsize   n   = pixels_count (w, h, error);
  gfloat *rgb = n ? g_try_new (gfloat, n * 3) : NULL;

  if (n && ! rgb)
    g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_MEMORY,
                 _("Not enough memory for a %d × %d result."), w, h);
  return rgb;
}

/* The result of one task call into *rgb (allocated here), or the error. */
static gboolean
finish (FgsdEngine *engine, fgsd_status status, const gchar *what, gfloat **rgb,
        GError **error)
{
  if (status != FGSD_OK)
    {
      set_engine_error (engine, status, what, error);
      g_clear_pointer (rgb, g_free);
      return FALSE;
    }
  return TRUE;
}

gboolean
engine_synthesize (FgsdEngine *engine, const fgsd_reference *ref,
                   const fgsd_sampler_params *params, gint w, gint h, gfloat **rgb,
                   GError **error)
{
  *rgb = alloc_rgb (w, h, error);
  if (! *rgb)
    return FALSE;
  fgsd_session_set_guide (engine->session, engine->guide);
  return finish (engine, fgsd_synthesize (engine->session, ref, params, w, h, *rgb, NULL),
                 _("Sampling"), rgb, error);
}

gboolean
engine_synthesize_from_patches (FgsdEngine *engine, const fgsd_reference *ref,
                                const fgsd_sampler_params *params, const FgsdReference *src,
                                gint w, gint h, gfloat **rgb, GError **error)
{
  fgsd_patch_params patch = fgsd_patch_params_default ();

  *rgb = alloc_rgb (w, h, error);
  if (! *rgb)
    return FALSE;
  patch.seed = params->seed;
  return finish (engine,
                 fgsd_synthesize_from_patches (engine->session, ref, params, &patch, src->rgb,
                                               src->mask, src->width, src->height, w, h,
                                               *rgb, NULL),
                 _("Sampling"), rgb, error);
}

gboolean
engine_interpolate_from_patches (FgsdEngine *engine, guint32 seed, const FgsdReference *refs,
                                 const gdouble *weights, gint n, gint w, gint h, gfloat **rgb,
                                 GError **error)
{
  fgsd_patch_params  patch = fgsd_patch_params_default ();
  fgsd_patch_source *src   = g_new0 (fgsd_patch_source, n);
  gboolean           ok;

  *rgb = alloc_rgb (w, h, error);
  if (! *rgb)
    {
      g_free (src);
      return FALSE;
    }
  for (gint i = 0; i < n; i++)
    src[i] = (fgsd_patch_source) { refs[i].rgb, refs[i].mask, refs[i].width, refs[i].height,
                                   (float) weights[i] };
  patch.seed = seed;
  ok = finish (engine,
               fgsd_interpolate_from_patches (engine->session, &patch, src, n, w, h, *rgb),
               _("Sampling"), rgb, error);
  g_free (src);
  return ok;
}

gboolean
engine_restyle (FgsdEngine *engine, const fgsd_reference *ref,
                const fgsd_sampler_params *params, const gfloat *image, gint w, gint h,
                gfloat **rgb, GError **error)
{
  *rgb = alloc_rgb (w, h, error);
  if (! *rgb)
    return FALSE;
  return finish (engine, fgsd_restyle (engine->session, ref, params, image, w, h, *rgb, NULL),
                 _("Sampling"), rgb, error);
}

gboolean
engine_restyle_from_patches (FgsdEngine *engine, guint32 seed, gdouble strength,
                             const gfloat *image, gint w, gint h, const FgsdReference *src,
                             gfloat **rgb, GError **error)
{
  fgsd_patch_params patch = fgsd_patch_params_default ();

  *rgb = alloc_rgb (w, h, error);
  if (! *rgb)
    return FALSE;
  patch.seed = seed;
  return finish (engine,
                 fgsd_restyle_from_patches (engine->session, &patch, (float) strength, image,
                                            w, h, src->rgb, src->mask, src->width,
                                            src->height, *rgb),
                 _("Restyling"), rgb, error);
}

gboolean
engine_denoise_iterate (FgsdEngine *engine, const fgsd_reference *ref,
                        const fgsd_sampler_params *params, const gfloat *noisy, gint w,
                        gint h, gfloat **rgb, GError **error)
{
  *rgb = alloc_rgb (w, h, error);
  if (! *rgb)
    return FALSE;
  return finish (engine,
                 fgsd_denoise_iterate (engine->session, ref, params, noisy, w, h, *rgb, NULL),
                 _("Sampling"), rgb, error);
}

gboolean
engine_heal (FgsdEngine *engine, const fgsd_reference *ref, const fgsd_sampler_params *params,
             const gfloat *rgb, const gfloat *hole, gint w, gint h, gint band_width,
             gfloat **out, GError **error)
{
  *out = alloc_rgb (w, h, error);
  if (! *out)
    return FALSE;
  return finish (engine,
                 fgsd_heal (engine->session, ref, params, rgb, hole, w, h, band_width, *out,
                            NULL),
                 _("Healing"), out, error);
}

gboolean
engine_heal_from_patches (FgsdEngine *engine, guint32 seed, const gfloat *rgb,
                          const gfloat *hole, gint w, gint h, gint band_width,
                          const FgsdReference *src, gfloat **out, GError **error)
{
  fgsd_patch_params patch = fgsd_patch_params_default ();

  *out = alloc_rgb (w, h, error);
  if (! *out)
    return FALSE;
  patch.seed = seed;
  return finish (engine,
                 fgsd_heal_from_patches (engine->session, &patch, rgb, hole, w, h, band_width,
                                         src ? src->rgb : NULL, src ? src->mask : NULL,
                                         src ? src->width : 0, src ? src->height : 0, *out),
                 _("Healing"), out, error);
}

gboolean
engine_denoise (FgsdEngine *engine, const gfloat *noisy, gint w, gint h,
                const fgsd_reference *ref, gfloat **rgb, GError **error)
{
  *rgb = alloc_rgb (w, h, error);
  if (! *rgb)
    return FALSE;
  return finish (engine, fgsd_denoise (engine->session, ref, noisy, w, h, *rgb),
                 _("Denoising"), rgb, error);
}

gboolean
engine_estimate_sigma (FgsdEngine *engine, const gfloat *rgb, gint w, gint h, gfloat *sigma,
                       GError **error)
{
  fgsd_status status = fgsd_estimate_sigma (engine->session, rgb, w, h, sigma);

  if (status != FGSD_OK)
    {
      set_engine_error (engine, status, _("Estimating the noise level"), error);
      return FALSE;
    }
  return TRUE;
}

gboolean
engine_check_memory (fgsd_task task, const fgsd_sampler_params *params, gint w, gint h,
                     gint own_floats_per_pixel, GError **error)
{
  const gdouble gib     = 1024.0 * 1024.0 * 1024.0;
  gint          limited = 0;
  gdouble       avail   = (gdouble) fgsd_memory_available (&limited);
  gdouble       need    = (gdouble) fgsd_task_memory (task, params, w, h) +
                          (gdouble) w * (gdouble) h * own_floats_per_pixel * sizeof (gfloat);

  if (avail <= 0.0 || need <= avail)
    return TRUE;
  g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_MEMORY,
               limited
                 ? _("Refused: a %d × %d result needs at least %.1f GiB of memory, more than "
                     "the %.1f GiB this process may still use (its address-space limit). "
                     "Choose a smaller size.")
                 : _("Refused: a %d × %d result needs at least %.1f GiB of memory, more than "
                     "the %.1f GiB of free memory and swap. Choose a smaller size."),
               w, h, need / gib, avail / gib);
  return FALSE;
}
