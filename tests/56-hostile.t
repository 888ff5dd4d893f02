#!/bin/bash
# A store and a clock page that trust no one: hostile TIMEWARP_NS files, a page
# cut short under running members, root's store made by someone else first,
# a full store, setgid programs run by root, exec with a huge environment.
. "$(dirname "$0")/lib.sh"

uid=$(id -u)
user=$(test_user)
if [ -n "$user" ]; then
	id twtest2 >/dev/null 2>&1 || useradd --no-create-home --shell /bin/sh twtest2 >/dev/null 2>&1
fi
LIB=$TW_BUILD/libtimewarp.so

"$TW" create ref --at @2000000000 --freeze
page=$("$TW" show ref --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["page"])')
bytes=$(stat -c %s "$page")

# ---- TIMEWARP_NS is not a clock page -----------------------------------------
# member: a program started with it; CLI: timewarp run started with it.  Each
# must end within the bound (a FIFO once hung both) with one sentence.
h=$TW_TMP/hostile
mkdir -p "$h"
mkfifo "$h/fifo"
ln -s "$page" "$h/link"
mkdir "$h/dir"
head -c 100 /dev/zero >"$h/short"
head -c "$((bytes + 1))" /dev/zero >"$h/long"
cp "$page" "$h/copy" # a real page: accepted (checks its owner below)
hostile() { # NAME WANT
	local f=$h/$1 want=$2
	run_cmd env TIMEWARP_NS="$f" LD_PRELOAD="$LIB" timeout 10 date +%s
	is "$status" 1 "TIMEWARP_NS $1: a member exits with status 1"
	like "$out" "^timewarp: cannot reach time namespace $f: $want; exiting rather than running on host time$" \
		"TIMEWARP_NS $1: and says why"
	run_cmd env TIMEWARP_NS="$f" timeout 10 "$TW" run -- true
	is "$status" 1 "TIMEWARP_NS $1: timewarp run exits with status 1"
	like "$out" "$f: $want" "TIMEWARP_NS $1: and says why"
}
hostile fifo "a FIFO, not a clock page"
hostile link "a symbolic link, not a clock page"
hostile dir "a directory, not a clock page"
hostile short "100 bytes long, a clock page is $bytes"
hostile long "$((bytes + 1)) bytes long, a clock page is $bytes"
is "$(TIMEWARP_NS=$h/copy LD_PRELOAD=$LIB date +%s)" 2000000000 "a copy of a page of one's own is a namespace"
if [ -n "$user" ]; then
	chown "$user" "$h/copy"
	hostile copy "owned by uid $(id -u "$user"), must be owned by root"
	chown root "$h/copy"
	chmod 644 "$h/copy"
	chmod 755 "$h"
	prefix=$(install_copy)
	is "$(as_user "$user" env TIMEWARP_NS="$h/copy" LD_PRELOAD="$prefix/lib/timewarp/libtimewarp.so" date +%s)" \
		2000000000 "$user: a page of root's may be joined (root may make one for anyone)"
	chown twtest2 "$h/copy"
	run_cmd as_user "$user" env TIMEWARP_NS="$h/copy" LD_PRELOAD="$prefix/lib/timewarp/libtimewarp.so" timeout 10 date
	is "$status" 1 "$user: a page of another user's is refused"
	like "$out" "owned by uid $(id -u twtest2), must be owned by uid $(id -u "$user") or root" \
		"$user: and the message says whose it is"
else
	skip 5 "needs root to create the test users"
fi
rm -rf "$h"

# ---- a page cut short under a running member ---------------------------------
"$TW" create short --at @2000000000 --freeze
spage=$("$TW" show short --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["page"])')
# (in a subshell of its own, whose shell's word on the signal goes nowhere)
("$TW" join short -- perl -e '$| = 1; while (1) { print time, "\n"; select(undef, undef, undef, 0.02) }' \
	>"$TW_TMP/short.out" 2>"$TW_TMP/short.err"
	echo $? >"$TW_TMP/short.status") 2>/dev/null &
member=$!
for i in $(seq 200); do [ -s "$TW_TMP/short.out" ] && break; sleep 0.05; done
truncate -s 0 "$spage"
for i in $(seq 100); do kill -0 "$member" 2>/dev/null || break; sleep 0.05; done
pkill -KILL -P "$member" 2>/dev/null # a member that lived on: the test fails, not hangs
wait "$member"
is "$(cat "$TW_TMP/short.status")" $((128 + 7)) \
	"a member whose page is cut short dies of SIGBUS, as without timewarp"
like "$(cat "$TW_TMP/short.err")" \
	"timewarp: the clock page of time namespace $spage was cut short while in use" \
	"and says which namespace and what happened"
"$TW" rm short

# ---- setgid and setuid programs run by root stay members ---------------------
if [ "$uid" -eq 0 ]; then
	cp "$(command -v date)" "$TW_TMP/sg-date"
	cp "$(command -v id)" "$TW_TMP/sg-id"
	chgrp daemon "$TW_TMP/sg-date" "$TW_TMP/sg-id"
	chmod 2755 "$TW_TMP/sg-date" "$TW_TMP/sg-id"
	if [ "$("$TW_TMP/sg-id" -g)" = "$(getent group daemon | cut -d: -f3)" ]; then
		is "$("$TW" run --at @2000000000 --freeze -- "$TW_TMP/sg-date" +%s)" 2000000000 \
			"root: a setgid program inside a namespace prints the namespace's time"
		is "$("$TW" run -- "$TW_TMP/sg-id" -g)" 0 "root: and runs without the group (no_new_privs)"
	else
		skip 2 "setgid programs have no effect in $TW_TMP here (nosuid?)"
	fi
	rm -f "$TW_TMP/sg-date" "$TW_TMP/sg-id"
else
	skip 2 "the setgid case is root's (run as $(id -un))"
fi

# ---- exec with a large environment from a thread with a small stack ----------
run_cmd bash -c "ulimit -s 65536 && \"$TW\" run --at @2000000000 --freeze -- \
	\"$TW_BUILD/tests/tw-bigenv\" 150000 1024 /bin/date +%s"
is "$out" 2000000000 "150,000 variables exec'd from a thread with a 1 MiB stack: a member, on its time"

# ---- root's store: never one someone else made -------------------------------
# In a mount namespace of its own with an empty /tmp, and /run read-only (so
# that root falls back to /tmp), mallory makes /tmp/timewarp-0 first.
if [ "$uid" -ne 0 ] || [ -z "$user" ]; then
	skip 5 "needs root (a private mount namespace and test users)"
elif ! unshare -m --propagation private true 2>/dev/null; then
	skip 5 "cannot make a mount namespace"
else
	uuid=$(id -u "$user")
	out=$(unshare -m --propagation private bash -c '
		tw=$1 uuid=$2
		# the build may itself be under /tmp (a clone there): reached
		# through a descriptor of its directory once /tmp is covered
		exec 9<"${tw%/*}" && tw=/dev/fd/9/${tw##*/}
		mount -t tmpfs -o mode=1777 tmpfs /tmp && mount -t tmpfs -o ro tmpfs /run || exit 1
		unset XDG_RUNTIME_DIR
		setpriv --reuid=twtest2 --regid=twtest2 --clear-groups mkdir -m 700 /tmp/timewarp-0
		"$tw" create victim --at @2000000000 2>&1; echo "status $?"
		ls -A /tmp/timewarp-0 | wc -l
		setpriv --reuid=twtest2 --regid=twtest2 --clear-groups mkdir -m 700 /tmp/timewarp-$uuid
		setpriv --reuid="$uuid" --regid="$uuid" --clear-groups "$tw" create mine 2>&1
		echo "status $?"
		mount -o remount,rw /run
		"$tw" create victim --at @2000000000 && stat -c "%U %a" /run/timewarp /run/timewarp/victim
	' sh "$TW" "$uuid" 2>&1)
	m2=$(id -u twtest2)
	like "$out" "timewarp: cannot create namespace 'victim': /tmp/timewarp-0: owned by uid $m2, must be 0700 and owned by uid 0" \
		"root refuses a /tmp/timewarp-0 someone else made, naming it and its owner"
	like "$out" "status 1
0" "with status 1, and puts nothing in it"
	like "$out" "/tmp/timewarp-$uuid: owned by uid $m2, must be 0700 and owned by uid $uuid" \
		"$user refuses a /tmp/timewarp-$uuid someone else made"
	like "$out" "status 1
status" "with status 1"
	like "$out" "root 700
root 600" "with /run writable, root's store is /run/timewarp, 0700"
fi

# ---- a full store ------------------------------------------------------------
# A small tmpfs in a mount namespace of its own: create and run fail with
# ENOSPC, naming the store, and leave nothing in it.
full_store() { # UID: prints the outcome
	unshare -m --propagation private bash -c '
		tw=$1 u=$2 dir=$3
		mount -t tmpfs -o size=64k,mode=0700,uid=$u tmpfs "$dir" || exit 1
		as() { setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups env XDG_RUNTIME_DIR="$dir" "$@"; }
		as "$tw" create first && as "$tw" rm first || exit 1
		as dd if=/dev/zero of="$dir/filler" bs=4k 2>/dev/null
		before=$(find "$dir" | sort)
		as "$tw" create x 2>&1; echo "status $?"
		as "$tw" run -- true 2>&1; echo "status $?"
		[ "$before" = "$(find "$dir" | sort)" ] && echo "store unchanged"
	' sh "$TW" "$1" "$TW_TMP/full-$1" 2>&1
}
if [ "$uid" -ne 0 ]; then
	skip 6 "needs root (a private mount namespace with a small tmpfs)"
else
	for u in 0 ${user:+$(id -u "$user")}; do
		mkdir -p "$TW_TMP/full-$u"
		out=$(full_store "$u")
		like "$out" "cannot create namespace 'x': $TW_TMP/full-$u/timewarp: No space left on device \(ENOSPC\)
status 1" "uid $u: create in a full store fails with status 1, naming the store and ENOSPC"
		like "$out" "cannot create a namespace: $TW_TMP/full-$u/timewarp: No space left on device \(ENOSPC\)
status 1" "uid $u: so does run"
		like "$out" "store unchanged" "uid $u: and the store holds no new file"
		rmdir "$TW_TMP/full-$u"
	done
	[ -n "$user" ] || skip 3 "needs the test user"
fi

"$TW" rm ref
is "$(stored)" "" "nothing is left in the store"
done_testing
