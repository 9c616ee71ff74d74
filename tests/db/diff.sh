#!/usr/bin/env bash
# Database test of `nmig diff`: the example migrations against a declared
# schema (schema_file) that equals their dump (exit 0, "equal") and one
# that adds a table, a column, changes a column's type and a comment and
# drops an index (exit 1, each difference named once, a change with the
# fields that differ); the JSON report; two live databases compared by
# env:VAR (and the databases untouched afterwards); --ignore-column-order;
# drift: migrations@applied (the revisions applied in DATABASE_URL's
# database, built on scratch) against the live database shows what was
# changed by hand; unknown formats and missing states have their exit codes.
# (The SQL that --format sql, the default, prints is tested by autogen.sh.)
. "$(dirname "$0")/../db_lib.sh"
db_init

CT=$(mktemp -d /tmp/nmig-df.XXXXXX)
chmod 755 "$CT"
trap 'rm -rf "$CT"; db_cleanup' EXIT
export TMPDIR=$CT

mkdir -p "$DB_TMP/p"
cp -r "$NMIG_SOURCE_DIR/migrations" "$DB_TMP/p/migrations"
cd "$DB_TMP/p" || exit 1

run_nmig schema dump -o declared.sql
expect_rc 0 "dump of the migrations"
echo "schema_file = declared.sql" >nmig.conf

### equal
run_nmig diff --format summary
expect_rc 0 "migrations give the declared schema"
expect_err_contains "equal: 0 differences" "says equal"
expect_eq "$out" "" "nothing listed"

### differ
sed -e 's/^    title text NOT NULL,/    title character varying(200) NOT NULL,\n    prio integer DEFAULT 0 NOT NULL,/' \
	-e '/CREATE INDEX tasks_user_id_idx/d' \
	-e "s/people who own tasks/people/" declared.sql >changed.sql
echo "CREATE TABLE public.notes (id bigint PRIMARY KEY, body text);" >>changed.sql
run_nmig diff --format summary --to file:changed.sql
expect_rc 1 "a declared schema the migrations do not give"
expect_out_contains "+ table public.notes" "an added table"
expect_out_contains "+ column public.tasks.prio" "an added column"
expect_out_contains "~ column public.tasks.title" "a changed column"
expect_out_contains "    - type text" "the old type"
expect_out_contains "    + type character varying(200)" "the new type"
expect_out_contains "- index public.tasks_user_id_idx" "a dropped index"
expect_out_contains "~ table public.users" "a changed comment is a change of its table"
expect_out_contains "    + comment people" "the new comment"
expect_err_contains "differ:" "says they differ"
expect_eq "$(printf '%s\n' "$out" | grep -c '^~ column public.tasks.title$')" 1 "each difference once"
# the columns after the added one moved: reported unless order is ignored
expect_out_contains "~ column public.tasks.done" "a column moved by the insert"
run_nmig diff --format summary --to file:changed.sql --ignore-column-order
expect_rc 1 "still different without column order"
expect_out_lacks "public.tasks.done" "a moved column is no difference then"

### JSON
run_nmig diff --to file:changed.sql --format json
expect_rc 1 "json: differ"
expect_out_contains '"equal": false' "json equal flag"
expect_out_contains '{"change": "added", "kind": "table", "key": "public.notes"}' "json entries"
expect_out_contains '"roundtrips": 1}' "each state read in one round trip"
run_nmig --json diff
expect_rc 0 "--json: equal"
expect_out_contains '"differences": [], "equal": true' "json when equal"

### two live databases
db_create a
db_create b
psql -X -q -v ON_ERROR_STOP=1 -d "$(db_name a)" -f declared.sql >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$(db_name b)" -f changed.sql >/dev/null
A_URL=$(db_url a) B_URL=$(db_url b) run_nmig diff --format summary --from env:A_URL --to env:B_URL
expect_rc 1 "two databases differ"
expect_out_contains "+ table public.notes" "the table only in b"
expect_out_lacks "canaryPW" "no password in the report"
expect_err_lacks "canaryPW" "no password in messages"
A_URL=$(db_url a) run_nmig diff --format summary --from env:A_URL --to migrations
expect_rc 0 "a database built from the dump equals the migrations"
expect_eq "$(psql_q b "select count(*) from notes")" 0 "the databases are left as they were"

### drift: what the applied revisions give against the live database
db_create live
LIVE=$(db_url live)
DATABASE_URL=$LIVE run_nmig upgrade 20261126091000
expect_rc 0 "the live database upgraded to 091000"
DATABASE_URL=$LIVE run_nmig diff --format summary --from migrations@applied --to env:DATABASE_URL
expect_rc 0 "no drift right after the upgrade"
psql_q live "alter table tasks add column hotfix int; create index hotfix_idx on tasks (hotfix); drop index tasks_user_id_idx" >/dev/null
DATABASE_URL=$LIVE run_nmig diff --format summary --from migrations@applied --to env:DATABASE_URL
expect_rc 1 "changes made by hand are drift"
expect_out_contains "+ column public.tasks.hotfix" "an added column"
expect_out_contains "+ index public.hotfix_idx" "an added index"
expect_out_contains "- index public.tasks_user_id_idx" "a dropped index"
expect_out_lacks "due_date" "only the applied revisions are built (not the head)"
expect_out_lacks "canaryPW" "no password in the report"
expect_err_lacks "canaryPW" "no password in messages"
psql_q live "update schema_version set state = 'dirty' where revision = '20261126091000'" >/dev/null
DATABASE_URL=$LIVE run_nmig diff --format summary --from migrations@applied --to env:DATABASE_URL
expect_rc 7 "a dirty revision cannot be reproduced"
expect_err_contains "revision 20261126091000 is dirty" "names it"
psql_q live "update schema_version set state = 'applied'" >/dev/null
psql_q live "insert into schema_version select '29990101000000', parents, message, checksum, down_checksum, state, applied_at, applied_by, execution_ms, nmig_version from schema_version where revision = '20261126091000'" >/dev/null
DATABASE_URL=$LIVE run_nmig diff --format summary --from migrations@applied --to env:DATABASE_URL
expect_rc 7 "an applied revision the files lack"
expect_err_contains "revision 29990101000000 is applied" "names it"
(unset DATABASE_URL; run_nmig diff --format summary --from migrations@applied --to migrations; exit "$rc")
expect_eq "$?" 9 "migrations@applied without a database URL"

### errors
run_nmig diff --format yaml
expect_rc 2 "an unknown format"
expect_err_contains "write --format sql, summary or json" "says which"
run_nmig diff --to env:NMIG_NOT_SET_ANYWHERE
expect_rc 9 "an unset variable"
run_nmig diff extra
expect_rc 2 "diff takes no arguments"
expect_eq "$(ls -A "$CT")" "" "no cluster directory left behind"

db_finish
