/* Where the libraries a member loads are (the preload library, libtimewarp.so,
 * and the member runtime, libtimewarp-rt.so).  An installed tree may be moved
 * anywhere (a staged install, a copy in a container image), so they are looked
 * for relative to the binary itself, never at a path fixed at build time:
 *
 *   $TIMEWARP_LIBDIR/LIB         when set: there and nowhere else
 *   DIR/LIB                      beside the binary (the build tree)
 *   DIR/TW_LIBDIR_FROM_BIN/LIB   where `make install` put it, seen from where
 *                                it put the binary
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

/* The library dir/lib as an absolute path (members of other directories
 * load it too), or -1 when there is none. */
static int try_dir(const char *dir, const char *lib, char *buf, size_t n)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, lib);
	if (access(path, R_OK) || !realpath(path, buf) || strlen(buf) >= n)
		return -1;
	return 0;
}

void find_library(const char *lib, char *buf, size_t n)
{
	const char *env = getenv("TIMEWARP_LIBDIR");
	char exe[PATH_MAX], dir[PATH_MAX * 2], *slash;
	ssize_t len;

	if (n < PATH_MAX)
		die(1, "find_library: buffer too small");
	if (env && *env) {
		if (try_dir(env, lib, buf, n))
			die(1, "TIMEWARP_LIBDIR is %s, but there is no readable %s there", env, lib);
		return;
	}
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		die(1, "cannot find where %s is installed: /proc/self/exe: %s",
		    program_invocation_short_name, strerror(errno));
	exe[len] = 0;
	if ((slash = strrchr(exe, '/')))
		*slash = 0;
	if (!try_dir(exe, lib, buf, n))
		return;
	snprintf(dir, sizeof(dir), "%s/%s", exe, TW_LIBDIR_FROM_BIN);
	if (!try_dir(dir, lib, buf, n))
		return;
	die(1, "cannot find %s for %s/%s: it is neither beside it nor in %s; "
	    "set TIMEWARP_LIBDIR to the directory that holds it", lib, exe, slash ? slash + 1 : "",
	    dir);
}
