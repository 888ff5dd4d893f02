#!/bin/bash
# The store: its own directories only, said plainly when refused; nothing left
# behind by killed runs; a namespace kept while anything still uses it, also
# members /proc does not show (non-dumpable, another pid namespace); the names
# ls prints work everywhere; rm of a corrupt entry; show --pid of a gone
# process.
. "$(dirname "$0")/lib.sh"

store=$XDG_RUNTIME_DIR/timewarp
uid=$(id -u)

# ---- refused store directories: the path and the reason --------------------
bad=$TW_TMP/bad
mkdir -p "$bad/timewarp" && chmod 777 "$bad/timewarp"
run_cmd env XDG_RUNTIME_DIR="$bad" "$TW" create x
is "$status" 1 "a store of mode 0777: status 1"
like "$out" "^timewarp: .*$bad/timewarp: mode 0777, must be 0700 and owned by uid $uid$" \
	"and the message names the directory, its mode and the rule"
chmod 700 "$bad/timewarp"
ln -s /etc "$bad/timewarp/~pages"
for verb in "ls" "run -- true" "create x"; do
	run_cmd env XDG_RUNTIME_DIR="$bad" "$TW" $verb
	is "$status" 1 "~pages a symbolic link: $verb fails"
	like "$out" "$bad/timewarp/~pages: a symbolic link, must be a directory" "and says so ($verb)"
done
rm "$bad/timewarp/~pages"
# a ~pages swapped for a link to another directory whose files look like pages
mkdir -p "$bad/victim"
for id in 0123456789abcdef 1123456789abcdef-1.run new-1-0; do
	head -c 4096 /dev/zero >"$bad/victim/$id"
	touch -d '-2 minutes' "$bad/victim/$id"
done
ln -s "$bad/victim" "$bad/timewarp/~pages"
for verb in "ls" "run -- true" "create x" "rm x"; do
	env XDG_RUNTIME_DIR="$bad" "$TW" $verb >/dev/null 2>&1
done
is "$(ls "$bad/victim" | tr '\n' ' ')" "0123456789abcdef 1123456789abcdef-1.run new-1-0 " \
	"~pages a link elsewhere: ls, run, create, rm delete nothing there"
rm -rf "$bad"

# ---- nothing left behind ----------------------------------------------------
# twenty runs killed with SIGKILL: the next command clears them away
kill_twenty() { # [as_user USER]: prints the store before and after
	"$@" bash -c '
		tw=$1
		"$tw" ls # the store, as a first command makes it
		find "$XDG_RUNTIME_DIR" | sort >"$XDG_RUNTIME_DIR/../before"
		for i in $(seq 20); do "$tw" run -- sleep 60 & done
		for i in $(seq 200); do
			[ "$(ls "$XDG_RUNTIME_DIR/timewarp" | grep -c @run)" -ge 20 ] && break
			sleep 0.05
		done
		sleep 0.2
		kill -KILL $(jobs -p)
		wait 2>/dev/null
		"$tw" ls
		find "$XDG_RUNTIME_DIR" | sort | diff "$XDG_RUNTIME_DIR/../before" - && echo same
		rm -f "$XDG_RUNTIME_DIR/../before"' sh "$tw" 2>/dev/null
}
tw=$TW
is "$(kill_twenty)" "same" "20 runs killed with SIGKILL leave the store as it was ($(id -un))"
user=$(test_user)
if [ -n "$user" ]; then
	tw=$(install_copy)/bin/timewarp
	is "$(kill_twenty as_user "$user")" "same" "20 runs killed with SIGKILL leave the store as it was ($user)"
else
	skip 1 "needs root to create the test user"
fi

# a run's namespace is gone once its command is; ls never shows it after
"$TW" run -- true
is "$("$TW" ls)" "" "a finished run is not listed"
is "$(stored)" "" "and nothing of it is left"

# ---- kept while anything uses it --------------------------------------------
# A member that made itself non-dumpable (its /proc/PID/maps is unreadable to
# its own user) keeps its namespace through ls, run and create after the
# run's own command has gone, and its later children are members.
nondumpable='import ctypes, os, sys, time
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)   # PR_SET_DUMPABLE, 0
open(sys.argv[1], "w").write("ready")
while not os.path.exists(sys.argv[2]): time.sleep(0.05)
os.execvp("date", ["date", "+%s"])'
keep_nondumpable() { # [as_user USER] TW DIR
	"$@" bash -c '
		tw=$1 dir=$2 py=$3
		"$tw" run --at @2000000000 --freeze -- sh -c "python3 -c \"\$1\" \"\$2\" \"\$3\" &" \
			sh "$py" "$dir/ready" "$dir/go" >"$dir/out" 2>&1
		for i in $(seq 200); do [ -s "$dir/ready" ] && break; sleep 0.05; done
		"$tw" ls >/dev/null; "$tw" run -- true; "$tw" create x; "$tw" rm x
		touch "$dir/go"
		for i in $(seq 200); do [ -s "$dir/out" ] && break; sleep 0.05; done
		cat "$dir/out"' sh "$tw" "$dir" "$nondumpable"
}
dir=$TW_TMP/nd && mkdir -p "$dir" && chmod 777 "$dir"
tw=$TW
is "$(keep_nondumpable)" 2000000000 \
	"a non-dumpable member keeps its namespace through ls, run, create ($(id -un))"
rm -f "$dir"/*
if [ -n "$user" ]; then
	tw=$(install_copy)/bin/timewarp
	is "$(keep_nondumpable as_user "$user")" 2000000000 \
		"a non-dumpable member keeps its namespace through ls, run, create ($user)"
else
	skip 1 "needs root to create the test user"
fi

# A member the collector cannot see: ls run in a pid namespace of its own
pidns_ls() { # how...: runs ls in a new pid namespace, prints its status
	"$@" "$TW" ls >/dev/null 2>"$TW_TMP/pidns.err"
	echo $?
}
"$TW" run --at @2000000000 --freeze -- sh -c 'echo started >"$1"; sleep 1; date +%s' sh \
	"$TW_TMP/hidden.started" >"$TW_TMP/hidden.out" &
hidden=$!
for i in $(seq 200); do [ -s "$TW_TMP/hidden.started" ] && break; sleep 0.05; done
if [ "$uid" -eq 0 ]; then
	how=(unshare -pf --mount-proc)
else
	how=(unshare -Upf --mount-proc --map-current-user)
fi
st=$(pidns_ls "${how[@]}")
if [ "$st" = 0 ]; then
	wait "$hidden"
	is "$(cat "$TW_TMP/hidden.out")" 2000000000 \
		"a member invisible from a pid namespace keeps its namespace through ls there"
else
	wait "$hidden"
	skip 1 "cannot run ls in a new pid namespace ($(head -c 200 "$TW_TMP/pidns.err"))"
fi

# A removed namespace lives on while members use it, and goes after them
"$TW" create gone --at @2000000000 --freeze
"$TW" join gone -- sh -c 'echo started >"$1"; sleep 0.6; date +%s' sh "$TW_TMP/gone.started" \
	>"$TW_TMP/gone.out" &
member=$!
for i in $(seq 200); do [ -s "$TW_TMP/gone.started" ] && break; sleep 0.05; done
"$TW" rm --force gone
"$TW" ls >/dev/null
is "$(stored | grep -c '~pages/')" 1 "rm while a member runs: the page stays"
wait "$member"
is "$(cat "$TW_TMP/gone.out")" 2000000000 "and the member's children still join it"
"$TW" ls >/dev/null
is "$(stored)" "" "once the member is gone, the next command clears the page"

# ---- the names ls prints work everywhere ------------------------------------
"$TW" run --at @2000000000 --freeze -- sleep 3 &
runner=$!
for i in $(seq 100); do "$TW" ls | grep -q "@run-$runner" && break; sleep 0.05; done
entry=$("$TW" ls | awk '/^@run-/ { print $1 }')
like "$entry" "^@run-$runner\.[0-9]+$" "ls lists the run as @run-PID.N"
like "$("$TW" show "$entry")" "anonymous, made by timewarp run, pid $runner" "show takes it"
json=$("$TW" show "$entry" --json)
like "$json" "\"creator\":\{\"pid\":$runner,\"uid\":$uid,\"pid_namespace\":[0-9]+,\"transient\":true\}" \
	"show --json carries its creator"
"$TW" set -q "$entry" --at @2100000000
is "$?" 0 "set takes it"
is "$("$TW" join "$entry" -- date +%s)" 2100000000 "join takes it"
"$TW" rm --force "$entry"
is "$?" 0 "rm takes it"
kill "$runner" 2>/dev/null
wait "$runner" 2>/dev/null
"$TW" ls >/dev/null
is "$(stored)" "" "and nothing is left"

# ---- rm of a corrupt entry ---------------------------------------------------
"$TW" ls >/dev/null # makes the store
head -c 4096 /dev/urandom >"$store/broken"
chmod 600 "$store/broken"
run_cmd "$TW" show broken
is "$status" 1 "show of a corrupt entry: status 1"
like "$out" "not a clock page of this timewarp version" "and says so"
run_cmd "$TW" create broken
is "$status" 2 "create over a corrupt entry: the name is taken"
"$TW" rm broken
is "$?" 0 "rm removes a corrupt entry"
"$TW" create broken
is "$?" 0 "and create can use the name again"
"$TW" rm broken
mkdir "$store/adir"
run_cmd "$TW" rm adir
is "$status" 1 "rm leaves a directory in the store alone"
like "$out" "not a plain file" "and says why"
rmdir "$store/adir"

# ---- show --pid of a gone process --------------------------------------------
gone=$(sh -c 'echo $$')
run_cmd "$TW" show --pid "$gone"
is "$status" 2 "show --pid of a gone process: status 2"
is "$out" "timewarp: there is no process $gone" "and says there is no such process"

is "$(stored)" "" "nothing is left in the store"
done_testing
