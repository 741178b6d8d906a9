/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Gettext for the plug-in and its dialog: domain "fgsd" (set by meson as
 * GETTEXT_PACKAGE).  _() translates through that domain whatever textdomain()
 * says, because gi18n-lib.h maps it to g_dgettext (GETTEXT_PACKAGE, ...).
 */
#ifndef FGSD_PLUGIN_I18N_H
#define FGSD_PLUGIN_I18N_H

#ifndef GETTEXT_PACKAGE
#error "GETTEXT_PACKAGE must be defined by the build (\"fgsd\")"
#endif

#include <glib/gi18n-lib.h>

#endif
