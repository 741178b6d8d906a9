/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The run skeleton every procedure shares: the image checked, the
 * procedure's drawables taken (prepare), the dialog in interactive mode,
 * the arguments read and checked, the progress bar and the engine opened,
 * the seed picked, the procedure's computation (compute), the result
 * written (a new layer or image: output.h) and everything freed; the return
 * values (status, layer, seed) in one place.  Each family of procedures
 * (texture-procedure.c, layer-filter.c, procedure-heal.c) gives the hooks;
 * its state lives in a block of state_size bytes the skeleton allocates
 * zeroed and hands to every hook.  Nothing writes to the image before the
 * result: GIMP's Cancel kills the plug-in, and the image stays as it was.
 */
#ifndef FGSD_PLUGIN_RUN_H
#define FGSD_PLUGIN_RUN_H

#include <libgimp/gimp.h>

#include "args.h"
#include "engine.h"
#include "output.h"
#include "preview.h"
#include "procedure-kind.h"

typedef struct
{
  /* the call */
  GimpProcedure       *procedure;
  GimpRunMode          run_mode;
  GimpImage           *image;
  GimpDrawable       **drawables;
  GimpProcedureConfig *config;
  const void          *family; /* the hooks' family table (FgsdRunHooks.family) */
  /* the skeleton's */
  FgsdArgs             args;
  FgsdEngine           engine;
  guint32              seed;
  /* set by a hook that fails because of the call (wrong drawables or
   * arguments): the status is GIMP_PDB_CALLING_ERROR, not EXECUTION_ERROR */
  gboolean             calling_error;
  /* the result, from compute: RGBA pixels, the layer's name, where it goes
   * (out.name and out.run_mode are set by the skeleton) */
  gfloat              *rgba;
  gchar               *name;
  FgsdOutput           out;
} FgsdRun;

typedef struct
{
  FgsdProcedureKind kind;
  const gchar      *label;      /* progress text, translated */
  const void       *family;     /* the family's own table, for its hooks */
  gsize             state_size; /* the family's state, zeroed */
  /* Before the dialog: the drawables the procedure works on. */
  gboolean  (*prepare) (FgsdRun *run, gpointer state, GError **error);
  /* The dialog's summary (Pango markup); g_free'd by the skeleton. */
  gchar    *(*summary) (FgsdRun *run, gpointer state);
  /* After the arguments are read, before any work: they fit the call. */
  gboolean  (*check)   (FgsdRun *run, gpointer state, GError **error);
  /* With the engine open and run->seed picked: run->rgba, name and out. */
  gboolean  (*compute) (FgsdRun *run, gpointer state, GError **error);
  /* Frees the state's contents (not the block). */
  void      (*clear)   (gpointer state);
  /* The dialog's preview (NULL: none): its input read for args on the
   * main thread, and its drawing in the preview's thread (preview.h). */
  FgsdPreviewInput *(*preview_read) (FgsdRun *run, gpointer state, const FgsdArgs *args,
                                     GError **error);
  FgsdPreviewRender  preview_render;
} FgsdRunHooks;

GimpValueArray *run_procedure (const FgsdRunHooks *hooks, GimpProcedure *procedure,
                               GimpRunMode run_mode, GimpImage *image,
                               GimpDrawable **drawables, GimpProcedureConfig *config);

#endif
