#!/bin/bash
# Timers follow the virtual clocks: timerfd, POSIX timers, setitimer and alarm
# armed with virtual times fire when the namespace's clock gets there (d / R of
# host time), and the times they report back are virtual.
. "$(dirname "$0")/lib.sh"

TIMER=$TW_BUILD/tests/tw-timer

shifted="--offset +400d --monotonic +1y --boottime +1y"
for t in "timerfd-abs REALTIME 2" "timerfd-abs MONOTONIC 2" "timerfd-abs BOOTTIME 2" \
	"posix-abs REALTIME 2" "posix-abs MONOTONIC 2" "posix-abs BOOTTIME 2" "itimer 2" "alarm 2"; do
	took 0.18 1.2 "$t at rate 10, a year off" timeout 20 "$TW" run $shifted --rate 10 -- "$TIMER" $t
	near "$(echo "$out" | awk '{ print $2 }')" 2 0.3 "$t at rate 10: fired two virtual seconds on"
	case $t in alarm*) ;; *)
		near "$(echo "$out" | awk '{ print $3 }')" 2 0.05 "$t at rate 10: reported virtual time left" ;;
	esac
done
took 0.28 1.2 "timerfd-rel MONOTONIC 1, interval 1, three expiries at rate 10" \
	timeout 20 "$TW" run $shifted --rate 10 -- "$TIMER" timerfd-rel MONOTONIC 1
near "$(echo "$out" | awk '{ print $2 }')" 3 0.3 "the interval repeats every virtual second"
took 1.9 3.5 "timerfd-abs MONOTONIC 2 a year off at rate 1 fires, does not wait a year" \
	timeout 20 "$TW" run --monotonic +1y -- "$TIMER" timerfd-abs MONOTONIC 2
took 2.9 4.5 "timerfd-rel MONOTONIC 1 frozen: three expiries a host second apart" \
	timeout 20 "$TW" run --freeze -- "$TIMER" timerfd-rel MONOTONIC 1
is "$(echo "$out" | awk '{ print $2 }')" 0.000 "frozen: the clock stood still"

done_testing
