#!/bin/bash
# The unit tests and every verb of the CLI under valgrind's memcheck: no invalid
# access, no leak.  (Members are not run under valgrind: it brings its own
# preloads.)  Prints TAP.
set -u
build=${1:-build}
vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite)
n=0 failed=0
check() {
	local desc=$1
	shift
	n=$((n + 1))
	if "${vg[@]}" "$@" >/dev/null 2>"$tmp/err"; then
		echo "ok $n - valgrind: $desc"
	else
		echo "not ok $n - valgrind: $desc"
		sed 's/^/# /' "$tmp/err"
		failed=$((failed + 1))
	fi
}
command -v valgrind >/dev/null || { echo "1..0 # SKIP valgrind is not installed"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_RUNTIME_DIR=$tmp
for t in "$build"/tests/test_*; do
	case $t in
	*/test_seqlock)
		# its verdicts need threads to interleave, and valgrind runs one at a time
		n=$((n + 1))
		echo "ok $n # SKIP valgrind: test_seqlock is a thread-interleaving stress test"
		continue ;;
	*/test_writers)
		# its writers run one instruction at a time under ptrace, and under
		# valgrind those instructions are valgrind's translation of them
		n=$((n + 1))
		echo "ok $n # SKIP valgrind: test_writers single-steps its writers with ptrace"
		continue ;;
	esac
	check "$(basename "$t")" "$t"
done
tw=$build/timewarp
check "create" "$tw" create vg --at @2000000000 --rate 2
check "set" "$tw" set vg --advance 1d --freeze
check "set --resume" "$tw" set vg --resume
check "help set" "$tw" help set
check "--help" "$tw" --help
check "show" "$tw" show vg
check "show --json" "$tw" show vg --json
check "ls" "$tw" ls
check "ls --json" "$tw" ls --json
check "ls -q" "$tw" ls -q
# valgrind implements no seccomp(): run and join stop at the filter they
# install before the exec, saying so (status 1); valgrind's own errors would
# end them with 99
refused() {
	local desc=$1 status
	shift
	n=$((n + 1))
	"${vg[@]}" "$@" >/dev/null 2>"$tmp/err"
	status=$?
	if [ "$status" -eq 1 ] && grep -q "cannot install the seccomp filter" "$tmp/err"; then
		echo "ok $n - valgrind: $desc"
	else
		echo "not ok $n - valgrind: $desc (status $status)"
		sed 's/^/# /' "$tmp/err"
		failed=$((failed + 1))
	fi
}
refused "run, up to the filter valgrind cannot install" "$tw" run --offset +1d -- true
refused "join, likewise" "$tw" join vg -- true
check "rm" "$tw" rm vg
check "bad input" sh -c "\"\$@\"; [ \$? -eq 2 ]" sh "${vg[@]}" "$tw" run --at tomorrow -- true
check "a faketime habit" sh -c "\"\$@\"; [ \$? -eq 2 ]" sh "${vg[@]}" "$tw" 'Jan 1 2030' date
mkdir -p "$tmp/bad/timewarp" && chmod 777 "$tmp/bad/timewarp"
check "a refused store" sh -c "\"\$@\"; [ \$? -eq 1 ]" sh env XDG_RUNTIME_DIR="$tmp/bad" \
	"${vg[@]}" "$tw" create x
echo "1..$n"
[ "$failed" -eq 0 ]
