/* SPDX-License-Identifier: GPL-3.0-or-later
 * One-line error messages into a caller's buffer. */
#include "errmsg.h"

#include <stdarg.h>
#include <stdio.h>

fgsd_status errmsg_set(char *msg, size_t msglen, fgsd_status status, const char *fmt, ...)
{
    va_list ap;

    if (msg == NULL || msglen == 0)
        return status;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
    return status;
}
