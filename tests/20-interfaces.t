#!/bin/bash
# Every interposed libc time entry point, one at a time (DESIGN sections 2, 3, 5),
# through tw-probe (tests/helpers/probe.c): clock reads under --at/--freeze,
# --monotonic/--boottime, --offset and --rate; clock setting under --settime
# virtual and deny; membership across every way of starting a program with a
# cleaned environment.
. "$(dirname "$0")/lib.sh"

[ -x "$PROBE" ] || { echo "1..0 # SKIP $PROBE is not built (make $PROBE)"; exit 0; }

# A hung namespace must fail the test, not stall the run: `tw` is `$TW` with a
# time limit (TW_LIMIT seconds).
TW_LIMIT=30
tw() { timeout -k 5 "$TW_LIMIT" "$TW" "$@"; }

# parse ARRAY TEXT: ARRAY[NAME]=VALUE for each `NAME VALUE` line of TEXT.
parse() {
	local -n arr_=$1
	local name val
	arr_=()
	while read -r name val; do
		[ -n "$name" ] && arr_[$name]=$val
	done <<<"$2"
}

# Decimal arithmetic on readings (awk doubles: ~0.2 us at 2e9 s, plenty here).
# A missing operand (no reading) gives an empty result, which `near` fails.
calc() { awk "BEGIN { printf \"%.9f\", $1 }"; }
sub() { num "${1:-}" && num "${2:-}" && calc "$1 - $2"; }
add() { num "${1:-}" && num "${2:-}" && calc "$1 + $2"; }
# Is VALUE a reading (not an errno name)?
num() { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; }

DAY=86400
AT=2000000000
WANT=2000000000.000000000

declare -A H H2 V V2 W

parse H "$($PROBE read)"
num "${H[REALTIME]:-}" || { echo "1..0 # SKIP tw-probe read fails on the host: ${H[REALTIME]:-no output}"; exit 0; }
HOST_TAI=$(sub "${H[TAI]}" "${H[REALTIME]}")

# ---- --at @2000000000 --freeze: every REALTIME-class reading ---------------

parse V "$(tw run --at @$AT --freeze -- "$PROBE" read)"
for name in REALTIME REALTIME_COARSE gettimeofday time timespec_get ftime \
	ntp_gettime ntp_gettimex adjtimex; do
	is "${V[$name]:-}" "$WANT" "--at @$AT --freeze: $name reads $AT"
done
if num "${H[REALTIME_ALARM]}"; then
	is "${V[REALTIME_ALARM]:-}" "$WANT" "--at --freeze: REALTIME_ALARM reads $AT"
else
	is "${V[REALTIME_ALARM]:-}" "${H[REALTIME_ALARM]}" \
		"--at --freeze: REALTIME_ALARM fails as on the host (${H[REALTIME_ALARM]})"
fi
near "$(sub "${V[TAI]:-}" "${V[REALTIME]:-}")" "$HOST_TAI" 0.001 \
	"--at --freeze: TAI - REALTIME is the host's TAI offset"
for name in PROCESS_CPUTIME_ID THREAD_CPUTIME_ID; do
	near "${V[$name]:-}" 0 60 "--at --freeze: $name is the process's CPU time, not shifted"
done
for name in getres_REALTIME getres_MONOTONIC; do
	is "${V[$name]:-}" "${H[$name]}" "--at --freeze: clock_getres ${name#getres_} is the host's"
done
near "${V[MONOTONIC]:-}" "${H[MONOTONIC]}" 30 "--at --freeze: MONOTONIC is not moved by --at"

# frozen clocks stand still, also across processes, while the host waits
tw create frozen --at @$AT --freeze
out=$(tw join frozen -- "$PROBE" read; sleep 0.2; tw join frozen -- "$PROBE" read | sed 's/^/2_/')
parse V "$out"
for name in REALTIME MONOTONIC MONOTONIC_RAW BOOTTIME; do
	is "${V[2_$name]:-}" "${V[$name]:-}" "--freeze: $name stands still over 0.2 s"
done
# ... and when a member's timed wait runs out, the monotonic clocks (only) move
# on to its deadline, so that programs that wait until their clock gets there
# do get there
out=$(tw join frozen -- sh -c "sleep 0.2; '$PROBE' read | sed 's/^/2_/'")
parse W "$out"
for name in MONOTONIC MONOTONIC_RAW BOOTTIME; do
	near "$(sub "${W[2_$name]:-}" "${V[$name]:-}")" 0.2 0.01 \
		"--freeze: $name moved on 0.2 s when a member's sleep 0.2 ran out"
done
is "${W[2_REALTIME]:-}" "${V[REALTIME]:-}" "--freeze: REALTIME did not"
tw rm frozen

# ---- --monotonic +10d --boottime +20d --------------------------------------

parse H "$($PROBE read)"
parse V "$(tw run --monotonic +10d --boottime +20d -- "$PROBE" read)"
parse H2 "$($PROBE read)"
near "${V[MONOTONIC]:-}" "$(add "${H[MONOTONIC]}" $((10 * DAY)))" 10 \
	"--monotonic +10d: MONOTONIC is the host's + 10 days"
near "${V[MONOTONIC_RAW]:-}" "$(add "${H[MONOTONIC_RAW]}" $((10 * DAY)))" 10 \
	"--monotonic +10d: MONOTONIC_RAW is the host's + 10 days"
near "$(sub "${V[MONOTONIC_RAW]:-}" "${V[MONOTONIC]:-}")" \
	"$(sub "${H[MONOTONIC_RAW]}" "${H[MONOTONIC]}")" 0.05 \
	"--monotonic: MONOTONIC_RAW - MONOTONIC is the host's"
near "${V[BOOTTIME]:-}" "$(add "${H[BOOTTIME]}" $((20 * DAY)))" 10 \
	"--boottime +20d: BOOTTIME is the host's + 20 days"
if num "${H[BOOTTIME_ALARM]}"; then
	near "${V[BOOTTIME_ALARM]:-}" "${V[BOOTTIME]:-}" 0.02 "--boottime: BOOTTIME_ALARM follows BOOTTIME"
else
	is "${V[BOOTTIME_ALARM]:-}" "${H[BOOTTIME_ALARM]}" \
		"--boottime: BOOTTIME_ALARM fails as on the host (${H[BOOTTIME_ALARM]})"
fi
near "${V[MONOTONIC_COARSE]:-}" "${V[MONOTONIC]:-}" 0.02 "--monotonic: MONOTONIC_COARSE within a tick of MONOTONIC"
near "${V[REALTIME_COARSE]:-}" "${V[REALTIME]:-}" 0.02 "--monotonic: REALTIME_COARSE within a tick of REALTIME"
near "${V[REALTIME]:-}" "${H[REALTIME]}" 10 "--monotonic/--boottime: REALTIME is the host's"
near "$(sub "${V[TAI]:-}" "${V[REALTIME]:-}")" "$HOST_TAI" 0.001 \
	"--monotonic/--boottime: TAI - REALTIME is the host's"
for name in PROCESS_CPUTIME_ID THREAD_CPUTIME_ID; do
	near "${V[$name]:-}" 0 60 "--monotonic/--boottime: $name is not shifted"
done

# ---- --offset +400d ----------------------------------------------------------

parse H "$($PROBE read)"
parse V "$(tw run --offset +400d -- "$PROBE" read)"
for name in REALTIME REALTIME_COARSE gettimeofday time timespec_get ftime \
	ntp_gettime ntp_gettimex adjtimex; do
	near "${V[$name]:-}" "$(add "${H[REALTIME]}" $((400 * DAY)))" 10 \
		"--offset +400d: $name is the host's REALTIME + 400 days"
done
near "$(sub "${V[TAI]:-}" "${V[REALTIME]:-}")" "$HOST_TAI" 0.001 \
	"--offset +400d: TAI - REALTIME is the host's"
near "${V[MONOTONIC]:-}" "${H[MONOTONIC]}" 10 "--offset +400d: MONOTONIC is the host's"
near "${V[BOOTTIME]:-}" "${H[BOOTTIME]}" 10 "--offset +400d: BOOTTIME is the host's"

# ---- --rate 10 ---------------------------------------------------------------
# Two readings in one namespace about a second of host time apart.  The host
# time between them is bracketed by /proc/uptime (host BOOTTIME, 10 ms steps):
# read before and after each reading, so inner <= host elapsed <= outer, and the
# virtual elapsed time must lie within 10x those, whatever `sleep` does.

out=$(tw run --rate 10 -- sh -c "
	up() { read u rest </proc/uptime; echo \"\$1 \$u\"; }
	up U0; '$PROBE' read; up U1; sleep 1; up U2; '$PROBE' read | sed 's/^/2_/'; up U3")
parse V "$out"
inner=$(sub "${V[U2]:-}" "${V[U1]:-}")
outer=$(sub "${V[U3]:-}" "${V[U0]:-}")
for name in MONOTONIC MONOTONIC_RAW BOOTTIME REALTIME; do
	d=$(sub "${V[2_$name]:-}" "${V[$name]:-}")
	awk -v d="$d" -v i="$inner" -v o="$outer" \
		'BEGIN { exit !(d != "" && i > 0 && d >= 10 * (i - 0.01) - 0.3 && d <= 10 * (o + 0.01) + 0.3) }'
	ok $? "--rate 10: $name advanced 10x the host's elapsed time"
	[ "$d" = "" ] || echo "# $name advanced ${d}s; host between ${inner}s and ${outer}s"
done
d=$(sub "${V[2_MONOTONIC]:-}" "${V[MONOTONIC]:-}")
near "$(sub "${V[2_REALTIME]:-}" "${V[REALTIME]:-}")" "$d" 0.05 \
	"--rate 10: REALTIME advances with MONOTONIC"
near "$(sub "${V[2_BOOTTIME]:-}" "${V[BOOTTIME]:-}")" "$d" 0.05 \
	"--rate 10: BOOTTIME advances with MONOTONIC"
for name in REALTIME_COARSE gettimeofday timespec_get; do
	near "$(sub "${V[2_$name]:-}" "${V[$name]:-}")" "$d" 0.3 \
		"--rate 10: $name advances with MONOTONIC"
done

# ---- setting the clock inside (--settime virtual, the default) ---------------

guard_host_clock "clock-setting interfaces"
TW_LIMIT=15

for how in clock_settime settimeofday stime adjtimex_setoffset clock_adjtime_setoffset adjtime; do
	case $how in
	clock_settime | settimeofday | stime) arg=$(($(date +%s) + 600)) ;;
	*) arg=600 ;;
	esac
	parse H "$($PROBE read)"
	out=$(tw run -- sh -c "'$PROBE' settime $how $arg; '$PROBE' read")
	is "$(printf '%s\n' "$out" | head -n 1)" ok "settime $how: succeeds inside a namespace"
	parse V "$(printf '%s\n' "$out" | tail -n +2)"
	near "${V[REALTIME]:-}" "$(add "${H[REALTIME]}" 600)" 10 \
		"settime $how: the namespace's REALTIME moved 600 s ahead of the host's"
	near "${V[gettimeofday]:-}" "$(add "${H[REALTIME]}" 600)" 10 \
		"settime $how: gettimeofday follows"
	near "${V[MONOTONIC]:-}" "${H[MONOTONIC]}" 10 "settime $how: MONOTONIC untouched"
	near "$(sub "${V[TAI]:-}" "${V[REALTIME]:-}")" "$HOST_TAI" 0.001 \
		"settime $how: TAI - REALTIME is still the host's"
done

parse H "$($PROBE read)"
out=$(tw run -- sh -c "'$PROBE' settime clock_settime $(($(date +%s) - 600)); '$PROBE' read")
parse V "$(printf '%s\n' "$out" | tail -n +2)"
near "${V[REALTIME]:-}" "$(sub "${H[REALTIME]}" 600)" 10 "settime clock_settime: REALTIME may go back 600 s"
near "${V[MONOTONIC]:-}" "${H[MONOTONIC]}" 10 "settime back: MONOTONIC untouched"

for clk in MONOTONIC BOOTTIME; do
	is "$(tw run -- "$PROBE" settime-clock $clk 1000 2>&1)" EINVAL "clock_settime($clk) fails with EINVAL"
done
is "$(tw run -- "$PROBE" adjtimex-mode 0 2>&1)" ok "adjtimex modes 0 (read-only) works"
is "$(tw run -- "$PROBE" adjtimex-mode 0x2 2>&1)" EPERM "adjtimex ADJ_FREQUENCY fails with EPERM"

# ---- --settime deny ----------------------------------------------------------

for how in clock_settime settimeofday stime adjtimex_setoffset clock_adjtime_setoffset adjtime; do
	case $how in
	clock_settime | settimeofday | stime) arg=$(($(date +%s) + 600)) ;;
	*) arg=600 ;;
	esac
	parse H "$($PROBE read)"
	out=$(tw run --settime deny -- sh -c "'$PROBE' settime $how $arg; '$PROBE' read")
	is "$(printf '%s\n' "$out" | head -n 1)" EPERM "--settime deny: $how fails with EPERM"
	parse V "$(printf '%s\n' "$out" | tail -n +2)"
	near "${V[REALTIME]:-}" "${H[REALTIME]}" 10 "--settime deny: $how left REALTIME alone"
done

check_host_clock
TW_LIMIT=30

# ---- membership across spawn interfaces with a cleaned environment -----------

for how in fork-execve fork-execv fork-execvp fork-execvpe fork-execl fork-execlp fork-execle \
	vfork-execve posix_spawn posix_spawnp system popen fexecve execveat; do
	is "$(tw run --at @$AT --freeze -- "$PROBE" spawn $how -- date +%s 2>&1)" $AT \
		"spawn $how with an empty environment: the child is a member"
done

is "$(tw run --at @$AT --freeze -- env -i date +%s 2>&1)" $AT "env -i date: a member"
is "$(tw run --at @$AT --freeze -- sh -c 'sh -c "date +%s"' 2>&1)" $AT "grandchildren are members"
is "$(tw run --at @$AT --freeze -- env -i sh -c 'env -i sh -c "date +%s"' 2>&1)" $AT \
	"grandchildren under env -i twice are members"
if have python3; then
	is "$(tw run --at @$AT --freeze -- python3 -c 'import os; os.system("date +%s")' 2>&1)" $AT \
		"python3 os.system: a member"
	is "$(tw run --at @$AT --freeze -- python3 -c \
		'import subprocess; print(subprocess.check_output(["date","+%s"], env={}).decode().strip())' 2>&1)" \
		$AT "python3 subprocess with env={}: a member"
else
	skip 2 "python3 is not installed"
fi
if have perl; then
	is "$(tw run --at @$AT --freeze -- perl -e 'system("date +%s")' 2>&1)" $AT "perl system: a member"
	is "$(tw run --at @$AT --freeze -- perl -e '%ENV = (); system("date +%s")' 2>&1)" $AT \
		"perl system with %ENV emptied: a member"
else
	skip 2 "perl is not installed"
fi

done_testing
