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

# a NUL byte in a header line is named with its place, not read as a key
mkdir -p "$T/nul"
printf -- '-- nmig:par\0ents base\nCREATE TABLE t (id int);\n' >"$T/nul/001_a.up.sql"
run_nmig --dir "$T/nul" check
expect_exit 3 "a NUL byte in a header line is an input error"
expect_stderr_contains "NUL byte in a migration file" "it names the NUL byte"
expect_stderr_contains "nul/001_a.up.sql:1:12" "at its line and column"
expect_stderr_not_contains "unknown header key" "not as a shorter header key"

# a byte order mark in the middle of a file (two files joined together)
mkdir -p "$T/bom"
printf -- '-- nmig:parents base\nCREATE TABLE t (id int);\n\357\273\277CREATE TABLE u (id int);\n' >"$T/bom/001_a.up.sql"
run_nmig --dir "$T/bom" check
expect_exit 3 "a BOM in the middle of a file is an input error"
expect_stderr_contains "UTF-8 byte order mark (U+FEFF) in the middle of the file" "it names the BOM"
expect_stderr_contains "bom/001_a.up.sql:3:1" "at its line and column"
expect_stderr_not_contains "syntax error at or near" "not as an invisible syntax error"

# COPY ... FROM STDIN with psql's inline data
mkdir -p "$T/copy"
printf -- '-- nmig:parents base\nCREATE TABLE t (id int);\nCOPY t (id) FROM STDIN;\n1\n2\n\\.\n' >"$T/copy/001_a.up.sql"
run_nmig --dir "$T/copy" check
expect_exit 3 "COPY FROM STDIN in a migration is an input error"
expect_stderr_contains "COPY ... FROM STDIN is not supported in a migration" "it says COPY FROM STDIN is not supported"
expect_stderr_contains "copy/001_a.up.sql:3:1" "at the COPY statement"
expect_stderr_contains "INSERT ... VALUES" "and what to do instead"
expect_stderr_not_contains "syntax error" "the data lines are not reported as SQL"

# .env with a byte order mark is read like nmig.conf; a .env directory is
# the configuration's exit code with a hint
mkdir -p "$T/envbom"
printf -- '-- nmig:parents base\nCREATE TABLE t (id int);\n' >"$T/envbom/001_a.up.sql"
printf '\357\273\277NMIG_MSG_URL=postgres://u@127.0.0.1:1/x\n' >"$T/envbom/.env"
cd "$T/envbom" || exit 1
run_nmig --url-env NMIG_MSG_URL --dir . current
expect_exit 5 ".env with a BOM is read: its URL is used (nothing listens there)"
expect_stderr_not_contains "malformed line" ".env with a BOM is not refused as malformed"
expect_stderr_contains "127.0.0.1" "the connection went to the URL in .env"
mkdir -p "$T/envdir/.env"
cp "$T/envbom/001_a.up.sql" "$T/envdir/"
cd "$T/envdir" || exit 1
run_nmig --dir . current
expect_exit 9 ".env being a directory exits 9 (configuration), not 3"
expect_stderr_contains "'./.env' is a directory" "it says .env is a directory"
expect_stderr_contains "rename or remove" "with a hint"
cd "$T" || exit 1

finish
