/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The metadata key names of a model file, for `fgsd info`.  fgsd.h can look
 * a key up (fgsd_model_metadata) but cannot list the keys, and the model
 * format says every key is shown by `fgsd info`; so this reads the names
 * (only the names) from the file's safetensors header.  Values still come
 * from the engine, which has validated the file.
 */
#ifndef FGSD_CLI_MODEL_KEYS_H
#define FGSD_CLI_MODEL_KEYS_H

/* *keys receives a malloc'ed array of *n malloc'ed names, in file order
 * (free with model_keys_free).  Returns 0, or -1 when the header cannot be
 * read (then *keys is NULL and *n 0; the caller shows the known keys). */
int model_keys_read(const char *path, char ***keys, int *n);

void model_keys_free(char **keys, int n);

#endif
