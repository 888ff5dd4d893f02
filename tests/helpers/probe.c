/* tw-probe: calls each interposed libc time entry point on its own, so the
 * black-box tests can check every one of them under timewarp.
 *
 *   tw-probe read
 *       one line per reading, `NAME SECONDS.NANOSECONDS` (always nine digits:
 *       a microsecond interface prints its value times 1000), or `NAME ERRNAME`
 *       when the call fails.
 *   tw-probe settime HOW SECONDS
 *       HOW: clock_settime, settimeofday, stime (absolute: the clock is set to
 *       SECONDS), adjtimex_setoffset, clock_adjtime_setoffset, adjtime
 *       (relative: the clock moves by SECONDS).  Prints `ok` or the errno name.
 *   tw-probe settime-clock CLOCKNAME SECONDS
 *       clock_settime on CLOCKNAME (MONOTONIC, BOOTTIME, TAI, ...): ok or errno name.
 *   tw-probe adjtimex-mode HEXMODES
 *       adjtimex with these modes and the current values read back first (so
 *       e.g. 0x2, ADJ_FREQUENCY, keeps the frequency): ok or errno name.
 *   tw-probe spawn HOW -- CMD [ARG...]
 *       starts CMD through HOW with an empty environment (or, for an interface
 *       without an envp, after clearenv()), waits, relays its output and exit
 *       status.  HOW: fork-execve fork-execv fork-execvp fork-execvpe fork-execl
 *       fork-execlp fork-execle vfork-execve posix_spawn posix_spawnp system
 *       popen fexecve execveat.
 *
 * The clock-setting subcommands refuse to run outside a timewarp namespace
 * (TIMEWARP_NS unset) unless TW_PROBE_HOST=1: a root user must not step the
 * host's clock by accident.
 *
 * Exit status: 0 when the call was made and reported (also an errno name),
 * 2 on bad usage, 1 on an unexpected failure (with a message on stderr);
 * spawn exits with CMD's status (128+N for signal N). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOCK_TAI
#define CLOCK_TAI 11
#endif

extern char **environ;

/* <sys/timeb.h> left glibc's headers; ftime and its ABI remain. */
struct timeb {
	time_t time;
	unsigned short millitm;
	short timezone;
	short dstflag;
};
extern int ftime(struct timeb *tb);

static const char *prog = "tw-probe";

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...);
static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

__attribute__((noreturn)) static void usage(void)
{
	fprintf(stderr,
		"usage: %s read\n"
		"       %s settime clock_settime|settimeofday|stime|adjtimex_setoffset|"
		"clock_adjtime_setoffset|adjtime SECONDS\n"
		"       %s settime-clock CLOCKNAME SECONDS\n"
		"       %s adjtimex-mode HEXMODES\n"
		"       %s spawn HOW -- CMD [ARG...]\n",
		prog, prog, prog, prog, prog);
	exit(2);
}

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);
	static char buf[32];

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

static const struct {
	const char *name;
	clockid_t id;
} clocks[] = {
	{ "REALTIME", CLOCK_REALTIME },
	{ "REALTIME_COARSE", CLOCK_REALTIME_COARSE },
	{ "REALTIME_ALARM", CLOCK_REALTIME_ALARM },
	{ "TAI", CLOCK_TAI },
	{ "MONOTONIC", CLOCK_MONOTONIC },
	{ "MONOTONIC_COARSE", CLOCK_MONOTONIC_COARSE },
	{ "MONOTONIC_RAW", CLOCK_MONOTONIC_RAW },
	{ "BOOTTIME", CLOCK_BOOTTIME },
	{ "BOOTTIME_ALARM", CLOCK_BOOTTIME_ALARM },
	{ "PROCESS_CPUTIME_ID", CLOCK_PROCESS_CPUTIME_ID },
	{ "THREAD_CPUTIME_ID", CLOCK_THREAD_CPUTIME_ID },
};

static clockid_t clock_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++)
		if (!strcmp(clocks[i].name, name))
			return clocks[i].id;
	fprintf(stderr, "%s: unknown clock %s\n", prog, name);
	usage();
}

/* `NAME SECONDS.NANOSECONDS`; negative values as -S.N with S.N the magnitude. */
static void put(const char *name, int64_t sec, int64_t nsec)
{
	const char *sign = "";

	if (sec < 0 && nsec > 0) { /* normalised negative: -1 + 0.5 = -0.5 */
		sec = -sec - 1;
		nsec = 1000000000 - nsec;
		sign = "-";
	} else if (sec < 0) {
		sec = -sec;
		sign = "-";
	}
	printf("%s %s%lld.%09lld\n", name, sign, (long long)sec, (long long)nsec);
}

static void put_err(const char *name, int e)
{
	printf("%s %s\n", name, errname(e));
}

/* An NTP timeval: tv_usec holds nanoseconds when the kernel reports STA_NANO. */
static void put_ntp(const char *name, const struct timeval *tv, int status)
{
	put(name, tv->tv_sec, (status & STA_NANO) ? tv->tv_usec : tv->tv_usec * 1000);
}

static int cmd_read(void)
{
	struct timespec ts;
	struct timeval tv;
	struct timeb tb;
	struct timex tx;
	struct ntptimeval ntv;
	int (*plain_ntp_gettime)(struct ntptimeval *);
	time_t t;
	int status = 0, r;

	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		if (clock_gettime(clocks[i].id, &ts))
			put_err(clocks[i].name, errno);
		else
			put(clocks[i].name, ts.tv_sec, ts.tv_nsec);
	}

	if (gettimeofday(&tv, NULL))
		put_err("gettimeofday", errno);
	else
		put("gettimeofday", tv.tv_sec, (int64_t)tv.tv_usec * 1000);

	errno = 0;
	t = time(NULL);
	if (t == (time_t)-1 && errno)
		put_err("time", errno);
	else
		put("time", t, 0);

	memset(&ts, 0, sizeof(ts));
	if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
		put_err("timespec_get", errno ? errno : EINVAL);
	else
		put("timespec_get", ts.tv_sec, ts.tv_nsec);

	if (ftime(&tb))
		put_err("ftime", errno);
	else
		put("ftime", tb.time, (int64_t)tb.millitm * 1000000);

	/* adjtimex first: its status says whether NTP timevals hold nanoseconds */
	memset(&tx, 0, sizeof(tx));
	tx.modes = 0;
	r = adjtimex(&tx);
	if (r < 0) {
		put_err("adjtimex", errno);
	} else {
		status = tx.status;
		put_ntp("adjtimex", &tx.time, status);
	}

	/* <sys/timex.h> turns the name ntp_gettime into ntp_gettimex: look up
	 * the plain symbol as an old binary would bind it. */
	plain_ntp_gettime = (int (*)(struct ntptimeval *))dlsym(RTLD_DEFAULT, "ntp_gettime");
	if (!plain_ntp_gettime)
		die("dlsym ntp_gettime: %s", dlerror());
	memset(&ntv, 0, sizeof(ntv));
	if (plain_ntp_gettime(&ntv) < 0)
		put_err("ntp_gettime", errno);
	else
		put_ntp("ntp_gettime", &ntv.time, status);

	memset(&ntv, 0, sizeof(ntv));
	if (ntp_gettimex(&ntv) < 0)
		put_err("ntp_gettimex", errno);
	else
		put_ntp("ntp_gettimex", &ntv.time, status);

	if (clock_getres(CLOCK_REALTIME, &ts))
		put_err("getres_REALTIME", errno);
	else
		put("getres_REALTIME", ts.tv_sec, ts.tv_nsec);
	if (clock_getres(CLOCK_MONOTONIC, &ts))
		put_err("getres_MONOTONIC", errno);
	else
		put("getres_MONOTONIC", ts.tv_sec, ts.tv_nsec);

	return fflush(stdout) ? 1 : 0;
}

/* SECONDS: [+-]S[.FRACTION], into a normalised (sec, nsec >= 0) pair. */
static void parse_seconds(const char *s, int64_t *sec, int64_t *nsec)
{
	const char *p = s;
	int neg = 0, digits = 0;
	int64_t whole = 0, frac = 0, scale = 100000000;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (; *p >= '0' && *p <= '9'; p++, digits++)
		if (__builtin_mul_overflow(whole, 10, &whole) ||
		    __builtin_add_overflow(whole, *p - '0', &whole))
			goto bad;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	if (*p || !digits)
		goto bad;
	if (neg && frac) {
		*sec = -whole - 1;
		*nsec = 1000000000 - frac;
	} else {
		*sec = neg ? -whole : whole;
		*nsec = frac;
	}
	return;
bad:
	fprintf(stderr, "%s: bad SECONDS: %s\n", prog, s);
	usage();
}

static void in_namespace_only(void)
{
	const char *ns = getenv("TIMEWARP_NS"), *host = getenv("TW_PROBE_HOST");

	if ((!ns || !*ns) && !(host && !strcmp(host, "1")))
		die("refusing to set clocks outside a timewarp namespace (TIMEWARP_NS is unset;"
		    " TW_PROBE_HOST=1 overrides)");
}

static int report(int r)
{
	if (r < 0)
		printf("%s\n", errname(errno));
	else
		printf("ok\n");
	return fflush(stdout) ? 1 : 0;
}

static int cmd_settime(const char *how, const char *arg)
{
	int64_t sec, nsec;
	struct timespec ts;
	struct timeval tv;
	struct timex tx;

	parse_seconds(arg, &sec, &nsec);
	in_namespace_only();
	errno = 0;
	if (!strcmp(how, "clock_settime")) {
		ts.tv_sec = sec;
		ts.tv_nsec = nsec;
		return report(clock_settime(CLOCK_REALTIME, &ts));
	}
	if (!strcmp(how, "settimeofday")) {
		tv.tv_sec = sec;
		tv.tv_usec = nsec / 1000;
		return report(settimeofday(&tv, NULL));
	}
	if (!strcmp(how, "stime")) {
		/* gone from the headers and a compat-only symbol in glibc: the
		 * unversioned lookup finds an interposer's, the versioned one libc's */
		int (*f)(const time_t *) = (int (*)(const time_t *))dlsym(RTLD_DEFAULT, "stime");
		time_t t = sec;

		if (!f)
			f = (int (*)(const time_t *))dlvsym(RTLD_DEFAULT, "stime", "GLIBC_2.2.5");
		if (!f)
			die("no stime symbol: %s", dlerror());
		return report(f(&t));
	}
	if (!strcmp(how, "adjtimex_setoffset") || !strcmp(how, "clock_adjtime_setoffset")) {
		memset(&tx, 0, sizeof(tx));
		tx.modes = ADJ_SETOFFSET | ADJ_NANO;
		tx.time.tv_sec = sec;
		tx.time.tv_usec = nsec; /* nanoseconds with ADJ_NANO */
		if (how[0] == 'a')
			return report(adjtimex(&tx));
		return report(clock_adjtime(CLOCK_REALTIME, &tx));
	}
	if (!strcmp(how, "adjtime")) {
		tv.tv_sec = sec;
		tv.tv_usec = nsec / 1000;
		return report(adjtime(&tv, NULL));
	}
	fprintf(stderr, "%s: unknown settime HOW %s\n", prog, how);
	usage();
}

static int cmd_settime_clock(const char *name, const char *arg)
{
	clockid_t clk = clock_by_name(name);
	int64_t sec, nsec;
	struct timespec ts;

	parse_seconds(arg, &sec, &nsec);
	in_namespace_only();
	ts.tv_sec = sec;
	ts.tv_nsec = nsec;
	errno = 0;
	return report(clock_settime(clk, &ts));
}

static int cmd_adjtimex_mode(const char *arg)
{
	struct timex tx;
	unsigned long modes;
	char *end;

	errno = 0;
	modes = strtoul(arg, &end, 16);
	if (errno || *end || end == arg || modes > 0xffffffffUL)
		usage();
	in_namespace_only();
	/* read the current values, then write them back under `modes` */
	memset(&tx, 0, sizeof(tx));
	if (adjtimex(&tx) < 0)
		die("adjtimex (read): %s", strerror(errno));
	tx.modes = (unsigned)modes;
	errno = 0;
	return report(adjtimex(&tx));
}

/* ---- spawn ---- */

/* CMD's path through PATH (as the shell would find it), for the interfaces
 * that take a path; CMD itself when it has a slash. */
static const char *resolve(const char *cmd)
{
	static char buf[PATH_MAX];
	const char *path = getenv("PATH"), *p;

	if (strchr(cmd, '/'))
		return cmd;
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p;) {
		size_t len = strcspn(p, ":");
		int n = snprintf(buf, sizeof(buf), "%.*s%s%s", (int)len, p, len ? "/" : "", cmd);

		if (n > 0 && (size_t)n < sizeof(buf) && !access(buf, X_OK))
			return buf;
		p += len;
		p += strspn(p, ":");
	}
	die("%s: not found in PATH", cmd);
}

/* The command line for system() and popen(): every argument single-quoted. */
static char *shell_line(char *const argv[])
{
	size_t n = 1;
	char *s, *q;

	for (int i = 0; argv[i]; i++) {
		n += 3;
		for (const char *c = argv[i]; *c; c++)
			n += *c == '\'' ? 4 : 1;
	}
	if (!(s = q = malloc(n)))
		die("out of memory");
	for (int i = 0; argv[i]; i++) {
		if (i)
			*q++ = ' ';
		*q++ = '\'';
		for (const char *c = argv[i]; *c; c++) {
			if (*c == '\'') {
				memcpy(q, "'\\''", 4);
				q += 4;
			} else {
				*q++ = *c;
			}
		}
		*q++ = '\'';
	}
	*q = 0;
	return s;
}

/* A wait status as an exit status: the child's, or 128+N for signal N. */
static int relay(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

static int wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	return relay(st);
}

#define MAX_LIST_ARGS 8

/* The execl family in the child after fork, with the argument list spelled out
 * (execle finds the environment after the list's terminating null). */
static void child_execl(const char *how, const char *path, char *const argv[], int argc)
{
	char *const empty_env[] = { NULL };
	char *a[MAX_LIST_ARGS + 1] = { 0 };

	if (argc > MAX_LIST_ARGS)
		die("%s: at most %d arguments", how, MAX_LIST_ARGS);
	for (int i = 0; i < argc; i++)
		a[i] = argv[i];
	if (!strcmp(how, "fork-execl")) {
		clearenv();
		execl(path, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], (char *)NULL);
	} else if (!strcmp(how, "fork-execlp")) {
		clearenv(); /* PATH gone: libc's default search path */
		execlp(path, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], (char *)NULL);
	} else {
		switch (argc) {
#define L(...) execle(path, __VA_ARGS__, (char *)NULL, empty_env); break
		case 1: L(a[0]);
		case 2: L(a[0], a[1]);
		case 3: L(a[0], a[1], a[2]);
		case 4: L(a[0], a[1], a[2], a[3]);
		case 5: L(a[0], a[1], a[2], a[3], a[4]);
		case 6: L(a[0], a[1], a[2], a[3], a[4], a[5]);
		case 7: L(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
		default: L(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
#undef L
		}
	}
}

static int cmd_spawn(const char *how, char *const argv[], int argc)
{
	char *const empty_env[] = { NULL };
	const char *path = resolve(argv[0]);
	pid_t pid;
	int r, fd;

	fflush(stdout);
	fflush(stderr);

	if (!strcmp(how, "posix_spawn") || !strcmp(how, "posix_spawnp")) {
		if (how[11] == 'p')
			r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, empty_env);
		else
			r = posix_spawn(&pid, path, NULL, NULL, argv, empty_env);
		if (r)
			die("%s %s: %s", how, argv[0], strerror(r));
		return wait_child(pid);
	}
	if (!strcmp(how, "system")) {
		char *line = shell_line(argv);

		clearenv();
		r = system(line);
		if (r < 0)
			die("system: %s", strerror(errno));
		return relay(r);
	}
	if (!strcmp(how, "popen")) {
		char *line = shell_line(argv), buf[4096];
		FILE *f;
		size_t n;

		clearenv();
		if (!(f = popen(line, "r")))
			die("popen: %s", strerror(errno));
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, stdout);
		fflush(stdout);
		r = pclose(f);
		if (r < 0)
			die("pclose: %s", strerror(errno));
		return relay(r);
	}
	if (!strcmp(how, "vfork-execve")) {
		pid = vfork();
		if (pid < 0)
			die("vfork: %s", strerror(errno));
		if (!pid) {
			execve(path, argv, empty_env);
			_exit(127);
		}
		return wait_child(pid);
	}

	if (strcmp(how, "fork-execve") && strcmp(how, "fork-execv") && strcmp(how, "fork-execvp") &&
	    strcmp(how, "fork-execvpe") && strcmp(how, "fork-execl") && strcmp(how, "fork-execlp") &&
	    strcmp(how, "fork-execle") && strcmp(how, "fexecve") && strcmp(how, "execveat")) {
		fprintf(stderr, "%s: unknown spawn HOW %s\n", prog, how);
		usage();
	}
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid)
		return wait_child(pid);

	/* the child */
	if (!strcmp(how, "fork-execve")) {
		execve(path, argv, empty_env);
	} else if (!strcmp(how, "fork-execv")) {
		clearenv();
		execv(path, argv);
	} else if (!strcmp(how, "fork-execvp")) {
		clearenv(); /* PATH gone: libc's default search path */
		execvp(argv[0], argv);
	} else if (!strcmp(how, "fork-execvpe")) {
		execvpe(argv[0], argv, empty_env); /* searches the caller's PATH */
	} else if (!strcmp(how, "fork-execl") || !strcmp(how, "fork-execle")) {
		child_execl(how, path, argv, argc);
	} else if (!strcmp(how, "fork-execlp")) {
		child_execl(how, argv[0], argv, argc);
	} else if (!strcmp(how, "fexecve")) {
		/* not O_CLOEXEC: a script needs its descriptor after exec */
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "%s: open %s: %s\n", prog, path, strerror(errno));
			_exit(127);
		}
		fexecve(fd, argv, empty_env);
	} else {
		execveat(AT_FDCWD, path, argv, empty_env, 0);
	}
	fprintf(stderr, "%s: %s %s: %s\n", prog, how, argv[0], strerror(errno));
	_exit(127);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "read") && argc == 2)
		return cmd_read();
	if (!strcmp(argv[1], "settime") && argc == 4)
		return cmd_settime(argv[2], argv[3]);
	if (!strcmp(argv[1], "settime-clock") && argc == 4)
		return cmd_settime_clock(argv[2], argv[3]);
	if (!strcmp(argv[1], "adjtimex-mode") && argc == 3)
		return cmd_adjtimex_mode(argv[2]);
	if (!strcmp(argv[1], "spawn") && argc >= 5 && !strcmp(argv[3], "--"))
		return cmd_spawn(argv[2], argv + 4, argc - 4);
	usage();
}
