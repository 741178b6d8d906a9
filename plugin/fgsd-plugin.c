/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The fgsd plug-in for GIMP 3: registers five image procedures
 * (docs/gimp-plugin.md):
 *
 *   plug-in-fgsd-synthesize   Filters > Render > Texture from Selection (FGSD)...
 *   plug-in-fgsd-denoise      Filters > Enhance > Denoise with Reference (FGSD)...
 *   plug-in-fgsd-interpolate  Filters > Render > Texture Interpolation (FGSD)...
 *   plug-in-fgsd-heal         Filters > Enhance > Heal Selection with Texture (FGSD)...
 *   plug-in-fgsd-restyle      Filters > Artistic > Restyle with Texture (FGSD)...
 */
#include "plugin-config.h"

#include "plugin.h"

typedef struct
{
  GimpPlugIn parent_instance;
} Fgsd;

typedef struct
{
  GimpPlugInClass parent_class;
} FgsdClass;

GType fgsd_get_type (void);

G_DEFINE_TYPE (Fgsd, fgsd, GIMP_TYPE_PLUG_IN)

GIMP_MAIN (fgsd_get_type ())

/* The plug-in's procedures: each file procedure-*.c owns one (its
 * arguments, dialog and run). */
static const struct
{
  const gchar    *name;
  GimpProcedure *(*create) (GimpPlugIn *plug_in);
} procedures[] = {
  { PROC_SYNTHESIZE, procedure_synthesize_new },
  { PROC_DENOISE, procedure_denoise_new },
  { PROC_INTERPOLATE, procedure_interpolate_new },
  { PROC_HEAL, procedure_heal_new },
  { PROC_RESTYLE, procedure_restyle_new },
};

static GList *
fgsd_query_procedures (GimpPlugIn *plug_in)
{
  GList *list = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (procedures); i++)
    list = g_list_append (list, g_strdup (procedures[i].name));
  return list;
}

static GimpProcedure *
fgsd_create_procedure (GimpPlugIn *plug_in, const gchar *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (procedures); i++)
    if (g_strcmp0 (name, procedures[i].name) == 0)
      return procedures[i].create (plug_in);
  return NULL;
}

/* Translations live beside the executable, in locale/<lang>/LC_MESSAGES/
 * fgsd.mo: GIMP 3 accepts only a catalog folder inside the plug-in's own
 * folder.  Without that folder (no translations installed) localization is
 * off, which spares the "catalog directory does not exist" warning. */
static gboolean
fgsd_set_i18n (GimpPlugIn *plug_in, const gchar *procedure_name, gchar **gettext_domain,
               gchar **catalog_dir)
{
  gchar   *dir    = g_path_get_dirname (gimp_get_progname ());
  gchar   *locale = g_build_filename (dir, "locale", NULL);
  gboolean found  = g_file_test (locale, G_FILE_TEST_IS_DIR);

  g_free (locale);
  g_free (dir);
  if (! found)
    return FALSE;
  *gettext_domain = g_strdup (GETTEXT_PACKAGE);
  *catalog_dir    = g_strdup ("locale");
  return TRUE;
}

static void
fgsd_class_init (FgsdClass *klass)
{
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS (klass);

  plug_in_class->query_procedures = fgsd_query_procedures;
  plug_in_class->create_procedure = fgsd_create_procedure;
  plug_in_class->set_i18n         = fgsd_set_i18n;
}

static void
fgsd_init (Fgsd *fgsd)
{
}
