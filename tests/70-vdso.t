#!/bin/bash
# The timewarp vDSO: programs that call the vDSO themselves (Go's runtime, or
# tw-vdso, which looks it up as Go does) read the namespace's clocks, every
# clock behaves like its host twin, and a member makes no clock system calls
# for the clocks the host vDSO serves.
. "$(dirname "$0")/lib.sh"

VDSO=$TW_BUILD/tests/tw-vdso
field() { awk -v k="$1" '$1 == k { print $2 }'; }

is "$("$VDSO" which)" host "outside a namespace AT_SYSINFO_EHDR names the host's vDSO"
is "$("$TW" run -- "$VDSO" which)" timewarp "inside, it names the timewarp vDSO"

host=$("$VDSO")
got=$("$TW" run --at @2000000000 --freeze --monotonic +1d -- "$VDSO")
is "$(echo "$got" | field 0)" 2000000000.000000000 "__vdso_clock_gettime(REALTIME) is the --at date"
is "$(echo "$got" | field 5)" 2000000000.000000000 "REALTIME_COARSE too"
tai_off() { awk '$1 == 0 { rt = $2 } $1 == 11 { tai = $2 } END { printf "%.0f", tai - rt }'; }
is "$(echo "$got" | tai_off)" "$(echo "$host" | tai_off)" "TAI minus REALTIME is the host's TAI offset"
is "$(echo "$got" | awk '$1 == 11 { print $2 - int($2) }')" 0 "TAI keeps the REALTIME nanoseconds exactly"
near "$(echo "$got" | field 1)" "$(echo "$host" | field 1 | awk '{ print $1 + 86400 }')" 5 \
	"MONOTONIC is the host's plus --monotonic +1d"
near "$(echo "$got" | field 4)" "$(echo "$host" | field 4 | awk '{ print $1 + 86400 }')" 5 \
	"MONOTONIC_RAW moved with it"
is "$(echo "$got" | field 6)" "$(echo "$got" | field 1)" "MONOTONIC_COARSE of a frozen clock is the fine one"
near "$(echo "$got" | field 7)" "$(echo "$host" | field 7)" 5 "BOOTTIME is the host's"
for id in 2 3; do
	ok "$(echo "$got" | field $id | awk '{ exit !($1 < 5) }'; echo $?)" "CPU-time clock $id is not shifted"
done
for id in 8 9 10 99; do
	is "$(echo "$got" | field $id)" "$(echo "$host" | field $id)" "clock id $id answers as on the host ($(echo "$host" | field $id))"
done
is "$(echo "$got" | awk '$1 == "gettimeofday" { print $2, $3 }')" "0 2000000000.000000" "__vdso_gettimeofday"
is "$(echo "$got" | field time)" 2000000000 "__vdso_time"
is "$(echo "$got" | grep getres)" "$(echo "$host" | grep getres)" "__vdso_clock_getres is the host's"
is "$(echo "$got" | awk '$1 == "getcpu" { print $2 }')" 0 "__vdso_getcpu works"

# Running at rate 10: COARSE within a (virtual) tick of fine, RAW drifting from
# MONOTONIC as on the host
got=$("$TW" run --rate 10 -- sh -c "sleep 0.5; \"$VDSO\"")
near "$(echo "$got" | field 6)" "$(echo "$got" | field 1)" 0.2 "MONOTONIC_COARSE within a tick of MONOTONIC at rate 10"
near "$(echo "$got" | field 5)" "$(echo "$got" | field 0)" 0.2 "REALTIME_COARSE within a tick of REALTIME at rate 10"
rawgap() { awk '$1 == 1 { m = $2 } $1 == 4 { r = $2 } END { printf "%.6f", m - r }'; }
near "$(echo "$got" | rawgap)" "$("$VDSO" | rawgap)" 0.01 "MONOTONIC minus RAW stays the host's gap"

# Where host time comes from: the kernel's vDSO data page, read directly, when
# its layout is one the engine knows (x86-64 Linux 6.15+, TSC clock source);
# else, and under TIMEWARP_HOST_VDSO=call, the host vDSO's entry points.
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)
kv=$(uname -r | awk -F. '{ print $1 * 1000 + $2 }')
if [ "$cs" = tsc ] && [ "$kv" -ge 6015 ] && [ "$(uname -m)" = x86_64 ]; then
	is "$("$TW" run -- "$VDSO" source)" "data page" "host time is read from the kernel's vDSO data page"
else
	skip 1 "kernel $(uname -r) on clock source '$cs': the data page is not one the engine knows"
fi
is "$(TIMEWARP_HOST_VDSO=call "$TW" run -- "$VDSO" source)" "vdso calls" \
	"TIMEWARP_HOST_VDSO=call: host time through the host vDSO's entry points"
for how in "" call; do
	# the label says which path ran: the default is the data page only where
	# the engine knows the page (see above)
	label=$(TIMEWARP_HOST_VDSO=$how "$TW" run -- "$VDSO" source)
	for off in "+1d +400d 0" "-3y +0 0" "+0.123456789 -0.5 0"; do
		set -- $off
		args=(--offset "${1}s")
		case $1 in *d | *y) args=(--offset "$1") ;; esac
		secs() { case $1 in *d) echo "$((${1%d} * 86400))" ;; *y) echo "$((${1%y} * 31536000))" ;; *) echo "${1#+}" ;; esac; }
		run_cmd env TIMEWARP_HOST_VDSO=$how "$TW" run "${args[@]}" --monotonic "$(secs "$2")s" -- \
			"$VDSO" bracket "$(secs "$1")" "$(secs "$2")" 0
		is "$status $(echo $out)" "0 0 ok 5 ok 11 ok 1 ok 4 ok 6 ok 7 ok" \
			"$label: --offset $1 --monotonic $2: every clock within its host readings, shifted"
	done
	got=$(TIMEWARP_HOST_VDSO=$how "$TW" run --at @2000000000 --monotonic +1d --rate 2 -- "$VDSO")
	now=$(date +%s.%N)
	near "$(echo "$got" | field 0)" 2000000000 0.5 "$label: REALTIME at rate 2 starts at --at"
	near "$(echo "$got" | field 5)" 2000000000 0.5 "$label: REALTIME_COARSE too"
	near "$(echo "$got" | field 1)" "$(echo "$host" | field 1 | awk '{ print $1 + 86400 }')" 5 \
		"$label: MONOTONIC at rate 2 is the host's plus a day"
	is "$(echo "$got" | tai_off)" "$(echo "$host" | tai_off)" "$label: TAI minus REALTIME is the host's"
	got=$(TIMEWARP_HOST_VDSO=$how "$TW" run --offset -1d -- "$VDSO")
	near "$(echo "$got" | field 0)" "$(awk -v n="$now" 'BEGIN { printf "%.3f", n - 86400 }')" 2 \
		"$label: REALTIME with --offset -1d"
	near "$(echo "$got" | field 5)" "$(echo "$got" | field 0)" 0.1 "$label: REALTIME_COARSE with it"
	near "$(echo "$got" | field 4)" "$("$VDSO" | field 4)" 2 "$label: MONOTONIC_RAW unshifted"
done

# Inside a kernel time namespace the first data page is the namespace's (clock
# mode "time namespace"): the engine leaves it to the host vDSO, and the clocks
# are the kernel namespace's, shifted by timewarp's.
if unshare -T --monotonic 86400 --fork true 2>/dev/null; then
	is "$(unshare -T --monotonic 86400 --fork -- "$TW" run -- "$VDSO" source)" "vdso calls" \
		"inside a kernel time namespace host time comes through the host vDSO's entry points"
	run_cmd unshare -T --monotonic 86400 --fork -- "$TW" run --offset +1d --monotonic 100s -- \
		"$VDSO" bracket 86400 100 0
	is "$status $(echo $out)" "0 0 ok 5 ok 11 ok 1 ok 4 ok 6 ok 7 ok" \
		"and every clock is the kernel namespace's, shifted by --offset +1d --monotonic 100s"
else
	skip 2 "unshare -T (the kernel's time namespace) is not permitted here"
fi

# The fallback: without the host vDSO the engine makes the system call, and
# still answers with virtual time
got=$(TIMEWARP_HOST_VDSO=off "$TW" run --at @2000000000 --freeze -- "$VDSO")
is "$(echo "$got" | field 0)" 2000000000.000000000 "without the host vDSO: REALTIME still virtual"
is "$(echo "$got" | field time)" 2000000000 "without the host vDSO: time() still virtual"
if have strace; then
	served="CLOCK_REALTIME|CLOCK_MONOTONIC|CLOCK_BOOTTIME|CLOCK_TAI|CLOCK_REALTIME_COARSE|CLOCK_MONOTONIC_COARSE|CLOCK_MONOTONIC_RAW"
	# Clock system calls of each process after its last exec: timewarp's own
	# calls before it becomes the command are not a member's (a sanitized
	# timewarp makes some).
	trace() {
		strace -f -qq -e trace=clock_gettime,gettimeofday,time,execve -e signal=none \
			-o "$TW_TMP/st" "$@" >/dev/null 2>&1
		# ([(], not \(: awk -v takes backslashes as escapes, which gawk
		# then drops)
		awk -v served="^(clock_gettime[(]($served),|gettimeofday[(]|time[(])" '
			$2 ~ /^execve[(]/ && / = 0$/ { n[$1] = 0; next }
			$2 ~ served { n[$1]++ }
			END { for (p in n) s += n[p]; print s + 0 }' "$TW_TMP/st"
	}
	TIMEWARP_HOST_VDSO=off trace "$TW" run --offset +1d -- "$VDSO" >/dev/null
	ok "$(grep -Eq "clock_gettime\(CLOCK_REALTIME," "$TW_TMP/st"; echo $?)" \
		"without the host vDSO the engine's fallback does make the system call"
	for c in date "$VDSO" "perl -e time" "python3 -c 'import time; time.time(); time.monotonic()'" \
		"node -e 'Date.now()'"; do
		prog=${c%% *}
		if ! have "$prog" && [ ! -x "$prog" ]; then skip 1 "$prog is not installed"; continue; fi
		is "$(eval trace "$TW" run --offset +1d --rate 2 -- "$c")" 0 \
			"$(basename "$prog"): no clock system calls for the clocks the host vDSO serves"
	done
else
	skip 6 "strace is not installed"
fi

# Go: its runtime binds to the vDSO itself
if have go; then
	mkdir -p "$TW_TMP/go"
	cat >"$TW_TMP/go/main.go" <<'GO'
package main

// #include <stdlib.h>
import "C"

import (
	"fmt"
	"os"
	"time"
)

func main() {
	C.free(C.malloc(1)) // cgo: a dynamically linked program
	if len(os.Args) > 1 {
		t0 := time.Now()
		time.Sleep(200 * time.Millisecond)
		fmt.Printf("%.3f\n", time.Since(t0).Seconds())
		return
	}
	fmt.Println(time.Now().Unix())
}
GO
	export GOCACHE=$TW_TMP/go/cache GOPATH=$TW_TMP/go/path GOFLAGS=-mod=mod GO111MODULE=on
	mkdir -p "$TW_TMP/go/static"
	printf 'package main\n\nimport (\n\t"fmt"\n\t"time"\n)\n\nfunc main() { fmt.Println(time.Now().Unix()) }\n' \
		>"$TW_TMP/go/static/main.go"
	(cd "$TW_TMP/go" && go mod init tw/clock >/dev/null 2>&1 &&
		CGO_ENABLED=1 go build -o now . &&
		cd static && go mod init tw/static >/dev/null 2>&1 &&
		CGO_ENABLED=0 go build -o ../now-static .) 2>"$TW_TMP/go/build.log"
	if [ -x "$TW_TMP/go/now" ]; then
		is "$("$TW" run --at @2000000000 --freeze -- "$TW_TMP/go/now")" 2000000000 \
			"Go (cgo) time.Now() sees --at"
		near "$("$TW" run --offset +400d -- "$TW_TMP/go/now")" "$(($(date +%s) + 400 * 86400))" 5 \
			"Go time.Now() sees --offset +400d"
		# Go sleeps by raw system call: trapped and served, a virtual 0.2 s
		# that takes a tenth of that on the host
		took 0 0.15 "Go's time.Sleep(0.2 s) at --rate 10" "$TW" run --rate 10 -- "$TW_TMP/go/now" elapsed
		ok "$(awk -v d="$out" 'BEGIN { exit !(d >= 0.199 && d < 0.5) }'; echo $?)" \
			"and Go measures it 0.2 s of its own clock ($out s)"
		is "$("$TW" run --at @2000000000 --freeze -- "$TW_TMP/go/now-static")" 2000000000 \
			"a Go program built without cgo (static) binds to the timewarp vDSO too"
	else
		sed 's/^/# /' "$TW_TMP/go/build.log"
		ok 1 "the Go test program builds"
		skip 3 "the Go program did not build"
	fi
else
	skip 4 "go is not installed (golang-go)"
fi

done_testing
