#!/bin/bash
# Named namespaces: create, join, set, show, ls, rm; running members see every
# change at their next read; show --pid; nested namespaces.
. "$(dirname "$0")/lib.sh"

"$TW" create ci --at '2030-01-01 00:00' --settime deny
is "$?" 0 "create ci"
is "$(stat -c %a "$XDG_RUNTIME_DIR/timewarp")" 700 "the namespaces directory is 0700"
is "$(stat -L -c %a "$XDG_RUNTIME_DIR/timewarp/ci")" 600 "the clock page is 0600"
is "$(stat -c %a "$XDG_RUNTIME_DIR/timewarp/~pages")" 700 "the pages folder is 0700"
run_cmd "$TW" create ci
is "$status" 2 "create of an existing name: status 2"
like "$out" "already exists" "create of an existing name: says so"

got=$(TZ=UTC "$TW" join ci -- date +%s)
near "$got" "$(TZ=UTC date -d '2030-01-01 00:00' +%s)" 5 "join sees the namespace's REALTIME"
like "$("$TW" ls)" "^NAME .*MEMBERS" "ls has a header"
like "$("$TW" ls)" "ci +20(29|30)-" "ls lists ci with its REALTIME"
json=$("$TW" show ci --json)
like "$json" '"name":"ci"' "show --json names it"
like "$json" '"settime":"deny"' "show --json has the policy"
like "$json" '"rate":1,' "show --json has the rate"
python3 -c 'import json,sys; json.loads(sys.argv[1])' "$json"
is "$?" 0 "show --json is valid JSON"

# A running member: it prints its REALTIME every 50 ms (perl's select waits
# for a relative time, which a rate or a freeze does not stretch)
"$TW" join ci -- perl -e '$| = 1; while (1) { print time, "\n"; select(undef, undef, undef, 0.05) }' \
	>"$TW_TMP/member.log" &
member=$!
cleanup_hooks+=("kill $member 2>/dev/null")
sleep 0.5
last() { sleep 0.3; tail -n 1 "$TW_TMP/member.log"; }

"$TW" set ci --at @2000000000 --freeze
is "$(last)" 2000000000 "a running member sees set --at ... --freeze"
"$TW" set ci --advance 1d
is "$(last)" 2000086400 "a running member sees set --advance 1d"
"$TW" set ci --offset +400d --resume
near "$(last)" "$(($(date +%s) + 400 * 86400))" 3 "a running member sees set --offset +400d --resume"
t0=$(date +%s.%N)
"$TW" set -q ci --rate 100
sleep 1
got=$(last)
t1=$(date +%s.%N)
# at least 100 virtual seconds went by, and at most 100 times the host's
awk -v g="$got" -v t0="$t0" -v t1="$t1" -v off=$((400 * 86400)) \
	'BEGIN { exit !(g != "" && g >= t0 + off + 100 - 2 && g <= t1 + off + 100 * (t1 - t0) + 2) }'
ok $? "a running member runs at set --rate 100"
[ -n "$got" ] && echo "# $got: $(awk -v g="$got" -v t="$t0" -v off=$((400 * 86400)) 'BEGIN { print g - t - off }') s on after $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s"
"$TW" set ci --rate 1 --at 2040-01-01T00:00Z --freeze 2>/dev/null
is "$?" 2 "set --rate with --freeze is refused"

text=$("$TW" show ci)
like "$text" "members: +[0-9 ]*" "show lists members"
like "$("$TW" show ci --json)" "\"members\":\[[0-9,]*$member" "show lists the timewarp join process"
like "$("$TW" show --pid "$member")" "name: +ci" "show --pid finds the namespace of a member"
child=$(pgrep -P "$member" | head -n 1)
[ -n "$child" ] || child=$member
like "$("$TW" show --pid "$child")" "name: +ci" "show --pid finds it from the command itself"
"$TW" set --pid "$child" --at @2100000000 --freeze
is "$(last)" 2100000000 "set --pid changes the namespace of a member"

# settime deny was kept through all the changes
run_cmd "$TW" join ci -- date -s @2000000000
is "$status" 1 "--settime deny: date -s fails"
like "$out" "Operation not permitted" "--settime deny: with EPERM"
"$TW" set ci --settime virtual
"$TW" join ci -- date -s @2000000000 >/dev/null
is "$(last)" 2000000000 "--settime virtual: date -s in one member moves every member"

# MONOTONIC and BOOTTIME: forward by --monotonic, never back
mono() { "$TW" show ci --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]]["offset_ns"] // 10**9)' "$1"; }
"$TW" set ci --rate 1 --monotonic +5d --boottime +6d
is "$(mono monotonic)" 432000 "set --monotonic +5d"
is "$(mono boottime)" 518400 "set --boottime +6d"
near "$(mono monotonic_raw)" 432000 1 "MONOTONIC_RAW moves with MONOTONIC"
run_cmd "$TW" set ci --monotonic +1d
is "$status" 2 "set --monotonic backwards is refused"
like "$out" "MONOTONIC would go backwards" "and says why"
is "$(mono monotonic)" 432000 "and leaves MONOTONIC where it was"

# A member changes its own namespace: relative to its own clocks, host time
# read past its timewarp vDSO (which would spin on the page it is writing)
"$TW" set ci --rate 2
run_cmd timeout 20 "$TW" join ci -- "$TW" set ci --monotonic +0s
is "$status" 0 "a member sets its own namespace's MONOTONIC to where it is (rate 2)"
before=$(mono monotonic)
run_cmd timeout 20 "$TW" join ci -- "$TW" set ci --monotonic +1h
is "$status" 0 "a member moves its own namespace's MONOTONIC an hour on"
near "$(mono monotonic)" $((before + 3600)) 2 "by an hour"
"$TW" set ci --rate 1

# Nested namespaces start from the outer clocks
got=$("$TW" run --at @2000000000 --freeze -- "$TW" run -- date +%s)
is "$got" 2000000000 "a nested run starts from the outer namespace's clocks"
got=$("$TW" run --at @2000000000 --freeze -- "$TW" run --offset +1d -- date +%s)
is "$got" 2000086400 "a nested --offset is relative to the outer namespace's REALTIME"

# Anonymous namespaces: listed while they run, cleared away once the command
# has exited (timewarp run becomes the command; the next ls or create collects)
"$TW" run -- sleep 2 &
runner=$!
sleep 0.5
like "$("$TW" ls)" "@run-$runner" "ls shows a running anonymous namespace"
like "$("$TW" show --pid "$runner")" "anonymous, made by timewarp run, pid $runner" \
	"show --pid of the command shows its anonymous namespace"
wait "$runner"
is "$("$TW" ls | grep -c @run)" 0 "an anonymous namespace is gone once its command has exited"
is "$(stored | grep -c -e /@ -e '~pages/')" 1 "and its files with it (ci's page remains)"
"$TW" run --name named-run -- sh -c "\"$TW\" show named-run >/dev/null"
is "$?" 0 "run --name makes a namespace others can reach by name"
"$TW" ls >/dev/null
is "$(stored | grep -c .)" 2 "run --name's namespace is gone once the command has exited (ci remains)"

# rm: the name is gone; running members go on with the clocks they had, and so
# do the children they start afterwards
"$TW" set ci --at @2000000000 --freeze
"$TW" join ci -- sh -c 'while :; do date +%s; sleep 0.05; done' >"$TW_TMP/spawner.log" &
spawner=$!
cleanup_hooks+=("kill $spawner 2>/dev/null")
sleep 0.3
run_cmd "$TW" rm ci
is "$status" 2 "rm of a namespace with running members is refused"
like "$out" "namespace 'ci' has [0-9]+ members still running \(pids [0-9 ]*$spawner" \
	"and names them"
like "$("$TW" ls -q)" "^ci$" "and ci is still there"
"$TW" rm --force ci
is "$?" 0 "rm --force ci"
run_cmd "$TW" join ci -- true
is "$status" 2 "join after rm: no such namespace"
is "$("$TW" ls)" "" "ls is empty after rm"
is "$(last)" 2000000000 "a member of a removed namespace keeps its clocks"
sleep 0.3
is "$(tail -n 1 "$TW_TMP/spawner.log")" 2000000000 "children a member starts after rm are members too"
is "$("$TW" join --pid "$member" -- date +%s)" 2000000000 "join --pid still reaches a removed namespace"
kill "$member" "$spawner"
wait "$member" "$spawner" 2>/dev/null
sleep 0.3 # the loop's last sleep outlives its shell by a moment
"$TW" ls >/dev/null
is "$(stored)" "" "the clock page goes once no process maps it"

# Every run collects once 16 commands have gone: the directory stays small
# without a scan of /proc at each start
for i in $(seq 20); do "$TW" run -- true; done
n=$(stored | grep -c /@run-)
ok "$([ "$n" -le 16 ]; echo $?)" "20 runs leave at most 16 names behind ($n)"
"$TW" ls >/dev/null
is "$(stored)" "" "and ls clears the rest"

# A page of another layout (an older timewarp's): gone once its anonymous
# command has gone and nothing maps it, and it is a minute old; kept while its
# name's process lives, and never when it has a name of its own
mkdir -p "$XDG_RUNTIME_DIR/timewarp/~pages"
for id in 0123456789abcdef 1123456789abcdef 2123456789abcdef; do
	head -c 4096 /dev/zero | tr '\0' x >"$XDG_RUNTIME_DIR/timewarp/~pages/$id"
	chmod 600 "$XDG_RUNTIME_DIR/timewarp/~pages/$id"
	touch -d '-2 minutes' "$XDG_RUNTIME_DIR/timewarp/~pages/$id"
done
ln -s "~pages/0123456789abcdef" "$XDG_RUNTIME_DIR/timewarp/@run-999999999.0"
ln -s "~pages/1123456789abcdef" "$XDG_RUNTIME_DIR/timewarp/@run-$$.0"
ln -s "~pages/2123456789abcdef" "$XDG_RUNTIME_DIR/timewarp/old-ci"
"$TW" ls >/dev/null 2>&1
is "$(stored | sed 's,.*/,,' | sort | tr '\n' ' ')" "1123456789abcdef 2123456789abcdef @run-$$.0 old-ci " \
	"a foreign page of a gone command is cleared; a living one's and a named one stay"
rm -f "$XDG_RUNTIME_DIR/timewarp/@run-$$.0" "$XDG_RUNTIME_DIR/timewarp/old-ci" \
	"$XDG_RUNTIME_DIR/timewarp/~pages/"*

done_testing
