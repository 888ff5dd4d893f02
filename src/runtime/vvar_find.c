/* Where the kernel's vDSO data is: the data page ([vvar]) and, on kernels
 * with one (6.13 and later), the clock sources' counter pages
 * ([vvar_vclock]: kvm-clock's pvclock page, then Hyper-V's TSC page).  The
 * engine reads host time there in place (src/engine/vvar.h) once tw_vvar_use
 * has proven the layout. */
#include <asm/unistd.h>
#include <fcntl.h>

#include "runtime.h"

/* /proc/PID/maps's PROCMAP_QUERY ioctl (Linux 6.11, <linux/fs.h>): the
 * mapping at an address, without formatting and scanning the whole file. */
struct procmap_query {
	uint64_t size, query_flags, query_addr, vma_start, vma_end, vma_flags, vma_page_size,
		vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};
_Static_assert(sizeof(struct procmap_query) == 104, "the kernel's struct procmap_query");
#define PROCMAP_QUERY 0xc0686611UL /* _IOWR('f', 17, struct procmap_query) */

/* Notes a mapping named `name` (`len` bytes) at `start`; 1 once [vvar] is
 * found (walking down from the vDSO, [vvar_vclock] comes first). */
static int note(struct tw_vvar_maps *v, const char *name, unsigned long len, uintptr_t start)
{
	if (len == 13 && !tw_memcmp(name, "[vvar_vclock]", 13))
		v->vclock = (const void *)start;
	if (len != 6 || tw_memcmp(name, "[vvar]", 6))
		return 0;
	v->vvar = (const void *)start;
	return 1;
}

/* The [vvar] mappings lie just below the vDSO at `vdso`.  0 with *v set
 * (what is found), or -1 when the query fails (a kernel without
 * PROCMAP_QUERY): then the file is scanned. */
static long by_query(long fd, const void *vdso, struct tw_vvar_maps *v)
{
	uintptr_t addr = (uintptr_t)vdso - 1;

	for (int i = 0; i < 4; i++) {
		char name[32];
		struct procmap_query q;

		tw_memset(&q, 0, sizeof(q));
		tw_memset(name, 0, sizeof(name));
		q.size = sizeof(q);
		q.query_addr = addr;
		q.vma_name_size = sizeof(name);
		q.vma_name_addr = (uintptr_t)name;
		if (tw_rt_syscall(__NR_ioctl, fd, (long)PROCMAP_QUERY, (long)&q, 0, 0, 0) < 0)
			return -1;
		if (tw_strncmp(name, "[vvar", 5) ||
		    note(v, name, tw_strlen(name), (uintptr_t)q.vma_start))
			return 0;
		addr = q.vma_start - 1;
	}
	return 0;
}

static unsigned long hex(const char *s)
{
	unsigned long v = 0;

	for (;; s++) {
		unsigned d = *s >= '0' && *s <= '9'   ? (unsigned)(*s - '0')
			     : *s >= 'a' && *s <= 'f' ? (unsigned)(*s - 'a' + 10)
						      : 16;
		if (d == 16)
			return v;
		v = v * 16 + d;
	}
}

/* The mapping a maps line names, when it is a [vvar...] one (no file):
 * *name, and its length as the result; 0 otherwise. */
static unsigned long vvar_name(const char *line, unsigned long len, const char **name)
{
	unsigned long i = len;

	while (i > 0 && line[i - 1] != ' ')
		i--;
	for (unsigned long j = 0; j < i; j++)
		if (line[j] == '/')
			return 0;
	if (len - i < 6 || tw_memcmp(line + i, "[vvar", 5))
		return 0;
	*name = line + i;
	return len - i;
}

void tw_find_vvar(const void *vdso, struct tw_vvar_maps *v)
{
	char buf[4096];
	unsigned long have = 0;
	int skip = 0;
	long fd = tw_rt_syscall(__NR_openat, AT_FDCWD, (long)"/proc/self/maps",
				O_RDONLY | O_CLOEXEC, 0, 0, 0);

	v->vvar = v->vclock = 0;
	if (fd < 0)
		return;
	if (vdso && by_query(fd, vdso, v) == 0)
		goto out;
	/* the file, in address order: [vvar] first, then [vvar_vclock] if
	 * there is one (the end of the file says there is none) */
	for (;;) {
		long n = tw_rt_syscall(__NR_read, fd, (long)(buf + have), (long)(sizeof(buf) - have),
				       0, 0, 0);
		unsigned long start = 0, i, len;
		const char *name;

		if (n <= 0)
			break;
		have += (unsigned long)n;
		for (i = 0; i < have; i++) {
			if (buf[i] != '\n')
				continue;
			if (!skip && (len = vvar_name(buf + start, i - start, &name)))
				note(v, name, len, hex(buf + start));
			skip = 0;
			start = i + 1;
			if (v->vvar && v->vclock)
				goto out;
		}
		/* keep the unfinished line; one longer than the buffer is not
		 * [vvar]'s: its rest, up to its newline, is skipped */
		have -= start;
		tw_memcpy(buf, buf + start, have);
		if (have == sizeof(buf)) {
			have = 0;
			skip = 1;
		}
	}
out:
	tw_rt_syscall(__NR_close, fd, 0, 0, 0, 0, 0);
}
