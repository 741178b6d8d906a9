/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Image files: format detection, buffers, and the write-then-rename rule
 * that keeps a failed or cancelled run from leaving a half-written output.
 */
#define _POSIX_C_SOURCE 200809L

#include "image_formats.h"
#include "image_io.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int image_read(const char *path, image *img, char *err, size_t errlen)
{
    static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char magic[8];
    size_t n;
    int ret = -1;
    FILE *fp;

    memset(img, 0, sizeof *img);
    fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    n = fread(magic, 1, sizeof magic, fp);
    rewind(fp);
    if (n == sizeof magic && memcmp(magic, png_magic, sizeof magic) == 0)
        ret = png_read_stream(fp, path, img, err, errlen);
    else if (n >= 2 && magic[0] == 'P' && (magic[1] == 'F' || magic[1] == 'f'))
        ret = pfm_read_stream(fp, path, img, err, errlen);
    else
        snprintf(err, errlen, "%s: not a PNG or PFM file", path);
    fclose(fp);
    return ret;
}

image_format image_format_for_path(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');

    if (!dot || (slash && dot < slash))
        return IMAGE_FORMAT_UNKNOWN;
    if (strcasecmp(dot, ".png") == 0)
        return IMAGE_FORMAT_PNG;
    if (strcasecmp(dot, ".pfm") == 0)
        return IMAGE_FORMAT_PFM;
    return IMAGE_FORMAT_UNKNOWN;
}

/* "dir/.name.XXXXXX" next to path, so that rename() stays on one file
 * system and is atomic. */
static char *temp_template(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dirlen;
    size_t len = dirlen + 1 + strlen(base) + 8;
    char *t = malloc(len);

    if (t)
        snprintf(t, len, "%.*s.%s.XXXXXX", (int)dirlen, path, base);
    return t;
}

/* mkstemp creates files 0600; a finished output should get the same mode
 * as any file the user creates. */
static void set_default_mode(int fd)
{
    mode_t mask = umask(0);

    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
}

int image_write(const char *path, const image *img, const image_write_options *opts, char *err,
                size_t errlen)
{
    image_format fmt = image_format_for_path(path);
    char *tmp = NULL;
    FILE *fp = NULL;
    int fd, ret = -1;

    if (fmt == IMAGE_FORMAT_UNKNOWN) {
        snprintf(err, errlen, "%s: unknown output format (use a .png or .pfm name)", path);
        return -1;
    }
    tmp = temp_template(path);
    if (!tmp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a file next to '%s': %s", path, strerror(errno));
        goto out_free;
    }
    set_default_mode(fd);
    fp = fdopen(fd, "wb");
    if (!fp) {
        snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
        close(fd);
        goto out_unlink;
    }
    if (fmt == IMAGE_FORMAT_PNG)
        ret = png_write_stream(fp, img, opts && opts->png_16bit, err, errlen);
    else
        ret = pfm_write_stream(fp, img, err, errlen);
    if (ret == 0 && (fflush(fp) != 0 || ferror(fp))) {
        snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
        ret = -1;
    }
    if (fclose(fp) != 0 && ret == 0) {
        snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
        ret = -1;
    }
    if (ret < 0)
        goto out_unlink;
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename the output into '%s': %s", path, strerror(errno));
        ret = -1;
        goto out_unlink;
    }
    goto out_free;
out_unlink:
    unlink(tmp);
out_free:
    free(tmp);
    return ret;
}
