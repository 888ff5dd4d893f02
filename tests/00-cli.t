#!/bin/bash
# CLI manners: --help, --version, unknown options and verbs, and every kind of
# bad input: one sentence naming the bad value, status 2, nothing created.
. "$(dirname "$0")/lib.sh"

out=$("$TW" --help 2>/dev/null); status=$?
is "$status" 0 "--help exits 0"
like "$out" "^Usage:" "--help prints the usage to stdout"
out=$("$TW" run --help 2>/dev/null); status=$?
is "$status" 0 "run --help exits 0"
run_cmd "$TW" --version
is "$status" 0 "--version exits 0"
like "$out" "^timewarp [0-9]+\.[0-9]+\.[0-9]+$" "--version prints the version"

# bad_input DESCRIPTION EXPECTED_SUBSTRING ARGS...: status 2, stderr names the
# value, nothing on stdout, and no namespace was created.
bad_input() {
	local desc=$1 want=$2 err
	shift 2
	err=$("$TW" "$@" 2>&1 >/dev/null)
	status=$?
	is "$status" 2 "$desc: status 2"
	like "$err" "$want" "$desc: says '$want'"
	is "$(stored)" "" "$desc: nothing created"
}

bad_input "no verb" "missing verb"
bad_input "unknown verb" "unknown verb 'frobnicate'" frobnicate
bad_input "unknown option" "unknown option '--bogus'" run --bogus -- true
bad_input "option without value" "option '--at' needs a value" run --at
bad_input "flag with a value" "option '--json' takes no value" show --json=1 x
bad_input "flag with a short name, with a value" "option '--force' takes no value" rm --force=1 x
bad_input "unknown short option" "unknown option '-z'" ls -qz
bad_input "unknown short option, not ASCII" "unknown option '-é'" run -é -- true
bad_input "a newline in a value" "invalid namespace name 'a\\\\nb'" create $'a\nb'
bad_input "a terminal escape in a value" "invalid date '2030\\\\x1b\\[31m' for --at" run --at $'2030\e[31m' -- true
bad_input "pid with a space" "invalid pid ' 5' for --pid" show --pid ' 5'
bad_input "pid with a sign" "invalid pid '\\+5' for --pid" show --pid +5
bad_input "option of another verb" "--advance does not apply to run" run --advance 1d -- true
bad_input "missing command" "missing command" run --at @0
bad_input "missing command after --" "missing command" run --offset 1d --
bad_input "unparsable date" "invalid date 'tomorrow' for --at" run --at tomorrow -- true
bad_input "Feb 30" "invalid date '2024-02-30' for --at" run --at 2024-02-30 -- true
bad_input "not a leap year" "invalid date '2023-02-29 12:00' for --at" run --at '2023-02-29 12:00' -- true
bad_input "hour 24" "invalid date '2030-01-01T24:00Z'" run --at 2030-01-01T24:00Z -- true
bad_input "bad zone" "invalid date '2030-01-01T00:00\+25:00'" run --at 2030-01-01T00:00+25:00 -- true
bad_input "before 1970" "date '1969-12-31T23:59:59Z' for --at is out of range" run --at 1969-12-31T23:59:59Z -- true
bad_input "after 2262" "date '2263-01-01T00:00Z' for --at is out of range" run --at 2263-01-01T00:00Z -- true
bad_input "negative epoch" "date '@-5' for --at is out of range: before 1970-01-01" run --at @-5 -- true
bad_input "duration without unit" "invalid duration '90' for --offset" run --offset 90 -- true
bad_input "unknown unit" "invalid duration '3x' for --offset: unknown unit \(units: ns us ms s m h d w y\)" run --offset 3x -- true
bad_input "repeated unit" "invalid duration '1d1d' for --offset: a unit given twice" run --offset 1d1d -- true
bad_input "duration too large" "duration '400y' for --offset is out of range" run --offset 400y -- true
bad_input "offset past 2262" "--offset \+250y is refused" run --offset +250y -- true
bad_input "offset before 1970" "--offset -60y is refused" run --offset -60y -- true
bad_input "monotonic below zero" "--monotonic -100000d is refused" run --monotonic -100000d -- true
bad_input "monotonic past the kernel's limit" "--monotonic \+200y is refused" run --monotonic +200y -- true
bad_input "boottime below zero" "--boottime -100000d is refused" run --boottime -100000d -- true
bad_input "negative rate" "invalid rate '-1' for --rate" run --rate -1 -- true
bad_input "rate with exponent" "invalid rate '1e3' for --rate" run --rate 1e3 -- true
bad_input "rate too high" "rate '2000000' for --rate is out of range" run --rate 2000000 -- true
bad_input "rate too small" "rate '0.0000000000001' for --rate is out of range" run --rate 0.0000000000001 -- true
bad_input "bad settime policy" "invalid policy 'maybe' for --settime" run --settime maybe -- true
bad_input "--at with --offset" "--at and --offset" run --at @0 --offset 1d -- true
bad_input "--freeze with --rate" "--freeze and --rate" create x --freeze --rate 2
bad_input "bad name" "invalid namespace name 'a/b'" create a/b
bad_input "name too long" "invalid namespace name" create "$(printf 'n%.0s' {1..65})"
bad_input "bad --name" "invalid name 'no way' for --name" run --name 'no way' -- true
bad_input "create without name" "missing NAME" create
bad_input "unknown namespace for join" "no namespace named 'nope'" join nope -- true
bad_input "unknown namespace for set" "no namespace named 'nope'" set nope --advance 1d
bad_input "unknown namespace for show" "no namespace named 'nope'" show nope
bad_input "unknown namespace for rm" "no namespace named 'nope'" rm nope
bad_input "set without a change" "set needs a change" set x
bad_input "negative --advance" "invalid duration '-1d' for --advance" set x --advance -1d
bad_input "bad pid" "invalid pid 'abc' for --pid" show --pid abc
sleep 30 &
outsider=$!
bad_input "pid not in a namespace" "process $outsider is not a member" show --pid $outsider
kill $outsider
bad_input "ls with a name" "unexpected argument 'x'" ls x

# A bad value in set changes nothing: the namespace reads the same afterwards.
"$TW" create keep --at @2000000000 --freeze
before=$("$TW" show keep --json)
run_cmd "$TW" set keep --at 1969-01-01T00:00Z
is "$status" 2 "set with an out-of-range date: status 2"
run_cmd "$TW" set keep --monotonic -1s
is "$status" 2 "set moving MONOTONIC backwards: status 2"
like "$out" "MONOTONIC would go backwards" "set moving MONOTONIC backwards: says why"
after=$("$TW" show keep --json)
is "$(echo "$after" | sed 's/"host_ns":[0-9]*,"offset_ns":-*[0-9]*//g; s/"members":.*//')" \
   "$(echo "$before" | sed 's/"host_ns":[0-9]*,"offset_ns":-*[0-9]*//g; s/"members":.*//')" \
   "refused changes leave the namespace as it was"
run_cmd "$TW" rm keep nope
is "$status" 2 "rm with one unknown name: status 2"
run_cmd "$TW" show keep
is "$status" 0 "rm with one unknown name removes none"
"$TW" rm keep

# run's own failures: a command that does not exist is 127, one that cannot be
# executed 126, as a shell would say.
run_cmd "$TW" run -- /nonexistent/command
is "$status" 127 "a missing command: status 127"
like "$out" "cannot run '/nonexistent/command'" "a missing command: says which"
run_cmd "$TW" run -- $'/nonexistent/a\nb'
is "$(printf '%s\n' "$out" | grep -c .) $status" "1 127" \
	"a missing command with a newline in its name: one line, the newline escaped"
like "$out" "cannot run '/nonexistent/a\\\\nb'" "a missing command with a newline: named escaped"
run_cmd "$TW" run -- /etc/passwd
is "$status" 126 "a file that is not executable: status 126"
is "$(stored)" "" "failed runs leave no namespace behind"

done_testing
