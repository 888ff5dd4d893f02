#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "die.h"

static const char *hint_verb;

/* Messages carry the name the program was started by, as util-linux does, so
 * a copy installed as another name speaks for itself. */
static void say(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", program_invocation_short_name);
	vfprintf(stderr, fmt, ap);
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
