/* Where the preload library is.  An installed tree may be moved anywhere (a
 * staged install, a copy in a container image), so the library is looked for
 * relative to the binary itself, never at a path fixed at build time:
 *
 *   $TIMEWARP_LIBDIR/libtimewarp.so        when set: there and nowhere else
 *   DIR/libtimewarp.so                      beside the binary (the build tree)
 *   DIR/TW_LIBDIR_FROM_BIN/libtimewarp.so   where `make install` put it, seen
 *                                           from where it put the binary
 *
 * DIR is the directory of /proc/self/exe, the binary as it is on disk. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "die.h"
#include "paths.h" /* TW_LIBDIR_FROM_BIN, made by the Makefile from BINDIR and LIBDIR */
#include "verbs.h"

#define LIB "libtimewarp.so"

/* The library at dir/LIB as an absolute path (members of other directories
 * load it too), or -1 when there is none. */
static int try_dir(const char *dir, char *buf, size_t n)
{
	char path[PATH_MAX + sizeof(LIB) + 1];

	snprintf(path, sizeof(path), "%s/" LIB, dir);
	if (access(path, R_OK) || !realpath(path, buf) || strlen(buf) >= n)
		return -1;
	return 0;
}

void find_library(char *buf, size_t n)
{
	const char *env = getenv("TIMEWARP_LIBDIR");
	char exe[PATH_MAX], dir[PATH_MAX * 2], *slash;
	ssize_t len;

	if (n < PATH_MAX)
		die(1, "find_library: buffer too small");
	if (env && *env) {
		if (try_dir(env, buf, n))
			die(1, "TIMEWARP_LIBDIR is %s, but there is no readable " LIB " there", env);
		return;
	}
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		die(1, "cannot find where %s is installed: /proc/self/exe: %s",
		    program_invocation_short_name, strerror(errno));
	exe[len] = 0;
	if ((slash = strrchr(exe, '/')))
		*slash = 0;
	if (!try_dir(exe, buf, n))
		return;
	snprintf(dir, sizeof(dir), "%s/%s", exe, TW_LIBDIR_FROM_BIN);
	if (!try_dir(dir, buf, n))
		return;
	die(1, "cannot find " LIB " for %s/%s: it is neither beside it nor in %s; "
	    "set TIMEWARP_LIBDIR to the directory that holds it", exe, slash ? slash + 1 : "",
	    dir);
}
