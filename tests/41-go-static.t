#!/bin/bash
# Go built without cgo (CGO_ENABLED=0, most container images of Go programs)
# is statically linked: the runtime's loader starts it, it reads its clocks
# from the timewarp vDSO, and its own waits (raw futex, nanosleep, epoll_pwait)
# are served at the system call.  Go starts its children with raw system calls
# too (fork and execve, no libc), often with an environment of its own
# (cmd.Env): the exec trap keeps every child a member, cgo or not.
. "$(dirname "$0")/lib.sh"

if ! have go; then
	skip 44 "go is not installed (golang-go)"
	done_testing
fi
AT=2000000000
export GOCACHE=$TW_TMP/go/cache GOPATH=$TW_TMP/go/path GOFLAGS=-mod=mod GO111MODULE=on
mkdir -p "$TW_TMP/go/static" "$TW_TMP/go/cgo"
cat >"$TW_TMP/go/static/main.go" <<'GO'
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// waits D seconds the way KIND does; returns the time Go measured
func wait(kind string, d time.Duration) time.Duration {
	t0 := time.Now()
	switch kind {
	case "sleep":
		time.Sleep(d)
	case "timer":
		<-time.NewTimer(d).C
	case "after":
		<-time.After(d)
	case "context":
		ctx, cancel := context.WithTimeout(context.Background(), d)
		<-ctx.Done()
		cancel()
	case "ticker":
		t := time.NewTicker(d / 4)
		for i := 0; i < 4; i++ {
			<-t.C
		}
		t.Stop()
	}
	return time.Since(t0)
}

// run CMD with an environment of PATH only, as services often do
func run(args []string) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	fmt.Print(string(out))
	if err != nil {
		fmt.Println("error:", err)
	}
}

func cpu() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func main() {
	if len(os.Args) < 2 {
		fmt.Println(time.Now().Unix())
		return
	}
	switch os.Args[1] {
	case "exec":
		run(os.Args[2:])
	case "self":
		exe, err := os.Executable()
		fmt.Println("exe", exe, err)
		run([]string{"/proc/self/exe"})
	case "wait":
		d, _ := strconv.ParseFloat(os.Args[3], 64)
		fmt.Printf("%.3f\n", wait(os.Args[2], time.Duration(d*1e9)).Seconds())
	case "spin":
		want, _ := strconv.ParseFloat(os.Args[2], 64)
		t0, c0 := time.Now(), cpu()
		for cpu()-c0 < want {
			for i := 0; i < 1000000; i++ {
			}
		}
		fmt.Printf("wall %.3f\ncpu %.3f\n", time.Since(t0).Seconds(), cpu()-c0)
	}
}
GO
cat >"$TW_TMP/go/cgo/main.go" <<'GO'
package main

// #include <stdlib.h>
import "C"

import (
	"fmt"
	"os"
	"os/exec"
)

func main() {
	C.free(C.malloc(1)) // cgo: a dynamically linked program
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	fmt.Print(string(out))
	if err != nil {
		fmt.Println("error:", err)
	}
}
GO
(cd "$TW_TMP/go/static" && go mod init tw/static >/dev/null 2>&1 && CGO_ENABLED=0 go build -o ../gostatic . &&
	cd ../cgo && go mod init tw/cgo >/dev/null 2>&1 && CGO_ENABLED=1 go build -o ../gocgo .) \
	2>"$TW_TMP/go/build.log"
if [ ! -x "$TW_TMP/go/gostatic" ] || [ ! -x "$TW_TMP/go/gocgo" ]; then
	sed 's/^/# /' "$TW_TMP/go/build.log"
	ok 1 "the Go test programs build"
	skip 43 "the Go test programs did not build"
	done_testing
fi
gs=$TW_TMP/go/gostatic
gc=$TW_TMP/go/gocgo
img=$TW_BUILD/tests/tws-image-glibc

is "$("$TW" run --at @$AT --freeze -- "$gs")" "$AT" "static Go: time.Now() is the --at time"
got=$("$TW" run --rate 10 -- "$gs" spin 0.3)
ok "$(echo "$got" | awk '$1 == "wall" { w = $2 } $1 == "cpu" { c = $2 } END { exit !(c > 0 && w / c >= 9 && w / c < 100) }'; echo $?)" \
	"static Go: a CPU spin at --rate 10 measures ten times its CPU time ($(echo $got))"
got=$("$TW" run -- "$gs" self)
is "$(echo "$got" | head -1)" "exe $gs <nil>" "static Go: os.Executable names the program"
like "$(echo "$got" | tail -1)" "^[0-9]+$" "static Go: it re-executes itself through /proc/self/exe"
is "$("$TW" run --at @$AT --freeze -- "$gs" self | tail -1)" "$AT" \
	"and the new image, with only PATH in its environment, is a member"
# os/exec children with cmd.Env = PATH only: a dynamic date, a static program
is "$("$TW" run --at @$AT --freeze -- "$gs" exec date +%s)" "$AT" \
	"static Go, os/exec with cmd.Env of PATH only: date prints the --at time"
is "$("$TW" run --at @$AT --freeze -- "$gs" exec "$img" read | awk '$1 == "raw" { print $2 }')" \
	"$AT.000000000" "static Go, os/exec: a static child too"
is "$("$TW" run --at @$AT --freeze -- "$gs" exec "$gs")" "$AT" "static Go, os/exec: itself again"
is "$("$TW" run --at @$AT --freeze -- "$gc" date +%s)" "$AT" \
	"Go with cgo, os/exec with cmd.Env of PATH only: date prints the --at time"
is "$("$TW" run --at @$AT --freeze -- "$gc" "$gs")" "$AT" "Go with cgo, os/exec: a static Go child too"
# Go's own waits: a virtual duration, in the host time the rate says (a frozen
# wait's time passes at host speed), measured as that duration by Go itself
for kind in sleep timer after context ticker; do
	took 0 0.6 "static Go $kind 2 s at --rate 10" "$TW" run --rate 10 -- "$gs" wait $kind 2
	near "$out" 2 0.25 "static Go $kind at --rate 10: measured 2 s of its own"
	took 0.75 2.5 "static Go $kind 0.4 s at --rate 0.5" "$TW" run --rate 0.5 -- "$gs" wait $kind 0.4
	near "$out" 0.4 0.1 "static Go $kind at --rate 0.5: measured 0.4 s"
	took 0.28 2 "static Go $kind 0.3 s frozen" "$TW" run --freeze -- "$gs" wait $kind 0.3
	near "$out" 0.3 0.1 "static Go $kind frozen: measured 0.3 s (MONOTONIC moved on with it)"
done
# an hour's sleep, woken by a set that moves the clocks two hours on
"$TW" create gosleep
"$TW" join gosleep -- "$gs" wait sleep 3600 >"$TW_TMP/go/sleep.out" &
sleeper=$!
sleep 0.5
t0=$EPOCHREALTIME
"$TW" set gosleep --advance 2h -q
for _ in $(seq 500); do kill -0 "$sleeper" 2>/dev/null || break; sleep 0.01; done
t1=$EPOCHREALTIME
kill "$sleeper" 2>/dev/null
wait "$sleeper"
"$TW" rm --force gosleep
ok "$(awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 1) }'; echo $?)" \
	"static Go sleeping an hour wakes right after set --advance 2h ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') s)"
like "$(cat "$TW_TMP/go/sleep.out")" "^72[0-9][0-9]\." "and measured the two hours"

bb=
for b in /bin/busybox /usr/bin/busybox; do
	[ -x "$b" ] && ! readelf -l "$b" 2>/dev/null | grep -q INTERP && bb=$b && break
done
if [ -n "$bb" ]; then
	is "$("$TW" run --at @$AT --freeze -- "$gs" exec "$bb" date +%s)" "$AT" \
		"static Go, os/exec: busybox date prints the --at time"
	is "$("$TW" run --at @$AT --freeze -- "$bb" sh -c "$gs exec $gs")" "$AT" \
		"busybox starts static Go, which starts itself: all members"
else
	skip 2 "no statically linked busybox (apt-get install busybox-static)"
fi

done_testing
