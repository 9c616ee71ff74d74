#!/usr/bin/env bash
# odd_files.sh: files that once broke a run. A UTF-8 byte order mark
# before the header: check passes, the SQL the server gets (and the --sql
# script) does not start with it, errors still point at the right line; a
# FIFO (or any non-regular file) named like a migration is refused at once,
# naming it, instead of blocking every command in open().
set -u
. "$(dirname "$0")/../db_lib.sh"
db_init

db_create b
DATABASE_URL=$(db_url b)
export DATABASE_URL
dir=$(project_dir odd)
mig=$dir/migrations
mkdir -p "$mig"
printf '\xef\xbb\xbf-- nmig:parents base\n-- nmig:message with a bom\nCREATE TABLE bom_t (id integer);\n' \
	>"$mig/20261201000001_bom.up.sql"
printf '\xef\xbb\xbfDROP TABLE bom_t;\n' >"$mig/20261201000001_bom.down.sql"

run_nmig --dir "$mig" check
expect_rc 0 "check accepts a byte order mark before the header"
run_nmig --dir "$mig" upgrade head --sql -o "$DB_TMP/bom.sql"
expect_rc 0 "upgrade --sql with a BOM file"
expect_true "the --sql script holds no byte order mark" bash -c "! grep -q $'\xef\xbb\xbf' '$DB_TMP/bom.sql'"
run_nmig --dir "$mig" upgrade head
expect_rc 0 "upgrade of a file with a BOM: the server gets no BOM"
expect_eq "$(psql_q b "select to_regclass('public.bom_t') is not null")" t "its table exists"
run_nmig --dir "$mig" downgrade base
expect_rc 0 "downgrade with a BOM down file"

printf '\xef\xbb\xbf-- nmig:parents 20261201000001\nSELECT 1;\nSELECT nope FROM bom_t;\n' \
	>"$mig/20261201000002_bomerr.up.sql"
run_nmig --dir "$mig" upgrade head
expect_rc 6 "a failing migration with a BOM fails"
expect_err_contains "20261201000002_bomerr.up.sql:3:8" "its error points at line 3, column 8"
rm "$mig/20261201000002_bomerr.up.sql"

mkfifo "$mig/20261201000003_fifo.up.sql"
NMIG_PREFIX="timeout 20" run_nmig --dir "$mig" check
expect_rc 3 "a FIFO named like a migration: check refuses it (exit 3), it does not block"
expect_err_contains "20261201000003_fifo.up.sql" "the refusal names the file"
expect_err_contains "not a regular file" "and says what is wrong"
NMIG_PREFIX="timeout 20" run_nmig --dir "$mig" upgrade head
expect_rc 3 "upgrade refuses it too, before connecting"
expect_eq "$(psql_q b "select count(*) from public.schema_version")" 1 "nothing more was applied (the first revision stays from the failed run)"

db_finish
