/* The pure parts of a member's exec (src/runtime/exec_env.c, elf.c): the
 * environment a new image gets, the argument vector the kernel gives a
 * script's interpreter, script lines read as binfmt_script reads them, and
 * ELF headers read as binfmt_elf reads them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "tap.h"

static const struct tw_exec_paths P = { "/run/tw/~pages/a", "/lib/tw/libtimewarp.so",
					"/lib/tw/libtimewarp-rt.so", 0 };

/* The member environment of envp, joined with '|', into out. */
static char *member(char *const envp[], const char *extra, char *out)
{
	unsigned long ptrs, bytes, ptrs2, bytes2;
	char **v, *b;

	tw_env_member(envp, &P, extra, 0, 0, &ptrs, &bytes);
	v = calloc(ptrs, sizeof(*v));
	b = calloc(bytes + 1, 1);
	tw_env_member(envp, &P, extra, v, b, &ptrs2, &bytes2);
	out[0] = 0;
	if (ptrs2 != ptrs || bytes2 != bytes || v[ptrs - 1])
		strcpy(out, "(sizes differ)");
	else
		for (char **e = v; *e; e++)
			sprintf(out + strlen(out), "%s%s", e == v ? "" : "|", *e);
	free(v);
	free(b);
	return out;
}

#define ENV_IS(envp, extra, want, ...)                                                   \
	do {                                                                             \
		char got_[4096];                                                         \
		if (!tap_ok(!strcmp(member(envp, extra, got_), want), __VA_ARGS__))      \
			tap_diag("got  %s\n#   want %s", got_, want);                      \
	} while (0)

static void env_tests(void)
{
	char *none[] = { NULL };
	char *path[] = { "PATH=/bin", NULL };
	char *theirs[] = { "LD_PRELOAD=/x/a.so b.so", "HOME=/h", "LD_AUDIT=/y.so", NULL };
	char *ours[] = { "TIMEWARP_NS=/run/tw/~pages/a", "LD_PRELOAD=a.so:/lib/tw/libtimewarp.so",
			 "LD_AUDIT=/lib/tw/libtimewarp-rt.so", NULL };
	char *empty_ns[] = { "TIMEWARP_NS=", "A=1", NULL };
	char *other[] = { "TIMEWARP_NS=/other/page", "LD_PRELOAD=", "TIMEWARP_EXEC=9:x", NULL };
	char *stale[] = { "TIMEWARP_EXEC=3:/bin/x", "PATH=/bin", NULL };
	char *prefix[] = { "LD_PRELOAD_X=1", "TIMEWARP_NSX=2", NULL };

	ENV_IS(none, NULL,
	       "TIMEWARP_NS=/run/tw/~pages/a|LD_PRELOAD=/lib/tw/libtimewarp.so|"
	       "LD_AUDIT=/lib/tw/libtimewarp-rt.so",
	       "an empty environment gets the namespace and both libraries");
	ENV_IS(path, "TIMEWARP_EXEC=4:/bin/x",
	       "PATH=/bin|TIMEWARP_NS=/run/tw/~pages/a|LD_PRELOAD=/lib/tw/libtimewarp.so|"
	       "LD_AUDIT=/lib/tw/libtimewarp-rt.so|TIMEWARP_EXEC=4:/bin/x",
	       "PATH only: kept, the rest added, the loader's variable last");
	ENV_IS(theirs, NULL,
	       "LD_PRELOAD=/lib/tw/libtimewarp.so:/x/a.so b.so|HOME=/h|"
	       "LD_AUDIT=/lib/tw/libtimewarp-rt.so:/y.so|TIMEWARP_NS=/run/tw/~pages/a",
	       "the program's own libraries stay, after timewarp's, in their places");
	ENV_IS(ours, NULL,
	       "TIMEWARP_NS=/run/tw/~pages/a|LD_PRELOAD=a.so:/lib/tw/libtimewarp.so|"
	       "LD_AUDIT=/lib/tw/libtimewarp-rt.so",
	       "a member's environment is left as it is (timewarp's library anywhere in the list)");
	ENV_IS(empty_ns, NULL,
	       "TIMEWARP_NS=/run/tw/~pages/a|A=1|LD_PRELOAD=/lib/tw/libtimewarp.so|"
	       "LD_AUDIT=/lib/tw/libtimewarp-rt.so",
	       "an empty TIMEWARP_NS is filled in where it was");
	ENV_IS(other, "TIMEWARP_EXEC=5:/bin/y",
	       "TIMEWARP_NS=/other/page|LD_PRELOAD=|TIMEWARP_EXEC=5:/bin/y",
	       "another namespace's environment is left alone (a nested run), but for the "
	       "loader's variable");
	ENV_IS(stale, NULL,
	       "PATH=/bin|TIMEWARP_NS=/run/tw/~pages/a|LD_PRELOAD=/lib/tw/libtimewarp.so|"
	       "LD_AUDIT=/lib/tw/libtimewarp-rt.so",
	       "a TIMEWARP_EXEC the program passed is not handed on");
	ENV_IS(prefix, NULL,
	       "LD_PRELOAD_X=1|TIMEWARP_NSX=2|TIMEWARP_NS=/run/tw/~pages/a|"
	       "LD_PRELOAD=/lib/tw/libtimewarp.so|LD_AUDIT=/lib/tw/libtimewarp-rt.so",
	       "variables whose names only start alike are not taken for them");

	tap_ok(tw_list_has("a.so /lib/tw/libtimewarp.so:b", ": ", "/lib/tw/libtimewarp.so"),
	       "LD_PRELOAD entries are separated by spaces and colons");
	tap_ok(!tw_list_has("/lib/tw/libtimewarp.so.1", ": ", "/lib/tw/libtimewarp.so"),
	       "an entry is matched whole");
	{
		char buf[64];

		TAP_EQ_I64(tw_list_find("x.so:/a/libtimewarp.so", ":", "libtimewarp.so", buf,
					sizeof(buf)), 0, "the library's absolute entry is found");
		tap_ok(!strcmp(buf, "/a/libtimewarp.so"), "as %s", buf);
		TAP_EQ_I64(tw_list_find("libtimewarp.so:/a/xlibtimewarp.so", ":", "libtimewarp.so",
					buf, sizeof(buf)), -1,
			   "relative entries and other names are not");
	}
}

static void argv_tests(void)
{
	char *argv[] = { "./s.sh", "a", "b", NULL };
	char *name[] = { "/bin/sh2", "/bin/busybox" }, *arg[] = { NULL, "sh -e" };
	char *out[16], got[256] = "";
	char *empty[] = { NULL };

	TAP_EQ_I64(tw_argv_count(argv, 2), 8, "room: two levels, the file name, argv's rest, null");
	tw_argv_scripts(argv, "./s.sh", 2, name, arg, out);
	for (char **p = out; *p; p++)
		sprintf(got + strlen(got), "[%s]", *p);
	tap_ok(!strcmp(got, "[/bin/busybox][sh -e][/bin/sh2][./s.sh][a][b]"),
	       "a script run by a script: the last interpreter first, as the kernel splices them "
	       "(%s)", got);
	got[0] = 0;
	tw_argv_scripts(empty, "/dev/fd/3", 1, name, arg, out);
	for (char **p = out; *p; p++)
		sprintf(got + strlen(got), "[%s]", *p);
	tap_ok(!strcmp(got, "[/bin/sh2][/dev/fd/3]"), "an empty argv: the file name alone (%s)",
	       got);
}

/* A script's first line, zero-padded to the kernel's 256 bytes. */
static int line(const char *text, char **name, char **arg, char *buf)
{
	memset(buf, 0, TW_SCRIPT_HEAD);
	memcpy(buf, text, strlen(text) < TW_SCRIPT_HEAD ? strlen(text) : TW_SCRIPT_HEAD);
	return tw_script_line(buf, name, arg);
}

static void script_tests(void)
{
	char buf[TW_SCRIPT_HEAD], *name, *arg, long_name[300];

	TAP_EQ_I64(line("#!/bin/sh\necho", &name, &arg, buf), 0, "#!/bin/sh");
	tap_ok(!strcmp(name, "/bin/sh") && !arg, "interpreter /bin/sh, no argument");
	TAP_EQ_I64(line("#! \t/usr/bin/env  python3 -u \t\nx", &name, &arg, buf), 0,
		   "blanks around the name and after the argument");
	tap_ok(!strcmp(name, "/usr/bin/env") && arg && !strcmp(arg, "python3 -u"),
	       "one argument: everything after the name, trailing blanks dropped ('%s')",
	       arg ? arg : "(null)");
	TAP_EQ_I64(line("#!/bin/sh", &name, &arg, buf), 0, "no newline, the file ends");
	TAP_EQ_I64(line("#!   \n", &name, &arg, buf), -ENOEXEC, "no interpreter: ENOEXEC");
	TAP_EQ_I64(line("echo hi\n", &name, &arg, buf), -ENOEXEC, "not a script");
	memset(long_name, 'a', sizeof(long_name));
	memcpy(long_name, "#!/", 3);
	long_name[299] = 0;
	TAP_EQ_I64(line(long_name, &name, &arg, buf), -ENOEXEC,
		   "a name that runs past 256 bytes may be cut short: ENOEXEC");
	memcpy(long_name + 100, " x", 2);
	TAP_EQ_I64(line(long_name, &name, &arg, buf), 0,
		   "a long line whose name ends within 256 bytes: its argument cut short");
	tap_ok(strlen(name) == 98 && arg && strlen(arg) == 255 - 101,
	       "name of 98 bytes, argument up to the 255th byte (%zu, %zu)", strlen(name),
	       arg ? strlen(arg) : 0);
}

static void elf_tests(void)
{
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph[4] = { { 0 } };
	struct tw_elf_layout l;

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 3;
	eh.e_phoff = 64;
	TAP_EQ_I64(tw_elf_class(&eh, sizeof(eh)), TW_ELF_NATIVE, "an x86-64 executable");
	TAP_EQ_I64(tw_elf_class("#!/bin/sh", 9), TW_ELF_NONE, "a script is not ELF");
	eh.e_machine = EM_386;
	TAP_EQ_I64(tw_elf_class(&eh, sizeof(eh)), TW_ELF_FOREIGN, "an i386 one is foreign");
	eh.e_machine = EM_X86_64;
	eh.e_type = ET_REL;
	TAP_EQ_I64(tw_elf_class(&eh, sizeof(eh)), TW_ELF_OTHER,
		   "an object file is the kernel's to refuse");
	eh.e_type = ET_EXEC;

	/* busybox's layout: headers in the first, read-only segment */
	ph[0] = (Elf64_Phdr){ PT_LOAD, PF_R, 0, 0x400000, 0x400000, 0x6e0, 0x6e0, 0x1000 };
	ph[1] = (Elf64_Phdr){ PT_LOAD, PF_R | PF_X, 0x1000, 0x401000, 0x401000, 0x183989, 0x183989,
			      0x1000 };
	ph[2] = (Elf64_Phdr){ PT_LOAD, PF_R | PF_W, 0x1da708, 0x5db708, 0x5db708, 0x9008, 0x10450,
			      0x1000 };
	TAP_EQ_I64(tw_elf_layout(&eh, ph, 3, &l), 0, "a static program's layout");
	TAP_EQ_I64(l.lo, 0x400000, "spans from its first page");
	TAP_EQ_I64(l.hi, 0x5ec000, "to the page after its bss");
	TAP_EQ_I64(l.end, 0x5ebb58, "its break starts after the bss");
	TAP_EQ_I64(l.phdr, 0x400040, "its headers are where the first segment maps e_phoff");
	TAP_EQ_I64(l.start_code, 0x400000, "start_code as binfmt_elf counts it");
	TAP_EQ_I64(l.end_code, 0x401000 + 0x183989, "end_code");
	TAP_EQ_I64(l.start_data, 0x5db708, "start_data");
	TAP_EQ_I64(l.end_data, 0x5db708 + 0x9008, "end_data");
	tap_ok(!l.interp && !l.exec_stack, "no interpreter, no executable stack");
	ph[3] = (Elf64_Phdr){ PT_INTERP, PF_R, 0x200, 0x400200, 0x400200, 28, 28, 1 };
	tw_elf_layout(&eh, ph, 4, &l);
	tap_ok(l.interp, "PT_INTERP: dynamically linked");
	ph[2].p_offset = 0x1da709;
	TAP_EQ_I64(tw_elf_layout(&eh, ph, 3, &l), -ENOEXEC,
		   "a segment whose offset and address disagree within a page is refused");
	ph[2].p_offset = 0x1da708;
	ph[2].p_filesz = 0x20000;
	TAP_EQ_I64(tw_elf_layout(&eh, ph, 3, &l), -ENOEXEC, "so is one with more file than memory");
	ph[2].p_filesz = 0x9008;
	ph[2].p_vaddr = ph[2].p_paddr = 0x3ff708;
	ph[2].p_offset = 0x708;
	TAP_EQ_I64(tw_elf_layout(&eh, ph, 3, &l), -ENOEXEC, "and segments out of order");
	TAP_EQ_I64(tw_elf_layout(&eh, ph, 0, &l), -ENOEXEC, "and a program with none");
}

int main(void)
{
	env_tests();
	argv_tests();
	script_tests();
	elf_tests();
	return tap_done();
}
