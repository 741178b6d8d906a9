/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The dialogs' live preview (issue 22): a small result at the dialog's
 * current settings, redrawn a moment after a setting changes, in a thread
 * of its own so that the dialog never waits.  The thread has its own
 * engine session (libgimp is not thread-safe: everything it needs from
 * the image is read on the main thread first, FgsdPreviewInput) and shows
 * the sampler's clean estimate every few steps (fgsd_session_set_watch), so
 * the texture is seen forming.  A newer request, the Preview toggle or the
 * dialog closing cancel the one running; closing waits for the thread, so
 * none is left when the run goes on.  Nothing touches the image.
 */
#ifndef FGSD_PLUGIN_PREVIEW_H
#define FGSD_PLUGIN_PREVIEW_H

#include <libgimp/gimpui.h>

#include <fgsd.h>

#include "args.h"
#include "reference.h"

/* The preview's side: a result at most this wide and high. */
#define PREVIEW_SIDE 128

/* What a preview draws from, read on the main thread. */
typedef struct
{
  FgsdReference *refs;          /* the selections: one per layer, top down */
  gint           n_refs;
  gdouble       *weights;       /* their shares (texture procedures), or NULL */
  gfloat        *image;         /* a layer filter's crop of the layer (RGB), or NULL */
  gfloat        *hole;          /* heal: the selection over the crop, or NULL */
  gint           band_width;    /* heal: the band at the crop's scale */
  gint           width, height; /* the crop's size; texture procedures: the canvas's */
  gint           show_x, show_y, show_width, show_height; /* heal: the part of the crop
                                                              shown (the rest is where a
                                                              clone may come from) */
  gdouble        layer_luma_mean, layer_luma_std; /* a layer filter's whole layer
                                                     (pixels_luma_stats) */
} FgsdPreviewInput;

void preview_input_free (FgsdPreviewInput *in);

/* Draws the preview of args on in with session, in the preview's thread
 * (engine calls only): *rgb (g_malloc'd RGB, *w x *h) on success. */
typedef gboolean (*FgsdPreviewRender) (fgsd_session *session, const FgsdArgs *args,
                                       guint32 seed, const FgsdPreviewInput *in, gfloat **rgb,
                                       gint *w, gint *h, GError **error);

/* Reads the input for args on the main thread; NULL with error set when
 * there is nothing to preview (the pane says why). */
typedef FgsdPreviewInput *(*FgsdPreviewRead) (gpointer data, const FgsdArgs *args,
                                              GError **error);

/* The pane: the preview, a "Preview" toggle and a status line, following
 * config.  read (with data) is called for every request. */
GtkWidget *preview_new (GimpProcedureConfig *config, FgsdPreviewRead read, gpointer data,
                        FgsdPreviewRender render);

/* An engine error as a GError (the session's message). */
gboolean preview_engine_failed (fgsd_session *session, fgsd_status status, GError **error);

#endif
