/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * `fgsd features`: the feature vector phi of a reference, as a JSON array
 * on stdout (for scripts, caches and the benchmarks).
 */
#include "cli.h"
#include "engine_ctx.h"
#include "reference.h"

#include <stdio.h>
#include <stdlib.h>

static const char help[] =
    "Usage: fgsd features --ref IMAGE [--mask IMAGE] [OPTIONS]\n"
    "\n"
    "Print the feature vector phi of a reference (the per-channel means of the\n"
    "network's feature blocks) as a JSON array of feature-dim numbers, each with\n"
    "full float precision.  Several --ref options print the centroid (mean) of\n"
    "their vectors.\n"
    "\n"
    "  --ref IMAGE          reference image, PNG or PFM; its alpha is a mask\n"
    "  --mask IMAGE         selection (white = counts), same size as the\n"
    "                       reference; multiplies the reference's alpha\n" CLI_ENGINE_HELP
    "  -h, --help           this text\n";

static int print_json(const float *phi, int dim)
{
    putchar('[');
    for (int i = 0; i < dim; i++)
        printf(i ? ", %.9g" : "%.9g", (double)phi[i]);
    printf("]\n");
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("writing to standard output failed");
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

int cmd_features(int argc, char **argv)
{
    cli_engine_opts eo = {0};
    arg_strings refs = {0};
    const char *mask = NULL, *pos[1];
    int npos, ret;
    const arg_spec specs[] = {
        {.name = "--ref", .type = ARG_STRINGS, .dest = &refs},
        {.name = "--mask", .type = ARG_STRING, .dest = &mask},
        CLI_ENGINE_ARGS(&eo),
        {0},
    };
    cli_engine e;
    fgsd_reference *ref = NULL;

    switch (args_parse("features", argc, argv, specs, pos, 0, &npos)) {
    case ARGS_HELP:
        fputs(help, stdout);
        return CLI_EXIT_OK;
    case ARGS_USAGE:
        return CLI_EXIT_USAGE;
    case ARGS_OK:
        break;
    }
    if (refs.n == 0)
        return args_usage_error("features", "--ref is required");
    cancel_install();
    ret = cli_engine_open(&e, &eo);
    if (ret != CLI_EXIT_OK)
        return ret;
    ret = reference_load(&e, refs.v, NULL, refs.n, mask, &ref);
    if (ret == CLI_EXIT_OK)
        ret = cli_engine_cancelled(&e);
    if (ret == CLI_EXIT_OK)
        ret = print_json(fgsd_reference_features(ref, 0), fgsd_model_feature_dim(e.model));
    fgsd_reference_free(ref);
    cli_engine_close(&e);
    return ret;
}
