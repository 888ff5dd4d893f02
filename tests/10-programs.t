#!/bin/bash
# Real programs under timewarp: GNU date, python3, perl, node and java read the
# namespace's clocks under --at, --offset, --rate, --freeze, --monotonic and
# --boottime.
. "$(dirname "$0")/lib.sh"

# Each program's REALTIME and MONOTONIC, in seconds.
realtime_date() { date +%s.%N; }
realtime_python3() { python3 -c 'import time; print("%.6f" % time.time())'; }
realtime_perl() { perl -MTime::HiRes=time -e 'printf "%.6f\n", time'; }
realtime_node() { node -e 'console.log((Date.now() / 1000).toFixed(3))'; }
realtime_java() { java -Xshare:auto -XX:TieredStopAtLevel=1 -cp "$TW_TMP" Clocks realtime; }
monotonic_python3() { python3 -c 'import time; print("%.6f" % time.monotonic())'; }
monotonic_perl() { perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e 'printf "%.6f\n", clock_gettime(CLOCK_MONOTONIC)'; }
monotonic_node() { node -e 'console.log((Number(process.hrtime.bigint()) / 1e9).toFixed(6))'; }
monotonic_java() { java -Xshare:auto -XX:TieredStopAtLevel=1 -cp "$TW_TMP" Clocks monotonic; }
boottime_python3() { python3 -c 'import time; print("%.6f" % time.clock_gettime(time.CLOCK_BOOTTIME))'; }
export -f realtime_date realtime_python3 realtime_perl realtime_node realtime_java \
	monotonic_python3 monotonic_perl monotonic_node monotonic_java boottime_python3
export TW_TMP

programs=()
for p in date python3 perl node java; do
	if have "$p"; then programs+=("$p"); else missing+=("$p"); fi
done
if have java && have javac; then
	cat >"$TW_TMP/Clocks.java" <<'JAVA'
public class Clocks {
	public static void main(String[] a) {
		if (a[0].equals("realtime"))
			System.out.printf("%.3f%n", System.currentTimeMillis() / 1000.0);
		else
			System.out.printf("%.6f%n", System.nanoTime() / 1e9);
	}
}
JAVA
	javac -d "$TW_TMP" "$TW_TMP/Clocks.java" || programs=("${programs[@]/java/}")
fi
host_realtime() { realtime_python3; }
host_monotonic() { monotonic_python3; }

for p in "${programs[@]}"; do
	[ -n "$p" ] || continue
	# --at: the date given, give or take the program's start-up
	got=$("$TW" run --at 2038-01-19T03:14:07Z -- bash -c "realtime_$p")
	near "$got" 2147483647 5 "$p sees --at 2038-01-19T03:14:07Z"

	# --at with --freeze: exactly the date, twice, a second apart
	got=$("$TW" run --at @2000000000 --freeze -- bash -c "realtime_$p; sleep 1; realtime_$p" | sort -u)
	is "$(echo "$got" | wc -l)" 1 "$p: a frozen clock reads the same a second later"
	near "$got" 2000000000 0.000001 "$p: frozen at @2000000000"

	# --offset: the host's time plus 400 days
	host=$(host_realtime)
	got=$("$TW" run --offset +400d -- bash -c "realtime_$p")
	near "$got" "$(awk -v h="$host" 'BEGIN { printf "%.3f", h + 400 * 86400 }')" 5 \
		"$p sees --offset +400d"

	# --rate 10: between two readings, ten times the host time that passed,
	# read from /proc/uptime (which timewarp leaves to the host) just inside
	# and just outside the two readings; a virtual second's sleep between them
	readings=$("$TW" run --rate 10 -- bash -c "read o0 _ </proc/uptime; realtime_$p; \
		read i0 _ </proc/uptime; sleep 1; read i1 _ </proc/uptime; realtime_$p; \
		read o1 _ </proc/uptime; echo \$i0 \$i1 \$o0 \$o1")
	d=$(echo "$readings" | awk 'NR == 1 { a = $1 } NR == 2 { printf "%.3f", $1 - a }')
	inner=$(echo "$readings" | awk 'NR == 3 { printf "%.2f", $2 - $1 }')
	outer=$(echo "$readings" | awk 'NR == 3 { printf "%.2f", $4 - $3 }')
	ok "$(awk -v d="$d" -v i="$inner" -v o="$outer" 'BEGIN { exit !(d >= 1 && d >= 10 * i - 0.2 && d <= 10 * o + 0.2) }'; echo $?)" \
		"$p under --rate 10: $d s passed while the host's uptime moved $inner..$outer s"
done

for p in python3 perl node java; do
	have "$p" && [[ " ${programs[*]} " == *" $p "* ]] || { skip 1 "$p is not installed"; continue; }
	host=$(host_monotonic)
	got=$("$TW" run --monotonic +10d -- bash -c "monotonic_$p")
	near "$got" "$(awk -v h="$host" 'BEGIN { printf "%.3f", h + 10 * 86400 }')" 5 \
		"$p sees MONOTONIC shifted by --monotonic +10d"
done

host=$(python3 -c 'import time; print(time.clock_gettime(time.CLOCK_BOOTTIME))')
got=$("$TW" run --boottime +10d -- bash -c boottime_python3)
near "$got" "$(awk -v h="$host" 'BEGIN { printf "%.3f", h + 10 * 86400 }')" 5 \
	"python3 sees BOOTTIME shifted by --boottime +10d"
host=$(host_monotonic)
got=$("$TW" run --boottime +10d -- bash -c monotonic_python3)
near "$got" "$host" 5 "--boottime leaves MONOTONIC alone"

# GNU date's own formatting of the namespace's time, and local time zones
is "$("$TW" run --at 2038-01-19T03:14:07Z --freeze -- date -u '+%F %T')" "2038-01-19 03:14:07" \
	"date -u prints the --at date"
is "$(TZ=Europe/Berlin "$TW" run --at '2030-07-01 12:00' --freeze -- date -u '+%F %T')" \
	"2030-07-01 10:00:00" "--at without a zone is local time (TZ=Europe/Berlin, summer)"
is "$("$TW" run --at '2030-07-01T12:00-05:00' --freeze -- date -u '+%F %T')" \
	"2030-07-01 17:00:00" "--at with a -05:00 zone"

# openssl judges a certificate by the namespace's clock
if have openssl; then
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TW_TMP/key.pem" -out "$TW_TMP/cert.pem" \
		-days 30 -subj /CN=timewarp-test >/dev/null 2>&1
	"$TW" run -- openssl x509 -checkend 0 -noout -in "$TW_TMP/cert.pem" >/dev/null
	is "$?" 0 "openssl: the certificate is valid today"
	"$TW" run --offset +400d -- openssl x509 -checkend 0 -noout -in "$TW_TMP/cert.pem" >/dev/null
	is "$?" 1 "openssl: the certificate has expired 400 days from now"
else
	skip 2 "openssl is not installed"
fi

for m in "${missing[@]:-}"; do
	[ -n "$m" ] && skip 1 "$m is not installed"
done
done_testing
