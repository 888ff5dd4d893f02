/* read() of a timerfd armed with TFD_TIMER_CANCEL_ON_SET whose namespace's
 * REALTIME was set: ECANCELED once, as the kernel answers after a set of the
 * host clock (the runtime's timers.c cancels it and keeps the record).  The
 * kernel's read cannot be trapped for timerfds alone, so this is libc's read
 * for dynamically linked programs. */
#include <errno.h>
#include <unistd.h>

#include "preload.h"
#include "runtime.h"

static void *next_read, *next___read_chk;

/* A read of fd that found it cancelled, before or while it waited (the
 * expiry that woke it was the cancellation's). */
static int canceled_read(int fd)
{
	if (tw_member_fast()->page && tw_timerfd_take_cancel(fd)) {
		errno = ECANCELED;
		return 1;
	}
	return 0;
}

TW_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	typedef ssize_t fn(int, void *, size_t);
	ssize_t r;

	if (canceled_read(fd))
		return -1;
	r = TW_NEXT(fn *, read)(fd, buf, n);
	return canceled_read(fd) ? -1 : r;
}

/* read() as _FORTIFY_SOURCE compiles it */
TW_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
TW_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	typedef ssize_t fn(int, void *, size_t, size_t);
	ssize_t r;

	if (canceled_read(fd))
		return -1;
	r = TW_NEXT(fn *, __read_chk)(fd, buf, n, buflen);
	return canceled_read(fd) ? -1 : r;
}
