/* timewarp: give a process tree its own clocks.  This file dispatches the verbs;
 * options.c parses, run.c starts members, show.c prints. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "die.h"
#include "verbs.h"

/* A refused change: the value that was refused and why. */
__attribute__((noreturn)) static void refused(const struct options *o, enum tw_refusal r)
{
	const struct tw_change *c = &o->change;
	const char *what = "the change";
	char buf[160];

	if (r == TW_BAD_REALTIME && (c->what & TW_CH_AT))
		snprintf(buf, sizeof(buf), "--at %s", o->given_at), what = buf;
	else if (r == TW_BAD_REALTIME && (c->what & TW_CH_OFFSET))
		snprintf(buf, sizeof(buf), "--offset %s", o->given_offset), what = buf;
	else if ((r == TW_BAD_MONOTONIC || r == TW_BACK_MONOTONIC) && (c->what & TW_CH_MONOTONIC))
		snprintf(buf, sizeof(buf), "--monotonic %s", o->given_monotonic), what = buf;
	else if ((r == TW_BAD_BOOTTIME || r == TW_BACK_BOOTTIME) && (c->what & TW_CH_BOOTTIME))
		snprintf(buf, sizeof(buf), "--boottime %s", o->given_boottime), what = buf;
	else if (c->what & TW_CH_ADVANCE)
		snprintf(buf, sizeof(buf), "--advance %s", o->given_advance), what = buf;
	die(EXIT_USAGE, "%s is refused: %s", what, tw_refusal_str(r));
}

static const char *subject(const struct options *o, char *buf, size_t n)
{
	if (o->pid)
		snprintf(buf, n, "the namespace of pid %d", (int)o->pid);
	else
		snprintf(buf, n, "namespace '%s'", o->name);
	return buf;
}

/* The reason the control library gave, else the errno's. */
static const char *why(int r)
{
	return tw_why()[0] ? tw_why() : strerror(-r);
}

/* A namespaces directory that cannot be used: said, naming it and why. */
void check_store(int r)
{
	if (r == -EPERM || r == -ENOTDIR)
		die(1, "%s", why(r));
}

struct tw_ns *open_named(const struct options *o)
{
	char what[128];
	struct tw_ns *ns;
	int r = o->pid ? tw_ns_open_pid(o->pid, &ns) : tw_ns_open(o->name, &ns);

	if (!r)
		return ns;
	/* no such name or process, or not in a namespace: bad input */
	if (r == -ENOENT || (o->pid && (r == -ESRCH || r == -ENODATA)))
		die(EXIT_USAGE, "%s", why(r));
	die(1, "cannot open %s: %s", subject(o, what, sizeof(what)), why(r));
}

/* The namespace this command runs in (TIMEWARP_NS), which --offset and the
 * like are relative to: one that cannot be used is said, not taken for the
 * host.  (Inside a member the preload library has checked it already.) */
static const struct tw_ns *caller(void)
{
	const char *path = getenv(TW_ENV_PAGE);
	const struct tw_ns *c = tw_caller();
	struct tw_ns *ns;
	int r;

	if (c || !path || !*path)
		return c;
	if ((r = tw_ns_open_path(path, &ns)))
		die(1, "cannot use the namespace this command runs in (%s): %s", TW_ENV_PAGE, why(r));
	tw_ns_close(ns);
	die(1, "cannot use the namespace this command runs in (%s=%s)", TW_ENV_PAGE, path);
}

/* A namespace could not be made: bad input is the caller's, the rest ours. */
static void not_created(const struct options *o, int r, enum tw_refusal refusal)
{
	if (r == -ERANGE)
		refused(o, refusal);
	if (r == -EEXIST)
		die(EXIT_USAGE, "a namespace named '%s' already exists", o->name);
	if (o->name)
		die(1, "cannot create namespace '%s': %s", o->name, why(r));
	die(1, "cannot create a namespace: %s", why(r));
}

static int verb_run(const struct options *o)
{
	enum tw_refusal refusal;
	struct tw_ns *ns;
	int r = tw_ns_create(o->name, 1, &o->change, caller(), &refusal, &ns), status;

	if (r)
		not_created(o, r, refusal);
	status = become_member(ns, o->command);
	tw_ns_remove(ns); /* the command could not be run */
	tw_ns_close(ns);
	leave(status);
}

static int verb_create(const struct options *o)
{
	enum tw_refusal refusal;
	struct tw_ns *ns;
	int r = tw_ns_create(o->name, 0, &o->change, caller(), &refusal, &ns);

	if (r)
		not_created(o, r, refusal);
	tw_ns_close(ns);
	return 0;
}

static int verb_join(const struct options *o)
{
	struct tw_ns *ns = open_named(o);
	int status = become_member(ns, o->command);

	tw_ns_close(ns);
	leave(status);
}

/* One line: where the namespace's REALTIME and rate are now. */
static void say_state(const struct options *o, const struct tw_ns *ns)
{
	int64_t host[TW_NLINES], virt[TW_NLINES];
	struct tw_params p;
	char date[64], rate[32], what[128];

	tw_read_params(tw_ns_page(ns), &p);
	if (tw_ns_now(ns, host, virt))
		return; /* the change is made; only the report of it is missing */
	tw_format_date(virt[TW_LINE_REALTIME], date, sizeof(date));
	tw_format_rate(p.rate, rate, sizeof(rate));
	if (o->pid)
		snprintf(what, sizeof(what), "namespace of pid %d", (int)o->pid);
	else
		snprintf(what, sizeof(what), "%s", o->name);
	printf("%s: realtime %s, rate %s%s\n", what, date, rate, p.rate ? "" : " (frozen)");
}

static int verb_set(const struct options *o)
{
	struct tw_ns *ns = open_named(o);
	enum tw_refusal refusal;
	char what[128];
	int r;

	/* tw_apply lets --resume of running clocks be; a user who asked for it
	 * expected frozen ones, so say that it would change nothing */
	if ((o->change.what & TW_CH_RESUME)) {
		struct tw_params p;
		char rate[32];

		tw_read_params(tw_ns_page(ns), &p);
		tw_format_rate(p.rate, rate, sizeof(rate));
		if (p.rate)
			die(EXIT_USAGE, "%s is not frozen (rate %s): --resume has nothing to resume",
			    subject(o, what, sizeof(what)), rate);
	}
	r = tw_ns_change(ns, &o->change, caller(), &refusal);
	if (r == -ERANGE)
		refused(o, refusal);
	if (r == -EACCES)
		die(1, "cannot change %s: it belongs to another user", subject(o, what, sizeof(what)));
	if (r)
		die(1, "cannot change %s: %s", subject(o, what, sizeof(what)), strerror(-r));
	if (!o->quiet)
		say_state(o, ns);
	tw_ns_close(ns);
	return 0;
}

/* rm of a namespace that has members would leave them on clocks nobody can
 * set any more: refused without --force, naming them. */
static void check_unused(const struct options *o, const char *name, struct tw_ns *ns)
{
	pid_t pids[8];
	char list[8 * 12 + 8] = "";
	int n = tw_ns_members(ns, pids, 8);

	if (n <= 0 || o->force)
		return;
	for (int i = 0; i < n && i < 8; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%d", i ? " " : "",
			 (int)pids[i]);
	if (n > 8)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), " ...");
	tw_ns_close(ns);
	die(EXIT_USAGE, "namespace '%s' has %d member%s still running (pid%s %s), which would keep "
	    "its clocks with nobody able to set them any more; stop %s first, or give --force",
	    name, n, n == 1 ? "" : "s", n == 1 ? "" : "s", list, n == 1 ? "it" : "them");
}

static int verb_rm(const struct options *o)
{
	int r;

	/* every name is checked before any is removed: bad input changes nothing,
	 * and a namespace with members is removed only with --force */
	for (char **n = o->names; *n; n++) {
		struct tw_ns *ns;

		if (!tw_ns_open(*n, &ns)) {
			check_unused(o, *n, ns);
			tw_ns_close(ns);
		}
	}
	r = tw_ns_rm(o->names);
	if (r == -ENOENT)
		die(EXIT_USAGE, "%s", why(r));
	if (r)
		die(1, "cannot remove: %s", why(r));
	return 0;
}

static int run_verb(const struct options *o)
{
	/* what a killed run left behind goes at the next command, whichever */
	tw_collect();
	switch (o->verb) {
	case V_RUN: return verb_run(o);
	case V_CREATE: return verb_create(o);
	case V_JOIN: return verb_join(o);
	case V_SET: return verb_set(o);
	case V_SHOW: return verb_show(o);
	case V_LS: return verb_ls(o);
	case V_RM: return verb_rm(o);
	case V_NVERBS: break;
	}
	return 1;
}

int main(int argc, char **argv)
{
	struct options o;
	int status;

	parse_options(argc, argv, &o);
	status = run_verb(&o);
	free(o.names);
	return status;
}
