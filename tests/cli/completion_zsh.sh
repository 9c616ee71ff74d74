#!/usr/bin/env bash
# completion_zsh.sh: `nmig completion zsh` parses (zsh -n) and its _nmig
# function, run with words/CURRENT set and compadd/_describe/_files
# replaced by functions that print what they were given, offers commands,
# options with their help, and revision ids. Skipped (77) without zsh.
. "$(dirname "$0")/lib.sh"
cli_init

if ! command -v zsh >/dev/null 2>&1; then
	echo "SKIP: zsh is not installed (scripts/deps installs it)" >&2
	exit 77
fi
m=$(examples m)
run_nmig completion zsh
expect_exit 0 "completion zsh"
printf '%s\n' "$out" >_nmig
expect_stdout_contains "#compdef nmig" "a #compdef line"
zsh -n _nmig 2>"$T/.syntax"
check $? "the zsh script parses" "$(cat "$T/.syntax")"

comp() {
	CLI_LAST_CMD="zsh complete: $*"
	out=$(zsh -fc '
		compdef() { print -r -- "compdef $*"; }
		source ./_nmig || exit 1
		compadd() { [ "$1" = -- ] && shift; print -rl -- "$@"; }
		_describe() { print -rl -- ${(P)4}; }
		_files() { print -r -- "<files>"; }
		words=("$@")
		CURRENT=$#
		_nmig' comp "$NMIG" "$@" 2>"$T/.err")
	rc=$?
	err=$(cat "$T/.err")
}

comp up
expect_stdout_contains "upgrade:apply migrations" "'nmig up': upgrade with its summary"
comp upgrade --
expect_stdout_contains "--dry-run:" "'nmig upgrade --': --dry-run with its help"
expect_stdout_contains "--json:" "'nmig upgrade --': the global --json"
comp --dir "$m" show ""
expect_stdout_contains "20261126094000" "'nmig show ': a revision id"
expect_stdout_contains "head" "'nmig show ': head"
comp --dir="$m" history -r ""
expect_stdout_contains "20261126090000" "history -r with --dir=DIR"
comp upgrade -o ""
expect_stdout_contains "<files>" "upgrade -o: files"
finish
