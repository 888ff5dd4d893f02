/* What the runtime needs of libc, written for it: the runtime runs before
 * libc is set up, inside signal handlers, and in programs with no libc. */
#include <asm/unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mman.h>

#include "runtime.h"

void *tw_memcpy(void *d, const void *s, unsigned long n)
{
	unsigned char *a = d;
	const unsigned char *b = s;

	while (n--)
		*a++ = *b++;
	return d;
}

void *tw_memset(void *d, int c, unsigned long n)
{
	unsigned char *a = d;

	while (n--)
		*a++ = (unsigned char)c;
	return d;
}

int tw_memcmp(const void *a, const void *b, unsigned long n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

char *tw_utoa(unsigned long v, char buf[24])
{
	char *p = buf + 23;

	*p = 0;
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10));
	return p;
}

char *tw_cat(char *buf, unsigned long size, const char *const *parts, unsigned n)
{
	unsigned long at = 0;

	for (unsigned i = 0; i < n; i++)
		for (const char *p = parts[i]; *p && at + 1 < size; p++)
			buf[at++] = *p;
	buf[at] = 0;
	return buf;
}

unsigned long tw_strlen(const char *s)
{
	unsigned long n = 0;

	while (s[n])
		n++;
	return n;
}

int tw_strncmp(const char *a, const char *b, unsigned long n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

/* The errors the runtime reports, in words (the rest by number). */
const char *tw_strerror(long err)
{
	switch (err < 0 ? -err : err) {
	case ENOENT: return "No such file or directory";
	case EACCES: return "Permission denied";
	case EPERM: return "Operation not permitted";
	case ENOMEM: return "Cannot allocate memory";
	case EEXIST: return "File exists";
	case ENAMETOOLONG: return "File name too long";
	case EPROTO: return "not a clock page of this timewarp version";
	case EBADMSG: return "its clock page holds values out of range (damaged)";
	case ELOOP: return "a symbolic link, not a clock page";
	case EWOULDBLOCK: return "held by another process for over a second (a lease)";
	case ENXIO: return "not a regular file";
	case EINVAL: return "Invalid argument";
	default: return "unexpected error";
	}
}

static void put(const char *s)
{
	tw_rt_syscall(__NR_write, 2, (long)s, (long)tw_strlen(s), 0, 0, 0);
}

void tw_say(const char *what, const char *why)
{
	/* one write, so that lines of several processes do not interleave */
	char buf[TW_PATH_MAX + 256];
	unsigned long n = 0, l;
	const char *parts[] = { "timewarp: ", what, why ? ": " : "", why ? why : "", "\n" };

	for (unsigned i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		l = tw_strlen(parts[i]);
		if (n + l >= sizeof(buf))
			l = sizeof(buf) - 1 - n;
		tw_memcpy(buf + n, parts[i], l);
		n += l;
	}
	buf[n] = 0;
	put(buf);
}

int32_t tw_getpid(void)
{
	return (int32_t)tw_rt_syscall(__NR_getpid, 0, 0, 0, 0, 0, 0);
}

int tw_chunk_append(void **link, unsigned long bytes)
{
	long fresh = tw_rt_syscall(__NR_mmap, 0, (long)bytes, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *none = 0;

	if (fresh < 0 && fresh > -4096)
		return -1;
	if (!__atomic_compare_exchange_n(link, &none, (void *)fresh, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		tw_rt_syscall(__NR_munmap, fresh, (long)bytes, 0, 0, 0, 0);
	return 0;
}

long tw_read_file(const char *path, char *buf, unsigned long size)
{
	long fd = tw_rt_syscall(__NR_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0, 0), n;

	if (fd < 0)
		return fd;
	n = tw_rt_syscall(__NR_read, fd, (long)buf, (long)size - 1, 0, 0, 0);
	tw_rt_syscall(__NR_close, fd, 0, 0, 0, 0, 0);
	buf[n > 0 ? n : 0] = 0;
	return n;
}

void tw_exit(int status)
{
	for (;;)
		tw_rt_syscall(__NR_exit_group, status, 0, 0, 0, 0, 0);
}
