/* Parsing the command line (util-linux style: getopt_long with a leading '+', so
 * options stop at the command; combinations checked after the loop). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "die.h"
#include "options.h"

enum {
	OPT_AT = CHAR_MAX + 1, OPT_OFFSET, OPT_RATE, OPT_FREEZE, OPT_RESUME, OPT_ADVANCE,
	OPT_MONOTONIC, OPT_BOOTTIME, OPT_SETTIME, OPT_NAME, OPT_JSON, OPT_PID, OPT_VERSION,
};

static const struct option longopts[] = {
	{ "at", required_argument, NULL, OPT_AT },
	{ "offset", required_argument, NULL, OPT_OFFSET },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "freeze", no_argument, NULL, OPT_FREEZE },
	{ "resume", no_argument, NULL, OPT_RESUME },
	{ "advance", required_argument, NULL, OPT_ADVANCE },
	{ "monotonic", required_argument, NULL, OPT_MONOTONIC },
	{ "boottime", required_argument, NULL, OPT_BOOTTIME },
	{ "settime", required_argument, NULL, OPT_SETTIME },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

void print_usage(void)
{
	fputs("Usage:\n"
	      "  timewarp run [CLOCK OPTIONS] [--name NAME] [--] COMMAND [ARG...]\n"
	      "  timewarp create NAME [CLOCK OPTIONS]\n"
	      "  timewarp join NAME|--pid PID [--] COMMAND [ARG...]\n"
	      "  timewarp set NAME|--pid PID [CLOCK OPTIONS] [--advance D] [--resume]\n"
	      "  timewarp show NAME|--pid PID [--json]\n"
	      "  timewarp ls [--json]\n"
	      "  timewarp rm NAME...\n"
	      "\n"
	      "Give a process tree its own clocks: a time namespace in user space.\n"
	      "\n"
	      "Clock options:\n"
	      "  --at DATE          set REALTIME to DATE: 2038-01-19T03:14:07Z, 2030-01-01 00:00\n"
	      "                     (local time), 2030-01-01T12:00+02:00, @2000000000[.5]\n"
	      "  --offset D         set REALTIME to the caller's REALTIME + D: +400d, -90s, 1.5h\n"
	      "  --rate R           clocks run R times as fast (0 to 1000000, e.g. 10, 0.5)\n"
	      "  --freeze           stop the clocks (rate 0)\n"
	      "  --resume           restart them at the rate before --freeze (set only)\n"
	      "  --advance D        move every clock forward by D at once (set only)\n"
	      "  --monotonic D      MONOTONIC = the caller's MONOTONIC + D\n"
	      "  --boottime D       BOOTTIME = the caller's BOOTTIME + D\n"
	      "  --settime POLICY   what settimeofday & co do inside: virtual (change the\n"
	      "                     namespace's clock; default) or deny (EPERM)\n"
	      "Durations: [+-]NUMBER UNIT..., units ns us ms s m h d w y (y = 365 d).\n"
	      "\n"
	      "Other options:\n"
	      "  --name NAME        run: name the namespace so others can join or set it\n"
	      "  --pid PID          the namespace process PID is in\n"
	      "  --json             show, ls: machine-readable output\n"
	      "  -h, --help         this text\n"
	      "  --version          timewarp's version\n"
	      "\n"
	      "Named namespaces live in $XDG_RUNTIME_DIR/timewarp (else /run/user/UID/timewarp,\n"
	      "else /tmp/timewarp-UID). run and join exit with the command's status, 128+N\n"
	      "when it dies of signal N; 2 means bad input, 1 a failure of timewarp itself.\n",
	      stdout);
}

static const struct {
	const char *name;
	enum verb verb;
} verbs[] = {
	{ "run", V_RUN }, { "create", V_CREATE }, { "join", V_JOIN }, { "set", V_SET },
	{ "show", V_SHOW }, { "ls", V_LS }, { "rm", V_RM },
};

/* Which options each verb takes. */
static int allowed(enum verb v, int opt)
{
	switch (opt) {
	case OPT_AT: case OPT_OFFSET: case OPT_RATE: case OPT_FREEZE:
	case OPT_MONOTONIC: case OPT_BOOTTIME: case OPT_SETTIME:
		return v == V_RUN || v == V_CREATE || v == V_SET;
	case OPT_RESUME: case OPT_ADVANCE:
		return v == V_SET;
	case OPT_NAME:
		return v == V_RUN;
	case OPT_PID:
		return v == V_JOIN || v == V_SET || v == V_SHOW;
	case OPT_JSON:
		return v == V_SHOW || v == V_LS;
	default:
		return 1;
	}
}

static const char *opt_name(int opt)
{
	for (const struct option *lo = longopts; lo->name; lo++)
		if (lo->val == opt)
			return lo->name;
	return "?";
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
	if (errno || end == arg || *end || v <= 0 || v > INT_MAX)
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

void parse_options(int argc, char **argv, struct options *o)
{
	int nargs = 0, opt;

	*o = (struct options){ 0 };
	if (argc < 2)
		die_usage("missing verb: run, create, join, set, show, ls or rm");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_usage();
		exit(0);
	}
	if (!strcmp(argv[1], "--version")) {
		printf("timewarp %s\n", TIMEWARP_VERSION);
		exit(0);
	}
	o->verb_name = argv[1];
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			goto found;
	die_usage("unknown verb '%s': use run, create, join, set, show, ls or rm", argv[1]);
found:
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			o->verb = verbs[i].verb;

	/* argv[1] (the verb) plays getopt's argv[0] */
	argc--, argv++;
	opterr = 0;
	optind = 1;
	o->names = calloc((size_t)argc + 1, sizeof(char *));
	if (!o->names)
		die(1, "out of memory");
	for (;;) {
		opt = getopt_long(argc, argv, "+:h", longopts, NULL);
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
		case 'h':
			print_usage();
			exit(0);
		case OPT_VERSION:
			printf("timewarp %s\n", TIMEWARP_VERSION);
			exit(0);
		case '?':
			if (optopt)
				die_usage("unknown option '-%c'", optopt);
			die_usage("unknown option '%s'", argv[optind - 1]);
		case ':':
			die_usage("option '%s' needs a value", argv[optind - 1]);
		}
		if (!allowed(o->verb, opt))
			die_usage("option --%s does not apply to %s", opt_name(opt), o->verb_name);
		if (opt == OPT_NAME)
			o->name = optarg;
		else if (opt == OPT_PID)
			o->pid = parse_pid(optarg);
		else if (opt == OPT_JSON)
			o->json = 1;
		else
			parse_change(o, opt, optarg);
	}
	check(o, nargs);
}
