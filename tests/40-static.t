#!/bin/bash
# Statically linked programs in a namespace: the runtime loads them itself
# (src/runtime/loader.c), so they read the namespace's clocks by every path
# from their first instruction, see themselves as they are, keep their exit
# status and signals, and every exec into or out of them makes a member.
. "$(dirname "$0")/lib.sh"

AT=2000000000
field() { awk -v k="$1" '$1 == k { print $2 }'; }
host_mono=$(awk '{ print $1 }' /proc/uptime) # close to MONOTONIC, enough for 5 s

# ---- C programs: glibc -static, -static-pie, musl -static ----
for kind in glibc pie musl; do
	img=$TW_BUILD/tests/tws-image-$kind
	if [ ! -x "$img" ]; then
		skip 14 "no $kind static build of tw-image (musl-gcc: apt-get install musl-tools)"
		continue
	fi
	got=$("$TW" run --at @$AT --freeze --monotonic +10d -- "$img" read)
	for f in clock_gettime raw gettimeofday; do
		is "$(echo "$got" | field $f)" "$AT.000000000" "$kind static: $f gives the --at time"
	done
	is "$(echo "$got" | field time)" "$AT" "$kind static: time() gives the --at time"
	near "$(echo "$got" | field monotonic)" "$(awk -v m="$host_mono" 'BEGIN { print m + 864000 }')" 5 \
		"$kind static: MONOTONIC follows --monotonic +10d"
	near "$(echo "$got" | field raw-monotonic)" "$(echo "$got" | field monotonic)" 0.001 \
		"$kind static: so does the raw system call"
	# what it sees of itself: exe, AT_EXECFN, comm, argv, pid (timewarp and
	# the loader exec in place: the shell's pid is the program's)
	got=$(cd "$TW_BUILD/tests" && sh -c 'echo shell $$; exec "$@"' sh "$TW" run -- ./"${img##*/}" self)
	is "$(echo "$got" | field exe)" "$img" "$kind static: /proc/self/exe names the program"
	is "$(echo "$got" | field execfn)" "./${img##*/}" "$kind static: AT_EXECFN is the name exec was given"
	is "$(echo "$got" | field comm)" "$(echo "${img##*/}" | cut -c1-15)" "$kind static: its comm is its name"
	is "$(echo "$got" | field argv0)" "./${img##*/}" "$kind static: argv is its own"
	is "$(echo "$got" | field pid)" "$(echo "$got" | field shell)" "$kind static: its pid is the one it was started as"
	got=$("$TW" run -- sh -c '"$1" self & echo parent $$; wait' sh "$img")
	is "$(echo "$got" | field ppid)" "$(echo "$got" | field parent)" "$kind static: its parent is the shell that started it"
	run_cmd "$TW" run -- "$img" exit 7
	is "$status" 7 "$kind static: exit status 7 passed through"
	# a vfork child (posix_spawn) execs in its parent's memory: the memory
	# it built the exec in must not stay there, once per spawn
	got=$("$TW" run -- "$img" spawn 200 /bin/true | field vmsize-grew)
	ok "$([ -n "$got" ] && [ "$got" -lt 256 ]; echo $?)" \
		"$kind static: 200 posix_spawns leave no memory behind in the parent (grew $got KB)"
done

img=$TW_BUILD/tests/tws-image-glibc
pie=$TW_BUILD/tests/tws-image-pie

# no extra process: the parent sees one child and one SIGCHLD
got=$("$TW" run -- python3 -c '
import signal, subprocess, sys
n = 0
def chld(s, f):
    global n
    n += 1
signal.signal(signal.SIGCHLD, chld)
subprocess.run([sys.argv[1], "exit", "0"])
print(n)' "$img")
is "$got" 1 "one SIGCHLD for one static child"
got=$("$TW" run --rate 10 -- "$img" spin 0.3)
ok "$(echo "$got" | awk '$1 == "wall" { w = $2 } $1 == "cpu" { c = $2 } END { exit !(c > 0 && w / c >= 9 && w / c < 100) }'; echo $?)" \
	"a static CPU spin at --rate 10 measures ten times its CPU time ($(echo $got))"

# ---- exec chains ----
run_cmd "$TW" run --at @$AT --freeze -- sh -c "\"$img\" read" # dynamic to static
is "$(echo "$out" | field raw)" "$AT.000000000" "dynamic to static: a member"
run_cmd "$TW" run --at @$AT --freeze -- "$img" exec /bin/date +%s # static to dynamic
is "$out" "$AT" "static to dynamic: a member"
run_cmd "$TW" run --at @$AT --freeze -- "$img" exec "$pie" read # static to static
is "$(echo "$out" | field raw)" "$AT.000000000" "static to static: a member"
# environments without timewarp's variables, from each side
run_cmd "$TW" run --at @$AT --freeze -- "$img" exec -e "$pie" read
is "$(echo "$out" | field raw)" "$AT.000000000" "static to static with only PATH in the environment"
run_cmd "$TW" run --at @$AT --freeze -- "$img" exec -e /bin/date +%s
is "$out" "$AT" "static to dynamic with only PATH in the environment"
run_cmd "$TW" run --at @$AT --freeze -- env -i "$img" read
is "$(echo "$out" | field raw)" "$AT.000000000" "env -i, then static"
run_cmd "$TW" run --at @$AT --freeze -- "$TW_BUILD/tests/tw-image" exec -e "$img" read
is "$(echo "$out" | field raw)" "$AT.000000000" "dynamic to static with only PATH in the environment"
# a script whose interpreter is a static program (the kernel's argv for it)
printf '#!%s self\n' "$img" >"$TW_TMP/self.sh"
chmod +x "$TW_TMP/self.sh"
got=$("$TW" run -- "$TW_TMP/self.sh" a)
is "$(echo "$got" | field exe)" "$img" "a script with a static interpreter: the interpreter runs"
is "$(echo "$got" | field execfn)" "$TW_TMP/self.sh" "and AT_EXECFN names the script, as the kernel's"
is "$(echo "$got" | field comm)" "self.sh" "and comm too"
# exec errors come back as the kernel's, the image still there to say so
printf 'x' >"$TW_TMP/noexec"
printf 'garbage\n' >"$TW_TMP/garbage"
printf '#!/nonexistent/interpreter\n' >"$TW_TMP/badinterp"
chmod +x "$TW_TMP/garbage" "$TW_TMP/badinterp"
for c in "/nonexistent ENOENT" "$TW_TMP/noexec EACCES" "$TW_TMP/garbage ENOEXEC" \
	"$TW_TMP/badinterp ENOENT" "$TW_TMP EACCES"; do
	set -- $c
	want=$("$img" exec "$1")
	run_cmd "$TW" run -- "$img" exec "$1"
	is "$out" "exec failed $2" "exec of ${1##*/} from a static member: $2, as outside ($want)"
done
# a 32-bit program cannot be served: refused, saying why
printf '\177ELF\001\001\001\000\000\000\000\000\000\000\000\000\002\000\003\000\001\000\000\000' \
	>"$TW_TMP/i386"
head -c 100 /dev/zero >>"$TW_TMP/i386"
chmod +x "$TW_TMP/i386"
run_cmd "$TW" run -- "$img" exec "$TW_TMP/i386"
like "$out" "exec failed ENOEXEC" "a 32-bit program exec'd by a static member: ENOEXEC"
like "$out" "i386: not an x86-64 program: timewarp cannot give it the namespace's clocks" \
	"and the member is told why"

# ---- busybox ----
bb=
for b in /bin/busybox /usr/bin/busybox; do
	[ -x "$b" ] && ! readelf -l "$b" 2>/dev/null | grep -q INTERP && bb=$b && break
done
if [ -z "$bb" ]; then
	skip 14 "no statically linked busybox (apt-get install busybox-static)"
else
	is "$("$TW" run --at @$AT --freeze -- "$bb" date +%s)" "$AT" "busybox date"
	# applets, busybox again (through /proc/self/exe), a dynamic date, all members
	got=$("$TW" run --at @$AT --freeze -- "$bb" sh -c "date +%s; $bb date +%s; busybox date +%s; /bin/date +%s; $bb sh -c 'date +%s'" | sort -u)
	is "$got" "$AT" "busybox sh -c: applets, $bb, busybox through /proc/self/exe and /bin/date"
	run_cmd "$TW" run -- "$bb" sh -c 'exit 7'
	is "$status" 7 "busybox sh: exit status 7"
	run_cmd "$TW" run -- "$bb" sh -c 'kill -TERM $$'
	is "$status" 143 "busybox sh killed by SIGTERM: status 143"
	# its sleeps follow the rate; a frozen one's time passes at host speed
	took 0 0.6 "busybox sleep 2 at --rate 10" "$TW" run --rate 10 -- "$bb" sleep 2
	took 0.45 2 "busybox sleep 0.5 frozen" "$TW" run --freeze -- "$bb" sleep 0.5
	# date -s sets the namespace's clock, never the host's
	if [ "$(id -u)" -eq 0 ]; then
		guard_host_clock "busybox date -s in a member"
		got=$("$TW" run -- "$bb" sh -c 'date -s @3000000000 >/dev/null && date +%s && /bin/date +%s')
		check_host_clock
		near "$(echo "$got" | head -1)" 3000000000 5 "busybox date -s as root sets the namespace's clock"
		near "$(echo "$got" | tail -1)" 3000000000 5 "and the other members see it"
	else
		skip 3 "busybox date -s: as root only"
	fi
	printf '#!%s sh\necho "$0 $1"; date +%%s\n' "$bb" >"$TW_TMP/bb.sh"
	chmod +x "$TW_TMP/bb.sh"
	is "$("$TW" run --at @$AT --freeze -- sh -c "$TW_TMP/bb.sh x")" "$TW_TMP/bb.sh x
$AT" "a busybox script run by a dynamic shell"
	is "$("$TW" run --at @$AT --freeze -- "$bb" sh -c "$TW_TMP/bb.sh y")" "$TW_TMP/bb.sh y
$AT" "and by busybox sh"

	# a busybox loop that a `set --at` moves while it runs
	"$TW" create loop --at @$AT
	"$TW" join loop -- "$bb" sh -c 'while :; do date +%s; sleep 0.05; done' >"$TW_TMP/loop" 2>&1 &
	loop=$!
	for _ in $(seq 200); do [ -s "$TW_TMP/loop" ] && break; sleep 0.05; done
	first=$(head -1 "$TW_TMP/loop")
	"$TW" set loop --at @3000000000 -q
	for _ in $(seq 200); do awk '$1 >= 3000000000 { f = 1 } END { exit !f }' "$TW_TMP/loop" && break; sleep 0.05; done
	kill "$loop"
	wait "$loop" 2>/dev/null
	"$TW" rm --force loop
	ok "$([ "$first" -lt $((AT + 60)) ] && [ "$first" -ge $AT ]; echo $?)" "a busybox loop starts at the --at time ($first)"
	ok "$(awk '$1 >= 3000000000 && $1 < 3000000060 { f = 1 } END { exit !f }' "$TW_TMP/loop"; echo $?)" \
		"and a set --at moves it while it runs ($(tail -1 "$TW_TMP/loop"))"
fi

# ---- tracing ----
if have strace; then
	run_cmd "$TW" run --at @$AT --freeze -- strace -f -qq -o "$TW_TMP/st" "$img" read
	is "$(echo "$out" | field raw)" "$AT.000000000" "under strace -f inside the namespace: still a member"
	ok "$(grep -q "execve(\"$img\"" "$TW_TMP/st"; echo $?)" "and strace shows its exec"
	run_cmd strace -f -qq -o "$TW_TMP/st" "$TW" run --at @$AT --freeze -- "$img" read
	is "$(echo "$out" | field raw)" "$AT.000000000" "under strace -f from outside: the same"
else
	skip 3 "strace is not installed"
fi
# gdb starts the program stopped at its exec and sets its breakpoints there:
# the program must be in place by then (exec.c gives a traced exec a copy
# that the kernel maps itself).  SIGSYS is the runtime's: gdb is told to pass
# it on without stopping.
if have gdb; then
	run_cmd timeout -s KILL 120 "$TW" run --at @$AT --freeze -- gdb -q -batch -nx \
		-ex 'handle SIGSYS nostop noprint pass' -ex 'break main' -ex run -ex 'info proc exe' \
		-ex continue --args "$img" read
	like "$out" "Breakpoint 1, [^\n]* in main" "under gdb inside the namespace: a breakpoint in main stops it"
	like "$out" "raw $AT\.000000000" "and, continued, it reads the namespace's clocks"
	# gdb's own start (a vfork child that asks to be traced, then execs): no
	# trap may stop that child before its exec, the debugger waits for it
	run_cmd timeout -s KILL 120 "$TW" run --at @$AT --freeze -- gdb -q -batch -nx -ex run \
		--args /bin/date +%s
	like "$out" "^$AT" "gdb runs a dynamic program in the namespace too"
else
	skip 3 "gdb is not installed"
fi

# ---- an ordinary user ----
user=$(test_user)
if [ -n "$user" ]; then
	prefix=$(install_copy)
	cp "$img" "$pie" "$prefix/bin/" && chmod a+rx "$prefix/bin/"tws-*
	got=$(cd / && as_user "$user" "$prefix/bin/timewarp" run --at @$AT --freeze -- "$prefix/bin/tws-image-glibc" read)
	is "$(echo "$got" | field raw)" "$AT.000000000" "as $user: a static program reads the --at time"
	got=$(cd / && as_user "$user" "$prefix/bin/timewarp" run --at @$AT --freeze -- "$prefix/bin/tws-image-glibc" exec -e "$prefix/bin/tws-image-pie" read)
	is "$(echo "$got" | field raw)" "$AT.000000000" "as $user: static to static with only PATH"
else
	skip 2 "no ordinary user to run as (not root, or useradd failed)"
fi

done_testing
