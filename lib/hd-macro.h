/* Cleanup attributes and ownership helpers shared by every module. */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)         __attribute__((cleanup(f)))
#define HD_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define HD_UNUSED            __attribute__((unused))
#define HD_ARRAY_SIZE(a)     (sizeof(a) / sizeof((a)[0]))
#define HD_STRINGIFY_(x)     #x
#define HD_STRINGIFY(x)      HD_STRINGIFY_(x)

static inline void hd_freep(void *p)
{
        free(*(void **)p);
}

/* Keeps errno intact so a cleanup never hides the error being reported. */
static inline void hd_closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline void hd_fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}

#define _cleanup_free_   _cleanup_(hd_freep)
#define _cleanup_close_  _cleanup_(hd_closep)
#define _cleanup_fclose_ _cleanup_(hd_fclosep)

/* Hand ownership on: returns the value and leaves the variable empty. */
#define TAKE_PTR(p)                        \
        ({                                 \
                __typeof__(p) _hd_p = (p); \
                (p) = NULL;                \
                _hd_p;                     \
        })

#define TAKE_FD(fd)                \
        ({                         \
                int _hd_fd = (fd); \
                (fd) = -1;         \
                _hd_fd;            \
        })

/* Defines NAMEp(type *) that calls func on a non-NULL value, for _cleanup_(NAMEp). */
#define HD_DEFINE_CLEANUP(type, func)       \
        static inline void func##p(type *p) \
        {                                   \
                if (*p)                     \
                        func(*p);           \
        }
