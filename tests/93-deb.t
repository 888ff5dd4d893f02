#!/bin/bash
# The Debian package: make deb builds build/timewarp_VERSION_ARCH.deb with
# debhelper; it installs, runs, shows its man pages, builds a program with
# pkg-config, and dpkg -r leaves nothing of it.  The machine is restored (the
# package purged) however the test ends.
. "$(dirname "$0")/lib.sh"

REPO=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP installing a package needs root"; exit 0; }
for t in dpkg dpkg-buildpackage dh fakeroot; do
	have "$t" || { echo "1..0 # SKIP $t is not installed"; exit 0; }
done
[ "${TW_SAN:-}" = 1 ] && { echo "1..0 # SKIP the sanitized build is not packaged (make check tests the package)"; exit 0; }
if dpkg-query -W -f='${Status}' timewarp 2>/dev/null | grep -q 'ok installed'; then
	echo "1..0 # SKIP a timewarp package is installed on this machine already; not replacing it"
	exit 0
fi

purge() { dpkg -P timewarp >/dev/null 2>&1 || true; }
cleanup_hooks+=(purge)
trap 'exit 130' INT TERM HUP # so that the EXIT hooks run

VERSION=$("$TW" --version | sed 's/^timewarp //')
deb=$TW_BUILD/timewarp_${VERSION}_$(dpkg --print-architecture).deb
rm -f "$deb"
run_cmd env -u MAKEFLAGS -u MAKELEVEL make -C "$REPO" BUILD="$TW_BUILD" deb
is "$status" 0 "make deb"
[ "$status" = 0 ] || printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'
ok "$([ -f "$deb" ]; echo $?)" "make deb made $deb"
[ -f "$deb" ] || done_testing

# the package's directories that this machine does not have yet: gone again after dpkg -r
new_dirs=$(dpkg-deb -c "$deb" | awk '$1 ~ /^d/ { sub(/^\./, "", $6); print $6 }' |
	while read -r d; do [ -n "$d" ] && [ "$d" != / ] && [ ! -e "$d" ] && echo "${d%/}"; done)
run_cmd dpkg -i "$deb"
is "$status" 0 "dpkg -i"
[ "$status" = 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
files=$(dpkg -L timewarp | while read -r f; do [ -d "$f" ] || echo "$f"; done)

is "$(/usr/bin/timewarp run --at @2000000000 -- date +%s)" 2000000000 \
	"the installed timewarp runs timewarp run --at @2000000000 -- date +%s"
user=$(test_user)
if [ -n "$user" ]; then
	is "$(as_user "$user" /usr/bin/timewarp run --at @2000000000 -- date +%s)" 2000000000 \
		"and does so for an ordinary user"
else
	skip 1 "no ordinary user to run as"
fi
# a statically linked program: the installed runtime loads it
is "$(/usr/bin/timewarp run --at @2000000000 --freeze -- "$TW_BUILD/tests/tws-image-glibc" read |
	awk '$1 == "raw" { print $2 }')" 2000000000.000000000 "the installed timewarp runs a static program"
if grep -qs '^path-exclude.*/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
	skip 3 "dpkg here leaves manual pages out (path-exclude in /etc/dpkg/dpkg.cfg.d)"
elif have man; then
	is "$(man -w timewarp)" /usr/share/man/man1/timewarp.1.gz "man -w timewarp"
	is "$(man -w 3 timewarp)" /usr/share/man/man3/timewarp.3.gz "man -w 3 timewarp"
	like "$(MANWIDTH=80 man timewarp 2>/dev/null | head -n 5)" "timewarp - give a process tree its own clocks" \
		"man timewarp shows the page"
else
	skip 3 "man is not installed"
fi
ok "$([ -f /usr/share/bash-completion/completions/timewarp ] &&
	[ -f /usr/share/zsh/vendor-completions/_timewarp ]; echo $?)" "the completions are where bash and zsh look"
if have pkg-config; then
	is "$(pkg-config --modversion timewarp)" "$VERSION" "pkg-config finds timewarp"
	sed -n '/^\.SH EXAMPLES/,/^\.SH NOTES/p' "$REPO/man/timewarp.3" | sed -n '/^\.EX/,/^\.EE/p' |
		sed '1d;$d; s/\\e/\\/g; s/\\(aq/'"'"'/g; s/\\-/-/g' >"$TW_TMP/example.c"
	# shellcheck disable=SC2046 # the flags are words
	gcc -o "$TW_TMP/example" "$TW_TMP/example.c" $(pkg-config --cflags --libs timewarp)
	is "$("$TW_TMP/example")" 2147570047 "a program built with pkg-config's flags runs with the installed library"
else
	skip 2 "pkg-config is not installed"
fi

run_cmd dpkg -r timewarp
is "$status" 0 "dpkg -r"
left=$(for f in $files; do [ -e "$f" ] || [ -L "$f" ] && echo "$f"; done)
is "$left" "" "dpkg -r leaves none of the package's files"
left=$(for d in $new_dirs; do [ -e "$d" ] && echo "$d"; done)
ok "$([ -n "$new_dirs" ]; echo $?)" "the package brought directories of its own ($(echo $new_dirs | wc -w))"
is "$left" "" "and dpkg -r removes them"
like "$(dpkg-query -W -f='${Status}' timewarp 2>&1)" "not-installed|no packages found" \
	"and no trace in dpkg's database"
is "$(ldconfig -p | grep -c libtimewarp)" 0 "nor in the dynamic linker's cache"

done_testing
