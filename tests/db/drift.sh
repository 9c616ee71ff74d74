#!/usr/bin/env bash
# Database test of `nmig check --drift`: a database right after upgrade has
# no drift (exit 0); hand-made changes (an added column and index, a dropped
# index, a changed default) are each listed by name, in the summary and in
# the JSON report, with exit 7; nmig's own version table is never drift;
# check's file errors keep exit 3 over drift; a dirty row is reported by the
# database stage (exit 7) and not rebuilt; without a database URL exit 5;
# no password in any output; the live database is left as it was.
. "$(dirname "$0")/../db_lib.sh"
db_init

CT=$(mktemp -d /tmp/nmig-dr.XXXXXX)
chmod 755 "$CT"
trap 'rm -rf "$CT"; db_cleanup' EXIT
export TMPDIR=$CT

mkdir -p "$DB_TMP/p"
cp -r "$NMIG_SOURCE_DIR/migrations" "$DB_TMP/p/migrations"
cd "$DB_TMP/p" || exit 1

db_create live
export DATABASE_URL
DATABASE_URL=$(db_url live)

run_nmig upgrade 20261126091000
expect_rc 0 "the live database upgraded to 091000"
ROWS=$(psql_q live "select string_agg(revision || state, ',' order by revision) from schema_version")

### clean
run_nmig check --drift
expect_rc 0 "no drift right after the upgrade"
expect_out_contains "0 errors" "a clean summary"
expect_out_lacks "schema_version" "the version table is not drift"
run_nmig check --drift --json
expect_rc 0 "json: no drift"
expect_out_contains '"drift": []}' "an empty drift list"

### hand-made changes
psql_q live "alter table tasks add column hotfix int; create index hotfix_idx on tasks (hotfix); drop index tasks_user_id_idx; alter table users alter column email set default 'x@example.com'" >/dev/null
run_nmig check --drift
expect_rc 7 "drift is a state problem"
expect_out_contains "+ column public.tasks.hotfix" "an added column by name"
expect_out_contains "+ index public.hotfix_idx" "an added index by name"
expect_out_contains "- index public.tasks_user_id_idx" "a dropped index by name"
expect_out_contains "~ column public.users.email" "a changed column by name"
expect_out_contains "    + default 'x@example.com'" "with the field that changed"
expect_err_contains "db-schema-drift" "the finding's rule"
expect_err_contains "differs from what its applied revisions give in 4 objects" "counted"
expect_out_lacks "due_date" "only the applied revisions are built (not the head)"
expect_out_lacks "canaryPW" "no password in the report"
expect_err_lacks "canaryPW" "no password in messages"
run_nmig check --drift --json
expect_rc 7 "json: drift"
expect_out_contains '{"change": "added", "kind": "column", "key": "public.tasks.hotfix"}' "json entry of the column"
expect_out_contains '{"change": "removed", "kind": "index", "key": "public.tasks_user_id_idx"}' "json entry of the dropped index"
expect_out_contains '"rule": "db-schema-drift"' "json finding"
expect_out_lacks "canaryPW" "no password in json"
run_nmig check
expect_rc 0 "without --drift the objects are not compared"
expect_eq "$(psql_q live "select count(*) from pg_indexes where indexname = 'hotfix_idx'")" 1 "the live database is left as it was"
expect_eq "$(psql_q live "select string_agg(revision || state, ',' order by revision) from schema_version")" "$ROWS" "version rows untouched"

### file errors keep their exit code
cp -r migrations migrations.ok
echo "CREATE TABLE broken (" >migrations/29990101000000_broken.up.sql
run_nmig check --drift
expect_rc 3 "a file error is exit 3 even with drift"
expect_out_contains "+ column public.tasks.hotfix" "drift still listed"
rm -rf migrations && mv migrations.ok migrations

### a dirty row cannot be rebuilt
psql_q live "update schema_version set state = 'dirty' where revision = '20261126091000'" >/dev/null
run_nmig check --drift
expect_rc 7 "a dirty revision"
expect_out_lacks "public.tasks.hotfix" "no object comparison over a dirty state"
psql_q live "update schema_version set state = 'applied'" >/dev/null

### no database URL
(unset DATABASE_URL; run_nmig check --drift; exit "$rc")
expect_eq "$?" 5 "--drift without a database URL"
expect_eq "$(ls -A "$CT")" "" "no cluster directory left behind"

db_finish
