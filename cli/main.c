/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * fgsd: the command line of the feature-guided score diffusion engine.
 * Dispatches to one subcommand per file (cmd_*.c).  The command line is a
 * stable interface: scripts and the benchmarks call it.
 */
#include "args.h"
#include "cli.h"
#include "image_io.h"

#include <fgsd.h>
#include <stdio.h>
#include <string.h>

/* The image reader refuses what the engine would refuse, before decoding. */
_Static_assert(IMAGE_MAX_SIDE == FGSD_MAX_SIDE, "image_io.h and fgsd.h disagree on the size");

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"info", cmd_info, "describe a model file"},
    {"features", cmd_features, "print the feature vector phi of a reference (JSON)"},
    {"synth", cmd_synth, "draw a new texture like one or more references"},
    {"interpolate", cmd_interpolate, "draw a texture between several references"},
    {"denoise", cmd_denoise, "denoise an image, optionally guided by a reference"},
    {"restyle", cmd_restyle, "redraw an image in the texture of a reference"},
    {"heal", cmd_heal, "fill a hole with texture that continues its surroundings"},
};

static void print_help(void)
{
    printf("Usage: fgsd COMMAND [OPTIONS]\n"
           "\n"
           "Feature-guided score diffusion: textures that look like a reference.\n"
           "\n"
           "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        printf("  %-13s %s\n", commands[i].name, commands[i].summary);
    printf("\n"
           "  -h, --help    this text; 'fgsd COMMAND --help' for a command's options\n"
           "  --version     versions of fgsd and of the model format it reads\n"
           "\n"
           "Images are PNG (8/16-bit gray, RGB, alpha, palette) or PFM, values in [0, 1]\n"
           "units (sRGB-encoded values, unchanged).  The model defaults to $FGSD_MODEL,\n"
           "else the installed default.fgsd.\n"
           "\n"
           "Exit status: 0 done, 1 error, 2 bad usage, 130 interrupted.\n");
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : NULL;

    if (!name)
        return args_usage_error(NULL, "no command given");
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        print_help();
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("fgsd %s (model format %d)\n", FGSD_VERSION_STRING, FGSD_MODEL_FORMAT_VERSION);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    }
    if (name[0] == '-')
        return args_usage_error(NULL, "unknown option '%s'", name);
    return args_usage_error(NULL, "unknown command '%s'", name);
}
