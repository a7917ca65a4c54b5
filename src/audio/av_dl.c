/* The loader behind av_dl.h: dlopen of libavutil, libswresample, libavcodec
 * and libavformat by their sonames (the ones the build was compiled against,
 * so the ABI matches), one dlsym per function in the library that defines it,
 * then a check of each library's major version against its headers. */
#include "fmacros.h"

#define SZ_AV_DL_IMPL 1
#include "audio/av_dl.h"
#include "core/err.h"
#include "core/log.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#ifndef SZ_AVUTIL_SONAME
#define SZ_AVUTIL_SONAME "libavutil.so.57"
#endif
#ifndef SZ_SWRESAMPLE_SONAME
#define SZ_SWRESAMPLE_SONAME "libswresample.so.4"
#endif
#ifndef SZ_AVCODEC_SONAME
#define SZ_AVCODEC_SONAME "libavcodec.so.59"
#endif
#ifndef SZ_AVFORMAT_SONAME
#define SZ_AVFORMAT_SONAME "libavformat.so.59"
#endif

struct sz_av_api sz_av;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
/* Written once inside pthread_once; atomic so sz_av_loaded may read it from
 * threads that never called sz_av_load. */
static atomic_int load_status = SZ_EIO;
static char load_error[256] = "FFmpeg's libraries were not loaded";

/* Handles by library name, in dependency order (each needs the ones before). */
static struct {
    const char *name;
    const char *soname;
    void *handle;
} libs[] = {
    {"avutil", SZ_AVUTIL_SONAME, NULL},
    {"swresample", SZ_SWRESAMPLE_SONAME, NULL},
    {"avcodec", SZ_AVCODEC_SONAME, NULL},
    {"avformat", SZ_AVFORMAT_SONAME, NULL},
};

static void *handle_of(const char *name)
{
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++)
        if (strcmp(libs[i].name, name) == 0)
            return libs[i].handle;
    return NULL;
}

/* Fails when a loaded library's major version is not the one compiled against:
 * the sonames should make this impossible, but a mismatch would corrupt
 * memory (struct layouts differ), so it costs four calls to be sure. */
static int check_versions(void)
{
    static const struct {
        const char *name;
        unsigned header_major;
    } want[] = {
        {"libavutil", LIBAVUTIL_VERSION_MAJOR},
        {"libswresample", LIBSWRESAMPLE_VERSION_MAJOR},
        {"libavcodec", LIBAVCODEC_VERSION_MAJOR},
        {"libavformat", LIBAVFORMAT_VERSION_MAJOR},
    };
    unsigned have[4] = {sz_av.avutil_version() >> 16, sz_av.swresample_version() >> 16,
                        sz_av.avcodec_version() >> 16, sz_av.avformat_version() >> 16};

    for (size_t i = 0; i < 4; i++) {
        if (have[i] != want[i].header_major) {
            snprintf(load_error, sizeof(load_error),
                     "%s has major version %u but sanzaru was built against %u", want[i].name,
                     have[i], want[i].header_major);
            return SZ_EIO;
        }
    }
    return 0;
}

static void load(void)
{
    const char *missing = NULL;
    void *sym;

    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        libs[i].handle = dlopen(libs[i].soname, RTLD_NOW | RTLD_LOCAL);
        if (libs[i].handle == NULL) {
            snprintf(load_error, sizeof(load_error), "Could not load FFmpeg's %s: %s",
                     libs[i].soname, dlerror());
            SZ_ERROR("%s", load_error);
            return; /* what did load stays loaded: unloading half of libav is not worth it */
        }
    }
    /* ISO C has no conversion from void * to a function pointer; copying the
     * representation is what POSIX guarantees to work for dlsym. */
#define SZ_AV_RESOLVE_(lib, name)                                                                  \
    sym = dlsym(handle_of(#lib), #name);                                                           \
    if (sym == NULL && missing == NULL)                                                            \
        missing = #name;                                                                           \
    memcpy(&sz_av.name, &sym, sizeof(sym));
    SZ_AV_FUNCS(SZ_AV_RESOLVE_)
#undef SZ_AV_RESOLVE_
    if (missing != NULL) {
        snprintf(load_error, sizeof(load_error), "FFmpeg's libraries lack %s", missing);
        SZ_ERROR("%s", load_error);
        return;
    }
    if (check_versions() != 0) {
        SZ_ERROR("%s", load_error);
        return;
    }
    load_error[0] = '\0';
    atomic_store(&load_status, 0);
    SZ_DEBUG("loaded %s, %s, %s, %s", SZ_AVUTIL_SONAME, SZ_SWRESAMPLE_SONAME, SZ_AVCODEC_SONAME,
             SZ_AVFORMAT_SONAME);
}

int sz_av_load(char *err, size_t errlen)
{
    pthread_once(&load_once, load);
    int status = atomic_load(&load_status);

    if (status != 0 && err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", load_error);
    return status;
}

int sz_av_loaded(void)
{
    return atomic_load(&load_status) == 0;
}
