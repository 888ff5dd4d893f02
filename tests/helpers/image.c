/* tw-image: what a program sees of its clocks and of its own image, built
 * dynamically (tw-image) and statically (tws-image-glibc with gcc -static,
 * tws-image-pie with -static-pie, tws-image-musl with musl-gcc -static), so
 * that the tests can run the same checks on each kind of program.
 *
 *   tw-image read
 *       `NAME SECONDS.NANOSECONDS` for clock_gettime(REALTIME) through libc,
 *       the raw system call, time(), gettimeofday (microseconds times 1000)
 *       and MONOTONIC through libc and raw.
 *   tw-image self
 *       `exe PATH` (readlink /proc/self/exe), `execfn NAME` (AT_EXECFN),
 *       `comm NAME`, `argv0 ARG`, `pid N`, `ppid N`.
 *   tw-image exec [-e] PATH [ARG...]
 *       execv PATH with ARGs (-e: with an environment of PATH only); when
 *       exec fails, prints `exec failed ERRNAME` and exits 3 (the image is
 *       still this one).
 *   tw-image spawn N PATH
 *       posix_spawn PATH N times (each waited for), then prints `vmsize-grew
 *       KB`: how much the process's address space grew meanwhile.
 *   tw-image spin SECONDS
 *       spins SECONDS of CPU time, then prints `wall SECONDS` (REALTIME
 *       elapsed) and `cpu SECONDS`.
 *   tw-image exit N
 *       exits with status N. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void show(const char *name, const struct timespec *ts)
{
	printf("%s %lld.%09ld\n", name, (long long)ts->tv_sec, ts->tv_nsec);
}

static int cmd_read(void)
{
	struct timespec ts;
	struct timeval tv;

	clock_gettime(CLOCK_REALTIME, &ts);
	show("clock_gettime", &ts);
	syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
	show("raw", &ts);
	printf("time %lld\n", (long long)time(NULL));
	gettimeofday(&tv, NULL);
	printf("gettimeofday %lld.%09ld\n", (long long)tv.tv_sec, (long)tv.tv_usec * 1000);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	show("monotonic", &ts);
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	show("raw-monotonic", &ts);
	return 0;
}

static int cmd_self(const char *argv0)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	FILE *f;

	buf[n > 0 ? n : 0] = 0;
	printf("exe %s\n", buf);
	printf("execfn %s\n", execfn ? execfn : "(none)");
	if ((f = fopen("/proc/self/comm", "r")) && fgets(buf, sizeof(buf), f))
		printf("comm %s", buf);
	if (f)
		fclose(f);
	printf("argv0 %s\npid %d\nppid %d\n", argv0, (int)getpid(), (int)getppid());
	return 0;
}

static long vmsize_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static int cmd_spawn(int n, char *path)
{
	char *args[] = { path, NULL };
	long before = vmsize_kb();

	for (int i = 0; i < n; i++) {
		pid_t pid;
		int st, r = posix_spawn(&pid, path, NULL, NULL, args, environ);

		if (r) {
			printf("spawn failed %s\n", strerror(r));
			return 1;
		}
		waitpid(pid, &st, 0);
	}
	printf("vmsize-grew %ld\n", vmsize_kb() - before);
	return 0;
}

static double seconds(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_spin(double want)
{
	double w0 = seconds(CLOCK_REALTIME), c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
	volatile unsigned long x = 0;

	while (seconds(CLOCK_PROCESS_CPUTIME_ID) - c0 < want)
		for (int i = 0; i < 100000; i++)
			x += (unsigned long)i;
	printf("wall %.3f\ncpu %.3f\n", seconds(CLOCK_REALTIME) - w0,
	       seconds(CLOCK_PROCESS_CPUTIME_ID) - c0);
	return 0;
}

static const char *errname(int e)
{
	switch (e) {
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case ENOEXEC: return "ENOEXEC";
	case E2BIG: return "E2BIG";
	case ENOTDIR: return "ENOTDIR";
	case ELOOP: return "ELOOP";
	default: return strerror(e);
	}
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "read";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "read"))
		return cmd_read();
	if (!strcmp(cmd, "self"))
		return cmd_self(argv[0]);
	if (!strcmp(cmd, "exit") && argc == 3)
		return atoi(argv[2]);
	if (!strcmp(cmd, "spawn") && argc == 4)
		return cmd_spawn(atoi(argv[2]), argv[3]);
	if (!strcmp(cmd, "spin") && argc == 3)
		return cmd_spin(atof(argv[2]));
	if (!strcmp(cmd, "exec") && argc > 2) {
		int bare = !strcmp(argv[2], "-e");
		char *only_path[] = { "PATH=/usr/bin:/bin", NULL };

		if (bare && argc < 4)
			goto usage;
		if (bare)
			execve(argv[3], argv + 3, only_path);
		else
			execv(argv[2], argv + 2);
		printf("exec failed %s\n", errname(errno));
		return 3;
	}
usage:
	fprintf(stderr, "usage: %s read | self | exec [-e] PATH [ARG...] | spawn N PATH | "
			"spin SECONDS | exit N\n", argv[0]);
	return 2;
}
