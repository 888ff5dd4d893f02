/* vdso_ab: timewarp vDSO images side by side in one process, for A/B work on
 * the engine's hot path (bench/ab drives it).
 *
 *   vdso_ab [--rounds N] [--window TICKS] IMAGE...
 *   vdso_ab [--rounds N] [--window TICKS] --libc
 *
 * Run inside a namespace (`timewarp run ... -- vdso_ab ...`).  Each IMAGE (a
 * build/timewarp-vdso.so) is copied into the process like the preload library
 * copies its own, and given the member's vDSO data: the same clock page, the
 * same host data, so every image reads the same namespace.  The images must
 * share struct tw_vdso_data's layout (src/vdso/vdso.h); the memos and folds an
 * image keeps (struct tw_memo, tw_fold) are its own, zeroed, so builds whose
 * layouts of those differ compare too.  An image whose reading disagrees with
 * the member's own by more than a second is refused.
 *
 * For each clock, rounds of windows of TICKS TSC ticks, one window per image
 * and one for the host's vDSO, in an order that rotates round by round; each
 * image's calls in a window over the host's in the same round, and the median
 * and quartiles of that ratio over the rounds.  Within one process, with the
 * windows interleaved, the machine's drift cancels: two copies of one image
 * agree to about half a percent on the fine clocks (the COARSE clocks, a few
 * nanoseconds a call, to a few percent).  bench/run stays the reference for
 * what a program sees; this is for telling two builds apart.
 *
 * --libc: no images; libc's clock_gettime as a program calls it (the preload
 * library's) against glibc's own in the same process, which still calls the
 * host's vDSO (glibc keeps the pointers it took at start-up, before the
 * preload library pointed AT_SYSINFO_EHDR at the timewarp vDSO).  One build
 * per run: compare builds by their ratios. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <time.h>

#include "bench.h"
#include "vdso.h"
#include "vdso_lookup.h"

#define MAX_IMAGES 8
#define MAX_ROUNDS 1001

typedef long (*cgt_fn)(long, struct tw_ts *);

static void die(const char *what, const char *why)
{
	fprintf(stderr, "vdso_ab: %s: %s\n", what, why);
	exit(1);
}

/* An image's memos and folds: a page of their own, the folds in its second
 * half (this build's layouts are checked; an image's own, 80 bytes a fold
 * since 954a6e8 and before it, are far below) */
#define SLOTS_PAGE 4096
#define FOLDS_AT (SLOTS_PAGE / 2)
_Static_assert(2 * sizeof(struct tw_memo) <= FOLDS_AT &&
		       TW_FOLD_SLOTS * sizeof(struct tw_fold) <= SLOTS_PAGE - FOLDS_AT,
	       "an image's memos and folds fit their halves of a page (load)");

/* Image `path`, mapped and given the member's data `d`. */
static cgt_fn load(const char *path, const struct tw_vdso_data *d)
{
	FILE *f = fopen(path, "rb");
	struct tw_vdso_data *dst;
	unsigned char *base;
	size_t len = 0, size = 1 << 20;

	if (!f)
		die(path, strerror(errno));
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		die(path, strerror(errno));
	len = fread(base, 1, size, f);
	if (ferror(f) || !feof(f))
		die(path, "not readable, or larger than 1 MiB");
	fclose(f);
	if (len < 64 || memcmp(base, "\177ELF", 4))
		die(path, "not an ELF image");
	dst = tw_vdso_sym(base, TW_VDSO_DATA_SYMBOL, "LINUX_2.6");
	if (!dst)
		die(path, "not a timewarp vDSO image (no " TW_VDSO_DATA_SYMBOL ")");
	memcpy(dst, d, sizeof(*dst));
	if (dst->host.memo || dst->host.fold) {
		/* a page of its own, zeroed: no slot matches before the image's
		 * first read makes it */
		char *own = mmap(NULL, SLOTS_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (own == MAP_FAILED)
			die(path, strerror(errno));
		dst->host.memo = dst->host.memo ? (struct tw_memo *)(void *)own : NULL;
		dst->host.fold = dst->host.fold ? (struct tw_fold *)(void *)(own + FOLDS_AT) : NULL;
	}
	if (mprotect(base, size, PROT_READ | PROT_EXEC))
		die(path, strerror(errno));
	return (cgt_fn)tw_vdso_sym(base, "__vdso_clock_gettime", "LINUX_2.6");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static double ratio[MAX_IMAGES][MAX_ROUNDS];
	const void *own = (const void *)getauxval(AT_SYSINFO_EHDR), *host = NULL;
	const struct tw_vdso_data *d;
	cgt_fn fn[MAX_IMAGES + 1];
	long rounds = 31;
	uint64_t window = 26000000; /* 10 ms at 2.6 GHz */
	char line[512];
	FILE *maps;
	int i, n = 0, libc = 0;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--libc"))
			libc = 1;
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--window") && i + 1 < argc)
			window = strtoull(argv[++i], NULL, 10);
		else
			die(argv[i], "unknown option (--rounds N, --window TICKS)");
	}
	if (rounds < 1 || rounds > MAX_ROUNDS)
		die("--rounds", "out of range (1 to 1001)");
	if (window < 1000)
		die("--window", "below 1000 ticks");
	if (libc ? argc - i != 0 : argc - i < 1 || argc - i > MAX_IMAGES)
		die("images", "give 1 to 8 timewarp vDSO images, or --libc and none");
	d = own ? tw_vdso_sym(own, TW_VDSO_DATA_SYMBOL, "LINUX_2.6") : NULL;
	if (!d || d->magic != TW_VDSO_DATA_MAGIC)
		die("this process", "not a member of a timewarp namespace (run it under timewarp run)");
	if (libc) {
		/* glibc's own clock_gettime, and the one a program's calls reach;
		 * called as cgt_fn (clockid_t and long are passed alike, and the
		 * result is not used) */
		void *glibc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
		void *own_libc = glibc ? dlsym(glibc, "clock_gettime") : NULL;

		if (!own_libc)
			die("libc.so.6", "no clock_gettime of glibc's own");
		if (own_libc == (void *)clock_gettime)
			die("clock_gettime", "not interposed (run it under timewarp run)");
		fn[0] = (cgt_fn)(void (*)(void))own_libc;
		fn[1] = (cgt_fn)(void (*)(void))clock_gettime;
		n = 1;
		{
			struct tw_ts a, b;

			fn[0](0, &a);
			fn[1](0, &b);
			fprintf(stderr, "(glibc's own REALTIME: %+lld s from the namespace's)\n",
			       (long long)(a.sec - b.sec));
		}
		goto measure;
	}
	/* the host's vDSO: the kernel's mapping, still there under the member's */
	if (!(maps = fopen("/proc/self/maps", "r")))
		die("/proc/self/maps", strerror(errno));
	while (fgets(line, sizeof(line), maps))
		if (strstr(line, "[vdso]"))
			host = (const void *)(uintptr_t)strtoull(line, NULL, 16);
	fclose(maps);
	if (!host || !(fn[0] = (cgt_fn)tw_vdso_sym(host, "__vdso_clock_gettime", "LINUX_2.6")))
		die("the host's vDSO", "not found");
	for (; i < argc; i++) {
		struct tw_ts a, b;

		fn[++n] = load(argv[i], d);
		if (!fn[n] || fn[n](0, &a) ||
		    ((cgt_fn)tw_vdso_sym(own, "__vdso_clock_gettime", "LINUX_2.6"))(0, &b) ||
		    llabs(a.sec - b.sec) > 1)
			die(argv[i], "does not read the member's REALTIME (another data layout?)");
	}

measure:
	printf("clock");
	for (i = 1; i <= n; i++)
		printf(libc ? "\tlibc: median [q1-q3] x glibc's" : "\timage %d: median [q1-q3] x host", i);
	printf("\n");
	for (size_t c = 0; c < NCLOCKS; c++) {
		for (long r = 0; r < rounds; r++) {
			double count[MAX_IMAGES + 1];
			struct tw_ts ts;

			for (int k = 0; k <= n; k++) {
				int im = (int)((k + r) % (n + 1));
				uint64_t t0 = tsc_start(), calls = 0;

				while (tsc_stop() - t0 < window) {
					for (int j = 0; j < 64; j++)
						fn[im](clocks[c].id, &ts);
					calls += 64;
				}
				count[im] = (double)calls;
			}
			for (i = 1; i <= n; i++)
				ratio[i - 1][r] = count[i] / count[0];
		}
		printf("%s", clocks[c].name);
		for (i = 0; i < n; i++) {
			qsort(ratio[i], (size_t)rounds, sizeof(double), cmp_double);
			printf("\t%.3f [%.3f-%.3f]", ratio[i][rounds / 2], ratio[i][rounds / 4],
			       ratio[i][3 * rounds / 4]);
		}
		printf("\n");
	}
	return 0;
}
