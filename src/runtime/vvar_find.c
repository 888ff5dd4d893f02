/* Where the kernel's vDSO data page ([vvar]) is: the engine reads host time
 * there in place (src/engine/vvar.h) once tw_vvar_use has proven it. */
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

/* The [vvar] mapping lies below the vDSO at `vdso` (maybe after other
 * [vvar_...] pages).  0 with *out set (null when there is none), or -1 when
 * the query fails (a kernel without PROCMAP_QUERY): then the file is scanned. */
static long by_query(long fd, const void *vdso, const void **out)
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
		if (!tw_strncmp(name, "[vvar]", 7)) {
			*out = (const void *)(uintptr_t)q.vma_start;
			return 0;
		}
		if (tw_strncmp(name, "[vvar", 5))
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

/* A maps line names [vvar] (and no file). */
static int is_vvar_line(const char *line, unsigned long len)
{
	for (unsigned long i = 0; i < len; i++)
		if (line[i] == '/')
			return 0;
	return len > 7 && !tw_memcmp(line + len - 7, " [vvar]", 7);
}

const void *tw_find_vvar(const void *vdso)
{
	const void *found = 0;
	char buf[4096];
	unsigned long have = 0;
	long fd = tw_rt_syscall(__NR_openat, AT_FDCWD, (long)"/proc/self/maps",
				O_RDONLY | O_CLOEXEC, 0, 0, 0);

	if (fd < 0)
		return 0;
	if (vdso && by_query(fd, vdso, &found) == 0)
		goto out;
	for (;;) {
		long n = tw_rt_syscall(__NR_read, fd, (long)(buf + have), (long)(sizeof(buf) - have),
				       0, 0, 0);
		unsigned long start = 0, i;

		if (n <= 0)
			break;
		have += (unsigned long)n;
		for (i = 0; i < have; i++) {
			if (buf[i] != '\n')
				continue;
			if (is_vvar_line(buf + start, i - start)) {
				found = (const void *)hex(buf + start);
				goto out;
			}
			start = i + 1;
		}
		/* keep the unfinished line; one longer than the buffer is not [vvar]'s */
		have -= start;
		tw_memcpy(buf, buf + start, have);
		if (have == sizeof(buf))
			have = 0;
	}
out:
	tw_rt_syscall(__NR_close, fd, 0, 0, 0, 0, 0);
	return found;
}
