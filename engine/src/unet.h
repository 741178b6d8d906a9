/* SPDX-License-Identifier: GPL-3.0-or-later
 * The graph runner: the UNet of docs/model-format.md on any backend. */
#ifndef FGSD_UNET_H
#define FGSD_UNET_H

#include "backend.h"

typedef struct unet unet;

/* One forward pass over a canvas (planar CHW, width and height multiples of
 * the model's size multiple).
 *
 * mask: canvas-sized weights (planar H x W) of the pixels whose activations
 * form the feature means (the selection of a reference, or the interior of a
 * padded or tiled canvas); NULL = every pixel.  It is 2x2-average-pooled with
 * each level, as in models/fgsd_net.py.
 *
 * phi_ref: project every feature block onto it (NULL = no projection).
 * fixed_means: use these whole-image block means in the projection instead
 * of measuring them on this canvas (tiled passes); NULL = measure.
 * sums/weights (optional outputs): per feature channel, the mask-weighted
 * sums of each feature block's output before its projection, and per feature
 * channel the total weight; tiles add them up into whole-image means.
 * features_only: stop after the last feature block (out is then unused).
 * blocks: when > 0, run only the first `blocks` blocks (out unused): the
 * staged passes of tiling measure one block's means at a time.
 * out: planar CHW network output (residual or clean: see the model info).
 *
 * Or, on a backend with images (backend.h image_*): input_image NULL, or
 * the image whose window the canvas is (input then unused), and out_image
 * NULL, or the image that receives the window's interior of the clean
 * estimate (out then unused). */
typedef struct unet_pass {
    const float *input;
    const backend_image *input_image;
    backend_window window;
    backend_image *out_image;
    int width, height;
    const float *mask;
    const float *phi_ref;
    const float *fixed_means;
    double *sums;
    double *weights;
    int features_only;
    int blocks;
    float *out;
} unet_pass;

fgsd_status unet_create(const fgsd_model *model, const backend_ops *ops, backend *be,
                        unet **net, char *err, size_t errlen);
void unet_free(unet *net);

fgsd_status unet_run(unet *net, const unet_pass *pass, char *err, size_t errlen);

/* How many times net built its mask pyramid (it keeps one while the
 * passes bring the same mask and canvas size): for the tests. */
unsigned long unet_mask_builds(const unet *net);

/* Bytes of activations a pass over a width x height canvas needs. */
size_t unet_activation_bytes(const fgsd_model *model, int width, int height);

#endif
