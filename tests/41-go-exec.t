#!/bin/bash
# Go programs start their children with raw system calls (fork and execve, no
# libc) and often with an environment of their own (cmd.Env): the exec trap
# keeps every child a member.  A Go program built without cgo is statically
# linked: the runtime's loader starts it, and it reads its clocks from the
# timewarp vDSO like any Go program.
. "$(dirname "$0")/lib.sh"

if ! have go; then
	skip 12 "go is not installed (golang-go)"
	done_testing
fi
AT=2000000000
export GOCACHE=$TW_TMP/go/cache GOPATH=$TW_TMP/go/path GOFLAGS=-mod=mod GO111MODULE=on
mkdir -p "$TW_TMP/go/static" "$TW_TMP/go/cgo"
cat >"$TW_TMP/go/static/main.go" <<'GO'
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

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
	skip 11 "the Go test programs did not build"
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
