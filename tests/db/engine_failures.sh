#!/usr/bin/env bash
# Database test: failures and the state that refuses. Migration k of a
# batch fails -> 1..k-1 committed, k rolled back, nothing after it ran, the
# error shows file:line:col, the source line, SQLSTATE, detail and hint,
# exit 6; fixing the file and re-running resumes. Drift is refused, then
# allowed with --allow-drift or cleared with repair --checksums. Stamp with
# and without --purge. A failed non-transactional migration leaves a dirty
# row that blocks runs (exit 7) until repair --mark-applied /
# --mark-rolled-back. An irreversible revision on a downgrade path and an
# applied set that is not ancestor-closed are refused (exit 7).
. "$(dirname "$0")/../db_lib.sh"
db_init

proj=$(project_dir proj)
m=$proj/migrations
mkdir -p "$m"
cd "$proj" || exit 1

# mig ID PARENT MESSAGE UP [DOWN]: write a migration (DOWN "-" = none).
mig() {
	{
		echo "-- nmig:parents $2"
		echo "-- nmig:message $3"
		printf '%s\n' "$4"
	} >"$m/$1_$(echo "$3" | tr ' ' '_').up.sql"
	if [ "${5:-}" != "-" ]; then
		printf '%s\n' "${5:-SELECT 1;}" >"$m/$1_$(echo "$3" | tr ' ' '_').down.sql"
	fi
}

applied() {
	applied_revs "$1" | tr '\n' ' ' | sed 's/ $//'
}

exists() {
	psql_q "$1" "select pg_catalog.to_regclass('$2') is not null"
}

### migration 3 of a batch of 5 fails at run time
mig 0001 base "first" "CREATE TABLE t1 (id int PRIMARY KEY);" "DROP TABLE t1;"
mig 0002 0001 "second" "CREATE TABLE t2 (id int);" "DROP TABLE t2;"
mig 0003 0002 "third" "INSERT INTO t1 VALUES (1);
CREATE TABLE t3 (id int);
-- the next statement fails at a known place: café ☃
SELECT id, 'é☃',
       'ü', nope FROM t1;" "DROP TABLE t3;"
mig 0004 0003 "fourth" "CREATE TABLE t4 (id int);" "DROP TABLE t4;"
mig 0005 0004 "fifth" "CREATE TABLE t5 (id int);" "DROP TABLE t5;"

db_create fail
export DATABASE_URL=$(db_url fail)
run_nmig upgrade
expect_rc 6 "a failing migration exits 6"
expect_err_contains "error: migration 0003 (third) failed: column \"nope\" does not exist" "the error names the migration"
expect_err_contains "--> migrations/0003_third.up.sql:7:13" "file:line:col from the statement position (UTF-8 aware)"
expect_err_contains "       'ü', nope FROM t1;" "the source line is shown"
expect_err_matches '^ +\| +\^$' "a caret under the column"
expect_err_contains "SQLSTATE 42703" "the SQLSTATE is shown"
expect_out_contains "applied 0001 first" "migration 1 reported"
expect_out_contains "applied 0002 second" "migration 2 reported"
expect_out_lacks "applied 0003" "migration 3 not reported as applied"
expect_out_contains "upgraded 2 of 5 revisions" "the summary says how many were applied"
expect_eq "$(applied fail)" "0001 0002" "1..k-1 committed"
expect_eq "$(exists fail t2)" t "migration 2's table exists"
expect_eq "$(exists fail t3)" f "migration 3 rolled back (its table)"
expect_eq "$(psql_q fail 'select count(*) from t1')" 0 "migration 3 rolled back (its insert)"
expect_eq "$(exists fail t4)" f "nothing after it ran"

# an error without a position: located by counting statements
mig 0003 0002 "third" "INSERT INTO t1 VALUES (1);
CREATE TABLE t3 (id int);

CREATE TABLE t2 (id int);" "DROP TABLE t3;"
run_nmig upgrade
expect_rc 6 "a duplicate table fails"
expect_err_contains "relation \"t2\" already exists" "the server message"
expect_err_contains "--> migrations/0003_third.up.sql:6:1" "the failing statement located by counting results"
expect_err_contains "SQLSTATE 42P07" "SQLSTATE 42P07"

# detail and hint from the server
mig 0003 0002 "third" "INSERT INTO t1 VALUES (1);
INSERT INTO t1 VALUES (1);" "DELETE FROM t1;"
run_nmig upgrade
expect_rc 6 "a unique violation in the migration"
expect_err_contains "detail: Key (id)=(1) already exists." "the server's detail"
expect_err_contains "SQLSTATE 23505" "SQLSTATE 23505 of the user's statement is a failure, not a race"
expect_err_lacks "concurrently" "not mistaken for a concurrent run"
mig 0003 0002 "third" "DO \$\$ BEGIN RAISE EXCEPTION 'custom failure' USING HINT = 'add the missing row first'; END \$\$;" "SELECT 1;"
run_nmig upgrade
expect_rc 6 "a raised exception"
expect_err_contains "hint: add the missing row first" "the server's hint"
expect_err_contains "SQLSTATE P0001" "SQLSTATE P0001"

# fix the file: the run resumes from migration 3
mig 0003 0002 "third" "INSERT INTO t1 VALUES (1);
CREATE TABLE t3 (id int);" "DROP TABLE t3; DELETE FROM t1;"
run_nmig upgrade
expect_rc 0 "the fixed migration and the rest apply"
expect_out_lacks "applied 0001" "migration 1 not run again"
expect_out_contains "applied 0003 third" "migration 3 applied"
expect_out_contains "upgraded 3 revisions" "three applied"
expect_eq "$(applied fail)" "0001 0002 0003 0004 0005" "everything applied"
expect_eq "$(psql_q fail 'select count(*) from t1')" 1 "migration 3's insert committed once"
expect_eq "$(psql_q fail "select count(*) from schema_version where execution_ms is null or applied_by <> 'postgres' or nmig_version = ''")" 0 \
	"rows record duration, user and version"

### drift
echo "-- an edit after the fact" >>"$m/0002_second.up.sql"
run_nmig upgrade
expect_rc 7 "drift refuses upgrade"
expect_err_contains "applied revision '0002' was edited after it was applied" "drift message"
expect_err_contains "0002: migrations/0002_second.up.sql" "drift lists revision and file"
expect_err_contains "nmig repair --checksums" "drift hint"
run_nmig check
expect_rc 0 "check without --db does not ask the database: no drift finding"
expect_err_lacks "[db-drift]" "no database finding without --db"
run_nmig check --db
expect_rc 7 "check --db reports drift"
expect_err_contains "applied revision '0002' was edited after it was applied" "check names the drift"
expect_err_contains "[db-drift]" "the drift rule"
run_nmig current
expect_rc 0 "current reports drift and exits 0"
expect_out_contains "drift: 1" "current counts the drift"
mig 0006 0005 "sixth" "CREATE TABLE t6 (id int);" "DROP TABLE t6;"
run_nmig upgrade --allow-drift
expect_rc 0 "--allow-drift runs anyway"
expect_err_contains "warning: 1 applied revision changed" "--allow-drift warns"
expect_eq "$(exists fail t6)" t "the pending migration ran"
run_nmig repair
expect_rc 0 "repair --checksums (the default)"
expect_out_contains "re-recorded checksums of 0002 (migrations/0002_second.up.sql)" "repair lists each revision"
run_nmig check --db
expect_rc 0 "check --db passes with a consistent database"
DATABASE_URL="postgres://postgres:$NMIG_PG_PASSWORD@127.0.0.1:1/x" run_nmig check --json
expect_rc 0 "check without --db never fails for an unreachable server"
expect_out_lacks '"db-connect"' "and does not try it"
DATABASE_URL="postgres://postgres:wrong-password@127.0.0.1:$PGPORT/x" run_nmig check
expect_rc 0 "nor for a wrong password"
DATABASE_URL="postgres://postgres:$NMIG_PG_PASSWORD@127.0.0.1:1/x" run_nmig check --json --db
expect_rc 5 "check --db cannot reach the database"
expect_out_contains '"rule": "db-connect"' "the connection failure is a finding"
DATABASE_URL= PGHOST= PGHOSTADDR= PGPORT= PGUSER= PGSERVICE= PGDATABASE= run_nmig check --db
expect_rc 5 "check --db without any database URL"
expect_err_contains "no database URL" "says there is none"
run_nmig upgrade
expect_rc 0 "no drift after repair"
expect_out_contains "nothing to do" "nothing left"
run_nmig repair --checksums
expect_out_contains "nothing to repair" "a second repair finds nothing"

### not ancestor-closed, irreversible downgrade path
psql_q fail "delete from schema_version where revision = '0003'" >/dev/null
run_nmig upgrade
expect_rc 7 "an applied set that is not ancestor-closed"
expect_err_contains "'0004' is applied but its parent '0003' is not" "the gap is named"
run_nmig check --db
expect_rc 7 "check reports a gap"
expect_err_contains "[db-not-closed]" "the gap rule"
run_nmig current
expect_rc 0 "current still reports"
expect_out_contains "not ancestor-closed" "current says so"
psql_q fail "insert into schema_version (revision, parents, checksum, state, nmig_version) values ('0003', '{0002}', '$(sha256sum "$m/0003_third.up.sql" | cut -c1-64)', 'applied', 'test')" >/dev/null
rm "$m/0002_second.down.sql"
run_nmig downgrade 0001
expect_rc 7 "an irreversible revision on the downgrade path"
expect_err_contains "0002" "the irreversible revision is named"
expect_eq "$(applied fail)" "0001 0002 0003 0004 0005 0006" "nothing was reverted"
echo "DROP TABLE t2;" >"$m/0002_second.down.sql"

### stamp
db_create stamp
export DATABASE_URL=$(db_url stamp)
run_nmig stamp 0003
expect_rc 0 "stamp on an empty database"
expect_out_contains "stamped: 3 rows inserted, 0 deleted; at 0003" "stamp summary"
expect_eq "$(applied stamp)" "0001 0002 0003" "closure of the target recorded"
expect_eq "$(exists stamp t1)" f "no migration SQL ran"
expect_eq "$(psql_q stamp "select checksum from schema_version where revision = '0002'")" \
	"$(sha256sum "$m/0002_second.up.sql" | cut -c1-64)" "rows carry the files' checksums"
run_nmig stamp 0001
expect_rc 0 "stamp backwards"
expect_eq "$(applied stamp)" "0001" "rows outside the closure deleted"
psql_q stamp "insert into schema_version (revision, parents, checksum, state, nmig_version) values ('7777', '{}', 'x', 'applied', 'other')" >/dev/null
run_nmig upgrade
expect_rc 7 "an unknown applied revision refuses upgrade"
expect_err_contains "'7777'" "the unknown revision is named"
expect_err_contains "nmig stamp --purge" "the hint names stamp --purge"
run_nmig check --db
expect_rc 7 "check reports the unknown revision"
expect_err_contains "revision '7777' applied, which has no migration file" "check names it"
run_nmig stamp head
expect_rc 7 "stamp refuses unknown rows without --purge"
expect_eq "$(applied stamp)" "0001 7777" "nothing changed"
run_nmig stamp --purge head
expect_rc 0 "stamp --purge"
expect_eq "$(applied stamp)" "0001 0002 0003 0004 0005 0006" "unknown row gone, closure recorded"
run_nmig stamp head
expect_out_contains "nothing to do: database is already at 0006 (head)" "stamping the same state"
run_nmig stamp base
expect_rc 0 "stamp base"
expect_eq "$(psql_q stamp 'select count(*) from schema_version')" 0 "stamp base empties the table"

### a non-transactional migration that fails half way: dirty
db_create dirty
export DATABASE_URL=$(db_url dirty)
ntx=$(project_dir ntx)
mkdir -p "$ntx/migrations"
cd "$ntx" || exit 1
m=$ntx/migrations
mig 0001 base "base table" "CREATE TABLE items (id int, name text);" "DROP TABLE items;"
cat >"$m/0002_indexes.up.sql" <<'EOF'
-- nmig:parents 0001
-- nmig:message indexes
-- nmig:transaction off
CREATE INDEX CONCURRENTLY items_id_idx ON items (id);
CREATE INDEX CONCURRENTLY items_name_idx ON items (nosuchcolumn);
EOF
cat >"$m/0002_indexes.down.sql" <<'EOF'
DROP INDEX CONCURRENTLY IF EXISTS items_name_idx;
DROP INDEX CONCURRENTLY nosuchindex;
EOF
mig 0003 0002 "after" "CREATE TABLE after_t (id int);" "DROP TABLE after_t;"
run_nmig upgrade
expect_rc 6 "a non-transactional migration fails"
expect_err_contains "migration 0002 (indexes) failed: column \"nosuchcolumn\" does not exist" "its error"
expect_err_contains "--> migrations/0002_indexes.up.sql:5:1" "the failing statement's location"
expect_eq "$(psql_q dirty "select state from schema_version where revision = '0002'")" dirty "its row is dirty"
expect_ne "$(psql_q dirty "select coalesce(error, '') from schema_version where revision = '0002'")" "" \
	"the row records the error"
expect_eq "$(psql_q dirty "select count(*) from pg_indexes where indexname = 'items_id_idx'")" 1 \
	"the statement before the failure stayed done"
expect_eq "$(exists dirty after_t)" f "nothing after it ran"
run_nmig upgrade
expect_rc 7 "a dirty row blocks the next run"
expect_err_contains "revision '0002' is dirty" "the dirty revision is named"
expect_err_contains "nosuchcolumn" "the recorded error is shown"
expect_err_contains "nmig repair --mark-applied 0002" "the hint names repair"
run_nmig downgrade base
expect_rc 7 "a dirty row blocks downgrade too"
run_nmig check --db
expect_rc 3 "check: lint errors in these files win over the state (exit 3)"
expect_err_contains "[db-dirty]" "the dirty rule"
run_nmig current
expect_rc 0 "current reports the dirty row"
expect_out_contains "dirty: 1" "current counts it"
run_nmig repair --mark-applied 0003
expect_rc 7 "mark-applied of a revision without a dirty row"
# finish the statement by hand, then record it
psql_q dirty "create index items_name_idx on items (name)" >/dev/null
run_nmig repair --mark-applied 0002
expect_rc 0 "repair --mark-applied"
expect_out_contains "marked 0002 as applied" "repair says what it did"
expect_eq "$(psql_q dirty "select state || coalesce(error, '') from schema_version where revision = '0002'")" applied \
	"the row is applied, error cleared"
run_nmig upgrade
expect_rc 0 "the run continues after repair"
expect_eq "$(applied dirty)" "0001 0002 0003" "all applied"
# the down file fails on its second statement: dirty again
run_nmig downgrade 0001
expect_rc 6 "a failing non-transactional down file"
expect_out_contains "reverted 0003 after" "the migration before it was reverted"
expect_eq "$(psql_q dirty "select state from schema_version where revision = '0002'")" dirty "dirty after a failed downgrade"
expect_ne "$(psql_q dirty "select coalesce(error, '') from schema_version where revision = '0002'" | grep -c '^downgrade: ')" 0 \
	"the error says it was a downgrade"
run_nmig repair --mark-rolled-back 0002
expect_rc 0 "repair --mark-rolled-back"
expect_eq "$(applied dirty)" "0001" "the row is gone"
run_nmig upgrade 0001
expect_rc 0 "no refusal after repair"
expect_out_contains "nothing to do" "state is consistent"

db_finish
