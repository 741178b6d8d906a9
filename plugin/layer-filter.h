/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The flow shared by the filters that redraw a whole layer guided by the
 * selection's texture (denoise, restyle): one layer; the reference is the
 * selection on "reference-layer" or on the layer itself; the dialog in
 * interactive mode; the layer and the reference read; the engine opened and
 * phi computed; then the filter's own computation; the result in a new
 * layer right above (same size, offsets and alpha) or a new image.
 */
#ifndef FGSD_PLUGIN_LAYER_FILTER_H
#define FGSD_PLUGIN_LAYER_FILTER_H

#include <libgimp/gimp.h>

#include "dialog.h"
#include "args.h"
#include "engine.h"
#include "preview.h"
#include "reference.h"

/* What compute gets: the layer, as RGBA and as RGB, with phi of the
 * reference (NULL where needs_phi said no), its pixels, and the seed of
 * this run. */
typedef struct
{
  GimpLayer    *layer;
  FgsdArgs     *args;
  FgsdEngine   *engine;
  const fgsd_reference *reference;
  const FgsdReference  *source;  /* the selected pixels and their weights */
  const gfloat *rgb;
  gint          width;
  gint          height;
  guint32       seed;
} FgsdLayerJob;

typedef struct
{
  FgsdProcedureKind dialog;
  const gchar   *label;          /* progress text, translated */
  /* The dialog's summary (Pango markup) for this layer; g_free it. */
  gchar       *(*summary) (GimpLayer *layer);
  fgsd_task      task;           /* the engine's task, for engine_check_memory */
  gboolean       clamp_input;    /* clamp the layer's values to [0, 1] first */
  /* Whether compute needs phi for these settings; NULL: always. */
  gboolean     (*needs_phi) (const FgsdArgs *args);
  /* Whether the preview needs the whole layer's luma statistics
   * (FgsdPreviewInput.layer_luma_*) for these settings; NULL: never. */
  gboolean     (*needs_layer_luma) (const FgsdArgs *args);
  /* The result (RGB, w x h, g_malloc'd) and the new layer's name. */
  gboolean     (*compute) (const FgsdLayerJob *job, gfloat **rgb, gchar **name,
                           GError **error);
  /* The dialog's preview of a crop of the layer (preview.h; in->refs[0] is
   * the reference, in->image the crop); NULL: none. */
  FgsdPreviewRender preview;
} FgsdLayerFilter;

GimpValueArray *layer_filter_run (const FgsdLayerFilter *filter, GimpProcedure *procedure,
                                  GimpRunMode run_mode, GimpImage *image,
                                  GimpDrawable **drawables, GimpProcedureConfig *config);

#endif
