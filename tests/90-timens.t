#!/bin/bash
# The kernel's time-namespace selftests (tools/testing/selftests/timens: timerfd,
# timer, clock_nanosleep, futex), checked again under timewarp for REALTIME,
# MONOTONIC and BOOTTIME, with the clocks a year and more off, ten years back
# and at rate 10 (DESIGN section 2, "Waiting under a virtual clock"): timers an
# hour away report an hour left, an absolute deadline at now + N fires after N
# virtual seconds (N / R of host time: not never, not at once), the clock read
# after it is at or past it, and an hour's sleep is interrupted by a signal with
# an hour left.  tw-timens does the checks inside and prints "ok ELAPSED ...";
# host time is measured outside.
. "$(dirname "$0")/lib.sh"

TIMENS=$TW_BUILD/tests/tw-timens
[ -x "$TIMENS" ] || { echo "1..0 # SKIP $TIMENS is not built"; exit 0; }

shifted="--offset +400d --monotonic +1y --boottime +1y"

# what the host's own libc and kernel say to a mode on a clock, without timewarp
# (status 3: every wait on that clock refused)
declare -A host_refuses
for clk in REALTIME MONOTONIC BOOTTIME; do
	"$TIMENS" futex "$clk" 0.01 >/dev/null 2>&1
	[ $? -eq 3 ] && host_refuses[futex $clk]=1
done

# combo OPTIONS RATE SECONDS MODE CLOCK: runs tw-timens MODE CLOCK SECONDS under
# timewarp run OPTIONS and checks the host time taken, the result, the virtual
# time it took and (timers) the virtual time left reported right after arming.
combo() {
	local opts=$1 rate=$2 s=$3 mode=$4 clk=$5 lo hi left desc
	desc="$mode $clk $s ($opts)"
	if [ -n "${host_refuses[$mode $clk]:-}" ]; then
		# The host refuses it too (glibc's futex waits take only REALTIME and
		# MONOTONIC deadlines: EINVAL on BOOTTIME): timewarp must refuse it the
		# same way, at once; there is no wait to time.
		took 0 1.5 "$desc: refused at once, as on the host" \
			timeout 30 "$TW" run $opts -- "$TIMENS" "$mode" "$clk" "$s"
		like "$out" "^refused" "$desc: refused with EINVAL, as on the host"
		skip 2 "$mode on $clk: the host's libc refuses it (EINVAL)"
		return
	fi
	# host time: s / rate, plus 0.4 s of host-timed signalling for nanosleep
	lo=$(awk -v s="$s" -v r="$rate" -v m="$mode" 'BEGIN { print s / r * 0.95 + (m == "nanosleep" ? 0.35 : 0) }')
	hi=$(awk -v s="$s" -v r="$rate" -v m="$mode" 'BEGIN { print s / r * 1.5 + 1 + (m == "nanosleep" ? 0.5 : 0) }')
	took "$lo" "$hi" "$desc" timeout 30 "$TW" run $opts -- "$TIMENS" "$mode" "$clk" "$s"
	like "$out" "^ok " "$desc: every check of the selftest passed"
	near "$(echo "$out" | awk '$1 == "ok" { print $2 }')" "$s" 0.5 "$desc: woke $s virtual seconds on"
	case $mode in
	timerfd | timer)
		left=$(echo "$out" | sed -n 's/^ok .*left=\([0-9.]*\).*/\1/p')
		near "$left" "$s" 0.2 "$desc: reported $s virtual seconds left when armed" ;;
	nanosleep)
		left=$(echo "$out" | sed -n 's/^ok .*rem=\([0-9.]*\).*/\1/p')
		near "$left" 3595 5 "$desc: an hour's sleep interrupted early left about an hour (virtual)" ;;
	futex)
		# pthread_cond_clockwait, pthread_cond_timedwait (condattr clock),
		# sem_clockwait, pthread_mutex_clocklock, pthread_rwlock_clock{rd,wr}lock,
		# pthread_clockjoin_np; on REALTIME also sem_timedwait,
		# pthread_mutex_timedlock, pthread_rwlock_timed{rd,wr}lock, pthread_timedjoin_np
		is "$(echo "$out" | sed -n 's/^ok .*waits=\([0-9]*\).*/\1/p')" \
			"$([ "$clk" = REALTIME ] && echo 12 || echo 7)" "$desc: every libc wait timed out" ;;
	esac
}

for mode in timerfd timer nanosleep futex; do
	for clk in REALTIME MONOTONIC BOOTTIME; do
		# a year and more off at rate 1: 2 s, not never, not at once
		combo "$shifted" 1 2 "$mode" "$clk"
		# and at rate 10: 2 virtual seconds in a fifth of a host second
		combo "$shifted --rate 10" 10 2 "$mode" "$clk"
	done
	# REALTIME ten years back: a deadline wrongly taken on host time is long past
	combo "--offset -3650d" 1 1 "$mode" REALTIME
done

done_testing
