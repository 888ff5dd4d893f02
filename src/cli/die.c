#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "die.h"

static const char *hint_verb;

void put_printable(const char *s, const char *also)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '\n')
			fputs("\\n", stderr);
		else if (*c == '\t')
			fputs("\\t", stderr);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(stderr, "\\x%02x", *c);
		else {
			if (strchr(also, *c))
				fputc('\\', stderr);
			fputc(*c, stderr);
		}
	}
}

/* Messages carry the name the program was started by, as util-linux does, so
 * a copy installed as another name speaks for itself.  The values they quote
 * are the user's, and may hold a newline or a terminal's escape sequence:
 * written escaped, a message stays one line and never drives the terminal. */
static void say(const char *fmt, va_list ap)
{
	char *msg;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	if (vasprintf(&msg, fmt, ap) < 0) {
		fputs(fmt, stderr); /* out of memory: at least what went wrong */
	} else {
		put_printable(msg, "");
		free(msg);
	}
	fputc('\n', stderr);
}

void die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	exit(status);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
}

void die_set_verb(const char *verb)
{
	hint_verb = verb;
}

void die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s %s%s--help'.\n", program_invocation_short_name,
		hint_verb ? hint_verb : "", hint_verb ? " " : "");
	exit(EXIT_USAGE);
}
