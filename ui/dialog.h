/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The GTK 3 dialog of the fgsd procedures: a GimpProcedureDialog over the
 * procedure's config, so values are remembered by GIMP and the widgets follow
 * the arguments' types and ranges.
 */
#ifndef FGSD_UI_DIALOG_H
#define FGSD_UI_DIALOG_H

#include <libgimp/gimpui.h>

#include "procedure-kind.h"


/* Shows the dialog; TRUE when the user pressed OK.  summary is a line of
 * Pango markup shown on top (what the reference is); preview (NULL: none)
 * a widget shown above the settings, destroyed with the dialog. */
gboolean fgsd_dialog_run (GimpProcedure *procedure, GimpProcedureConfig *config,
                          FgsdProcedureKind kind, const gchar *summary, GtkWidget *preview);

#endif
