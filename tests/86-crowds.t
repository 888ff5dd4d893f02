#!/bin/bash
# Many waits and timers at once, with no fixed limit: 300 of each kind in one
# process all end at once when `set --advance 2h` passes their hour; timer
# calls from a signal handler that interrupts them; a cancelled timerfd at a
# high descriptor; and the runtime's helper thread, which never keeps a
# process alive nor leaves a forked child stuck.
. "$(dirname "$0")/lib.sh"

CROWD=$TW_BUILD/tests/tw-crowd
[ -x "$CROWD" ] || { echo "1..0 # SKIP $CROWD is not built"; exit 0; }

# wait_crowd KIND N: N waits of KIND an hour ahead; once they have all started,
# an advance of 2 h; all of them must end (the hour would take an hour)
wait_crowd() {
	local kind=$1 n=$2 word out
	"$TW" create "c-$kind" --at @2000000000
	mkfifo "$TW_TMP/$kind.fifo"
	"$TW" join "c-$kind" -- "$CROWD" wait "$kind" "$n" 3600 >"$TW_TMP/$kind.fifo" &
	exec 7<"$TW_TMP/$kind.fifo"
	read -r -t 60 word <&7
	is "${word:-}" ready "$kind: $n waits an hour ahead have started"
	took 0 30 "$kind: set --advance 2h" "$TW" set -q "c-$kind" --advance 2h
	read -r -t 30 out <&7
	is "${out:-}" "woke $n" "$kind: all $n waits ended at once"
	exec 7<&-
	wait
	"$TW" rm --force "c-$kind"
}

for kind in abstime cond sem poll timerfd posix raw; do
	wait_crowd "$kind" 300
done

# A SIGALRM handler re-arms setitimer and a POSIX timer while the main thread,
# which it interrupts, arms them in a loop: no deadlock, at rate 3 for 3 s of
# the namespace's time.
took 0 20 "timer calls from a handler that interrupts them, rate 3, 3 s" \
	"$TW" run --rate 3 -- "$CROWD" rearm 3
is "$out" done "and the program finishes"

# TFD_TIMER_CANCEL_ON_SET at a descriptor past any table: ECANCELED after the
# namespace's REALTIME is set from inside
is "$("$TW" run -- "$CROWD" cancel 5000)" ECANCELED \
	"a cancel-on-set timerfd at descriptor 5000 reads ECANCELED after a set"

# The main thread makes a timed wait (the runtime's watcher starts) and calls
# pthread_exit: the process exits 0 at once, as on the host.
took 0 5 "a main thread that waited and called pthread_exit" "$TW" run -- "$CROWD" exit-thread
is "$?" 0 "exits 0"

# Forks from several threads that are making timed waits: every child can
# wait and exit.
is "$("$TW" run -- "$CROWD" forks 4 25)" "forked 100, all exited 7" \
	"100 forks from 4 threads making timed waits: every child exits"

# CPython's test_threading test_3_join_in_forked_from_thread: a fork from a
# thread while the main thread is being joined in the child.
script='import os, sys, threading
def joiningfunc(mainthread):
    mainthread.join()
    print("end of thread")
    sys.stdout.flush()
main_thread = threading.current_thread()
def worker():
    childpid = os.fork()
    if childpid != 0:
        os.waitpid(childpid, 0)
        sys.exit(0)
    t = threading.Thread(target=joiningfunc, args=(main_thread,))
    print("end of main")
    sys.stdout.flush()
    t.start()
    t.join()
w = threading.Thread(target=worker)
w.start()
'
want=$(timeout 60 python3 -c "$script" | tr '\n' ' ')
took 0 30 "python: join in a child forked from a thread" timeout 60 "$TW" run --rate 2 -- python3 -c "$script"
is "$(echo $out)" "$(echo $want)" "prints what it prints on the host ($(echo $want))"

done_testing
