/* The control library as a C test harness would drive it: create a namespace,
 * read its clocks, change it, remove it (include/timewarp.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "timewarp.h"

int main(void)
{
	char dir[] = "/tmp/timewarp-control.XXXXXX", **names;
	struct tw_change at = { .what = TW_CH_AT | TW_CH_FREEZE, .at = 2000000000LL * TW_NSEC };
	struct tw_change adv = { .what = TW_CH_ADVANCE, .advance = 86400LL * TW_NSEC };
	struct tw_change back = { .what = TW_CH_MONOTONIC, .monotonic = -1LL * TW_NSEC };
	struct tw_ns *ns, *again;
	enum tw_refusal why;
	struct timespec ts;
	int n;

	if (!mkdtemp(dir))
		return perror("mkdtemp"), 1;
	setenv("XDG_RUNTIME_DIR", dir, 1);
	unsetenv(TW_ENV_PAGE);
	tap_ok(tw_caller() == NULL, "outside a namespace the caller's clocks are the host's");

	tap_ok(tw_ns_create("harness", 0, &at, NULL, &why, &ns) == 0, "tw_ns_create");
	tap_ok(tw_ns_gettime(ns, CLOCK_REALTIME, &ts) == 0 && ts.tv_sec == 2000000000 &&
		       ts.tv_nsec == 0,
	       "REALTIME is the --at date, frozen");
	tap_ok(tw_ns_create("harness", 0, &at, NULL, &why, &again) == -EEXIST,
	       "a second create of the name: -EEXIST");
	tap_ok(tw_ns_change(ns, &adv, NULL, &why) == 0, "tw_ns_change --advance 1d");
	tw_ns_gettime(ns, CLOCK_REALTIME, &ts);
	TAP_EQ_I64(ts.tv_sec, 2000086400, "REALTIME moved a day");
	tap_ok(tw_ns_change(ns, &back, NULL, &why) == -ERANGE && why == TW_BACK_MONOTONIC,
	       "moving MONOTONIC back is refused, saying why");
	tap_ok(!strcmp(tw_refusal_str(why), "MONOTONIC would go backwards"),
	       "tw_refusal_str: %s", tw_refusal_str(why));

	tap_ok(tw_ns_open("harness", &again) == 0, "tw_ns_open by name");
	tw_ns_gettime(again, CLOCK_REALTIME, &ts);
	TAP_EQ_I64(ts.tv_sec, 2000086400, "the other handle sees the change");
	tap_ok(!strcmp(tw_ns_name(again), "harness"), "tw_ns_name");
	tw_ns_close(again);

	n = tw_ns_list(&names);
	tap_ok(n == 1 && !strcmp(names[0], "harness"), "tw_ns_list has it");
	if (n >= 0)
		tw_names_free(names);
	tap_ok(tw_ns_members(ns, NULL, 0) == 0, "no members: the harness itself is not counted");
	tap_ok(tw_ns_remove(ns) == 0, "tw_ns_remove");
	tap_ok(tw_ns_open("harness", &again) == -ENOENT, "the name is gone");
	tw_ns_close(ns);
	n = tw_ns_list(&names);
	tap_ok(n == 0, "tw_ns_list is empty");
	if (n >= 0)
		tw_names_free(names);

	{
		char sub[sizeof(dir) + 32];
		snprintf(sub, sizeof(sub), "%s/timewarp/~pages", dir);
		rmdir(sub);
		snprintf(sub, sizeof(sub), "%s/timewarp/~collect", dir);
		rmdir(sub);
		snprintf(sub, sizeof(sub), "%s/timewarp", dir);
		rmdir(sub);
		rmdir(dir);
	}
	return tap_done();
}
