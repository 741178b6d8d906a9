/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Messages on stderr.  Errors are exactly one line, "fgsd: error: ...", so
 * that scripts can show or grep them; engine texts that carry a newline are
 * flattened.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

static void emit(const char *prefix, const char *fmt, va_list ap)
{
    char msg[1024];

    vsnprintf(msg, sizeof msg, fmt, ap);
    for (char *p = msg; *p; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    }
    fprintf(stderr, "fgsd: %s%s\n", prefix, msg);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit("error: ", fmt, ap);
    va_end(ap);
}

void cli_warning(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit("warning: ", fmt, ap);
    va_end(ap);
}

void cli_note(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit("", fmt, ap);
    va_end(ap);
}
