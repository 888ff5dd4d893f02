/* Why the last failing call of the control library failed, beyond its -errno:
 * the path it refused and the reason, which the CLI prints as its sentence
 * ("/tmp/x/timewarp: mode 0777, must be 0700 and owned by uid 1000").
 *
 * One buffer per thread, like dlerror's.  Inside a member nobody prints these
 * reasons (the preload library words its own), so its copy of this file keeps
 * no buffer in other people's threads and builds no sentence. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "control.h"

#ifdef TW_GUEST

void tw_set_whyv(const char *fmt, va_list ap)
{
	(void)fmt;
	(void)ap;
}

void tw_why_clear(void)
{
}

const char *tw_why(void)
{
	return "";
}

#else

static __thread char why[PATH_MAX + 256];

void tw_set_whyv(const char *fmt, va_list ap)
{
	vsnprintf(why, sizeof(why), fmt, ap);
}

void tw_why_clear(void)
{
	why[0] = 0;
}

const char *tw_why(void)
{
	return why;
}

#endif

void tw_set_why(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tw_set_whyv(fmt, ap);
	va_end(ap);
}

int tw_refuse(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tw_set_whyv(fmt, ap);
	va_end(ap);
	return -err;
}

int tw_fail(int err, const char *what)
{
	const char *name = strerrorname_np(err);

	if (err == ENOSPC || err == EDQUOT)
		tw_set_why("%s: %s (%s)", what, strerror(err), name ? name : "?");
	else
		tw_set_why("%s: %s", what, strerror(err));
	return -err;
}
