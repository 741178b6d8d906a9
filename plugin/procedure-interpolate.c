/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * plug-in-fgsd-interpolate: a texture between two references (method.md
 * section 2: condition on weight * phi_A + (1 - weight) * phi_B).  The two
 * references are the two selected layers, each read inside the one current
 * selection: the upper one in the layer stack is A, the lower one B, in
 * whatever order they are passed.  Scripts pass both as the drawables.
 */
#include "plugin-config.h"

#include <libgimp/gimpui.h>

#include "../ui/dialog.h"
#include "args.h"
#include "engine.h"
#include "output.h"
#include "pixels.h"
#include "plugin.h"
#include "reference.h"

static gchar *
summary (GimpLayer *a, GimpLayer *b, const FgsdReference *ref)
{
  gchar *na   = g_markup_escape_text (gimp_item_get_name (GIMP_ITEM (a)), -1);
  gchar *nb   = g_markup_escape_text (gimp_item_get_name (GIMP_ITEM (b)), -1);
  gchar *text = g_strdup_printf (_("Texture A: the selection on <b>%s</b>; texture B: the "
                                   "same selection on <b>%s</b> (%d × %d pixels). "
                                   "“Amount of A” sets how much of A the new texture takes."),
                                 na, nb, ref->width, ref->height);

  g_free (na);
  g_free (nb);
  return text;
}

/* phi of the selection on each layer, mixed. */
static gboolean
mixed_features (FgsdEngine *engine, GimpImage *image, GimpLayer *a, GimpLayer *b,
                gdouble weight, gfloat **phi, GError **error)
{
  FgsdReference ref   = { 0 };
  gfloat       *phi_a = NULL;
  gfloat       *phi_b = NULL;
  gboolean      ok    = FALSE;

  engine_set_progress_range (engine, 0.0, 0.03);
  if (! reference_read (image, GIMP_DRAWABLE (a), &ref, error) ||
      ! engine_features (engine, &ref, &phi_a, error))
    goto out;
  reference_clear (&ref);
  engine_set_progress_range (engine, 0.03, 0.06);
  if (! reference_read (image, GIMP_DRAWABLE (b), &ref, error) ||
      ! engine_features (engine, &ref, &phi_b, error))
    goto out;
  ok = engine_blend (engine, phi_a, phi_b, weight, phi, error);

out:
  reference_clear (&ref);
  g_free (phi_a);
  g_free (phi_b);
  return ok;
}

static GimpValueArray *
interpolate_run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
                 GimpDrawable **drawables, GimpProcedureConfig *config, gpointer data)
{
  GimpPDBStatusType   status = GIMP_PDB_EXECUTION_ERROR;
  FgsdArgs            args   = { 0 };
  FgsdReference       ref    = { 0 };
  FgsdEngine          engine = { 0 };
  fgsd_sampler_params params;
  GimpLayer          *a, *b;
  GimpLayer          *result = NULL;
  gfloat             *phi    = NULL;
  gfloat             *rgb    = NULL;
  gfloat             *rgba   = NULL;
  gchar              *name   = NULL;
  GError             *error  = NULL;
  guint32             seed   = 0;
  const gchar        *label;
  gint                w, h;

  gegl_init (NULL, NULL);
  label = _("Interpolating textures");
  if (! plugin_check_image (image, &error) ||
      ! plugin_two_layers (image, drawables, &a, &b, &error))
    {
      status = GIMP_PDB_CALLING_ERROR;
      goto out;
    }
  if (! reference_check (image, GIMP_DRAWABLE (b), &ref, &error) ||
      ! reference_check (image, GIMP_DRAWABLE (a), &ref, &error))
    goto out;

  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      gchar   *text = summary (a, b, &ref);
      gboolean ok;

      gimp_ui_init (PLUG_IN_BINARY);
      args_fill_size (config, image);
      ok = fgsd_dialog_run (procedure, config, FGSD_DIALOG_INTERPOLATE, text);
      g_free (text);
      if (! ok)
        {
          status = GIMP_PDB_CANCEL;
          goto out;
        }
    }
  args_read (config, &args);
  w = args.width > 0 ? args.width : gimp_image_get_width (image);
  h = args.height > 0 ? args.height : gimp_image_get_height (image);
  if (! engine_check_memory (w, h, ENGINE_FLOATS_PER_PIXEL_SYNTH, &error))
    goto out;

  gimp_progress_init (label);
  if (! engine_open (&engine, args.model, args_backend (&args), run_mode, label,
                     &error) ||
      ! mixed_features (&engine, image, a, b, args.weight, &phi, &error))
    goto out;

  seed   = args_pick_seed (&args);
  params = args_sampler (&args, seed);
  engine_set_progress_range (&engine, 0.06, 1.0);
  if (! engine_sample (&engine, &params, phi, w, h, &rgb, NULL, &error) ||
      ! (rgba = pixels_rgb_to_rgba (rgb, NULL, (gsize) w * (gsize) h, &error)))
    goto out;

  name = g_strdup_printf (_("Interpolation %.2f (seed %u)"), args.weight, seed);
  {
    FgsdOutput out = {
      .image     = image,
      .above     = GIMP_DRAWABLE (a),
      .like      = GIMP_DRAWABLE (a),
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
  g_free (phi);
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
   * say how to pick the second one. */
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE |
                                                    GIMP_PROCEDURE_SENSITIVE_DRAWABLES);
  gimp_procedure_set_menu_label (procedure, _("Texture _Interpolation (FGSD)..."));
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Render");
  gimp_procedure_set_documentation (
    procedure, _("Render a texture between two selected textures"),
    _("Select two layers (Ctrl+click in the Layers dialog) and a selection: the selection "
      "on the upper layer is texture A, the same selection on the lower layer texture B "
      "(each at least 32 × 32 pixels with 1024 selected). Scripts pass the two layers as "
      "the drawables, in any order: the stack decides which is A. The new texture's features are weight * A + (1 - weight) "
      "* B; it goes into a new layer above A (or a new image). Returns the new layer "
      "and the seed used."),
    PROC_INTERPOLATE);
  args_add (procedure, ARGS_TASK_INTERPOLATE);
  plugin_add_return_values (procedure);
  return procedure;
}
