/* SPDX-License-Identifier: GPL-3.0-or-later
 * Checks of an image argument. */
#ifndef FGSD_IMAGE_CHECK_H
#define FGSD_IMAGE_CHECK_H

#include "session.h"

/* rgb (w x h interleaved RGB) is given, each side in min_side ..
 * FGSD_MAX_SIDE, every value finite; else an error on the session. */
fgsd_status image_check(fgsd_session *s, const float *rgb, int w, int h, int min_side);

#endif
