/* Inside the control library: the handle, and what the CLI and the preload
 * library share with it beyond the public header. */
#ifndef TW_CONTROL_H
#define TW_CONTROL_H

#include <limits.h>
#include <sys/types.h>

#include "engine.h"
#include "timewarp.h"

struct tw_ns {
	int fd;
	int writable;          /* opened read-write: may change it */
	struct tw_page *page;  /* mapped read-write when writable */
	dev_t dev;             /* identity of the page file, to find members */
	ino_t ino;
	char path[PATH_MAX];   /* the clock page */
	char link[PATH_MAX + 80]; /* the name that led to it, "" when opened by path */
};

/* store.c: the namespaces directory's layout (names are links to pages) */
int tw_store_resolve(const char *dir, const char *name, char *page, size_t n);
int tw_store_new_page(const char *dir, char *tmp, size_t n);
int tw_store_publish(const char *dir, const char *tmp, const char *name, char *page,
		     size_t page_n, char *link, size_t link_n);
int tw_store_unname(const char *link, const char *page);
void tw_store_collect(const char *dir, size_t least);

/* members.c: every clock page mapping of every other process, one scan */
int tw_scan_page_mappings(void (*seen)(dev_t dev, ino_t ino, void *arg), void *arg);

/* How the control library reads host time: the real vDSO found at start-up.  The
 * preload library hands over the host vDSO it found before any rewriting of the
 * auxiliary vector. */
const struct tw_host *tw_control_host(void);
void tw_control_set_host(const struct tw_host *h);

#endif
