/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Argument declarations shared by the three procedures (docs/gimp-plugin.md
 * lists them).  Blurbs double as the dialog's tooltips, so they speak to
 * artists; ranges are the engine's (fgsd.h, fgsd_sampler_params).
 */
#include "plugin-config.h"

#include <string.h>

#include "args.h"
#include "plugin.h"

#define MAX_SIDE FGSD_MAX_SIDE

static void
add_model (GimpProcedure *procedure)
{
  gimp_procedure_add_file_argument (procedure, "model", _("_Model file"),
                                    _("Trained fgsd model (.fgsd). Leave empty for the "
                                      "default model installed with the plug-in."),
                                    GIMP_FILE_CHOOSER_ACTION_ANY, TRUE, NULL,
                                    G_PARAM_READWRITE);
}

static void
add_size (GimpProcedure *procedure)
{
  gimp_procedure_add_int_argument (procedure, "width", _("_Width"),
                                   _("Width of the new texture in pixels; "
                                     "0 = the width of the image"),
                                   0, MAX_SIDE, 0, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "height", _("Hei_ght"),
                                   _("Height of the new texture in pixels; "
                                     "0 = the height of the image"),
                                   0, MAX_SIDE, 0, G_PARAM_READWRITE);
}

static void
add_weight (GimpProcedure *procedure)
{
  gimp_procedure_add_double_argument (procedure, "weight", _("Amount of _A"),
                                      _("How much of texture A (the upper selected layer) "
                                        "goes into the mix: 1 = only A, 0 = only B, "
                                        "0.5 = halfway between them"),
                                      0.0, 1.0, 0.5, G_PARAM_READWRITE);
}

static void
add_reference_layer (GimpProcedure *procedure)
{
  gimp_procedure_add_layer_argument (procedure, "reference-layer", _("Reference la_yer"),
                                     _("Layer whose selected area shows the clean texture. "
                                       "None = a clean part of the noisy layer itself, "
                                       "inside the selection."),
                                     TRUE, G_PARAM_READWRITE);
}

static void
add_seed (GimpProcedure *procedure)
{
  gimp_procedure_add_int_argument (procedure, "seed", _("Se_ed"),
                                   _("Random seed: the same seed with the same settings and "
                                     "reference gives the same result"),
                                   0, G_MAXINT, 0, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "random-seed", _("Ran_dom seed"),
                                       _("Ignore Seed and draw a new one at every run "
                                         "(the layer name shows the seed used)"),
                                       FALSE, G_PARAM_READWRITE);
}

static void
add_sampler (GimpProcedure *procedure, ArgsTask task)
{
  gimp_procedure_add_double_argument (procedure, "step-size", _("Step si_ze (h)"),
                                      _("How big a stride each step takes towards a clean "
                                        "image. Larger: fewer steps and faster, but coarser "
                                        "and less varied; smaller: slower, finer detail."),
                                      0.005, 0.5, 0.05, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "beta", _("_Beta (β)"),
                                      _("How much new randomness is stirred in at each step. "
                                        "Small: more noise is re-injected, slower, more "
                                        "varied and richer detail; 1: none, fastest and "
                                        "smoothest."),
                                      0.005, 1.0, 0.05, G_PARAM_READWRITE);
  if (task == ARGS_TASK_DENOISE)
    gimp_procedure_add_double_argument (procedure, "noise-level", _("No_ise level (σ)"),
                                        _("Noise of the layer as a standard deviation in "
                                          "0..1 pixel units (0.1 is about 25 of 255); "
                                          "0 = estimate it"),
                                        0.0, 1.0, 0.0, G_PARAM_READWRITE);
  else
    gimp_procedure_add_double_argument (procedure, "noise-level", _("Start no_ise (σ₀)"),
                                        _("Noise the texture is grown from. 1 suits most "
                                          "references; larger values start further away "
                                          "and take more steps."),
                                        0.1, 4.0, 1.0, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "final-noise", _("_Final noise"),
                                      _("Stop when the remaining noise falls below this; "
                                        "smaller values are cleaner and take longer"),
                                      0.001, 0.5, 0.02, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "max-steps", _("Ma_x steps"),
                                   _("Upper limit on the number of steps (each is one pass "
                                     "of the network), whatever the noise says"),
                                   1, FGSD_MAX_STEPS, 1000, G_PARAM_READWRITE);
}

static void
add_tileable (GimpProcedure *procedure)
{
  gimp_procedure_add_boolean_argument (procedure, "tileable", _("_Tileable"),
                                       _("Make the texture wrap around so copies fit "
                                         "seamlessly side by side"),
                                       FALSE, G_PARAM_READWRITE);
}

static void
add_backend_output (GimpProcedure *procedure, ArgsTask task)
{
  gimp_procedure_add_choice_argument (procedure, "backend", _("Com_pute on"),
                                      _("Where the network runs: auto uses the GPU (CUDA) "
                                        "when available, else the CPU"),
                                      gimp_choice_new_with_values (
                                        "auto", ARGS_BACKEND_AUTO, _("Automatic"), NULL,
                                        "cpu", ARGS_BACKEND_CPU, _("CPU"), NULL,
                                        "cuda", ARGS_BACKEND_CUDA, _("GPU (CUDA)"), NULL,
                                        NULL),
                                      "auto", G_PARAM_READWRITE);
  gimp_procedure_add_choice_argument (procedure, "output", _("O_utput"),
                                      task == ARGS_TASK_DENOISE
                                        ? _("Put the result in a new layer above the noisy "
                                            "one, or in a new image")
                                        : _("Put the result in a new layer above the "
                                            "reference layer, or in a new image"),
                                      gimp_choice_new_with_values (
                                        "new-layer", ARGS_OUTPUT_NEW_LAYER, _("New layer"),
                                        NULL,
                                        "new-image", ARGS_OUTPUT_NEW_IMAGE, _("New image"),
                                        NULL, NULL),
                                      "new-layer", G_PARAM_READWRITE);
}

void
args_add (GimpProcedure *procedure, ArgsTask task)
{
  add_model (procedure);
  if (task == ARGS_TASK_DENOISE)
    add_reference_layer (procedure);
  else
    add_size (procedure);
  if (task == ARGS_TASK_INTERPOLATE)
    add_weight (procedure);
  add_seed (procedure);
  add_sampler (procedure, task);
  if (task != ARGS_TASK_DENOISE)
    add_tileable (procedure);
  add_backend_output (procedure, task);
}

static gboolean
has_property (GimpProcedureConfig *config, const gchar *name)
{
  return g_object_class_find_property (G_OBJECT_GET_CLASS (config), name) != NULL;
}

void
args_read (GimpProcedureConfig *config, FgsdArgs *args)
{
  gint seed = 0;

  memset (args, 0, sizeof *args);
  args->weight = 0.5;
  g_object_get (config,
                "model", &args->model,
                "seed", &seed,
                "random-seed", &args->random_seed,
                "step-size", &args->step_size,
                "beta", &args->beta,
                "noise-level", &args->noise_level,
                "final-noise", &args->final_noise,
                "max-steps", &args->max_steps,
                NULL);
  args->seed = (guint32) seed;
  if (has_property (config, "width"))
    g_object_get (config, "width", &args->width, "height", &args->height, NULL);
  if (has_property (config, "tileable"))
    g_object_get (config, "tileable", &args->tileable, NULL);
  if (has_property (config, "weight"))
    g_object_get (config, "weight", &args->weight, NULL);
  if (has_property (config, "reference-layer"))
    g_object_get (config, "reference-layer", &args->reference_layer, NULL);
  args->backend = gimp_procedure_config_get_choice_id (config, "backend");
  args->output  = gimp_procedure_config_get_choice_id (config, "output");
}

void
args_clear (FgsdArgs *args)
{
  g_clear_object (&args->model);
  g_clear_object (&args->reference_layer);
}

void
args_fill_size (GimpProcedureConfig *config, GimpImage *image)
{
  gint width, height;

  g_object_get (config, "width", &width, "height", &height, NULL);
  if (width == 0)
    g_object_set (config, "width", gimp_image_get_width (image), NULL);
  if (height == 0)
    g_object_set (config, "height", gimp_image_get_height (image), NULL);
}

guint32
args_pick_seed (const FgsdArgs *args)
{
  /* Kept within the "seed" argument's range so a seed shown in a layer
   * name can be typed back in. */
  return args->random_seed ? (guint32) g_random_int_range (0, G_MAXINT) : args->seed;
}

fgsd_backend_kind
args_backend (const FgsdArgs *args)
{
  switch (args->backend)
    {
    case ARGS_BACKEND_CPU:
      return FGSD_BACKEND_CPU;
    case ARGS_BACKEND_CUDA:
      return FGSD_BACKEND_CUDA;
    default:
      return FGSD_BACKEND_AUTO;
    }
}

fgsd_sampler_params
args_sampler (const FgsdArgs *args, guint32 seed)
{
  fgsd_sampler_params p = fgsd_sampler_params_default ();

  p.h0          = (float) args->step_size;
  p.beta        = (float) args->beta;
  p.sigma0      = (float) args->noise_level;
  p.sigma_final = (float) args->final_noise;
  p.max_steps   = args->max_steps;
  p.seed        = seed;
  p.tileable    = args->tileable ? 1 : 0;
  return p;
}
