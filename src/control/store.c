/* Where namespaces live (DESIGN section 3):
 *
 *     $XDG_RUNTIME_DIR/timewarp/        (else /run/user/UID/timewarp, else
 *         ci -> ~pages/3f2a9c0d5e6b7a81      /tmp/timewarp-UID), 0700
 *         @run-4242.0 -> ~pages/...     an anonymous namespace of `timewarp run`
 *         ~pages/3f2a9c0d5e6b7a81       the clock pages, 0600
 *
 * A name is a symbolic link to its clock page, and members find the page by the
 * page's own path.  So `rm` takes the name away while running members, and the
 * children they start later, keep their namespace; the page itself goes when
 * nothing maps it any more.  '~' is not a name character, so pages and names
 * never collide.
 *
 * The directory is checked (owned by the user, mode 0700) before every use, since
 * /tmp is shared and anyone could have made it first.  Root may use any user's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control.h"

#define PAGES "~pages"
#define PAGE_ID_LEN 16

int tw_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n < 1 || n > 64 || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789._-") == n;
}

/* A name ls shows and open accepts: a user's name, or an anonymous '@run-...' */
static int listed_name(const char *name)
{
	return tw_name_valid(name[0] == '@' ? name + 1 : name);
}

static int check_dir(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if ((st.st_uid != geteuid() && geteuid() != 0) || (st.st_mode & 077))
		return -EPERM;
	return 0;
}

static int base_dir(char *buf, size_t n)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int len;

	if (xdg && xdg[0] == '/')
		len = snprintf(buf, n, "%s/timewarp", xdg);
	else if (snprintf(buf, n, "/run/user/%u", (unsigned)geteuid()) > 0 &&
		 !stat(buf, &st) && S_ISDIR(st.st_mode))
		len = snprintf(buf, n, "/run/user/%u/timewarp", (unsigned)geteuid());
	else
		len = snprintf(buf, n, "/tmp/timewarp-%u", (unsigned)geteuid());
	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

int tw_dir(char *buf, size_t n)
{
	int r = base_dir(buf, n);

	if (r)
		return r;
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return check_dir(buf);
}

/* "~pages/<16 hex digits>", as a name's link says */
static int page_link_valid(const char *target)
{
	size_t n = sizeof(PAGES);

	return !strncmp(target, PAGES "/", n) && strlen(target + n) == PAGE_ID_LEN &&
	       strspn(target + n, "0123456789abcdef") == PAGE_ID_LEN;
}

int tw_store_resolve(const char *dir, const char *name, char *page, size_t n)
{
	char link[PATH_MAX], target[64];
	ssize_t len;

	if (!listed_name(name))
		return -EINVAL;
	snprintf(link, sizeof(link), "%s/%s", dir, name);
	len = readlink(link, target, sizeof(target) - 1);
	if (len < 0)
		return errno == EINVAL ? -EPROTO : -errno;
	target[len] = 0;
	if (!page_link_valid(target))
		return -EPROTO;
	return snprintf(page, n, "%s/%s", dir, target) >= (int)n ? -ENAMETOOLONG : 0;
}

int tw_store_new_page(const char *dir, char *tmp, size_t n)
{
	static unsigned serial;
	char pages[PATH_MAX];
	int fd;

	snprintf(pages, sizeof(pages), "%s/" PAGES, dir);
	if (mkdir(pages, 0700) && errno != EEXIST)
		return -errno;
	if (check_dir(pages))
		return -EPERM;
	snprintf(tmp, n, "%s/new-%d-%u", pages, (int)getpid(), serial++);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

int tw_store_publish(const char *dir, const char *tmp, const char *name, char *page,
		     size_t page_n, char *name_path, size_t name_n)
{
	static unsigned serial;
	char target[64];
	uint64_t id;
	int r;

	/* the page under its random id (link(2) refuses to replace anything) */
	for (;;) {
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			return -errno;
		snprintf(target, sizeof(target), PAGES "/%016llx", (unsigned long long)id);
		snprintf(page, page_n, "%s/%s", dir, target);
		if (!link(tmp, page))
			break;
		if (errno != EEXIST)
			return -errno;
	}
	unlink(tmp);
	/* then the name, atomically: two creates of one name, one wins */
	for (;;) {
		if (name)
			snprintf(name_path, name_n, "%s/%s", dir, name);
		else
			snprintf(name_path, name_n, "%s/@run-%d.%u", dir, (int)getpid(), serial++);
		if (!symlink(target, name_path))
			return 0;
		if (errno != EEXIST || name)
			break;
	}
	r = -errno;
	unlink(page);
	return r;
}

int tw_store_unname(const char *link, const char *page)
{
	char target[64];
	const char *slash = strrchr(page, '/');
	ssize_t len = readlink(link, target, sizeof(target) - 1);

	if (len < 0)
		return -errno;
	target[len] = 0;
	/* only if the name still means this page: it may have been made again */
	if (!slash || slash - page < (ptrdiff_t)sizeof(PAGES) ||
	    strcmp(target, slash - (sizeof(PAGES) - 1)))
		return -ENOENT;
	return unlink(link) ? -errno : 0;
}

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

/* The entries of `dir` that pass `keep`, sorted. */
static int list(const char *dir, int (*keep)(const char *), char ***out)
{
	struct dirent *de;
	char **names = NULL, **grown;
	size_t n = 0;
	DIR *d;

	if (!(d = opendir(dir)))
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
	char dir[PATH_MAX];
	int r = tw_dir(dir, sizeof(dir));

	if (r)
		return r;
	tw_store_collect(dir, 1);
	return list(dir, listed_name, names);
}

static int is_page_id(const char *name)
{
	return strlen(name) == PAGE_ID_LEN && strspn(name, "0123456789abcdef") == PAGE_ID_LEN;
}

/* Whether process `pid` is gone; 0 (no pid) never is. */
static int pid_gone(pid_t pid)
{
	return pid != 0 && kill(pid, 0) && errno == ESRCH;
}

static int creator_gone(const struct tw_page *pg)
{
	return pid_gone(pg->creator_pid);
}

struct candidate {
	dev_t dev;
	ino_t ino;
	int mapped;
	char page[PATH_MAX + 32];
	char name[PATH_MAX + 80]; /* its name's link, "" when it has none */
};

struct candidates {
	struct candidate *c;
	size_t n;
};

static void mark_mapped(dev_t dev, ino_t ino, void *arg)
{
	struct candidates *cs = arg;

	for (size_t i = 0; i < cs->n; i++)
		if (cs->c[i].dev == dev && cs->c[i].ino == ino)
			cs->c[i].mapped = 1;
}

/* The pid in an anonymous name "@run-PID.N" (that of the `timewarp run` that
 * made it, which became its command), or 0. */
static pid_t run_name_pid(const char *name)
{
	char *end;
	long pid;

	if (strncmp(name, "@run-", 5))
		return 0;
	pid = strtol(name + 5, &end, 10);
	return *end == '.' && pid > 0 && pid <= INT32_MAX ? (pid_t)pid : 0;
}

/* A page of another layout (an older or newer timewarp) cannot say who made
 * it: it goes if no process maps it, its name (if any) is an anonymous one
 * whose command is gone, and it is a minute old (not one being started). */
static int foreign_page_gone(const char *path, const char *name, struct candidate *c)
{
	struct stat st;

	if (stat(path, &st) || st.st_mtime > time(NULL) - 60)
		return 0;
	if (name[0] && !pid_gone(run_name_pid(strrchr(name, '/') + 1)))
		return 0;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	return 1;
}

/* Namespaces nobody can use any more, cleared away once at least `least` are
 * found (one scan of /proc serves them all):
 * - those of `timewarp run` (transient) whose command has exited: the creator
 *   is gone (run became the command) and no process maps the page;
 * - pages without a name (removed while members ran, or half made) that no
 *   process maps and whose creator is gone;
 * - pages of another layout, as foreign_page_gone says.
 * Every `timewarp run` calls this, so it first counts what might go from the
 * names alone (an @run name's pid, pages beyond the names) and stops there
 * when that is fewer than `least`; then each name is resolved once. */
void tw_store_collect(const char *dir, size_t least)
{
	char pages[PATH_MAX], **names, **ids, (*target)[PATH_MAX + 32] = NULL;
	struct candidates cs = { NULL, 0 };
	int n = list(dir, listed_name, &names), m, listed;
	size_t maybe = 0;

	if (n < 0)
		return;
	snprintf(pages, sizeof(pages), "%s/" PAGES, dir);
	m = listed = list(pages, is_page_id, &ids);
	if (least > 1) {
		for (int i = 0; i < n; i++)
			maybe += (size_t)pid_gone(run_name_pid(names[i]));
		if (m > n)
			maybe += (size_t)(m - n);
		if (maybe < least && m > 0)
			m = 0;
	}
	if (m > 0 && (!(cs.c = calloc((size_t)m, sizeof(*cs.c))) ||
		      (n > 0 && !(target = calloc((size_t)n, sizeof(*target))))))
		m = 0;
	for (int i = 0; i < n && m > 0; i++)
		if (tw_store_resolve(dir, names[i], target[i], sizeof(target[i])))
			target[i][0] = 0;
	for (int j = 0; j < m; j++) {
		struct candidate *c = &cs.c[cs.n];
		struct tw_ns *ns;
		int r;

		snprintf(c->page, sizeof(c->page), "%s/%s", pages, ids[j]);
		c->name[0] = 0;
		for (int i = 0; i < n && !c->name[0]; i++)
			if (!strcmp(target[i], c->page))
				snprintf(c->name, sizeof(c->name), "%s/%s", dir, names[i]);
		c->mapped = 0;
		if ((r = tw_ns_open_path(c->page, &ns))) {
			if (r == -EPROTO && foreign_page_gone(c->page, c->name, c))
				cs.n++;
			continue;
		}
		if (creator_gone(ns->page) && (!c->name[0] || (ns->page->flags & TW_FLAG_RUN))) {
			c->dev = ns->dev;
			c->ino = ns->ino;
			cs.n++;
		}
		tw_ns_close(ns);
	}
	if (cs.n && cs.n >= least && tw_scan_page_mappings(mark_mapped, &cs) >= 0)
		for (size_t i = 0; i < cs.n; i++) {
			if (cs.c[i].mapped)
				continue;
			if (cs.c[i].name[0])
				tw_store_unname(cs.c[i].name, cs.c[i].page);
			unlink(cs.c[i].page);
		}
	free(target);
	free(cs.c);
	if (listed >= 0)
		tw_names_free(ids);
	tw_names_free(names);
}
