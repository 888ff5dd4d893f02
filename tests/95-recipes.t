#!/bin/bash
# The README as a new user meets it: its first screen builds and runs, it links
# nothing outside the repository, and its container and CI recipes run as
# written (the blocks are taken from README.md itself, so they cannot drift).
. "$(dirname "$0")/lib.sh"

REPO=$(cd "$(dirname "$0")/.." && pwd)
README=$REPO/README.md

# ---- the README itself
first=$(head -n 24 "$README")
like "$first" "make && \./build/timewarp run --at '2038-01-19T03:14:07Z' -- date -u" \
	"the first screen builds and runs the main job"
like "$first" "^ +make check " "the first screen runs the tests"
is "$(TZ=UTC "$TW" run --at '2038-01-19T03:14:07Z' -- date -u)" "Tue Jan 19 03:14:07 UTC 2038" \
	"and the main job prints what it says"
outside=
for doc in "$README" "$REPO"/docs/*.md "$REPO/python/README.md"; do
	dir=$(dirname "$doc")
	# every [text](target) and ![alt](target)
	while IFS= read -r target; do
		target=${target%%#*}
		[ -z "$target" ] && continue
		case $target in
		*://* | mailto:*) outside="$outside $target" ;;
		*)
			real=$(realpath -m "$dir/$target")
			case $real in
			"$REPO"/*) [ -e "$real" ] || outside="$outside $target(missing)" ;;
			*) outside="$outside $target" ;;
			esac
			;;
		esac
	done < <(grep -o '\](\([^)]*\))' "$doc" | sed 's/^](//; s/)$//')
done
is "$outside" "" "README and docs link nothing outside the repository (and nothing missing)"
ok "$([ -s "$REPO/docs/design.md" ]; echo $?)" "docs/design.md exists"
is "$(grep -Eic '\b(issue [0-9]|issues? #|wave [0-9]|waves)\b' "$README" "$REPO"/docs/*.md | awk -F: '{ s += $2 } END { print s }')" 0 \
	"no issue numbers or waves in README and docs"
for doc in docs/design.md docs/internals.md docs/performance.md; do
	grep -q "]($doc)" "$README"
	ok $? "the README links $doc"
done

# recipe NAME: the shell block that follows '<!-- tested by tests/95-recipes.t: NAME -->'
recipe() {
	awk -v name="$1" '
		$0 ~ "<!-- tested by tests/95-recipes.t: " name " -->" { want = 1; next }
		want && /^```/ { if (inside) exit; inside = 1; next }
		inside { print }' "$README"
}

# ---- a container's process tree on one clock, moved from outside
container=$(recipe container)
like "$container" "unshare -Urpf --mount-proc" "the container recipe is in the README"
if ! have unshare || ! unshare -Urpf --mount-proc true 2>/dev/null; then
	skip 7 "unshare -Urpf --mount-proc does not work here"
else
	mkdir "$TW_TMP/box"
	out=$(cd "$TW_TMP/box" && PATH=$TW_BUILD:$PATH TZ=UTC timeout 120 bash -e -c "$container" 2>&1)
	is "$?" 0 "the container recipe runs"
	like "$out" "^box: realtime 2030-01-31T00:00:00\.000000000Z, rate 0 \(frozen\)$" \
		"set says where it moved the clock"
	is "$(printf '%s\n' "$out" | grep -E '^[0-9]{4}-' | tr '\n' ' ')" "2030-01-01 2030-01-31 " \
		"inside, the clock starts at 2030-01-01 and set --advance 30d moves it from outside"
	like "$out" "^ +1 sh$" "the container has its own pid namespace, sh its pid 1, under timewarp"
	is "$("$TW" ls -q)" "" "and the recipe leaves no namespace behind"
	user=$(test_user)
	if [ -n "$user" ] && as_user "$user" unshare -Urpf --mount-proc true 2>/dev/null; then
		prefix=$(install_copy)
		mkdir "$TW_TMP/box-user" && chown "$user" "$TW_TMP/box-user"
		out=$(cd "$TW_TMP/box-user" && as_user "$user" env PATH="$prefix/bin:/usr/bin:/bin" \
			timeout 120 bash -e -c "$container" 2>&1)
		is "$?" 0 "the container recipe runs for an ordinary user"
		is "$(printf '%s\n' "$out" | grep -E '^[0-9]{4}-' | tr '\n' ' ')" "2030-01-01 2030-01-31 " \
			"and moves the container's clock there too"
	else
		skip 2 "no ordinary user who may make user namespaces"
	fi
fi

# ---- CI: certificates that expire within a year fail the job
certs=$(recipe certificates)
like "$certs" "timewarp run --offset \+1y" "the certificate recipe is in the README"
if have openssl; then
	mkdir -p "$TW_TMP/ci/certs"
	for c in long:730 short:180; do
		openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=${c%%:*}.test" -days "${c#*:}" \
			-keyout "$TW_TMP/ci/${c%%:*}.key" -out "$TW_TMP/ci/certs/${c%%:*}.pem" 2>/dev/null
	done
	out=$(cd "$TW_TMP/ci" && PATH=$TW_BUILD:$PATH bash -c "$certs" 2>&1)
	is "$?" 1 "the certificate job fails with a certificate that expires in 180 days"
	is "$out" "certs/short.pem expires within a year" "and names it"
	without=$(printf '%s\n' "$certs" | sed 's/timewarp run --offset +1y -- //')
	out=$(cd "$TW_TMP/ci" && bash -c "$without" 2>&1)
	is "$?:$out" "0:" "without timewarp the same job passes today"
	rm "$TW_TMP/ci/certs/short.pem"
	out=$(cd "$TW_TMP/ci" && PATH=$TW_BUILD:$PATH bash -c "$certs" 2>&1)
	is "$?:$out" "0:" "with the two-year certificate only, the job passes"
else
	skip 4 "openssl is not installed"
fi

done_testing
