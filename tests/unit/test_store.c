/* The store's pure parts: which files of ~pages are what, which names are
 * entries, when an open page file is one to use; and the reasons a refused
 * store directory is given (tw_why). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "tap.h"

static void kinds(void)
{
	static const struct {
		const char *name;
		enum tw_pagefile kind;
	} t[] = {
		{ "0123456789abcdef", TW_PAGEFILE_LASTING },
		{ "0123456789abcdef-4242.run", TW_PAGEFILE_RUN },
		{ "0123456789abcdef.run", TW_PAGEFILE_OTHER },
		{ "0123456789abcdef-0.run", TW_PAGEFILE_OTHER },
		{ "0123456789abcdef-42x.run", TW_PAGEFILE_OTHER },
		{ "0123456789abcdef-99999999999.run", TW_PAGEFILE_OTHER },
		{ "new-4242-0", TW_PAGEFILE_NEW },
		{ "gone-0123456789abcdef", TW_PAGEFILE_GONE },
		{ "gone-0123456789abcdef-4242.run", TW_PAGEFILE_GONE },
		{ "gone-new-1-0", TW_PAGEFILE_GONE },
		{ "gone-x", TW_PAGEFILE_OTHER },
		{ "0123456789abcdeg", TW_PAGEFILE_OTHER },
		{ "0123456789ABCDEF", TW_PAGEFILE_OTHER },
		{ "0123456789abcde", TW_PAGEFILE_OTHER },
		{ "0123456789abcdef0", TW_PAGEFILE_OTHER },
		{ "0123456789abcdef-4242.runx", TW_PAGEFILE_OTHER },
		{ "0123456789abcdef-4242.rux", TW_PAGEFILE_OTHER },
		{ ".", TW_PAGEFILE_OTHER },
		{ "", TW_PAGEFILE_OTHER },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		tap_ok(tw_pagefile_kind(t[i].name) == t[i].kind, "page file kind of '%s'", t[i].name);
	tap_ok(tw_pagefile_pid("0123456789abcdef-4242.run") == 4242, "a run's page names its pid");
}

static void entries(void)
{
	tap_ok(tw_entry_valid("ci") && tw_entry_valid("@run-4242.0"), "names and @run entries");
	tap_ok(!tw_entry_valid("@") && !tw_entry_valid("a/b") && !tw_entry_valid("@@x") &&
		       !tw_entry_valid("~pages") && !tw_entry_valid("@.."),
	       "not '@', 'a/b', '@@x', '~pages', '@..'");
	tap_ok(!tw_name_valid("@run-4242.0"), "an @run entry is no name create accepts");
}

static void page_stat(void)
{
	struct stat st = { 0 };
	char why[160];

	st.st_mode = S_IFIFO | 0600;
	st.st_uid = 1000;
	tap_ok(tw_page_stat_check(&st, 1000, why, sizeof(why)) == -EPROTO &&
		       !strcmp(why, "a FIFO, not a clock page"),
	       "a FIFO: %s", why);
	st.st_mode = S_IFDIR | 0700;
	tap_ok(tw_page_stat_check(&st, 1000, why, sizeof(why)) == -EPROTO &&
		       !strcmp(why, "a directory, not a clock page"),
	       "a directory: %s", why);
	st.st_mode = S_IFREG | 0600;
	st.st_size = TW_PAGE_BYTES;
	tap_ok(tw_page_stat_check(&st, 1000, why, sizeof(why)) == 0, "the caller's page");
	st.st_uid = 0;
	tap_ok(tw_page_stat_check(&st, 1000, why, sizeof(why)) == 0, "root's page");
	st.st_uid = 1001;
	tap_ok(tw_page_stat_check(&st, 1000, why, sizeof(why)) == -EPERM &&
		       !strcmp(why, "owned by uid 1001, must be owned by uid 1000 or root"),
	       "another user's: %s", why);
	tap_ok(tw_page_stat_check(&st, 0, why, sizeof(why)) == -EPERM &&
		       !strcmp(why, "owned by uid 1001, must be owned by root"),
	       "another user's, for root: %s", why);
	st.st_uid = 1000;
	st.st_size = 100;
	tap_ok(tw_page_stat_check(&st, 1000, why, sizeof(why)) == -EPROTO &&
		       strstr(why, "100 bytes long, a clock page is "),
	       "a short file: %s", why);
	st.st_size = TW_PAGE_BYTES + 1;
	tap_ok(tw_page_stat_check(&st, 1000, why, sizeof(why)) == -EPROTO, "a long file: %s", why);
}

static void refused_store(void)
{
	char dir[] = "/tmp/timewarp-store.XXXXXX", sub[sizeof(dir) + 32], want[256], buf[PATH_MAX];
	unsigned uid = (unsigned)geteuid();

	if (!mkdtemp(dir)) {
		tap_skip("mkdtemp failed");
		return;
	}
	setenv("XDG_RUNTIME_DIR", dir, 1);
	snprintf(sub, sizeof(sub), "%s/timewarp", dir);
	mkdir(sub, 0700);
	chmod(sub, 0777);
	snprintf(want, sizeof(want), "%s: mode 0777, must be 0700 and owned by uid %u", sub, uid);
	tap_ok(tw_dir(buf, sizeof(buf)) == -EPERM && !strcmp(tw_why(), want),
	       "a store of mode 0777: %s", tw_why());
	chmod(sub, 0700);
	tap_ok(tw_dir(buf, sizeof(buf)) == 0 && !strcmp(buf, sub), "made 0700, it is the store");
	snprintf(sub, sizeof(sub), "%s/timewarp/~pages", dir);
	rmdir(sub);
	symlink("/", sub);
	snprintf(want, sizeof(want), "%s: a symbolic link, must be a directory with mode 0700 "
		 "owned by uid %u", sub, uid);
	tap_ok(tw_dir(buf, sizeof(buf)) == -ENOTDIR && !strcmp(tw_why(), want),
	       "~pages a symbolic link: %s", tw_why());
	unlink(sub);
	snprintf(sub, sizeof(sub), "%s/timewarp/~collect", dir);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/timewarp", dir);
	tap_ok(!rmdir(sub) && !rmdir(dir), "and nothing else was made");
}

int main(void)
{
	kinds();
	entries();
	page_stat();
	refused_store();
	return tap_done();
}
