/* Parsing the command line (util-linux style: getopt_long with a leading '+', so
 * options stop at the command; combinations checked after the loop). */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "die.h"
#include "options.h"

__attribute__((noreturn)) static void print_version(void)
{
	printf("timewarp %s\n", TIMEWARP_VERSION);
	exit(0);
}

enum {
	OPT_AT = CHAR_MAX + 1, OPT_OFFSET, OPT_RATE, OPT_FREEZE, OPT_RESUME, OPT_ADVANCE,
	OPT_MONOTONIC, OPT_BOOTTIME, OPT_SETTIME, OPT_NAME, OPT_JSON, OPT_PID, OPT_VERSION,
	OPT_QUIET = 'q', OPT_FORCE = 'f', OPT_HELP = 'h',
};

#define B(v) (1u << (v))
#define CLOCK_VERBS (B(V_RUN) | B(V_CREATE) | B(V_SET))
#define ALL_VERBS (B(V_NVERBS) - 1)

/* Every option: what getopt_long reads, which verbs take it, and what the help
 * texts say of it (help.c), so that the three cannot disagree. */
const struct option_doc option_docs[] = {
	{ "at", OPT_AT, 0, "DATE", CLOCK_VERBS,
	  "set REALTIME to DATE: 2038-01-19T03:14:07Z,\n"
	  "'2030-01-01 00:00' (local time), 'Jan 1 2030 UTC',\n"
	  "'2030-01-01 00:00 +02:00', 20300101, @2000000000" },
	{ "offset", OPT_OFFSET, 0, "D", CLOCK_VERBS,
	  "REALTIME = the caller's REALTIME + D: +400d, -90s" },
	{ "rate", OPT_RATE, 0, "R", CLOCK_VERBS,
	  "clocks run R times as fast (0 to 1000000: 10, 0.5)" },
	{ "freeze", OPT_FREEZE, 0, NULL, CLOCK_VERBS, "stop the clocks (rate 0)" },
	{ "resume", OPT_RESUME, 0, NULL, B(V_SET), "restart frozen clocks at the rate they had" },
	{ "advance", OPT_ADVANCE, 0, "D", B(V_SET),
	  "move every clock forward by D at once: sleeps\nand timers that fall due end" },
	{ "monotonic", OPT_MONOTONIC, 0, "D", CLOCK_VERBS, "MONOTONIC = the caller's MONOTONIC + D" },
	{ "boottime", OPT_BOOTTIME, 0, "D", CLOCK_VERBS, "BOOTTIME = the caller's BOOTTIME + D" },
	{ "settime", OPT_SETTIME, 0, "POLICY", CLOCK_VERBS,
	  "what settimeofday & co do inside: virtual\n"
	  "(change the namespace's clock; default) or deny" },
	{ "name", OPT_NAME, 0, "NAME", B(V_RUN),
	  "name the namespace so others can join or set it" },
	{ "pid", OPT_PID, 0, "PID", B(V_JOIN) | B(V_SET) | B(V_SHOW),
	  "the namespace process PID is a member of" },
	{ "json", OPT_JSON, 0, NULL, B(V_SHOW) | B(V_LS), "machine-readable output" },
	{ "quiet", OPT_QUIET, 'q', NULL, B(V_SET) | B(V_LS),
	  "set: print nothing; ls: print the names only" },
	{ "force", OPT_FORCE, 'f', NULL, B(V_RM), "remove a namespace even while it has members" },
	{ "help", OPT_HELP, 'h', NULL, ALL_VERBS, "show this help" },
	{ "version", OPT_VERSION, 0, NULL, 0, "print timewarp's version" },
	{ NULL, 0, 0, NULL, 0, NULL },
};

#define NOPTS (sizeof(option_docs) / sizeof(option_docs[0]))

static const struct option_doc *doc_of(int opt)
{
	for (const struct option_doc *d = option_docs; d->name; d++)
		if (d->val == opt)
			return d;
	return NULL;
}

/* Which options each verb takes; --version goes with any. */
static int allowed(enum verb v, int opt)
{
	const struct option_doc *d = doc_of(opt);

	return !d || opt == OPT_VERSION || (d->verbs & B(v));
}

static int64_t duration(const char *opt, const char *arg)
{
	const char *why = "";
	int64_t ns;
	int r = tw_parse_duration(arg, &ns, &why);

	if (r == -ERANGE)
		die_usage("duration '%s' for --%s is out of range: %s", arg, opt, why);
	if (r)
		die_usage("invalid duration '%s' for --%s: %s", arg, opt, why);
	return ns;
}

static void parse_change(struct options *o, int opt, const char *arg)
{
	struct tw_change *c = &o->change;
	const char *why = "";
	int r;

	switch (opt) {
	case OPT_AT:
		r = tw_parse_date(arg, &c->at, &why);
		if (r && (arg[0] == '+' || arg[0] == '-') && !tw_parse_duration(arg, &c->offset, NULL))
			die_usage("invalid date '%s' for --at: a time relative to now; did you mean "
				  "--offset %s?", arg, arg);
		if (r == -ERANGE)
			die_usage("date '%s' for --at is out of range: %s", arg, why);
		if (r)
			die_usage("invalid date '%s' for --at: %s", arg, why);
		c->what |= TW_CH_AT;
		o->given_at = arg;
		break;
	case OPT_OFFSET:
		c->offset = duration("offset", arg);
		c->what |= TW_CH_OFFSET;
		o->given_offset = arg;
		break;
	case OPT_RATE:
		r = tw_parse_rate(arg, &c->rate, &why);
		if (r == -ERANGE)
			die_usage("rate '%s' for --rate is out of range: %s", arg, why);
		if (r)
			die_usage("invalid rate '%s' for --rate: %s", arg, why);
		c->what |= TW_CH_RATE;
		break;
	case OPT_FREEZE:
		c->what |= TW_CH_FREEZE;
		break;
	case OPT_RESUME:
		c->what |= TW_CH_RESUME;
		break;
	case OPT_ADVANCE:
		c->advance = duration("advance", arg);
		if (c->advance < 0)
			die_usage("invalid duration '%s' for --advance: clocks only move forward "
				  "(REALTIME can go back with --at or --offset)", arg);
		c->what |= TW_CH_ADVANCE;
		o->given_advance = arg;
		break;
	case OPT_MONOTONIC:
		c->monotonic = duration("monotonic", arg);
		c->what |= TW_CH_MONOTONIC;
		o->given_monotonic = arg;
		break;
	case OPT_BOOTTIME:
		c->boottime = duration("boottime", arg);
		c->what |= TW_CH_BOOTTIME;
		o->given_boottime = arg;
		break;
	case OPT_SETTIME:
		if (!strcmp(arg, "virtual"))
			c->settime = TW_SETTIME_VIRTUAL;
		else if (!strcmp(arg, "deny"))
			c->settime = TW_SETTIME_DENY;
		else
			die_usage("invalid policy '%s' for --settime: use virtual or deny", arg);
		c->what |= TW_CH_SETTIME;
		break;
	}
}

static pid_t parse_pid(const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	/* digits only: strtol would also take " 5" and "+5" */
	if (errno || !isdigit((unsigned char)arg[0]) || *end || v <= 0 || v > INT_MAX)
		die_usage("invalid pid '%s' for --pid: not a process id", arg);
	return (pid_t)v;
}

static void conflict(unsigned what, unsigned a, unsigned b, const char *why)
{
	if ((what & a) && (what & b))
		die_usage("%s", why);
}

/* Checks that need the whole line. */
static void check(struct options *o, int nargs)
{
	unsigned w = o->change.what;

	conflict(w, TW_CH_AT, TW_CH_OFFSET, "--at and --offset both set REALTIME; give one");
	conflict(w, TW_CH_FREEZE, TW_CH_RATE, "--freeze and --rate both set the rate; give one");
	conflict(w, TW_CH_FREEZE, TW_CH_RESUME, "--freeze and --resume contradict each other");
	conflict(w, TW_CH_RATE, TW_CH_RESUME, "--rate and --resume both set the rate; give one");

	switch (o->verb) {
	case V_RUN:
		if (o->name && !tw_name_valid(o->name))
			die_usage("invalid name '%s' for --name: use 1 to 64 of A-Z a-z 0-9 . _ -",
				  o->name);
		/* fall through */
	case V_JOIN:
		if (!o->command || !o->command[0])
			die_usage("missing command: give the command to run after --");
		break;
	case V_SET:
		if (!w)
			die_usage("set needs a change: --at, --offset, --rate, --freeze, --resume, "
				  "--advance, --monotonic, --boottime or --settime");
		break;
	case V_LS:
		if (nargs)
			die_usage("unexpected argument '%s': ls takes no names", o->names[0]);
		if (o->quiet && o->json)
			die_usage("-q and --json both choose what ls prints; give one");
		break;
	default:
		break;
	}
	if ((o->verb == V_CREATE || o->verb == V_RM) && !o->name)
		die_usage("missing NAME: %s needs the name of a namespace", o->verb_name);
	if ((o->verb == V_JOIN || o->verb == V_SET || o->verb == V_SHOW) && !o->name && !o->pid)
		die_usage("missing NAME: %s needs a namespace name or --pid PID", o->verb_name);
	if (o->name && o->pid)
		die_usage("both a name ('%s') and --pid %d given; give one", o->name, (int)o->pid);
	/* create makes a name; the others also take the anonymous entries ls lists */
	for (int i = 0; o->verb != V_RUN && i < (nargs ? nargs : !!o->name); i++) {
		const char *n = nargs ? o->names[i] : o->name;
		if (o->verb == V_CREATE ? !tw_name_valid(n) : !tw_entry_valid(n))
			die_usage("invalid namespace name '%s': use 1 to 64 of A-Z a-z 0-9 . _ -", n);
	}
}

/* getopt_long's table, made from option_docs. */
static void getopt_table(struct option *lo, char *shorts)
{
	size_t n = 0;

	*shorts++ = '+'; /* options stop at the command */
	*shorts++ = ':'; /* a missing value is ':', told apart from an unknown option */
	for (const struct option_doc *d = option_docs; d->name; d++, n++) {
		lo[n] = (struct option){ d->name, d->arg ? required_argument : no_argument, NULL,
					 d->val };
		if (d->short_name)
			*shorts++ = d->short_name;
	}
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
	*shorts = 0;
}

/* timewarp help [VERB] */
static void help_verb(int argc, char **argv)
{
	int v;

	if (argc < 3) {
		print_usage();
		exit(0);
	}
	if ((v = verb_lookup(argv[2])) < 0)
		die_usage("unknown verb '%s': use run, create, join, set, show, ls or rm", argv[2]);
	if (argc > 3)
		die_usage("unexpected argument '%s': help takes one verb", argv[3]);
	print_verb_help((enum verb)v);
	exit(0);
}

void parse_options(int argc, char **argv, struct options *o)
{
	static struct option longopts[NOPTS];
	char shorts[NOPTS + 3];
	int nargs = 0, opt, v, word;

	*o = (struct options){ 0 };
	if (argc < 2)
		die_usage("missing verb: run, create, join, set, show, ls or rm");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_usage();
		exit(0);
	}
	if (!strcmp(argv[1], "--version"))
		print_version();
	if (!strcmp(argv[1], "help"))
		help_verb(argc, argv);
	if ((v = verb_lookup(argv[1])) < 0) {
		suggest_for_habit(argc, argv);
		if (argv[1][0] == '-')
			die_usage("missing verb before '%s': run, create, join, set, show, ls or rm",
				  argv[1]);
		die_usage("unknown verb '%s': use run, create, join, set, show, ls or rm", argv[1]);
	}
	o->verb = (enum verb)v;
	o->verb_name = argv[1];
	die_set_verb(o->verb_name);
	getopt_table(longopts, shorts);

	/* argv[1] (the verb) plays getopt's argv[0] */
	argc--, argv++;
	opterr = 0;
	optind = 1;
	o->names = calloc((size_t)argc + 1, sizeof(char *));
	if (!o->names)
		die(1, "out of memory");
	for (;;) {
		word = optind; /* the argument getopt reads now ('+': it skips none) */
		opt = getopt_long(argc, argv, shorts, longopts, NULL);
		if (opt == -1) {
			int after_dashes = optind > 1 && !strcmp(argv[optind - 1], "--");
			if (optind >= argc)
				break;
			if (o->verb == V_RUN || (o->verb == V_JOIN && (o->name || o->pid || after_dashes))) {
				o->command = argv + optind;
				break;
			}
			if (after_dashes && o->verb != V_RM)
				die_usage("unexpected '--': %s runs no command", o->verb_name);
			/* a NAME (rm takes several); options may follow it */
			if (!o->name)
				o->name = argv[optind];
			else if (o->verb != V_RM)
				die_usage("unexpected argument '%s'", argv[optind]);
			o->names[nargs++] = argv[optind++];
			continue;
		}
		switch (opt) {
		case OPT_HELP:
			print_verb_help(o->verb);
			exit(0);
		case OPT_VERSION:
			print_version();
		case '?':
			/* getopt names a known long option given a value it does
			 * not take (--json=1) by its value; an unknown short one by
			 * its byte, which may be the first of a character's */
			if (!strncmp(argv[word], "--", 2) && optopt && doc_of(optopt))
				die_usage("option '--%s' takes no value", doc_of(optopt)->name);
			if (optopt > ' ' && optopt < 0x7f)
				die_usage("unknown option '-%c'", optopt);
			die_usage("unknown option '%s'", argv[word]);
		case ':':
			die_usage("option '%s' needs a value", argv[optind - 1]);
		}
		if (!allowed(o->verb, opt))
			die_usage("option --%s does not apply to %s", doc_of(opt)->name, o->verb_name);
		if (opt == OPT_NAME)
			o->name = optarg;
		else if (opt == OPT_PID)
			o->pid = parse_pid(optarg);
		else if (opt == OPT_JSON)
			o->json = 1;
		else if (opt == OPT_QUIET)
			o->quiet = 1;
		else if (opt == OPT_FORCE)
			o->force = 1;
		else
			parse_change(o, opt, optarg);
	}
	check(o, nargs);
}
