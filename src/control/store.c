/* Where namespaces live (DESIGN section 3):
 *
 *     $XDG_RUNTIME_DIR/timewarp/         else /run/user/UID/timewarp, else (root)
 *                                        /run/timewarp, else /tmp/timewarp-UID; 0700
 *         ci                             a name: the same file as its clock page
 *         @run-4242.0                    an anonymous namespace of `timewarp run`
 *         ~pages/3f2a9c0d5e6b7a81        a clock page, 0600
 *         ~pages/9b0c4d1e2f3a4b5c-4242.run  a page of `timewarp run` (pid 4242)
 *         ~collect/9b0c4d1e2f3a4b5c-4242.run  what the collector looks at
 *
 * A name is a hard link to its clock page, and members find the page by its
 * path in ~pages (TIMEWARP_NS).  So `rm` takes the name away while running
 * members, and the children they start later, keep their namespace; the page
 * itself goes when nothing has it open or mapped any more (collect.c).
 *
 * What may become garbage has a link in ~collect as well: the page of every
 * `timewarp run` (named with the pid of the run, which became its command), a
 * page rm took the name of, and a page being written ("new-PID-N").  So a
 * command looks at those alone, and a store of many named namespaces costs it
 * nothing.  '~' and '@' are not name characters: pages, anonymous entries and
 * names never collide.
 *
 * The store is its user's alone, root's included: the directory, ~pages and
 * ~collect must be directories of the caller (the effective uid) with mode
 * 0700, never symbolic links, reached only through directories of root or the
 * caller that nobody else may write into (a sticky one like /tmp excepted).
 * /tmp is shared, and anyone could have made /tmp/timewarp-0 first.  All store
 * work then goes through the directory descriptors opened and checked here,
 * so nothing swapped in on the way afterwards is followed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"

#define PAGE_ID_LEN 16
#define RUN_SUFFIX ".run"

int tw_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n < 1 || n > 64 || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789._-") == n;
}

int tw_entry_valid(const char *name)
{
	return tw_name_valid(name[0] == '@' ? name + 1 : name);
}

static int is_page_id(const char *s, size_t len)
{
	return len == PAGE_ID_LEN && strspn(s, "0123456789abcdef") >= PAGE_ID_LEN;
}

/* "-PID.run" */
static pid_t run_suffix_pid(const char *s)
{
	char *end;
	long pid;

	if (s[0] != '-' || s[1] < '1' || s[1] > '9')
		return 0;
	pid = strtol(s + 1, &end, 10);
	return strcmp(end, RUN_SUFFIX) || pid > INT32_MAX ? 0 : (pid_t)pid;
}

pid_t tw_pagefile_pid(const char *name)
{
	return strlen(name) > PAGE_ID_LEN && is_page_id(name, PAGE_ID_LEN) ?
		       run_suffix_pid(name + PAGE_ID_LEN) : 0;
}

enum tw_pagefile tw_pagefile_kind(const char *name)
{
	size_t n = strlen(name);

	if (!strncmp(name, "gone-", 5))
		return tw_pagefile_kind(name + 5) == TW_PAGEFILE_OTHER ? TW_PAGEFILE_OTHER
								       : TW_PAGEFILE_GONE;
	if (!strncmp(name, "new-", 4))
		return TW_PAGEFILE_NEW;
	if (is_page_id(name, n))
		return TW_PAGEFILE_LASTING;
	if (tw_pagefile_pid(name))
		return TW_PAGEFILE_RUN;
	return TW_PAGEFILE_OTHER;
}

/* ---- opening the store --------------------------------------------------- */

/* Inside a user namespace a file whose owner has no uid there shows the
 * overflow uid (65534): root's /tmp and /run among them.  Such an owner cannot
 * be told from another, and a directory of it on the way to the store is taken
 * like one of root's. */
static int unmapped(uid_t owner)
{
	unsigned long inside, outside, count;
	unsigned overflow = 65534;
	int identity = 0;
	FILE *f;

	if ((f = fopen("/proc/self/uid_map", "re"))) {
		identity = fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3 && !inside &&
			   !outside && count == 4294967295UL;
		fclose(f);
	}
	if (identity)
		return 0;
	if ((f = fopen("/proc/sys/kernel/overflowuid", "re"))) {
		if (fscanf(f, "%u", &overflow) != 1)
			overflow = 65534;
		fclose(f);
	}
	return owner == overflow;
}

/* A directory on the way to the store: root's or the caller's, and nobody
 * else may put something in it, unless it is sticky (/tmp). */
static int check_ancestor(int fd, const char *path)
{
	uid_t uid = geteuid();
	struct stat st;

	if (fstat(fd, &st))
		return tw_fail(errno, path);
	if (st.st_uid != 0 && st.st_uid != uid && unmapped(st.st_uid))
		st.st_uid = 0;
	if (st.st_uid != 0 && st.st_uid != uid && uid)
		return tw_refuse(EPERM, "%s: owned by uid %u, must be owned by root or uid %u",
				 path, (unsigned)st.st_uid, (unsigned)uid);
	if (st.st_uid != 0 && !uid)
		return tw_refuse(EPERM, "%s: owned by uid %u, must be owned by root", path,
				 (unsigned)st.st_uid);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		return tw_refuse(EPERM, "%s: mode %04o, must not be writable by others (or be "
				 "sticky, like /tmp)", path, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* The directory `path` (absolute), opened one component at a time without
 * following a symbolic link, each one checked.  A link on the way is resolved
 * first (realpath); one put there after that is refused, not followed.  Its
 * real path goes to `real`. */
static int open_safe_path(const char *path, char *real)
{
	char *p, *slash;
	int fd, next;

	if (!realpath(path, real))
		return tw_fail(errno, path);
	if ((fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return tw_fail(errno, "/");
	for (p = real + 1; *p; p = slash ? slash + 1 : p + strlen(p)) {
		int r;

		if ((slash = strchr(p, '/')))
			*slash = 0;
		next = openat(fd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		r = next < 0 ? tw_fail(errno, real) : check_ancestor(next, real);
		if (slash)
			*slash = '/';
		if (r) {
			if (next >= 0)
				close(next);
			return r;
		}
		fd = next;
	}
	if (check_ancestor(fd, real)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* Whether st may be one of the store's own directories: the caller's, mode
 * 0700, a directory: 0 or -errno with the reason. */
static int check_own(const struct stat *st, const char *path)
{
	unsigned uid = (unsigned)geteuid();

	if (!S_ISDIR(st->st_mode))
		return tw_refuse(ENOTDIR, "%s: %s, must be a directory with mode 0700 owned by uid %u",
				 path, S_ISLNK(st->st_mode) ? "a symbolic link" : "not a directory",
				 uid);
	if (st->st_uid != uid)
		return tw_refuse(EPERM, "%s: owned by uid %u, must be 0700 and owned by uid %u", path,
				 (unsigned)st->st_uid, uid);
	if ((st->st_mode & 07777) != 0700)
		return tw_refuse(EPERM, "%s: mode %04o, must be 0700 and owned by uid %u", path,
				 (unsigned)(st->st_mode & 07777), uid);
	return 0;
}

/* One of the store's own directories, `name` in `at` (at `path`), created
 * when missing if `create`, and checked (check_own).  The descriptor, or
 * -errno (-ENOENT quietly when missing and not to be created). */
static int own_dir(int at, const char *name, const char *path, int create)
{
	int fd, made = 0, r;
	struct stat st;

	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (!create)
			return -ENOENT;
		if (!mkdirat(at, name, 0700))
			made = 1;
		else if (errno != EEXIST)
			return tw_fail(errno, path);
		fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		/* a link, a file, someone else's directory: say which */
		int e = errno;
		if (!fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) && (r = check_own(&st, path)))
			return r;
		return tw_fail(e, path);
	}
	/* a umask may have taken bits mkdir asked for */
	if (made && !fstat(fd, &st) && st.st_uid == geteuid())
		fchmod(fd, 0700);
	if (fstat(fd, &st))
		r = tw_fail(errno, path);
	else
		r = check_own(&st, path);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

/* The store as `leaf` in directory `base`.  `optional`: a place that may be
 * missing or read-only here, and the next one is tried (-EAGAIN). */
static int open_at(struct tw_store *s, const char *base, const char *leaf, int create,
		   int optional)
{
	char real[PATH_MAX], sub[PATH_MAX + 16];
	int bfd = open_safe_path(base, real), r;

	if (bfd < 0)
		return optional && bfd == -ENOENT ? -EAGAIN : bfd;
	if (snprintf(s->path, sizeof(s->path), "%s%s%s", real, strcmp(real, "/") ? "/" : "",
		     leaf) >= (int)sizeof(s->path)) {
		close(bfd);
		return tw_fail(ENAMETOOLONG, real);
	}
	if (optional && faccessat(bfd, ".", W_OK, AT_EACCESS) &&
	    faccessat(bfd, leaf, F_OK, AT_SYMLINK_NOFOLLOW)) {
		close(bfd); /* nowhere to make it, and not made before */
		return -EAGAIN;
	}
	s->dir = own_dir(bfd, leaf, s->path, create);
	close(bfd);
	if (s->dir < 0)
		return s->dir;
	snprintf(sub, sizeof(sub), "%s/" TW_PAGES, s->path);
	if ((s->pages = own_dir(s->dir, TW_PAGES, sub, create)) < 0) {
		r = s->pages;
		tw_store_close(s);
		return r;
	}
	snprintf(sub, sizeof(sub), "%s/" TW_COLLECT, s->path);
	if ((s->collect = own_dir(s->dir, TW_COLLECT, sub, create)) < 0) {
		r = s->collect;
		tw_store_close(s);
		return r;
	}
	return 0;
}

int tw_store_open(struct tw_store *s, int create)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	unsigned uid = (unsigned)geteuid();
	char base[64], leaf[32];
	struct stat st;
	int r;

	s->dir = s->pages = s->collect = -1;
	s->path[0] = 0;
	tw_why_clear();
	if (xdg && xdg[0] == '/')
		return open_at(s, xdg, "timewarp", create, 0);
	snprintf(base, sizeof(base), "/run/user/%u", uid);
	if (!stat(base, &st) && S_ISDIR(st.st_mode))
		return open_at(s, base, "timewarp", create, 0);
	/* root's own place before a world-writable one */
	if (uid == 0 && (r = open_at(s, "/run", "timewarp", create, 1)) != -EAGAIN)
		return r;
	snprintf(leaf, sizeof(leaf), "timewarp-%u", uid);
	return open_at(s, "/tmp", leaf, create, 0);
}

void tw_store_close(struct tw_store *s)
{
	if (s->collect >= 0)
		close(s->collect);
	if (s->pages >= 0)
		close(s->pages);
	if (s->dir >= 0)
		close(s->dir);
	s->dir = s->pages = s->collect = -1;
}

int tw_dir(char *buf, size_t n)
{
	struct tw_store s;
	int r = tw_store_open(&s, 1);

	snprintf(buf, n, "%s", s.path);
	tw_store_close(&s);
	return r;
}

/* ---- pages --------------------------------------------------------------- */

int tw_store_new_page(struct tw_store *s, char *tmp, size_t n)
{
	static unsigned serial;
	int fd, r;

	do {
		snprintf(tmp, n, "new-%d-%u", (int)getpid(),
			 __atomic_fetch_add(&serial, 1, __ATOMIC_RELAXED));
		fd = openat(s->collect, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	} while (fd < 0 && errno == EEXIST); /* left by a killed process of this pid */
	if (fd < 0)
		return tw_fail(errno, s->path);
	fchmod(fd, 0600); /* whatever the umask */
	/* The page's blocks now, so that a full store is an error here and not a
	 * SIGBUS when the page is written through its mapping. */
	if ((r = posix_fallocate(fd, 0, TW_PAGE_BYTES))) {
		unlinkat(s->collect, tmp, 0);
		close(fd);
		return tw_fail(r, s->path);
	}
	return fd;
}

int tw_store_publish(struct tw_store *s, const char *tmp, struct tw_page *pg, const char *name,
		     int transient)
{
	static unsigned serial;
	uint64_t id;
	int r = 0;

	/* the page under a random id (linkat refuses to replace anything) */
	for (;;) {
		if (getrandom(&id, sizeof(id), 0) != sizeof(id)) {
			r = tw_fail(errno, "getrandom");
			goto out;
		}
		if (transient)
			snprintf(pg->id, sizeof(pg->id), "%016llx-%d" RUN_SUFFIX,
				 (unsigned long long)id, (int)getpid());
		else
			snprintf(pg->id, sizeof(pg->id), "%016llx", (unsigned long long)id);
		if (!linkat(s->collect, tmp, s->pages, pg->id, 0))
			break;
		if (errno != EEXIST) {
			r = tw_fail(errno, s->path);
			goto out;
		}
	}
	/* a run's page stays in ~collect (under its id) for as long as it lives */
	if (transient && linkat(s->collect, tmp, s->collect, pg->id, 0)) {
		r = tw_fail(errno, s->path);
		unlinkat(s->pages, pg->id, 0);
		goto out;
	}
	/* then its entry, atomically: of two creates of one name, one wins */
	for (;;) {
		if (name)
			snprintf(pg->entry, sizeof(pg->entry), "%s", name);
		else
			snprintf(pg->entry, sizeof(pg->entry), "@run-%d.%u", (int)getpid(),
				 __atomic_fetch_add(&serial, 1, __ATOMIC_RELAXED));
		if (!linkat(s->collect, tmp, s->dir, pg->entry, 0))
			break;
		if (errno != EEXIST || name) {
			r = errno == EEXIST ? -EEXIST : tw_fail(errno, s->path);
			unlinkat(s->pages, pg->id, 0);
			if (transient)
				unlinkat(s->collect, pg->id, 0);
			goto out;
		}
	}
out:
	unlinkat(s->collect, tmp, 0);
	return r;
}

int tw_store_mark(struct tw_store *s, const char *id)
{
	return linkat(s->pages, id, s->collect, id, 0) && errno != EEXIST ? -errno : 0;
}

int tw_store_unname(struct tw_store *s, const char *entry, dev_t dev, ino_t ino)
{
	struct stat st;

	if (fstatat(s->dir, entry, &st, AT_SYMLINK_NOFOLLOW))
		return -errno;
	/* only if the entry still is this page: it may have been made again */
	if (st.st_dev != dev || st.st_ino != ino)
		return -ENOENT;
	return unlinkat(s->dir, entry, 0) ? -errno : 0;
}

/* ---- listing ------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void tw_names_free(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}

DIR *tw_store_opendir(int dirfd)
{
	int fd = dup(dirfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d && fd >= 0) {
		int e = errno;
		close(fd);
		errno = e;
	}
	if (d)
		rewinddir(d); /* the descriptor's offset is shared with dirfd's */
	return d;
}

int tw_store_list(int dirfd, int (*keep)(const char *), char ***out)
{
	struct dirent *de;
	char **names = NULL, **grown;
	size_t n = 0;
	DIR *d = tw_store_opendir(dirfd);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!keep(de->d_name))
			continue;
		grown = realloc(names, (n + 2) * sizeof(*names));
		if (!grown)
			goto oom;
		names = grown;
		names[n + 1] = NULL;
		if (!(names[n] = strdup(de->d_name)))
			goto oom;
		n++;
	}
	closedir(d);
	if (!names && !(names = calloc(1, sizeof(*names))))
		return -ENOMEM;
	qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	return (int)n;
oom:
	closedir(d);
	tw_names_free(names);
	return -ENOMEM;
}

int tw_ns_list(char ***names)
{
	struct tw_store s;
	int r = tw_store_open(&s, 1);

	if (r)
		return r;
	tw_store_collect_all(&s);
	r = tw_store_list(s.dir, tw_entry_valid, names);
	if (r < 0)
		tw_fail(-r, s.path);
	tw_store_close(&s);
	return r;
}
