/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "plugin-config.h"

#include "model-path.h"
#include "plugin.h"

static gchar *
beside_plug_in (const gchar *name)
{
  gchar *dir  = g_path_get_dirname (gimp_get_progname ());
  gchar *path = g_build_filename (dir, name, NULL);

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

/* model's path; else $env; else name beside the plug-in, else in
 * FGSD_DATADIR; else NULL with the error missing (a format with the two
 * paths looked at). */
static gchar *
resolve (GFile *model, const gchar *env_name, const gchar *name, const gchar *missing,
         GError **error)
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

  env = g_getenv (env_name);
  if (env && *env)
    return g_strdup (env);

  beside = beside_plug_in (name);
  if (g_file_test (beside, G_FILE_TEST_IS_REGULAR))
    return beside;
  installed = g_build_filename (FGSD_DATADIR, name, NULL);
  if (g_file_test (installed, G_FILE_TEST_IS_REGULAR))
    {
      g_free (beside);
      return installed;
    }
  g_set_error (error, FGSD_PLUGIN_ERROR, FGSD_PLUGIN_ERROR_MODEL, missing, beside, installed);
  g_free (beside);
  g_free (installed);
  return NULL;
}

gchar *
model_path_resolve (GFile *model, GError **error)
{
  return resolve (model, "FGSD_MODEL", MODEL_DEFAULT_NAME,
                  _("No model file was given and the default model is missing: looked for "
                    "“%s” and “%s”. Reinstall the plug-in or choose a model file."),
                  error);
}

gchar *
model_path_resolve_guide (GFile *model, GError **error)
{
  return resolve (model, "FGSD_GUIDE_MODEL", MODEL_GUIDE_NAME,
                  _("Guidance needs a model without a reference, and the baseline model "
                    "installed for it is missing: looked for “%s” and “%s”. Reinstall "
                    "the plug-in, choose a guide model, or set Guidance to 1."),
                  error);
}
