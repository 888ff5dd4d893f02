#!/bin/bash
# Users: an ordinary user has all of timewarp; another user can neither join
# nor change that user's namespaces, and root does not use them either (a
# store is its user's alone).  Nothing inside a namespace can set the host
# clock, root included.
. "$(dirname "$0")/lib.sh"

guard_host_clock "users"

# A raw settimeofday inside a namespace, which libc never sees, is trapped and
# moves the namespace's REALTIME, never the host's (CAP_SYS_TIME is gone from
# the tree besides); with --settime deny it fails with EPERM.  It prints how
# far its clock moved (a raw time read, trapped too), or the error.
raw_settime='import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
class TV(ctypes.Structure): _fields_ = [("s", ctypes.c_long), ("us", ctypes.c_long)]
t = ctypes.c_long()
before = libc.syscall(201, ctypes.byref(t))     # SYS_time
tv = TV(before + 600, 0)
r = libc.syscall(164, ctypes.byref(tv), None)   # SYS_settimeofday, past libc
print(os.strerror(ctypes.get_errno()) if r else
      "moved %d" % round((libc.syscall(201, ctypes.byref(t)) - before) / 100.0))'
is "$("$TW" run --at @2000000000 -- python3 -c "$raw_settime")" "moved 6" \
	"a raw settimeofday inside a namespace moves its REALTIME ($(id -un))"
is "$("$TW" run --settime deny -- python3 -c "$raw_settime")" "Operation not permitted" \
	"with --settime deny it fails with EPERM ($(id -un))"
if [ "$(id -u)" -eq 0 ]; then
	bnd=$("$TW" run -- awk '/^CapBnd/ { print $2 }' /proc/self/status)
	is "$(( (0x$bnd >> 25) & 1 ))" 0 "root: CAP_SYS_TIME left the bounding set"
	# no_new_privs for root too: the filter needs it, and a setuid or setgid
	# program (which the loader would run without timewarp's libraries)
	# stays a member, gaining no privilege
	is "$("$TW" run -- awk '/^NoNewPrivs/ { print $2 }' /proc/self/status)" 1 \
		"root: no_new_privs, so a setuid or setgid program stays a member"
fi

user=$(test_user)
if [ -z "$user" ]; then
	skip 16 "needs root to create the test users (running as $(id -un))"
	check_host_clock
	done_testing
fi
id twtest2 >/dev/null 2>&1 || useradd --no-create-home --shell /bin/sh twtest2 >/dev/null 2>&1
prefix=$(install_copy)
tw=$prefix/bin/timewarp
home=$TW_TMP/home-$user

# Everything works for an ordinary user, from the installed layout (bin/, lib/)
is "$(as_user "$user" "$tw" run --at @2000000000 --freeze -- date +%s)" 2000000000 \
	"$user: run --at from an installed copy"
is "$(as_user "$user" "$tw" run -- awk '/^NoNewPrivs/ { print $2 }' /proc/self/status)" 1 \
	"$user: no_new_privs keeps setuid programs from bringing CAP_SYS_TIME back"
as_user "$user" "$tw" create mine --at @2000000000 --freeze
is "$?" 0 "$user: create"
is "$(stat -c %U "$home/run/timewarp/mine")" "$user" "$user: the namespace belongs to $user"
is "$(as_user "$user" "$tw" join mine -- date +%s)" 2000000000 "$user: join"
got=$(as_user "$user" "$tw" join mine -- sh -c 'date -s @2000000600 >/dev/null && date +%s')
is "$got" 2000000600 "$user: date -s inside sets the namespace clock"
is "$(as_user "$user" "$tw" run --at @2000000000 -- python3 -c "$raw_settime")" "moved 6" \
	"$user: a raw settimeofday inside moves the namespace's REALTIME"
install -m 755 "$TW_BUILD/tests/tw-vdso" "$prefix/bin/tw-vdso"
source=$(as_user "$user" "$tw" run -- "$prefix/bin/tw-vdso" source)
is "$(as_user "$user" "$tw" run --offset +1d --monotonic 5s -- "$prefix/bin/tw-vdso" bracket 86400 5 0 |
	tr '\n' ' ')" "0 ok 5 ok 11 ok 1 ok 4 ok 6 ok 7 ok " \
	"$user: every clock through the timewarp vDSO is the host's, shifted (host time: $source)"

# Another user, even pointed at the directory, can neither join nor change it
run_cmd as_user twtest2 env XDG_RUNTIME_DIR="$home/run" "$tw" join mine -- date +%s
is "$status" 1 "twtest2 cannot join $user's namespace"
like "$out" "cannot (use|open)" "twtest2 is told why"
run_cmd as_user twtest2 env XDG_RUNTIME_DIR="$home/run" "$tw" set mine --at @0
is "$status" 1 "twtest2 cannot set $user's namespace"
as_user "$user" "$tw" join mine -- sleep 5 &
sleep 0.5
member=$(pgrep -u "$user" -x sleep | head -n 1)
run_cmd as_user twtest2 "$tw" set --pid "$member" --advance 1d
is "$status" 1 "twtest2 cannot set it through --pid of a member"
is "$(as_user "$user" "$tw" join mine -- date +%s)" 2000000600 "$user's namespace is unchanged"

# root does not take another user's store for its own: that user could
# change the clocks root's processes see
run_cmd env XDG_RUNTIME_DIR="$home/run" "$tw" join mine -- date +%s
is "$status" 1 "root refuses $user's store"
like "$out" "$home(/run)?: owned by uid $(id -u "$user"), must be owned by root$" \
	"and names the directory and its owner"
wait

# A member that becomes another user cannot read root's clock page: it says so
# and exits rather than run on host time
run_cmd "$TW" run -- setpriv --reuid="$(id -u twtest2)" --regid="$(id -g twtest2)" --clear-groups date
is "$status" 1 "a member that cannot reach its namespace exits with status 1"
like "$out" "cannot reach time namespace .*exiting rather than running on host time" \
	"and says why"

check_host_clock
done_testing
