/* The loader: libtimewarp-rt.so run as a program, to start a statically
 * linked one inside a namespace (DESIGN section 4, "Static programs").
 *
 * A static program loads nothing: no LD_AUDIT, no LD_PRELOAD, and it reads the
 * vDSO's address from its auxiliary vector in its first instructions.  So the
 * exec trap (exec.c) execs this instead, with the program's argument vector
 * and environment, and the program's open descriptor in TIMEWARP_EXEC.  The
 * kernel maps the runtime (an ET_DYN object with no interpreter, like ld.so
 * run on its own) and enters here on the new stack.  The runtime starts as in
 * every member (the namespace, the gate, the timewarp vDSO in AT_SYSINFO_EHDR,
 * the SIGSYS handler); then the loader does for the program what binfmt_elf
 * would have done:
 *   - maps its segments from the descriptor (the file shows in
 *     /proc/self/maps under its own name): a fixed-address program where it
 *     was linked, a static PIE where the kernel puts one (the mmap area);
 *   - leaves argv and the environment's strings where the kernel put them
 *     (/proc/PID/cmdline reads them there), takes TIMEWARP_EXEC out of the
 *     environment's pointers, and points the auxiliary vector at the program
 *     (AT_PHDR, AT_PHNUM, AT_ENTRY, AT_BASE 0, AT_EXECFN the name exec was
 *     given), keeping AT_RANDOM, AT_HWCAP* and the rest as they are;
 *   - names the process as the kernel would (comm), and tells the kernel the
 *     program's layout where it allows (PR_SET_MM_MAP, when the kernel has
 *     it): the program break after its data (for a fixed-address program),
 *     the auxiliary vector of /proc/PID/auxv, the environment without
 *     TIMEWARP_EXEC;
 *   - jumps to its entry with the stack pointer and registers of a new image.
 * The program and the runtime then share the process, like a dynamic member
 * and its audit module.  What still shows the loader: /proc/PID/exe seen from
 * outside the process (its own readlink is served, selfexe.c) and the
 * process's exe for ptrace-attaching debuggers.
 *
 * It runs before anything is relocated, so the runtime is built to need no
 * relocation (the Makefile checks: readelf -r shows only la_version's use of
 * ld.so's __libc_stack_end, which this path never reads). */
#include <asm/unistd.h>
#include <errno.h>
#include <linux/auxvec.h>
#include <linux/fcntl.h>
#include <linux/mman.h>
#include <linux/personality.h>
#include <linux/prctl.h>

#include "exec.h"
#include "runtime.h"

#define PAGE 4096UL
#define PAGE_DOWN(x) ((x) & ~(PAGE - 1))
#define PAGE_UP(x) (((x) + PAGE - 1) & ~(PAGE - 1))
#define PROT_GROWSDOWN_ 0x01000000
#define GRND_NONBLOCK_ 1

uint64_t tw_load(long *sp);

/* The entry: the kernel's stack pointer to tw_load, then to the program's
 * entry with that stack pointer, every other register zero as after exec
 * (rdx especially: a program's _start takes a nonzero rdx for a function to
 * run at exit). */
__asm__(".text\n"
	".globl tw_loader_entry\n.hidden tw_loader_entry\n.type tw_loader_entry, @function\n"
	"tw_loader_entry:\n"
	"	endbr64\n"
	"	xor %ebp, %ebp\n"
	"	mov %rsp, %rbx\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call tw_load\n"
	"	mov %rbx, %rsp\n"
	"	mov %rax, -8(%rsp)\n"
	"	xor %eax, %eax\n xor %ebx, %ebx\n xor %ecx, %ecx\n xor %edx, %edx\n"
	"	xor %esi, %esi\n xor %edi, %edi\n xor %r8d, %r8d\n xor %r9d, %r9d\n"
	"	xor %r10d, %r10d\n xor %r11d, %r11d\n xor %r12d, %r12d\n xor %r13d, %r13d\n"
	"	xor %r14d, %r14d\n xor %r15d, %r15d\n"
	"	jmp *-8(%rsp)\n"
	".size tw_loader_entry, .-tw_loader_entry\n");

static long sys(long nr, long a, long b, long c, long d, long e, long f)
{
	return tw_rt_syscall(nr, a, b, c, d, e, f);
}

static int failed(long r)
{
	return r < 0 && r > -4096;
}

__attribute__((noreturn)) static void fail(const char *what, const char *why)
{
	tw_say(what, why);
	tw_exit(127);
}

/* The process's initial stack: argc, argv, envp, the auxiliary vector. */
struct stack {
	long *sp;
	long argc;
	char **envp;
	uint64_t *auxv;
	char *var;       /* TIMEWARP_EXEC=... */
	long fd;         /* its descriptor */
	const char *filename; /* and file name */
};

static void walk(struct stack *s, long *sp)
{
	static const char name[] = TW_ENV_EXEC "=";
	char **e;

	s->sp = sp;
	s->argc = sp[0];
	s->envp = (char **)(sp + 1 + s->argc + 1);
	s->var = 0;
	for (e = s->envp; *e; e++)
		if (!tw_strncmp(*e, name, sizeof(name) - 1))
			s->var = *e;
	s->auxv = (uint64_t *)(e + 1);
}

/* FD:FILENAME */
static int parse(struct stack *s)
{
	const char *p = s->var + sizeof(TW_ENV_EXEC);

	s->fd = 0;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		s->fd = s->fd * 10 + (*p - '0');
	if (*p != ':' || s->fd > 0x7fffffff)
		return -1;
	s->filename = p + 1;
	return 0;
}

static unsigned long prot_of(uint32_t flags)
{
	return ((flags & PF_R) ? PROT_READ : 0) | ((flags & PF_W) ? PROT_WRITE : 0) |
	       ((flags & PF_X) ? PROT_EXEC : 0);
}

/* A random page-aligned offset below `range` (the kernel's brk randomness). */
static uint64_t random_pages(uint64_t range)
{
	uint64_t r = 0;

	if (range < PAGE ||
	    sys(__NR_getrandom, (long)&r, sizeof(r), GRND_NONBLOCK_, 0, 0, 0) != sizeof(r))
		return 0;
	return (r % (range / PAGE)) * PAGE;
}

/* Whether this process lays its memory out at random (the kernel's
 * randomize_va_space 2, and no ADDR_NO_RANDOMIZE personality). */
static int randomized(void)
{
	char c[4];

	if (sys(__NR_personality, 0xffffffff, 0, 0, 0, 0, 0) & ADDR_NO_RANDOMIZE)
		return 0;
	return tw_read_file("/proc/sys/kernel/randomize_va_space", c, sizeof(c)) <= 0 || c[0] >= '2';
}

/* Where a static PIE goes: below 4 GiB, at a random place (by the page, as
 * far as the process lays its memory out at random), so that the filter
 * traps its own readlink of /proc/self/exe as it traps a fixed-address
 * program's (filter.c: readlink is trapped only from there, where no code
 * runs before the runtime's).  The kernel would put it in the mmap area; the
 * cost is fewer random bits for its address (19 rather than 28).  0 when no
 * room is found there: then anywhere. */
#define LOW_START 0x10000000UL
#define LOW_END 0xe0000000UL

static uint64_t place_low(uint64_t span, uint64_t align)
{
	int random = randomized();

	if (span + align + PAGE > LOW_END - LOW_START)
		return 0;
	for (int i = 0; i < 16; i++) {
		uint64_t at = LOW_START + (random ? random_pages(LOW_END - LOW_START - span - align) : 0);
		long m;

		at = (at + align - 1) & ~(align - 1);
		m = sys(__NR_mmap, (long)at, (long)span, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if ((uint64_t)m == at)
			return at;
		if (!failed(m))
			sys(__NR_munmap, m, (long)span, 0, 0, 0, 0);
		if (!random)
			break;
	}
	return 0;
}

/* The program's segments, mapped as binfmt_elf maps them; returns the load
 * bias (0 for a fixed-address program). */
static uint64_t map_program(long fd, const Elf64_Ehdr *eh, const Elf64_Phdr *ph,
			    const struct tw_elf_layout *l, const char *name)
{
	uint64_t span = l->hi - l->lo, bias, prev_end, low;
	long m;

	if (eh->e_type == ET_DYN && (low = place_low(span, l->align))) {
		bias = low - l->lo;
	} else if (eh->e_type == ET_DYN) {
		/* anywhere, aligned as its segments ask */
		m = sys(__NR_mmap, 0, (long)(span + l->align - PAGE), PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (failed(m))
			fail(name, tw_strerror(m));
		bias = (((uint64_t)m + l->align - 1) & ~(l->align - 1)) - l->lo;
		if (bias + l->lo > (uint64_t)m)
			sys(__NR_munmap, m, (long)(bias + l->lo - (uint64_t)m), 0, 0, 0, 0);
		if ((uint64_t)m + span + l->align - PAGE > bias + l->hi)
			sys(__NR_munmap, (long)(bias + l->hi),
			    (long)((uint64_t)m + span + l->align - PAGE - (bias + l->hi)), 0, 0, 0, 0);
	} else {
		bias = 0;
		m = sys(__NR_mmap, (long)l->lo, (long)span, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if (failed(m) || (uint64_t)m != l->lo)
			fail(name, "its addresses are taken in this process (by timewarp's runtime?)");
	}
	prev_end = bias + l->lo;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		uint64_t start = bias + PAGE_DOWN(p->p_vaddr), file_end = bias + p->p_vaddr + p->p_filesz;
		uint64_t mem_end = bias + p->p_vaddr + p->p_memsz, zero_from = start;
		unsigned long prot = prot_of(p->p_flags);

		if (p->p_type != PT_LOAD)
			continue;
		/* the gap before it: unmapped, as the kernel leaves it */
		if (start > PAGE_UP(prev_end))
			sys(__NR_munmap, (long)PAGE_UP(prev_end), (long)(start - PAGE_UP(prev_end)), 0, 0,
			    0, 0);
		prev_end = mem_end;
		if (p->p_filesz) {
			/* writable first where the tail of its last file page
			 * must be zeroed (the start of its bss) */
			int zero = p->p_memsz > p->p_filesz && (file_end & (PAGE - 1));

			m = sys(__NR_mmap, (long)start, (long)(PAGE_UP(file_end) - start),
				(long)(prot | (zero ? PROT_WRITE : 0)), MAP_PRIVATE | MAP_FIXED, fd,
				(long)PAGE_DOWN(p->p_offset));
			if (failed(m))
				fail(name, tw_strerror(m));
			if (zero) {
				tw_memset((void *)file_end, 0, PAGE_UP(file_end) - file_end);
				if (!(prot & PROT_WRITE))
					sys(__NR_mprotect, (long)PAGE_DOWN(file_end), (long)PAGE, (long)prot,
					    0, 0, 0);
			}
			zero_from = PAGE_UP(file_end);
		}
		if (PAGE_UP(mem_end) > zero_from) {
			m = sys(__NR_mmap, (long)zero_from, (long)(PAGE_UP(mem_end) - zero_from),
				(long)prot, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
			if (failed(m))
				fail(name, tw_strerror(m));
		}
	}
	return bias;
}

/* The numbers of /proc/self/stat from field `first` on (1-based), n of them. */
static int stat_fields(int first, uint64_t *out, int n)
{
	char buf[1024], *p = 0;
	long len = tw_read_file("/proc/self/stat", buf, sizeof(buf));
	int field = 2;

	for (long i = 0; i < len; i++) /* after the name, which may hold anything */
		if (buf[i] == ')')
			p = buf + i + 1;
	if (!p)
		return -1;
	for (int got = 0; *p && got < n;) {
		while (*p == ' ')
			p++;
		field++;
		if (field >= first) {
			uint64_t v = 0;

			for (; *p >= '0' && *p <= '9'; p++)
				v = v * 10 + (uint64_t)(*p - '0');
			out[got++] = v;
		}
		while (*p && *p != ' ')
			p++;
	}
	return 0;
}

/* Tells the kernel the program's layout (best effort: a kernel without
 * CONFIG_CHECKPOINT_RESTORE refuses, and the program runs the same).  l null:
 * the kernel mapped the program, and knows its layout but for the auxiliary
 * vector and the environment. */
static void tell_kernel(const Elf64_Ehdr *eh, const struct tw_elf_layout *l, uint64_t bias,
			const struct stack *s, uint64_t *auxv, unsigned long auxv_bytes)
{
	struct prctl_mm_map map;
	uint64_t f[7]; /* start_data end_data start_brk arg_start arg_end env_start env_end */
	uint64_t stack[3]; /* startcode endcode startstack */
	unsigned long var_len = tw_strlen(s->var) + 1;
	long brk;

	if (stat_fields(26, stack, 3) || stat_fields(45, f, 7))
		return;
	brk = sys(__NR_brk, 0, 0, 0, 0, 0, 0);
	tw_memset(&map, 0, sizeof(map));
	map.start_code = l ? bias + l->start_code : stack[0];
	map.end_code = l ? bias + l->end_code : stack[1];
	map.start_data = l ? bias + l->start_data : f[0];
	map.end_data = l ? bias + l->end_data : f[1];
	map.start_stack = stack[2];
	map.arg_start = f[3];
	map.arg_end = f[4];
	map.env_start = f[5];
	map.env_end = f[6];
	/* TIMEWARP_EXEC is the environment's last string: out of its range */
	if ((uint64_t)s->var + var_len == f[6] && (uint64_t)s->var >= f[5])
		map.env_end = (uint64_t)s->var;
	if (l && eh->e_type == ET_EXEC) {
		/* the break after the program's data, as binfmt_elf puts it */
		uint64_t b = PAGE_UP(bias + l->end);

		if (randomized())
			b += PAGE + random_pages(0x02000000UL);
		map.start_brk = map.brk = b;
	} else {
		/* the kernel put it where it puts a static PIE's, or the
		 * program's own: kept */
		map.start_brk = f[2];
		map.brk = (uint64_t)brk;
	}
	map.auxv = (__u64 *)auxv;
	map.auxv_size = (uint32_t)auxv_bytes;
	map.exe_fd = (uint32_t)-1;
	sys(__NR_prctl, PR_SET_MM, PR_SET_MM_MAP, (long)&map, sizeof(map), 0, 0);
}

/* Where the program is, for its auxiliary vector; null when the kernel mapped
 * it (the loader as its interpreter: exec.c) and the vector says so already. */
struct image {
	uint64_t phdr, phnum, entry;
};

/* The stack the program starts on: TIMEWARP_EXEC's pointer out of the
 * environment, the auxiliary vector the program's.  Rewritten in place, each
 * word moved down by at most one: the strings above stay where they are, and
 * the stack pointer too.  Returns the bytes of the new auxiliary vector and
 * sets *auxv to it. */
static unsigned long restack(struct stack *s, const struct image *im, uint64_t **auxv)
{
	long *w = (long *)s->envp;
	uint64_t *a = s->auxv, *na;
	unsigned long n;

	for (char **e = s->envp; *e; e++)
		if (*e != s->var)
			*w++ = (long)*e;
	*w++ = 0;
	na = (uint64_t *)w;
	for (n = 0;; n += 2) {
		uint64_t type = a[n], v = a[n + 1];

		if (type == AT_BASE)
			v = 0;
		if (type == AT_EXECFN)
			v = (uint64_t)s->filename;
		if (im && type == AT_PHDR)
			v = im->phdr;
		if (im && type == AT_PHENT)
			v = sizeof(Elf64_Phdr);
		if (im && type == AT_PHNUM)
			v = im->phnum;
		if (im && type == AT_ENTRY)
			v = im->entry;
		na[n] = type;
		na[n + 1] = v;
		if (type == AT_NULL)
			break;
	}
	*auxv = na;
	return (n + 2) * sizeof(uint64_t);
}

static uint64_t aux(const struct stack *s, uint64_t type)
{
	for (const uint64_t *a = s->auxv; a[0] != AT_NULL; a += 2)
		if (a[0] == type)
			return a[1];
	return 0;
}

/* The kernel's comm: the last component of the file name exec was given. */
static void name_process(const char *filename)
{
	const char *base = filename;

	for (const char *p = filename; *p; p++)
		if (*p == '/')
			base = p + 1;
	sys(__NR_prctl, PR_SET_NAME, (long)base, 0, 0, 0, 0);
}

uint64_t tw_load(long *sp)
{
	static Elf64_Phdr ph[PAGE / sizeof(Elf64_Phdr)];
	struct tw_rt *rt = tw_rt();
	struct tw_elf_layout l;
	struct stack s;
	Elf64_Ehdr eh;
	uint64_t bias, entry, *auxv;
	struct image im;
	unsigned long auxv_bytes;
	char self[40];
	long n, want;

	walk(&s, sp);
	if (!s.var || parse(&s))
		fail("libtimewarp-rt.so is timewarp's member runtime",
		     "it starts programs inside a namespace for `timewarp run`, not on its own");
	tw_rt_start(sp);
	if (!tw_gate_mapped() || !rt->page)
		fail(s.filename, "not inside a timewarp namespace (TIMEWARP_NS): not run on host time");
	/* what /proc/self/exe names for the program */
	tw_put_dec(self + 14, (unsigned long)s.fd);
	tw_memcpy(self, "/proc/self/fd/", 14);
	n = sys(__NR_readlinkat, AT_FDCWD, (long)self, (long)rt->exe_path, sizeof(rt->exe_path) - 1,
		0, 0);
	rt->exe_path[n > 0 ? n : 0] = 0;
	if (aux(&s, AT_BASE)) {
		/* the kernel mapped the program, with this as its interpreter
		 * (exec.c, for a traced program): only its stack to finish */
		sys(__NR_close, s.fd, 0, 0, 0, 0, 0);
		entry = aux(&s, AT_ENTRY);
		auxv_bytes = restack(&s, 0, &auxv);
		tell_kernel(0, 0, 0, &s, auxv, auxv_bytes);
		name_process(s.filename);
		return entry;
	}
	if (sys(__NR_pread64, s.fd, (long)&eh, sizeof(eh), 0, 0, 0) != sizeof(eh) ||
	    tw_elf_class(&eh, sizeof(eh)) != TW_ELF_NATIVE)
		fail(s.filename, "not an x86-64 program the loader knows");
	want = (long)(eh.e_phnum * sizeof(Elf64_Phdr));
	if (sys(__NR_pread64, s.fd, (long)ph, want, (long)eh.e_phoff, 0, 0) != want ||
	    tw_elf_layout(&eh, ph, eh.e_phnum, &l) || l.interp)
		fail(s.filename, "not a statically linked program the loader knows");
	bias = map_program(s.fd, &eh, ph, &l, s.filename);
	sys(__NR_close, s.fd, 0, 0, 0, 0, 0);
	if (l.exec_stack) /* as binfmt_elf does for PT_GNU_STACK with PF_X */
		sys(__NR_mprotect, (long)PAGE_DOWN((uint64_t)sp), (long)PAGE,
		    PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN_, 0, 0, 0);
	im.phdr = l.phdr ? bias + l.phdr : 0;
	im.phnum = eh.e_phnum;
	im.entry = bias + eh.e_entry;
	auxv_bytes = restack(&s, &im, &auxv);
	tell_kernel(&eh, &l, bias, &s, auxv, auxv_bytes);
	name_process(s.filename);
	return im.entry;
}
