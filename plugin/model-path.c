/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "plugin-config.h"

#include "model-path.h"
#include "plugin.h"

static gchar *
beside_plug_in (void)
{
  gchar *dir  = g_path_get_dirname (gimp_get_progname ());
  gchar *path = g_build_filename (dir, MODEL_DEFAULT_NAME, NULL);

  g_free (dir);
  return path;
}

/* Script-Fu turns "" into a file with an empty URI: the default model. */
static gboolean
is_empty (GFile *file)
{
  gchar   *uri   = g_file_get_uri (file);
  gboolean empty = ! uri || ! *uri;

  g_free (uri);
  return empty;
}

gchar *
model_path_resolve (GFile *model, GError **error)
{
  const gchar *env;
  gchar       *beside;
  gchar       *installed;

  if (model && ! is_empty (model))
    {
      gchar *path = g_file_get_path (model);

      if (! path)
        {
          gchar *uri = g_file_get_uri (model);

          g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_MODEL,
                       _("The model file must be a local file, not “%s”."), uri);
          g_free (uri);
        }
      return path;
    }

  env = g_getenv ("FGSD_MODEL");
  if (env && *env)
    return g_strdup (env);

  beside = beside_plug_in ();
  if (g_file_test (beside, G_FILE_TEST_IS_REGULAR))
    return beside;
  installed = g_build_filename (FGSD_DATADIR, MODEL_DEFAULT_NAME, NULL);
  if (g_file_test (installed, G_FILE_TEST_IS_REGULAR))
    {
      g_free (beside);
      return installed;
    }
  g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_MODEL,
               _("No model file was given and the default model is missing: looked for "
                 "“%s” and “%s”. Reinstall the plug-in or choose a model file."),
               beside, installed);
  g_free (beside);
  g_free (installed);
  return NULL;
}
