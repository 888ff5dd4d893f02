/* show and ls: a namespace's clocks, offsets, rate, policy and members. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "die.h"
#include "verbs.h"

struct view {
	const char *name;      /* "" when anonymous */
	const char *path;
	int64_t host[TW_NLINES], virt[TW_NLINES];
	struct tw_params p;
	pid_t *members;
	int nmembers;
	const struct tw_page *pg; /* who made it */
};

static const char *const line_names[TW_NLINES] = {
	[TW_LINE_REALTIME] = "realtime", [TW_LINE_TAI] = "tai",
	[TW_LINE_MONOTONIC] = "monotonic", [TW_LINE_RAW] = "monotonic_raw",
	[TW_LINE_BOOTTIME] = "boottime",
};

/* ns as of now, its members from `ms` (one reading of /proc for all) */
static void look(const struct tw_ns *ns, const struct tw_members *ms, struct view *v)
{
	int r, n;

	memset(v, 0, sizeof(*v));
	v->name = tw_ns_name(ns);
	v->path = tw_ns_path(ns);
	v->pg = tw_ns_page(ns);
	tw_read_params(v->pg, &v->p);
	if ((r = tw_ns_now(ns, v->host, v->virt)))
		die(1, "cannot read the clocks: %s", strerror(-r));
	n = tw_members_of(ms, ns, NULL, 0);
	v->members = calloc((size_t)n + 1, sizeof(pid_t));
	if (!v->members)
		die(1, "out of memory");
	v->nmembers = tw_members_of(ms, ns, v->members, (size_t)n);
}

static struct tw_members *scan(void)
{
	struct tw_members *ms;
	int r = tw_members_scan(&ms);

	if (r)
		die(1, "cannot list members: %s", strerror(-r));
	return ms;
}

/* A clock value as people read it: a date for the REALTIME class, seconds for
 * the others. */
static void clock_text(enum tw_line l, int64_t ns, char *buf, size_t n)
{
	if (l <= TW_LINE_TAI)
		tw_format_date(ns, buf, n);
	else
		snprintf(buf, n, "%lld.%09lld s", (long long)(ns / TW_NSEC),
			 (long long)(ns % TW_NSEC));
}

static void print_text(const struct view *v)
{
	char a[64], b[64];

	if (v->name[0])
		printf("name:          %s\n", v->name);
	else
		printf("name:          (anonymous, made by timewarp run, pid %d)\n",
		       (int)v->pg->creator_pid);
	printf("page:          %s\n", v->path);
	for (int l = 0; l < TW_NLINES; l++) {
		char label[32];
		snprintf(label, sizeof(label), "%s:", line_names[l]);
		clock_text((enum tw_line)l, v->virt[l], a, sizeof(a));
		tw_format_duration(v->virt[l] - v->host[l], b, sizeof(b));
		printf("%-14s %-32s (host %s)\n", label, a, b);
	}
	tw_format_rate(v->p.rate, a, sizeof(a));
	if (v->p.rate == 0) {
		tw_format_rate(v->p.saved_rate, b, sizeof(b));
		printf("rate:          0 (frozen; --resume goes back to %s)\n", b);
	} else {
		printf("rate:          %s\n", a);
	}
	printf("settime:       %s\n", v->p.settime == TW_SETTIME_DENY ? "deny" : "virtual");
	printf("members:      ");
	for (int i = 0; i < v->nmembers; i++)
		printf(" %d", (int)v->members[i]);
	printf("%s\n", v->nmembers ? "" : " none");
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_json(const struct view *v)
{
	char a[64];

	printf("{\"name\":");
	json_string(v->name);
	printf(",\"anonymous\":%s,\"page\":", v->name[0] ? "false" : "true");
	json_string(v->path);
	for (int l = 0; l < TW_NLINES; l++) {
		printf(",\"%s\":{\"ns\":%lld,\"host_ns\":%lld,\"offset_ns\":%lld", line_names[l],
		       (long long)v->virt[l], (long long)v->host[l],
		       (long long)(v->virt[l] - v->host[l]));
		if (l <= TW_LINE_TAI) {
			tw_format_date(v->virt[l], a, sizeof(a));
			printf(",\"date\":\"%s\"", a);
		}
		printf("}");
	}
	tw_format_rate(v->p.rate, a, sizeof(a));
	printf(",\"rate\":%s,\"frozen\":%s", a, v->p.rate ? "false" : "true");
	tw_format_rate(v->p.saved_rate, a, sizeof(a));
	printf(",\"resume_rate\":%s,\"settime\":\"%s\"", a,
	       v->p.settime == TW_SETTIME_DENY ? "deny" : "virtual");
	/* the pid is one of the creator's pid namespace (0: unknown) */
	printf(",\"creator\":{\"pid\":%d,\"uid\":%u,\"pid_namespace\":%llu,\"transient\":%s}",
	       (int)v->pg->creator_pid, (unsigned)v->pg->creator_uid,
	       (unsigned long long)v->pg->creator_pidns,
	       v->pg->flags & TW_FLAG_RUN ? "true" : "false");
	printf(",\"members\":[");
	for (int i = 0; i < v->nmembers; i++)
		printf("%s%d", i ? "," : "", (int)v->members[i]);
	printf("]}");
}

int verb_show(const struct options *o)
{
	struct tw_ns *ns = open_named(o);
	struct tw_members *ms = scan();
	struct view v;

	look(ns, ms, &v);
	tw_members_free(ms);
	if (o->json) {
		print_json(&v);
		putchar('\n');
	} else {
		print_text(&v);
	}
	free(v.members);
	tw_ns_close(ns);
	return 0;
}

int verb_ls(const struct options *o)
{
	char **names, date[64], rate[64];
	struct tw_members *ms;
	int n = tw_ns_list(&names);

	check_store(n);
	if (n < 0)
		die(1, "cannot list namespaces: %s", tw_why()[0] ? tw_why() : strerror(-n));
	if (o->quiet) { /* names only, one a line: for scripts and shell completion */
		for (int i = 0; i < n; i++)
			printf("%s\n", names[i]);
		tw_names_free(names);
		return 0;
	}
	ms = scan();
	if (o->json)
		printf("[");
	else if (n)
		printf("%-24s %-32s %-10s %s\n", "NAME", "REALTIME", "RATE", "MEMBERS");
	for (int i = 0, shown = 0; i < n; i++) {
		struct tw_ns *ns;
		struct view v;
		/* a namespace removed since the listing is simply not shown */
		if (tw_ns_open(names[i], &ns))
			continue;
		look(ns, ms, &v);
		if (o->json) {
			printf("%s", shown++ ? "," : "");
			print_json(&v);
		} else {
			tw_format_date(v.virt[TW_LINE_REALTIME], date, sizeof(date));
			tw_format_rate(v.p.rate, rate, sizeof(rate));
			printf("%-24s %-32s %-10s %d\n", names[i], date, rate, v.nmembers);
		}
		free(v.members);
		tw_ns_close(ns);
	}
	if (o->json)
		printf("]\n");
	tw_members_free(ms);
	tw_names_free(names);
	return 0;
}
