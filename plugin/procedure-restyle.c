/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * plug-in-fgsd-restyle: redraws the active layer in the texture of the
 * selection (on "reference-layer", or on the layer itself).  "start"
 * patches (the default): texture transfer, the layer redrawn in squares of
 * the selection that follow its light and dark (fgsd_restyle_from_patches,
 * "patch-strength"; no network pass, no phi).  Noise: the sampler starts
 * from the layer plus noise of std "strength" (method.md section 5, last
 * paragraph; the paper's appendix figures 12-13) and keeps the layer's low
 * frequencies, its colour layout.  The result goes into a new layer above
 * (same size, position and alpha).
 */
#include "plugin-config.h"

#include <libgimp/gimp.h>

#include "layer-filter.h"
#include "plugin.h"

static gchar *
summary (GimpLayer *layer)
{
  gchar *name = g_markup_escape_text (gimp_item_get_name (GIMP_ITEM (layer)), -1);
  gchar *text = g_strdup_printf (_("Restyling <b>%s</b> into a new layer above it, in the "
                                   "texture of the selection on the reference layer or, if "
                                   "none is chosen, on <b>%s</b> itself."),
                                 name, name);

  g_free (name);
  return text;
}

static gboolean
needs_phi (const FgsdArgs *args)
{
  return args->start != ARGS_START_PATCHES;
}

/* The preview's restyle from patches follows the whole layer's tones. */
static gboolean
needs_layer_luma (const FgsdArgs *args)
{
  return args->start == ARGS_START_PATCHES;
}

static gboolean
restyle (const FgsdLayerJob *job, gfloat **rgb, gchar **name, GError **error)
{
  fgsd_sampler_params params = args_sampler (job->args, job->seed);

  if (job->args->start == ARGS_START_PATCHES)
    {
      engine_set_progress_range (job->engine, 0.0, 1.0);
      if (! engine_restyle_from_patches (job->engine, job->seed, job->args->patch_strength,
                                         job->rgb, job->width, job->height, job->source, rgb,
                                         error))
        return FALSE;
      *name = g_strdup_printf (_("%s restyled from patches (strength %.2f, seed %u)"),
                               gimp_item_get_name (GIMP_ITEM (job->layer)),
                               job->args->patch_strength, job->seed);
      return TRUE;
    }
  engine_set_progress_range (job->engine, 0.05, 1.0);
  if (! engine_restyle (job->engine, job->reference, &params, job->rgb, job->width,
                        job->height, rgb, error))
    return FALSE;
  *name = g_strdup_printf (_("%s restyled (strength %.2f, seed %u)"),
                           gimp_item_get_name (GIMP_ITEM (job->layer)),
                           job->args->noise_level, job->seed);
  return TRUE;
}

/* The preview: the crop restyled as the run restyles the layer (from
 * patches, its light and dark measured on the whole layer, so that the
 * crop gets the run's tones). */
static gboolean
restyle_preview (fgsd_session *s, const FgsdArgs *args, guint32 seed,
                 const FgsdPreviewInput *in, gfloat **rgb, gint *w, gint *h, GError **error)
{
  const FgsdReference *r     = &in->refs[0];
  fgsd_reference      *ref   = NULL;
  fgsd_patch_params    patch = fgsd_patch_params_default ();
  fgsd_sampler_params  params = args_sampler (args, seed);
  fgsd_status          st;

  *w         = in->width;
  *h         = in->height;
  *rgb       = g_malloc ((gsize) *w * (gsize) *h * 3 * sizeof (gfloat));
  patch.seed = seed;
  if (args->start == ARGS_START_PATCHES)
    st = fgsd_restyle_part_from_patches (s, &patch, (float) args->patch_strength, in->image, *w,
                                         *h, in->layer_luma_mean, in->layer_luma_std, r->rgb,
                                         r->mask, r->width, r->height, *rgb);
  else
    {
      st = fgsd_reference_measure_scales (s, r->rgb, r->width, r->height, r->mask, 1, &ref);
      if (! st)
        st = fgsd_restyle (s, ref, &params, in->image, *w, *h, *rgb, NULL);
      fgsd_reference_free (ref);
    }
  if (st)
    g_clear_pointer (rgb, g_free);
  return st ? preview_engine_failed (s, st, error) : TRUE;
}

static GimpValueArray *
restyle_run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
             GimpDrawable **drawables, GimpProcedureConfig *config, gpointer data)
{
  /* The layer is clamped to [0, 1]: it is an image to redraw, not noise. */
  const FgsdLayerFilter filter = {
    .dialog           = FGSD_PROC_RESTYLE,
    .label            = _("Restyling"),
    .summary          = summary,
    .task             = FGSD_TASK_RESTYLE,
    .clamp_input      = TRUE,
    .needs_phi        = needs_phi,
    .needs_layer_luma = needs_layer_luma,
    .compute          = restyle,
    .preview          = restyle_preview,
  };

  return layer_filter_run (&filter, procedure, run_mode, image, drawables, config);
}

GimpProcedure *
procedure_restyle_new (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = plugin_procedure_new (plug_in, PROC_RESTYLE, restyle_run);
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, _("_Restyle with Texture (FGSD)..."));
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Artistic");
  gimp_procedure_set_documentation (
    procedure, _("Redraw a layer in the texture of the selected area"),
    _("The active layer is redrawn in the texture of the selection on \"reference-layer\" "
      "(or on the active layer itself when none is given; at least 32 × 32 pixels with "
      "1024 selected). \"start\" patches (the default): squares of the selection, each "
      "chosen to follow the layer's light and dark and to fit its neighbours "
      "(\"patch-strength\": 0 follows the layer closely, 1 ignores it); the result has the "
      "selection's colours. Noise: the diffusion sampler, started from the layer plus "
      "noise of std \"strength\", keeps the layer's colour layout: low strength (0.1-0.3) "
      "keeps its shapes and adds the reference's detail, high strength (1 and up) keeps "
      "little but its colours. The result goes into a new layer above (same size, "
      "position and alpha) or a new image; the layer is not changed. Returns the new "
      "layer and the seed used."),
    PROC_RESTYLE);
  args_add (procedure, FGSD_PROC_RESTYLE);
  plugin_add_return_values (procedure);
  return procedure;
}
