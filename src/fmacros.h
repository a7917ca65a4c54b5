/* Feature-test macros, included first by every source file so that every
 * translation unit sees the same libc surface (openat2 via syscall, O_TMPFILE,
 * getrandom, memmem). */
#ifndef SZ_FMACROS_H
#define SZ_FMACROS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#endif
