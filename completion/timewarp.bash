# bash completion for timewarp(1): verbs, options, the values some options
# take, and for join, set, show and rm the names of your namespaces (from
# `timewarp ls -q`, asked of the timewarp being completed).

_timewarp_names()
{
	local tw=${COMP_WORDS[0]/#\~/$HOME}
	compgen -W "$("$tw" ls -q 2>/dev/null)" -- "$1"
}

_timewarp()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local verbs="run create join set show ls rm help"
	local clock="--at --offset --rate --freeze --monotonic --boottime --settime"
	local verb="" opts="" i w nargs=0 dashes=0
	COMPREPLY=()

	# the verb, how many plain words (names) follow it, and whether a '--'
	# or, for run, a command has begun
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if ((dashes)); then
			continue
		elif [[ -z $verb ]]; then
			[[ $w == -* ]] || verb=$w
		elif [[ $w == -- ]]; then
			dashes=1
		elif [[ $w == --@(at|offset|rate|advance|monotonic|boottime|settime|name|pid) ]]; then
			((i++)) # its value
		elif [[ $w != -* ]]; then
			((nargs++))
		fi
	done

	if [[ -z $verb ]]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "--help --version" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$verbs" -- "$cur")
		fi
		return
	fi
	# the command of run and join, and its arguments
	if ((dashes)) || { [[ $verb == run ]] && ((nargs)); } ||
		{ [[ $verb == join ]] && ((nargs)); }; then
		mapfile -t COMPREPLY < <(compgen -c -- "$cur")
		return
	fi

	case $prev in
	--settime)
		mapfile -t COMPREPLY < <(compgen -W "virtual deny" -- "$cur")
		return ;;
	--pid)
		mapfile -t COMPREPLY < <(compgen -W "$(ps -o pid= -u "$(id -u)" 2>/dev/null)" -- "$cur")
		return ;;
	--at|--offset|--rate|--advance|--monotonic|--boottime|--name)
		return ;; # a value of the user's own
	esac

	case $verb in
	run) opts="$clock --name --help" ;;
	create) opts="$clock --help" ;;
	join) opts="--pid --help" ;;
	set) opts="$clock --advance --resume --pid --quiet --help" ;;
	show) opts="--pid --json --help" ;;
	ls) opts="--json --quiet --help" ;;
	rm) opts="--force --help" ;;
	help)
		((nargs)) || mapfile -t COMPREPLY < <(compgen -W "$verbs" -- "$cur")
		return ;;
	*) return ;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
		return
	fi
	case $verb in
	join|set|show) ((nargs)) || mapfile -t COMPREPLY < <(_timewarp_names "$cur") ;;
	rm) mapfile -t COMPREPLY < <(_timewarp_names "$cur") ;;
	run) mapfile -t COMPREPLY < <(compgen -c -- "$cur") ;;
	esac
}
complete -F _timewarp timewarp
