/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * make_tiny_model OUT.fgsd [--unconditioned]
 *
 * Writes the tiny deterministic model of tests/model_writer.h to a file, for
 * the command-line tests: a few KiB, fast enough that a whole synth run of a
 * small image takes milliseconds.  Its weights are not trained; the tests
 * check the plumbing, not the pictures.
 */
#include "model_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    test_model_arch arch = test_model_arch_tiny();
    unsigned char *buf = NULL;
    size_t len = 0;
    FILE *fp;
    int ret = 1;

    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--unconditioned") != 0)) {
        fprintf(stderr, "usage: make_tiny_model OUT.fgsd [--unconditioned]\n");
        return 2;
    }
    if (argc == 3) {
        arch.conditioned = 0;
        arch.n_features = 0;
    }
    if (test_model_build(&arch, 42, TEST_MODEL_F32, &buf, &len) < 0) {
        fprintf(stderr, "make_tiny_model: cannot build the model\n");
        return 1;
    }
    fp = fopen(argv[1], "wb");
    if (!fp) {
        perror(argv[1]);
        goto out;
    }
    if (fwrite(buf, 1, len, fp) != len)
        perror(argv[1]);
    else
        ret = 0;
    if (fclose(fp) != 0) {
        perror(argv[1]);
        ret = 1;
    }
out:
    free(buf);
    return ret;
}
