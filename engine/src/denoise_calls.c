/* SPDX-License-Identifier: GPL-3.0-or-later
 * fgsd_denoise and fgsd_estimate_sigma: one denoiser pass, as the public
 * calls. */
#include <math.h>
#include <stdlib.h>

#include "denoise.h"
#include "image_check.h"
#include "reference.h"

fgsd_status fgsd_denoise(fgsd_session *s, const fgsd_reference *reference, const float *noisy,
                         int width, int height, float *clean)
{
    fgsd_status st;

    if (!s)
        return FGSD_ERR_INVALID_ARGUMENT;
    if (!clean)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "no output buffer given");
    st = image_check(s, noisy, width, height, 8);
    if (!st)
        st = reference_check(s, reference);
    if (st)
        return st;
    return denoise_image(s, noisy, width, height, reference_phi(reference, 0), NULL, clean);
}

fgsd_status fgsd_estimate_sigma(fgsd_session *s, const float *rgb, int width, int height,
                                float *sigma)
{
    size_t n = (size_t)width * (size_t)height * 3;
    float *clean;
    double ss = 0.0;
    fgsd_status st;

    if (!s)
        return FGSD_ERR_INVALID_ARGUMENT;
    if (!sigma)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "no output given");
    st = image_check(s, rgb, width, height, 8);
    if (st)
        return st;
    clean = malloc(n * sizeof(float));
    if (!clean)
        return session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory");
    st = denoise_image(s, rgb, width, height, NULL, NULL, clean);
    if (!st) {
        for (size_t i = 0; i < n; i++) {
            double d = (double)rgb[i] - clean[i];
            ss += d * d;
        }
        *sigma = (float)sqrt(ss / (double)n);
    }
    free(clean);
    return st;
}
