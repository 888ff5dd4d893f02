#!/bin/bash
# Garbage for every verb and option (tests/helpers/garbage.py makes a few
# hundred command lines, each wrong on purpose, the same ones for the same
# seed): every one is answered with one sentence on stderr, naming what was
# wrong, and status 1 or 2; never a crash, a signal, a hang, output on stdout,
# or a change to the store.
. "$(dirname "$0")/lib.sh"
export LC_ALL=C

have python3 || { echo "1..0 # SKIP python3 is not installed (it makes the garbage)"; exit 0; }
have timeout || { echo "1..0 # SKIP timeout (coreutils) is not installed"; exit 0; }
SEED=${TW_GARBAGE_SEED:-16}
COUNT=${TW_GARBAGE_COUNT:-600}

# the store the garbage meets: one namespace that runs, with a member
"$TW" create keep --at @2000000000 --rate 1
"$TW" join keep -- sleep 600 &
member=$!
sleep 600 &
outsider=$!
cleanup_hooks+=("kill $member $outsider 2>/dev/null")
for ((i = 0; i < 100; i++)); do
	"$TW" show keep | grep -q "members: *$member" && break
	sleep 0.1
done
# what must not change: keep's clocks and rate (not the instant they were
# read at), and every file of the store
state() {
	"$TW" show keep --json | sed 's/"\(ns\|host_ns\)":[0-9]*,//g; s/"date":"[^"]*"//g'
	stored | sort
}
before=$(state)

# Each line: its argument count, then its arguments, all NUL-terminated.
python3 "$(dirname "$0")/helpers/garbage.py" "$SEED" "$COUNT" "$outsider" >"$TW_TMP/lines" ||
	{ echo "1..0 # SKIP garbage.py failed"; exit 0; }

n=0 bad_status=0 signalled=0 hung=0 stdout=0 bad_stderr=0
shown=0
# show CMD WHAT: the first few failures, with the command line as bash would
# quote it
show() {
	if [ "$shown" -lt 12 ]; then
		echo "# $2: timewarp $(printf '%q ' "${args[@]}")"
		sed -n '1,3s/^/#   /p' "$TW_TMP/err" | cat -v
		shown=$((shown + 1))
	fi
}
while IFS= read -r -d '' count; do
	args=()
	for ((i = 0; i < count; i++)); do
		IFS= read -r -d '' a
		args+=("$a")
	done
	n=$((n + 1))
	timeout -s KILL 10 "$TW" "${args[@]}" >"$TW_TMP/out" 2>"$TW_TMP/err" </dev/null
	st=$?
	if [ "$st" -eq 137 ]; then
		hung=$((hung + 1)); show "$st" "hung (killed after 10 s)"; continue
	fi
	if [ "$st" -ge 128 ]; then
		signalled=$((signalled + 1)); show "$st" "died of signal $((st - 128))"; continue
	fi
	if [ "$st" -ne 1 ] && [ "$st" -ne 2 ]; then
		bad_status=$((bad_status + 1)); show "$st" "status $st"
	fi
	if [ -s "$TW_TMP/out" ]; then
		stdout=$((stdout + 1)); show "$st" "wrote to stdout"
	fi
	# one sentence: "timewarp: ...", then at most the hint of where to look
	# ("Try 'timewarp VERB --help'.") or the line that was meant (habits.c);
	# no control characters (a quoted value's are escaped)
	if ! awk 'NR == 1 && /^timewarp: [^[:cntrl:]]+$/ { ok = 1; next }
		  NR == 2 && (/^Try '\''timewarp ([a-z]+ )?--help'\''\.$/ ||
			      /^  timewarp run [^[:cntrl:]]+$/) { next }
		  { ok = 0; exit } END { exit !ok }' "$TW_TMP/err"; then
		bad_stderr=$((bad_stderr + 1)); show "$st" "not one sentence"
	fi
done <"$TW_TMP/lines"

is "$n" "$COUNT" "$COUNT garbage command lines run (seed $SEED)"
is "$hung" 0 "none hung"
is "$signalled" 0 "none died of a signal"
is "$bad_status" 0 "every one ended with status 1 or 2"
is "$stdout" 0 "none wrote to stdout"
is "$bad_stderr" 0 "every one said one sentence on stderr, and nothing else"
after=$(state)
is "$after" "$before" "the store is as it was: keep unchanged, nothing added or removed"
is "$("$TW" show keep --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["members"])')" \
	"[$member]" "keep's member is still there"

done_testing
