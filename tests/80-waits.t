#!/bin/bash
# Waits follow the virtual clocks (DESIGN section 2): an absolute deadline fires
# when the namespace's clock reaches it, a relative duration d takes d / R of
# host time, a frozen namespace's waiters still wake, and a namespace change
# wakes sleepers to plan again.  Host time is measured outside, with bash's
# EPOCHREALTIME.
. "$(dirname "$0")/lib.sh"

WAIT=$TW_BUILD/tests/tw-wait

# Every wait of tw-wait, on every clock, a year and more off and at rate 10:
# two virtual seconds in a fifth of a host second
for mode in abs rel cond sem; do
	for clk in REALTIME MONOTONIC BOOTTIME; do
		[ "$mode" = cond -o "$mode" = sem ] && [ "$clk" = BOOTTIME ] && continue # EINVAL on the host too
		took 0.18 1.2 "$mode $clk at rate 10 with --offset +400d --monotonic +1y" \
			"$TW" run --offset +400d --monotonic +1y --boottime +1y --rate 10 -- "$WAIT" "$mode" "$clk" 2
		near "${out#done }" 2 0.3 "$mode $clk at rate 10: two virtual seconds passed"
	done
done
for mode in abs rel; do
	took 0.95 2.5 "$mode MONOTONIC at rate 1, --monotonic +10y" "$TW" run --monotonic +3650d -- "$WAIT" $mode MONOTONIC 1
	took 1.9 3.5 "$mode REALTIME at rate 0.5" "$TW" run --rate 0.5 -- "$WAIT" $mode REALTIME 1
	# frozen: the clock stands still, the waiter wakes after the virtual time
	# left; then MONOTONIC (not REALTIME) has caught up with its deadline
	took 0.95 2.5 "$mode MONOTONIC frozen" "$TW" run --freeze -- "$WAIT" $mode MONOTONIC 1
	is "$out" "done 1.000" "$mode MONOTONIC frozen: MONOTONIC caught up with the deadline"
	took 0.95 2.5 "$mode REALTIME frozen" "$TW" run --freeze -- "$WAIT" $mode REALTIME 1
	is "$out" "done 0.000" "$mode REALTIME frozen: REALTIME stood still"
done
took 0 0.8 "a deadline already past returns at once" "$TW" run --rate 10 -- "$WAIT" abs REALTIME -5

# A change while waiting: --advance past the deadline wakes the sleeper at once
"$TW" create w
"$TW" join w -- "$WAIT" abs REALTIME 3600 >"$TW_TMP/w.out" &
waiter=$!
sleep 0.5
advance_wakes w "$waiter" 0.5 "a sleeper an hour from its REALTIME deadline wakes right after set --advance 2h"
like "$(cat "$TW_TMP/w.out")" "^done 72[0-9][0-9]\." "and saw two hours pass"
# Every kind of wait the watcher re-evaluates: condition variables (broadcast),
# semaphores, poll and epoll (its signal), on a deadline an hour ahead
for w in "cond REALTIME" "cond MONOTONIC" "sem REALTIME" "sem MONOTONIC" "poll MONOTONIC" "epoll MONOTONIC"; do
	"$TW" set w --offset 0s
	"$TW" join w -- "$WAIT" $w 3600 >"$TW_TMP/w.out" &
	waiter=$!
	sleep 0.4
	advance_wakes w "$waiter" 0.5 "$w waiting an hour wakes right after set --advance 2h"
	like "$(cat "$TW_TMP/w.out")" "^done 72[0-9][0-9]\." "$w: and saw two hours pass"
done
# A rate change rescales what is left: 6 virtual seconds, 0.5 s at rate 1 then
# rate 10 for the 5.5 left: about 1.05 s
for w in "sem MONOTONIC" "poll MONOTONIC" "cond REALTIME" "abs BOOTTIME"; do
	t0=$EPOCHREALTIME
	"$TW" join w -- "$WAIT" $w 6 >"$TW_TMP/w.out" &
	waiter=$!
	sleep 0.5
	"$TW" set w --rate 10
	wait "$waiter"
	t1=$EPOCHREALTIME
	"$TW" set w --rate 1
	elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	ok "$(awk -v e="$elapsed" 'BEGIN { exit !(e > 0.9 && e < 2.5) }'; echo $?)" \
		"$w 6 s, set to rate 10 after 0.5 s: took $elapsed s of host time (want 0.9..2.5)"
	like "$(cat "$TW_TMP/w.out")" "^done 6\.[0-3]" "$w: six virtual seconds passed"
done
# Setting REALTIME back delays a REALTIME deadline
"$TW" set w --offset 0s
"$TW" join w -- "$WAIT" abs REALTIME 1 >"$TW_TMP/w.out" &
waiter=$!
sleep 0.3
"$TW" set w --offset -1h
sleep 1.5
ok "$(kill -0 "$waiter" 2>/dev/null; echo $?)" "setting REALTIME back an hour delays a deadline a second away"
"$TW" set w --advance 4h
wait "$waiter"
like "$(cat "$TW_TMP/w.out")" "^done" "and --advance 4h (past it again) then ends it"
# ... also for a semaphore and a condition variable
for w in "sem REALTIME" "cond REALTIME"; do
	"$TW" set w --offset 0s
	"$TW" join w -- "$WAIT" $w 1 >"$TW_TMP/w.out" &
	waiter=$!
	sleep 0.3
	"$TW" set w --offset -1h
	sleep 1.5
	ok "$(kill -0 "$waiter" 2>/dev/null; echo $?)" "$w: setting REALTIME back an hour delays a deadline a second away"
	"$TW" set w --advance 4h
	wait "$waiter"
	like "$(cat "$TW_TMP/w.out")" "^done" "$w: and --advance 4h then ends it"
done
"$TW" rm w

# Real runtimes: each waits the expected host time and none hangs
py_waits='import time, threading, queue
time.sleep(1); threading.Event().wait(1)
try: queue.Queue().get(timeout=1)
except queue.Empty: pass'
if have python3; then
	took 2.9 5 "python3 sleep, Event.wait, queue.get (3 s) with --monotonic +1y" \
		timeout 30 "$TW" run --offset +400d --monotonic +1y -- python3 -c "$py_waits"
	took 0.25 1.5 "python3 sleep, Event.wait, queue.get (3 s) at rate 10" \
		timeout 30 "$TW" run --rate 10 -- python3 -c "$py_waits"
	# frozen: the waits end after the host time, and only the monotonic
	# clocks moved (queue.get loops until time.monotonic() gets there)
	took 2.9 5 "python3 sleep, Event.wait, queue.get (3 s) frozen" \
		timeout 30 "$TW" run --freeze -- python3 -c "import time; m, r = time.monotonic(), time.time()
$py_waits
print('%.1f %.1f' % (time.monotonic() - m, time.time() - r))"
	is "$out" "3.0 0.0" "python3 frozen: MONOTONIC went the 3 s waited, REALTIME stood still"
else
	skip 4 "python3 is not installed"
fi
if have java && have javac; then
	cat >"$TW_TMP/Waits.java" <<'JAVA'
public class Waits {
	public static void main(String[] a) throws Exception {
		Thread.sleep(2000);
		Object o = new Object();
		synchronized (o) { o.wait(2000); }
	}
}
JAVA
	javac -d "$TW_TMP" "$TW_TMP/Waits.java"
	took 3.9 8 "java Thread.sleep + Object.wait (4 s) with --monotonic +1y" \
		timeout 60 "$TW" run --monotonic +1y -- java -cp "$TW_TMP" Waits
	took 0.3 3.5 "java Thread.sleep + Object.wait (4 s) at rate 10" \
		timeout 60 "$TW" run --rate 10 -- java -cp "$TW_TMP" Waits
	took 3.9 8 "java Thread.sleep + Object.wait (4 s) frozen" \
		timeout 60 "$TW" run --freeze -- java -cp "$TW_TMP" Waits
else
	skip 3 "java is not installed"
fi
if have node; then
	took 1.9 4 "node setTimeout 2 s with --monotonic +1y" \
		timeout 30 "$TW" run --monotonic +1y -- node -e 'setTimeout(() => {}, 2000)'
	took 0.15 1.5 "node setTimeout 2 s at rate 10" \
		timeout 30 "$TW" run --rate 10 -- node -e 'setTimeout(() => {}, 2000)'
	took 1.9 4 "node setTimeout 2 s frozen" \
		timeout 30 "$TW" run --freeze -- node -e 'const t = Date.now(); setTimeout(() => console.log(Date.now() - t), 2000)'
	is "$out" 0 "node frozen: Date.now() stood still across the timeout"
else
	skip 4 "node is not installed"
fi
mkfifo "$TW_TMP/fifo"
for opt in "--monotonic +1y" "--rate 10" "--freeze"; do
	case $opt in --rate*) lo=0.35 hi=1.5 ;; *) lo=3.9 hi=6 ;; esac
	took $lo $hi "perl sleep 2 + select 2 ($opt)" \
		timeout 30 "$TW" run $opt -- perl -e 'sleep 2; select(undef, undef, undef, 2)'
	case $opt in --rate*) lo=0.15 hi=1.2 ;; *) lo=1.9 hi=3.5 ;; esac
	took $lo $hi "bash sleep 2 ($opt)" timeout 30 "$TW" run $opt -- bash -c 'sleep 2'
	took $lo $hi "bash read -t 2 ($opt)" timeout 30 "$TW" run $opt -- \
		bash -c 'exec 3<>"$1"; read -r -t 2 line <&3; echo "status $?"' bash "$TW_TMP/fifo"
	is "$out" "status 142" "bash read -t 2 ($opt): timed out (status > 128)"
done

done_testing
