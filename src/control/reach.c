/* Can a namespace serve a program?  Every x86-64 program, dynamically or
 * statically linked (the member runtime loads a static one itself); not one of
 * another class or machine (32-bit x86): its system calls come through an
 * entry point the runtime refuses, so it would fail or run on host time, and a
 * member never does that unannounced (DESIGN section 3).
 *
 * Runs between vfork and exec: system calls and the stack only, no allocation. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "timewarp.h"

static int elf_check(const unsigned char *head, ssize_t n)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)head;

	if (n < (ssize_t)sizeof(*eh) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_machine != EM_X86_64)
		return -ENOEXEC;
	return 0;
}

static int check(const char *path, int depth, char *culprit, size_t culprit_len)
{
	unsigned char head[256];
	char interp[256];
	ssize_t n;
	size_t len;
	int fd, r = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0; /* exec itself will fail and say why */
	n = read(fd, head, sizeof(head));
	if (n >= 4 && !memcmp(head, ELFMAG, SELFMAG)) {
		r = elf_check(head, n);
		if (r) {
			len = strlen(path) < culprit_len - 1 ? strlen(path) : culprit_len - 1;
			memcpy(culprit, path, len);
			culprit[len] = 0;
		}
	} else if (n > 2 && head[0] == '#' && head[1] == '!' && depth < 4) {
		/* a script: its interpreter is what runs */
		size_t i = 2, j = 0;
		while (i < (size_t)n && (head[i] == ' ' || head[i] == '\t'))
			i++;
		while (i < (size_t)n && j < sizeof(interp) - 1 && head[i] != ' ' &&
		       head[i] != '\t' && head[i] != '\n')
			interp[j++] = (char)head[i++];
		interp[j] = 0;
		if (j)
			r = check(interp, depth + 1, culprit, culprit_len);
	}
	close(fd);
	return r;
}

int tw_exec_reachable(const char *path, char *culprit, size_t culprit_len)
{
	return check(path, 0, culprit, culprit_len);
}

int tw_exec_find(const char *file, char *buf, size_t n)
{
	const char *path = getenv("PATH"), *p;
	size_t flen = strlen(file);

	if (strchr(file, '/')) {
		if (flen >= n)
			return -ENAMETOOLONG;
		memcpy(buf, file, flen + 1);
		return 0;
	}
	for (p = path && *path ? path : "/bin:/usr/bin"; ; p++) {
		size_t dlen = strcspn(p, ":");
		if (dlen + 1 + flen < n) {
			memcpy(buf, p, dlen);
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, file, flen + 1);
			if (!dlen) /* an empty PATH entry is the current directory */
				memmove(buf, buf + 1, flen + 1);
			if (!access(buf, X_OK))
				return 0;
		}
		p += dlen;
		if (!*p)
			return -ENOENT;
	}
}
