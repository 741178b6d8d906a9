/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The plug-in's use of libfgsd: load the model, open a session on the
 * chosen backend with a progress callback that drives GIMP's progress bar,
 * and turn engine status codes into translated GErrors.  Every call runs on
 * the plug-in's main thread (libgimp is not thread-safe; the engine calls the
 * progress callback on the caller's thread).
 */
#ifndef FGSD_PLUGIN_ENGINE_H
#define FGSD_PLUGIN_ENGINE_H

#include <libgimp/gimp.h>

#include <fgsd.h>

#include "reference.h"

typedef struct
{
  fgsd_model   *model;
  fgsd_session *session;
  gchar        *model_path;
  fgsd_model   *guide_model;    /* classifier-free guidance's model, or NULL */
  fgsd_session *guide;
  const gchar  *label;          /* what the progress bar says is running */
  gint          feature_dim;
  gint64        last_update_us; /* progress throttling */
  gdouble       last_fraction;
  gdouble       range_start;    /* this call's slice of the progress bar */
  gdouble       range_end;
} FgsdEngine;

/* A model from path and a deterministic session on backend (the same layer
 * for the same seed, run after run and in the preview); progress (NULL:
 * none) reports to progress_user.  cannot_use, cannot_start: translated
 * messages for a model that does not load (path, status, ": ", detail) and
 * a session that does not start (status, ": ", detail).  Calls no libgimp
 * function, so the preview's thread may use it.  On failure *model and
 * *session stay NULL. */
gboolean engine_load_session (const gchar *path, fgsd_backend_kind backend,
                              fgsd_progress_fn progress, gpointer progress_user,
                              const gchar *cannot_use, const gchar *cannot_start,
                              fgsd_model **model, fgsd_session **session, GError **error);

/* Loads the model (NULL = default) and creates a session.  A backend
 * fallback notice goes to gimp_message in interactive runs, else stderr.
 * label (static, translated) prefixes the progress text. */
gboolean engine_open     (FgsdEngine *engine, GFile *model, fgsd_backend_kind backend,
                          GimpRunMode run_mode, const gchar *label, GError **error);
void     engine_close    (FgsdEngine *engine);

/* Opens guidance's model (NULL = the installed baseline) on the same
 * backend; engine_synthesize gives it to the session as guidance's D0. */
gboolean engine_open_guide (FgsdEngine *engine, GFile *model, fgsd_backend_kind backend,
                            GimpRunMode run_mode, GError **error);

/* The next engine call reports progress inside [start, end] of the bar. */
void     engine_set_progress_range (FgsdEngine *engine, gdouble start, gdouble end);

/* The reference measured from ref's pixels and selection; free *out with
 * fgsd_reference_free. */
gboolean engine_reference (FgsdEngine *engine, const FgsdReference *ref, fgsd_reference **out,
                           GError **error);

/* Mixes n references with weights (>= 0, not all 0; scaled to sum to 1). */
gboolean engine_blend    (FgsdEngine *engine, const fgsd_reference *const *refs,
                          const gdouble *weights, gint n, fgsd_reference **out,
                          GError **error);

/* The engine's tasks; each result (*rgb, *out) is newly allocated RGB of w x h. */
gboolean engine_synthesize (FgsdEngine *engine, const fgsd_reference *ref,
                            const fgsd_sampler_params *params, gint w, gint h, gfloat **rgb,
                            GError **error);
/* A synthesis from patches of src's selected pixels (its rgb and mask). */
gboolean engine_synthesize_from_patches (FgsdEngine *engine, const fgsd_reference *ref,
                                         const fgsd_sampler_params *params,
                                         const FgsdReference *src, gint w, gint h,
                                         gfloat **rgb, GError **error);
/* A mixture of the n selections' squares, each over its weight's share. */
gboolean engine_interpolate_from_patches (FgsdEngine *engine, guint32 seed,
                                          const FgsdReference *refs, const gdouble *weights,
                                          gint n, gint w, gint h, gfloat **rgb, GError **error);
gboolean engine_restyle    (FgsdEngine *engine, const fgsd_reference *ref,
                            const fgsd_sampler_params *params, const gfloat *image, gint w,
                            gint h, gfloat **rgb, GError **error);
/* The image redrawn in squares of src's selected pixels (texture transfer);
 * seed picks them, strength weighs their fit to each other. */
gboolean engine_restyle_from_patches (FgsdEngine *engine, guint32 seed, gdouble strength,
                                      const gfloat *image, gint w, gint h,
                                      const FgsdReference *src, gfloat **rgb, GError **error);
gboolean engine_denoise_iterate (FgsdEngine *engine, const fgsd_reference *ref,
                                 const fgsd_sampler_params *params, const gfloat *noisy,
                                 gint w, gint h, gfloat **rgb, GError **error);

/* Fills the hole (w x h weights, 1 = fill) of rgb; ref NULL = the texture
 * of the band around the hole.  *out is the whole w x h image. */
gboolean engine_heal     (FgsdEngine *engine, const fgsd_reference *ref,
                          const fgsd_sampler_params *params, const gfloat *rgb,
                          const gfloat *hole, gint w, gint h, gint band_width, gfloat **out,
                          GError **error);

/* Fills the hole with squares from the band around it, or from src (its
 * rgb and mask) when not NULL; seed picks them.  *out is the whole w x h
 * image. */
gboolean engine_heal_from_patches (FgsdEngine *engine, guint32 seed, const gfloat *rgb,
                                   const gfloat *hole, gint w, gint h, gint band_width,
                                   const FgsdReference *src, gfloat **out, GError **error);

/* One denoiser pass; ref NULL = the unconditioned pass. */
gboolean engine_denoise  (FgsdEngine *engine, const gfloat *noisy, gint w, gint h,
                          const fgsd_reference *ref, gfloat **rgb, GError **error);

/* The plug-in's own full-size floats per pixel: a result's RGB and RGBA;
 * a layer filter's also the layer's RGBA and RGB; heal's also the hole. */
#define ENGINE_OWN_FLOATS_SYNTH (3 + 4)
#define ENGINE_OWN_FLOATS_LAYER (2 * (3 + 4))
#define ENGINE_OWN_FLOATS_HEAL (2 * (3 + 4) + 1)

/* Refuses a w x h run of task whose full-size buffers (the engine's,
 * fgsd_task_memory, and own_floats_per_pixel of the plug-in's) do not fit
 * in fgsd_memory_available.  Linux overcommits, so without this a canvas
 * too large for the machine is not refused by malloc but ends in the OOM
 * killer. */
gboolean engine_check_memory (fgsd_task task, const fgsd_sampler_params *params, gint w,
                              gint h, gint own_floats_per_pixel, GError **error);

gboolean engine_estimate_sigma (FgsdEngine *engine, const gfloat *rgb, gint w, gint h,
                                gfloat *sigma, GError **error);

#endif
