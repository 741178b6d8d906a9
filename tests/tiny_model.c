/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "tiny_model.h"

#include <stdio.h>
#include <stdlib.h>

#include "model_writer.h"

fgsd_model *test_tiny_model_load(uint64_t seed, char *err, size_t errlen)
{
    test_model_arch arch = test_model_arch_tiny();
    unsigned char *buf;
    size_t len;
    fgsd_model *m = NULL;

    if (test_model_build(&arch, seed, TEST_MODEL_F32, &buf, &len)) {
        snprintf(err, errlen, "the model writer failed");
        return NULL;
    }
    if (fgsd_model_load_memory(buf, len, &m, err, errlen) != FGSD_OK)
        m = NULL;
    free(buf);
    return m;
}
