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

# Armed timers are re-armed after a change: --advance past an expiry an hour
# away fires it at once ...
"$TW" create tm
for t in "timerfd-abs REALTIME" "timerfd-abs BOOTTIME" "posix-abs MONOTONIC" "posix-abs REALTIME" "itimer" "alarm"; do
	"$TW" join tm -- "$TIMER" $t 3600 >"$TW_TMP/t.out" &
	timer=$!
	sleep 0.4
	advance_wakes tm "$timer" 0.5 "$t an hour away fires right after set --advance 2h"
	like "$(cat "$TW_TMP/t.out")" "^fired 72[0-9][0-9]\." "$t: and saw two hours pass"
done
# ... and a rate change rescales the time left and the interval: three expiries
# a virtual second apart, rate 10 from 0.5 s on: about 0.75 s instead of 3
t0=$EPOCHREALTIME
"$TW" join tm -- "$TIMER" timerfd-rel MONOTONIC 1 >"$TW_TMP/t.out" &
timer=$!
sleep 0.5
"$TW" set tm --rate 10
wait "$timer"
t1=$EPOCHREALTIME
elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
ok "$(awk -v e="$elapsed" 'BEGIN { exit !(e > 0.6 && e < 2) }'; echo $?)" \
	"timerfd interval 1 s, set to rate 10 after 0.5 s: three expiries took $elapsed s (want 0.6..2)"
near "$(awk '{ print $2 }' "$TW_TMP/t.out")" 3 0.3 "and three virtual seconds passed"

# TFD_TIMER_CANCEL_ON_SET: a set of the namespace's REALTIME (from outside, or
# by a member's date -s) cancels the timerfd (read fails with ECANCELED), as a
# set of the host clock does; a rate change does not
"$TW" rm tm
"$TW" create tm
timeout 20 "$TW" join tm -- "$TIMER" cancel 5 >"$TW_TMP/t.out" &
timer=$!
sleep 0.4
"$TW" set tm --offset +1m
wait "$timer"
like "$(cut -d. -f1 "$TW_TMP/t.out" | tr '\n' ' ')" "^canceled 6[0-9] fired 6[0-9] $" \
	"cancel-on-set timerfd: set --offset +1m cancels it, then its expiry (now past) fires"
timeout 20 "$TW" join tm -- "$TIMER" cancel 3 >"$TW_TMP/t.out" &
timer=$!
sleep 0.4
"$TW" join tm -- date -s '-1 hour' >/dev/null
sleep 0.3
"$TW" set tm --rate 2
sleep 0.3
"$TW" set tm --advance 2h
wait "$timer"
like "$(cut -d. -f1 "$TW_TMP/t.out" | tr '\n' ' ')" "^canceled -359[0-9] canceled 36[0-9][0-9] fired 36[0-9][0-9] $" \
	"cancel-on-set timerfd: a member's date -s cancels it, --rate does not, --advance does"
"$TW" rm tm

done_testing
