#!/bin/bash
# No escape through system calls (DESIGN section 4, "Wave 2"): time system
# calls made past libc are trapped and served with the namespace's clocks, as
# root and as an ordinary user.  Raw clock_gettime for every clock id (virtual
# where the clock is, the host's CPU clocks, the kernel's errors), raw
# gettimeofday and time, python's ctypes; the i386 and x32 entry points give
# virtual time or ENOSYS, never the host's; a raw FUTEX_WAIT_BITSET wakes at
# its virtual deadline; programs that take SIGSYS, block it, install filters
# of their own or run handlers on alternate stacks keep all of it; raw clock
# setting moves the namespace, never the host; strace and gdb keep working.
# tw-trap makes the calls and prints what it got beside the host's answer.
. "$(dirname "$0")/lib.sh"

TRAP=$TW_BUILD/tests/tw-trap
[ -x "$TRAP" ] || { echo "1..0 # SKIP $TRAP is not built"; exit 0; }

guard_host_clock "raw clock setting"

user=$(test_user)
prefix=$(install_copy)
install -m 755 "$TRAP" "$prefix/bin/tw-trap"

# col ID N: column N of tw-trap clocks' line for ID
col() { awk -v id="$1" -v n="$2" '$1 == id { print $n }'; }
# diff A B: A - B, printed with 3 decimals (empty when either is not a number)
minus() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^-?[0-9.]+$/ && b ~ /^-?[0-9.]+$/) printf "%.3f", a - b }'; }

# checks WHO TW TRAP RUNNER...: every check, with TW and TRAP as WHO sees them,
# each command run through RUNNER (nothing for root, as_user for the user)
checks() {
	local who=$1 tw=$2 trap=$3 got id raw host want out2 how arg
	shift 3

	# ---- raw clock_gettime, every clock id ----
	got=$("$@" "$tw" run --at @2000000000 --freeze --monotonic +1d --boottime +2d -- "$trap" clocks)
	for id in 0 5; do
		is "$(echo "$got" | col $id 2)" 2000000000.000000000 "$who: raw clock_gettime($id) is the frozen --at date"
	done
	tai=$(echo "$got" | awk '$1 == 0 { r = $3 } $1 == 11 { t = $3 } END { printf "%.0f", t - r }')
	is "$(echo "$got" | col 11 2)" "$((2000000000 + tai)).000000000" \
		"$who: raw clock_gettime(TAI) is the date plus the host's TAI offset ($tai s)"
	for id in 1 4 6; do
		near "$(minus "$(echo "$got" | col $id 2)" "$(echo "$got" | col $id 3)")" 86400 5 \
			"$who: raw clock_gettime($id) is the host's plus --monotonic +1d"
	done
	near "$(minus "$(echo "$got" | col 7 2)" "$(echo "$got" | col 7 3)")" 172800 5 \
		"$who: raw clock_gettime(BOOTTIME) is the host's plus --boottime +2d"
	# CPU-time clocks: this process, this thread, by pid and by tid
	for id in 2 3 $(echo "$got" | awk '$1 < -1000 && $3 !~ /^E/ { print $1 }'); do
		raw=$(echo "$got" | col "$id" 2)
		host=$(echo "$got" | col "$id" 3)
		ok "$(awk -v a="$raw" -v b="$host" 'BEGIN { d = b - a; exit !(a ~ /^[0-9.]+$/ && a < 60 && d >= 0 && d < 0.5) }'; echo $?)" \
			"$who: raw clock_gettime($id), a CPU-time clock, is the host's ($raw, host $host)"
	done
	# what the host refuses is refused alike; the ALARM clocks, where the
	# host has them, are their class's
	for id in 8 9 10 12 16 1000 -1 $(echo "$got" | awk '$1 < -1000 && $3 ~ /^E/ { print $1 }'); do
		raw=$(echo "$got" | col "$id" 2)
		host=$(echo "$got" | col "$id" 3)
		case $id:$host in
		8:[0-9]*) is "$raw" 2000000000.000000000 "$who: REALTIME_ALARM is the frozen date" ;;
		9:[0-9]*) near "$(minus "$raw" "$host")" 172800 5 "$who: BOOTTIME_ALARM is BOOTTIME's" ;;
		*) is "$raw" "$host" "$who: raw clock_gettime($id) fails as on the host ($host)" ;;
		esac
	done
	is "$(echo "$got" | col mapped 2)" 2000000000.000000000 "$who: into memory off the stack too"
	is "$(echo "$got" | awk '$1 ~ /^(across|readonly|prot_none|null|nanosleep_null|time_bad)$/ { printf "%s=%s ", $1, $2 }')" \
		"across=EFAULT readonly=EFAULT prot_none=EFAULT null=EFAULT nanosleep_null=EFAULT time_bad=EFAULT " \
		"$who: memory it may not write (or read) is EFAULT, as from the kernel, not a crash"

	got=$("$@" "$tw" run --offset +400d --monotonic +1d --rate 10 -- "$trap" clocks)
	near "$(minus "$(echo "$got" | col 0 2)" "$(echo "$got" | col 0 3)")" 34560000 5 \
		"$who: running at rate 10, raw REALTIME is the host's plus 400 days"
	near "$(minus "$(echo "$got" | col 1 2)" "$(echo "$got" | col 1 3)")" 86400 5 \
		"$who: and raw MONOTONIC the host's plus a day"

	# ---- raw gettimeofday and time; python's ctypes ----
	got=$("$@" "$tw" run --at @2000000000 --freeze -- "$trap" reads)
	is "$(echo "$got" | awk '{ if ($1 == "time-ptr") printf "%s %s %s|", $1, $2, $3; else printf "%s %s|", $1, $2 }')" \
		"gettimeofday 2000000000.000000|time 2000000000|time-ptr 2000000000 2000000000|gettimeofday-tz 0|" \
		"$who: raw gettimeofday and time (and time's pointer) give the frozen date"
	got=$("$@" "$tw" run --offset -3650d -- "$trap" reads)
	near "$(echo "$got" | awk '$1 == "gettimeofday" { printf "%.0f", $2 - $3 }')" -315360000 5 \
		"$who: running ten years back, raw gettimeofday is"
	near "$(echo "$got" | awk '$1 == "time" { print $2 - $3 }')" -315360000 5 \
		"$who: and raw time too"
	if have python3; then
		got=$("$@" "$tw" run --at @2000000000 --freeze -- python3 -c '
import ctypes
ts = (ctypes.c_long * 2)()
tv = (ctypes.c_long * 2)()
libc = ctypes.CDLL(None)
print(libc.syscall(228, 0, ts), ts[0], ts[1], libc.syscall(96, tv, None), tv[0], libc.syscall(201, None))')
		is "$got" "0 2000000000 0 0 2000000000 2000000000" \
			"$who: python ctypes CDLL(None).syscall(228, 0, buf), (96) and (201) give the frozen date"
	else
		skip 1 "python3 is not installed"
	fi

	# ---- foreign entry points: virtual time or ENOSYS, never the host's ----
	for abi in i386 x32; do
		got=$("$@" "$tw" run --at @2000000000 --freeze -- "$trap" $abi)
		host=$(echo "$got" | awk '$1 == "host" { print $2 }')
		is "$(echo "$got" | awk '$1 != "host" && $2 != "ENOSYS" && $2 != 2000000000')" "" \
			"$who: $abi: $(echo "$got" | awk '$1 != "host" { printf "%s=%s ", $1, $2 }')(host $host, outside: $abi_outside): each virtual or ENOSYS"
	done

	# ---- a raw FUTEX_WAIT_BITSET until an absolute deadline ----
	for clk in REALTIME MONOTONIC; do
		took 0.9 2.5 "$who: raw futex $clk 1 s with --offset -3650d --monotonic +1y" \
			"$@" timeout 30 "$tw" run --offset -3650d --monotonic +1y -- "$trap" futex $clk 1
		near "${out#ETIMEDOUT }" 1 0.3 "$who: futex $clk: timed out, 1 virtual second on"
		took 0.15 1.2 "$who: raw futex $clk 2 s at rate 10, a year off" \
			"$@" timeout 30 "$tw" run --offset +400d --monotonic +1y --rate 10 -- "$trap" futex $clk 2
		near "${out#ETIMEDOUT }" 2 0.3 "$who: futex $clk at rate 10: timed out, 2 virtual seconds on"
	done

	# ---- SIGSYS of the program's own, blocked, filters, alternate stacks ----
	# (an alternate stack of 8 KiB, the classic SIGSTKSZ, holds the
	# program's signal frame, the trap's, and the runtime's handler)
	for mode in sigsys block seccomp altstack "altstack 8192"; do
		got=$("$@" "$tw" run --at @2000000000 --freeze -- "$trap" $mode 2>&1)
		is "$(echo "$got" | grep -v '^ok ' | grep -v ' 2000000000\(\.000\)\?$' | grep -v '^mask-has-sigsys')" "" \
			"$who: $mode: $(echo "$got" | grep -c '^ok ') checks passed, every time read gave the frozen date"
		like "$(echo "$got" | tail -n 1)" "^now 2000000000\.000$" "$who: $mode: ran to its end"
	done

	# ---- raw clock setting: the namespace's REALTIME, never the host's ----
	for how in clock_settime settimeofday adjtimex clock_adjtime; do
		case $how in *adj*) arg=600 ;; *) arg=2000000600 ;; esac
		got=$("$@" "$tw" run --at @2000000000 -- "$trap" settime $how $arg 2>&1)
		like "$(echo $got)" "^ok now 200000060[01]\.[0-9]+$" \
			"$who: raw $how moved the namespace's REALTIME 600 s on"
		got=$("$@" "$tw" run --at @2000000000 --settime deny -- "$trap" settime $how $arg 2>&1)
		like "$(echo $got)" "^EPERM now 200000000[01]\.[0-9]+$" \
			"$who: with --settime deny, raw $how fails with EPERM, the clock unmoved"
	done
	# a time the kernel would not set is EINVAL, before any policy
	is "$("$@" "$tw" run --settime deny -- "$trap" settime clock_settime -5 | head -n 1) $("$@" "$tw" run \
		--settime deny -- "$trap" settime settimeofday -5 | head -n 1)" "EINVAL EINVAL" \
		"$who: raw clock_settime and settimeofday to before 1970 fail with EINVAL, as on the host"
}

# what the foreign entry points answer outside a namespace, for the record
abi_outside=$("$TRAP" i386 | awk '$1 == "clock_gettime" { print $2 }')
checks "$(id -un)" "$TW" "$TRAP"
if [ -n "$user" ]; then
	checks "$user" "$prefix/bin/timewarp" "$prefix/bin/tw-trap" as_user "$user"
else
	skip 57 "needs root to create the test user (running as $(id -un))"
fi

# ---- debuggers ----

# strace -f of a member (from outside, and inside the namespace) shows its
# calls, and the member still reads the namespace's clocks
strace_checks() {
	local who=$1 tw=$2 trap=$3 dir=$4
	shift 4
	if ! have strace; then
		skip 6 "strace is not installed"
		return
	fi
	got=$("$@" timeout 60 strace -f -qq -o "$dir/st" -e trace=clock_gettime,nanosleep,ppoll \
		"$tw" run --at @2000000000 -- "$trap" loop 0.5 2>&1)
	is "$?" 0 "$who: a member runs to its end under strace -f"
	like "$(echo "$got" | sed -n 2p)" "^now 200000000[0-9]\.[0-9]+$" "$who: and reads virtual time"
	like "$(cat "$dir/st")" "nanosleep\(\{tv_sec=0, tv_nsec=200000000\}" "$who: strace shows the member's nanosleep calls"
	like "$(cat "$dir/st")" "clock_gettime\(CLOCK_(REALTIME|MONOTONIC)" "$who: and its clock_gettime calls"
	got=$("$@" timeout 60 "$tw" run --at @2000000000 -- strace -f -qq -o "$dir/st2" \
		-e trace=clock_gettime,nanosleep "$trap" loop 0.5 2>&1)
	like "$(echo "$got" | sed -n 2p)" "^now 200000000[0-9]\.[0-9]+$" "$who: strace inside the namespace: the member reads virtual time"
	like "$(cat "$dir/st2")" "nanosleep\(\{tv_sec=0, tv_nsec=200000000\}" "$who: and strace shows its calls"
}
strace_checks "$(id -un)" "$TW" "$TRAP" "$TW_TMP"
if [ -n "$user" ]; then
	udir=$TW_TMP/home-$user
	mkdir -p "$udir" && chown "$user" "$udir"
	strace_checks "$user" "$prefix/bin/timewarp" "$prefix/bin/tw-trap" "$udir" as_user "$user"
else
	skip 6 "needs root to create the test user"
fi

# gdb running a member's program (inside the namespace, and from outside
# through timewarp run), and gdb attaching to a running member.  gdb stops at
# every signal it is not told to pass, and each trapped call is a SIGSYS:
# `handle SIGSYS nostop noprint pass` lets them through.
PASS_SIGSYS=(-ex 'handle SIGSYS nostop noprint pass')
# virtual_lines OUTPUT DESCRIPTION: tw-trap loop printed its times, each the
# namespace's (how many depends on how slowly the debugger starts threads)
virtual_lines() {
	ok "$( [ "$(echo "$1" | grep -c '^now ')" -ge 1 ] &&
		[ "$(echo "$1" | grep '^now ' | grep -vc '^now 200000000[0-9]\.')" -eq 0 ]; echo $?)" \
		"$2 ($(echo "$1" | grep -c '^now ') readings)"
}
gdb_checks() {
	local who=$1 tw=$2 trap=$3 dir=$4 pid
	shift 4
	if ! have gdb; then
		skip 8 "gdb is not installed"
		return
	fi
	# the machine may forbid ptrace itself (a container's filter, Yama)
	if "$@" timeout 60 gdb -nx -batch -ex run --args /bin/true 2>&1 | grep -q "not permitted"; then
		skip 8 "$who may not trace processes here (ptrace refused outside any namespace)"
		return
	fi
	got=$("$@" timeout 60 "$tw" run --at @2000000000 -- gdb -nx -batch "${PASS_SIGSYS[@]}" -ex run \
		--args "$trap" loop 0.5 2>&1)
	virtual_lines "$got" "$who: gdb inside the namespace runs a program that reads virtual time"
	like "$got" "exited normally" "$who: to its normal end (a vfork child's PTRACE_TRACEME waits for its exec)"
	got=$("$@" timeout 60 gdb -nx -batch "${PASS_SIGSYS[@]}" -ex run --args "$tw" run --at @2000000000 -- \
		"$trap" loop 0.5 2>&1)
	virtual_lines "$got" "$who: gdb running timewarp run follows it into the member"
	like "$got" "exited normally" "$who: to its normal end"
	# attach from outside to a running member, then detach
	"$@" "$tw" run --at @2000000000 -- "$trap" loop 3 >"$dir/loop" 2>&1 &
	for _ in $(seq 100); do grep -q '^now' "$dir/loop" 2>/dev/null && break; sleep 0.05; done
	pid=$(pgrep -n -f "$trap loop 3")
	got=$("$@" timeout 60 gdb -nx -batch -p "$pid" -ex bt 2>&1)
	wait
	if echo "$got" | grep -q "ptrace: Operation not permitted"; then
		skip 4 "$who may not attach to its own processes here (kernel.yama.ptrace_scope)"
		return
	fi
	like "$got" "<signal handler called>" "$who: gdb -p: the backtrace unwinds through the runtime's signal frame"
	like "$got" " main \(" "$who: gdb -p: down to the program's main"
	like "$(tail -n 1 "$dir/loop")" "^now 200000000[3-5]\." "$who: the member ran its course after gdb detached"
	is "$(grep -v '^now 200000000[0-5]\.' "$dir/loop")" ready "$who: reading virtual time throughout"
}
gdb_checks "$(id -un)" "$TW" "$TRAP" "$TW_TMP"
if [ -n "$user" ]; then
	gdb_checks "$user" "$prefix/bin/timewarp" "$prefix/bin/tw-trap" "$udir" as_user "$user"
else
	skip 8 "needs root to create the test user"
fi

check_host_clock
done_testing
