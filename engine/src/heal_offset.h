/* SPDX-License-Identifier: GPL-3.0-or-later
 * Healing from one offset (docs/heal.md "Lattices"): squares laid one by
 * one fit only their own overlaps and break a lattice's motif across the
 * hole; a clone from the one place where the ring of held pixels around
 * the hole matches the image best continues it. */
#ifndef FGSD_HEAL_OFFSET_H
#define FGSD_HEAL_OFFSET_H

#include <stddef.h>

/* Accept an offset when its ring error is below this fraction of what two
 * unrelated places of the same texture differ by (twice the ring's
 * variance).  On the 41 unseen classes (256² crops, a 48² hole) lattices
 * fit at 0.01-0.10, semi-regular textures at 0.22-0.34, where the clone
 * still came closer; stochastic ones at 0.49-0.89, where it did not
 * (docs/heal.md "Lattices"). */
#define HEAL_OFFSET_FIT 0.35

/* Whether pixel i of a hole mask is hole: above 0 (band geometry and the
 * clone's search; the sampler uses the mask's own soft weights). */
static inline int heal_in_hole(const float *hole, size_t i)
{
    return hole[i] > 0.0f;
}

/* Searches offsets (dx, dy) whose copy of the hole's box, grown by
 * `margin`, lies inside the source and outside what it may not copy: the
 * image itself (source NULL; offsets within `reach` px, the hole
 * excluded) or a reference of sw x sh (any offset; outside its selection
 * excluded when source_mask is given).  The cost of an offset is the mean
 * squared difference between the held pixels within `margin` of the hole
 * (the ring) and the source's pixels that offset brings there.  *fit: the
 * best cost over twice the ring's variance (1 for a place unrelated to the
 * ring, 0 for an exact repeat).  Returns 1 and the offset when one was
 * searched, 0 when none is possible (a hole too large for the source, an
 * empty ring) or memory ran out. */
int heal_offset_search(const float *image, const float *hole, int width, int height,
                       const float *source, const float *source_mask, int sw, int sh, int bx,
                       int by, int bw, int bh, int margin, int reach, int *dx, int *dy,
                       double *fit);

/* The clone: canvas = the source at p + (dx, dy) on the hole's pixels,
 * shadow the same on the box grown by one (what heal_blend compares the
 * image with along the hole's edge).  source is sw pixels wide: the image
 * itself or the reference. */
void heal_offset_fill(const float *hole, int width, int height, const float *source, int sw,
                      int bx, int by, int bw, int bh, int dx, int dy, float *canvas,
                      float *shadow);

#endif
