/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The procedures' arguments: one declaration per argument, shared by the
 * five procedures so that names, ranges and help texts stay identical, and
 * one reader that copies a run's config into FgsdArgs.
 */
#ifndef FGSD_PLUGIN_ARGS_H
#define FGSD_PLUGIN_ARGS_H

#include <libgimp/gimp.h>

#include <fgsd.h>

#include "procedure-kind.h"

/* Choice ids of the "backend" and "output" arguments. */
enum { ARGS_BACKEND_AUTO, ARGS_BACKEND_CPU, ARGS_BACKEND_CUDA };
enum { ARGS_OUTPUT_NEW_LAYER, ARGS_OUTPUT_NEW_IMAGE };
/* Choice ids of the "start" argument (synthesize, heal, restyle). */
enum { ARGS_START_PATCHES, ARGS_START_NOISE };

typedef struct
{
  GFile     *model;           /* NULL: the default model */
  gint       width;           /* 0: the image's width */
  gint       height;          /* 0: the image's height */
  guint32    seed;
  gboolean   random_seed;
  gdouble    step_size;       /* h0 */
  gdouble    beta;
  gdouble    noise_level;     /* sigma0 (restyle: "strength"); denoise: the layer's
                                 sigma, 0 = estimate */
  gdouble    final_noise;     /* sigma_final */
  gint       max_steps;
  gboolean   tileable;
  gint       backend;         /* ARGS_BACKEND_* */
  gint       output;          /* ARGS_OUTPUT_* */
  gdouble    weight;          /* interpolation: share of texture A */
  gchar     *weights;         /* interpolation: one weight per layer, top down; "" = weight */
  GimpLayer *reference_layer; /* denoise, restyle: NULL = the layer itself; heal:
                                 NULL = the band around the selection */
  gint       band_width;      /* heal */
  gboolean   iterate;         /* denoise: the sampler instead of one pass */
  gdouble    guidance;        /* synthesize, interpolate: classifier-free guidance
                                 weight w; 1 = off */
  GFile     *guide_model;     /* its model, NULL: the installed baseline */
  gint       start;           /* ARGS_START_*; denoise: noise */
  gdouble    redraw;          /* synthesize from patches: the sampler's sigma0 */
  gdouble    patch_strength;  /* restyle from patches: fgsd_restyle_from_patches's
                                 strength */
} FgsdArgs;

/* Synthesis or interpolation from patches of the selection(s)
 * (docs/design.md "Patch start"): asked for, and neither tileable nor
 * guided (those start from noise). */
#define ARGS_PATCH_START(a) \
  ((a)->start == ARGS_START_PATCHES && ! (a)->tileable && ! ((a)->guidance > 1.0))

/* Declares the arguments of task on procedure, in dialog order. */
void        args_add       (GimpProcedure *procedure, FgsdProcedureKind task);

/* Copies config into args (owned references: free with args_clear). */
void        args_read      (GimpProcedureConfig *config, FgsdArgs *args);
void        args_clear     (FgsdArgs *args);

/* Dialog runs: shows 0 ("the image's size") as the image's actual size. */
void        args_fill_size (GimpProcedureConfig *config, GimpImage *image);

/* The seed a run uses: args->seed, or a fresh random one. */
guint32     args_pick_seed (const FgsdArgs *args);

/* Parses args->weights for n layers into weights (n values, >= 0, not all
 * 0); "" gives weight, 1 - weight for two layers.  FALSE with a message
 * that says what is wrong. */
gboolean    args_weights (const FgsdArgs *args, gint n, gdouble *weights, GError **error);

fgsd_backend_kind   args_backend (const FgsdArgs *args);
fgsd_sampler_params args_sampler (const FgsdArgs *args, guint32 seed);

#endif
