#!/bin/bash
# Every clock source this machine offers (tsc, kvm-clock, hpet, ...): the
# clocks inside a namespace are the host's plus the namespace's offset on
# each, through the timewarp vDSO and through libc, MONOTONIC never goes
# backwards and COARSE stays within a tick of fine; and a switch of clock
# source while members read changes nothing they can see.  Switching the clock
# source is machine-wide and needs root: the original comes back when the test
# ends, also when it fails or is interrupted.
. "$(dirname "$0")/lib.sh"

VDSO=$TW_BUILD/tests/tw-vdso
CSDIR=/sys/devices/system/clocksource/clocksource0
field() { awk -v k="$1" '$1 == k { print $2 }'; }

if [ "$(id -u)" -ne 0 ] || [ ! -w "$CSDIR/current_clocksource" ]; then
	echo "1..0 # SKIP switching the clock source needs root"
	exit 0
fi
read -ra sources <"$CSDIR/available_clocksource"
orig=$(cat "$CSDIR/current_clocksource")
cleanup_hooks+=("echo '$orig' >'$CSDIR/current_clocksource'")
trap 'exit 130' INT TERM HUP

# switch_to SOURCE: 0 once the machine runs on it
switch_to() {
	echo "$1" >"$CSDIR/current_clocksource" 2>/dev/null &&
		[ "$(cat "$CSDIR/current_clocksource")" = "$1" ]
}

# The kernel's data page is one the engine knows on x86-64 Linux 6.15 and later.
kv=$(uname -r | awk -F. '{ print $1 * 1000 + $2 }')
knows_page=
[ "$kv" -ge 6015 ] && [ "$(uname -m)" = x86_64 ] && knows_page=1

# Everything checked under one clock source: 15 tests.
per_source() {
	local src=$1 how label got host now
	if [ -n "$knows_page" ]; then
		is "$("$TW" run -- "$VDSO" source)" "data page" \
			"$src: host time comes from the kernel's data page"
	else
		skip 1 "kernel $(uname -r): the data page is not one the engine knows"
	fi
	for how in "" call; do
		label="$src${how:+, TIMEWARP_HOST_VDSO=$how}"
		run_cmd env TIMEWARP_HOST_VDSO=$how "$TW" run --offset +1d --monotonic 100s -- \
			"$VDSO" bracket 86400 100 0
		is "$status $(echo $out)" "0 0 ok 5 ok 11 ok 1 ok 4 ok 6 ok 7 ok" \
			"$label: every clock through the vDSO within its host readings, shifted"
	done
	# libc's entry points (the clock probe), against the host's own
	host=$("$PROBE" read)
	got=$("$TW" run --offset +1d --monotonic +100s -- "$PROBE" read)
	for c in REALTIME REALTIME_COARSE TAI gettimeofday timespec_get; do
		near "$(echo "$got" | field $c)" "$(echo "$host" | field $c | awk '{ printf "%.6f", $1 + 86400 }')" 2 \
			"$src: libc $c is the host's plus a day"
	done
	for c in MONOTONIC MONOTONIC_COARSE; do
		near "$(echo "$got" | field $c)" "$(echo "$host" | field $c | awk '{ printf "%.6f", $1 + 100 }')" 2 \
			"$src: libc $c is the host's plus 100 s"
	done
	# rates: a date that starts where --at puts it, COARSE within a tick of fine
	got=$("$TW" run --at @2000000000 --rate 2 -- "$VDSO")
	near "$(echo "$got" | field 0)" 2000000000 0.5 "$src: REALTIME at rate 2 starts at --at"
	got=$("$TW" run --at @2000000000 --rate 0.1 -- "$VDSO")
	near "$(echo "$got" | field 0)" 2000000000 0.1 "$src: REALTIME at rate 0.1 starts at --at"
	# MONOTONIC and the rest never back, COARSE within a (virtual) tick, the
	# rate what was asked, through the vDSO and libc in turn
	got=$("$TW" run --rate 10 -- "$VDSO" watch 300)
	is "$(echo "$got" | awk '$1 == "backwards" { print $2 }')" 0 \
		"$src: at rate 10 no monotonic clock goes backwards ($(echo "$got" | awk '$1 == "reads" { print $2 }') reads)"
	ok "$(echo "$got" | awk '$1 == "coarse-lag" { exit !($2 < 0.2) }'; echo $?)" \
		"$src: at rate 10 COARSE lags fine by at most a tick ($(echo "$got" | field coarse-lag) s)"
	near "$(echo "$got" | field rate)" 10 0.05 "$src: at rate 10 MONOTONIC runs 10 times as fast"
}

tested=0
for src in "${sources[@]}"; do
	if ! switch_to "$src"; then
		skip 15 "the clock source $src cannot be switched to"
		continue
	fi
	per_source "$src"
	tested=$((tested + 1))
done
switch_to "$orig"
is "$(cat "$CSDIR/current_clocksource")" "$orig" "back on the clock source the test found ($orig)"

# A switch while members read: to another source and back, three times.  Each
# member keeps reading through its vDSO and libc in turn; none of them sees a
# clock go backwards, the one at rate 1 stays within the host's readings,
# shifted, and each sees the rate it was given.
other=
for src in "${sources[@]}"; do
	[ "$src" != "$orig" ] && other=$src && break
done
if [ -z "$other" ]; then
	skip 8 "one clock source only ($orig): nothing to switch to"
	done_testing
fi
"$TW" run --monotonic +100s -- "$VDSO" watch 3000 100 >"$TW_TMP/w1" 2>&1 &
p1=$!
"$TW" run --rate 3 -- "$VDSO" watch 3000 >"$TW_TMP/w2" 2>&1 &
p2=$!
"$TW" run --offset +1d --rate 0.1 -- "$VDSO" watch 3000 >"$TW_TMP/w3" 2>&1 &
p3=$!
sleep 0.5
for i in 1 2 3; do
	switch_to "$other"
	sleep 0.3
	switch_to "$orig"
	sleep 0.3
done
wait $p1 $p2 $p3
is "$(cat "$CSDIR/current_clocksource")" "$orig" "switched $orig -> $other -> $orig three times, and back on $orig"
for w in w1 w2 w3; do
	is "$(field backwards <"$TW_TMP/$w")" 0 \
		"$w: no monotonic clock went backwards across the switches ($(field reads <"$TW_TMP/$w") reads)"
done
is "$(field misses <"$TW_TMP/w1")" 0 "w1: MONOTONIC stayed within the host's readings plus 100 s"
near "$(field rate <"$TW_TMP/w2")" 3 0.03 "w2: MONOTONIC ran 3 times as fast across the switches"
near "$(field rate <"$TW_TMP/w3")" 0.1 0.001 "w3: MONOTONIC ran at a tenth across the switches"
if [ -n "$knows_page" ]; then
	# both sources' clock modes were seen by the reads from the data page
	ok "$(awk '$1 == "modes" { exit !(NF >= 3) }' "$TW_TMP/w2"; echo $?)" \
		"the data page was read under both sources' clock modes ($(grep modes "$TW_TMP/w2"))"
else
	skip 1 "kernel $(uname -r): the data page is not one the engine knows"
fi
done_testing
