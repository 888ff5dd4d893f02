/* Whether a process is blocked in a wait, as /proc tells: the benchmark's
 * wake scenario (clockperf.c) and the tests' crowds of waiters
 * (tests/helpers/sleepers.c) wait for every waiter to be in its wait before
 * they change the namespace, so that the change wakes it rather than finds it
 * on its way. */
#ifndef TW_BENCH_BLOCKED_H
#define TW_BENCH_BLOCKED_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* 2 when /proc/PID/syscall says pid's main thread is in ppoll,
 * clock_nanosleep, nanosleep or futex (the ways a sleep is made, served by
 * timewarp's runtime or not); 1 asleep (state S) where that file cannot be
 * read (not allowed, or a kernel without it); 0 not yet. */
static inline int blocked(pid_t pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	long nr;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			nr = strtol(buf, &p, 10);
			if (p == buf)
				return 0; /* "running" */
			return nr == SYS_ppoll || nr == SYS_clock_nanosleep || nr == SYS_nanosleep ||
			       nr == SYS_futex ? 2 : 0;
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return (p = strrchr(buf, ')')) && p[1] == ' ' && p[2] == 'S';
}

#endif
