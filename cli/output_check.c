/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Early check of an output path, so that a typo in -o fails in a second
 * instead of after minutes of sampling.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"
#include "image_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_check_output(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    struct stat st;
    int ret = CLI_EXIT_OK;

    if (image_format_for_path(path) == IMAGE_FORMAT_UNKNOWN) {
        cli_error("%s: unknown output format (use a .png or .pfm name)", path);
        return CLI_EXIT_USAGE;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_error("%s: is a folder", path);
        return CLI_EXIT_ERROR;
    }
    if (!slash)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (!dir) {
        cli_error("out of memory");
        return CLI_EXIT_ERROR;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        cli_error("cannot write into '%s': %s", dir, strerror(errno));
        ret = CLI_EXIT_ERROR;
    }
    free(dir);
    return ret;
}
