/* libvips, loaded on first use instead of at start-up.
 *
 * Linking libvips pulls about a hundred shared libraries into the process
 * (cairo, pango, poppler's friends, HDF5 through matio, ...): their relocation
 * alone took over half of the server's spawn-to-initialize time, and their
 * pages were most of its idle RSS, although most sessions never touch an
 * image. So the server does not link libvips: the first image job dlopen()s it
 * on a pool thread and resolves the few functions we call into img_vips.
 *
 * imaging.c includes this header after <vips/vips.h>; the macros below then
 * route every call (vips_resize(...)) through the table, and the linker
 * proves that nothing calls libvips directly (the binary would not link).
 *
 * Thread: img_vips_load may be called from any thread, any number of times;
 * the first call loads, the rest wait for it and share its outcome. */
#ifndef SZ_IMAGING_VIPS_DL_H
#define SZ_IMAGING_VIPS_DL_H

#include <stddef.h>
#include <vips/vips.h>

#define IMG_VIPS_FUNCS(X)                                                                          \
    X(vips_init)                                                                                   \
    X(vips_version)                                                                                \
    X(vips_shutdown)                                                                               \
    X(vips_error_buffer)                                                                           \
    X(vips_error_buffer_copy)                                                                      \
    X(vips_error_clear)                                                                            \
    X(vips_cache_set_max)                                                                          \
    X(vips_cache_set_max_mem)                                                                      \
    X(vips_cache_set_max_files)                                                                    \
    X(vips_concurrency_set)                                                                        \
    X(vips_block_untrusted_set)                                                                    \
    X(vips_operation_block_set)                                                                    \
    X(vips_add_option_entries)                                                                     \
    X(vips_source_new_from_descriptor)                                                             \
    X(vips_image_get_width)                                                                        \
    X(vips_image_get_height)                                                                       \
    X(vips_image_get_orientation_swap)                                                             \
    X(vips_image_hasalpha)                                                                         \
    X(vips_image_get_typeof)                                                                       \
    X(vips_image_get_int)                                                                          \
    X(vips_image_get_string)                                                                       \
    X(vips_bandjoin)                                                                               \
    X(vips_cast_uchar)                                                                             \
    X(vips_colourspace)                                                                            \
    X(vips_extract_area)                                                                           \
    X(vips_image_new)                                                                              \
    X(vips_image_pipelinev)                                                                        \
    X(vips_image_generate)                                                                         \
    X(vips_image_set_area)                                                                         \
    X(vips_region_prepare)                                                                         \
    X(vips_region_region)                                                                          \
    X(vips_start_one)                                                                              \
    X(vips_stop_one)                                                                               \
    X(vips_extract_band)                                                                           \
    X(vips_flatten)                                                                                \
    X(vips_gravity)                                                                                \
    X(vips_resize)                                                                                 \
    X(vips_shrinkh)                                                                                \
    X(vips_shrinkv)                                                                                \
    X(vips_jpegload_buffer)                                                                        \
    X(vips_jpegload_source)                                                                        \
    X(vips_pngload_buffer)                                                                         \
    X(vips_pngload_source)                                                                         \
    X(vips_webpload_buffer)                                                                        \
    X(vips_webpload_source)                                                                        \
    X(vips_pngsave_buffer)                                                                         \
    X(vips_thumbnail)                                                                              \
    X(vips_thumbnail_buffer)                                                                       \
    X(vips_thumbnail_image)                                                                        \
    X(vips_thumbnail_source)                                                                       \
    X(g_free)                                                                                      \
    X(g_log_set_handler)                                                                           \
    X(g_option_context_new)                                                                        \
    X(g_option_context_free)                                                                       \
    X(g_option_context_parse)                                                                      \
    X(g_option_context_set_main_group)                                                             \
    X(g_option_group_new)                                                                          \
    X(g_error_free)                                                                                \
    X(g_object_unref)                                                                              \
    X(g_object_ref)

/* One pointer per function, typed exactly as libvips declares it. */
struct img_vips_api {
#define IMG_VIPS_MEMBER_(name) __typeof__(&name) name;
    IMG_VIPS_FUNCS(IMG_VIPS_MEMBER_)
#undef IMG_VIPS_MEMBER_
};

extern struct img_vips_api img_vips;

/* Loads libvips and fills img_vips (once per process). Returns 0, or SZ_EIO
 * with the reason in err (the same reason on every later call). */
int img_vips_load(char *err, size_t errlen);
/* True once img_vips_load has succeeded. */
int img_vips_loaded(void);

#ifndef IMG_VIPS_DL_IMPL
#define IMG_VIPS_ROUTE_(name)           (img_vips.name)
#define vips_init                       IMG_VIPS_ROUTE_(vips_init)
#define vips_version                    IMG_VIPS_ROUTE_(vips_version)
#define vips_shutdown                   IMG_VIPS_ROUTE_(vips_shutdown)
#define vips_error_buffer               IMG_VIPS_ROUTE_(vips_error_buffer)
#define vips_error_buffer_copy          IMG_VIPS_ROUTE_(vips_error_buffer_copy)
#define vips_error_clear                IMG_VIPS_ROUTE_(vips_error_clear)
#define vips_cache_set_max              IMG_VIPS_ROUTE_(vips_cache_set_max)
#define vips_cache_set_max_mem          IMG_VIPS_ROUTE_(vips_cache_set_max_mem)
#define vips_cache_set_max_files        IMG_VIPS_ROUTE_(vips_cache_set_max_files)
#define vips_concurrency_set            IMG_VIPS_ROUTE_(vips_concurrency_set)
#define vips_block_untrusted_set        IMG_VIPS_ROUTE_(vips_block_untrusted_set)
#define vips_operation_block_set        IMG_VIPS_ROUTE_(vips_operation_block_set)
#define vips_add_option_entries         IMG_VIPS_ROUTE_(vips_add_option_entries)
#define vips_source_new_from_descriptor IMG_VIPS_ROUTE_(vips_source_new_from_descriptor)
#define vips_image_get_width            IMG_VIPS_ROUTE_(vips_image_get_width)
#define vips_image_get_height           IMG_VIPS_ROUTE_(vips_image_get_height)
#define vips_image_get_orientation_swap IMG_VIPS_ROUTE_(vips_image_get_orientation_swap)
#define vips_image_hasalpha             IMG_VIPS_ROUTE_(vips_image_hasalpha)
#define vips_image_get_typeof           IMG_VIPS_ROUTE_(vips_image_get_typeof)
#define vips_image_get_int              IMG_VIPS_ROUTE_(vips_image_get_int)
#define vips_image_get_string           IMG_VIPS_ROUTE_(vips_image_get_string)
#define vips_bandjoin                   IMG_VIPS_ROUTE_(vips_bandjoin)
#define vips_cast_uchar                 IMG_VIPS_ROUTE_(vips_cast_uchar)
#define vips_colourspace                IMG_VIPS_ROUTE_(vips_colourspace)
#define vips_extract_area               IMG_VIPS_ROUTE_(vips_extract_area)
#define vips_image_new                  IMG_VIPS_ROUTE_(vips_image_new)
#define vips_image_pipelinev            IMG_VIPS_ROUTE_(vips_image_pipelinev)
#define vips_image_generate             IMG_VIPS_ROUTE_(vips_image_generate)
#define vips_image_set_area             IMG_VIPS_ROUTE_(vips_image_set_area)
#define vips_region_prepare             IMG_VIPS_ROUTE_(vips_region_prepare)
#define vips_region_region              IMG_VIPS_ROUTE_(vips_region_region)
#define vips_start_one                  IMG_VIPS_ROUTE_(vips_start_one)
#define vips_stop_one                   IMG_VIPS_ROUTE_(vips_stop_one)
#define vips_extract_band               IMG_VIPS_ROUTE_(vips_extract_band)
#define vips_flatten                    IMG_VIPS_ROUTE_(vips_flatten)
#define vips_gravity                    IMG_VIPS_ROUTE_(vips_gravity)
#define vips_resize                     IMG_VIPS_ROUTE_(vips_resize)
#define vips_shrinkh                    IMG_VIPS_ROUTE_(vips_shrinkh)
#define vips_shrinkv                    IMG_VIPS_ROUTE_(vips_shrinkv)
#define vips_jpegload_buffer            IMG_VIPS_ROUTE_(vips_jpegload_buffer)
#define vips_jpegload_source            IMG_VIPS_ROUTE_(vips_jpegload_source)
#define vips_pngload_buffer             IMG_VIPS_ROUTE_(vips_pngload_buffer)
#define vips_pngload_source             IMG_VIPS_ROUTE_(vips_pngload_source)
#define vips_webpload_buffer            IMG_VIPS_ROUTE_(vips_webpload_buffer)
#define vips_webpload_source            IMG_VIPS_ROUTE_(vips_webpload_source)
#define vips_pngsave_buffer             IMG_VIPS_ROUTE_(vips_pngsave_buffer)
#define vips_thumbnail                  IMG_VIPS_ROUTE_(vips_thumbnail)
#define vips_thumbnail_buffer           IMG_VIPS_ROUTE_(vips_thumbnail_buffer)
#define vips_thumbnail_image            IMG_VIPS_ROUTE_(vips_thumbnail_image)
#define vips_thumbnail_source           IMG_VIPS_ROUTE_(vips_thumbnail_source)
#define g_free                          IMG_VIPS_ROUTE_(g_free)
#define g_log_set_handler               IMG_VIPS_ROUTE_(g_log_set_handler)
#define g_option_context_new            IMG_VIPS_ROUTE_(g_option_context_new)
#define g_option_context_free           IMG_VIPS_ROUTE_(g_option_context_free)
#define g_option_context_parse          IMG_VIPS_ROUTE_(g_option_context_parse)
#define g_option_context_set_main_group IMG_VIPS_ROUTE_(g_option_context_set_main_group)
#define g_option_group_new              IMG_VIPS_ROUTE_(g_option_group_new)
#define g_error_free                    IMG_VIPS_ROUTE_(g_error_free)
#define g_object_unref                  IMG_VIPS_ROUTE_(g_object_unref)
/* GLib defines g_object_ref as a macro that keeps the argument's type. */
#undef g_object_ref
#define g_object_ref IMG_VIPS_ROUTE_(g_object_ref)
#endif

#endif
