/* timewarp: give a process tree its own clocks.  This file dispatches the verbs;
 * options.c parses, run.c starts members, show.c prints. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	if (r == -EPERM || r == -ENOTDIR) {
		dir[0] = 0;
		tw_dir(dir, sizeof(dir)); /* fills in the path even when it refuses it */
		die(1, "cannot use the namespaces directory %s: it must be a directory owned "
		       "by you with mode 0700", dir);
	}
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

static int verb_set(const struct options *o)
{
	struct tw_ns *ns = open_named(o);
	enum tw_refusal why;
	char what[128];
	int r = tw_ns_change(ns, &o->change, tw_caller(), &why);

	if (r == -ERANGE)
		refused(o, why);
	if (r == -EACCES)
		die(1, "cannot change %s: it belongs to another user", subject(o, what, sizeof(what)));
	if (r)
		die(1, "cannot change %s: %s", subject(o, what, sizeof(what)), strerror(-r));
	tw_ns_close(ns);
	return 0;
}

static int verb_rm(const struct options *o)
{
	struct options one = *o;

	/* every name is checked before any is removed: bad input changes nothing */
	for (char **n = o->names; *n; n++) {
		one.name = *n;
		tw_ns_close(open_named(&one));
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
