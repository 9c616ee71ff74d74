#!/usr/bin/env bash
# check.sh: `nmig check` on the example history and on every kind of bad
# input -- empty file, garbage and NUL bytes, down without up, duplicate
# id, unknown header key, unknown parent, cycle, self-loop, syntax error
# (file:line:col and a caret), COMMIT in a transactional migration, CREATE
# INDEX CONCURRENTLY without `transaction off`, odd file names -- in text
# and --json, plus what the other commands say about a broken directory.
. "$(dirname "$0")/lib.sh"
cli_init

ex=$(examples)
# Most fixtures have no down files on purpose: keep the lint rule about
# that quiet here (a config in the current directory), and test lint's
# part of check at the end.
printf 'lint.missing-down = off\n' >nmig.conf
run_nmig --dir "$ex" check
expect_exit 0 "the examples check clean"
expect_stdout_equals "checked 5 revisions: 0 errors, 0 warnings" "summary of a clean check"
expect_stderr_empty "a clean check prints no findings"
run_nmig --dir "$ex" check --json
expect_json "check --json on the examples"
expect_json_eq 'd' '{"revisions": 5, "errors": 0, "warnings": 0, "findings": []}' "clean --json"

# bad_case NAME EXIT RULE MESSAGE: check fixture NAME; expect EXIT, the
# finding's rule and message on stderr, and a summary line.
bad_case() {
	local dir
	dir=$(fixture "$1")
	run_nmig --dir "$dir" check
	expect_exit "$2" "check $1: exit $2"
	expect_stderr_contains "[$3]" "check $1: rule $3"
	expect_stderr_contains "$4" "check $1: message"
	expect_stdout_matches '^checked [0-9]+ revisions?: [0-9]+ errors?, [0-9]+ warnings?$' "check $1: summary"
}

bad_case empty_file 0 empty-migration "warning: empty migration"
expect_stderr_contains "  --> empty_file/002_nothing.up.sql" "empty file: path"
expect_stdout_contains "0 errors, 1 warning" "an empty file is a warning only"

bad_case down_only 3 down-without-up "error: down file '002_orphan.down.sql' has no up file"
expect_stderr_contains "  --> down_only/002_orphan.down.sql" "down only: path"

bad_case duplicate 3 duplicate-id "revision id '001' is used by several up files"
expect_stderr_contains "001_again.up.sql" "duplicate: first file named"
expect_stderr_contains "001_first.up.sql" "duplicate: second file named"

bad_case header_key 3 header "error: unknown header key 'author'"
expect_stderr_contains "  --> header_key/001_first.up.sql:2:9" "header key: file:line:col"
expect_stderr_contains " 2 | -- nmig:author someone" "header key: source line"

bad_case unknown_parent 3 graph-missing-parent "names parent '000999' which does not exist"
expect_stderr_contains "unknown_parent/002_second.up.sql" "unknown parent: file"

bad_case cycle 3 graph-cycle "cycle: 001 -> 002 -> 001"
expect_stderr_contains "cycle/002_b.up.sql" "cycle: members named"

bad_case self_loop 3 graph-self-loop "revision '001' ('self_loop/001_a.up.sql') names itself as parent"

bad_case syntax 3 sql-syntax 'error: syntax error at or near "TABEL"'
expect_eq "$(printf '%s\n' "$err" | sed -n '2,5p')" "  --> syntax/001_first.up.sql:5:8
   |
 5 | CREATE TABEL b (id int);
   |        ^" "syntax error: location, source line and caret"

bad_case commit 3 sql-tx-control "error: 'COMMIT' cannot be used in a transactional migration"
expect_stderr_contains "  --> commit/001_first.up.sql:3:1" "COMMIT: location"
expect_stderr_contains "-- nmig:transaction off" "COMMIT: hint names the header"

bad_case concurrently 3 sql-no-transaction "CREATE INDEX CONCURRENTLY cannot run inside a transaction block"
expect_stderr_contains "hint: add '-- nmig:transaction off'" "CONCURRENTLY: hint"

odd=$(fixture odd_names)
run_nmig --dir "$odd" check
expect_exit 0 "odd file names check clean"
expect_stdout_equals "checked 2 revisions: 0 errors, 0 warnings" "odd names: both revisions, README ignored"

# Garbage: invalid UTF-8 and binary files, NUL bytes in SQL.
mkdir garbage nul
printf -- '-- nmig:parents base\nCREATE TABLE a (id int);\nSELECT \xff\xfe ;\n' >garbage/001_a.up.sql
printf '\x7fELF\x02\x01\x01\0\0\0\x01binary' >garbage/002_bin.up.sql
printf -- '-- nmig:parents base\nCREATE TABLE a (id int);\n\0\0SELECT 1;\n' >nul/001_a.up.sql
run_nmig --dir garbage check
expect_exit 3 "check on garbage bytes"
expect_stderr_contains "error: invalid UTF-8 (byte 0xff) in a migration file" "invalid UTF-8 named"
expect_stderr_contains "  --> garbage/001_a.up.sql:3:8" "invalid UTF-8: line and column"
expect_stderr_contains "  --> garbage/002_bin.up.sql:1:" "binary file: location"
expect_stdout_contains "2 errors" "each bad file reported once"
case "$err" in *$'\x7f'* | *$'\xff'*) fail "raw garbage bytes reached the terminal" ;; *) pass ;; esac
run_nmig --dir nul check
expect_exit 3 "check on NUL bytes"
expect_stderr_contains "NUL byte in a migration file" "NUL byte named"
expect_stderr_contains "  --> nul/001_a.up.sql:3:1" "NUL byte: line"

# Many problems at once: all reported, sorted by file and line.
mkdir many
cp "$NMIG_FIXTURES/cli/syntax/001_first.up.sql" many/003_syntax.up.sql
sed -i 's/-- nmig:parents base/-- nmig:parents 001/' many/003_syntax.up.sql
printf -- '-- nmig:parents base\nCREATE TABLE a (id int);\nCOMMIT;\nBEGIN;\n' >many/001_tx.up.sql
printf -- '-- nmig:parents 009\nSELECT 1;\n' >many/002_orphan.up.sql
: >many/004_empty.up.sql
run_nmig --dir many check
expect_exit 3 "check with several problems"
expect_stdout_contains "checked 4 revisions: 4 errors, 1 warning" "every finding counted"
order=$(printf '%s\n' "$err" | grep -E '^  --> ' | sed 's/^  --> //' | tr '\n' ' ')
expect_eq "$order" "many/001_tx.up.sql:3:1 many/001_tx.up.sql:4:1 many/002_orphan.up.sql many/003_syntax.up.sql:5:8 many/004_empty.up.sql " "findings sorted by file and line"
run_nmig --dir many -q check
expect_stderr_not_contains "warning:" "-q hides warnings"
expect_stderr_contains "error:" "-q keeps errors"
run_nmig --dir many check --json
expect_exit 3 "check --json with problems"
expect_stderr_empty "check --json prints no text findings"
expect_json "check --json with problems"
expect_json_eq 'd["revisions"], d["errors"], d["warnings"]' '[4, 4, 1]' "--json counts"
expect_json_eq '[f["rule"] for f in d["findings"]]' '["sql-tx-control", "sql-tx-control", "graph-missing-parent", "sql-syntax", "empty-migration"]' "--json findings in order"
expect_json_eq 'd["findings"][3]' '{"severity": "error", "rule": "sql-syntax", "file": "many/003_syntax.up.sql", "line": 5, "col": 8, "message": "syntax error at or near \"TABEL\"", "hint": null}' "--json finding fields"
expect_json_eq 'd["findings"][4]["severity"], d["findings"][4]["line"]' '["warning", null]' "--json warning without a line"

# Two heads are a warning.
br=$(fixture branchy)
run_nmig --dir "$br" check
expect_exit 0 "two heads do not fail check"
expect_stderr_contains "warning: the history has 2 heads: 002, 003 [multiple-heads]" "two heads warning"

# A missing directory, an empty one.
run_nmig --dir nowhere check
expect_exit 3 "check of a missing directory"
expect_stderr_contains "error: migrations directory 'nowhere' does not exist" "missing directory message"
mkdir empty
run_nmig --dir empty check
expect_exit 0 "check of an empty directory"
expect_stdout_equals "checked 0 revisions: 0 errors, 0 warnings" "nothing to check"
run_nmig --dir empty check extra
expect_exit 2 "check with an argument"

# The other commands refuse a broken directory with the same findings.
for c in heads branches history "show 001" revision; do
	# shellcheck disable=SC2086
	run_nmig --dir cycle $c -m x
	[ "$c" = revision ] || run_nmig --dir cycle $c
	expect_exit 3 "$c on a cycle"
	expect_stderr_contains "cycle: 001 -> 002 -> 001" "$c names the cycle"
	expect_stderr_contains "hint: fix the files above; 'nmig check' lists every finding" "$c points at check"
done
# Lint runs as part of check, with the levels of the config.
rm nmig.conf
run_nmig --dir "$br" check
expect_exit 0 "lint warnings do not fail check"
expect_stderr_contains "warning: revision '003' has no down file [missing-down]" "lint finding in check"
expect_stdout_contains "0 errors, 2 warnings" "lint findings counted"
mkdir lintbad
printf -- '-- nmig:parents base\nCREATE TABLE t (id bigint PRIMARY KEY);\n' >lintbad/001_t.up.sql
printf 'DROP TABLE t;\n' >lintbad/001_t.down.sql
printf -- '-- nmig:parents 001\nCREATE INDEX t_id ON t (id);\n' >lintbad/002_i.up.sql
printf 'DROP INDEX t_id;\n' >lintbad/002_i.down.sql
run_nmig --dir lintbad check
expect_exit 3 "a lint error fails check"
expect_stderr_contains "[require-concurrent-index-creation]" "the lint rule is named"
expect_stderr_contains "  --> lintbad/002_i.up.sql:2:1" "the lint finding's location"
printf 'lint.require-concurrent-index-creation = warning\nlint.require-concurrent-index-deletion = off\n' >nmig.conf
run_nmig --dir lintbad check
expect_exit 0 "lint levels from nmig.conf"
expect_stdout_contains "0 errors, 1 warning" "the rule lowered to a warning"
printf 'lint.no-such-rule = off\n' >nmig.conf
run_nmig --dir lintbad check
expect_exit 3 "an unknown lint rule in the config"
expect_stderr_contains "no-such-rule" "the unknown rule is named"
rm nmig.conf

run_nmig --dir syntax heads
expect_exit 0 "heads does not parse SQL bodies"
expect_stdout_equals "001 (head) first" "heads despite a syntax error in a body"

finish
