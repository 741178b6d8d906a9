/* SPDX-License-Identifier: GPL-3.0-or-later
 * Names of the status codes, for messages shown to users. */
#include "fgsd.h"

const char *fgsd_status_string(fgsd_status status)
{
    switch (status) {
    case FGSD_OK:
        return "success";
    case FGSD_ERR_INVALID_ARGUMENT:
        return "invalid argument";
    case FGSD_ERR_NO_MEMORY:
        return "out of memory";
    case FGSD_ERR_IO:
        return "file missing or unreadable";
    case FGSD_ERR_FORMAT:
        return "corrupt model file";
    case FGSD_ERR_VERSION:
        return "unsupported model format version";
    case FGSD_ERR_ARCHITECTURE:
        return "unsupported model architecture";
    case FGSD_ERR_CHECKSUM:
        return "model data does not match its checksum";
    case FGSD_ERR_TOO_SMALL:
        return "image or reference too small";
    case FGSD_ERR_TOO_LARGE:
        return "image too large";
    case FGSD_ERR_BACKEND:
        return "backend unavailable or failed";
    case FGSD_ERR_CANCELLED:
        return "cancelled";
    case FGSD_ERR_INTERNAL:
        return "internal error (a bug; please report it)";
    }
    /* Not a value of the enum: a caller's cast, never returned by us. */
    return "unknown status";
}
