#!/bin/bash
# run and join give the command's exit status (128+N for death by signal N),
# and the signals sent to timewarp reach the command (timewarp becomes it).
. "$(dirname "$0")/lib.sh"

"$TW" run -- sh -c 'exit 0'
is "$?" 0 "run: status 0 passes through"
"$TW" run -- sh -c 'exit 42'
is "$?" 42 "run: status 42 passes through"
# (in a subshell whose stderr is dropped: bash reports the death itself)
is "$( { "$TW" run -- sh -c 'kill -SEGV $$'; echo $?; } 2>/dev/null)" $((128 + 11)) \
	"run: death by SIGSEGV is 139"
"$TW" create ex
"$TW" join ex -- sh -c 'exit 7'
is "$?" 7 "join: status 7 passes through"
is "$( { "$TW" join ex -- sh -c 'kill -KILL $$'; echo $?; } 2>/dev/null)" $((128 + 9)) \
	"join: death by SIGKILL is 137"

# Signals sent to timewarp reach the command
for sig in TERM INT HUP USR1; do
	"$TW" run -- perl -e '$SIG{'"$sig"'} = sub { print "got '"$sig"'\n"; exit 3 }; sleep 10' \
		>"$TW_TMP/sig.out" &
	pid=$!
	sleep 0.5
	kill -"$sig" "$pid"
	wait "$pid"
	is "$?" 3 "SIG$sig sent to timewarp reaches the command, which exits 3"
	is "$(cat "$TW_TMP/sig.out")" "got $sig" "the command saw SIG$sig"
done
"$TW" join ex -- sleep 10 &
pid=$!
sleep 0.5
kill -TERM "$pid"
wait "$pid"
is "$?" $((128 + 15)) "join: SIGTERM forwarded to sleep, which dies of it: 143"
"$TW" rm ex

done_testing
