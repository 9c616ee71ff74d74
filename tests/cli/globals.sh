#!/usr/bin/env bash
# globals.sh: the global options (--dir, --config, --url-env, -q, -v,
# --json, --no-color, --no-cache) work after the command name as before it,
# a command's own option of the same name wins, `--` still ends the
# options, and --json is refused the same way, wherever it is, by the
# commands that have no JSON output (init, graph, completion). The database
# commands' forms with a server are in tests/db/graph.sh.
. "$(dirname "$0")/lib.sh"
cli_init

m=$(examples m)

# same WHAT GLOBALS... -- COMMAND ARGS...: the same exit code and output
# with the global options before and after the command.
same() {
	local what=$1 o1 r1
	local -a globals=()
	shift
	while [ "$1" != "--" ]; do
		globals+=("$1")
		shift
	done
	shift
	run_nmig "${globals[@]}" "$@"
	o1=$out
	r1=$rc
	run_nmig "$@" "${globals[@]}"
	expect_exit "$r1" "$what: the same exit code after the command"
	expect_eq "$out" "$o1" "$what: the same output after the command"
}

same "--json" --dir "$m" --json -- heads
expect_json "heads --json"
same "-v" --dir "$m" -v -- history
expect_stdout_contains "up checksum:" "history -v is verbose"
same "-q" --dir "$m" -q -- heads
same "-qv" --dir "$m" -qv -- history
same "--no-cache" --dir "$m" --no-cache -- check
same "--dir=" --dir="$m" -- branches --json

run_nmig heads --json --dir "$m"
expect_exit 0 "heads --json --dir M"
expect_json "heads --json --dir M: JSON"
run_nmig history -v -r :20261126091000 --dir "$m"
expect_exit 0 "history -v -r A:B --dir M"
expect_stdout_contains "up checksum:" "history -v after the command"
run_nmig history -vr :20261126091000 --dir "$m"
expect_exit 0 "-v in a cluster with a command option (-vr A:B)"
expect_stdout_contains "-> 20261126091000" "-vr: the range is read"
expect_stdout_not_contains "20261126094000" "-vr: the range limits"
run_nmig show 20261126094000 --json --dir "$m"
expect_exit 0 "show ID --json --dir M"
expect_json_eq 'd["id"]' 20261126094000 "show --json after the positional"
run_nmig lint --json --dir "$m"
expect_exit 0 "lint --json"
expect_json "lint --json: JSON"
run_nmig lint --dir "$m" --json=yes
expect_exit 2 "--json=yes after the command"
expect_stderr_contains "option '--json' takes no value" "--json=yes refused"
run_nmig heads --dir
expect_exit 2 "--dir without a value after the command"
expect_stderr_contains "option '--dir' needs a value" "--dir needs a value after the command"
run_nmig heads --frob
expect_exit 2 "an unknown option after the command"
expect_stderr_contains "unknown option '--frob' for 'heads'" "still unknown"

# --config and --url-env after the command.
printf 'dir = %s\nurl_env = NMIG_NO_SUCH_URL\n' "$m" >alt.conf
run_nmig heads --config alt.conf
expect_exit 0 "heads --config FILE"
expect_stdout_contains "20261126094000 (head)" "--config after the command is read"
run_nmig --config alt.conf heads
expect_exit 0 "--config FILE heads"
run_nmig doctor --config alt.conf --url-env NMIG_OTHER_URL --json
expect_json_eq 'd["config"]["url_env"]' NMIG_OTHER_URL "doctor --url-env after the command"
run_nmig --config nonexistent.conf heads
r_before=$rc
run_nmig heads --config nonexistent.conf
expect_exit "$r_before" "a missing --config fails the same after the command"
run_nmig heads --help --config nonexistent.conf
expect_exit 0 "--help needs no config"
expect_stdout_contains "usage: nmig heads" "--help shown with a broken config"

# The database commands: accepted, they fail only for want of a server.
for c in current doctor upgrade "downgrade base" "stamp head"; do
	# shellcheck disable=SC2086 # the command and its target
	run_nmig $c --json --dir "$m"
	[ "$rc" -ne 2 ]
	check $? "$c --json is accepted (exit $rc)"
	expect_stderr_not_contains "unknown option" "$c --json: no unknown option"
done
run_nmig current -v --dir "$m"
expect_exit 5 "current -v: accepted, no database"
expect_stderr_contains "no database URL" "current -v reaches the connection"
run_nmig doctor --json --dir "$m"
expect_json "doctor --json without a database is JSON"

# Colour after the command.
on_tty env -u NO_COLOR "$NMIG" history --dir "$m"
case "$out" in *$'\033['*) pass ;; *) fail "colour on a terminal" ;; esac
on_tty env -u NO_COLOR "$NMIG" history --dir "$m" --no-color
case "$out" in *$'\033['*) fail "history --no-color has no colour" ;; *) pass ;; esac

# --no-cache after the command writes no cache.
rm -rf .nmig
run_nmig check --no-cache --dir "$m"
expect_exit 0 "check --no-cache"
expect_no_file .nmig/cache.db "check --no-cache wrote no cache"

# `--` ends the options: after it --json is a target, not an option.
run_nmig show --dir "$m" -- --json
expect_exit 4 "show -- --json looks for a revision '--json'"
expect_stdout_empty "show -- --json prints no JSON"
run_nmig -- heads --dir "$m"
expect_exit 0 "'--' before the command name"

# A command's own option of the same name wins: import --dir DEST.
mkdir src
cp "$NMIG_FIXTURES/import/dbmate/"* src/
run_nmig --dir "$m" import --from dbmate src --dir dest --dry-run
expect_exit 0 "import --dir DEST is import's own option"
expect_stdout_contains "dest" "import writes to its --dir"

# --json where a command has no JSON output: refused, before or after.
for c in init completion graph; do
	run_nmig --json "$c"
	expect_exit 2 "--json $c"
	expect_stderr_contains "'$c' has no JSON output" "--json $c: why"
	run_nmig "$c" --json
	expect_exit 2 "$c --json"
	expect_stderr_contains "'$c' has no JSON output" "$c --json: why"
done
expect_no_file nmig.conf "init --json created nothing"
run_nmig --json help init
expect_exit 0 "help needs no JSON"

finish
