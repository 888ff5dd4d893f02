/* Opening a clock page file, the one careful way members and the CLI share.
 *
 * A page is a path someone gave (TIMEWARP_NS, a name in the store, a mapping
 * /proc shows), so it is opened without following a symbolic link (which would
 * join another namespace without a word), without blocking (a FIFO would hang
 * every new member), and used only when it is a regular file of the caller or
 * root, exactly a page long (a short one would kill its readers with SIGBUS).
 *
 * A collector that examines an unused page holds a lease on it for a few
 * microseconds (collect.c); an open in that instant fails with EWOULDBLOCK, or
 * finds the page renamed away for the moment, and is tried again.
 *
 * Runs in a member as it starts (join): system calls and the stack only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "control.h"

static const char *file_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFIFO: return "a FIFO";
	case S_IFLNK: return "a symbolic link";
	case S_IFSOCK: return "a socket";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	}
	return "of an unknown type";
}

int tw_page_stat_check(const struct stat *st, uid_t euid, char *why, size_t n)
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(why, n, "%s, not a clock page", file_type(st->st_mode));
		return -EPROTO;
	}
	if (st->st_uid != euid && st->st_uid != 0) {
		if (euid)
			snprintf(why, n, "owned by uid %u, must be owned by uid %u or root",
				 (unsigned)st->st_uid, (unsigned)euid);
		else
			snprintf(why, n, "owned by uid %u, must be owned by root",
				 (unsigned)st->st_uid);
		return -EPERM;
	}
	if (st->st_size != (off_t)TW_PAGE_BYTES) {
		snprintf(why, n, "%lld bytes long, a clock page is %u", (long long)st->st_size,
			 TW_PAGE_BYTES);
		return -EPROTO;
	}
	return 0;
}

static void pause_a_moment(void)
{
	struct tw_ts ms = { 0, 1000000 };

	/* the host's nanosleep: in a member, nanosleep() is the namespace's */
	tw_host_syscall(tw_control_host(), SYS_nanosleep, (long)&ms, 0, 0, 0, 0, 0);
}

/* One open, read-write when *writable and allowed, else read-only. */
static int open_once(int dirfd, const char *path, int *writable)
{
	int flags = O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, fd = -1;

	if (*writable) {
		fd = openat(dirfd, path, O_RDWR | flags);
		/* EISDIR: a directory opens read-only, and fstat then says what it is */
		if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS || errno == EISDIR))
			*writable = 0;
		else
			return fd;
	}
	return openat(dirfd, path, O_RDONLY | flags);
}

int tw_page_open(int dirfd, const char *path, int *writable, struct stat *st, char *why,
		 size_t n)
{
	int fd, r, leased = 0;

	/* a collector's lease lasts microseconds: a second is generous */
	for (int tries = 0;; tries++) {
		fd = open_once(dirfd, path, writable);
		if (fd >= 0 || tries >= 1000)
			break;
		if (errno == EWOULDBLOCK)
			leased = 1;
		else if (!(errno == ENOENT && leased))
			break;
		pause_a_moment();
	}
	if (fd < 0) {
		r = -errno;
		/* O_NOFOLLOW's ELOOP, a socket's ENXIO: say what is there instead */
		if ((r == -ELOOP || r == -ENXIO) && !fstatat(dirfd, path, st, AT_SYMLINK_NOFOLLOW)) {
			snprintf(why, n, "%s, not a clock page", file_type(st->st_mode));
			return -EPROTO;
		}
		if (r == -EWOULDBLOCK)
			snprintf(why, n, "held by another process for over a second (a lease)");
		else
			snprintf(why, n, "%s", strerror(-r));
		return r;
	}
	if (fstat(fd, st)) {
		r = -errno;
		snprintf(why, n, "%s", strerror(-r));
		close(fd);
		return r;
	}
	if ((r = tw_page_stat_check(st, geteuid(), why, n))) {
		close(fd);
		return r;
	}
	return fd;
}
