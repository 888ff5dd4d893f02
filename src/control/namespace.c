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

static int map_fd(int fd, int writable, const char *path, struct tw_ns **out)
{
	struct tw_ns *ns;
	struct stat st;
	void *m;
	int r;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)TW_PAGE_BYTES)
		return -EPROTO;
	m = mmap(NULL, TW_PAGE_BYTES, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	if ((r = (int)tw_page_valid(m))) {
		munmap(m, TW_PAGE_BYTES);
		return r;
	}
	if (!(ns = calloc(1, sizeof(*ns)))) {
		munmap(m, TW_PAGE_BYTES);
		return -ENOMEM;
	}
	ns->fd = fd;
	ns->page = m;
	ns->writable = writable;
	ns->dev = st.st_dev;
	ns->ino = st.st_ino;
	snprintf(ns->path, sizeof(ns->path), "%s", path);
	*out = ns;
	return 0;
}

int tw_ns_open_path(const char *path, struct tw_ns **out)
{
	int writable = 1, r;
	int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS)) {
		writable = 0;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	r = map_fd(fd, writable, path, out);
	if (r)
		close(fd);
	return r;
}

int tw_ns_open(const char *name, struct tw_ns **out)
{
	char dir[PATH_MAX], page[PATH_MAX];
	int r;

	if ((r = tw_dir(dir, sizeof(dir))) || (r = tw_store_resolve(dir, name, page, sizeof(page))) ||
	    (r = tw_ns_open_path(page, out)))
		return r;
	snprintf((*out)->link, sizeof((*out)->link), "%s/%s", dir, name);
	return 0;
}

void tw_ns_close(struct tw_ns *ns)
{
	if (!ns)
		return;
	munmap(ns->page, TW_PAGE_BYTES);
	close(ns->fd);
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

const struct tw_page *tw_ns_page(const struct tw_ns *ns)
{
	return ns->page;
}

int tw_ns_remove(struct tw_ns *ns)
{
	int r = 0;

	if (ns->link[0])
		r = tw_store_unname(ns->link, ns->path);
	/* the page goes now if nothing maps it, else when tw_store_collect finds
	 * it unmapped */
	if (!r && tw_ns_members(ns, NULL, 0) == 0)
		unlink(ns->path);
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

int tw_ns_create(const char *name, int transient, const struct tw_change *c,
		 const struct tw_ns *caller, enum tw_refusal *refusal, struct tw_ns **out)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 80], page[PATH_MAX + 80], link[PATH_MAX + 80];
	int64_t h[TW_NLINES], ref[TW_NLINES];
	struct tw_change cc = *c;
	struct tw_params p;
	struct tw_page *pg;
	uint64_t rate;
	int fd, r;

	*refusal = TW_OK;
	if (name && !tw_name_valid(name))
		return -EINVAL;
	if ((r = tw_dir(dir, sizeof(dir))))
		return r;
	/* a run leaves its namespace behind for collection: gather a few first,
	 * as one scan of /proc serves them all */
	tw_store_collect(dir, transient || !name ? 16 : 1);

	r = (int)tw_host_lines(tw_control_host(), h);
	if (r)
		return r;
	tw_caller_lines(caller ? caller->page : NULL, h, ref, &rate);
	tw_params_init(&p, h, ref, rate);
	cc.creating = 1;
	if ((*refusal = tw_apply(&p, &cc, h, ref)) != TW_OK)
		return -ERANGE;

	/* Filled in under a temporary name and published whole, so nobody opens a
	 * page that is still being written. */
	if ((fd = tw_store_new_page(dir, tmp, sizeof(tmp))) < 0)
		return fd;
	if (ftruncate(fd, TW_PAGE_BYTES)) {
		r = -errno;
		goto fail;
	}
	pg = mmap(NULL, TW_PAGE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (pg == MAP_FAILED) {
		r = -errno;
		goto fail;
	}
	pg->magic = TW_PAGE_MAGIC;
	pg->version = TW_PAGE_VERSION;
	pg->size = sizeof(struct tw_page);
	pg->flags = (name ? 0 : TW_FLAG_ANONYMOUS) | (transient || !name ? TW_FLAG_RUN : 0);
	pg->creator_pid = (int32_t)getpid();
	pg->creator_uid = (uint32_t)geteuid();
	pg->created_host_realtime = h[TW_LINE_REALTIME];
	snprintf(pg->name, sizeof(pg->name), "%s", name ? name : "");
	tw_page_init(pg, &p);
	munmap(pg, TW_PAGE_BYTES);
	close(fd);

	if ((r = tw_store_publish(dir, tmp, name, page, sizeof(page), link, sizeof(link)))) {
		unlink(tmp);
		return r;
	}
	/* mapped through its final path, which /proc/PID/maps then shows */
	if ((r = tw_ns_open_path(page, out))) {
		unlink(link);
		unlink(page);
		return r;
	}
	snprintf((*out)->link, sizeof((*out)->link), "%s", link);
	return 0;
fail:
	unlink(tmp);
	close(fd);
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
