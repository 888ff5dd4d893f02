/* The CLI's errors, all in one place: one sentence on stderr and an exit status
 * (0 success, 1 timewarp's own failure, 2 usage or bad input, 126/127 exec). */
#ifndef TW_DIE_H
#define TW_DIE_H

#define EXIT_USAGE 2

__attribute__((noreturn, format(printf, 2, 3))) void die(int status, const char *fmt, ...);
/* Bad input: the sentence, then "Try 'timewarp VERB --help'." and status 2. */
__attribute__((noreturn, format(printf, 1, 2))) void die_usage(const char *fmt, ...);
/* The verb whose help die_usage points to, once it is known. */
void die_set_verb(const char *verb);
/* s on stderr with its control characters escaped (\n, \t, \xHH), and a
 * backslash before each character of `also`. */
void put_printable(const char *s, const char *also);
/* A sentence on stderr that ends nothing. */
__attribute__((format(printf, 1, 2))) void warn(const char *fmt, ...);

#endif
