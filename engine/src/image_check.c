/* SPDX-License-Identifier: GPL-3.0-or-later
 * The checks every call that takes an image makes (image_check.h). */
#include <math.h>

#include "image_check.h"

fgsd_status image_check(fgsd_session *s, const float *rgb, int w, int h, int min_side)
{
    size_t n;

    if (!rgb)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "no image given");
    if (w < min_side || h < min_side)
        return session_fail(s, FGSD_ERR_TOO_SMALL, "image is %dx%d; at least %dx%d is needed", w,
                            h, min_side, min_side);
    if (w > FGSD_MAX_SIDE || h > FGSD_MAX_SIDE)
        return session_fail(s, FGSD_ERR_TOO_LARGE, "image is %dx%d; at most %dx%d is allowed", w,
                            h, FGSD_MAX_SIDE, FGSD_MAX_SIDE);
    n = (size_t)w * (size_t)h * 3;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(rgb[i]))
            return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                                "image has a NaN or infinite value at pixel %zu", i / 3);
    return FGSD_OK;
}
