/* SPDX-License-Identifier: GPL-3.0-or-later
 * One-line error messages into a caller's buffer. */
#ifndef FGSD_ERRMSG_H
#define FGSD_ERRMSG_H

#include <stddef.h>

#include "fgsd.h"

#if defined(__GNUC__)
#define ERRMSG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ERRMSG_PRINTF(f, a)
#endif

/* Formats into msg (truncating; msg may be NULL or msglen 0) and returns
 * status, so a check reads `return errmsg_set(msg, len, FGSD_ERR_..., ...)`. */
fgsd_status errmsg_set(char *msg, size_t msglen, fgsd_status status, const char *fmt, ...)
    ERRMSG_PRINTF(4, 5);

#endif
