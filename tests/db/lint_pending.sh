#!/usr/bin/env bash
# Database test: lint's default selection with a database. When the URL
# variable is set and the database answers, only the revisions it has not
# applied are held to every rule (the applied ones are history); --all
# holds every revision to every rule without asking the database;
# --since REV and REV arguments decide without the database; an
# unreachable database is a warning and every revision is linted; no URL
# means every revision, silently. The revisions: 001 creates a table, 002
# and 003 each index it without CONCURRENTLY (an error each).
. "$(dirname "$0")/../db_lib.sh"
db_init

proj=$(project_dir proj)
cd "$proj" || exit 1
mkdir migrations
cat >migrations/001_create_items.up.sql <<'EOF'
-- nmig:parents base
-- nmig:message create items
CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);
EOF
printf 'DROP TABLE items;\n' >migrations/001_create_items.down.sql
cat >migrations/002_items_name_index.up.sql <<'EOF'
-- nmig:parents 001
-- nmig:message items name index
CREATE INDEX items_name ON items (name);
EOF
printf 'DROP INDEX items_name;\n' >migrations/002_items_name_index.down.sql
cat >migrations/003_items_id_name_index.up.sql <<'EOF'
-- nmig:parents 002
-- nmig:message items id name index
CREATE INDEX items_id_name ON items (id, name);
EOF
printf 'DROP INDEX items_id_name;\n' >migrations/003_items_id_name_index.down.sql

db_create lint
name=$(db_name lint)
DATABASE_URL=$(db_url lint)
export DATABASE_URL
rule="[require-concurrent-index-creation]"

### nothing applied yet: everything is pending, everything strict
run_nmig lint --db
expect_rc 1 "nothing applied: both index revisions are errors"
expect_out_contains "002_items_name_index.up.sql:3:1: error:" "002 is linted strictly"
expect_out_contains "003_items_id_name_index.up.sql:3:1: error:" "003 is linted strictly"
expect_err_contains "3 revisions pending on postgres@127.0.0.1:$PGPORT/$name get every rule; 0 applied are history" "the selection is explained"
expect_eq "$(psql_q lint "select pg_catalog.to_regclass('public.schema_version') is null")" t "lint creates no version table"

run_nmig upgrade 002
expect_rc 0 "apply 001 and 002"

### the default: pending revisions only
run_nmig lint --db
expect_rc 1 "003 is pending and still an error"
expect_out_lacks "002_items_name_index.up.sql" "applied 002 is history"
expect_out_contains "003_items_id_name_index.up.sql:3:1: error: " "pending 003 is strict"
expect_out_contains "$rule" "the rule is named"
expect_out_contains "1 error, 1 warning in 3 revisions" "summary: three revisions read (003's down file drops its index plainly)"
expect_err_contains "1 revision pending on postgres@127.0.0.1:$PGPORT/$name gets every rule; 2 applied are history" "the selection is explained"
run_nmig -q lint --db
expect_err_lacks "pending on" "-q drops the explanation"
run_nmig --json lint --db
expect_rc 1 "--json lint with a database"
if command -v python3 >/dev/null 2>&1; then
	if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
errs = [f["file"] for f in d["findings"] if f["severity"] == "error"]
ok = errs == ["migrations/003_items_id_name_index.up.sql"] and all(
    f["file"].startswith("migrations/003_") for f in d["findings"])
sys.exit(0 if ok and d["errors"] == 1 and d["revisions"] == 3 else 1)
' "$DB_TMP/out"; then
		pass "--json: one error, on 003, nothing on history, and stdout is only JSON"
	else
		fail "--json: expected one error, on 003, and nothing on 001 or 002"
		show_run
	fi
else
	echo "SKIP (not counted): python3 is missing: --json output not parsed" >&2
fi
run_nmig lint --format github --db
expect_out_contains "::error file=migrations/003_items_id_name_index.up.sql" "github annotations for the pending revision"
expect_out_lacks "002_items_name_index" "no annotation for history"

### a URL alone does not make lint ask the database
run_nmig lint
expect_rc 1 "without --db every revision is strict"
expect_out_contains "002_items_name_index.up.sql:3:1: error:" "without --db, applied 002 is strict too"
expect_err_lacks "pending on" "without --db the database is not asked"
run_nmig lint --db --all
expect_rc 2 "--db with --all"
expect_err_contains "'--db' excludes '--all', '--since' and revision arguments" "says why"

### --all, --since and REV arguments decide without the database
run_nmig lint --all
expect_rc 1 "--all"
expect_out_contains "002_items_name_index.up.sql:3:1: error:" "--all: 002 is strict again"
expect_out_contains "003_items_id_name_index.up.sql:3:1: error:" "--all: 003 too"
expect_err_lacks "pending on" "--all does not ask the database"
run_nmig lint --since 001
expect_out_contains "002_items_name_index.up.sql" "--since 001 holds 002 to every rule"
expect_err_lacks "pending on" "--since does not ask the database"
run_nmig lint 002
expect_out_contains "002_items_name_index.up.sql" "REV arguments lint that revision strictly"
expect_out_lacks "003_items_id_name_index" "and only that one"
run_nmig lint --all --since 001
expect_rc 2 "--all with --since"
expect_err_contains "'--all' excludes '--since' and revision arguments" "says why"
run_nmig lint --all 003
expect_rc 2 "--all with a revision"

### everything applied: nothing strict
run_nmig upgrade
expect_rc 0 "apply 003"
run_nmig lint --db
expect_rc 0 "everything applied: clean"
expect_out_contains "0 errors, 0 warnings in 3 revisions" "three revisions read as history"
expect_err_contains "0 revisions pending on" "none pending"

### the URL from --url-env and .env
(
	DB_PASSED=0 DB_FAILED=0
	url=$DATABASE_URL
	unset DATABASE_URL
	OTHER_DB=$url run_nmig --url-env OTHER_DB lint --db
	expect_rc 0 "--url-env names the variable"
	expect_err_contains "0 revisions pending on" "the database was asked"
	printf 'DATABASE_URL=%s\n' "$url" >.env
	run_nmig lint --db
	expect_rc 0 "the URL from .env"
	expect_err_contains "0 revisions pending on" "the database in .env was asked"
	rm .env
	db_finish >/dev/null
)
[ $? -eq 0 ] && pass "subshell checks (--url-env, .env)" || fail "subshell checks (--url-env, .env)"

### an unreachable database: a warning, and every revision is strict
printf 'connect_timeout = 300ms\n' >nmig.conf
DATABASE_URL="postgres://postgres:$NMIG_PG_PASSWORD@127.0.0.1:1/$name" run_nmig lint --db
expect_rc 1 "unreachable database: everything linted"
expect_err_contains "warning: cannot read the applied revisions: cannot connect to 'postgres@127.0.0.1:1/$name'" "the warning says why"
expect_err_contains "without --db the database is not asked" "the hint says --db asked it"
DATABASE_URL="postgres://postgres:$NMIG_PG_PASSWORD@127.0.0.1:1/$name" run_nmig lint
expect_rc 1 "no --db: the unreachable database is not asked"
expect_err_lacks "cannot read the applied revisions" "no warning without --db"
expect_out_contains "002_items_name_index.up.sql:3:1: error:" "002 is strict"
expect_out_contains "003_items_id_name_index.up.sql:3:1: error:" "003 is strict"
rm nmig.conf

### no URL: every revision, no warning
(
	DB_PASSED=0 DB_FAILED=0
	unset DATABASE_URL
	run_nmig lint
	expect_rc 1 "no URL: everything linted"
	expect_out_contains "002_items_name_index.up.sql:3:1: error:" "002 is strict without a database"
	expect_err_lacks "warning" "no warning without a URL"
	expect_err_lacks "pending on" "no explanation without a URL"
	db_finish >/dev/null
)
[ $? -eq 0 ] && pass "subshell checks (no URL)" || fail "subshell checks (no URL)"

db_finish
