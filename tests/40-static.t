#!/bin/bash
# Programs the preload library cannot reach (statically linked ones) would run on
# host time; a namespace refuses to start them instead, saying why.
. "$(dirname "$0")/lib.sh"

static=
for b in /bin/busybox /usr/bin/busybox; do
	[ -x "$b" ] && file -L "$b" 2>/dev/null | grep -q 'statically linked' && static=$b && break
	[ -x "$b" ] && ! readelf -l "$b" 2>/dev/null | grep -q INTERP && static=$b && break
done
if [ -z "$static" ]; then
	skip 6 "no statically linked busybox (apt-get install busybox-static)"
	done_testing
fi

run_cmd "$TW" run --at @2000000000 -- "$static" date
is "$status" 126 "run of a static binary: status 126"
like "$out" "statically linked.*cannot give it the namespace's clocks" "run of a static binary: says why"
run_cmd "$TW" run --at @2000000000 -- sh -c "$static date; echo status \$?"
like "$out" "status 126" "a static binary started by a member is refused"
like "$out" "does not run it on host time" "and the member is told why"
run_cmd "$TW" run --at @2000000000 -- python3 -c "import subprocess; subprocess.run(['$static', 'date'])"
like "$out" "Exec format error" "python's subprocess gets ENOEXEC for it"
# the same binary outside a namespace is untouched
"$static" true
is "$?" 0 "outside a namespace the static binary runs as ever"

done_testing
