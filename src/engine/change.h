/* Changing a namespace: the writer's side of the clock page protocol
 * (change.c; clockpage.c says why it is built this way). */
#ifndef TW_CHANGE_H
#define TW_CHANGE_H

#include "clockmath.h"
#include "engine.h"

/* A change (DESIGN section 2) of the page `pg`.  `fd`: the page's
 * file, for the writers' claims (-1: the caller is the page's only writer);
 * `caller`: the page of the namespace the caller is in (null: the host), for
 * --offset, --monotonic and --boottime. */
int tw_page_change(struct tw_page *pg, int fd, const struct tw_host *h,
		   const struct tw_change *c, const struct tw_page *caller,
		   enum tw_refusal *refusal);
/* The caller's clocks at host instants `host`, as a change at that instant keeps
 * them (the caller may be the namespace being changed: tw_map_kept), and the
 * caller's rate; the host's own when `caller` is null. */
void tw_caller_lines(const struct tw_page *caller, const int64_t host[TW_NLINES],
		     int64_t ref[TW_NLINES], uint64_t *rate);

#endif
