# Shared by the black-box tests (tests/*.t): TAP output, the binaries under
# test, an isolated namespaces directory, and guards for tests that set clocks.
# Source it from a .t file; end the file with `done_testing`.
set -u

TW_BUILD=${TW_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
TW=$TW_BUILD/timewarp
PROBE=$TW_BUILD/tests/tw-probe
[ -x "$TW" ] || { echo "1..0 # SKIP $TW is not built (run make)"; exit 0; }

tap_n=0
tap_failed=0

# Every test file gets its own namespaces directory.
TW_TMP=$(mktemp -d /tmp/timewarp-test.XXXXXX)
chmod 755 "$TW_TMP"
export XDG_RUNTIME_DIR=$TW_TMP/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
cleanup_hooks=()
tw_cleanup() {
	local h
	for h in "${cleanup_hooks[@]}"; do eval "$h"; done
	rm -rf "$TW_TMP"
}
trap tw_cleanup EXIT

ok() { # ok COND_STATUS DESCRIPTION  (0 = pass)
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
	fi
}

is() { # is GOT WANT DESCRIPTION
	[ "$1" = "$2" ]
	ok $? "$3" || true
	[ "$1" = "$2" ] || { echo "#   got:  '$1'"; echo "#   want: '$2'"; }
}

like() { # like GOT EXTENDED_REGEX DESCRIPTION
	printf '%s' "$1" | grep -Eq -- "$2"
	local r=$?
	ok $r "$3"
	[ $r -eq 0 ] || { echo "#   got:  '$1'"; echo "#   want match: $2"; }
}

# near GOT WANT TOLERANCE DESCRIPTION: |GOT - WANT| <= TOLERANCE (decimals)
near() {
	awk -v g="$1" -v w="$2" -v t="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(g != "" && d <= t) }'
	local r=$?
	ok $r "$4"
	[ $r -eq 0 ] || echo "#   got $1, want $2 +- $3"
}

skip() { # skip COUNT REASON
	local i
	for ((i = 0; i < $1; i++)); do
		tap_n=$((tap_n + 1))
		echo "ok $tap_n # SKIP $2"
	done
}

have() { command -v "$1" >/dev/null 2>&1; }

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
	exit $?
}

# Every file of every namespace (names, clock pages, the collector's links) in
# the test's directory.
stored() {
	find "$XDG_RUNTIME_DIR/timewarp" -mindepth 1 -not -name '~pages' -not -name '~collect' \
		2>/dev/null
}

# The status and the combined output of a command: sets $status and $out.
run_cmd() {
	out=$("$@" 2>&1)
	status=$?
}

# took HOST_MIN HOST_MAX DESCRIPTION CMD...: runs CMD and checks the host time
# it took (bash's EPOCHREALTIME, outside any namespace); sets $out and $elapsed.
took() {
	local lo=$1 hi=$2 desc=$3 t0 t1
	shift 3
	t0=$EPOCHREALTIME
	out=$("$@" 2>&1)
	t1=$EPOCHREALTIME
	elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	ok "$(awk -v e="$elapsed" -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(e >= lo && e <= hi) }'; echo $?)" \
		"$desc: took ${elapsed} s of host time (want $lo..$hi)"
}

# advance_wakes NAME PID MAX DESCRIPTION: advances namespace NAME by two hours
# and checks that PID, a process of this shell waiting in it on something an
# hour away, ends within MAX seconds of host time; PID is reaped (and killed
# if it had not ended within a few seconds).
advance_wakes() {
	local ns=$1 pid=$2 max=$3 desc=$4 t0 t1
	t0=$EPOCHREALTIME
	"$TW" set "$ns" --advance 2h >/dev/null
	for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.01; done
	t1=$EPOCHREALTIME
	kill "$pid" 2>/dev/null
	wait "$pid"
	ok "$(awk -v a="$t0" -v b="$t1" -v m="$max" 'BEGIN { exit !(b - a < m) }'; echo $?)" \
		"$desc ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') s)"
}

# Host REALTIME minus BOOTTIME, in seconds: it moves only when someone steps the
# host clock.  Tests that set clocks as root check it before and after, and step
# the host back if a change got through.
host_offset() {
	python3 -c 'import time; print("%.6f" % (time.clock_gettime(time.CLOCK_REALTIME) - time.clock_gettime(time.CLOCK_BOOTTIME)))'
}

# guard_host_clock DESCRIPTION: call before the clock-setting tests; registers a
# final check that fails, and undoes the step, if the host clock moved.
guard_host_clock() {
	guard_start=$(host_offset)
	guard_desc=$1
}
check_host_clock() {
	local now step
	now=$(host_offset)
	step=$(awk -v a="$now" -v b="$guard_start" 'BEGIN { printf "%.6f", a - b }')
	if awk -v s="$step" 'BEGIN { exit !(s > 0.5 || s < -0.5) }'; then
		# undo it: step the host back by the same amount
		python3 -c "import time; time.clock_settime(time.CLOCK_REALTIME, time.clock_gettime(time.CLOCK_REALTIME) - ($step))" || true
		ok 1 "$guard_desc: the host clock was not stepped"
		echo "# the host clock had moved by ${step}s and was stepped back"
	else
		ok 0 "$guard_desc: the host clock was not stepped"
	fi
}

# An ordinary user for the tests that need one (created when running as root).
# Prints the user name, or nothing when none can be had.
test_user() {
	if [ "$(id -u)" -ne 0 ]; then
		return 0
	fi
	id twtest >/dev/null 2>&1 || useradd --no-create-home --shell /bin/sh twtest >/dev/null 2>&1 ||
		return 0
	echo twtest
}

# A copy of the installed layout (bin/, lib/timewarp/) that any user can read.
install_copy() {
	if [ ! -x "$TW_TMP/prefix/bin/timewarp" ]; then
		mkdir -p "$TW_TMP/prefix/bin" "$TW_TMP/prefix/lib/timewarp"
		cp "$TW" "$TW_TMP/prefix/bin/" &&
			cp "$TW_BUILD/libtimewarp.so" "$TW_BUILD/libtimewarp-rt.so" "$TW_TMP/prefix/lib/timewarp/"
		[ -x "$PROBE" ] && cp "$PROBE" "$TW_TMP/prefix/bin/"
		chmod -R a+rX "$TW_TMP/prefix"
	fi
	echo "$TW_TMP/prefix"
}

# as_user USER CMD...: CMD as USER with a clean environment and that user's own
# runtime directory.
as_user() {
	local user=$1 uid home
	shift
	uid=$(id -u "$user")
	home=$TW_TMP/home-$user
	mkdir -p "$home/run" && chown -R "$user" "$home" && chmod 700 "$home/run"
	setpriv --reuid="$uid" --regid="$(id -g "$user")" --init-groups \
		env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" TZ=UTC \
		XDG_RUNTIME_DIR="$home/run" "$@"
}
