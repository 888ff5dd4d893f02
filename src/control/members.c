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

/* Calls seen() for every clock page mapping of every process but this one (which
 * maps pages only to look at them). */
static int each_process(int (*found)(const struct mapping *, void *), void *arg,
			void (*member)(pid_t, void *))
{
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid == getpid())
			continue;
		if (each_mapping((pid_t)pid, found, arg) == 1 && member)
			member((pid_t)pid, arg);
	}
	closedir(d);
	return 0;
}

struct members {
	const struct tw_ns *ns;
	pid_t *pids;
	size_t max;
	int n;
};

static int is_page(const struct mapping *m, void *arg)
{
	const struct tw_ns *ns = ((struct members *)arg)->ns;
	return m->ino == ns->ino && makedev(m->maj, m->min) == ns->dev;
}

static void count_member(pid_t pid, void *arg)
{
	struct members *ms = arg;

	if ((size_t)ms->n < ms->max)
		ms->pids[ms->n] = pid;
	ms->n++;
}

int tw_ns_members(const struct tw_ns *ns, pid_t *pids, size_t max)
{
	struct members ms = { ns, pids, max, 0 };
	int r = each_process(is_page, &ms, count_member);

	return r < 0 ? r : ms.n;
}

struct scan {
	void (*seen)(dev_t, ino_t, void *);
	void *arg;
};

static int report(const struct mapping *m, void *arg)
{
	struct scan *sc = arg;

	sc->seen(makedev(m->maj, m->min), m->ino, sc->arg);
	return 0;
}

int tw_scan_page_mappings(void (*seen)(dev_t dev, ino_t ino, void *arg), void *arg)
{
	struct scan sc = { seen, arg };

	return each_process(report, &sc, NULL);
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
	int r = each_mapping(pid, page_path, &path);

	if (r < 0)
		return r;
	if (r == 0)
		return -ESRCH;
	/* The namespace was removed while this member runs on. */
	len = strlen(path);
	if (len > 10 && !strcmp(path + len - 10, " (deleted)")) {
		free(path);
		return -ENOENT;
	}
	r = tw_ns_open_path(path, out);
	free(path);
	return r;
}
