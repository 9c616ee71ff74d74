#!/usr/bin/env bash
# globals.sh: the global flags (--json, -v/--verbose, -q/--quiet,
# --no-color, --no-cache) are accepted after the command name too, as git
# and dbmate users type them; "--" still ends option parsing; a command
# without JSON output refuses --json (exit 2) wherever it is given.
set -u
. "$(dirname "$0")/lib.sh"
cli_init
dir=$(examples)
cd "$T" || exit 1

run_nmig --dir "$dir" heads --json
expect_exit 0 "heads --json"
expect_stdout_contains '"id"' "heads --json prints JSON"
run_nmig --dir "$dir" history -v
expect_exit 0 "history -v"
expect_stdout_contains "up checksum:" "history -v is verbose"
run_nmig --dir "$dir" history --verbose --json
expect_exit 0 "history --verbose --json"
expect_stdout_contains '[{' "history --verbose --json prints JSON"
run_nmig --dir "$dir" lint --json
expect_exit 0 "lint --json (after the command)"
expect_stdout_contains '"findings"' "lint --json prints JSON"
run_nmig --dir "$dir" check --no-color --no-cache
expect_exit 0 "check --no-color --no-cache"
run_nmig --dir "$dir" heads -qv
expect_exit 0 "a -qv bundle after the command"
run_nmig --dir "$dir" show -- --json
expect_exit 4 "after --, --json is an argument (an unknown revision)"
expect_stderr_contains "'--json'" "the argument is named"
run_nmig init --json
expect_exit 2 "init has no JSON output: --json is refused"
expect_stderr_contains "'init' has no JSON output" "the refusal says so"
run_nmig --json init
expect_exit 2 "before the command too"

finish
