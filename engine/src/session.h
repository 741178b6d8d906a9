/* SPDX-License-Identifier: GPL-3.0-or-later
 * The session object, shared by the files that implement the public calls. */
#ifndef FGSD_SESSION_H
#define FGSD_SESSION_H

#include "backend.h"
#include "unet.h"

struct fgsd_session {
    const fgsd_model *model;
    fgsd_session_options opt;
    const backend_ops *ops;
    backend *be;
    unet *net;
    char error[512];
    char notice[512];
};

/* Records a printf-style message as the session's last error; returns st. */
fgsd_status session_fail(fgsd_session *s, fgsd_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Calls the progress callback; non-zero means the user cancelled. */
int session_progress(fgsd_session *s, int step, float sigma, float fraction);

#endif
