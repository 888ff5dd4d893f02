/* Lines people type out of other tools' habits, and the timewarp line they
 * meant.  faketime takes the date first (`faketime '2030-01-01' date`,
 * `faketime -f +2d date`), and unshare-style tools take options before the
 * command with no verb (`timewarp --at 2030-01-01 -- date`); both are one word
 * away from a timewarp run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "die.h"
#include "options.h"

/* An argument as a shell would need it: bare when it is plain, else quoted;
 * with control characters in it as bash's $'...', which keeps the line one
 * line and the terminal undriven. */
static void put_word(const char *w)
{
	if (*w && strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789@%+=:,./_-") == strlen(w)) {
		fputs(w, stderr);
		return;
	}
	for (const unsigned char *c = (const unsigned char *)w; *c; c++) {
		if (*c < 0x20 || *c == 0x7f) {
			fputs("$'", stderr);
			put_printable(w, "'\\");
			fputc('\'', stderr);
			return;
		}
	}
	fputc('\'', stderr);
	for (; *w; w++) {
		if (*w == '\'')
			fputs("'\\''", stderr);
		else
			fputc(*w, stderr);
	}
	fputc('\'', stderr);
}

__attribute__((noreturn)) static void suggest(const char *opt, const char *value, char **rest)
{
	fprintf(stderr, "%s: the verb comes first; did you mean\n  timewarp run",
		program_invocation_short_name);
	if (opt) {
		fprintf(stderr, " %s ", opt);
		put_word(value);
		fputs(" --", stderr);
		if (rest[0] && !strcmp(rest[0], "--"))
			rest++;
	}
	if (!*rest)
		fputs(opt ? " COMMAND" : " -- COMMAND", stderr);
	for (; *rest; rest++) {
		fputc(' ', stderr);
		put_word(*rest);
	}
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

/* A faketime timestamp: a date for --at, or a distance from now for --offset. */
static const char *option_for(const char *value)
{
	int64_t ns;

	if (!tw_parse_date(value, &ns, NULL))
		return "--at";
	if ((value[0] == '+' || value[0] == '-') && !tw_parse_duration(value, &ns, NULL))
		return "--offset";
	return NULL;
}

void suggest_for_habit(int argc, char **argv)
{
	const char *opt;

	if (argc >= 3 && !strcmp(argv[1], "-f") && (opt = option_for(argv[2])))
		suggest(opt, argv[2], argv + 3);     /* faketime -f TIMESTAMP */
	if ((opt = option_for(argv[1])))
		suggest(opt, argv[1], argv + 2);     /* faketime TIMESTAMP */
	if (!strncmp(argv[1], "--", 2)) {
		const char *eq = strchr(argv[1], '=');
		size_t n = eq ? (size_t)(eq - argv[1] - 2) : strlen(argv[1] + 2);

		/* options of run given without it: --at 2030-01-01 -- date */
		for (const struct option_doc *d = option_docs; d->name; d++)
			if ((d->verbs & (1u << V_RUN)) && strlen(d->name) == n &&
			    !strncmp(argv[1] + 2, d->name, n) && strcmp(d->name, "help"))
				suggest(NULL, NULL, argv + 1);
	}
}
