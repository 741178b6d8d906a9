/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * plug-in-fgsd-synthesize: a new texture like the selected area of the
 * active layer (paper Algorithm 1 conditioned on phi of the selection).
 * The source layer is only read.
 */
#include "plugin-config.h"

#include <libgimp/gimpui.h>

#include "args.h"
#include "plugin.h"
#include "texture-procedure.h"

static gchar *
summary (GimpLayer **layers, gint n, const FgsdReference *ref)
{
  gchar *name = g_markup_escape_text (gimp_item_get_name (GIMP_ITEM (layers[0])), -1);
  gchar *text = g_strdup_printf (_("Reference: the selection on <b>%s</b> (%d × %d pixels). "
                                   "A new texture like it is rendered into a new layer."),
                                 name, ref->width, ref->height);

  g_free (name);
  return text;
}

/* The active layer, as a list of one. */
static GimpLayer **
source_layer (GimpImage *image, GimpDrawable **drawables, gint *n, GError **error)
{
  GimpLayer  *layer = plugin_single_layer (image, drawables, error);
  GimpLayer **one;

  if (! layer)
    return NULL;
  one    = g_new (GimpLayer *, 1);
  one[0] = layer;
  *n     = 1;
  return one;
}

static gboolean
one_weight (const FgsdArgs *args, gint n, gdouble *weights, GError **error)
{
  weights[0] = 1.0;
  return TRUE;
}

static gchar *
texture_name (const gdouble *weights, gint n, guint32 seed)
{
  return g_strdup_printf (_("Texture (seed %u)"), seed);
}

static GimpValueArray *
synthesize_run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
                GimpDrawable **drawables, GimpProcedureConfig *config, gpointer data)
{
  const FgsdTextureProcedure tp = {
    .kind    = FGSD_PROC_SYNTHESIZE,
    .label   = _("Synthesizing texture"),
    .layers  = source_layer,
    .summary = summary,
    .weights = one_weight,
    .name    = texture_name,
  };

  return texture_procedure_run (&tp, procedure, run_mode, image, drawables, config);
}

GimpProcedure *
procedure_synthesize_new (GimpPlugIn *plug_in)
{
  GimpProcedure *procedure;

  procedure = plugin_procedure_new (plug_in, PROC_SYNTHESIZE, synthesize_run);
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, _("_Texture from Selection (FGSD)..."));
  gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Render");
  gimp_procedure_set_documentation (
    procedure, _("Render a new texture that looks like the selected area"),
    _("The selected area of the active layer is the reference (only selected pixels "
      "count, weighted by the selection and the layer's alpha; at least 32 × 32 pixels "
      "with 1024 selected). With \"start\" patches (the default) squares of it are laid "
      "over a canvas of the given size, each the one that fits its neighbours best, and "
      "the diffusion model redraws them as much as \"redraw\" says; with noise the "
      "texture is grown from noise by the denoising network steered towards the "
      "reference's features (feature-guided score diffusion). The result goes into a "
      "new layer above the source (or a new image); the source layer is not changed. "
      "Returns the new layer and the seed used."),
    PROC_SYNTHESIZE);
  args_add (procedure, FGSD_PROC_SYNTHESIZE);
  plugin_add_return_values (procedure);
  return procedure;
}
