/* The loader behind vips_dl.h: dlopen of libvips by its soname (the one the
 * build was compiled against, so the ABI matches), then one dlsym per
 * function. */
#include "fmacros.h"

#define IMG_VIPS_DL_IMPL 1
#include "imaging/vips_dl.h"
#include "core/err.h"
#include "core/log.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#ifndef SZ_VIPS_SONAME
#define SZ_VIPS_SONAME "libvips.so.42"
#endif

struct img_vips_api img_vips;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_status = SZ_EIO;
static char load_error[256] = "libvips was not loaded";

static void load(void)
{
    void *lib = dlopen(SZ_VIPS_SONAME, RTLD_NOW | RTLD_LOCAL);
    const char *missing = NULL;
    void *sym;

    if (lib == NULL) {
        snprintf(load_error, sizeof(load_error), "Could not load libvips (%s): %s", SZ_VIPS_SONAME,
                 dlerror());
        SZ_ERROR("%s", load_error);
        return;
    }
    /* ISO C has no conversion from void * to a function pointer; copying the
     * representation is what POSIX guarantees to work for dlsym. */
#define IMG_VIPS_RESOLVE_(name)                                                                    \
    sym = dlsym(lib, #name);                                                                       \
    if (sym == NULL && missing == NULL)                                                            \
        missing = #name;                                                                           \
    memcpy(&img_vips.name, &sym, sizeof(sym));
    IMG_VIPS_FUNCS(IMG_VIPS_RESOLVE_)
#undef IMG_VIPS_RESOLVE_
    if (missing != NULL) {
        snprintf(load_error, sizeof(load_error), "libvips (%s) lacks %s", SZ_VIPS_SONAME, missing);
        SZ_ERROR("%s", load_error);
        return; /* the library stays loaded: unloading glib types is not safe */
    }
    load_status = 0;
    load_error[0] = '\0';
    SZ_DEBUG("loaded %s", SZ_VIPS_SONAME);
}

int img_vips_load(char *err, size_t errlen)
{
    pthread_once(&load_once, load);
    if (load_status != 0 && err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", load_error);
    return load_status;
}

int img_vips_loaded(void)
{
    return load_status == 0;
}
