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

void check_store(int r)
{
	char dir[PATH_MAX];

	if (r != -EPERM && r != -ENOTDIR)
		return;
	dir[0] = 0;
	tw_dir(dir, sizeof(dir)); /* fills in the path even when it refuses it */
	die(1, "cannot use the namespaces directory %s: it must be a directory owned by you "
	       "with mode 0700", dir);
}

struct tw_ns *open_named(const struct options *o)
{
	char dir[PATH_MAX], what[128];
	struct tw_ns *ns;
	int r = o->pid ? tw_ns_open_pid(o->pid, &ns) : tw_ns_open(o->name, &ns);

	if (!r)
		return ns;
	subject(o, what, sizeof(what));
	if (o->pid && r == -ESRCH)
		die(EXIT_USAGE, "process %d is not a member of any time namespace", (int)o->pid);
	if (o->pid && r == -ENOENT)
		die(EXIT_USAGE, "process %d is in a time namespace that was removed", (int)o->pid);
	if (o->pid && r == -EACCES)
		die(1, "cannot inspect process %d: %s", (int)o->pid, strerror(-r));
	if (r == -ENOENT) {
		if (tw_dir(dir, sizeof(dir)))
			snprintf(dir, sizeof(dir), "the namespaces directory");
		die(EXIT_USAGE, "no namespace named '%s' in %s", o->name, dir);
	}
	if (r == -EPROTO)
		die(1, "%s is not a clock page of this timewarp version", what);
	if (r == -EBADMSG)
		die(1, "%s has a damaged clock page (values out of range)", what);
	if (r == -EACCES)
		die(1, "cannot open %s: it belongs to another user", what);
	check_store(r);
	die(1, "cannot open %s: %s", what, strerror(-r));
}

static int verb_run(const struct options *o)
{
	enum tw_refusal why;
	struct tw_ns *ns;
	int r = tw_ns_create(o->name, 1, &o->change, tw_caller(), &why, &ns), status;
	char page[PATH_MAX];

	if (r == -ERANGE)
		refused(o, why);
	if (r == -EEXIST)
		die(EXIT_USAGE, "a namespace named '%s' already exists", o->name);
	check_store(r);
	if (r)
		die(1, "cannot create a namespace: %s", strerror(-r));
	snprintf(page, sizeof(page), "%s", tw_ns_path(ns));
	status = become_member(page, o->command);
	tw_ns_remove(ns); /* the command could not be run */
	tw_ns_close(ns);
	return status;
}

static int verb_create(const struct options *o)
{
	enum tw_refusal why;
	struct tw_ns *ns;
	int r = tw_ns_create(o->name, 0, &o->change, tw_caller(), &why, &ns);

	if (r == -ERANGE)
		refused(o, why);
	if (r == -EEXIST)
		die(EXIT_USAGE, "a namespace named '%s' already exists", o->name);
	check_store(r);
	if (r)
		die(1, "cannot create namespace '%s': %s", o->name, strerror(-r));
	tw_ns_close(ns);
	return 0;
}

static int verb_join(const struct options *o)
{
	struct tw_ns *ns = open_named(o);
	int status = become_member(tw_ns_path(ns), o->command);

	tw_ns_close(ns);
	return status;
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
	enum tw_refusal why;
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
	r = tw_ns_change(ns, &o->change, tw_caller(), &why);
	if (r == -ERANGE)
		refused(o, why);
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
	struct options one = *o;

	/* every name is checked before any is removed: bad input changes nothing */
	for (char **n = o->names; *n; n++) {
		struct tw_ns *ns;

		one.name = *n;
		ns = open_named(&one);
		check_unused(o, *n, ns);
		tw_ns_close(ns);
	}
	for (char **n = o->names; *n; n++) {
		struct tw_ns *ns;
		int r;
		one.name = *n;
		ns = open_named(&one);
		if ((r = tw_ns_remove(ns)))
			die(1, "cannot remove namespace '%s': %s", *n, strerror(-r));
		tw_ns_close(ns);
	}
	return 0;
}

static int run_verb(const struct options *o)
{
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
