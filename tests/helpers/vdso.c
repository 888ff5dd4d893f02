/* tw-vdso: reads the clocks the way Go's runtime does, through the vDSO that
 * AT_SYSINFO_EHDR names, looked up by symbol (LINUX_2.6), never through libc.
 *
 *     tw-vdso            one line per clock id 0..11 and 99: "ID SEC.NSEC" or
 *                        "ID -ERRNO"; then gettimeofday, time, getres and getcpu
 *     tw-vdso which      "host" or "timewarp": which image AT_SYSINFO_EHDR names */
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>

#include "vdso_lookup.h"

int main(int argc, char **argv)
{
	void *base = (void *)getauxval(AT_SYSINFO_EHDR);
	long (*cg)(long, struct timespec *);
	long (*gtod)(struct timeval *, void *);
	long (*tm)(long *);
	long (*res)(long, struct timespec *);
	long (*cpu)(unsigned *, unsigned *, void *);
	struct timespec ts;
	struct timeval tv;
	unsigned c = 0, n = 0;
	long r;

	if (!base) {
		puts("no vDSO");
		return 1;
	}
	if (argc > 1 && !strcmp(argv[1], "which")) {
		puts(tw_vdso_sym(base, "__tw_vdso_data", NULL) ? "timewarp" : "host");
		return 0;
	}
	cg = (long (*)(long, struct timespec *))tw_vdso_sym(base, "__vdso_clock_gettime", "LINUX_2.6");
	gtod = (long (*)(struct timeval *, void *))tw_vdso_sym(base, "__vdso_gettimeofday", "LINUX_2.6");
	tm = (long (*)(long *))tw_vdso_sym(base, "__vdso_time", "LINUX_2.6");
	res = (long (*)(long, struct timespec *))tw_vdso_sym(base, "__vdso_clock_getres", "LINUX_2.6");
	cpu = (long (*)(unsigned *, unsigned *, void *))tw_vdso_sym(base, "__vdso_getcpu", "LINUX_2.6");
	if (!cg || !gtod || !tm || !res || !cpu) {
		puts("a vDSO symbol is missing");
		return 1;
	}
	for (long id = 0; id <= 12; id++) {
		long clk = id == 12 ? 99 : id;
		if ((r = cg(clk, &ts)))
			printf("%ld %ld\n", clk, r);
		else
			printf("%ld %lld.%09ld\n", clk, (long long)ts.tv_sec, ts.tv_nsec);
	}
	r = gtod(&tv, NULL);
	printf("gettimeofday %ld %lld.%06ld\n", r, (long long)tv.tv_sec, (long)tv.tv_usec);
	printf("time %ld\n", tm(NULL));
	r = res(1, &ts);
	printf("getres %ld %lld.%09ld\n", r, (long long)ts.tv_sec, ts.tv_nsec);
	r = cpu(&c, &n, NULL);
	printf("getcpu %ld %u\n", r, c);
	return 0;
}
