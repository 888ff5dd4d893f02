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

/* The reason the control library gave, else the errno's. */
static const char *why(int r)
{
	return tw_why()[0] ? tw_why() : strerror(-r);
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
	return status;
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
	return status;
}

static int verb_set(const struct options *o)
{
	struct tw_ns *ns = open_named(o);
	enum tw_refusal refusal;
	char what[128];
	int r = tw_ns_change(ns, &o->change, caller(), &refusal);

	if (r == -ERANGE)
		refused(o, refusal);
	if (r == -EACCES)
		die(1, "cannot change %s: it belongs to another user", subject(o, what, sizeof(what)));
	if (r)
		die(1, "cannot change %s: %s", subject(o, what, sizeof(what)), strerror(-r));
	tw_ns_close(ns);
	return 0;
}

static int verb_rm(const struct options *o)
{
	int r = tw_ns_rm(o->names);

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
