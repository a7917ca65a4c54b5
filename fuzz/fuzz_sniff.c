/* Media files as they arrive (uploads named by a client, downloads, images
 * generated upstream): image sniffing and libvips' header decode behind
 * img_probe, the walk over an upload's container (img_check_whole), audio
 * sniffing, and the extension rules. The input is the file; its first line is
 * also tried as a filename. */
#include "fmacros.h"

#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "core/err.h"
#include "imaging/imaging.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* libvips is uninstrumented and loaded once; its one-time allocations
     * are not leaks of ours. */
    return img_init() == 0 ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[1];
    char *copy = fuzz_fields(data, size, '\n', f, 1);
    struct img_info info;
    char err[IMG_ERRMSG_LEN];
    enum img_format fmt = img_sniff(data, size);

    if (copy == NULL)
        return 0;
    (void)audio_sniff(data, size);
    (void)img_filename_matches(f[0], fmt);
    (void)img_format_mime(img_format_from_filename(f[0]));
    if (fmt != IMG_FORMAT_UNKNOWN && img_probe(data, size, &info, err, sizeof err) == 0) {
        if (info.width < 1 || info.height < 1 || info.format != fmt ||
            (long long)info.width * info.height > IMG_MAX_PIXELS)
            abort(); /* the probe's contract */
    }
    err[0] = '\0';
    switch (img_check_whole(data, size, err, sizeof err)) {
    case 0:
        break;
    case SZ_EUNSUPPORTED:
        if (fmt != IMG_FORMAT_UNKNOWN)
            abort(); /* only what does not sniff as PNG, JPEG or WEBP */
        break;
    case SZ_ECORRUPT:
        if (err[0] == '\0')
            abort(); /* a refusal says why */
        break;
    default:
        abort();
    }
    free(copy);
    return 0;
}
