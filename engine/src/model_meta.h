/* SPDX-License-Identifier: GPL-3.0-or-later
 * The fgsd entries of a model file's __metadata__ (docs/model-format.md). */
#ifndef FGSD_MODEL_META_H
#define FGSD_MODEL_META_H

#include <stddef.h>

#include "fgsd.h"
#include "safetensors.h"

/* "format" is "fgsd-model" (else FGSD_ERR_FORMAT) and "format_version" is
 * one this engine reads (else FGSD_ERR_VERSION). */
fgsd_status meta_check_identity(const st_file *file, int *version, char *msg, size_t msglen);

/* The "arch" string (borrowed from file). */
fgsd_status meta_arch(const st_file *file, const char **arch, char *msg, size_t msglen);

/* "data_mean": a JSON array of 3 finite numbers. */
fgsd_status meta_data_mean(const st_file *file, float mean[3], char *msg, size_t msglen);

/* "feature_window" (optional; 0 when absent): the side of the training
 * crops, a JSON integer in [size_multiple, FGSD_MAX_SIDE] and a multiple of
 * size_multiple.  phi of a reference is measured over windows of that side
 * (engine/src/features.c). */
fgsd_status meta_feature_window(const st_file *file, int size_multiple, int *window, char *msg,
                                size_t msglen);

/* "checksum" against the CRC-32 of the data section (FGSD_ERR_CHECKSUM). */
fgsd_status meta_check_checksum(const st_file *file, char *msg, size_t msglen);

/* Copies every metadata entry into model->meta_key / meta_value. */
fgsd_status meta_copy(const st_file *file, fgsd_model *model, char *msg, size_t msglen);

#endif
