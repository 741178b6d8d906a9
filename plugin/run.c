/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The run skeleton (run.h).
 */
#include "plugin-config.h"

#include <libgimp/gimpui.h>

#include "dialog.h"
#include "plugin.h"
#include "run.h"

typedef struct
{
  const FgsdRunHooks *hooks;
  FgsdRun            *run;
  gpointer            state;
} PreviewSource;

static FgsdPreviewInput *
preview_read (gpointer data, const FgsdArgs *args, GError **error)
{
  PreviewSource *src = data;

  return src->hooks->preview_read (src->run, src->state, args, error);
}

/* The dialog in interactive mode; FALSE when the user cancelled it.  The
 * preview's thread has ended when it returns. */
static gboolean
ask (const FgsdRunHooks *hooks, FgsdRun *run, gpointer state)
{
  PreviewSource src     = { hooks, run, state };
  GtkWidget    *preview = NULL;
  gchar        *text;
  gboolean      ok;

  gimp_ui_init (PLUG_IN_BINARY);
  text = hooks->summary (run, state);
  if (hooks->preview_read && hooks->preview_render)
    preview = preview_new (run->config, preview_read, &src, hooks->preview_render);
  ok = fgsd_dialog_run (run->procedure, run->config, hooks->kind, text, preview);
  g_free (text);
  return ok;
}

GimpValueArray *
run_procedure (const FgsdRunHooks *hooks, GimpProcedure *procedure, GimpRunMode run_mode,
               GimpImage *image, GimpDrawable **drawables, GimpProcedureConfig *config)
{
  GimpPDBStatusType status = GIMP_PDB_EXECUTION_ERROR;
  FgsdRun           run    = { .procedure = procedure, .run_mode = run_mode, .image = image,
                               .drawables = drawables, .config = config,
                               .family = hooks->family };
  gpointer          state  = g_malloc0 (hooks->state_size);
  GimpLayer        *result = NULL;
  GError           *error  = NULL;

  gegl_init (NULL, NULL);
  if (! plugin_check_image (image, &error))
    {
      status = GIMP_PDB_CALLING_ERROR;
      goto out;
    }
  if (! hooks->prepare (&run, state, &error))
    goto failed;
  if (run_mode == GIMP_RUN_INTERACTIVE && ! ask (hooks, &run, state))
    {
      status = GIMP_PDB_CANCEL;
      goto out;
    }
  args_read (config, &run.args);
  if (hooks->check && ! hooks->check (&run, state, &error))
    goto failed;

  gimp_progress_init (hooks->label);
  if (! engine_open (&run.engine, run.args.model, args_backend (&run.args), run_mode,
                     hooks->label, &error))
    goto out;
  run.seed = args_pick_seed (&run.args);
  if (! hooks->compute (&run, state, &error))
    goto failed;

  run.out.name     = run.name;
  run.out.run_mode = run_mode;
  result           = output_write (&run.out, run.rgba, &error);
  if (result)
    status = GIMP_PDB_SUCCESS;
  goto out;

failed:
  status = run.calling_error ? GIMP_PDB_CALLING_ERROR : GIMP_PDB_EXECUTION_ERROR;
out:
  gimp_progress_end ();
  if (hooks->clear)
    hooks->clear (state);
  g_free (state);
  g_free (run.rgba);
  g_free (run.name);
  engine_close (&run.engine);
  args_clear (&run.args);
  return plugin_return (procedure, status, error, result, run.seed);
}
