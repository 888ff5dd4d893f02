/* timewarp control library: create, open, change and inspect time namespaces.
 *
 * The `timewarp` CLI is a thin layer over this header; a C test harness can use
 * it the same way to drive time directly: cc x.c $(pkg-config --cflags --libs
 * timewarp), and man 3 timewarp.
 *
 * Conventions: functions return 0 (or a count) on success and -errno on failure;
 * they never print and never exit.  Parsers also return a short reason through
 * `why` for the caller's message; the namespace functions leave one in
 * tw_why(), naming the path they refused and the reason.  All times are nanoseconds in int64_t; rates
 * are Q32.32 fixed point (TW_RATE_ONE is 1.0).
 *
 *     struct tw_change c = { .what = TW_CH_AT, .at = 2147483647LL * TW_NSEC };
 *     struct tw_ns *ns;
 *     enum tw_refusal r;
 *     tw_ns_create("ci", 0, &c, tw_caller(), &r, &ns); // like `timewarp create ci --at ...`
 *     ...
 *     struct tw_change adv = { .what = TW_CH_ADVANCE, .advance = 86400 * TW_NSEC };
 *     tw_ns_change(ns, &adv, tw_caller(), &r);       // like `timewarp set ci --advance 1d`
 *     tw_ns_close(ns);
 */
#ifndef TIMEWARP_H
#define TIMEWARP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "clockmath.h" /* struct tw_change, enum tw_refusal, TW_*: src/engine/ */

#define TIMEWARP_VERSION "0.1.0"

/* The environment a member carries: the path of its clock page. */
#define TW_ENV_PAGE "TIMEWARP_NS"

/* ---- input: pure parsers ------------------------------------------------ */

/* Dates: YYYY-M[M]-D[D] or YYYYMMDD, then [T| ]hh:mm[:ss[.frac]], then a zone (Z,
 * UTC, GMT, +-hh:mm, +-hhmm, +-hh), directly or after a space; a month's name, a
 * day and a year in any order with a time and a zone ("Jan 1 2030", date(1)'s
 * output); @SECONDS[.frac]; faketime's @DATE.  Local time (TZ) without a zone.
 * -EINVAL when unparsable, relative ("tomorrow") or not a real date/time (Feb 30,
 * a time skipped by a DST change), -ERANGE outside
 * [1970-01-01, 2262-04-11T23:47:16.854775807Z]. */
int tw_parse_date(const char *s, int64_t *ns, const char **why);
/* Durations: [+-]NUMBERunit... with units ns us ms s m h d w y (y = 365 d), each
 * at most once, and decimal NUMBERs: +1d2h30m, -90s, 1.5h, 250ms. */
int tw_parse_duration(const char *s, int64_t *ns, const char **why);
/* Rates: decimals from 0 to 1000000 (0.001, 1, 10, 2.5). */
int tw_parse_rate(const char *s, uint64_t *rate, const char **why);

/* ---- output ------------------------------------------------------------- */

/* 2038-01-19T03:14:07.000000000Z */
void tw_format_date(int64_t ns, char *buf, size_t n);
/* +400d, -1h30m, +1d2h30m0.25s: no spaces, parses back exactly; "0s" for zero */
void tw_format_duration(int64_t ns, char *buf, size_t n);
/* shortest decimal that parses back to the same Q32.32 value */
void tw_format_rate(uint64_t rate, char *buf, size_t n);
/* the refusal as a phrase: "MONOTONIC would go backwards" */
const char *tw_refusal_str(enum tw_refusal r);

/* ---- namespaces --------------------------------------------------------- */

struct tw_ns;

/* Why the last failing namespace call of this thread failed, as a phrase that
 * names what it refused and why ("/tmp/x/timewarp: mode 0777, must be 0700 and
 * owned by uid 1000"); "" when there is nothing more to say than -errno. */
const char *tw_why(void);

/* [A-Za-z0-9._-]{1,64}: a name create and run --name accept */
int tw_name_valid(const char *name);
/* A name or an anonymous entry ("@run-4242.0"): what ls lists and open takes */
int tw_entry_valid(const char *name);
/* The caller's namespaces directory (the store), created 0700 if missing: its
 * path goes to buf, also when it is refused (-EPERM: it, or a directory on the
 * way to it, belongs to someone else or others may write into it; -ENOTDIR:
 * a symbolic link or not a directory).  Root's too: no user's directory is
 * root's store. */
int tw_dir(char *buf, size_t n);
/* Clears away what nobody can use any more: the namespaces of `timewarp run`
 * whose processes are all gone, removed ones nothing has open or mapped any
 * more, files of creates that were killed.  The CLI calls it at every command.
 * Quietly does nothing when the store is missing or refused. */
void tw_collect(void);

/* The namespace the calling process is a member of (from TW_ENV_PAGE), or null
 * for the host.  --offset, --monotonic and --boottime are relative to the
 * caller's clocks, and a nested namespace starts from them. */
const struct tw_ns *tw_caller(void);

/* A new namespace: named (NAME in the namespaces directory, -EEXIST if taken) or
 * anonymous (name null).  It starts from the caller's clocks and then takes
 * change `c` (c->creating is implied); -ERANGE with *refusal set when the change
 * is refused.  A transient namespace (anonymous ones always are) is cleared away
 * by the next collection (tw_collect) after nothing has its page open or
 * mapped any more: the handle this returns holds it until closed, and
 * `timewarp run` keeps it open across the exec of its command.  Others last
 * until tw_ns_remove.  Space for the page is reserved before it is written: a
 * full store is -ENOSPC, and nothing is left behind. */
int tw_ns_create(const char *name, int transient, const struct tw_change *c,
		 const struct tw_ns *caller, enum tw_refusal *refusal, struct tw_ns **out);
/* Open by name (an entry of the caller's store) or by clock page path.  The
 * page is opened without following a symbolic link or blocking, and only when
 * it is a regular file of the caller or root, exactly a page long: else -ELOOP,
 * -EPROTO, -EPERM. */
int tw_ns_open(const char *name, struct tw_ns **out);
int tw_ns_open_path(const char *path, struct tw_ns **out);
/* Open the namespace process `pid` is a member of: -ESRCH when there is no
 * such process, -ENODATA when it is in none, -ENOENT when its namespace was
 * removed. */
int tw_ns_open_pid(pid_t pid, struct tw_ns **out);
/* One atomic rebase-and-change (DESIGN section 2); members see it at their next
 * read and waiters on the generation word are woken. */
int tw_ns_change(struct tw_ns *ns, const struct tw_change *c, const struct tw_ns *caller,
		 enum tw_refusal *refusal);
/* Remove the namespace's name (one opened by name): no one can join or set it
 * after; running members, and the children they start, keep it.  Its page goes
 * when this handle is closed if nothing else has it open or mapped, else once
 * the collector finds it unused (tw_collect). */
int tw_ns_remove(struct tw_ns *ns);
/* rm: every name is checked first (-ENOENT, nothing removed, when one is
 * missing), then each is removed as by tw_ns_remove; an entry that is not a
 * clock page of this version goes too if it is a plain file of the caller. */
int tw_ns_rm(char *const names[]);
void tw_ns_close(struct tw_ns *ns);

/* The clock page as members find it (the TIMEWARP_NS they are given). */
const char *tw_ns_path(const struct tw_ns *ns);
/* The name, or "" for an anonymous namespace. */
const char *tw_ns_name(const struct tw_ns *ns);
/* The store entry it was opened by ("ci", "@run-4242.0"), "" when by path. */
const char *tw_ns_entry(const struct tw_ns *ns);
/* The page itself (read-only use). */
const struct tw_page *tw_ns_page(const struct tw_ns *ns);
/* Host and virtual clock lines at one host instant. */
int tw_ns_now(const struct tw_ns *ns, int64_t host[TW_NLINES], int64_t virt[TW_NLINES]);
/* clock_gettime inside the namespace */
int tw_ns_gettime(const struct tw_ns *ns, clockid_t clk, struct timespec *ts);
/* Members: processes that have the page mapped (those whose /proc/PID/maps
 * the caller can read).  Fills up to `max` pids and returns how many there are. */
int tw_ns_members(const struct tw_ns *ns, pid_t *pids, size_t max);
/* The same for many namespaces from one reading of /proc. */
struct tw_members;
int tw_members_scan(struct tw_members **out);
int tw_members_of(const struct tw_members *ms, const struct tw_ns *ns, pid_t *pids, size_t max);
void tw_members_free(struct tw_members *ms);

/* ---- programs ------------------------------------------------------------ */

/* 0 when a program started from `path` can be a member (an x86-64 ELF,
 * dynamically or statically linked, or a script whose interpreter is one);
 * -ENOEXEC when it is of another class or machine (32-bit) and would run on
 * host time, with the binary named in `culprit`.  No allocation: safe between
 * vfork and exec. */
int tw_exec_reachable(const char *path, char *culprit, size_t culprit_len);
/* The file execvp would run for `file` (PATH search), into buf. */
int tw_exec_find(const char *file, char *buf, size_t n);

/* Names in the caller's namespaces directory (anonymous ones start with '@'),
 * sorted; free with tw_names_free.  What nobody can use any more is cleared
 * away first, as tw_collect does, and pages that lost their name by other
 * means than rm. */
int tw_ns_list(char ***names);
void tw_names_free(char **names);

#endif
