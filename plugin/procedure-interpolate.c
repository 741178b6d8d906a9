/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * plug-in-fgsd-interpolate: a texture between two or more references
 * (method.md section 2: condition on a convex blend of their phi's).  The
 * references are the selected layers, each read inside the one current
 * selection, ordered from the top of the layer stack down whatever order
 * they are passed in: with two, the upper one is A and "weight" its share
 * (A weight + B (1 - weight)); "weights" gives one number per layer, top
 * down, for two or more.  Scripts pass the layers as the drawables.
 */
#include "plugin-config.h"

#include <libgimp/gimpui.h>

#include "dialog.h"
#include "args.h"
#include "engine.h"
#include "output.h"
#include "pixels.h"
#include "plugin.h"
#include "reference.h"

static gchar *
summary (GimpLayer **layers, gint n, const FgsdReference *ref)
{
  gchar *na   = g_markup_escape_text (gimp_item_get_name (GIMP_ITEM (layers[0])), -1);
  gchar *nb   = g_markup_escape_text (gimp_item_get_name (GIMP_ITEM (layers[1])), -1);
  gchar *text;

  if (n == 2)
    text = g_strdup_printf (_("Texture A: the selection on <b>%s</b>; texture B: the "
                              "same selection on <b>%s</b> (%d × %d pixels). "
                              "“Amount of A” sets how much of A the new texture takes."),
                            na, nb, ref->width, ref->height);
  else
    text = g_strdup_printf (_("%d textures: the selection (%d × %d pixels) on each "
                              "selected layer, from <b>%s</b> at the top down. "
                              "“Weights” gives each one's share, top down."),
                            n, ref->width, ref->height, na);
  g_free (na);
  g_free (nb);
  return text;
}

/* The selection on each layer as a reference, mixed with weights. */
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

static GimpValueArray *
interpolate_run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
                 GimpDrawable **drawables, GimpProcedureConfig *config, gpointer data)
{
  GimpPDBStatusType   status  = GIMP_PDB_EXECUTION_ERROR;
  FgsdArgs            args    = { 0 };
  FgsdReference       ref     = { 0 };
  FgsdEngine          engine  = { 0 };
  fgsd_sampler_params params;
  GimpLayer         **layers  = NULL;
  GimpLayer          *result  = NULL;
  gdouble            *weights = NULL;
  fgsd_reference     *reference = NULL;
  gfloat             *rgb     = NULL;
  gfloat             *rgba    = NULL;
  gchar              *name    = NULL;
  GError             *error   = NULL;
  guint32             seed    = 0;
  const gchar        *label;
  gint                n       = 0;
  gint                w, h;

  gegl_init (NULL, NULL);
  label = _("Interpolating textures");
  if (! plugin_check_image (image, &error) ||
      ! (layers = plugin_layers_top_down (image, drawables, &n, &error)))
    {
      status = GIMP_PDB_CALLING_ERROR;
      goto out;
    }
  for (gint i = n - 1; i >= 0; i--)
    if (! reference_check (image, GIMP_DRAWABLE (layers[i]), &ref, &error))
      goto out;

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gchar   *text = summary (layers, n, &ref);
      gboolean ok;

      gimp_ui_init (PLUG_IN_BINARY);
      args_fill_size (config, image);
      ok = fgsd_dialog_run (procedure, config, FGSD_PROC_INTERPOLATE, text);
      g_free (text);
      if (! ok)
        {
          status = GIMP_PDB_CANCEL;
          goto out;
        }
    }
  args_read (config, &args);
  weights = g_new (gdouble, n);
  if (! args_weights (&args, n, weights, &error))
    {
      status = GIMP_PDB_CALLING_ERROR;
      goto out;
    }
  w = args.width > 0 ? args.width : gimp_image_get_width (image);
  h = args.height > 0 ? args.height : gimp_image_get_height (image);
  params = args_sampler (&args, 0);
  if (! engine_check_memory (FGSD_TASK_SYNTHESIZE, &params, w, h, ENGINE_OWN_FLOATS_SYNTH,
                             &error))
    goto out;

  gimp_progress_init (label);
  if (! engine_open (&engine, args.model, args_backend (&args), run_mode, label,
                     &error) ||
      (args.guidance > 1.0 && ! engine_open_guide (&engine, args.guide_model,
                                                   args_backend (&args), run_mode, &error)) ||
      ! mixed_reference (&engine, image, layers, n, weights, &reference, &error))
    goto out;

  seed   = args_pick_seed (&args);
  params = args_sampler (&args, seed);
  engine_set_progress_range (&engine, 0.06, 1.0);
  if (! engine_synthesize (&engine, reference, &params, w, h, &rgb, &error) ||
      ! (rgba = pixels_rgb_to_rgba (rgb, NULL, (gsize) w * (gsize) h, &error)))
    goto out;

  if (n == 2)
    name = g_strdup_printf (_("Interpolation %.2f (seed %u)"),
                            weights[0] / (weights[0] + weights[1]), seed);
  else
    name = g_strdup_printf (_("Blend of %d textures (seed %u)"), n, seed);
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

GimpProcedure *
procedure_interpolate_new (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = plugin_procedure_new (plug_in, PROC_INTERPOLATE, interpolate_run);
  /* One selected layer still opens the menu entry, so that the error can
   * say how to pick a second one. */
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE |
                                                    GIMP_PROCEDURE_SENSITIVE_DRAWABLES);
  gimp_procedure_set_menu_label (procedure, _("Texture _Interpolation (FGSD)..."));
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Render");
  gimp_procedure_set_documentation (
    procedure, _("Render a texture between two or more selected textures"),
    _("Select two or more layers (Ctrl+click in the Layers dialog) and a selection: the "
      "selection on each layer is one texture (each at least 32 × 32 pixels with 1024 "
      "selected). Scripts pass the layers as the drawables, in any order: the stack "
      "decides, from the top down. With two layers and empty \"weights\", the upper one "
      "is texture A and the new texture's features are weight * A + (1 - weight) * B; "
      "\"weights\" (e.g. \"1, 2, 1\") gives one share per layer, top down, scaled to add "
      "up to 1. The result goes into a new layer above the top one (or a new image). "
      "Returns the new layer and the seed used."),
    PROC_INTERPOLATE);
  args_add (procedure, FGSD_PROC_INTERPOLATE);
  plugin_add_return_values (procedure);
  return procedure;
}
