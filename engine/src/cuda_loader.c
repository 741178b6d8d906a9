/* SPDX-License-Identifier: GPL-3.0-or-later
 * Finding and loading the CUDA backend module once per process
 * (docs/cuda.md): where it is looked for, and why it could not be used. */
#define _GNU_SOURCE /* dladdr */

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cuda_loader.h"

#ifndef FGSD_CUDA_MODULE_DIR
#define FGSD_CUDA_MODULE_DIR "/usr/local/lib/fgsd"
#endif

/* Why the module could not be used: decides whether FGSD_BACKEND_AUTO says
 * anything (a machine without the module or without a GPU is the normal CPU
 * case, not news). */
typedef enum cuda_missing {
    CUDA_LOADED = 0,
    CUDA_NOT_INSTALLED, /* no module file where we look */
    CUDA_LOAD_FAILED,   /* a module that dlopen or its entry refused */
} cuda_missing;

/* Filled once per process by load_cuda_module (pthread_once): the module
 * stays loaded until exit, as the CUDA runtime inside it registers exit
 * handlers. */
static struct {
    const fgsd_cuda_module *mod;
    cuda_missing missing;
    int explicit_path; /* $FGSD_CUDA_MODULE was set: the user wants CUDA */
    char reason[400];
} cuda_state;
static pthread_once_t cuda_once = PTHREAD_ONCE_INIT;

/* 0: loaded; 1: no file at path; -1: refused (cuda_state.reason says why). */
static int try_module(const char *path)
{
    fgsd_cuda_entry_fn entry;
    const fgsd_cuda_module *mod;
    void *h;

    if (access(path, F_OK) != 0)
        return 1;
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(cuda_state.reason, sizeof(cuda_state.reason), "cannot load %s: %s", path,
                 e ? e : "dlopen failed");
        return -1;
    }
    *(void **)&entry = dlsym(h, FGSD_CUDA_ENTRY);
    mod = entry ? entry(FGSD_CUDA_ABI) : NULL;
    if (!mod || mod->ops_size != sizeof(backend_ops) || !mod->ops || !mod->probe) {
        snprintf(cuda_state.reason, sizeof(cuda_state.reason),
                 "%s is not a CUDA module of this version of fgsd (ABI %d)", path, FGSD_CUDA_ABI);
        dlclose(h);
        return -1;
    }
    cuda_state.mod = mod;
    return 0;
}

/* Search order: $FGSD_CUDA_MODULE (a file; nothing else is tried when it is
 * set), the folder of the library holding this code (the build tree) and its
 * fgsd/ subfolder (an installed, relocated prefix), then the install folder. */
static void load_cuda_module(void)
{
    const char *env = getenv("FGSD_CUDA_MODULE");
    char dirs[3][PATH_MAX], path[PATH_MAX + 32], looked[300] = "";
    int n = 0, r = 1;
    Dl_info info;

    cuda_state.missing = CUDA_LOAD_FAILED;
    if (env && *env) {
        cuda_state.explicit_path = 1;
        r = try_module(env);
        if (r > 0)
            snprintf(cuda_state.reason, sizeof(cuda_state.reason),
                     "FGSD_CUDA_MODULE names %s, which does not exist", env);
        if (r == 0)
            cuda_state.missing = CUDA_LOADED;
        return;
    }
    if (dladdr(&cuda_state, &info) && info.dli_fname &&
        strlen(info.dli_fname) < sizeof(dirs[0]) - 8) {
        char *slash;
        strcpy(dirs[0], info.dli_fname);
        slash = strrchr(dirs[0], '/');
        if (slash) {
            *slash = '\0';
            strcpy(dirs[1], dirs[0]);
            strcat(dirs[1], "/fgsd");
            n = 2;
        }
    }
    snprintf(dirs[n++], sizeof(dirs[0]), "%s", FGSD_CUDA_MODULE_DIR);
    for (int i = 0; i < n && r > 0; i++) {
        snprintf(path, sizeof(path), "%s/%s", dirs[i], FGSD_CUDA_MODULE_NAME);
        r = try_module(path);
        if (r > 0 && strlen(looked) + strlen(dirs[i]) + 3 < sizeof(looked))
            snprintf(looked + strlen(looked), sizeof(looked) - strlen(looked), "%s%s",
                     i ? ", " : "", dirs[i]);
    }
    if (r > 0) {
        cuda_state.missing = CUDA_NOT_INSTALLED;
        snprintf(cuda_state.reason, sizeof(cuda_state.reason), "%s is not installed (looked in %s)",
                 FGSD_CUDA_MODULE_NAME, looked);
    } else if (r == 0) {
        cuda_state.missing = CUDA_LOADED;
    }
}

/* An NVIDIA driver is installed: a CUDA module that fails to load there is
 * worth a notice even when the caller did not ask for CUDA. */
static int nvidia_driver_present(void)
{
    void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);

    if (h)
        dlclose(h);
    return h != NULL;
}

const fgsd_cuda_module *cuda_module_get(char *reason, size_t len, int *quiet)
{
    pthread_once(&cuda_once, load_cuda_module);
    *quiet = 0;
    if (cuda_state.mod)
        return cuda_state.mod;
    snprintf(reason, len, "%s", cuda_state.reason);
    *quiet = !cuda_state.explicit_path &&
             (cuda_state.missing == CUDA_NOT_INSTALLED || !nvidia_driver_present());
    return NULL;
}
