/* What `timewarp --help`, `timewarp VERB --help` and `timewarp help VERB` show:
 * each verb's usage, what it does, the options it takes (from options.c's
 * table, so help and parsing agree) and examples to copy. */
#include <stdio.h>
#include <string.h>

#include "options.h"

static const struct verb_doc {
	const char *name;
	const char *synopsis;  /* after "timewarp " */
	const char *summary;
	const char *examples;
} verbs[V_NVERBS] = {
	[V_RUN] = {
		"run", "run [CLOCK OPTIONS] [--name NAME] [--] COMMAND [ARG...]",
		"Run COMMAND with clocks of its own: a new time namespace that COMMAND and\n"
		"every process it starts share, gone once COMMAND has exited.  timewarp\n"
		"becomes COMMAND: its exit status and the signals sent to it are its own.",
		"  timewarp run --at '2038-01-19 03:14:07 UTC' -- date\n"
		"  timewarp run --offset +365d -- openssl x509 -checkend 0 -noout -in cert.pem\n"
		"  timewarp run --rate 10 -- python3 app.py\n"
		"  timewarp run --at @2000000000 --freeze -- ./report\n"
		"  timewarp run --name ci --at 2030-01-01 -- ./server\n",
	},
	[V_CREATE] = {
		"create", "create NAME [CLOCK OPTIONS]",
		"Create a named time namespace that lasts until 'timewarp rm NAME': processes\n"
		"join it with 'timewarp join', and 'timewarp set' moves its clocks.",
		"  timewarp create ci --at '2030-01-01 00:00 UTC'\n"
		"  timewarp create slow --rate 0.5 --settime deny\n",
	},
	[V_JOIN] = {
		"join", "join NAME|--pid PID [--] COMMAND [ARG...]",
		"Run COMMAND as a member of an existing namespace: the one named NAME, or the\n"
		"one process PID is a member of.",
		"  timewarp join ci -- ./server\n"
		"  timewarp join --pid 4242 -- date\n",
	},
	[V_SET] = {
		"set", "set NAME|--pid PID [CLOCK OPTIONS] [--advance D] [--resume] [-q]",
		"Change a namespace's clocks while its members run: they see the change at\n"
		"their next clock read, and their sleeps and timers follow it.  Prints the\n"
		"namespace's REALTIME and rate after the change.",
		"  timewarp set ci --advance 1d\n"
		"  timewarp set ci --at '2031-01-01 00:00 UTC' --freeze\n"
		"  timewarp set ci --resume\n"
		"  timewarp set --pid 4242 --rate 10\n",
	},
	[V_SHOW] = {
		"show", "show NAME|--pid PID [--json]",
		"Show a namespace's clocks and their distance from the host's, its rate,\n"
		"policy and members.",
		"  timewarp show ci\n"
		"  timewarp show --pid 4242 --json\n",
	},
	[V_LS] = {
		"ls", "ls [--json | -q]",
		"List your namespaces: named ones, and those of 'timewarp run's still running\n"
		"(named @run-PID...).",
		"  timewarp ls\n"
		"  timewarp ls -q\n",
	},
	[V_RM] = {
		"rm", "rm [--force] NAME...",
		"Remove named namespaces.  One that still has members is kept unless --force\n"
		"is given: its members would keep its clocks, but nobody could set them any\n"
		"more.  Names are checked first: when one is refused, none is removed.",
		"  timewarp rm ci\n"
		"  timewarp rm --force ci\n",
	},
};

int verb_lookup(const char *name)
{
	for (int v = 0; v < V_NVERBS; v++)
		if (!strcmp(name, verbs[v].name))
			return v;
	return -1;
}

const char *verb_name(enum verb v)
{
	return verbs[v].name;
}

/* "  -q, --quiet           text", continuation lines under the text */
static void print_option(const struct option_doc *d)
{
	char left[40];
	const char *h = d->help;

	if (d->short_name)
		snprintf(left, sizeof(left), "-%c, --%s", d->short_name, d->name);
	else
		snprintf(left, sizeof(left), "    --%s%s%s", d->name, d->arg ? " " : "",
			 d->arg ? d->arg : "");
	printf("  %-22s ", left);
	for (;;) {
		size_t n = strcspn(h, "\n");

		printf("%.*s\n", (int)n, h);
		if (!h[n])
			break;
		h += n + 1;
		printf("  %-22s ", "");
	}
}

/* The clock options, which the global help lists together: taken by create
 * or set, and by no verb beyond run, create and set. */
static int clock_option(const struct option_doc *d)
{
	const unsigned clock = 1u << V_RUN | 1u << V_CREATE | 1u << V_SET;

	return !(d->verbs & ~clock) && (d->verbs & (1u << V_CREATE | 1u << V_SET));
}

#define DURATIONS                                                                      \
	"Durations: [+-]NUMBER UNIT..., each unit once: ns us ms s m h d w y (y = 365 d),\n" \
	"as in +400d, -90s, 1.5h, 1d12h.\n"

void print_usage(void)
{
	const struct option_doc *d;

	fputs("Usage:\n", stdout);
	for (int v = 0; v < V_NVERBS; v++)
		printf("  timewarp %s\n", verbs[v].synopsis);
	fputs("  timewarp help VERB\n"
	      "\n"
	      "Give a process tree its own clocks: a time namespace in user space.\n"
	      "\n"
	      "Clock options (run, create, set):\n", stdout);
	for (d = option_docs; d->name; d++)
		if (clock_option(d))
			print_option(d);
	fputs(DURATIONS "\nOther options:\n", stdout);
	for (d = option_docs; d->name; d++)
		if (!clock_option(d))
			print_option(d);
	fputs("\n"
	      "Named namespaces live in $XDG_RUNTIME_DIR/timewarp (else /run/user/UID/timewarp,\n"
	      "else /tmp/timewarp-UID). run and join exit with the command's status, 128+N\n"
	      "when it dies of signal N; 2 means bad input, 1 a failure of timewarp itself.\n"
	      "\n"
	      "'timewarp help VERB' shows a verb's options and examples; man timewarp has more.\n",
	      stdout);
}

void print_verb_help(enum verb v)
{
	const struct verb_doc *d = &verbs[v];

	printf("Usage: timewarp %s\n\n%s\n\nOptions:\n", d->synopsis, d->summary);
	for (const struct option_doc *o = option_docs; o->name; o++)
		if (o->verbs & (1u << v))
			print_option(o);
	if (v == V_RUN || v == V_CREATE || v == V_SET)
		fputs("\n" DURATIONS, stdout);
	printf("\nExamples:\n%s", d->examples);
}
