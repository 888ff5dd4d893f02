/* Every exec inside a member makes a member (DESIGN section 4, "Exec"):
 *
 *   - exec.c: execve and execveat, trapped, and the exec of `timewarp run`:
 *     the new environment names the namespace whatever the program passed,
 *     and a statically linked program is started through the loader;
 *   - loader.c: the loader, libtimewarp-rt.so run as a program: it starts the
 *     runtime, maps the static program beside it and jumps to its entry;
 *   - exec_mem.c: the memory an exec builds the new vectors in;
 *   - traced.c: execs under a debugger;
 *   - exec_env.c, elf.c: the pure parts (environments, argument vectors,
 *     script lines, ELF headers), unit-tested on their own;
 *   - selfexe.c: /proc/self/exe of a program the loader started.
 * Freestanding, like the rest of the runtime: these run inside the SIGSYS
 * handler, in vfork children, and before a static program's libc. */
#ifndef TW_EXEC_H
#define TW_EXEC_H

#include <linux/elf.h>
#include <stdint.h>

/* How the exec trap tells the loader which program to start: the last
 * variable of the loader's environment, TIMEWARP_EXEC=FD:FILENAME (an open
 * descriptor of the program, the file name exec was given), taken away
 * before the program sees its environment. */
#define TW_ENV_EXEC "TIMEWARP_EXEC"

/* What makes an exec a member's.  Paths absolute; null when unknown. */
struct tw_exec_paths {
	const char *page;    /* the clock page, for TIMEWARP_NS */
	const char *preload; /* libtimewarp.so, for LD_PRELOAD */
	const char *audit;   /* libtimewarp-rt.so, for LD_AUDIT; also the loader */
	const char *exe;     /* what /proc/self/exe stands for in this image */
};

/* ---- exec.c ---- */
/* Execs `path` (execveat's dirfd and flags; AT_FDCWD and 0 for execve) as a
 * member: the kernel's exec when the program loads the runtime itself (a
 * dynamic x86-64 program, or what the kernel alone knows how to run), the
 * loader when it is statically linked, a refusal (a sentence on stderr,
 * -ENOEXEC) for what timewarp cannot serve.  Returns only on failure, -errno,
 * with the calling image intact. */
long tw_exec(const struct tw_exec_paths *p, long dirfd, const char *path, char *const argv[],
	     char *const envp[], long flags);
/* Records the library paths of this image's environment for its execs
 * (called as the runtime starts). */
void tw_exec_record(char *const envp[]);

/* ---- exec_mem.c ---- */
/* The memory of one exec, safe in a vfork child. */
struct tw_exec_mem {
	struct tw_exec_scratch *slot; /* where it is noted (null: not noted) */
	char *mem;
	unsigned long len;
	long old_tid_address; /* the thread's clear_child_tid, to give back */
	int told;             /* the kernel was given the slot's word */
};
/* At least len bytes, zeroed; 0 or -errno. */
long tw_exec_mem_take(struct tw_exec_mem *h, unsigned long len);
/* The exec failed: the memory is this image's to free. */
void tw_exec_mem_drop(struct tw_exec_mem *h);

/* ---- traced.c ---- */
/* The PTRACE_TRACEME this thread (a vfork child) asked for and the runtime
 * kept: made now, right before its exec. */
void tw_exec_traceme(struct tw_exec_mem *h);
/* Whether this thread is traced; buf (size bytes) is room to find out in. */
int tw_exec_traced(char *buf, unsigned long size);
/* The program `fd` copied to a memfd whose headers name the runtime `rt` as
 * its interpreter (a PT_NOTE, else a PT_GNU_STACK asking for no executable
 * stack, made the PT_INTERP; the path after the file's end); ph is room for
 * 4096 bytes of program headers.  The memfd, or -errno. */
long tw_exec_interp_copy(long fd, const char *path, const char *rt, Elf64_Phdr *ph);

/* ---- selfexe.c ---- */
/* Whether (dirfd, path) names this process's /proc/self/exe. */
int tw_is_self_exe(long dirfd, const char *path);

/* ---- exec_env.c (pure) ---- */
/* The member environment of `envp`: TIMEWARP_NS, LD_PRELOAD and LD_AUDIT put
 * back where missing (the libraries ahead of what the lists name), unless
 * `envp` names another namespace (a nested `timewarp run`: left alone);
 * TIMEWARP_EXEC taken out; `extra` (a whole NAME=VALUE, or null) last.
 * With `out` null, only counts: *ptrs pointers (the final null included) and
 * *bytes of strings.  Else fills `out` and `bytes` (of those sizes) and
 * returns `out`. */
char **tw_env_member(char *const envp[], const struct tw_exec_paths *p, const char *extra,
		     char **out, char *bytes, unsigned long *ptrs, unsigned long *nbytes);
/* Whether `list` (an LD_PRELOAD or LD_AUDIT value, entries separated by any
 * of `seps`) has the entry `lib`. */
int tw_list_has(const char *list, const char *seps, const char *lib);
/* The entry of `list` whose last path component is `name` and that is an
 * absolute path, copied to buf (n bytes); 0, or -1 when there is none. */
int tw_list_find(const char *list, const char *seps, const char *name, char *buf,
		 unsigned long n);
/* Writes v in decimal at `at`, NUL-terminated; returns where the NUL is. */
char *tw_put_dec(char *at, unsigned long v);
/* The value of NAME in envp (`name` includes the '='), or null. */
const char *tw_env_get(char *const envp[], const char *name);
/* The argument vector the kernel gives the last interpreter of a chain of
 * `levels` scripts: for each level from the last, its interpreter and
 * optional argument (name[i], arg[i]); then the file name exec was given;
 * then argv after its first.  out has room for tw_argv_count() pointers. */
unsigned long tw_argv_count(char *const argv[], int levels);
char **tw_argv_scripts(char *const argv[], const char *filename, int levels,
		       char *const name[], char *const arg[], char **out);

/* ---- elf.c (pure) ---- */
/* A script's first line (the kernel's first 256 bytes of the file, `buf`,
 * zeros past its end; modified in place): its interpreter and its optional
 * argument.  0, or -ENOEXEC. */
#define TW_SCRIPT_HEAD 256
int tw_script_line(char *buf, char **name, char **arg);

enum tw_elf_class {
	TW_ELF_NONE,    /* not ELF at all */
	TW_ELF_NATIVE,  /* an x86-64 executable: dynamic or static, its headers say */
	TW_ELF_FOREIGN, /* an executable of another class or machine (32-bit) */
	TW_ELF_OTHER,   /* an ELF file the kernel does not run (object, core) */
};
enum tw_elf_class tw_elf_class(const void *head, unsigned long n);

/* What a native ELF program's headers ask of whoever loads it. */
struct tw_elf_layout {
	uint64_t lo, hi;            /* page-aligned span of its PT_LOAD segments */
	uint64_t align;             /* the largest p_align of them (at least a page) */
	uint64_t start_code, end_code, start_data, end_data; /* as the kernel counts them */
	uint64_t end;               /* end of its last segment in memory (the break starts after) */
	uint64_t phdr;              /* where its program headers are in memory, 0 if nowhere */
	int interp;                 /* has PT_INTERP: dynamically linked */
	int exec_stack;             /* PT_GNU_STACK asks for an executable stack */
};
/* The layout of the program headers ph[0..n): 0, or -ENOEXEC for headers the
 * kernel would not load. */
int tw_elf_layout(const Elf64_Ehdr *eh, const Elf64_Phdr *ph, unsigned n,
		  struct tw_elf_layout *out);


#endif
