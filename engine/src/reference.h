/* SPDX-License-Identifier: GPL-3.0-or-later
 * The reference object (fgsd_reference_*): phi and mean colour at each
 * scale of the coarse-to-fine sampler, shared by the task calls. */
#ifndef FGSD_REFERENCE_H
#define FGSD_REFERENCE_H

#include "session.h"

struct fgsd_reference {
    int dim;                                  /* feature_dim of its model */
    int levels;                               /* scales measured, >= 1 */
    float colour[FGSD_MAX_SAMPLER_LEVELS][3]; /* mean colour per scale */
    float *phi;                               /* levels x dim */
};

/* Checks that reference belongs to the session's model (NULL passes). */
fgsd_status reference_check(fgsd_session *s, const fgsd_reference *reference);

/* phi at level, or NULL for a NULL reference. */
const float *reference_phi(const fgsd_reference *reference, int level);

#endif
