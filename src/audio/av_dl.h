/* FFmpeg's libraries, loaded on first use instead of at start-up.
 *
 * Debian's libavcodec links about a hundred codec libraries (x264, x265, AV1,
 * VPX, codec2, rsvg, ...) and libavformat another twenty protocol and
 * container libraries: loading them costs ~40 ms and ~19 MiB of resident
 * library pages, which a server that never touches audio should not pay. So
 * the server does not link them: the first audio job dlopen()s libavutil,
 * libswresample, libavcodec and libavformat by the sonames the build was
 * compiled against (so the ABI matches the headers) on a pool thread, and
 * resolves the functions we call into sz_av. This mirrors
 * src/imaging/vips_dl.h.
 *
 * The audio sources include this header instead of the libav headers; the
 * macros below then route every call (avcodec_open2(...)) through the table,
 * and the linker proves that nothing calls libav directly (the binary would
 * not link). Inline helpers of the libav headers that call library functions
 * (av_err2str, av_make_error_string) must not be used for the same reason.
 *
 * Thread: sz_av_load may be called from any thread, any number of times; the
 * first call loads, the rest wait for it and share its outcome. The libraries
 * stay loaded until exit. */
#ifndef SZ_AUDIO_AV_DL_H
#define SZ_AUDIO_AV_DL_H

#include <stddef.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavformat/avio.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/mathematics.h>
#include <libavutil/mem.h>
#include <libavutil/samplefmt.h>
#include <libswresample/swresample.h>

/* X(library, function): every libav function the audio layer calls. */
#define SZ_AV_FUNCS(X)                                                                             \
    X(avutil, avutil_version)                                                                      \
    X(avutil, av_log_set_callback)                                                                 \
    X(avutil, av_log_set_level)                                                                    \
    X(avutil, av_log_format_line2)                                                                 \
    X(avutil, av_strerror)                                                                         \
    X(avutil, av_malloc)                                                                           \
    X(avutil, av_free)                                                                             \
    X(avutil, av_freep)                                                                            \
    X(avutil, av_strdup)                                                                           \
    X(avutil, av_dict_set)                                                                         \
    X(avutil, av_dict_free)                                                                        \
    X(avutil, av_frame_alloc)                                                                      \
    X(avutil, av_frame_free)                                                                       \
    X(avutil, av_frame_unref)                                                                      \
    X(avutil, av_frame_get_buffer)                                                                 \
    X(avutil, av_frame_make_writable)                                                              \
    X(avutil, av_channel_layout_default)                                                           \
    X(avutil, av_channel_layout_copy)                                                              \
    X(avutil, av_channel_layout_uninit)                                                            \
    X(avutil, av_channel_layout_compare)                                                           \
    X(avutil, av_get_bytes_per_sample)                                                             \
    X(avutil, av_sample_fmt_is_planar)                                                             \
    X(avutil, av_samples_alloc_array_and_samples)                                                  \
    X(avutil, av_samples_set_silence)                                                              \
    X(avutil, av_audio_fifo_alloc)                                                                 \
    X(avutil, av_audio_fifo_free)                                                                  \
    X(avutil, av_audio_fifo_write)                                                                 \
    X(avutil, av_audio_fifo_read)                                                                  \
    X(avutil, av_audio_fifo_size)                                                                  \
    X(avutil, av_rescale_q)                                                                        \
    X(swresample, swresample_version)                                                              \
    X(swresample, swr_alloc_set_opts2)                                                             \
    X(swresample, swr_init)                                                                        \
    X(swresample, swr_free)                                                                        \
    X(swresample, swr_convert)                                                                     \
    X(swresample, swr_get_out_samples)                                                             \
    X(avcodec, avcodec_version)                                                                    \
    X(avcodec, avcodec_find_decoder)                                                               \
    X(avcodec, avcodec_find_encoder_by_name)                                                       \
    X(avcodec, avcodec_alloc_context3)                                                             \
    X(avcodec, avcodec_free_context)                                                               \
    X(avcodec, avcodec_parameters_to_context)                                                      \
    X(avcodec, avcodec_parameters_from_context)                                                    \
    X(avcodec, avcodec_open2)                                                                      \
    X(avcodec, avcodec_send_packet)                                                                \
    X(avcodec, avcodec_receive_frame)                                                              \
    X(avcodec, avcodec_send_frame)                                                                 \
    X(avcodec, avcodec_receive_packet)                                                             \
    X(avcodec, avcodec_flush_buffers)                                                              \
    X(avcodec, avcodec_get_name)                                                                   \
    X(avcodec, av_packet_alloc)                                                                    \
    X(avcodec, av_packet_free)                                                                     \
    X(avcodec, av_packet_unref)                                                                    \
    X(avcodec, av_packet_rescale_ts)                                                               \
    X(avformat, avformat_version)                                                                  \
    X(avformat, avformat_alloc_context)                                                            \
    X(avformat, avformat_free_context)                                                             \
    X(avformat, avformat_open_input)                                                               \
    X(avformat, avformat_close_input)                                                              \
    X(avformat, avformat_find_stream_info)                                                         \
    X(avformat, av_find_best_stream)                                                               \
    X(avformat, av_find_input_format)                                                              \
    X(avformat, av_read_frame)                                                                     \
    X(avformat, av_seek_frame)                                                                     \
    X(avformat, avio_alloc_context)                                                                \
    X(avformat, avio_context_free)                                                                 \
    X(avformat, avio_flush)                                                                        \
    X(avformat, avformat_alloc_output_context2)                                                    \
    X(avformat, avformat_new_stream)                                                               \
    X(avformat, avformat_write_header)                                                             \
    X(avformat, av_write_frame)                                                                    \
    X(avformat, av_write_trailer)

/* One pointer per function, typed exactly as libav declares it. */
struct sz_av_api {
#define SZ_AV_MEMBER_(lib, name) __typeof__(&name) name;
    SZ_AV_FUNCS(SZ_AV_MEMBER_)
#undef SZ_AV_MEMBER_
};

extern struct sz_av_api sz_av;

/* Loads the four libraries and fills sz_av (once per process), then checks
 * that their major versions are the ones the headers describe and routes
 * libav's log lines to ours (see audio.c). Returns 0, or SZ_EIO with the
 * reason in err (the same reason on every later call). err may be NULL when
 * errlen is 0. */
int sz_av_load(char *err, size_t errlen);
/* True once sz_av_load has succeeded. Any thread. */
int sz_av_loaded(void);

#ifndef SZ_AV_DL_IMPL
#define SZ_AV_ROUTE_(name)                 (sz_av.name)
#define avutil_version                     SZ_AV_ROUTE_(avutil_version)
#define av_log_set_callback                SZ_AV_ROUTE_(av_log_set_callback)
#define av_log_set_level                   SZ_AV_ROUTE_(av_log_set_level)
#define av_log_format_line2                SZ_AV_ROUTE_(av_log_format_line2)
#define av_strerror                        SZ_AV_ROUTE_(av_strerror)
#define av_malloc                          SZ_AV_ROUTE_(av_malloc)
#define av_free                            SZ_AV_ROUTE_(av_free)
#define av_freep                           SZ_AV_ROUTE_(av_freep)
#define av_strdup                          SZ_AV_ROUTE_(av_strdup)
#define av_dict_set                        SZ_AV_ROUTE_(av_dict_set)
#define av_dict_free                       SZ_AV_ROUTE_(av_dict_free)
#define av_frame_alloc                     SZ_AV_ROUTE_(av_frame_alloc)
#define av_frame_free                      SZ_AV_ROUTE_(av_frame_free)
#define av_frame_unref                     SZ_AV_ROUTE_(av_frame_unref)
#define av_frame_get_buffer                SZ_AV_ROUTE_(av_frame_get_buffer)
#define av_frame_make_writable             SZ_AV_ROUTE_(av_frame_make_writable)
#define av_channel_layout_default          SZ_AV_ROUTE_(av_channel_layout_default)
#define av_channel_layout_copy             SZ_AV_ROUTE_(av_channel_layout_copy)
#define av_channel_layout_uninit           SZ_AV_ROUTE_(av_channel_layout_uninit)
#define av_channel_layout_compare          SZ_AV_ROUTE_(av_channel_layout_compare)
#define av_get_bytes_per_sample            SZ_AV_ROUTE_(av_get_bytes_per_sample)
#define av_sample_fmt_is_planar            SZ_AV_ROUTE_(av_sample_fmt_is_planar)
#define av_samples_alloc_array_and_samples SZ_AV_ROUTE_(av_samples_alloc_array_and_samples)
#define av_samples_set_silence             SZ_AV_ROUTE_(av_samples_set_silence)
#define av_audio_fifo_alloc                SZ_AV_ROUTE_(av_audio_fifo_alloc)
#define av_audio_fifo_free                 SZ_AV_ROUTE_(av_audio_fifo_free)
#define av_audio_fifo_write                SZ_AV_ROUTE_(av_audio_fifo_write)
#define av_audio_fifo_read                 SZ_AV_ROUTE_(av_audio_fifo_read)
#define av_audio_fifo_size                 SZ_AV_ROUTE_(av_audio_fifo_size)
#define av_rescale_q                       SZ_AV_ROUTE_(av_rescale_q)
#define swresample_version                 SZ_AV_ROUTE_(swresample_version)
#define swr_alloc_set_opts2                SZ_AV_ROUTE_(swr_alloc_set_opts2)
#define swr_init                           SZ_AV_ROUTE_(swr_init)
#define swr_free                           SZ_AV_ROUTE_(swr_free)
#define swr_convert                        SZ_AV_ROUTE_(swr_convert)
#define swr_get_out_samples                SZ_AV_ROUTE_(swr_get_out_samples)
#define avcodec_version                    SZ_AV_ROUTE_(avcodec_version)
#define avcodec_find_decoder               SZ_AV_ROUTE_(avcodec_find_decoder)
#define avcodec_find_encoder_by_name       SZ_AV_ROUTE_(avcodec_find_encoder_by_name)
#define avcodec_alloc_context3             SZ_AV_ROUTE_(avcodec_alloc_context3)
#define avcodec_free_context               SZ_AV_ROUTE_(avcodec_free_context)
#define avcodec_parameters_to_context      SZ_AV_ROUTE_(avcodec_parameters_to_context)
#define avcodec_parameters_from_context    SZ_AV_ROUTE_(avcodec_parameters_from_context)
#define avcodec_open2                      SZ_AV_ROUTE_(avcodec_open2)
#define avcodec_send_packet                SZ_AV_ROUTE_(avcodec_send_packet)
#define avcodec_receive_frame              SZ_AV_ROUTE_(avcodec_receive_frame)
#define avcodec_send_frame                 SZ_AV_ROUTE_(avcodec_send_frame)
#define avcodec_receive_packet             SZ_AV_ROUTE_(avcodec_receive_packet)
#define avcodec_flush_buffers              SZ_AV_ROUTE_(avcodec_flush_buffers)
#define avcodec_get_name                   SZ_AV_ROUTE_(avcodec_get_name)
#define av_packet_alloc                    SZ_AV_ROUTE_(av_packet_alloc)
#define av_packet_free                     SZ_AV_ROUTE_(av_packet_free)
#define av_packet_unref                    SZ_AV_ROUTE_(av_packet_unref)
#define av_packet_rescale_ts               SZ_AV_ROUTE_(av_packet_rescale_ts)
#define avformat_version                   SZ_AV_ROUTE_(avformat_version)
#define avformat_alloc_context             SZ_AV_ROUTE_(avformat_alloc_context)
#define avformat_free_context              SZ_AV_ROUTE_(avformat_free_context)
#define avformat_open_input                SZ_AV_ROUTE_(avformat_open_input)
#define avformat_close_input               SZ_AV_ROUTE_(avformat_close_input)
#define avformat_find_stream_info          SZ_AV_ROUTE_(avformat_find_stream_info)
#define av_find_best_stream                SZ_AV_ROUTE_(av_find_best_stream)
#define av_find_input_format               SZ_AV_ROUTE_(av_find_input_format)
#define av_read_frame                      SZ_AV_ROUTE_(av_read_frame)
#define av_seek_frame                      SZ_AV_ROUTE_(av_seek_frame)
#define avio_alloc_context                 SZ_AV_ROUTE_(avio_alloc_context)
#define avio_context_free                  SZ_AV_ROUTE_(avio_context_free)
#define avio_flush                         SZ_AV_ROUTE_(avio_flush)
#define avformat_alloc_output_context2     SZ_AV_ROUTE_(avformat_alloc_output_context2)
#define avformat_new_stream                SZ_AV_ROUTE_(avformat_new_stream)
#define avformat_write_header              SZ_AV_ROUTE_(avformat_write_header)
#define av_write_frame                     SZ_AV_ROUTE_(av_write_frame)
#define av_write_trailer                   SZ_AV_ROUTE_(av_write_trailer)
#endif

#endif
