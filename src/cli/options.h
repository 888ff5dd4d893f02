/* The command line: one verb, its options, and the command to run. */
#ifndef TW_OPTIONS_H
#define TW_OPTIONS_H

#include <sys/types.h>

#include "timewarp.h"

enum verb { V_RUN, V_CREATE, V_JOIN, V_SET, V_SHOW, V_LS, V_RM, V_NVERBS };

struct options {
	enum verb verb;
	const char *verb_name;
	const char *name;      /* NAME, or run's --name */
	pid_t pid;             /* --pid, 0 when not given */
	int json;
	int quiet;             /* set, ls: -q */
	int force;             /* rm: --force */
	struct tw_change change;
	char **names;          /* rm: every NAME */
	char **command;        /* run, join: the command and its arguments */
	/* what the change options said, for messages naming a refused value */
	const char *given_at, *given_offset, *given_monotonic, *given_boottime,
		*given_advance;
};

/* Parses argv into *o; bad input ends the program with status 2, --help and
 * help VERB with 0. */
void parse_options(int argc, char **argv, struct options *o);

/* An option as the help texts show it (options.c holds the table). */
struct option_doc {
	const char *name;   /* long name */
	int val;            /* getopt's value */
	char short_name;    /* 0 when none */
	const char *arg;    /* its value's name, null when it takes none */
	unsigned verbs;     /* 1 << enum verb, for each verb that takes it */
	const char *help;   /* lines separated by '\n' */
};
extern const struct option_doc option_docs[];

/* help.c: the verbs' names, and what --help shows */
int verb_lookup(const char *name);   /* enum verb, or -1 */
const char *verb_name(enum verb v);
void print_usage(void);
void print_verb_help(enum verb v);

/* habits.c: argv[1] is not a verb; when it is what a faketime (or date -d)
 * user would type, ends the program suggesting the line they meant. */
void suggest_for_habit(int argc, char **argv);

#endif
