/* Inside the control library: the handle, and what the CLI and the preload
 * library share with it beyond the public header. */
#ifndef TW_CONTROL_H
#define TW_CONTROL_H

#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "engine.h"
#include "timewarp.h"

struct tw_ns {
	int fd;
	int writable;          /* opened read-write: may change it */
	int removed;           /* tw_ns_remove'd: its page goes at close if unused */
	struct tw_page *page;  /* mapped read-write when writable */
	dev_t dev;             /* identity of the page file, to find members */
	ino_t ino;
	char path[PATH_MAX + 64]; /* the clock page, as members find it (TIMEWARP_NS) */
	char entry[80];        /* the store entry that led to it, "" when opened by path */
};

/* why.c: the reason behind a failure, for tw_why().  tw_fail: "WHAT: strerror"
 * (ENOSPC named as such) and -err; tw_refuse: a sentence and -err. */
__attribute__((format(printf, 1, 2))) void tw_set_why(const char *fmt, ...);
__attribute__((format(printf, 1, 0))) void tw_set_whyv(const char *fmt, va_list ap);
void tw_why_clear(void);
int tw_fail(int err, const char *what);
__attribute__((format(printf, 2, 3))) int tw_refuse(int err, const char *fmt, ...);

/* pagefile.c: opening a page file carefully (see there); `why` gets a phrase
 * ("a FIFO, not a clock page").  No allocation: members join with it. */
int tw_page_stat_check(const struct stat *st, uid_t euid, char *why, size_t n);
int tw_page_open(int dirfd, const char *path, int *writable, struct stat *st, char *why,
		 size_t n);

/* store.c: the namespaces directory (names are hard links to pages) */
#define TW_PAGES "~pages"
#define TW_COLLECT "~collect"
struct tw_store {
	int dir;              /* the namespaces directory, opened once and checked */
	int pages;            /* its ~pages folder, likewise */
	int collect;          /* and its ~collect folder */
	char path[PATH_MAX];  /* the directory's real path */
};
/* 0, or -errno with the reason in tw_why(); `create`: make what is missing
 * (else a missing store is -ENOENT). */
int tw_store_open(struct tw_store *s, int create);
void tw_store_close(struct tw_store *s);
/* The files of ~pages and ~collect, by name. */
enum tw_pagefile {
	TW_PAGEFILE_OTHER,   /* not timewarp's: left alone */
	TW_PAGEFILE_LASTING, /* 16 hex digits: a page that lasts until rm */
	TW_PAGEFILE_RUN,     /* the same with "-PID.run": goes once unused */
	TW_PAGEFILE_NEW,     /* ~collect/new-PID-N: being written by its creator */
	TW_PAGEFILE_GONE,    /* ~collect/gone-<page>: being removed by a collector */
};
enum tw_pagefile tw_pagefile_kind(const char *name);
/* The pid in a run's page file name (of the run, which became its command), or 0. */
pid_t tw_pagefile_pid(const char *name);
/* A new page file in ~collect, its space reserved: the descriptor, its name in tmp. */
int tw_store_new_page(struct tw_store *s, char *tmp, size_t n);
/* Links page file tmp, written but for its id and entry (which this fills in),
 * into ~pages (and ~collect when transient) and the store, then removes tmp.
 * -EEXIST when `name` is taken. */
int tw_store_publish(struct tw_store *s, const char *tmp, struct tw_page *pg, const char *name,
		     int transient);
/* Puts page `id` of ~pages in ~collect: for the collector to look at. */
int tw_store_mark(struct tw_store *s, const char *id);
/* Unlinks store entry `entry` if it still is the file dev/ino. */
int tw_store_unname(struct tw_store *s, const char *entry, dev_t dev, ino_t ino);
/* A directory stream of store descriptor dirfd (which stays open), from its
 * start; null with errno. */
DIR *tw_store_opendir(int dirfd);
/* The names in directory dirfd that pass `keep`, sorted. */
int tw_store_list(int dirfd, int (*keep)(const char *), char ***out);

/* collect.c: removing what nobody uses any more.  tw_store_collect: what
 * ~collect holds; tw_store_collect_all: also pages without a name or a mark,
 * whatever left them so (ls, which reads the whole store anyway). */
void tw_store_collect(struct tw_store *s);
void tw_store_collect_all(struct tw_store *s);
/* Entry `file` of ~collect, if nothing has it open or mapped: 1 when removed. */
int tw_store_collect_file(struct tw_store *s, const char *file);
/* The page that was the same file as store entry `entry` (whose name rm took
 * though it was no clock page of this version), on the same terms. */
void tw_store_collect_twin(struct tw_store *s, const struct stat *entry);

/* members.c: every clock page mapping of every other process, one scan */
int tw_scan_page_mappings(void (*seen)(dev_t dev, ino_t ino, void *arg), void *arg);

/* How the control library reads host time: the real vDSO found at start-up.  The
 * preload library hands over the host vDSO it found before any rewriting of the
 * auxiliary vector. */
const struct tw_host *tw_control_host(void);
void tw_control_set_host(const struct tw_host *h);

#endif
