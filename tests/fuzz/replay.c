/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * replay PATH...
 *
 * Runs a fuzz target's LLVMFuzzerTestOneInput on files, without libFuzzer:
 * each PATH is a file or a folder of files.  Linked with each target, it
 * makes the seed corpus (and every crash input added to it once fixed) a
 * plain regression test of every build, gcc and sanitizers included, and
 * serves coverage runs (gcov) and valgrind.  Prints TAP, one line per file;
 * a crash or a failed check in the target aborts, which fails the test.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count;

static int run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (!fp) {
        perror(path);
        return -1;
    }
    do {
        if (len == cap) {
            unsigned char *p = realloc(buf, cap ? 2 * cap : 4096);
            if (!p) {
                fclose(fp);
                free(buf);
                return -1;
            }
            buf = p;
            cap = cap ? 2 * cap : 4096;
        }
        n = fread(buf + len, 1, cap - len, fp);
        len += n;
    } while (n > 0);
    fclose(fp);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    printf("ok %d - %s\n", ++count, path);
    fflush(stdout);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files of a folder in name order, so that runs are repeatable. */
static int run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;
    int ret = 0;

    if (!d) {
        perror(dir);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        char **p;
        if (e->d_name[0] == '.')
            continue;
        p = realloc(names, (n + 1) * sizeof(*names));
        if (!p) {
            ret = -1;
            break;
        }
        names = p;
        names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (!names[n]) {
            ret = -1;
            break;
        }
        sprintf(names[n++], "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++) {
        if (ret == 0 && run_file(names[i]) < 0)
            ret = -1;
        free(names[i]);
    }
    free(names);
    return ret;
}

int main(int argc, char **argv)
{
    int ret = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        if ((S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i])) < 0)
            ret = 1;
    }
    printf("1..%d\n", count);
    return ret || count == 0;
}
