#!/usr/bin/env bash
# completion.sh: `nmig completion bash` -- the script is valid bash and,
# sourced in a bash subprocess with COMP_WORDS/COMP_CWORD set as readline
# sets them, completes commands (and prefixes), each command's options
# (every option of its --help, so the lists cannot drift), option values
# and revision ids (from `nmig __complete revisions`, files only). zsh and
# fish have their own scripts (completion_zsh.sh, completion_fish.sh).
. "$(dirname "$0")/lib.sh"
cli_init

m=$(examples m)
run_nmig completion bash
expect_exit 0 "completion bash"
printf '%s\n' "$out" >nmig.bash
bash -n nmig.bash 2>"$T/.syntax"
check $? "the bash script parses" "$(cat "$T/.syntax")"

# comp WORDS...: complete the last word (may be "") as bash would; the
# candidates go to $out, one per line. The binary is COMP_WORDS[0].
comp() {
	CLI_LAST_CMD="complete: $*"
	out=$(bash -c '
		source ./nmig.bash || exit 1
		complete -p nmig >/dev/null || exit 1
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_nmig
		printf "%s\n" "${COMPREPLY[@]}"' comp "$NMIG" "$@" 2>"$T/.err")
	rc=$?
	err=$(cat "$T/.err")
}

has() {
	printf '%s\n' "$out" | grep -Fxq -- "$1"
	check $? "$2" "no candidate '$1'"
}

comp up
expect_exit 0 "complete 'nmig up'"
has upgrade "'nmig up' completes to upgrade"
expect_stdout_lines 1 "'nmig up' has one candidate"
comp h
has heads "'nmig h': heads"
has history "'nmig h': history"
has help "'nmig h': help"
comp ""
has graph "every command: graph"
has completion "every command: completion"
expect_stdout_not_contains "__complete" "the hidden helper is not offered"
comp --
has --dir "a global option before the command"
has --version "--version before the command"

comp upgrade --
has --dry-run "'nmig upgrade --': --dry-run"
has --lock-timeout "'nmig upgrade --': --lock-timeout"
has --json "'nmig upgrade --': the global --json after the command"
expect_stdout_not_contains "--version" "--version is not offered after the command"
comp hist --r
has --rev-range "a prefix of the command resolves (hist)"
comp import --
has --dir "import's own --dir"
dirs=$(printf '%s\n' "$out" | grep -cx -- --dir)
expect_eq "$dirs" 1 "--dir offered once for import"

# Revision ids and targets, from the files: --dir before or after.
comp --dir "$m" show ""
has 20261126094000 "'nmig show ': the newest revision"
has 20261126090000 "'nmig show ': the root"
has head "'nmig show ': the target head"
comp --dir "$m" show 2026112609
has 20261126092000 "a prefix of an id"
comp upgrade --dir "$m" ""
has 20261126093000 "upgrade's target, --dir after the command"
comp --dir = "$m" downgrade ""
has base "--dir=DIR as readline splits it"
comp --dir "$m" history -r ""
has 20261126091000 "history -r: revisions"
comp --dir "$m" history -r 20261126090000 : ""
has 20261126094000 "history -r A:B: revisions after the colon"
comp --dir "$m" lint --since ""
has 20261126094000 "lint --since: revisions"
comp --dir nowhere show ""
expect_stdout_empty "no migrations: no candidates and no noise"
expect_stderr_empty "no migrations: nothing on stderr"

# Values of other kinds.
comp cache ""
has info "cache: info"
has clear "cache: clear"
comp completion ""
has zsh "completion: zsh"
comp graph --format ""
has mermaid "graph --format: mermaid"
comp help hi
has history "help: the commands"
comp revision -m ""
expect_stdout_empty "revision -m: a message, nothing to offer"

# Every option of every command's --help table is offered.
run_nmig --help
cmds=$(printf '%s\n' "$out" | sed -n '/^commands:/,/^$/p' | awk 'NF > 1 && $1 != "help" {print $1}')
for c in $cmds; do
	run_nmig "$c" --help
	opts=$(printf '%s\n' "$out" | sed -n '/^options:/,/^$/p' |
		grep -oE '(^|[ ,])--?[a-z][a-z-]*' | tr -d ' ,' | sort -u)
	comp "$c" -
	missing=
	for o in $opts; do
		printf '%s\n' "$out" | grep -Fxq -- "$o" || missing="$missing $o"
	done
	[ -z "$missing" ]
	check $? "'nmig $c -' offers every option of its --help" "missing:$missing"
done

run_nmig __complete revisions --dir "$m"
expect_exit 0 "__complete revisions"
expect_stdout_lines 8 "five ids and three targets"
run_nmig --dir "$m" __complete nothing
expect_exit 2 "__complete with an unknown kind"
run_nmig --help
expect_stdout_not_contains "__complete" "the helper is not in --help"
run_nmig __c
expect_exit 2 "the helper is never matched by a prefix"
run_nmig completion
expect_exit 2 "completion needs a shell"
expect_stderr_contains "completion needs a shell" "completion without a shell: why"
run_nmig completion tcsh
expect_exit 2 "an unknown shell"
expect_stderr_contains "unknown shell 'tcsh'" "unknown shell: why"

finish
