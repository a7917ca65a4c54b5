/* Text and names for the error table in err.h; libuv's own table for the rest. */
#include "fmacros.h"

#include "core/err.h"

#include <uv.h>

const char *sz_strerror(int err)
{
    switch (err) {
    case SZ_OK:
        return "success";
#define SZ_ERR_MSG_(name, msg)                                                                     \
    case SZ_E##name:                                                                               \
        return msg;
        SZ_ERRNO_MAP(SZ_ERR_MSG_)
#undef SZ_ERR_MSG_
    default:
        return uv_strerror(err);
    }
}

const char *sz_errname(int err)
{
    switch (err) {
    case SZ_OK:
        return "OK";
#define SZ_ERR_NAME_(name, msg)                                                                    \
    case SZ_E##name:                                                                               \
        return "SZ_E" #name;
        SZ_ERRNO_MAP(SZ_ERR_NAME_)
#undef SZ_ERR_NAME_
    default:
        return uv_err_name(err);
    }
}
