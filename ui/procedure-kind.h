/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The five fgsd procedures, one enum for the arguments they declare
 * (plugin/args.c) and the layout of their dialog (ui/dialog.c).  The
 * procedures themselves are listed once, in plugin/fgsd-plugin.c.
 */
#ifndef FGSD_UI_PROCEDURE_KIND_H
#define FGSD_UI_PROCEDURE_KIND_H

typedef enum
{
  FGSD_PROC_SYNTHESIZE,
  FGSD_PROC_DENOISE,
  FGSD_PROC_INTERPOLATE,
  FGSD_PROC_HEAL,
  FGSD_PROC_RESTYLE
} FgsdProcedureKind;

#endif
