/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * plug-in-fgsd-interpolate: a texture between two or more references.
 * "start" noise (the default): the sampler conditioned on a convex blend
 * of their phi's (method.md section 2); patches: a mixture, each
 * reference's own squares over its share of the canvas
 * (fgsd_interpolate_from_patches).  The references are the selected layers, each read inside the one current
 * selection, ordered from the top of the layer stack down whatever order
 * they are passed in: with two, the upper one is A and "weight" its share
 * (A weight + B (1 - weight)); "weights" gives one number per layer, top
 * down, for two or more.  Scripts pass the layers as the drawables.
 */
#include "plugin-config.h"

#include <libgimp/gimpui.h>

#include "args.h"
#include "plugin.h"
#include "texture-procedure.h"

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

static gchar *
blend_name (const gdouble *weights, gint n, guint32 seed)
{
  if (n == 2)
    return g_strdup_printf (_("Interpolation %.2f (seed %u)"),
                            weights[0] / (weights[0] + weights[1]), seed);
  return g_strdup_printf (_("Blend of %d textures (seed %u)"), n, seed);
}

static GimpValueArray *
interpolate_run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
                 GimpDrawable **drawables, GimpProcedureConfig *config, gpointer data)
{
  const FgsdTextureProcedure tp = {
    .kind    = FGSD_PROC_INTERPOLATE,
    .label   = _("Interpolating textures"),
    .layers  = plugin_layers_top_down,
    .summary = summary,
    .weights = args_weights,
    .name    = blend_name,
  };

  return texture_procedure_run (&tp, procedure, run_mode, image, drawables, config);
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
      "is texture A with the share \"weight\" and B has 1 - weight; \"weights\" (e.g. "
      "\"1, 2, 1\") gives one share per layer, top down, scaled to add up to 1. \"start\" "
      "noise (the default): the diffusion sampler draws one texture whose features are "
      "the shares' blend of theirs; patches: a mixture, each texture's own squares "
      "filling its share of the canvas in regions a few squares wide. The result goes into a new "
      "layer above the top one (or a new image). Returns the new layer and the seed used."),
    PROC_INTERPOLATE);
  args_add (procedure, FGSD_PROC_INTERPOLATE);
  plugin_add_return_values (procedure);
  return procedure;
}
