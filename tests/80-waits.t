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
t0=$EPOCHREALTIME
"$TW" set w --advance 2h
wait "$waiter"
t1=$EPOCHREALTIME
ok "$(awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 0.5) }'; echo $?)" \
	"a sleeper an hour from its REALTIME deadline wakes right after set --advance 2h ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') s)"
like "$(cat "$TW_TMP/w.out")" "^done 72[0-9][0-9]\." "and saw two hours pass"
# Setting REALTIME back delays a REALTIME deadline
"$TW" join w -- "$WAIT" abs REALTIME 1 >"$TW_TMP/w.out" &
waiter=$!
sleep 0.3
"$TW" set w --offset -1h
sleep 1.5
ok "$(kill -0 "$waiter" 2>/dev/null; echo $?)" "setting REALTIME back an hour delays a deadline a second away"
"$TW" set w --advance 4h
wait "$waiter"
like "$(cat "$TW_TMP/w.out")" "^done" "and --advance 4h (past it again) then ends it"
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
	took 0.95 2.5 "python3 time.sleep(1) frozen" timeout 30 "$TW" run --freeze -- python3 -c 'import time; time.sleep(1)'
else
	skip 3 "python3 is not installed"
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
else
	skip 2 "java is not installed"
fi
if have node; then
	took 1.9 4 "node setTimeout 2 s with --monotonic +1y" \
		timeout 30 "$TW" run --monotonic +1y -- node -e 'setTimeout(() => {}, 2000)'
	took 0.15 1.5 "node setTimeout 2 s at rate 10" \
		timeout 30 "$TW" run --rate 10 -- node -e 'setTimeout(() => {}, 2000)'
else
	skip 2 "node is not installed"
fi
for opt in "--monotonic +1y" "--rate 10" "--freeze"; do
	case $opt in --rate*) lo=0.35 hi=1.5 ;; *) lo=3.9 hi=6 ;; esac
	took $lo $hi "perl sleep 2 + select 2 ($opt)" \
		timeout 30 "$TW" run $opt -- perl -e 'sleep 2; select(undef, undef, undef, 2)'
	case $opt in --rate*) lo=0.15 hi=1.2 ;; *) lo=1.9 hi=3.5 ;; esac
	took $lo $hi "bash sleep 2 ($opt)" timeout 30 "$TW" run $opt -- bash -c 'sleep 2'
done

done_testing
