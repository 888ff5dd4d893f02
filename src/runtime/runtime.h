/* The member runtime: what timewarp runs inside every member, whatever the
 * program (DESIGN: "No escape through system calls").
 *
 * A seccomp filter, installed once for the whole process tree before its first
 * exec (filter.c), traps the system calls that carry a clock: time reads,
 * clock setting, waits with timeouts or deadlines, timers, exec, and the
 * signal calls that could take SIGSYS away.  The runtime's SIGSYS handler
 * (sigsys.c) serves each with the engine, as the kernel would inside a time
 * namespace.  The runtime's own system calls go through the *gate* (gate.c), a
 * page at a fixed address from which the filter lets every call through.
 *
 * Freestanding, like the engine: no libc, no allocation but mmap, no thread
 * locals, async-signal-safe throughout.  It starts before the program's own
 * code and libraries: loaded by ld.so as an audit module (audit.c), it is
 * ready before any library constructor runs.  Its state lives beside the gate
 * (struct tw_rt), so that the preload library, the CLI running inside a
 * namespace, and the runtime find one another at that address. */
#ifndef TW_RUNTIME_H
#define TW_RUNTIME_H

#include <stdint.h>

#include "engine.h"
#include "fold.h"

/* The gate page and the runtime's state after it: below 4 GiB (the filter
 * compares one 32-bit half of the instruction pointer), above where programs
 * and their heaps usually start, and not where rr puts its own page. */
#define TW_RT_ADDR 0x6f5a0000UL
#define TW_RT_PAGES 16UL /* the gate, then the state */
#define TW_RT_STATE (TW_RT_ADDR + 4096UL)
#define TW_RT_MAGIC 0x74777274696d6531ULL

/* The tag the filter puts on its traps (SECCOMP_RET_DATA, seen as si_errno):
 * a SIGSYS that does not carry it is the program's own. */
#define TW_TRAP_DATA 0x7457

#define TW_PATH_MAX 4096

/* A signal disposition as the kernel's rt_sigaction takes it. */
struct tw_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

struct tw_rt {
	uint64_t magic;            /* TW_RT_MAGIC once started */
	int32_t pid;               /* the process that started it (a fork copies it) */
	int32_t pad;
	const struct tw_page *page; /* null: started outside a namespace */
	struct tw_host host;       /* host clocks; its system calls through the gate */
	struct tw_memo memo[2];
	struct tw_fold fold[TW_FOLD_SLOTS];
	void *vdso;                /* the timewarp vDSO, or null */
	uint64_t host_vdso_lo, host_vdso_hi; /* where the host's vDSO is */
	char page_path[TW_PATH_MAX];
	uint64_t page_dev, page_ino; /* the file it mapped there */
	/* The program's own SIGSYS disposition: SIGSYS stays the runtime's, and
	 * a SIGSYS that is not a trap of its filter goes to this. */
	struct tw_sigaction app_sigsys;
	/* The signals whose handlers the program installed with SIGSYS in their
	 * mask (installed without it: signals.c), bit sig - 1. */
	uint64_t sigsys_masked;
	/* Waits and timers (kick.c, timers.c, watcher.c): chunks mapped as more
	 * are needed, and the watcher thread. */
	void *slots;
	void *timers;
	uint32_t cancels; /* timerfds cancelled and not yet read (timers.c) */
	int32_t watcher_pid; /* the process whose watcher runs (0: none) */
	int32_t watcher_tid;

	/* ---- exec (exec.h) ---- */
	/* The libraries that make an exec a member's, from this image's
	 * LD_PRELOAD and LD_AUDIT as it started; empty when unknown. */
	char exec_preload[TW_PATH_MAX];
	char exec_audit[TW_PATH_MAX];
	/* The program the loader started in this image (what /proc/self/exe
	 * stands for), or empty. */
	char exe_path[TW_PATH_MAX];
	/* Memory an exec built the new image's vectors in: a vfork child's is
	 * its parent's, freed once the kernel has said the exec is done. */
	struct tw_exec_scratch {
		int32_t user;   /* the exec's thread; the kernel zeroes it (exec.c) */
		uint32_t state;
		uint64_t addr, len;
	} exec_scratch[8];
	/* vfork children that asked to be traced, until their exec (exec.c) */
	int32_t exec_traceme[8];
};

_Static_assert(sizeof(struct tw_rt) <= (TW_RT_PAGES - 1) * 4096, "the state fits its pages");

/* The runtime of this process, or null when it has not started. */
static inline struct tw_rt *tw_rt(void)
{
	struct tw_rt *rt = (struct tw_rt *)TW_RT_STATE;

	/* the address is ours only once the state says so; reading it before
	 * checks the gate's mapping first (tw_gate_mapped) */
	return rt;
}

/* ---- gate.c ---- */
/* The gate's code, copied to TW_RT_ADDR; tw_gate_after is where the filter
 * sees the instruction pointer of the gate's system call. */
/* (hidden: reached without a GOT entry, so that the runtime needs no
 * relocation when it runs as the loader, exec.h) */
extern __attribute__((visibility("hidden"))) const char tw_gate_code[], tw_gate_after[],
	tw_gate_restorer[], tw_gate_end[];
/* The instruction pointer the filter lets through. */
static inline uint64_t tw_gate_ip(void)
{
	return TW_RT_ADDR + (uint64_t)(tw_gate_after - tw_gate_code);
}
/* Whether this process has its gate and runtime state (and they are ours). */
int tw_gate_mapped(void);
/* Maps the gate and the state pages at their address; 0 or -errno. */
long tw_gate_map(void);
/* A system call through the gate (or directly, before the gate exists). */
long tw_rt_syscall(long nr, long a, long b, long c, long d, long e, long f);

/* ---- start.c ---- */
/* Starts the runtime for the process whose initial stack (argc, argv, envp,
 * auxiliary vector) is at `sp`: joins the namespace TIMEWARP_NS names (or
 * exits saying why), maps the gate, installs the timewarp vDSO and the SIGSYS
 * handler.  Outside a namespace, it does nothing.  Idempotent. */
void tw_rt_start(long *sp);

/* ---- vvar_find.c ---- */
/* The kernel's vDSO data page of this process, or null. */
/* The kernel's vDSO data mappings (vvar_find.c): [vvar] and [vvar_vclock],
 * null where there is none. */
struct tw_vvar_maps {
	const void *vvar, *vclock;
};
void tw_find_vvar(const void *vdso, struct tw_vvar_maps *v);

/* ---- sigsys.c ---- */
long tw_sigsys_install(void);

/* ---- timers.c ---- */
/* read() of timerfd `fd` found it cancelled (TFD_TIMER_CANCEL_ON_SET, the
 * namespace's REALTIME set): 1 once, and the timer armed again; for the
 * preload library's read. */
int tw_timerfd_take_cancel(int fd);

/* ---- mini.c: what the runtime needs of libc, on its own ---- */
void *tw_memcpy(void *d, const void *s, unsigned long n);
void *tw_memset(void *d, int c, unsigned long n);
unsigned long tw_strlen(const char *s);
int tw_strncmp(const char *a, const char *b, unsigned long n);
int tw_memcmp(const void *a, const void *b, unsigned long n);
/* v in decimal, written at the end of buf: the string's start. */
char *tw_utoa(unsigned long v, char buf[24]);
/* The n strings of `parts` one after the other in buf (cut to its size). */
char *tw_cat(char *buf, unsigned long size, const char *const *parts, unsigned n);
/* This process's id. */
int32_t tw_getpid(void);
/* Links a new zeroed, mapped chunk of `bytes` at *link, the `next` field
 * (null) of a lock-free list's last chunk, unless another thread linked one
 * there first (then this one is unmapped); either way the caller walks on
 * from *link.  0, or -1 when there is no memory for it. */
int tw_chunk_append(void **link, unsigned long bytes);
/* A small file (of /proc) read whole into buf (size bytes), NUL-terminated:
 * its length, or -errno. */
long tw_read_file(const char *path, char *buf, unsigned long size);
/* Writes "timewarp: " what why "\n" to stderr. */
void tw_say(const char *what, const char *why);
__attribute__((noreturn)) void tw_exit(int status);
const char *tw_strerror(long err);

#endif
