#!/bin/bash
# Writers that stop, and many at once (the clock page protocol): a namespace
# stays readable and writable whatever its writers do.  Writers killed at each
# instruction of a change are tests/unit/test_writers.c's.
. "$(dirname "$0")/lib.sh"

WRITER=$TW_BUILD/tests/tw-writer

# Concurrent changes lose nothing: in a frozen namespace every second shows.
"$TW" create c --at @2000000000 --freeze
for j in 1 2; do
	(for i in $(seq 40); do "$TW" set -q c --advance 1s || echo "set $j.$i failed"; done) &
done >"$TW_TMP/sets.out" 2>&1
wait
is "$(cat "$TW_TMP/sets.out")" "" "2 x 40 concurrent set --advance 1s all succeed"
is "$("$TW" join c -- date +%s)" 2000000080 "and move the clock by exactly 80 s"

# A writer stopped just before it publishes, for 5 s: members read and sleep
# as ever, other changes go through, and the stopped one lands when it runs on.
if [ -x "$WRITER" ]; then
	"$TW" create s --at @2000000000 --freeze
	mkfifo "$TW_TMP/held"
	"$WRITER" s 5 >"$TW_TMP/held" &
	writer=$!
	read -r -t 20 word <"$TW_TMP/held"
	is "${word:-}" held "a writer (set --advance 1h) is held stopped before it publishes"
	took 0 3 "meanwhile a member reads its clock" "$TW" join s -- date +%s
	is "$out" 2000000000 "and gets the namespace's time"
	took 0.9 3 "meanwhile a member's sleep 1 (frozen: a second of host time)" \
		"$TW" join s -- sleep 1
	took 0 3 "meanwhile another set goes through" "$TW" set -q s --advance 1s
	is "$("$TW" join s -- date +%s)" 2000000001 "and is seen at once"
	wait "$writer"
	is "$?" 0 "the stopped writer finishes when it runs on"
	is "$("$TW" join s -- date +%s)" 2000003601 "and its hour lands on top of the second"
else
	skip 9 "$WRITER is not built"
fi

# 300 changes in a row, every kind, with a member reading all along: its
# MONOTONIC never goes back.
"$TW" create r
STOP=$TW_TMP/stop "$TW" join r -- python3 -c '
import os, time
prev, back, n = time.monotonic_ns(), 0, 0
while not os.path.exists(os.environ["STOP"]):
    for _ in range(1000):
        v = time.monotonic_ns()
        back += v < prev
        prev = v
        n += 1
print(n, back)' >"$TW_TMP/reader.out" &
reader=$!
fails=0
for i in $(seq 60); do
	for change in "--rate 2" "--rate 0.5" "--advance 1ms" "--freeze" "--resume"; do
		# shellcheck disable=SC2086 # the change is options, split on purpose
		"$TW" set -q r $change || fails=$((fails + 1))
	done
done
touch "$TW_TMP/stop"
wait "$reader"
is "$fails" 0 "300 changes in a row (rate 2, rate 0.5, advance 1 ms, freeze, resume) succeed"
read -r reads back <"$TW_TMP/reader.out"
ok "$([ "${reads:-0}" -gt 1000 ]; echo $?)" "a member read MONOTONIC all along (${reads:-0} reads)"
is "${back:-x}" 0 "and never saw it go back"

"$TW" rm c r
[ -x "$WRITER" ] && "$TW" rm s
is "$(stored)" "" "nothing left in the store"

# The same as an ordinary user: claims are OFD locks on the user's own page,
# and a user may hold a writer of their own stopped.
user=$(test_user)
if [ -z "$user" ]; then
	skip 4 "needs root to create the test user (running as $(id -un))"
	done_testing
fi
prefix=$(install_copy)
tw=$prefix/bin/timewarp
install -m 755 "$WRITER" "$prefix/bin/tw-writer"
as_user "$user" "$tw" create u --at @2000000000 --freeze
as_user "$user" sh -c "
	for j in 1 2; do (for i in \$(seq 20); do '$tw' set -q u --advance 1s || echo fail; done) & done; wait"
is "$(as_user "$user" "$tw" join u -- date +%s)" 2000000040 \
	"$user: 2 x 20 concurrent sets move the clock by exactly 40 s"
got=$(as_user "$user" sh -c "'$prefix/bin/tw-writer' u 2 >\$HOME/held & w=\$!
	i=0; until grep -q held \$HOME/held || [ \$i -ge 200 ]; do sleep 0.1; i=\$((i + 1)); done
	cat \$HOME/held; '$tw' set -q u --advance 1s && echo set; wait \$w && echo writer")
is "$(echo $got)" "held set writer" "$user: a stopped writer of the user's own does not hold up another set"
is "$(as_user "$user" "$tw" join u -- date +%s)" 2000003641 "$user: and both changes land"
as_user "$user" "$tw" rm u
is "$(as_user "$user" "$tw" ls)" "" "$user: nothing left in the store"
done_testing
