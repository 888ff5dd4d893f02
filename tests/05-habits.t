#!/bin/bash
# The CLI meets people's habits: each verb's own help, the dates people type
# for date -d and faketime, faketime's word order, set saying what it did, rm
# of a namespace in use, and a copied binary that cannot find its library.
. "$(dirname "$0")/lib.sh"

# ---- help per verb
for verb in run create join set show ls rm; do
	run_cmd "$TW" "$verb" --help
	is "$status" 0 "$verb --help exits 0"
	like "$out" "^Usage: timewarp $verb " "$verb --help shows $verb's usage"
	like "$out" "Examples:" "$verb --help has examples"
	is "$("$TW" help "$verb")" "$out" "help $verb is $verb --help"
done
like "$("$TW" set --help)" "--advance D" "set --help documents --advance"
run_cmd "$TW" run --help
ok "$(printf '%s' "$out" | grep -q -- --advance; echo $((!$?)))" "run --help does not offer --advance"
[ "$("$TW" set --help)" != "$out" ]
ok $? "set's help differs from run's"
like "$("$TW" help)" "^Usage:" "help alone is the global usage"
like "$("$TW" rm -h)" "--force" "-h is --help"
run_cmd "$TW" help nope
is "$status" 2 "help of an unknown verb: status 2"
like "$out" "unknown verb 'nope'" "help of an unknown verb: says which"
run_cmd "$TW" set ci --bogus
like "$out" "Try 'timewarp set --help'" "a bad option points at the verb's help"

# ---- the dates people type: each gives the instant GNU date gives it
at_is() { # at_is TZ DATE DESCRIPTION
	local want got
	want=$(TZ=$1 date -d "$2" +%s)
	got=$(TZ=$1 "$TW" run --at "$2" -- date +%s)
	is "$got" "$want" "--at '$2' (TZ=$1) is $3"
}
at_is UTC '2030-01-01 00:00:00 UTC' "2030-01-01T00:00Z"
at_is Europe/Berlin '2030-01-01 00:00 +02:00' "2029-12-31T22:00Z"
at_is UTC 20300101 "2030-01-01 local"
at_is Europe/Berlin 20300101 "2030-01-01 local"
at_is UTC 2030-1-1 "2030-01-01 local"
at_is America/New_York 'Jan 1 2030' "2030-01-01 local"
at_is UTC 'Jan 1 2030 12:00' "2030-01-01 12:00 local"
at_is UTC '1 January 2030' "2030-01-01 local"
at_is Europe/Berlin '2030-06-15 12:00' "2030-06-15 12:00 local (daylight saving)"
out=$(TZ=UTC date -d @1893456000)   # date's own output, pasted back
at_is UTC "$out" "date's output pasted back"
is "$(TZ=UTC "$TW" run --at '@2030-01-01 00:00:00' -- date +%s)" 1893456000 \
	"--at '@2030-01-01 00:00:00' (faketime's start-at form)"

run_cmd "$TW" run --at '1969-07-20 20:17 UTC' -- true
is "$status" 2 "a date before 1970: status 2"
like "$out" "'1969-07-20 20:17 UTC' for --at is out of range: before 1970-01-01" \
	"a date before 1970 says so"
run_cmd "$TW" run --at 'next monday' -- true
like "$out" "invalid date 'next monday' for --at: a relative date" "a relative date says so"
run_cmd "$TW" run --at +2d -- true
like "$out" "did you mean --offset \+2d\?" "--at with a duration suggests --offset"
run_cmd "$TW" run --at '2030-01-01 00:00 CET' -- true
like "$out" "unknown zone name" "a zone abbreviation says so"
"$TW" ls >/dev/null # collects the runs' namespaces above
run_cmd "$TW" run --at '2030-02-30' -- true
is "$(stored)" "" "refused dates create nothing"

# ---- faketime's word order and unshare's option-first habit
habit() { # habit DESCRIPTION SUGGESTION ARGS...
	local desc=$1 want=$2
	shift 2
	run_cmd "$TW" "$@"
	is "$status" 2 "$desc: status 2"
	like "$out" "did you mean" "$desc: suggests"
	is "$(printf '%s\n' "$out" | sed -n 2p)" "  $want" "$desc: the line"
}
habit "options without a verb" "timewarp run --at 2030-01-01 -- date" --at 2030-01-01 -- date
habit "options without a verb and --" "timewarp run --at '2030-01-01 00:00' --freeze date -u" \
	--at '2030-01-01 00:00' --freeze date -u
habit "faketime DATE CMD" "timewarp run --at '2030-01-01 12:00' -- date" '2030-01-01 12:00' date
habit "faketime -f +2d CMD" "timewarp run --offset +2d -- date +%s" -f +2d date +%s
habit "faketime @DATE CMD" "timewarp run --at '@2030-01-01 00:00:00' -- date" '@2030-01-01 00:00:00' date
is "$(stored)" "" "suggestions create nothing"
run_cmd "$TW" --at 2030-01-01T00:00Z -- date -u +%Y
line=$(printf '%s\n' "$out" | sed -n 2p)
is "$(eval "${line/timewarp/\"\$TW\"}")" 2030 "the suggested line runs as meant"

# ---- set says what it changed; -q says nothing
"$TW" create s --at @2000000000 --freeze
out=$("$TW" set s --advance 1d)
is "$out" "s: realtime $(date -u -d @2000086400 +%FT%T).000000000Z, rate 0 (frozen)" \
	"set prints the new REALTIME and rate"
is "$("$TW" set -q s --advance 1d)" "" "set -q prints nothing"
out=$("$TW" set s --resume --rate 2 2>&1)
is "$?" 2 "--resume with --rate is refused"
like "$("$TW" set s --resume)" "^s: realtime 2033-05-20T03:33:2[0-9]\.[0-9]{9}Z, rate 1$" \
	"set --resume prints the running clock and its rate"
before=$("$TW" show s --json | sed 's/"host_ns":[0-9]*,"offset_ns":-*[0-9]*//g; s/"ns":[0-9]*//g; s/"date":"[^"]*"//g')
run_cmd "$TW" set s --resume
is "$status" 2 "--resume of running clocks: status 2"
like "$out" "namespace 's' is not frozen \(rate 1\): --resume has nothing to resume" \
	"--resume of running clocks says so"
after=$("$TW" show s --json | sed 's/"host_ns":[0-9]*,"offset_ns":-*[0-9]*//g; s/"ns":[0-9]*//g; s/"date":"[^"]*"//g')
is "$after" "$before" "and changes nothing"
"$TW" set -q s --rate 3
like "$("$TW" set s --offset 0s)" ", rate 3$" "set prints a rate it did not change"

# ---- ls -q: the names, one a line
"$TW" create t
is "$("$TW" ls -q | tr '\n' ' ')" "s t " "ls -q prints the names only"
run_cmd "$TW" ls -q --json
is "$status" 2 "ls -q --json: status 2"

# ---- rm of a namespace in use: refused, naming the members, unless --force;
# with several names, nothing is removed when one is refused
"$TW" join t -- sleep 30 &
member=$!
cleanup_hooks+=("kill $member 2>/dev/null")
for _ in $(seq 50); do [ -n "$("$TW" show t --json | grep -o '"members":\[[0-9]')" ] && break; sleep 0.1; done
run_cmd "$TW" rm s t
is "$status" 2 "rm of a namespace with a member: status 2"
like "$out" "namespace 't' has 1 member still running \(pid $member\)" "names the member"
like "$out" "give --force" "says how to remove it anyway"
is "$("$TW" ls -q | tr '\n' ' ')" "s t " "and removes neither name"
"$TW" rm --force s t
is "$?" 0 "rm --force removes them"
is "$("$TW" ls -q)" "" "both gone"
kill "$member"
wait "$member" 2>/dev/null

# ---- a copied binary names itself; TIMEWARP_LIBDIR points it elsewhere
mkdir -p "$TW_TMP/bin" "$TW_TMP/empty"
cp "$TW" "$TW_TMP/bin/tw"
run_cmd "$TW_TMP/bin/tw" run -- true
is "$status" 1 "a copy without its library: status 1"
like "$out" "^tw: cannot find libtimewarp.so for $TW_TMP/bin/tw: " "a copy names itself"
like "$out" "TIMEWARP_LIBDIR" "and says how to point it at the library"
is "$(TIMEWARP_LIBDIR=$TW_BUILD "$TW_TMP/bin/tw" run --at @2000000000 -- date +%s)" 2000000000 \
	"TIMEWARP_LIBDIR points a copy at the library"
run_cmd env TIMEWARP_LIBDIR="$TW_TMP/empty" "$TW" run -- true
is "$status" 1 "TIMEWARP_LIBDIR without the library: status 1"
like "$out" "TIMEWARP_LIBDIR is $TW_TMP/empty, but there is no readable libtimewarp.so there" \
	"TIMEWARP_LIBDIR without the library: says so"
is "$(cd "$TW_BUILD" && TIMEWARP_LIBDIR=. "$TW" run --at @2000000000 -- sh -c 'cd / && date +%s')" \
	2000000000 "a relative TIMEWARP_LIBDIR reaches members in other directories"

done_testing
