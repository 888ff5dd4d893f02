/* The verbs of the CLI, each a thin layer over the control library. */
#ifndef TW_VERBS_H
#define TW_VERBS_H

#include "options.h"

/* run.c: exec command as a member of namespace ns; returns only when it
 * cannot, with the status to exit with. */
int become_member(const struct tw_ns *ns, char **command);
/* run.c: exit with `status` after become_member returned, without exit
 * handlers (the seccomp filter may be in place with nothing to serve it). */
__attribute__((noreturn)) void leave(int status);

/* show.c */
int verb_show(const struct options *o);
int verb_ls(const struct options *o);

/* library.c: the absolute path of timewarp library `lib` (libtimewarp.so, the
 * preload library, or libtimewarp-rt.so, the member runtime) into buf
 * (n >= PATH_MAX);
 * exits saying where it looked when there is none. */
void find_library(const char *lib, char *buf, size_t n);

/* main.c: when r says the namespaces directory is there but not one timewarp
 * may use, exits saying so. */
void check_store(int r);
/* main.c: the namespace a NAME or --pid names; bad input exits. */
struct tw_ns *open_named(const struct options *o);

#endif
