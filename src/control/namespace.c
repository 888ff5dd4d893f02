/* Namespaces as files: create, open, change, remove a clock page. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "change.h"
#include "engine.h"
#include "timewarp.h"
#include "vdso_lookup.h"
#include "../vdso/vdso.h"

/* ---- the host clocks, read past any interposed libc ---------------------- */

static struct tw_host host;
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

static void host_init(void)
{
	const void *vdso = (const void *)getauxval(AT_SYSINFO_EHDR);
	const struct tw_vdso_data *d;

	if (host.clock_gettime)
		return;
	/* In a member (a program that links this library, run inside a
	 * namespace) the auxiliary vector names the timewarp vDSO, whose clocks
	 * are the namespace's: the host's are the ones its data names.  Reading
	 * them through it would return virtual time, and spin for ever inside a
	 * change of the member's own namespace (its page's count odd). */
	d = vdso ? tw_vdso_sym(vdso, TW_VDSO_DATA_SYMBOL, "LINUX_2.6") : NULL;
	if (d && d->magic == TW_VDSO_DATA_MAGIC) {
		host = d->host;
		host.memo = NULL; /* the preload library's, not ours */
		host.fold = NULL;
		return;
	}
	tw_host_init(&host, vdso);
}

const struct tw_host *tw_control_host(void)
{
	pthread_once(&host_once, host_init);
	return &host;
}

void tw_control_set_host(const struct tw_host *h)
{
	host = *h;
	pthread_once(&host_once, host_init);
}

/* ---- handles ------------------------------------------------------------- */

/* A handle on page file fd (checked by tw_page_open), mapped. */
static int map_fd(int fd, int writable, const struct stat *st, const char *path,
		  struct tw_ns **out)
{
	struct tw_ns *ns;
	void *m;
	int r;

	m = mmap(NULL, TW_PAGE_BYTES, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return tw_fail(errno, path);
	if ((r = (int)tw_page_valid(m))) {
		munmap(m, TW_PAGE_BYTES);
		if (r == -EPROTO)
			return tw_refuse(EPROTO, "%s: not a clock page of this timewarp version", path);
		return tw_refuse(EBADMSG, "%s: a damaged clock page (values out of range)", path);
	}
	if (!(ns = calloc(1, sizeof(*ns)))) {
		munmap(m, TW_PAGE_BYTES);
		return tw_fail(ENOMEM, path);
	}
	ns->fd = fd;
	ns->page = m;
	ns->writable = writable;
	ns->dev = st->st_dev;
	ns->ino = st->st_ino;
	snprintf(ns->path, sizeof(ns->path), "%s", path);
	*out = ns;
	return 0;
}

/* Opens page `file` of dirfd carefully and maps it; `path` names it in messages. */
static int open_page(int dirfd, const char *file, const char *path, struct tw_ns **out)
{
	char why[160];
	struct stat st;
	int writable = 1, r;
	int fd = tw_page_open(dirfd, file, &writable, &st, why, sizeof(why));

	if (fd < 0)
		return tw_refuse(-fd, "%s: %s", path, why);
	if ((r = map_fd(fd, writable, &st, path, out)))
		close(fd);
	return r;
}

int tw_ns_open_path(const char *path, struct tw_ns **out)
{
	tw_why_clear();
	return open_page(AT_FDCWD, path, path, out);
}

/* Entry `name` of store s.  Its page must be the file ~pages/ID the page says
 * (which members are given): an entry is only ever a hard link of it. */
static int open_entry(struct tw_store *s, const char *name, struct tw_ns **out)
{
	char path[PATH_MAX + 96];
	struct tw_ns *ns;
	struct stat st;
	int r;

	if (!tw_entry_valid(name))
		return tw_refuse(EINVAL, "invalid namespace name '%s'", name);
	snprintf(path, sizeof(path), "%s/%s", s->path, name);
	if ((r = open_page(s->dir, name, path, &ns))) {
		if (r == -ENOENT)
			tw_refuse(ENOENT, "no namespace named '%s' in %s", name, s->path);
		return r;
	}
	if (tw_pagefile_kind(ns->page->id) == TW_PAGEFILE_OTHER ||
	    fstatat(s->pages, ns->page->id, &st, AT_SYMLINK_NOFOLLOW) || st.st_dev != ns->dev ||
	    st.st_ino != ns->ino) {
		tw_ns_close(ns);
		return tw_refuse(EPROTO, "%s: its clock page is not in %s/" TW_PAGES, path, s->path);
	}
	snprintf(ns->path, sizeof(ns->path), "%s/" TW_PAGES "/%s", s->path, ns->page->id);
	snprintf(ns->entry, sizeof(ns->entry), "%s", name);
	*out = ns;
	return 0;
}

int tw_ns_open(const char *name, struct tw_ns **out)
{
	struct tw_store s;
	int r = tw_store_open(&s, 0);

	if (r == -ENOENT && !tw_why()[0])
		return tw_refuse(ENOENT, "no namespace named '%s' in %s", name, s.path);
	if (!r)
		r = open_entry(&s, name, out);
	tw_store_close(&s);
	return r;
}

void tw_ns_close(struct tw_ns *ns)
{
	const char *id;
	struct tw_store s;

	if (!ns)
		return;
	munmap(ns->page, TW_PAGE_BYTES);
	close(ns->fd);
	/* a removed namespace's page goes now if this was its last user */
	id = strrchr(ns->path, '/');
	if (ns->removed && id && !tw_store_open(&s, 0)) {
		tw_store_collect_file(&s, id + 1);
		tw_store_close(&s);
	}
	free(ns);
}

const char *tw_ns_path(const struct tw_ns *ns)
{
	return ns->path;
}

const char *tw_ns_name(const struct tw_ns *ns)
{
	return ns->page->name;
}

const char *tw_ns_entry(const struct tw_ns *ns)
{
	return ns->entry;
}

const struct tw_page *tw_ns_page(const struct tw_ns *ns)
{
	return ns->page;
}

int tw_ns_remove(struct tw_ns *ns)
{
	struct tw_store s;
	int r;

	tw_why_clear();
	if (!ns->entry[0])
		return tw_refuse(EINVAL, "%s: opened by its path, not by name: only a name can be "
				 "removed", ns->path);
	if ((r = tw_store_open(&s, 0)))
		return r;
	r = tw_store_unname(&s, ns->entry, ns->dev, ns->ino);
	/* the page goes when this handle closes if nothing else uses it, else
	 * when the collector finds it unused */
	if (!r)
		r = tw_store_mark(&s, strrchr(ns->path, '/') + 1);
	tw_store_close(&s);
	if (r == -ENOENT)
		return tw_refuse(ENOENT, "namespace '%s' was removed meanwhile", ns->entry);
	if (r)
		return tw_fail(-r, ns->entry);
	ns->removed = 1;
	return 0;
}

/* rm of an entry that is not a namespace of this version: the entry itself
 * goes if it is a plain file (or an older timewarp's symbolic link) of the
 * caller: unlinking either touches nothing outside the store. */
static int remove_foreign(struct tw_store *s, const char *name, int remove)
{
	struct stat st;

	if (fstatat(s->dir, name, &st, AT_SYMLINK_NOFOLLOW))
		return tw_fail(errno, name);
	if (!(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) || st.st_uid != geteuid())
		return tw_refuse(EPERM, "%s/%s: not a plain file of uid %u, not removed", s->path,
				 name, (unsigned)geteuid());
	if (!remove)
		return 0;
	if (unlinkat(s->dir, name, 0))
		return tw_fail(errno, name);
	if (S_ISREG(st.st_mode) && st.st_nlink > 1)
		tw_store_collect_twin(s, &st);
	return 0;
}

int tw_ns_rm(char *const names[])
{
	struct tw_store s;
	struct tw_ns *ns;
	int r = tw_store_open(&s, 0);

	if (r == -ENOENT && !tw_why()[0])
		return tw_refuse(ENOENT, "no namespace named '%s' in %s", names[0], s.path);
	if (r)
		return r;
	/* every name is checked before any is removed: bad input changes nothing */
	for (char *const *n = names; *n && !r; n++) {
		if (!(r = open_entry(&s, *n, &ns)))
			tw_ns_close(ns);
		else if (r == -EPROTO || r == -EPERM)
			r = remove_foreign(&s, *n, 0);
	}
	for (char *const *n = names; *n && !r; n++) {
		if (!(r = open_entry(&s, *n, &ns))) {
			r = tw_ns_remove(ns);
			tw_ns_close(ns);
		} else if (r == -EPROTO || r == -EPERM) {
			r = remove_foreign(&s, *n, 1);
		}
	}
	tw_store_close(&s);
	return r;
}

static struct tw_ns *caller_ns;
static pthread_once_t caller_once = PTHREAD_ONCE_INIT;

static void open_caller(void)
{
	const char *path = getenv(TW_ENV_PAGE);

	if (path && *path && tw_ns_open_path(path, &caller_ns))
		caller_ns = NULL;
}

const struct tw_ns *tw_caller(void)
{
	pthread_once(&caller_once, open_caller);
	return caller_ns;
}

/* ---- reading ------------------------------------------------------------- */

int tw_ns_now(const struct tw_ns *ns, int64_t h[TW_NLINES], int64_t v[TW_NLINES])
{
	return (int)tw_virtual_lines(ns->page, tw_control_host(), h, v);
}

int tw_ns_gettime(const struct tw_ns *ns, clockid_t clk, struct timespec *ts)
{
	_Static_assert(sizeof(struct timespec) == sizeof(struct tw_ts), "timespec layout");
	return (int)tw_gettime(ns->page, tw_control_host(), clk, (struct tw_ts *)ts);
}

/* ---- creating ------------------------------------------------------------ */

/* The inode of the caller's pid namespace, 0 when /proc cannot say. */
static uint64_t own_pidns(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) ? 0 : (uint64_t)st.st_ino;
}

int tw_ns_create(const char *name, int transient, const struct tw_change *c,
		 const struct tw_ns *caller, enum tw_refusal *refusal, struct tw_ns **out)
{
	char tmp[64], id[sizeof(((struct tw_page *)0)->id)], entry[sizeof(((struct tw_page *)0)->entry)];
	int64_t h[TW_NLINES], ref[TW_NLINES];
	struct tw_change cc = *c;
	struct tw_params p;
	struct tw_store s;
	struct tw_page *pg;
	uint64_t rate;
	int fd, r;

	*refusal = TW_OK;
	tw_why_clear();
	if (name && !tw_name_valid(name))
		return tw_refuse(EINVAL, "invalid namespace name '%s'", name);
	r = (int)tw_host_lines(tw_control_host(), h);
	if (r)
		return tw_fail(-r, "the host clocks");
	tw_caller_lines(caller ? caller->page : NULL, h, ref, &rate);
	tw_params_init(&p, h, ref, rate);
	cc.creating = 1;
	if ((*refusal = tw_apply(&p, &cc, h, ref)) != TW_OK)
		return -ERANGE;
	if ((r = tw_store_open(&s, 1)))
		return r;

	/* Filled in under a temporary name, its space reserved first (a full
	 * store is an error, not a SIGBUS), and published whole, so nobody opens
	 * a page that is still being written. */
	if ((fd = tw_store_new_page(&s, tmp, sizeof(tmp))) < 0) {
		r = fd;
		goto out;
	}
	pg = mmap(NULL, TW_PAGE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (pg == MAP_FAILED) {
		r = tw_fail(errno, s.path);
		unlinkat(s.collect, tmp, 0);
		close(fd);
		goto out;
	}
	pg->magic = TW_PAGE_MAGIC;
	pg->version = TW_PAGE_VERSION;
	pg->size = sizeof(struct tw_page);
	pg->flags = (name ? 0 : TW_FLAG_ANONYMOUS) | (transient || !name ? TW_FLAG_RUN : 0);
	pg->creator_pid = (int32_t)getpid();
	pg->creator_uid = (uint32_t)geteuid();
	pg->creator_pidns = own_pidns();
	pg->created_host_realtime = h[TW_LINE_REALTIME];
	snprintf(pg->name, sizeof(pg->name), "%s", name ? name : "");
	tw_page_init(pg, &p);
	r = tw_store_publish(&s, tmp, pg, name, transient || !name);
	memcpy(id, pg->id, sizeof(id));
	memcpy(entry, pg->entry, sizeof(entry));
	munmap(pg, TW_PAGE_BYTES);
	close(fd);
	if (r == -EEXIST)
		tw_refuse(EEXIST, "a namespace named '%s' already exists in %s", name, s.path);
	if (r)
		goto out;
	/* opened as tw_ns_open would: by its entry, checked against ~pages */
	if ((r = open_entry(&s, entry, out))) {
		unlinkat(s.dir, entry, 0);
		unlinkat(s.pages, id, 0);
		unlinkat(s.collect, id, 0);
	}
out:
	tw_store_close(&s);
	return r;
}

/* ---- changing (the writer's protocol: src/engine/change.c) --------------- */

int tw_ns_change(struct tw_ns *ns, const struct tw_change *c, const struct tw_ns *caller,
		 enum tw_refusal *refusal)
{
	*refusal = TW_OK;
	if (!ns->writable)
		return -EACCES;
	return tw_page_change(ns->page, ns->fd, tw_control_host(), c, caller ? caller->page : NULL,
			      refusal);
}
