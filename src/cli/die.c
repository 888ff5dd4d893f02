#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "die.h"

static void say(const char *fmt, va_list ap)
{
	fputs("timewarp: ", stderr);
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

void die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	fputs("Try 'timewarp --help'.\n", stderr);
	exit(EXIT_USAGE);
}
