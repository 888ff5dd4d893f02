#!/bin/bash
# Garbage for every verb and option (tests/helpers/garbage.py makes a few
# hundred command lines, each wrong on purpose, the same ones for the same
# seed): every one is answered with one sentence on stderr, naming what was
# wrong, and status 1 or 2; never a crash, a signal, a hang, output on stdout,
# or a change to the store.  As root and as an ordinary user.
. "$(dirname "$0")/lib.sh"
export LC_ALL=C

have python3 || { echo "1..0 # SKIP python3 is not installed (it makes the garbage)"; exit 0; }
have timeout || { echo "1..0 # SKIP timeout (coreutils) is not installed"; exit 0; }
SEED=${TW_GARBAGE_SEED:-16}
COUNT=${TW_GARBAGE_COUNT:-600}
GARBAGE=$(dirname "$0")/helpers/garbage.py

sleep 600 &
outsider=$! # a live process in no namespace
members=()
cleanup_hooks+=('kill $outsider "${members[@]}" 2>/dev/null')

# garbage WHO SEED COUNT TW [PREFIX...]: COUNT lines of SEED against a store
# of WHO's, every command run by PREFIX
garbage() {
	local who=$1 seed=$2 count=$3 tw=$4 member before after i a st argc store
	local n=0 bad_status=0 signalled=0 hung=0 stdout=0 bad_stderr=0 shown=0
	shift 4
	# the store the garbage meets: one namespace that runs, with a member
	"$@" "$tw" create keep --at @2000000000 --rate 1
	"$@" "$tw" join keep -- sleep 600 &
	for ((i = 0; i < 100; i++)); do
		member=$("$@" "$tw" show keep --json | python3 -c '
import json, sys
print(" ".join(str(p) for p in json.load(sys.stdin)["members"]))')
		[ -n "$member" ] && break
		sleep 0.1
	done
	members+=($member)
	# what must not change: keep's clocks and rate (not the instant they
	# were read at) and members, and every file of the store
	store=$("$@" sh -c 'echo "$XDG_RUNTIME_DIR"')/timewarp
	state() {
		"$@" "$tw" show keep --json | sed 's/"\(ns\|host_ns\)":[0-9]*,//g; s/"date":"[^"]*"//g'
		find "$store" -mindepth 1 -not -name '~pages' -not -name '~collect' | sort
	}
	before=$(state "$@")

	# each line: its argument count, then its arguments, all NUL-terminated
	python3 "$GARBAGE" "$seed" "$count" "$outsider" >"$TW_TMP/lines"
	# show WHAT: the first few failures, with the command line as bash
	# would quote it
	show() {
		if [ "$shown" -lt 12 ]; then
			echo "# $who: $1: timewarp $(printf '%q ' "${args[@]}")"
			sed -n '1,3s/^/#   /p' "$TW_TMP/err" | cat -v
			shown=$((shown + 1))
		fi
	}
	while IFS= read -r -d '' argc; do
		args=()
		for ((i = 0; i < argc; i++)); do
			IFS= read -r -d '' a
			args+=("$a")
		done
		n=$((n + 1))
		"$@" timeout -s KILL 10 "$tw" "${args[@]}" >"$TW_TMP/out" 2>"$TW_TMP/err" </dev/null
		st=$?
		if [ "$st" -eq 137 ]; then
			hung=$((hung + 1)); show "hung (killed after 10 s)"; continue
		fi
		if [ "$st" -ge 128 ]; then
			signalled=$((signalled + 1)); show "died of signal $((st - 128))"; continue
		fi
		if [ "$st" -ne 1 ] && [ "$st" -ne 2 ]; then
			bad_status=$((bad_status + 1)); show "status $st"
		fi
		if [ -s "$TW_TMP/out" ]; then
			stdout=$((stdout + 1)); show "wrote to stdout"
		fi
		# one sentence: "timewarp: ...", then at most the hint of where to
		# look ("Try 'timewarp VERB --help'.") or the line that was meant
		# (habits.c); no control characters (a quoted value's are escaped)
		if ! awk 'NR == 1 && /^timewarp: [^[:cntrl:]]+$/ { ok = 1; next }
			  NR == 2 && (/^Try '\''timewarp ([a-z]+ )?--help'\''\.$/ ||
				      /^  timewarp run [^[:cntrl:]]+$/) { next }
			  { ok = 0; exit } END { exit !ok }' "$TW_TMP/err"; then
			bad_stderr=$((bad_stderr + 1)); show "not one sentence"
		fi
	done <"$TW_TMP/lines"

	is "$n" "$count" "$who: $count garbage command lines run (seed $seed)"
	is "$hung" 0 "$who: none hung"
	is "$signalled" 0 "$who: none died of a signal"
	is "$bad_status" 0 "$who: every one ended with status 1 or 2"
	is "$stdout" 0 "$who: none wrote to stdout"
	is "$bad_stderr" 0 "$who: every one said one sentence on stderr, and nothing else"
	after=$(state "$@")
	is "$after" "$before" "$who: the store is as it was: keep and its member, nothing added or removed"
	[ -n "$member" ] && kill $member
	"$@" "$tw" rm --force keep
}

garbage "$(id -un)" "$SEED" "$COUNT" "$TW"

user=$(test_user)
if [ -z "$user" ]; then
	skip 7 "needs root to create the test user (running as $(id -un))"
	done_testing
fi
prefix=$(install_copy)
garbage "$user" $((SEED + 1)) $((COUNT / 3)) "$prefix/bin/timewarp" as_user "$user"

done_testing
