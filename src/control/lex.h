/* What the parsers of parse.c (durations, rates) and date.c (dates) share:
 * character classes that do not depend on the locale, and the way a parser
 * fails with a reason for the caller's message. */
#ifndef TW_LEX_H
#define TW_LEX_H

static inline int tw_fail(const char **why, const char *phrase, int err)
{
	if (why)
		*why = phrase;
	return err;
}

/* Not isdigit() and friends: those depend on the locale. */
static inline int tw_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline int tw_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int tw_is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static inline char tw_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

#endif
