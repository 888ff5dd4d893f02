/* What a file asks of exec, read as the kernel reads it (fs/binfmt_script.c,
 * fs/binfmt_elf.c): a script's interpreter line, an ELF program's class and
 * the layout of its segments.  Pure: the caller reads the bytes. */
#include <errno.h>

#include "exec.h"
#include "runtime.h"

#define PAGE 4096UL
#define PAGE_DOWN(x) ((x) & ~(PAGE - 1))
#define PAGE_UP(x) (((x) + PAGE - 1) & ~(PAGE - 1))

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

/* As the kernel: the line must end (a newline), or the interpreter's name
 * must be followed by a blank or a NUL within the 256 bytes, or the name
 * might be cut short and the file is not run as a script.  The optional
 * argument is everything after the name's blanks, trailing blanks removed.
 * `buf` holds TW_SCRIPT_HEAD bytes, zeros past the end of a shorter file. */
int tw_script_line(char *buf, char **name, char **arg)
{
	char *last = buf + TW_SCRIPT_HEAD - 1, *cp = 0, *p;

	if (buf[0] != '#' || buf[1] != '!')
		return -ENOEXEC;
	for (p = buf; p <= last; p++)
		if (*p == '\n') {
			cp = p;
			break;
		}
	if (!cp) {
		for (p = buf + 2; p <= last && blank(*p); p++)
			;
		if (p > last)
			return -ENOEXEC; /* all blanks */
		while (p <= last && *p && !blank(*p))
			p++;
		if (p > last)
			return -ENOEXEC; /* the name may be cut short */
		cp = last;
	}
	*cp = 0;
	while (cp > buf && blank(cp[-1]))
		*--cp = 0;
	for (p = buf + 2; blank(*p); p++)
		;
	if (!*p)
		return -ENOEXEC;
	*name = p;
	*arg = 0;
	while (*p && !blank(*p))
		p++;
	while (blank(*p))
		*p++ = 0;
	if (*p)
		*arg = p;
	return 0;
}

enum tw_elf_class tw_elf_class(const void *head, unsigned long n)
{
	const Elf64_Ehdr *eh = head;

	if (n < 4 || tw_memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return TW_ELF_NONE;
	if (n < sizeof(*eh))
		return TW_ELF_OTHER; /* too short: the kernel says ENOEXEC */
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return TW_ELF_OTHER;
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64)
		return TW_ELF_FOREIGN;
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum ||
	    eh->e_phnum > PAGE / sizeof(Elf64_Phdr))
		return TW_ELF_OTHER; /* binfmt_elf refuses these */
	return TW_ELF_NATIVE;
}

int tw_elf_layout(const Elf64_Ehdr *eh, const Elf64_Phdr *ph, unsigned n,
		  struct tw_elf_layout *out)
{
	uint64_t prev_end = 0;
	int loads = 0;

	tw_memset(out, 0, sizeof(*out));
	out->start_code = ~0ULL;
	out->align = PAGE;
	for (unsigned i = 0; i < n; i++) {
		const Elf64_Phdr *p = &ph[i];
		uint64_t end;

		if (p->p_type == PT_INTERP)
			out->interp = 1;
		if (p->p_type == PT_GNU_STACK)
			out->exec_stack = !!(p->p_flags & PF_X);
		if (p->p_type == PT_PHDR)
			out->phdr = p->p_vaddr;
		if (p->p_type != PT_LOAD)
			continue;
		/* what elf_map and the mapping of the break would refuse, or
		 * what could not be mapped as asked */
		if (p->p_filesz > p->p_memsz || (p->p_vaddr & (PAGE - 1)) != (p->p_offset & (PAGE - 1)) ||
		    p->p_vaddr + p->p_memsz < p->p_vaddr || p->p_vaddr + p->p_memsz > (1ULL << 47) ||
		    p->p_offset + p->p_filesz < p->p_offset)
			return -ENOEXEC;
		/* segments in ascending order (the ELF rule a loader relies on) */
		if (loads && PAGE_DOWN(p->p_vaddr) < PAGE_DOWN(prev_end))
			return -ENOEXEC;
		if (!loads)
			out->lo = PAGE_DOWN(p->p_vaddr);
		loads++;
		end = p->p_vaddr + p->p_memsz;
		prev_end = end;
		if (PAGE_UP(end) > out->hi)
			out->hi = PAGE_UP(end);
		if (end > out->end)
			out->end = end;
		if (p->p_align > out->align && !(p->p_align & (p->p_align - 1)))
			out->align = p->p_align;
		/* binfmt_elf's counting (its /proc/PID/stat fields) */
		if (p->p_vaddr < out->start_code)
			out->start_code = p->p_vaddr;
		if (p->p_vaddr > out->start_data)
			out->start_data = p->p_vaddr;
		if ((p->p_flags & PF_X) && p->p_vaddr + p->p_filesz > out->end_code)
			out->end_code = p->p_vaddr + p->p_filesz;
		if (p->p_vaddr + p->p_filesz > out->end_data)
			out->end_data = p->p_vaddr + p->p_filesz;
		/* no PT_PHDR: the headers are where a segment maps e_phoff */
		if (!out->phdr && eh->e_phoff >= p->p_offset &&
		    eh->e_phoff + n * sizeof(*ph) <= p->p_offset + p->p_filesz)
			out->phdr = p->p_vaddr + (eh->e_phoff - p->p_offset);
	}
	if (!loads)
		return -ENOEXEC;
	return 0;
}
