#!/usr/bin/env bash
# completion_fish.sh: `nmig completion fish` parses (fish -n) and fish's
# own `complete -C` offers commands, options and revision ids with it
# loaded. Skipped (77) without fish.
. "$(dirname "$0")/lib.sh"
cli_init

if ! command -v fish >/dev/null 2>&1; then
	echo "SKIP: fish is not installed (scripts/deps installs it)" >&2
	exit 77
fi
m=$(examples m)
run_nmig completion fish
expect_exit 0 "completion fish"
printf '%s\n' "$out" >nmig.fish
fish -n nmig.fish 2>"$T/.syntax"
check $? "the fish script parses" "$(cat "$T/.syntax")"

mkdir bin
ln -s "$NMIG" bin/nmig
comp() {
	CLI_LAST_CMD="fish complete -C '$1'"
	out=$(HOME=$T XDG_CONFIG_HOME=$T PATH="$T/bin:$PATH" fish --no-config -c \
		'source ./nmig.fish; complete -C $argv[1]' "$1" 2>"$T/.err")
	rc=$?
	err=$(cat "$T/.err")
}

comp "nmig up"
expect_stdout_matches $'^upgrade\t' "'nmig up': upgrade"
comp "nmig upgrade --dr"
expect_stdout_matches $'^--dry-run\t' "'nmig upgrade --dr': --dry-run"
comp "nmig --dir $m show 2026112609"
expect_stdout_contains "20261126094000" "'nmig show ': a revision id"
comp "nmig graph --format "
expect_stdout_contains "mermaid" "graph --format: mermaid"
finish
