#!/usr/bin/env bash
# messages.sh: messages that once were vague or wrong now say what is
# wrong and what to do.
set -u
. "$(dirname "$0")/lib.sh"
cli_init
dir=$(examples)
cd "$T" || exit 1

run_nmig --dir "$dir" upgrade 20261126090000:head
expect_exit 2 "upgrade A:B without --sql is a usage error"
expect_stderr_contains "ranges such as '20261126090000:head' are for --sql" "it says ranges are for --sql"
run_nmig --dir "$dir" downgrade head:base
expect_exit 2 "downgrade A:B without --sql too"

touch "$T/afile"
run_nmig --dir "$T/afile" heads
expect_exit 3 "a migrations 'directory' that is a regular file"
expect_stderr_contains "is not a directory" "it says it is not a directory"

mkdir -p "$T/emptydown"
printf -- '-- nmig:parents base\nCREATE TABLE t (id int);\n' >"$T/emptydown/001_a.up.sql"
: >"$T/emptydown/001_a.down.sql"
run_nmig --dir "$T/emptydown" check
expect_stderr_contains "empty down file" "check reports a 0-byte down file"
run_nmig --dir "$T/emptydown" check
expect_stderr_contains "empty down file" "and again on a second run (not hidden by the cache)"

finish
