/* The collector: what nobody can use any more is cleared away, at every
 * timewarp command (tw_collect) and when a removed namespace's last handle
 * closes.
 *
 * What goes: the page of a `timewarp run` (with its entry) and a page rm took
 * the name of, once nothing has it open or mapped; a page a killed create left
 * half made, once its creator no longer has it open.  Each has a link in
 * ~collect (store.c), so a command reads that folder, not the whole store; a
 * run's is not even opened while the run (the pid in its name) lives.  Named
 * pages stay until rm.
 *
 * The proof that nothing uses a page is the kernel's: a write lease
 * (F_SETLEASE, F_WRLCK) is granted only to a file's only open file
 * description, and a mapping keeps the description it was made from.  So the
 * lease is refused while any process has the page open or mapped, whoever's it
 * is, whatever pid namespace it is in, dumpable or not: /proc is not read.  A
 * member keeps the page open across exec (the bridge, src/preload/spawn.c)
 * until the new program has mapped it.
 *
 * The lease is held for microseconds: the page is moved out of members' way
 * (~pages/ID to ~collect/gone-ID); if anyone opened it meanwhile (that breaks
 * the lease, and F_GETLEASE says so) it is put back and kept, else its entry
 * and it are unlinked.  An open that meets the lease fails with EWOULDBLOCK
 * and is tried again (pagefile.c).  The kernel tells this process of such an
 * open with SIGURG, which is ignored unless a program handles it.  Where
 * leases are refused (fs.leases-enable=0, a file system without them) nothing
 * is proven and nothing removed.
 *
 * tw_store_collect_all (ls) also finds pages with neither a name nor a mark
 * (a name unlinked by hand, a create killed half way), and those of older
 * timewarps, which named pages with symbolic links and did not keep them open
 * between writing and naming them: such a page (not one of this version) goes
 * when unused, without a name of either kind, and a minute old; an old
 * anonymous entry (a link "@run-PID.N") goes once its process PID is gone and
 * its page is unused. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control.h"

/* Whether nothing but fd has its file open or mapped; if so the lease is
 * held until unlease(). */
static int lease(int fd)
{
	return !fcntl(fd, F_SETSIG, SIGURG) && !fcntl(fd, F_SETLEASE, F_WRLCK);
}

static void unlease(int fd)
{
	fcntl(fd, F_SETLEASE, F_UNLCK);
}

/* Opens file `name` of `at` for the proof: a regular file of the caller. */
static int open_own(int at, const char *name, struct stat *st)
{
	int fd = openat(at, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, st) || !S_ISREG(st->st_mode) || st->st_uid != geteuid()) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Whether process pid may still be running (in this pid namespace or not: one
 * of another is taken for alive, which only keeps its page longer).  This
 * process is a run only until it has exec'd its command, and it collects only
 * before or after that, or when the command could not be run. */
static int alive(pid_t pid)
{
	return pid != getpid() && (!kill(pid, 0) || errno == EPERM);
}

/* Whether `name` of `at` is the file st. */
static int same_file(int at, const char *name, const struct stat *st)
{
	struct stat o;

	return !fstatat(at, name, &o, AT_SYMLINK_NOFOLLOW) && o.st_dev == st->st_dev &&
	       o.st_ino == st->st_ino;
}

/* Entry `f` of ~collect: a page's mark (its id), a page being written
 * ("new-"), one a collector was removing ("gone-ID").  Removes it and what it
 * stands for when nothing uses it: 1 when removed. */
int tw_store_collect_file(struct tw_store *s, const char *f)
{
	enum tw_pagefile k = tw_pagefile_kind(f);
	const char *id = k == TW_PAGEFILE_GONE ? f + 5 : f;
	char gone[64], entry[sizeof(((struct tw_page *)0)->entry)] = "";
	struct tw_page hdr;
	struct stat st;
	int fd, moved = 0, removed = 0;

	if (k == TW_PAGEFILE_OTHER || (k == TW_PAGEFILE_RUN && alive(tw_pagefile_pid(f))))
		return 0;
	if ((fd = open_own(s->collect, f, &st)) < 0)
		return 0;
	if (k != TW_PAGEFILE_NEW && pread(fd, &hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) &&
	    !tw_page_check(&hdr) && tw_pagefile_kind(id) == TW_PAGEFILE_RUN)
		memcpy(entry, hdr.entry, sizeof(entry) - 1);
	if (!lease(fd)) {
		/* a collector that stopped half way: the page is in use, put it back */
		if (k == TW_PAGEFILE_GONE)
			renameat2(s->collect, f, s->pages, id, RENAME_NOREPLACE);
		goto keep;
	}
	snprintf(gone, sizeof(gone), "gone-%s", id);
	if ((k == TW_PAGEFILE_LASTING || k == TW_PAGEFILE_RUN) && same_file(s->pages, id, &st)) {
		if (renameat2(s->pages, id, s->collect, gone, RENAME_NOREPLACE))
			goto unlock;
		moved = 1;
		if (fcntl(fd, F_GETLEASE) != F_WRLCK) {
			/* someone opened it meanwhile: theirs */
			renameat2(s->collect, gone, s->pages, id, RENAME_NOREPLACE);
			goto unlock;
		}
	}
	if (entry[0])
		tw_store_unname(s, entry, st.st_dev, st.st_ino);
	if (moved || k == TW_PAGEFILE_GONE)
		unlinkat(s->collect, gone, 0);
	if (k != TW_PAGEFILE_GONE)
		removed = !unlinkat(s->collect, f, 0);
	else if (same_file(s->collect, id, &st))
		unlinkat(s->collect, id, 0);
	removed |= k == TW_PAGEFILE_GONE;
unlock:
	unlease(fd);
keep:
	close(fd);
	return removed;
}

/* Calls fn for each entry of directory fd (a store descriptor). */
static void each_entry(int fd, void (*fn)(struct tw_store *, const struct dirent *, void *),
		       struct tw_store *s, void *arg)
{
	struct dirent *de;
	DIR *d = tw_store_opendir(fd);

	if (!d)
		return;
	while ((de = readdir(d)))
		fn(s, de, arg);
	closedir(d);
}

static void collect_one(struct tw_store *s, const struct dirent *de, void *arg)
{
	(void)arg;
	tw_store_collect_file(s, de->d_name);
}

void tw_store_collect(struct tw_store *s)
{
	each_entry(s->collect, collect_one, s, NULL);
}

/* ---- the whole store (ls) ------------------------------------------------ */

/* The ids of ~pages that an older timewarp's symbolic links name. */
struct legacy {
	char (*id)[sizeof(((struct tw_page *)0)->id)];
	size_t n;
};

/* The pid in an old anonymous entry "@run-PID.N", or 0. */
static pid_t run_entry_pid(const char *name)
{
	char *end;
	long pid;

	if (strncmp(name, "@run-", 5))
		return 0;
	pid = strtol(name + 5, &end, 10);
	return *end == '.' && pid > 0 && pid <= INT32_MAX ? (pid_t)pid : 0;
}

/* Whether an old anonymous entry can go: its command has gone and nothing has
 * its page open (the lease is let go at once: the page is the next pass's). */
static int legacy_run_gone(struct tw_store *s, const char *entry, const char *id)
{
	pid_t pid = run_entry_pid(entry);
	struct stat st;
	int fd, unused;

	if (!pid || alive(pid) || (fd = open_own(s->pages, id, &st)) < 0)
		return 0;
	unused = lease(fd);
	if (unused)
		unlease(fd);
	close(fd);
	return unused;
}

static void legacy_link(struct tw_store *s, const struct dirent *de, void *arg)
{
	struct legacy *lg = arg;
	char target[64];
	ssize_t len;
	void *grown;

	if (de->d_type != DT_LNK && de->d_type != DT_UNKNOWN)
		return;
	if ((len = readlinkat(s->dir, de->d_name, target, sizeof(target) - 1)) < 0)
		return;
	target[len] = 0;
	if (strncmp(target, TW_PAGES "/", sizeof(TW_PAGES)) ||
	    tw_pagefile_kind(target + sizeof(TW_PAGES)) != TW_PAGEFILE_LASTING)
		return;
	if (legacy_run_gone(s, de->d_name, target + sizeof(TW_PAGES))) {
		unlinkat(s->dir, de->d_name, 0);
		return;
	}
	if (!(grown = realloc(lg->id, (lg->n + 1) * sizeof(*lg->id))))
		return;
	lg->id = grown;
	snprintf(lg->id[lg->n++], sizeof(lg->id[0]), "%.39s", target + sizeof(TW_PAGES));
}

static int legacy_named(const struct legacy *lg, const char *id)
{
	for (size_t i = 0; i < lg->n; i++)
		if (!strcmp(lg->id[i], id))
			return 1;
	return 0;
}

/* A page of ~pages with neither a name nor a mark gets a mark, and the mark
 * its turn; a page of an older timewarp only when no symbolic link names it
 * and it is a minute old. */
static void unmarked(struct tw_store *s, const struct dirent *de, void *arg)
{
	const struct legacy *lg = arg;
	enum tw_pagefile k = tw_pagefile_kind(de->d_name);
	struct tw_page hdr;
	struct stat st;
	int fd, ours;

	if ((k != TW_PAGEFILE_LASTING && k != TW_PAGEFILE_RUN) ||
	    fstatat(s->pages, de->d_name, &st, AT_SYMLINK_NOFOLLOW) || st.st_nlink != 1 ||
	    legacy_named(lg, de->d_name) || (fd = open_own(s->pages, de->d_name, &st)) < 0)
		return;
	ours = pread(fd, &hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) && !tw_page_check(&hdr);
	close(fd);
	if (!ours && st.st_mtime > time(NULL) - 60)
		return;
	if (!tw_store_mark(s, de->d_name))
		tw_store_collect_file(s, de->d_name);
}

void tw_store_collect_all(struct tw_store *s)
{
	struct legacy lg = { NULL, 0 };

	tw_store_collect(s);
	each_entry(s->dir, legacy_link, s, &lg);
	each_entry(s->pages, unmarked, s, &lg);
	free(lg.id);
}

static void twin(struct tw_store *s, const struct dirent *de, void *arg)
{
	if (same_file(s->pages, de->d_name, arg) && !tw_store_mark(s, de->d_name))
		tw_store_collect_file(s, de->d_name);
}

void tw_store_collect_twin(struct tw_store *s, const struct stat *entry)
{
	each_entry(s->pages, twin, s, (void *)entry);
}

void tw_collect(void)
{
	struct tw_store s;

	/* a store that is missing or refused has nothing to collect; the
	 * command that needs it says why */
	if (tw_store_open(&s, 0))
		return;
	tw_store_collect(&s);
	tw_store_close(&s);
	tw_why_clear();
}
