/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * `fgsd info [MODEL]`: what a model file contains, as text or JSON.
 */
#include "cli.h"
#include "engine_ctx.h"
#include "model_path.h"

#include <cjson/cJSON.h>
#include <fgsd.h>
#include <stdio.h>
#include <string.h>

static const char help[] =
    "Usage: fgsd info [MODEL] [OPTIONS]\n"
    "\n"
    "Describe a model file: format version, architecture, parameters, feature\n"
    "dimension, receptive field, training-data mean and metadata (recipe,\n"
    "description, ...).\n"
    "\n"
    "  MODEL, -m, --model FILE   the model (default: $FGSD_MODEL, else the\n"
    "                            installed default.fgsd)\n"
    "  --json                    print one JSON object instead of text\n"
    "  -v, --verbose             say where the default model was found\n"
    "  -h, --help                this text\n";

/* Keys shown as structured fields already; the rest is listed verbatim. */
static int shown_above(const char *key)
{
    return strcmp(key, "format_version") == 0 || strcmp(key, "data_mean") == 0 ||
           strcmp(key, "feature_window") == 0;
}

static void print_value(const char *key, const char *value)
{
    printf("  %-14s ", key);
    /* Indent continuation lines of multi-line texts (recipes). */
    for (const char *p = value; *p; p++) {
        putchar(*p);
        if (*p == '\n' && p[1])
            printf("  %-14s ", "");
    }
    putchar('\n');
}

static void print_text(const char *path, const fgsd_model *model, const fgsd_model_info *in)
{
    printf("model:            %s\n", path);
    printf("format version:   %d\n", in->format_version);
    printf("architecture:     UNet, %d levels, widths", in->levels);
    for (int i = 0; i <= in->levels && i <= FGSD_MAX_LEVELS; i++)
        printf(" %d", in->widths[i]);
    printf(", %s, outputs %s\n", in->conditioned ? "conditioned" : "unconditioned",
           in->output_residual ? "the residual x - D(x)" : "D(x)");
    printf("parameters:       %lld\n", (long long)in->parameters);
    printf("feature dim:      %d\n", in->feature_dim);
    printf("receptive field:  %d px\n", in->receptive_field);
    printf("size multiple:    %d\n", in->size_multiple);
    if (in->conditioned && in->feature_window > 0)
        printf("feature window:   %d px (a larger reference: phi averaged over windows)\n",
               in->feature_window);
    else if (in->conditioned)
        printf("feature window:   none (a reference is measured whole)\n");
    printf("data mean:        %.6g %.6g %.6g\n", (double)in->data_mean[0],
           (double)in->data_mean[1], (double)in->data_mean[2]);
    printf("metadata:\n");
    for (int i = 0; i < fgsd_model_metadata_count(model); i++) {
        const char *k = fgsd_model_metadata_key(model, i);
        if (!shown_above(k))
            print_value(k, fgsd_model_metadata(model, k));
    }
}

static cJSON *info_json(const char *path, const fgsd_model *model, const fgsd_model_info *in)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *widths, *mean, *meta;

    cJSON_AddStringToObject(o, "model", path);
    cJSON_AddNumberToObject(o, "format_version", in->format_version);
    cJSON_AddNumberToObject(o, "channels", in->channels);
    cJSON_AddNumberToObject(o, "levels", in->levels);
    widths = cJSON_AddArrayToObject(o, "widths");
    for (int i = 0; i <= in->levels && i <= FGSD_MAX_LEVELS; i++)
        cJSON_AddItemToArray(widths, cJSON_CreateNumber(in->widths[i]));
    cJSON_AddBoolToObject(o, "conditioned", in->conditioned);
    cJSON_AddStringToObject(o, "output", in->output_residual ? "residual" : "clean");
    cJSON_AddNumberToObject(o, "parameters", (double)in->parameters);
    cJSON_AddNumberToObject(o, "feature_dim", in->feature_dim);
    cJSON_AddNumberToObject(o, "receptive_field", in->receptive_field);
    cJSON_AddNumberToObject(o, "size_multiple", in->size_multiple);
    cJSON_AddNumberToObject(o, "feature_window", in->feature_window);
    mean = cJSON_AddArrayToObject(o, "data_mean");
    for (int c = 0; c < 3; c++)
        cJSON_AddItemToArray(mean, cJSON_CreateNumber(in->data_mean[c]));
    meta = cJSON_AddObjectToObject(o, "metadata");
    for (int i = 0; i < fgsd_model_metadata_count(model); i++) {
        const char *k = fgsd_model_metadata_key(model, i);
        cJSON_AddStringToObject(meta, k, fgsd_model_metadata(model, k));
    }
    return o;
}

int cmd_info(int argc, char **argv)
{
    const char *model_opt = NULL, *pos[1], *path, *source;
    int json = 0, verbose = 0, npos = 0, ret = CLI_EXIT_ERROR;
    const arg_spec specs[] = {
        {.name = "--model", .alias = "-m", .type = ARG_STRING, .dest = &model_opt},
        {.name = "--json", .type = ARG_FLAG, .dest = &json},
        {.name = "--verbose", .alias = "-v", .type = ARG_FLAG, .dest = &verbose},
        {0},
    };
    fgsd_model *model = NULL;
    fgsd_model_info in;

    switch (args_parse("info", argc, argv, specs, pos, 1, &npos)) {
    case ARGS_HELP:
        fputs(help, stdout);
        return CLI_EXIT_OK;
    case ARGS_USAGE:
        return CLI_EXIT_USAGE;
    case ARGS_OK:
        break;
    }
    if (npos && model_opt)
        return args_usage_error("info", "give the model either as MODEL or as --model");
    path = model_path_resolve(npos ? pos[0] : model_opt, &source);
    if (!path)
        return CLI_EXIT_ERROR;
    if (verbose)
        cli_note("model %s (%s)", path, source);
    if (cli_model_load(path, &model) != CLI_EXIT_OK)
        return CLI_EXIT_ERROR;
    fgsd_model_get_info(model, &in);
    if (json) {
        cJSON *o = info_json(path, model, &in);
        char *text = o ? cJSON_Print(o) : NULL;
        if (text)
            printf("%s\n", text);
        cJSON_free(text);
        cJSON_Delete(o);
        if (!text) {
            cli_error("out of memory");
            goto out;
        }
    } else {
        print_text(path, model, &in);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("writing to standard output failed");
        goto out;
    }
    ret = CLI_EXIT_OK;
out:
    fgsd_model_free(model);
    return ret;
}
