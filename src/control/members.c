/* Members: the processes that map a namespace's clock page, as /proc/PID/maps
 * shows them (the /proc/PID/ns/time of this design). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "control.h"

struct mapping {
	unsigned maj, min;
	unsigned long ino;
	const char *path; /* null when the mapping has none */
};

static int parse_maps_line(char *line, struct mapping *m)
{
	int pos = 0;

	if (sscanf(line, "%*x-%*x %*4s %*x %x:%x %lu %n", &m->maj, &m->min, &m->ino, &pos) < 3)
		return -1;
	line[strcspn(line, "\n")] = 0;
	m->path = line[pos] ? line + pos : NULL;
	return 0;
}

/* Calls found() for each mapping of a clock page (a file in a ~pages folder,
 * see store.c) by process `pid`; stops when it returns non-zero and returns
 * that.  -errno when the maps can't be read. */
static int each_mapping(pid_t pid, int (*found)(const struct mapping *, void *), void *arg)
{
	char path[64], line[4096 + 128];
	FILE *f;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	if (!(f = fopen(path, "re")))
		return -errno;
	while (!r && fgets(line, sizeof(line), f)) {
		struct mapping m;
		/* most lines are not pages: skip them before parsing */
		if (strstr(line, "/~pages/") && !parse_maps_line(line, &m) && m.ino)
			r = found(&m, arg);
	}
	if (!r && ferror(f))
		r = -EIO;
	fclose(f);
	return r;
}

/* One scan of /proc: every (page, process) pair, sorted, so that ls finds the
 * members of each of its namespaces without reading /proc again. */
struct mapper {
	dev_t dev;
	ino_t ino;
	pid_t pid;
};

struct tw_members {
	pid_t pid; /* the process being read */
	struct mapper *m;
	size_t n, cap;
};

static int add_mapper(const struct mapping *mp, void *arg)
{
	struct tw_members *ms = arg;

	if (ms->n == ms->cap) {
		size_t cap = ms->cap ? 2 * ms->cap : 64;
		struct mapper *m = realloc(ms->m, cap * sizeof(*m));
		if (!m)
			return -ENOMEM;
		ms->m = m;
		ms->cap = cap;
	}
	ms->m[ms->n++] = (struct mapper){ makedev(mp->maj, mp->min), (ino_t)mp->ino, ms->pid };
	return 0;
}

static int cmp_mapper(const void *a, const void *b)
{
	const struct mapper *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Every process but this one (which maps pages only to look at them); those
 * whose maps cannot be read (another user's, a non-dumpable one) are not seen. */
int tw_members_scan(struct tw_members **out)
{
	struct tw_members *ms = calloc(1, sizeof(*ms));
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if (!ms || !(d = opendir("/proc"))) {
		free(ms);
		return -errno;
	}
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid == getpid())
			continue;
		ms->pid = (pid_t)pid;
		if (each_mapping(ms->pid, add_mapper, ms) == -ENOMEM) {
			closedir(d);
			tw_members_free(ms);
			return -ENOMEM;
		}
	}
	closedir(d);
	if (ms->n) /* ms->m is null while empty */
		qsort(ms->m, ms->n, sizeof(*ms->m), cmp_mapper);
	/* a process that maps a page twice is one member */
	for (size_t i = 0; i < ms->n; i++)
		if (!n || cmp_mapper(&ms->m[i], &ms->m[n - 1]))
			ms->m[n++] = ms->m[i];
	ms->n = n;
	*out = ms;
	return 0;
}

int tw_members_of(const struct tw_members *ms, const struct tw_ns *ns, pid_t *pids, size_t max)
{
	struct mapper key = { ns->dev, ns->ino, 0 };
	size_t lo = 0, hi = ms->n;
	int n = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_mapper(&ms->m[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < ms->n && ms->m[lo].dev == ns->dev && ms->m[lo].ino == ns->ino; lo++, n++)
		if ((size_t)n < max)
			pids[n] = ms->m[lo].pid;
	return n;
}

void tw_members_free(struct tw_members *ms)
{
	if (!ms)
		return;
	free(ms->m);
	free(ms);
}

int tw_ns_members(const struct tw_ns *ns, pid_t *pids, size_t max)
{
	struct tw_members *ms;
	int r = tw_members_scan(&ms);

	if (r)
		return r;
	r = tw_members_of(ms, ns, pids, max);
	tw_members_free(ms);
	return r;
}

/* A mapping of a clock page: a file in the pages folder of a namespaces
 * directory (see store.c). */
static int page_path(const struct mapping *m, void *arg)
{
	char **out = arg;

	if (!m->path || m->path[0] != '/')
		return 0;
	if (!(*out = strdup(m->path)))
		return -ENOMEM;
	return 1;
}

int tw_ns_open_pid(pid_t pid, struct tw_ns **out)
{
	char *path = NULL;
	size_t len;
	int r;

	tw_why_clear();
	r = each_mapping(pid, page_path, &path);
	if (r == -ENOENT)
		return tw_refuse(ESRCH, "there is no process %d", (int)pid);
	if (r < 0)
		return tw_refuse(-r, "cannot inspect process %d: %s", (int)pid, strerror(-r));
	if (r == 0)
		return tw_refuse(ENODATA, "process %d is not a member of any time namespace",
				 (int)pid);
	/* The namespace was removed while this member runs on. */
	len = strlen(path);
	if (len > 10 && !strcmp(path + len - 10, " (deleted)")) {
		free(path);
		return tw_refuse(ENOENT, "process %d is in a time namespace that was removed",
				 (int)pid);
	}
	r = tw_ns_open_path(path, out);
	free(path);
	return r;
}
