/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * References: from image files (and an optional mask) to the
 * fgsd_reference that conditions the sampler.
 *
 * A reference's alpha channel is a selection: pixels with alpha 0 do not
 * count, partial alpha counts partially.  A --mask image (white = selected,
 * its mean of R, G, B times its own alpha) multiplies it.  Several
 * references are combined as a convex blend
 * (fgsd_reference_blend), the paper's class centroid when weights are equal.
 */
#ifndef FGSD_CLI_REFERENCE_H
#define FGSD_CLI_REFERENCE_H

#include "engine_ctx.h"
#include "image_io.h"

/* One selection value per pixel from a mask image: its gray level (mean of
 * R, G, B) times its alpha, clamped to [0, 1] (a PFM mask may leave it).
 * *out is malloc'ed.  Returns an exit code; errors are printed. */
int mask_from_image(const image *img, float **out);

/* The reference blended from refs[0..n) with weights (NULL = equal weights,
 * the centroid), each image masked by its alpha and by mask_path (NULL =
 * none; must then have the size of every ref).  *out is freed with
 * fgsd_reference_free.  Returns an exit code; errors are printed. */
int reference_load(cli_engine *e, const char *const *refs, const float *weights, int n,
                   const char *mask_path, fgsd_reference **out);

/* The features of ref (read from path, which error messages name) with its
 * selection sel (NULL = every pixel).  *out is freed with
 * fgsd_reference_free.  Returns an exit code; errors are printed. */
int reference_measure(cli_engine *e, const char *path, const image *ref, const float *sel,
                      fgsd_reference **out);

/* The reference image at path and its selection (alpha times mask_path,
 * NULL = every pixel counts), for a synthesis that starts from its
 * patches.  img is freed with image_free, *sel with free.  Returns an exit
 * code; errors are printed. */
int reference_source(const char *path, const char *mask_path, image *img, float **sel);

#endif
