/* The environment and the argument vector of a member's exec, computed from
 * the program's own (exec.c does the exec).  Pure: no system call, no memory
 * of its own; the caller counts first, then gives room of that size. */
#include "exec.h"
#include "runtime.h"

#define NS_VAR "TIMEWARP_NS="
#define PRELOAD_VAR "LD_PRELOAD="
#define AUDIT_VAR "LD_AUDIT="
#define EXEC_VAR TW_ENV_EXEC "="

static int starts(const char *s, const char *prefix)
{
	return !tw_strncmp(s, prefix, tw_strlen(prefix));
}

static int is_sep(char c, const char *seps)
{
	for (; *seps; seps++)
		if (c == *seps)
			return 1;
	return 0;
}

/* The entries of a list: *len bytes from the returned pointer; null at the end. */
static const char *next_entry(const char **at, const char *seps, unsigned long *len)
{
	const char *p = *at, *e;

	while (*p && is_sep(*p, seps))
		p++;
	if (!*p)
		return 0;
	for (e = p; *e && !is_sep(*e, seps); e++)
		;
	*len = (unsigned long)(e - p);
	*at = e;
	return p;
}

int tw_list_has(const char *list, const char *seps, const char *lib)
{
	unsigned long n = tw_strlen(lib), len;
	const char *e;

	while (list && (e = next_entry(&list, seps, &len)))
		if (len == n && !tw_memcmp(e, lib, n))
			return 1;
	return 0;
}

int tw_list_find(const char *list, const char *seps, const char *name, char *buf,
		 unsigned long n)
{
	unsigned long want = tw_strlen(name), len;
	const char *e;

	while (list && (e = next_entry(&list, seps, &len))) {
		if (e[0] != '/' || len < want + 1 || len >= n || e[len - want - 1] != '/' ||
		    tw_memcmp(e + len - want, name, want))
			continue;
		tw_memcpy(buf, e, len);
		buf[len] = 0;
		return 0;
	}
	return -1;
}

const char *tw_env_get(char *const envp[], const char *name)
{
	for (; envp && *envp; envp++)
		if (starts(*envp, name))
			return *envp + tw_strlen(name);
	return 0;
}

/* Writes NAME=LIB[:OLD] at *b (when b is not null) and returns its size. */
static unsigned long put_list(char *b, const char *var, const char *lib, const char *old)
{
	unsigned long v = tw_strlen(var), l = tw_strlen(lib), o = old ? tw_strlen(old) : 0;

	if (b) {
		tw_memcpy(b, var, v);
		tw_memcpy(b + v, lib, l);
		if (o) {
			b[v + l] = ':';
			tw_memcpy(b + v + l + 1, old, o);
		}
		b[v + l + (o ? o + 1 : 0)] = 0;
	}
	return v + l + (o ? o + 1 : 0) + 1;
}

/* The room for, and the writing of, the environment (see exec.h). */
struct builder {
	char **out;
	char *bytes;
	unsigned long ptrs, nbytes;
};

static void add(struct builder *b, char *s)
{
	if (b->out)
		b->out[b->ptrs] = s;
	b->ptrs++;
}

/* NAME=LIB[:OLD] as a new string. */
static void add_list(struct builder *b, const char *var, const char *lib, const char *old)
{
	char *at = b->out ? b->bytes + b->nbytes : 0;

	b->nbytes += put_list(at, var, lib, old);
	add(b, at);
}

/* The namespace's libraries, 0 the preload library and 1 the runtime:
 * LD_PRELOAD's entries are separated by spaces or colons, LD_AUDIT's by
 * colons (ld.so's rules).  (Functions, not a table of pointers: the runtime
 * needs no relocation, exec.h.) */
#define NLIBS 2

static const char *lib_var(int which)
{
	return which ? AUDIT_VAR : PRELOAD_VAR;
}

static const char *lib_seps(int which)
{
	return which ? ":" : ": ";
}

static const char *lib_path(const struct tw_exec_paths *p, int which)
{
	return which ? p->audit : p->preload;
}

char **tw_env_member(char *const envp[], const struct tw_exec_paths *p, const char *extra,
		     char **out, char *bytes, unsigned long *ptrs, unsigned long *nbytes)
{
	struct builder b = { out, bytes, 0, 0 };
	const char *ns = tw_env_get(envp, NS_VAR);
	int other = ns && *ns && p->page && tw_strncmp(ns, p->page, TW_PATH_MAX);
	int seen_ns = 0, seen[2] = { 0, 0 };

	for (char *const *e = envp; e && *e; e++) {
		int l = -1;

		if (starts(*e, EXEC_VAR))
			continue;
		if (other) {
			add(&b, *e);
			continue;
		}
		if (starts(*e, NS_VAR) && p->page) {
			seen_ns = 1;
			if (*ns) { /* ours (the first one is what counts) */
				add(&b, *e);
				continue;
			}
			add_list(&b, NS_VAR, p->page, 0);
			continue;
		}
		for (int i = 0; i < NLIBS; i++)
			if (starts(*e, lib_var(i)) && lib_path(p, i))
				l = i;
		if (l < 0) {
			add(&b, *e);
			continue;
		}
		seen[l] = 1;
		if (tw_list_has(*e + tw_strlen(lib_var(l)), lib_seps(l), lib_path(p, l)))
			add(&b, *e);
		else
			add_list(&b, lib_var(l), lib_path(p, l), *e + tw_strlen(lib_var(l)));
	}
	if (!other) {
		if (!seen_ns && p->page)
			add_list(&b, NS_VAR, p->page, 0);
		for (int i = 0; i < NLIBS; i++)
			if (!seen[i] && lib_path(p, i))
				add_list(&b, lib_var(i), lib_path(p, i), 0);
	}
	if (extra)
		add(&b, (char *)extra);
	add(&b, 0);
	*ptrs = b.ptrs;
	*nbytes = b.nbytes;
	return out;
}

unsigned long tw_argv_count(char *const argv[], int levels)
{
	unsigned long n = 0;

	while (argv && argv[n])
		n++;
	/* each level: interpreter and argument; then the file name, the rest
	 * of argv, the null */
	return 2 * (unsigned long)levels + 1 + (n ? n - 1 : 0) + 1;
}

char **tw_argv_scripts(char *const argv[], const char *filename, int levels,
		       char *const name[], char *const arg[], char **out)
{
	unsigned long n = 0;

	for (int i = levels - 1; i >= 0; i--) {
		out[n++] = name[i];
		if (arg[i])
			out[n++] = arg[i];
	}
	out[n++] = (char *)filename;
	/* the kernel takes argv[0] away (an empty argv has "" as its first) */
	for (unsigned long i = 1; argv && argv[0] && argv[i]; i++)
		out[n++] = argv[i];
	out[n] = 0;
	return out;
}

char *tw_put_dec(char *at, unsigned long v)
{
	char d[24];
	int n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		*at++ = d[--n];
	*at = 0;
	return at;
}
