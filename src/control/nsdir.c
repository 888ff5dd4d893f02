/* The namespaces directory and names (DESIGN section 3).
 *
 * $XDG_RUNTIME_DIR/timewarp, else /run/user/UID/timewarp, else /tmp/timewarp-UID:
 * owned by the user, mode 0700, checked before every use, since /tmp is shared
 * and anyone could have made the directory first.  Root may use any user's. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "timewarp.h"

int tw_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n < 1 || n > 64 || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789._-") == n;
}

static int check_dir(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if ((st.st_uid != geteuid() && geteuid() != 0) || (st.st_mode & 077))
		return -EPERM;
	return 0;
}

static int base_dir(char *buf, size_t n)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int len;

	if (xdg && xdg[0] == '/')
		len = snprintf(buf, n, "%s/timewarp", xdg);
	else if (snprintf(buf, n, "/run/user/%u", (unsigned)geteuid()) > 0 &&
		 !stat(buf, &st) && S_ISDIR(st.st_mode))
		len = snprintf(buf, n, "/run/user/%u/timewarp", (unsigned)geteuid());
	else
		len = snprintf(buf, n, "/tmp/timewarp-%u", (unsigned)geteuid());
	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

int tw_dir(char *buf, size_t n)
{
	int r = base_dir(buf, n);

	if (r)
		return r;
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return check_dir(buf);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void tw_names_free(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}

int tw_ns_list(char ***out)
{
	char dir[4096];
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	DIR *d;
	int r = tw_dir(dir, sizeof(dir));

	if (r)
		return r;
	if (!(d = opendir(dir)))
		return -errno;
	while ((de = readdir(d))) {
		char **grown;
		/* named namespaces and anonymous ones ('@'); not half-made '.new' files */
		if (de->d_name[0] != '@' && !tw_name_valid(de->d_name))
			continue;
		if (de->d_name[0] == '.')
			continue;
		grown = realloc(names, (n + 2) * sizeof(*names));
		if (!grown)
			goto oom;
		names = grown;
		names[n + 1] = NULL;
		if (!(names[n] = strdup(de->d_name)))
			goto oom;
		n++;
	}
	closedir(d);
	if (!names && !(names = calloc(1, sizeof(*names))))
		return -ENOMEM;
	qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	return (int)n;
oom:
	closedir(d);
	tw_names_free(names);
	return -ENOMEM;
}
