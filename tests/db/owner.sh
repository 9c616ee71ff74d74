#!/usr/bin/env bash
# owner.sh: a dirty row says who is applying it. With --no-lock (the mode
# behind a pooler), runner A applies a `transaction off` migration that
# sleeps; runner B meets its dirty row and must report it as being applied
# by A (wait up to --lock-wait, then exit 8), not as a dead run to repair;
# `repair` refuses to resolve it while A runs; a runner that waits long
# enough finishes after A without applying anything twice. Also: first runs
# racing to create the version table all succeed, and a typo in the
# configured schema is refused instead of re-running every migration.
set -u
. "$(dirname "$0")/../db_lib.sh"
db_init

SLEEP=6

db_create o
DATABASE_URL=$(db_url o)
export DATABASE_URL
dir=$(project_dir owner)
mig=$dir/migrations
mkdir -p "$mig"

cat >"$mig/20261201000001_t.up.sql" <<'EOF'
-- nmig:parents base
-- nmig:message table
CREATE TABLE own_t (id integer);
CREATE TABLE own_log (who text);
EOF
cat >"$mig/20261201000002_slow.up.sql" <<EOF
-- nmig:parents 20261201000001
-- nmig:message slow index
-- nmig:transaction off
INSERT INTO own_log VALUES ('slow');
SELECT pg_catalog.pg_sleep($SLEEP);
CREATE INDEX CONCURRENTLY own_t_id ON own_t (id);
EOF
cat >"$mig/20261201000003_after.up.sql" <<'EOF'
-- nmig:parents 20261201000002
-- nmig:message after
INSERT INTO own_log VALUES ('after');
EOF

"$NMIG" --dir "$mig" upgrade head --no-lock >"$DB_TMP/a.out" 2>"$DB_TMP/a.err" </dev/null &
apid=$!
for _ in $(seq 1 100); do
	[ "$(psql_q o "select count(*) from pg_catalog.pg_stat_activity where datname = '$(db_name o)' and wait_event = 'PgSleep'")" = 1 ] && break
	sleep 0.1
done

run_nmig --dir "$mig" upgrade head --no-lock --lock-wait 1s
expect_rc 8 "a live run's dirty row: the second runner exits 8 (busy) after --lock-wait"
expect_err_contains "is being applied by nmig" "it says the migration is being applied"
expect_err_contains "pid $apid" "it names the applying nmig's pid"
expect_err_lacks "did not finish" "it does not call a live run dead"

run_nmig --dir "$mig" repair --mark-rolled-back 20261201000002
expect_rc 8 "repair refuses to resolve a row whose owner is running"
expect_err_contains "being applied" "repair says why"
expect_eq "$(psql_q o "select state from public.schema_version where revision = '20261201000002'")" dirty \
	"repair left the row alone"

run_nmig --dir "$mig" stamp --purge head --allow-production
expect_rc 8 "stamp --purge refuses a row whose owner is running"

run_nmig --dir "$mig" upgrade head --no-lock --lock-wait 60s
expect_rc 0 "a runner that waits long enough finishes after the live run"
expect_err_contains "being applied" "the waiting runner said what it waits for"
wait "$apid"
expect_eq "$?" 0 "the first runner completed"
expect_eq "$(psql_q o "select string_agg(who, ',' order by who) from own_log")" "after,slow" \
	"every migration ran exactly once"
expect_eq "$(psql_q o "select count(*) from public.schema_version where state = 'applied'")" 3 \
	"three applied rows"
expect_eq "$(psql_q o "select count(*) from public.schema_version where owner is not null or owner_seen is not null")" 0 \
	"no owner left on applied rows"

# --- concurrent first runs create the version table once ----------------------
db_create c
export DATABASE_URL=$(db_url c)
pids=()
for k in $(seq 1 8); do
	"$NMIG" --dir "$mig" upgrade 20261201000001 --no-lock \
		>"$DB_TMP/c$k.out" 2>"$DB_TMP/c$k.err" </dev/null &
	pids+=($!)
done
bad=0
for k in "${!pids[@]}"; do
	wait "${pids[$k]}" || { bad=$((bad + 1)); sed 's/^/  /' "$DB_TMP/c$((k + 1)).err" >&2; }
done
expect_eq "$bad" 0 "8 concurrent first runs without the lock all exit 0"
expect_eq "$(psql_q c "select count(*) from public.schema_version")" 1 "one version row"
canary_check "concurrent first runs" "$DB_TMP"/c*.out "$DB_TMP"/c*.err || true

# --- a typo in schema = is refused --------------------------------------------
cat >"$dir/nmig.conf" <<'EOF'
dir = migrations
schema = apps
EOF
export DATABASE_URL=$(db_url o)
before=$(psql_q o "select count(*) from pg_catalog.pg_namespace")
run_nmig --config "$dir/nmig.conf" upgrade head
expect_rc 7 "a configured version table that does not exist while another holds the history: refused"
expect_err_contains "apps.schema_version does not exist, but schema_version holds this history" \
	"the refusal names both tables"
expect_err_contains "nmig.conf" "the hint points at nmig.conf"
expect_eq "$(psql_q o "select count(*) from pg_catalog.pg_namespace")" "$before" "no schema was created"
expect_eq "$(psql_q o "select to_regclass('apps.schema_version') is null")" t "no table was created"

# Another project's version table (none of our revisions) is no reason to refuse.
db_create p
export DATABASE_URL=$(db_url p)
psql_q p "create table public.schema_version (revision text primary key, parents text[] not null, checksum text not null, nmig_version text not null, message text, down_checksum text, state text, applied_at timestamptz, applied_by text, execution_ms bigint, error text); insert into public.schema_version values ('999_other', '{}', 'x', '0.1.0')" >/dev/null
run_nmig --config "$dir/nmig.conf" upgrade 20261201000001
expect_rc 0 "another history's version table does not block a new one"
expect_eq "$(psql_q p "select count(*) from apps.schema_version")" 1 "the configured table was created"

# --- a failed CREATE INDEX CONCURRENTLY names the INVALID index it leaves -----
db_create i
export DATABASE_URL=$(db_url i)
imig=$dir/cic
mkdir -p "$imig"
cat >"$imig/20261201000001_dups.up.sql" <<'EOF'
-- nmig:parents base
CREATE TABLE own_dup (v integer);
INSERT INTO own_dup VALUES (1), (1);
EOF
cat >"$imig/20261201000002_uniq.up.sql" <<'EOF'
-- nmig:parents 20261201000001
-- nmig:transaction off
CREATE UNIQUE INDEX CONCURRENTLY own_dup_v ON own_dup (v);
EOF
# An INVALID index left earlier by something else is not this build's.
psql_q i "create table other_dup (v int); insert into other_dup values (1), (1)" >/dev/null
psql -X -q -d "$(db_name i)" -c "create unique index concurrently other_dup_v on other_dup (v)" >/dev/null 2>&1
run_nmig --dir "$imig" upgrade head
expect_rc 6 "a failing CREATE INDEX CONCURRENTLY fails the run"
expect_err_lacks "other_dup_v" "an unrelated INVALID index is not named"
expect_err_contains "left the INVALID index public.own_dup_v" "the error names the INVALID index left behind"
expect_err_contains "DROP INDEX CONCURRENTLY IF EXISTS public.own_dup_v;" "with the statement that drops it"
expect_eq "$(psql_q i "select count(*) from pg_catalog.pg_index where not indisvalid")" 2 "the index is there, invalid (beside the unrelated one)"

db_finish
