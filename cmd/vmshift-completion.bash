# bash completion for vmshift(1)                          -*- shell-script -*-
#
# Installed as $(PREFIX)/share/bash-completion/completions/vmshift, where
# bash-completion loads it on demand; or source it from ~/.bashrc.  It
# needs only bash: no helper of the bash-completion package.
#
# Completes the commands, each command's options and their values, plan
# files (*.yaml, *.yml, and directories to reach them) and, after --only,
# the migration ids of the plan on the line, read with the same vmshift
# (`vmshift plan --output json PLAN`).  The lists below follow
# cmd/commands.c and cmd/cmd_apply.c; tests/completion-test checks that.

_vmshift_commands="validate plan apply resume rollback status help"

# _vmshift_options COMMAND: the options COMMAND takes
_vmshift_options()
{
	case $1 in
	validate) echo "-o --output -h --help" ;;
	plan) echo "-o --output -h --help" ;;
	apply) echo "-n --dry-run --save --resolved --max-age --state-dir --only --on-failure --accept-new-host-keys -o --output -q --quiet --now --events -h --help" ;;
	resume) echo "--resolved --state-dir --now --on-failure --accept-new-host-keys -o --output -q --quiet --events -h --help" ;;
	rollback) echo "--only --force --resolved --state-dir --accept-new-host-keys -o --output -q --quiet --events -h --help" ;;
	status) echo "--state-dir --accept-new-host-keys -o --output -q --quiet -h --help" ;;
	esac
}

# _vmshift_takes_arg OPTION: whether OPTION takes the next word as its value
_vmshift_takes_arg()
{
	case $1 in
	-o | --output | --state-dir | --only | --on-failure | --now | --save | --resolved | --max-age | --events) return 0 ;;
	esac
	return 1
}

# _vmshift_ids VMSHIFT PLAN: the ids of PLAN's migrations, one a line.
# `vmshift plan --output json` writes {"id":"..."} for each migration and
# for nothing else; ids are JSON strings, so \" and \\ are undone.
_vmshift_ids()
{
	[[ -f $2 && -r $2 ]] || return 0
	"$1" plan --output json "$2" 2>/dev/null |
		grep -o '[{,]"id":"\([^"\\]\|\\.\)*"' |
		sed -e 's/^."id":"//' -e 's/"$//' -e 's/\\"/"/g' -e 's/\\\\/\\/g'
}

# _vmshift_complete_ids VMSHIFT PLAN CUR: the ids starting with CUR.  Not
# compgen -W: it expands its word list, and a plan's id is not ours to
# run ("$(...)").  -o filenames makes readline quote what it inserts
# ('^web-[0-9]+$' holds characters the shell would take).
_vmshift_complete_ids()
{
	local id

	compopt -o filenames 2>/dev/null
	while IFS= read -r id; do
		[[ $id == "$3"* ]] && COMPREPLY+=("$id")
	done < <(_vmshift_ids "$1" "$2")
}

# _vmshift_plan_files CUR: plan files and directories starting with CUR
_vmshift_plan_files()
{
	# mapfile, not COMPREPLY=($(...)): a file name is not a pattern
	compopt -o filenames 2>/dev/null
	mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -- "$1")
	mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -X '!*.yaml' -- "$1")
	mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -X '!*.yml' -- "$1")
}

_vmshift()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local vmshift=${COMP_WORDS[0]} cmd="" plan="" only=0 i w IFS=$' \t\n'

	COMPREPLY=()
	# "--output=js": bash splits at '=', so the words are --output, =, js
	if [[ $cur == "=" ]]; then
		cur=""
	elif [[ $prev == "=" ]] && ((COMP_CWORD >= 2)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi
	[[ $vmshift == "~/"* ]] && vmshift=$HOME/${vmshift#"~/"}

	# the command (before the cursor), the plan (the first plain word
	# after it, wherever it is) and whether --only came before the cursor
	for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		if [[ -z $cmd ]]; then
			((i >= COMP_CWORD)) && break
			[[ $w != -* ]] && cmd=$w
			continue
		fi
		if ((i == COMP_CWORD)) || [[ $w == "=" ]]; then
			continue
		elif _vmshift_takes_arg "$w"; then
			[[ $w == --only ]] && ((i < COMP_CWORD)) && only=1
			[[ ${COMP_WORDS[i + 1]-} == "=" ]] && ((i++))
			((i++))
		elif [[ $w != -* && -z $plan ]]; then
			plan=$w
		fi
	done
	[[ $plan == "~/"* ]] && plan=$HOME/${plan#"~/"}

	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "$_vmshift_commands --version -V --help -h" -- "$cur"))
		return 0
	fi
	case $cmd in
	help)
		((COMP_CWORD == 2)) && COMPREPLY=($(compgen -W "$_vmshift_commands" -- "$cur"))
		return 0
		;;
	validate | plan | apply | resume | rollback | status) ;;
	*) return 0 ;;
	esac

	case $prev in
	-o | --output)
		case $cmd in
		validate) COMPREPLY=($(compgen -W "text json github" -- "$cur")) ;;
		plan) COMPREPLY=($(compgen -W "text json dot" -- "$cur")) ;;
		apply) COMPREPLY=($(compgen -W "text json markdown" -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W "text json" -- "$cur")) ;;
		esac
		return 0
		;;
	--on-failure)
		COMPREPLY=($(compgen -W "rollback stop" -- "$cur"))
		return 0
		;;
	--state-dir)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return 0
		;;
	--now | --max-age)
		return 0
		;;
	--save | --resolved)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return 0
		;;
	--only)
		_vmshift_complete_ids "$vmshift" "$plan" "$cur"
		return 0
		;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_vmshift_options "$cmd")" -- "$cur"))
		return 0
	fi
	# validate takes several plans; the others one, then (after --only)
	# more ids
	if [[ $cmd == validate || -z $plan ]]; then
		_vmshift_plan_files "$cur"
	elif ((only)); then
		_vmshift_complete_ids "$vmshift" "$plan" "$cur"
	fi
	return 0
}

complete -F _vmshift vmshift
