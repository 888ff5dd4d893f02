#!/bin/bash
# The installed layout, as `make check` stages it (make install PREFIX=/usr
# DESTDIR=$TW_BUILD/stage): moved elsewhere it still runs; its man pages are
# clean and complete; the shared control library exports the API and nothing
# else, and a program builds against it with pkg-config's flags; bash and zsh
# complete verbs, options and namespace names.
. "$(dirname "$0")/lib.sh"

REPO=$(cd "$(dirname "$0")/.." && pwd)
STAGE=$TW_BUILD/stage
[ -x "$STAGE/usr/bin/timewarp" ] || { echo "1..0 # SKIP no staged install in $STAGE (make stage)"; exit 0; }
VERSION=$("$TW" --version | sed 's/^timewarp //')

# ---- moved as a whole, it still runs, as root and as an ordinary user
cp -a "$STAGE" "$TW_TMP/moved"
chmod -R a+rX "$TW_TMP/moved"
M=$TW_TMP/moved/usr
is "$("$M/bin/timewarp" run --at @2000000000 -- date +%s)" 2000000000 \
	"a staged install moved elsewhere runs timewarp run --at @2000000000 -- date +%s"
is "$("$M/bin/timewarp" run -- sh -c 'echo "$LD_PRELOAD"')" "$M/lib/timewarp/libtimewarp.so" \
	"members load the library of the moved tree"
user=$(test_user)
if [ -n "$user" ]; then
	is "$(as_user "$user" "$M/bin/timewarp" run --at @2000000000 -- date +%s)" 2000000000 \
		"the moved tree runs for an ordinary user"
else
	skip 1 "no ordinary user to run as"
fi

# ---- man pages
for page in man1/timewarp.1 man3/timewarp.3; do
	if have groff; then
		is "$(groff -man -ww -z "$M/share/man/$page" 2>&1)" "" "groff -man -ww -z $page: no warning"
	else
		skip 1 "groff is not installed"
	fi
	like "$(head -n 1 "$M/share/man/$page")" "\"timewarp $VERSION\"" "$page is of version $VERSION"
done
if have man; then
	is "$(MANPATH=$M/share/man man -w timewarp)" "$M/share/man/man1/timewarp.1" "man -w timewarp finds timewarp(1)"
	is "$(MANPATH=$M/share/man man -w 3 timewarp)" "$M/share/man/man3/timewarp.3" "man -w 3 timewarp finds timewarp(3)"
else
	skip 2 "man is not installed"
fi
man1=$(sed 's/\\-/-/g' "$M/share/man/man1/timewarp.1")
missing=
for opt in $("$TW" --help | grep -o -- '--[a-z]*' | sort -u); do
	[ "$opt" = -- ] && continue
	printf '%s' "$man1" | grep -q -- "^\.B[IR]* .*$opt\b" || missing="$missing $opt"
done
is "$missing" "" "timewarp(1) documents every option of timewarp --help (--advance among them)"
for verb in run create join set show ls rm help; do
	printf '%s' "$man1" | grep -q "^\.B timewarp $verb$"
	ok $? "timewarp(1)'s synopsis has $verb"
done
for s in "SEE ALSO" "EXIT STATUS" ENVIRONMENT FILES EXAMPLES DATES DURATIONS RATES; do
	printf '%s' "$man1" | grep -q "^\.SH $s$"
	ok $? "timewarp(1) has $s"
done
for p in unshare nsenter faketime time_namespaces; do
	printf '%s' "$man1" | grep -q "^\.BR $p ("
	ok $? "timewarp(1) refers to $p"
done

# ---- the shared control library: soname, links, exactly the API's functions
so=$M/lib/libtimewarp-control.so.$VERSION
like "$(readelf -d "$so")" "SONAME.*\[libtimewarp-control\.so\.0\]" "the shared library's soname"
is "$(readlink "$M/lib/libtimewarp-control.so.0")" "libtimewarp-control.so.$VERSION" "the soname's link"
is "$(readlink "$M/lib/libtimewarp-control.so")" "libtimewarp-control.so.0" "the link for -l"
api=$(gcc -fsyntax-only -I"$M/include/timewarp" -aux-info /dev/stdout "$M/include/timewarp/timewarp.h" |
	grep 'timewarp/timewarp\.h:' | grep -o 'tw_[a-z0-9_]* (' | tr -d ' (' | sort)
exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' | sort)
ok "$([ "$(printf '%s\n' "$api" | wc -l)" -ge 20 ]; echo $?)" "the header declares the API ($(printf '%s\n' "$api" | wc -l) functions)"
is "$exported" "$api" "the shared library exports exactly the functions timewarp.h declares"
man3_missing=
for f in $api; do grep -q "^\.BI* \"[a-z_ ]*\**$f(" "$M/share/man/man3/timewarp.3" || man3_missing="$man3_missing $f"; done
is "$man3_missing" "" "timewarp(3)'s synopsis has every function of the API"

# ---- a program built with pkg-config's flags against the staged tree: the
# example of timewarp(3)
sed -n '/^\.SH EXAMPLES/,/^\.SH NOTES/p' "$M/share/man/man3/timewarp.3" | sed -n '/^\.EX/,/^\.EE/p' |
	sed '1d;$d; s/\\e/\\/g; s/\\(aq/'"'"'/g; s/\\-/-/g' >"$TW_TMP/example.c"
san=()
[ "${TW_SAN:-}" = 1 ] && san=(-fsanitize=address,undefined)
if have pkg-config; then
	flags=$(PKG_CONFIG_PATH=$STAGE/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$STAGE pkg-config --cflags --libs timewarp |
		sed 's/ *$//')
	is "$flags" "-I$STAGE/usr/include/timewarp -L$STAGE/usr/lib -ltimewarp-control" "pkg-config's flags for the staged tree"
	is "$(PKG_CONFIG_PATH=$STAGE/usr/lib/pkgconfig pkg-config --modversion timewarp)" "$VERSION" "pkg-config's version"
	# shellcheck disable=SC2086 # the flags are words
	run_cmd gcc -Wall -Wextra -Werror "${san[@]}" -o "$TW_TMP/example" "$TW_TMP/example.c" $flags
	is "$status" 0 "timewarp(3)'s example builds with \$(pkg-config --cflags --libs timewarp)"
	[ "$status" = 0 ] || echo "# $out"
	like "$(readelf -d "$TW_TMP/example" 2>&1)" "NEEDED.*\[libtimewarp-control\.so\.0\]" "and links the shared library"
	is "$(LD_LIBRARY_PATH=$STAGE/usr/lib "$TW_TMP/example")" 2147570047 \
		"and runs: a frozen namespace in 2038 moved a day on"
	is "$("$TW" ls -q)" "" "and leaves no namespace behind"
else
	skip 6 "pkg-config is not installed"
fi

# ---- bash completion, from the installed file
"$TW" create alpha
"$TW" create beta
complete_bash() { # the words bash offers after the words given
	bash --norc --noprofile -c 'source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _timewarp
		printf "%s\n" "${COMPREPLY[@]}" | sort -u | tr "\n" " "' \
		sh "$M/share/bash-completion/completions/timewarp" "$@"
}
is "$(complete_bash "$TW" s)" "set show " "bash: timewarp s<TAB> offers set show"
is "$(complete_bash "$TW" "")" "create help join ls rm run set show " "bash: every verb"
for verb in join set show rm; do
	is "$(complete_bash "$TW" $verb "")" "alpha beta " "bash: $verb offers the namespaces' names"
done
is "$(complete_bash "$TW" set alpha --a)" "--advance --at " "bash: set's options"
is "$(complete_bash "$TW" run --settime "")" "deny virtual " "bash: --settime's values"
is "$(complete_bash "$TW" help r)" "rm run " "bash: help's verbs"

# ---- zsh completion, driven through a terminal as a user would
is "$(head -n 1 "$M/share/zsh/site-functions/_timewarp")" "#compdef timewarp" "zsh's _timewarp is installed"
if have zsh && zsh -fc 'zmodload zsh/zpty' 2>/dev/null; then
	cat >"$TW_TMP/drive.zsh" <<'EOF'
# what an interactive zsh lists when $1 is typed and TAB pressed
zmodload zsh/zpty
zpty -b z "zsh -f -i"
zpty -w z "PS1='%% '; fpath=($FPDIR \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z "path=($TWDIR \$path); setopt nobeep; echo READY"
repeat 50; do zpty -r -t z line && [[ $line == READY* ]] && break; sleep 0.1; done
zpty -w -n z "$1"$'\t'
sleep 1
out=
while zpty -r -t z line; do out+=$line; done
zpty -d z
print -r -- "$out" | tr -d '\r' | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g'
EOF
	complete_zsh() { FPDIR=$M/share/zsh/site-functions TWDIR=$M/bin zsh -f "$TW_TMP/drive.zsh" "$1"; }
	out=$(complete_zsh 'timewarp s')
	like "$out" "set +(-- )?change the clocks" "zsh: timewarp s<TAB> lists set"
	like "$out" "show +(-- )?show the clocks" "zsh: timewarp s<TAB> lists show"
	like "$(complete_zsh 'timewarp show ')" "alpha +beta" "zsh: show lists the namespaces' names"
	like "$(complete_zsh 'timewarp set alpha --a')" "--advance +(-- )?move every clock" "zsh: set's options"
else
	skip 4 "zsh (with its zpty module) is not installed"
fi
"$TW" rm alpha beta

# ---- make install honours PREFIX, LIBDIR and DESTDIR; uninstall takes it all back
dest=$TW_TMP/dest
run_cmd make -s -C "$REPO" BUILD="$TW_BUILD" SAN="${TW_SAN:-}" install DESTDIR="$dest" PREFIX=/opt/tw
is "$status" 0 "make install PREFIX=/opt/tw DESTDIR=..."
[ "$status" = 0 ] || echo "# $out"
ok "$([ -x "$dest/opt/tw/bin/timewarp" ] && [ -f "$dest/opt/tw/lib/timewarp/libtimewarp.so" ] &&
	[ -f "$dest/opt/tw/share/man/man1/timewarp.1" ]; echo $?)" "installed under DESTDIR/PREFIX"
like "$(cat "$dest/opt/tw/lib/pkgconfig/timewarp.pc")" "^prefix=/opt/tw" "timewarp.pc names the prefix"
run_cmd make -s -C "$REPO" BUILD="$TW_BUILD" SAN="${TW_SAN:-}" uninstall DESTDIR="$dest" PREFIX=/opt/tw
is "$status" 0 "make uninstall"
is "$(find "$dest" -not -type d)" "" "make uninstall leaves no file behind"

done_testing
