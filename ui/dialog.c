/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One dialog for the procedures (docs/gimp-plugin.md, "Dialog"):
 *
 *   summary        what the reference is (selection size, layers)
 *   Result         width, height / reference layer, amount of A, weights,
 *                  band width, strength, tileable, output
 *   Variation      seed with "New Seed", random seed
 *   Sampling       step size h, beta, start/layer noise, final noise, max steps,
 *                  guidance (synthesize, interpolate; its model only in batch
 *                  mode: the installed baseline is the one to use)
 *   Model          model file, backend
 *
 * Widgets are made before the boxes are filled so that fill_box reuses
 * them (GimpProcedureDialog keeps one widget per property).
 */
#include "plugin-config.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include <glib/gi18n-lib.h>
#include "dialog.h"

static void
new_seed_clicked (GtkButton *button, GimpProcedureConfig *config)
{
  g_object_set (config, "seed", g_random_int_range (0, G_MAXINT), NULL);
}

static void
make_widgets (GimpProcedureDialog *dialog, FgsdProcedureKind kind)
{
  const gchar *doubles[] = { "step-size", "beta",
                             kind == FGSD_PROC_RESTYLE ? "strength" : "noise-level",
                             "final-noise" };

  if (kind == FGSD_PROC_SYNTHESIZE || kind == FGSD_PROC_INTERPOLATE)
    {
      gimp_procedure_dialog_get_widget (dialog, "width", GIMP_TYPE_LABEL_SPIN);
      gimp_procedure_dialog_get_widget (dialog, "height", GIMP_TYPE_LABEL_SPIN);
    }
  if (kind == FGSD_PROC_INTERPOLATE)
    gimp_procedure_dialog_get_spin_scale (dialog, "weight", 1.0);
  if (kind == FGSD_PROC_HEAL)
    gimp_procedure_dialog_get_widget (dialog, "band-width", GIMP_TYPE_LABEL_SPIN);
  gimp_procedure_dialog_get_widget (dialog, "seed", GIMP_TYPE_LABEL_SPIN);
  gimp_procedure_dialog_get_widget (dialog, "max-steps", GIMP_TYPE_LABEL_SPIN);
  for (guint i = 0; i < G_N_ELEMENTS (doubles); i++)
    gimp_procedure_dialog_get_spin_scale (dialog, doubles[i], 1.0);
  if (kind == FGSD_PROC_SYNTHESIZE || kind == FGSD_PROC_INTERPOLATE)
    gimp_procedure_dialog_get_spin_scale (dialog, "guidance", 1.0);
  if (kind == FGSD_PROC_SYNTHESIZE)
    gimp_procedure_dialog_get_spin_scale (dialog, "redraw", 1.0);
  if (kind == FGSD_PROC_RESTYLE)
    gimp_procedure_dialog_get_spin_scale (dialog, "patch-strength", 1.0);
}

/* property is sensitive only while "start" is start. */
static void
sensitive_for_start (GimpProcedureDialog *dialog, GimpProcedureConfig *config,
                     const gchar *property, const gchar *start)
{
  GimpValueArray *values = gimp_value_array_new (1);
  GValue          value  = G_VALUE_INIT;

  g_value_init (&value, G_TYPE_STRING);
  g_value_set_string (&value, start);
  gimp_value_array_append (values, &value);
  g_value_unset (&value);
  gimp_procedure_dialog_set_sensitive_if_in (dialog, property, G_OBJECT (config), "start",
                                             values, TRUE);
}

static void
fill_result (GimpProcedureDialog *dialog, GimpProcedureConfig *config, FgsdProcedureKind kind)
{
  switch (kind)
    {
    case FGSD_PROC_SYNTHESIZE:
      gimp_procedure_dialog_fill_box (dialog, "result-box", "start", "redraw", "width",
                                      "height", "tileable", "output", NULL);
      break;
    case FGSD_PROC_DENOISE:
      gimp_procedure_dialog_fill_box (dialog, "result-box", "reference-layer", "output", NULL);
      break;
    case FGSD_PROC_INTERPOLATE:
      gimp_procedure_dialog_fill_box (dialog, "result-box", "start", "weight", "weights",
                                      "width", "height", "tileable", "output", NULL);
      break;
    case FGSD_PROC_HEAL:
      gimp_procedure_dialog_fill_box (dialog, "result-box", "start", "reference-layer",
                                      "band-width", NULL);
      break;
    case FGSD_PROC_RESTYLE:
      gimp_procedure_dialog_fill_box (dialog, "result-box", "start", "patch-strength",
                                      "reference-layer", "strength", "output", NULL);
      /* Each start has its own strength. */
      sensitive_for_start (dialog, config, "patch-strength", "patches");
      sensitive_for_start (dialog, config, "strength", "noise");
      break;
    }
  gimp_procedure_dialog_get_label (dialog, "result-title", _("Result"), FALSE, FALSE);
  gimp_procedure_dialog_fill_frame (dialog, "result-frame", "result-title", FALSE, "result-box");
}

static void
fill_variation (GimpProcedureDialog *dialog, GimpProcedureConfig *config)
{
  GtkWidget *seed_box;
  GtkWidget *button;

  seed_box = gimp_procedure_dialog_fill_box (dialog, "seed-box", "seed", NULL);
  gtk_orientable_set_orientation (GTK_ORIENTABLE (seed_box), GTK_ORIENTATION_HORIZONTAL);
  button = gtk_button_new_with_mnemonic (_("_New Seed"));
  gimp_help_set_help_data (button, _("Pick another random seed: another texture with the "
                                     "same look"),
                           NULL);
  gtk_box_pack_start (GTK_BOX (seed_box), button, FALSE, FALSE, 0);
  gtk_widget_show (button);
  g_signal_connect (button, "clicked", G_CALLBACK (new_seed_clicked), config);
  gimp_procedure_dialog_set_sensitive (dialog, "seed-box", TRUE, G_OBJECT (config),
                                       "random-seed", TRUE);

  gimp_procedure_dialog_fill_box (dialog, "variation-box", "seed-box", "random-seed", NULL);
  gimp_procedure_dialog_get_label (dialog, "variation-title", _("Variation"), FALSE, FALSE);
  gimp_procedure_dialog_fill_frame (dialog, "variation-frame", "variation-title", FALSE,
                                    "variation-box");
}

static void
fill_sampling (GimpProcedureDialog *dialog, GimpProcedureConfig *config, FgsdProcedureKind kind)
{
  /* Restyle shows its strength (its start noise) with the result. */
  if (kind == FGSD_PROC_RESTYLE)
    gimp_procedure_dialog_fill_box (dialog, "sampling-box", "step-size", "beta",
                                    "final-noise", "max-steps", NULL);
  else if (kind == FGSD_PROC_DENOISE)
    {
      const gchar *sampler_only[] = { "step-size", "beta", "final-noise", "max-steps" };

      gimp_procedure_dialog_fill_box (dialog, "sampling-box", "noise-level", "iterate",
                                      "step-size", "beta", "final-noise", "max-steps", NULL);
      /* One denoiser pass has no steps: the sampler's settings wait for
       * "iterate". */
      for (guint i = 0; i < G_N_ELEMENTS (sampler_only); i++)
        gimp_procedure_dialog_set_sensitive (dialog, sampler_only[i], TRUE, G_OBJECT (config),
                                             "iterate", FALSE);
    }
  else
    gimp_procedure_dialog_fill_box (dialog, "sampling-box", "step-size", "beta",
                                    "noise-level", "final-noise", "max-steps", "guidance",
                                    NULL);
  gimp_procedure_dialog_get_label (dialog, "sampling-title", _("Sampling"), FALSE, FALSE);
  gimp_procedure_dialog_fill_frame (dialog, "sampling-frame", "sampling-title", FALSE,
                                    "sampling-box");
  /* A restyle from patches runs no sampler. */
  if (kind == FGSD_PROC_RESTYLE)
    sensitive_for_start (dialog, config, "sampling-frame", "noise");
}

static void
default_model_clicked (GtkButton *button, GimpProcedureConfig *config)
{
  g_object_set (config, "model", NULL, NULL);
}

/* The "model" argument is declared with GIMP_FILE_CHOOSER_ACTION_ANY so that
 * a missing file reaches the plug-in (which names it in its error) instead
 * of failing GIMP's argument check; GimpProcedureDialog makes no widget for
 * that action, so the chooser is made and bound here. */
static GtkWidget *
model_chooser (GimpProcedureConfig *config)
{
  GtkWidget *box;
  GtkWidget *chooser;
  GtkWidget *button;

  box     = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  chooser = gimp_file_chooser_new (GIMP_FILE_CHOOSER_ACTION_OPEN, _("_Model file"),
                                   _("Choose an fgsd Model"), NULL);
  g_object_bind_property (config, "model", chooser, "file",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  gimp_help_set_help_data (chooser, _("Trained fgsd model (.fgsd). Empty: the default "
                                      "model installed with the plug-in."),
                           NULL);
  gtk_box_pack_start (GTK_BOX (box), chooser, TRUE, TRUE, 0);

  button = gtk_button_new_with_mnemonic (_("Default"));
  gimp_help_set_help_data (button, _("Use the default model installed with the plug-in"),
                           NULL);
  g_signal_connect (button, "clicked", G_CALLBACK (default_model_clicked), config);
  gtk_box_pack_start (GTK_BOX (box), button, FALSE, FALSE, 0);
  gtk_widget_show_all (box);
  return box;
}

static void
fill_model (GimpProcedureDialog *dialog, GimpProcedureConfig *config)
{
  GtkWidget *box;
  GtkWidget *chooser;

  box     = gimp_procedure_dialog_fill_box (dialog, "model-box", "backend", NULL);
  chooser = model_chooser (config);
  gtk_box_pack_start (GTK_BOX (box), chooser, FALSE, FALSE, 0);
  gtk_box_reorder_child (GTK_BOX (box), chooser, 0);
  gimp_procedure_dialog_get_label (dialog, "model-title", _("Model"), FALSE, FALSE);
  gimp_procedure_dialog_fill_frame (dialog, "model-frame", "model-title", FALSE, "model-box");
}

gboolean
fgsd_dialog_run (GimpProcedure *procedure, GimpProcedureConfig *config, FgsdProcedureKind kind,
                 const gchar *summary, GtkWidget *preview)
{
  GtkWidget           *widget;
  GimpProcedureDialog *dialog;
  GtkWidget           *label;
  gboolean             ok;

  widget = gimp_procedure_dialog_new (procedure, config, NULL);
  dialog = GIMP_PROCEDURE_DIALOG (widget);

  label = gimp_procedure_dialog_get_label (dialog, "summary", summary ? summary : "", TRUE,
                                           FALSE);
  gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 50);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);

  make_widgets (dialog, kind);
  fill_result (dialog, config, kind);
  fill_variation (dialog, config);
  fill_sampling (dialog, config, kind);
  fill_model (dialog, config);
  gimp_procedure_dialog_fill (dialog, "summary", "result-frame", "variation-frame",
                              "sampling-frame", "model-frame", NULL);
  if (preview)
    {
      /* On top, as GIMP's own filters show theirs first. */
      GtkWidget *content = gtk_dialog_get_content_area (GTK_DIALOG (dialog));

      gtk_box_pack_start (GTK_BOX (content), preview, FALSE, FALSE, 0);
      gtk_box_reorder_child (GTK_BOX (content), preview, 0);
    }

  ok = gimp_procedure_dialog_run (dialog);
  gtk_widget_destroy (widget);
  return ok;
}
