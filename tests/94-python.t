#!/bin/bash
# The Python module (python/): installed with pip into a venv (no index: the
# standard library is all it needs), its pytest tests run with the built
# timewarp on PATH, as root and as an ordinary user; each pytest result is a
# TAP line here.
. "$(dirname "$0")/lib.sh"

REPO=$(cd "$(dirname "$0")/.." && pwd)
# The interpreter with pytest and venv: python3 on PATH, else the system's.
PY=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import pytest, venv, ensurepip' 2>/dev/null; then PY=$(command -v "$p"); break; fi
done
[ -n "$PY" ] || { echo "1..0 # SKIP no python3 with pytest and venv (python3-pytest, python3-venv)"; exit 0; }
# pip builds the module with these, and without an index it cannot fetch them
"$PY" -c 'import setuptools, wheel' 2>/dev/null ||
	{ echo "1..0 # SKIP pip needs setuptools and wheel to build without an index (python3-setuptools, python3-wheel)"; exit 0; }
export PYTHONDONTWRITEBYTECODE=1

cp -r "$REPO/python" "$TW_TMP/src" # pip may build in the tree it is given
venv=$TW_TMP/venv
run_cmd "$PY" -m venv --system-site-packages "$venv"
is "$status" 0 "a venv (with the system's pytest)"
run_cmd "$venv/bin/pip" install --no-build-isolation --no-deps --no-index "$TW_TMP/src"
is "$status" 0 "pip install ./python, with no index"
[ "$status" = 0 ] || { printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'; done_testing; }
is "$(cd / && "$venv/bin/python" -c 'import timewarp; print(timewarp.__file__)')" \
	"$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/timewarp/__init__.py" \
	"the venv imports the installed module"
is "$("$venv/bin/python" -c 'import timewarp; print(timewarp.__version__)')" \
	"$("$TW" --version | sed 's/^timewarp //')" "the module's version is timewarp's"
is "$(grep -c '^import\|^from' "$TW_TMP/src/timewarp/__init__.py")" \
	"$(cd / && "$venv/bin/python" -c '
import ast, sys
tree = ast.parse(open(sys.argv[1]).read())
mods = {n.names[0].name.split(".")[0] for n in tree.body if isinstance(n, ast.Import)}
print(len(mods & set(sys.stdlib_module_names)))' "$TW_TMP/src/timewarp/__init__.py")" \
	"the module imports the standard library only"

# pytest_results PREFIX: pytest's -v lines as TAP
pytest_results() {
	local line name result n=0
	while IFS= read -r line; do
		case $line in
		*"::"*" PASSED"* | *"::"*" FAILED"* | *"::"*" ERROR"* | *"::"*" SKIPPED"*)
			name=${line%% *}
			name=${name##*::}
			result=${line#* }
			result=${result%% *}
			n=$((n + 1))
			case $result in
			PASSED) ok 0 "$1: $name" ;;
			SKIPPED) skip 1 "$1: $name" ;;
			*) ok 1 "$1: $name ($result)" ;;
			esac
			;;
		esac
	done
	ok "$([ "$n" -ge 10 ]; echo $?)" "$1: pytest ran the module's tests ($n)"
}

run_cmd env PATH="$TW_BUILD:$PATH" "$venv/bin/python" -m pytest -v -p no:cacheprovider "$TW_TMP/src/tests"
pytest_results "pytest as $(id -un)" < <(printf '%s\n' "$out")
[ "$status" = 0 ] || printf '%s\n' "$out" | grep -A 30 '= FAILURES =' | sed 's/^/# /'

user=$(test_user)
if [ -n "$user" ]; then
	prefix=$(install_copy)
	chmod -R a+rX "$venv" "$TW_TMP/src"
	run_cmd as_user "$user" env PATH="$prefix/bin:/usr/bin:/bin" PYTHONDONTWRITEBYTECODE=1 \
		"$venv/bin/python" -m pytest -v -p no:cacheprovider \
		--basetemp="$TW_TMP/home-$user/pytest" "$TW_TMP/src/tests"
	pytest_results "pytest as $user" < <(printf '%s\n' "$out")
	[ "$status" = 0 ] || printf '%s\n' "$out" | grep -A 30 '= FAILURES =' | sed 's/^/# /'
else
	skip 1 "no ordinary user to run as"
fi

done_testing
