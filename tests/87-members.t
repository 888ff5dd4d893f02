#!/bin/bash
# A thousand member processes in one namespace: `show --json` lists every one,
# and one `set --advance 2h` wakes every one of them from a wait an hour
# ahead; as root and as an ordinary user.  No timing is asserted: the bounds
# only keep a failure from hanging the suite.
. "$(dirname "$0")/lib.sh"

SLEEPERS=$TW_BUILD/tests/tw-sleepers
[ -x "$SLEEPERS" ] || { echo "1..0 # SKIP $SLEEPERS is not built"; exit 0; }
N=${TW_MEMBERS:-1000}

# Every process group the crowds were started in goes at the end, whatever
# failed (their waiters also die with their parent).
groups=()
kill_groups() {
	local g
	for g in "${groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
}
cleanup_hooks+=(kill_groups)

# room_for TASKS: whether this shell's children may have TASKS more processes
# and threads (RLIMIT_NPROC; root is not held to it), raising the soft limit up
# to the hard one where needed; else says why not.
room_for() {
	local soft hard want
	soft=$(ulimit -S -u) hard=$(ulimit -H -u)
	[ "$(id -u)" -eq 0 ] && [ -z "${AS:-}" ] && return 0
	[ "$soft" = unlimited ] && return 0
	want=$(($1 + $(ps -u "$(id -u "${AS:-$(id -un)}")" -L --no-headers 2>/dev/null | wc -l)))
	[ "$soft" -ge "$want" ] && return 0
	if [ "$hard" = unlimited ] || [ "$hard" -ge "$want" ]; then
		ulimit -S -u "$want" && return 0
	fi
	why="ulimit -u is $soft (hard $hard): $want processes and threads are needed"
	return 1
}

# crowd WHO TW SLEEPERS [PREFIX...]: N waiters in a namespace of WHO's, every
# command run by PREFIX
crowd() {
	local who=$1 tw=$2 sleepers=$3 fifo=$TW_TMP/crowd-$1 g= word pids listed missing out bg
	shift 3
	"$@" "$tw" create crowd --at @2000000000
	mkfifo "$fifo"
	# in a process group of its own, whose id it says first (setsid, then one
	# pid through every exec: sh, timewarp join, tw-sleepers)
	"$@" setsid sh -c 'echo $$; exec "$0" join crowd -- "$1" "$2" 3600' \
		"$tw" "$sleepers" "$N" >"$fifo" &
	bg=$!
	exec 7<"$fifo"
	read -r -t 60 g <&7 && groups+=("$g")
	read -r -t 300 word pids <&7
	is "${word:-}" ready "$who: $N member processes wait an hour ahead"
	listed=$("$@" "$tw" show crowd --json | python3 -c '
import json, sys
print(" ".join(str(p) for p in json.load(sys.stdin)["members"]))')
	missing=$(comm -23 <(printf '%s\n' $pids | sort) <(printf '%s\n' $listed | sort) | wc -l)
	is "$(printf '%s\n' $pids | wc -w) $missing" "$N 0" "$who: show --json lists every one of them"
	like " $listed " " ${g:-none} " "$who: and the process that forked them"
	"$@" "$tw" set -q crowd --advance 2h
	is "$?" 0 "$who: set --advance 2h"
	read -r -t 300 out <&7
	is "${out:-}" "woke $N of $N" "$who: every one woke, at or past its deadline"
	exec 7<&-
	[ -n "$g" ] && kill -KILL -- "-$g" 2>/dev/null # only what is left after a failure
	wait "$bg"
	"$@" "$tw" rm --force crowd
	is "$("$@" "$tw" ls)" "" "$who: nothing left in the store"
}

if room_for $((2 * N + 50)); then
	crowd "$(id -un)" "$TW" "$SLEEPERS"
else
	skip 6 "$why"
fi

user=$(test_user)
if [ -z "$user" ]; then
	skip 6 "needs root to create the test user (running as $(id -un))"
	done_testing
fi
prefix=$(install_copy)
cp "$SLEEPERS" "$prefix/bin/" && chmod a+rx "$prefix/bin/tw-sleepers"
# the user's limit, as the processes it starts get it (as_user keeps this
# shell's limits)
if AS=$user room_for $((2 * N + 50)); then
	crowd "$user" "$prefix/bin/timewarp" "$prefix/bin/tw-sleepers" as_user "$user"
else
	skip 6 "$user: $why"
fi

done_testing
