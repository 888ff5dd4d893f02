#!/bin/bash
# Go's own waits follow the namespace (DESIGN section 2, "Waiting under a
# virtual clock"): Go computes every timeout from its virtual clock and waits
# by raw futex, epoll_pwait and nanosleep, which the runtime traps.  A cgo
# program measures, on its own clock, time.Sleep, time.NewTimer, time.After,
# context.WithTimeout and a time.NewTicker's four ticks; each takes what it
# asked of virtual time, and the whole run the host time the rules say: d / R
# at a rate R, and when frozen the virtual time left at host speed while the
# wall clock stands still.  The host bounds are wide: this checks the rules,
# not speed.  A Go program sleeping an hour wakes at once when the namespace
# is advanced two hours.
. "$(dirname "$0")/lib.sh"

if ! have go; then
	echo "1..0 # SKIP go is not installed (golang-go)"
	exit 0
fi

mkdir -p "$TW_TMP/go"
cat >"$TW_TMP/go/main.go" <<'GO'
package main

// #include <stdlib.h>
import "C"

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"
)

// measure runs wait and prints how long it took on the program's own clock
// (time.Since: Go's monotonic reading, the namespace's MONOTONIC).
func measure(name string, wait func()) float64 {
	t0 := time.Now()
	wait()
	s := time.Since(t0).Seconds()
	fmt.Printf("%s %.3f\n", name, s)
	return s
}

func main() {
	C.free(C.malloc(1)) // cgo: a dynamically linked program
	if os.Args[1] == "hour" {
		t0 := time.Now()
		fmt.Println("sleeping")
		time.Sleep(time.Hour)
		fmt.Printf("woke %.0f\n", time.Since(t0).Seconds())
		return
	}
	secs, _ := strconv.ParseFloat(os.Args[1], 64)
	d := time.Duration(secs * float64(time.Second))
	fmt.Printf("wall %d\n", time.Now().Unix())
	total := 0.0
	total += measure("sleep", func() { time.Sleep(d) })
	total += measure("timer", func() { t := time.NewTimer(d); <-t.C })
	total += measure("after", func() { <-time.After(d) })
	total += measure("context", func() {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		<-ctx.Done()
	})
	total += measure("ticker", func() {
		t := time.NewTicker(d / 4)
		for i := 0; i < 4; i++ {
			<-t.C
		}
		t.Stop()
	})
	fmt.Printf("total %.3f\nwall %d\n", total, time.Now().Unix())
}
GO
export GOCACHE=$TW_TMP/go/cache GOPATH=$TW_TMP/go/path GOFLAGS=-mod=mod GO111MODULE=on
(cd "$TW_TMP/go" && go mod init tw/waits >/dev/null 2>&1 && CGO_ENABLED=1 go build -o waits .) \
	2>"$TW_TMP/go/build.log"
if [ ! -x "$TW_TMP/go/waits" ]; then
	sed 's/^/# /' "$TW_TMP/go/build.log"
	ok 1 "the Go test program builds"
	done_testing
fi
chmod -R a+rX "$TW_TMP/go"
WAITS=$TW_TMP/go/waits

# waits WHO LO HI SECONDS OPTIONS... [-- RUNNER...]: runs the program (each
# wait SECONDS of virtual time) under timewarp run OPTIONS, and checks the host
# time the run took (LO..HI), each wait's virtual duration (at least SECONDS,
# less than 1.5 times it) and the total
waits() {
	local who=$1 lo=$2 hi=$3 s=$4 opts=() runner=() w
	shift 4
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	[ $# -gt 0 ] && shift && runner=("$@")
	took "$lo" "$hi" "$who: five waits of $s s at ${opts[*]}" \
		"${runner[@]}" timeout 120 "$TW_RUN" run "${opts[@]}" -- "$WAITS" "$s"
	for w in sleep timer after context ticker; do
		ok "$(echo "$out" | awk -v w="$w" -v s="$s" '$1 == w { found = 1; ok = $2 >= s && $2 < s * 1.5 }
			END { exit !(found && ok) }'; echo $?)" \
			"$who: ${opts[*]}: $w measured $(echo "$out" | awk -v w="$w" '$1 == w { print $2 }') s of its own clock (asked $s)"
	done
}

TW_RUN=$TW
# rate 10: 10 virtual seconds in about 1 s of host time
waits "$(id -un)" 0.9 5 2 --rate 10
# rate 0.5: 2.5 virtual seconds in about 5 s
waits "$(id -un)" 4.5 15 0.5 --rate 0.5
# frozen: the virtual time left passes at host speed (about 5 s), and the wall
# clock stands still
waits "$(id -un)" 4.5 15 1 --at @2000000000 --freeze
is "$(echo "$out" | awk '$1 == "wall" { printf "%s ", $2 }')" "2000000000 2000000000 " \
	"frozen: the wall clock read the --at date before and after every wait"
is "$(echo "$out" | awk '$1 == "total" { print $2 }')" 5.000 \
	"frozen: the monotonic clock moved on exactly the five seconds waited for"

user=$(test_user)
if [ -n "$user" ]; then
	prefix=$(install_copy)
	TW_RUN=$prefix/bin/timewarp
	waits "$user" 0.9 5 2 --rate 10 -- as_user "$user"
	waits "$user" 4.5 15 1 --at @2000000000 --freeze -- as_user "$user"
else
	skip 12 "needs root to create the test user (running as $(id -un))"
fi

# An hour's time.Sleep in a named namespace wakes right after set --advance 2h
"$TW" create gowait
"$TW" join gowait -- "$WAITS" hour >"$TW_TMP/hour.out" 2>&1 &
sleeper=$!
for _ in $(seq 200); do grep -q sleeping "$TW_TMP/hour.out" && break; sleep 0.05; done
sleep 0.3 # into its sleep
advance_wakes gowait "$sleeper" 2 "Go's time.Sleep(1h) wakes right after set --advance 2h"
like "$(cat "$TW_TMP/hour.out")" "woke 72[0-9][0-9]$" "and measured the two hours"
"$TW" rm gowait

done_testing
