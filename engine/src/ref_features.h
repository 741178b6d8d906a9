/* SPDX-License-Identifier: GPL-3.0-or-later
 * phi of a reference with an explicit window (fgsd_features uses the
 * model's feature_window). */
#ifndef FGSD_REF_FEATURES_H
#define FGSD_REF_FEATURES_H

#include "session.h"

/* As fgsd_features, with windows of side window (0 = the whole reference in
 * one pass). */
fgsd_status features_measure(fgsd_session *s, const float *rgb, int width, int height,
                             const float *mask, int window, float *phi);

/* A reference image and its mask (NULL = all) are what every task takes
 * as a reference, measured or quilted: FGSD_MIN_REFERENCE_SIDE a side,
 * finite values, mask weights in [0, 1] and FGSD_MIN_REFERENCE_PIXELS
 * selected; else an error on s. */
fgsd_status features_check_reference(fgsd_session *s, const float *rgb, int width, int height,
                                     const float *mask);

/* The selected pixels of a w x h mask (NULL: all w h). */
double features_mask_weight(const float *mask, int w, int h);

#endif
