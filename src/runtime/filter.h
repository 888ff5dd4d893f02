/* The seccomp filter of a process tree (filter.c). */
#ifndef TW_FILTER_H
#define TW_FILTER_H

#include <linux/filter.h>

/* Writes the filter into f (room for max instructions): its length, or
 * -ENOSPC. */
long tw_filter_build(struct sock_filter *f, unsigned max);
/* A program's own filter `prog` with the runtime's gate let through ahead of
 * it, into f (room for max instructions): its length, or -ENOSPC. */
long tw_filter_wrap(const struct sock_fprog *prog, struct sock_filter *f, unsigned max);
/* no_new_privs, then the filter on the calling thread (and so on everything
 * it starts, across every exec).  0 or -errno. */
long tw_filter_install(void);

#endif
