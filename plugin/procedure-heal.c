/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * plug-in-fgsd-heal: fills the selection on the active layer with texture
 * that continues its surroundings (fgsd_heal; docs/design.md "Heal").  The
 * texture is read from a band of "band-width" pixels around the selection,
 * or from the whole of "reference-layer".  Only the selection's bounding box
 * grown by the engine's margin is read and sampled; the result is a new
 * layer of that size right above the active one, equal to it outside the
 * selection, so the layer itself is not touched and one undo removes the
 * patch.
 */
#include "plugin-config.h"

#include <string.h>

#include <libgimp/gimpui.h>

#include "dialog.h"
#include "args.h"
#include "engine.h"
#include "output.h"
#include "pixels.h"
#include "plugin.h"
#include "reference.h"
#include "run.h"

typedef struct
{
  gint x, y, width, height; /* drawable coordinates */
} Region;

static gchar *
summary (GimpLayer *layer, gint w, gint h)
{
  gchar *name = g_markup_escape_text (gimp_item_get_name (GIMP_ITEM (layer)), -1);
  gchar *text = g_strdup_printf (_("Healing the selection (%d × %d pixels) on <b>%s</b>: it "
                                   "is filled with texture that continues its "
                                   "surroundings, in a new layer above."),
                                 w, h, name);

  g_free (name);
  return text;
}

/* The selection's bounding box on layer; a clear error when there is none. */
static gboolean
hole_box (GimpImage *image, GimpLayer *layer, Region *box, GError **error)
{
  if (gimp_selection_is_empty (image))
    {
      g_set_error_literal (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_SELECTION,
                           _("There is no selection. Select the area to heal (for example "
                             "with the Free Select tool), then run the filter again."));
      return FALSE;
    }
  if (! gimp_drawable_mask_intersect (GIMP_DRAWABLE (layer), &box->x, &box->y, &box->width,
                                      &box->height))
    {
      g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_SELECTION,
                   _("The selection does not overlap the layer “%s”. Select the area to "
                     "heal on that layer."),
                   gimp_item_get_name (GIMP_ITEM (layer)));
      return FALSE;
    }
  return TRUE;
}

/* box grown by the engine's margin (fgsd_heal: the larger of the band and
 * half the receptive field) or by reach if that is larger, clipped to the
 * layer. */
static Region
grow (const Region *box, GimpLayer *layer, const FgsdEngine *engine, gint band_width,
      gint reach)
{
  fgsd_model_info info;
  gint            lw = gimp_drawable_get_width (GIMP_DRAWABLE (layer));
  gint            lh = gimp_drawable_get_height (GIMP_DRAWABLE (layer));
  gint            margin;
  Region          r;

  fgsd_model_get_info (engine->model, &info);
  margin   = MAX (MAX (band_width, info.receptive_field / 2), reach);
  r.x      = MAX (0, box->x - margin);
  r.y      = MAX (0, box->y - margin);
  r.width  = MIN (lw, box->x + box->width + margin) - r.x;
  r.height = MIN (lh, box->y + box->height + margin) - r.y;
  return r;
}

/* The part at (x, y), w x h, of a src_w wide image of ch channels. */
static gfloat *
crop (const gfloat *src, gint src_w, gint ch, gint x, gint y, gint w, gint h)
{
  gfloat *dst = g_new (gfloat, (gsize) w * (gsize) h * (gsize) ch);

  for (gint r = 0; r < h; r++)
    memcpy (dst + (gsize) r * (gsize) w * (gsize) ch,
            src + ((gsize) (y + r) * (gsize) src_w + (gsize) x) * (gsize) ch,
            (gsize) w * (gsize) ch * sizeof (gfloat));
  return dst;
}

/* The filled pixels are opaque: a blemish is usually removed with Edit >
 * Clear, which leaves the hole transparent, and the fill must show there.
 * Where the selection is partial, the alpha moves towards 1 as much. */
static void
fill_opaque (gfloat *rgba, const gfloat *hole, gsize n)
{
  for (gsize i = 0; i < n; i++)
    rgba[4 * i + 3] += hole[i] * (1.0f - rgba[4 * i + 3]);
}

typedef struct
{
  GimpLayer    *layer;
  Region        box;      /* the selection's bounding box on the layer */
  FgsdReference ref;      /* the reference layer, when given */
} HealState;

static gboolean
heal_prepare (FgsdRun *run, gpointer state, GError **error)
{
  HealState *hs = state;

  hs->layer = plugin_single_layer (run->image, run->drawables, error);
  if (! hs->layer)
    {
      run->calling_error = TRUE;
      return FALSE;
    }
  return hole_box (run->image, hs->layer, &hs->box, error);
}

static gchar *
heal_summary (FgsdRun *run, gpointer state)
{
  HealState *hs = state;

  return summary (hs->layer, hs->box.width, hs->box.height);
}

static gboolean
heal_check (FgsdRun *run, gpointer state, GError **error)
{
  run->calling_error = run->args.reference_layer &&
                       ! plugin_check_layer (run->image,
                                             GIMP_DRAWABLE (run->args.reference_layer), error);
  return ! run->calling_error;
}

static gboolean
heal_compute (FgsdRun *run, gpointer state, GError **error)
{
  HealState          *hs        = state;
  FgsdArgs           *args      = &run->args;
  fgsd_reference     *reference = NULL;
  fgsd_sampler_params params    = args_sampler (args, run->seed);
  gfloat             *in        = NULL; /* the region, RGBA */
  gfloat             *in_rgb    = NULL;
  gfloat             *hole      = NULL;
  gfloat             *rgb       = NULL;
  gboolean            ok        = FALSE;
  /* The new layer covers r; patches look for a place to clone from in
   * the wider c, then the result is cut back to r. */
  Region              r         = grow (&hs->box, hs->layer, &run->engine, args->band_width, 0);
  Region              c         = args->start == ARGS_START_PATCHES
                                    ? grow (&hs->box, hs->layer, &run->engine, args->band_width,
                                            FGSD_HEAL_CLONE_REACH)
                                    : r;
  gsize               n         = (gsize) r.width * (gsize) r.height;
  gint                offx, offy;

  gimp_drawable_get_offsets (GIMP_DRAWABLE (hs->layer), &offx, &offy);
  if (! engine_check_memory (FGSD_TASK_HEAL, &params, c.width, c.height,
                             ENGINE_OWN_FLOATS_HEAL, error) ||
      ! (in = pixels_read_rgba (GIMP_DRAWABLE (hs->layer), c.x, c.y, c.width, c.height,
                                error)) ||
      ! (in_rgb = pixels_rgba_to_rgb (in, (gsize) c.width * (gsize) c.height, TRUE, error)) ||
      ! (hole = pixels_read_selection (run->image, c.x + offx, c.y + offy, c.width, c.height,
                                       error)) ||
      (args->reference_layer &&
       ! reference_read_layer (GIMP_DRAWABLE (args->reference_layer), &hs->ref, error)))
    goto out;
  if (args->start == ARGS_START_PATCHES)
    {
      if (! engine_heal_from_patches (&run->engine, run->seed, in_rgb, hole, c.width, c.height,
                                      args->band_width, args->reference_layer ? &hs->ref : NULL,
                                      &rgb, error))
        goto out;
      if (c.x != r.x || c.y != r.y || c.width != r.width || c.height != r.height)
        {
          gint    x = r.x - c.x, y = r.y - c.y;
          gfloat *rgb_r  = crop (rgb, c.width, 3, x, y, r.width, r.height);
          gfloat *in_r   = crop (in, c.width, 4, x, y, r.width, r.height);
          gfloat *hole_r = crop (hole, c.width, 1, x, y, r.width, r.height);

          g_free (rgb);
          g_free (in);
          g_free (hole);
          rgb  = rgb_r;
          in   = in_r;
          hole = hole_r;
        }
    }
  else
    {
      if (args->reference_layer)
        {
          engine_set_progress_range (&run->engine, 0.0, 0.05);
          if (! engine_reference (&run->engine, &hs->ref, &reference, error))
            goto out;
        }
      engine_set_progress_range (&run->engine, 0.05, 1.0);
      if (! engine_heal (&run->engine, reference, &params, in_rgb, hole, r.width, r.height,
                         args->band_width, &rgb, error))
        goto out;
    }
  if (! (run->rgba = pixels_rgb_to_rgba (rgb, in, n, error)))
    goto out;
  fill_opaque (run->rgba, hole, n);

  run->name = g_strdup_printf (_("%s healed (seed %u)"),
                               gimp_item_get_name (GIMP_ITEM (hs->layer)), run->seed);
  run->out  = (FgsdOutput) {
    .image     = run->image,
    .above     = GIMP_DRAWABLE (hs->layer),
    .like      = GIMP_DRAWABLE (hs->layer),
    .width     = r.width,
    .height    = r.height,
    .offset_x  = offx + r.x,
    .offset_y  = offy + r.y,
    .new_image = FALSE,
  };
  ok = TRUE;

out:
  g_free (rgb);
  g_free (hole);
  g_free (in_rgb);
  g_free (in);
  fgsd_reference_free (reference);
  return ok;
}

/* A k-times smaller copy of the w x h image of ch channels (k x k means). */
static gfloat *
shrink (const gfloat *src, gint w, gint h, gint ch, gint k)
{
  gint    sw = w / k, sh = h / k;
  gfloat *dst = g_new0 (gfloat, (gsize) sw * (gsize) sh * (gsize) ch);

  for (gint y = 0; y < sh * k; y++)
    for (gint x = 0; x < sw * k; x++)
      for (gint c = 0; c < ch; c++)
        dst[((gsize) (y / k) * (gsize) sw + (gsize) (x / k)) * (gsize) ch + (gsize) c] +=
          src[((gsize) y * (gsize) w + (gsize) x) * (gsize) ch + (gsize) c] / (gfloat) (k * k);
  return dst;
}

/* The preview's input: the hole's box grown by the band (the part shown),
 * with patches grown by the clone's reach around it (read, not shown), with
 * the selection over it and the reference layer; shrunk by a whole factor
 * (and the band with it, at least 8 pixels) when the part shown is wider
 * than PREVIEW_SIDE, so that the whole hole and its band are seen. */
static FgsdPreviewInput *
heal_preview_read (FgsdRun *run, gpointer state, const FgsdArgs *args, GError **error)
{
  HealState        *hs    = state;
  FgsdPreviewInput *in    = g_new0 (FgsdPreviewInput, 1);
  gfloat           *rgba  = NULL;
  gint              lw    = gimp_drawable_get_width (GIMP_DRAWABLE (hs->layer));
  gint              lh    = gimp_drawable_get_height (GIMP_DRAWABLE (hs->layer));
  gint              reach = args->start == ARGS_START_PATCHES
                              ? MAX (args->band_width, FGSD_HEAL_CLONE_REACH)
                              : args->band_width;
  gint              sx0   = MAX (0, hs->box.x - args->band_width);
  gint              sy0   = MAX (0, hs->box.y - args->band_width);
  gint              sw    = MIN (lw, hs->box.x + hs->box.width + args->band_width) - sx0;
  gint              sh    = MIN (lh, hs->box.y + hs->box.height + args->band_width) - sy0;
  gint              x0    = MAX (0, hs->box.x - reach);
  gint              y0    = MAX (0, hs->box.y - reach);
  gint              w     = MIN (lw, hs->box.x + hs->box.width + reach) - x0;
  gint              h     = MIN (lh, hs->box.y + hs->box.height + reach) - y0;
  gint              k     = (MAX (sw, sh) + PREVIEW_SIDE - 1) / PREVIEW_SIDE;
  gint              offx, offy;

  gimp_drawable_get_offsets (GIMP_DRAWABLE (hs->layer), &offx, &offy);
  in->width       = w;
  in->height      = h;
  in->band_width  = args->band_width;
  in->show_x      = sx0 - x0;
  in->show_y      = sy0 - y0;
  in->show_width  = sw;
  in->show_height = sh;
  if (args->reference_layer)
    {
      in->n_refs = 1;
      in->refs   = g_new0 (FgsdReference, 1);
    }
  if (! (rgba = pixels_read_rgba (GIMP_DRAWABLE (hs->layer), x0, y0, w, h, error)) ||
      ! (in->image = pixels_rgba_to_rgb (rgba, (gsize) w * (gsize) h, TRUE, error)) ||
      ! (in->hole = pixels_read_selection (run->image, x0 + offx, y0 + offy, w, h, error)) ||
      (args->reference_layer &&
       (! plugin_check_layer (run->image, GIMP_DRAWABLE (args->reference_layer), error) ||
        ! reference_read_layer (GIMP_DRAWABLE (args->reference_layer), &in->refs[0], error))))
    {
      g_free (rgba);
      preview_input_free (in);
      return NULL;
    }
  g_free (rgba);
  if (k > 1)
    {
      gfloat *image = shrink (in->image, w, h, 3, k);
      gfloat *hole  = shrink (in->hole, w, h, 1, k);

      g_free (in->image);
      g_free (in->hole);
      in->image      = image;
      in->hole       = hole;
      in->width       = w / k;
      in->height      = h / k;
      in->band_width  = MAX (8, args->band_width / k);
      in->show_x      = in->show_x / k;
      in->show_y      = in->show_y / k;
      in->show_width  = MIN (sw / k, in->width - in->show_x);
      in->show_height = MIN (sh / k, in->height - in->show_y);
    }
  return in;
}

/* The preview: the crop healed as the run heals the layer. */
static gboolean
heal_preview_render (fgsd_session *s, const FgsdArgs *args, guint32 seed,
                     const FgsdPreviewInput *in, gfloat **rgb, gint *w, gint *h,
                     GError **error)
{
  const FgsdReference *r      = in->n_refs ? &in->refs[0] : NULL;
  fgsd_reference      *ref    = NULL;
  fgsd_patch_params    patch  = fgsd_patch_params_default ();
  fgsd_sampler_params  params = args_sampler (args, seed);
  fgsd_status          st     = FGSD_OK;
  gfloat              *all    = g_malloc ((gsize) in->width * (gsize) in->height * 3 *
                                          sizeof (gfloat));

  patch.seed = seed;
  if (args->start == ARGS_START_PATCHES)
    st = fgsd_heal_from_patches (s, &patch, in->image, in->hole, in->width, in->height,
                                 in->band_width, r ? r->rgb : NULL, r ? r->mask : NULL,
                                 r ? r->width : 0, r ? r->height : 0, all);
  else
    {
      if (r)
        st = fgsd_reference_measure_scales (s, r->rgb, r->width, r->height, r->mask, 1, &ref);
      if (! st)
        st = fgsd_heal (s, ref, &params, in->image, in->hole, in->width, in->height,
                        in->band_width, all, NULL);
      fgsd_reference_free (ref);
    }
  *rgb = NULL;
  if (! st)
    {
      *w   = in->show_width;
      *h   = in->show_height;
      *rgb = crop (all, in->width, 3, in->show_x, in->show_y, *w, *h);
    }
  g_free (all);
  return st ? preview_engine_failed (s, st, error) : TRUE;
}

static void
heal_clear (gpointer state)
{
  HealState *hs = state;

  reference_clear (&hs->ref);
}

static GimpValueArray *
heal_run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
          GimpDrawable **drawables, GimpProcedureConfig *config, gpointer data)
{
  const FgsdRunHooks hooks = {
    .kind       = FGSD_PROC_HEAL,
    .label      = _("Healing the selection"),
    .state_size = sizeof (HealState),
    .prepare    = heal_prepare,
    .summary    = heal_summary,
    .check      = heal_check,
    .compute    = heal_compute,
    .clear      = heal_clear,
    .preview_read   = heal_preview_read,
    .preview_render = heal_preview_render,
  };

  return run_procedure (&hooks, procedure, run_mode, image, drawables, config);
}

GimpProcedure *
procedure_heal_new (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = plugin_procedure_new (plug_in, PROC_HEAL, heal_run);
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, _("_Heal Selection with Texture (FGSD)..."));
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Enhance");
  gimp_procedure_set_documentation (
    procedure, _("Fill the selection with texture that continues its surroundings"),
    _("The selection on the active layer is the hole. With \"start\" patches (the "
      "default) it is cloned from where its surroundings repeat (a regular pattern), "
      "else filled with squares of texture, each the one that fits what is "
      "around it best; with noise the diffusion sampler draws it while the pixels around "
      "it stay fixed. The texture is taken from a band of \"band-width\" pixels around "
      "the selection, or from the whole of \"reference-layer\" when given. The result is a new layer right above the active one covering the selection "
      "and its surroundings, equal to the layer outside the selection; the layer itself "
      "is not changed. Returns the new layer and the seed used."),
    PROC_HEAL);
  args_add (procedure, FGSD_PROC_HEAL);
  plugin_add_return_values (procedure);
  return procedure;
}
