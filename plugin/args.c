/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Argument declarations shared by the five procedures (docs/gimp-plugin.md
 * lists them).  Blurbs double as the dialog's tooltips, so they speak to
 * artists; ranges are the engine's (fgsd.h, fgsd_sampler_params).
 */
#include "plugin-config.h"

#include <math.h>
#include <string.h>

#include "args.h"
#include "plugin.h"

#define MAX_SIDE FGSD_MAX_SIDE

/* A blend's weights: 0, or within these (their ratios are what counts). */
#define ARGS_WEIGHT_MIN 1e-6
#define ARGS_WEIGHT_MAX 1e6

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
add_weights (GimpProcedure *procedure)
{
  gimp_procedure_add_string_argument (procedure, "weights", _("Weights (top _down)"),
                                      _("For two or more layers: how much of each texture "
                                        "goes into the mix, one number per selected layer "
                                        "from the top of the stack down, e.g. “1, 2, 1”; "
                                        "they are scaled to add up to 1. Empty: Amount of "
                                        "A decides between two layers."),
                                      "", G_PARAM_READWRITE);
}

static void
add_reference_layer (GimpProcedure *procedure, FgsdProcedureKind task)
{
  const gchar *blurb;

  switch (task)
    {
    case FGSD_PROC_HEAL:
      blurb = _("Layer that shows the texture to fill with (all of it counts). None = "
                "the band of pixels around the selection on the healed layer.");
      break;
    case FGSD_PROC_RESTYLE:
      blurb = _("Layer whose selected area shows the texture to restyle with. None = "
                "the selection on the restyled layer itself.");
      break;
    default:
      blurb = _("Layer whose selected area shows the clean texture. None = a clean part "
                "of the noisy layer itself, inside the selection.");
      break;
    }
  gimp_procedure_add_layer_argument (procedure, "reference-layer", _("Reference la_yer"),
                                     blurb, TRUE, G_PARAM_READWRITE);
}

static void
add_band_width (GimpProcedure *procedure)
{
  gimp_procedure_add_int_argument (procedure, "band-width", _("_Band width"),
                                   _("Width in pixels of the band around the selection "
                                     "whose texture fills the hole (when no reference "
                                     "layer is given)"),
                                   4, 1024, 32, G_PARAM_READWRITE);
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

/* The engine's task, whose measured defaults a procedure offers. */
static fgsd_task
engine_task (FgsdProcedureKind task)
{
  switch (task)
    {
    case FGSD_PROC_DENOISE:
      return FGSD_TASK_DENOISE;
    case FGSD_PROC_HEAL:
      return FGSD_TASK_HEAL;
    case FGSD_PROC_RESTYLE:
      return FGSD_TASK_RESTYLE;
    default:
      return FGSD_TASK_SYNTHESIZE;
    }
}

static void
add_sampler (GimpProcedure *procedure, FgsdProcedureKind task)
{
  const fgsd_sampler_params defaults = fgsd_sampler_params_default (engine_task (task));

  gimp_procedure_add_double_argument (procedure, "step-size", _("Step si_ze (h)"),
                                      _("How big a stride each step takes towards a clean "
                                        "image. Larger: fewer steps and faster, but coarser "
                                        "and less varied; smaller: slower, finer detail."),
                                      0.005, 0.5, defaults.h0, G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "beta", _("_Beta (β)"),
                                      _("How much new randomness is stirred in at each step. "
                                        "Small: more noise is re-injected, slower, more "
                                        "varied and richer detail; 1: none, fastest and "
                                        "smoothest."),
                                      0.005, 1.0, defaults.beta, G_PARAM_READWRITE);
  if (task == FGSD_PROC_RESTYLE)
    gimp_procedure_add_double_argument (procedure, "strength", _("St_rength (σ₀)"),
                                        _("How far the layer may change: the noise added to "
                                          "it before it is redrawn. Low (0.1–0.3) keeps its "
                                          "shapes and adds the reference's fine detail; "
                                          "high (1 and up) keeps little but its colours."),
                                        0.01, 4.0, 0.5, G_PARAM_READWRITE);
  else if (task == FGSD_PROC_DENOISE)
    gimp_procedure_add_double_argument (procedure, "noise-level", _("No_ise level (σ)"),
                                        _("Noise of the layer as a standard deviation in "
                                          "0..1 pixel units (0.1 is about 25 of 255); "
                                          "0 = estimate it"),
                                        0.0, 1.0, 0.0, G_PARAM_READWRITE);
  if (task == FGSD_PROC_DENOISE)
    gimp_procedure_add_boolean_argument (procedure, "iterate", _("Ite_rate with the sampler"),
                                         _("Walk the noise down step by step with the "
                                           "diffusion sampler instead of one denoiser pass: "
                                           "slower, and it adds detail of the reference. "
                                           "Off: one pass, which is cleaner with the bundled "
                                           "model."),
                                         FALSE, G_PARAM_READWRITE);
  else if (task != FGSD_PROC_RESTYLE)
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
add_backend_output (GimpProcedure *procedure, FgsdProcedureKind task)
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
  if (task == FGSD_PROC_HEAL)
    return; /* a healed patch only makes sense over its layer */
  gimp_procedure_add_choice_argument (procedure, "output", _("O_utput"),
                                      task == FGSD_PROC_DENOISE || task == FGSD_PROC_RESTYLE
                                        ? _("Put the result in a new layer above the source "
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

/* Last in the list, so that callers that pass arguments by position keep
 * working. */
static void
add_guidance (GimpProcedure *procedure)
{
  gimp_procedure_add_double_argument (procedure, "guidance", _("_Guidance"),
                                      _("Push the texture further towards the reference: "
                                        "each step also asks a model that sees no "
                                        "reference and moves away from its answer. "
                                        "1 = off; about 1.25 finds the reference's look "
                                        "more often (and adds contrast) at twice the "
                                        "time; 2 and above overdo it."),
                                      1.0, 4.0, 1.0, G_PARAM_READWRITE);
  gimp_procedure_add_file_argument (procedure, "guide-model", _("Guide model"),
                                    _("Model without a reference (.fgsd) that guidance "
                                      "moves away from. Leave empty for the baseline "
                                      "model installed with the plug-in."),
                                    GIMP_FILE_CHOOSER_ACTION_ANY, TRUE, NULL,
                                    G_PARAM_READWRITE);
}

/* Synthesize, heal and restyle, last (positional callers keep working). */
static void
add_start (GimpProcedure *procedure, FgsdProcedureKind task)
{
  gimp_procedure_add_choice_argument (procedure, "start", _("_Start from"),
                                      task == FGSD_PROC_HEAL
                                        ? _("Patches: squares of the band around the "
                                            "selection (or of the reference layer) fill it, "
                                            "each the one that fits what is around it best; "
                                            "fast, and keeps the texture's detail. Noise: "
                                            "the diffusion sampler draws the fill.")
                                        : task == FGSD_PROC_INTERPOLATE
                                        ? _("Patches: a mixture, each layer's selection "
                                            "filling its share of the canvas with its own "
                                            "squares, in regions a few squares wide; fast, "
                                            "and each texture keeps its detail. Noise: the "
                                            "diffusion sampler draws one texture between "
                                            "them. Tileable and Guidance always start from "
                                            "noise.")
                                        : task == FGSD_PROC_RESTYLE
                                        ? _("Patches: the layer is redrawn in squares of "
                                            "the selection, each chosen to follow the "
                                            "layer's light and dark and to fit its "
                                            "neighbours (texture transfer); fast, the "
                                            "selection's colours and detail. Noise: the "
                                            "diffusion sampler redraws the layer from noise "
                                            "of std Strength, keeping its colours.")
                                        : _("Patches: squares of the selection are laid over "
                                            "the canvas (each the one that fits its neighbours "
                                            "best) and the sampler redraws them; keeps the "
                                            "reference's shapes. Noise: the sampler draws the "
                                            "texture from noise. Tileable and Guidance always "
                                            "start from noise."),
                                      gimp_choice_new_with_values (
                                        "patches", ARGS_START_PATCHES, _("Patches"), NULL,
                                        "noise", ARGS_START_NOISE, _("Noise"), NULL, NULL),
                                      /* an interpolation is a texture between
                                       * them; its patches are a mixture */
                                      task == FGSD_PROC_INTERPOLATE ? "noise" : "patches",
                                      G_PARAM_READWRITE);
  if (task == FGSD_PROC_SYNTHESIZE)
    gimp_procedure_add_double_argument (procedure, "redraw", _("_Redraw strength"),
                                        _("Start from patches: the noise the sampler "
                                          "redraws them from. 0 keeps the patches as laid; "
                                          "higher values let the model draw more and keep "
                                          "less of the selection's detail."),
                                        0.0, 4.0, FGSD_PATCH_STRENGTH, G_PARAM_READWRITE);
  else if (task == FGSD_PROC_RESTYLE)
    gimp_procedure_add_double_argument (procedure, "patch-strength", _("Patch s_trength"),
                                        _("Start from patches: how little the layer's light "
                                          "and dark count against the squares fitting each "
                                          "other. 0 follows the layer closely; 1 ignores it "
                                          "(a plain texture)."),
                                        0.0, 1.0, FGSD_TRANSFER_STRENGTH, G_PARAM_READWRITE);
}

void
args_add (GimpProcedure *procedure, FgsdProcedureKind task)
{
  gboolean in_place = task == FGSD_PROC_DENOISE || task == FGSD_PROC_HEAL ||
                      task == FGSD_PROC_RESTYLE;

  add_model (procedure);
  if (in_place)
    add_reference_layer (procedure, task);
  else
    add_size (procedure);
  if (task == FGSD_PROC_INTERPOLATE)
    {
      add_weight (procedure);
      add_weights (procedure);
    }
  if (task == FGSD_PROC_HEAL)
    add_band_width (procedure);
  add_seed (procedure);
  add_sampler (procedure, task);
  if (! in_place)
    add_tileable (procedure);
  add_backend_output (procedure, task);
  if (task == FGSD_PROC_SYNTHESIZE || task == FGSD_PROC_INTERPOLATE)
    add_guidance (procedure);
  if (task != FGSD_PROC_DENOISE)
    add_start (procedure, task);
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
  args->weight   = 0.5;
  args->guidance = 1.0;
  g_object_get (config,
                "model", &args->model,
                "seed", &seed,
                "random-seed", &args->random_seed,
                "step-size", &args->step_size,
                "beta", &args->beta,
                "final-noise", &args->final_noise,
                "max-steps", &args->max_steps,
                NULL);
  g_object_get (config, has_property (config, "strength") ? "strength" : "noise-level",
                &args->noise_level, NULL);
  args->seed = (guint32) seed;
  if (has_property (config, "width"))
    g_object_get (config, "width", &args->width, "height", &args->height, NULL);
  if (has_property (config, "tileable"))
    g_object_get (config, "tileable", &args->tileable, NULL);
  if (has_property (config, "weight"))
    g_object_get (config, "weight", &args->weight, NULL);
  if (has_property (config, "weights"))
    g_object_get (config, "weights", &args->weights, NULL);
  if (has_property (config, "reference-layer"))
    g_object_get (config, "reference-layer", &args->reference_layer, NULL);
  if (has_property (config, "iterate"))
    g_object_get (config, "iterate", &args->iterate, NULL);
  if (has_property (config, "band-width"))
    g_object_get (config, "band-width", &args->band_width, NULL);
  if (has_property (config, "guidance"))
    g_object_get (config, "guidance", &args->guidance, "guide-model", &args->guide_model,
                  NULL);
  args->start = ARGS_START_NOISE;
  if (has_property (config, "start"))
    args->start = gimp_procedure_config_get_choice_id (config, "start");
  if (has_property (config, "redraw"))
    g_object_get (config, "redraw", &args->redraw, NULL);
  if (has_property (config, "patch-strength"))
    g_object_get (config, "patch-strength", &args->patch_strength, NULL);
  args->backend = gimp_procedure_config_get_choice_id (config, "backend");
  args->output  = has_property (config, "output")
                    ? gimp_procedure_config_get_choice_id (config, "output")
                    : ARGS_OUTPUT_NEW_LAYER;
}

gboolean
args_weights (const FgsdArgs *args, gint n, gdouble *weights, GError **error)
{
  gchar  **parts;
  gint     count = 0;
  gdouble  sum   = 0.0;
  gboolean ok    = TRUE;

  if (! args->weights || ! *g_strstrip (args->weights))
    {
      if (n != 2)
        {
          g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_INPUT,
                       _("%d layers are selected: give one weight per layer in "
                         "“Weights”, from the top of the stack down (e.g. “1, 1, 2”)."),
                       n);
          return FALSE;
        }
      weights[0] = args->weight;
      weights[1] = 1.0 - args->weight;
      return TRUE;
    }
  parts = g_strsplit_set (args->weights, ",; ", -1);
  for (gchar **p = parts; ok && *p; p++)
    {
      gchar  *end;
      gdouble v;

      if (! **p)
        continue;
      /* Decimal only: g_ascii_strtod also reads hex ("0x10" = 16). */
      v = strspn (*p, "0123456789.eE+-") == strlen (*p) ? g_ascii_strtod (*p, &end) : -1.0;
      if (v < 0.0 || *end || ! isfinite (v))
        {
          g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_INPUT,
                       _("“%s” in Weights is not a number of 0 or more."), *p);
          ok = FALSE;
        }
      else if (v != 0.0 && (v < ARGS_WEIGHT_MIN || v > ARGS_WEIGHT_MAX))
        {
          /* Checked here, before any layer is read: out of this range the
           * normalised blend loses its precision or overflows. */
          g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_INPUT,
                       _("“%s” in Weights is out of range: each weight is 0 or lies "
                         "between %g and %g (only their ratios count)."),
                       *p, ARGS_WEIGHT_MIN, ARGS_WEIGHT_MAX);
          ok = FALSE;
        }
      else if (count < n)
        {
          weights[count] = v;
          sum += v;
        }
      count++;
    }
  g_strfreev (parts);
  if (ok && count != n)
    {
      g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_INPUT,
                   _("Weights has %d numbers but %d layers are selected: give one per "
                     "layer, from the top of the stack down."),
                   count, n);
      ok = FALSE;
    }
  if (ok && ! (sum > 0.0))
    {
      g_set_error_literal (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_INPUT,
                           _("The weights add up to 0: give at least one texture a "
                             "weight above 0."));
      ok = FALSE;
    }
  return ok;
}

void
args_clear (FgsdArgs *args)
{
  g_clear_object (&args->model);
  g_clear_object (&args->guide_model);
  g_clear_object (&args->reference_layer);
  g_clear_pointer (&args->weights, g_free);
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
  /* Every setting a task reads comes from args; the rest are the same
   * for every task. */
  fgsd_sampler_params p = fgsd_sampler_params_default (FGSD_TASK_SYNTHESIZE);

  p.h0          = (float) args->step_size;
  p.beta        = (float) args->beta;
  p.sigma0      = (float) args->noise_level;
  p.sigma_final = (float) args->final_noise;
  p.max_steps   = args->max_steps;
  p.seed        = seed;
  p.tileable    = args->tileable ? 1 : 0;
  /* The guide session itself is the engine's (engine_synthesize). */
  p.guidance    = args->guidance > 1.0 ? (float) args->guidance : 0.0f;
  if (ARGS_PATCH_START (args))
    p.sigma0 = (float) args->redraw;
  return p;
}
