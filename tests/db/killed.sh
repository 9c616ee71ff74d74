#!/usr/bin/env bash
# killed.sh: the migrating backend is killed (pg_terminate_backend) while a
# migration sleeps between two DDL statements. A transactional migration is
# rolled back by the server: nmig says the connection was lost, nothing of
# the migration is left, the earlier migrations of the same run stay
# committed, and a re-run completes. A non-transactional migration is left
# dirty: the next run refuses (exit 7) until `nmig repair` records what the
# user did, after which a re-run completes.
set -u
. "$(dirname "$0")/../db_lib.sh"
db_init

SLEEP=5

db_create k
DATABASE_URL=$(db_url k)
export DATABASE_URL
dir=$(project_dir killed)
mig=$dir/migrations
mkdir -p "$mig"

cat >"$mig/20261201000001_first.up.sql" <<'EOF'
-- nmig:parents base
-- nmig:message first
CREATE TABLE killed_a (id integer PRIMARY KEY);
EOF
echo 'DROP TABLE killed_a;' >"$mig/20261201000001_first.down.sql"
cat >"$mig/20261201000002_sleepy.up.sql" <<EOF
-- nmig:parents 20261201000001
-- nmig:message sleepy
CREATE TABLE killed_b (id integer PRIMARY KEY);
SELECT pg_catalog.pg_sleep($SLEEP);
CREATE TABLE killed_c (id integer PRIMARY KEY);
EOF
printf 'DROP TABLE killed_c;\nDROP TABLE killed_b;\n' \
	>"$mig/20261201000002_sleepy.down.sql"

# table_exists NAME: "t" or "f".
table_exists() {
	psql_q k "select pg_catalog.to_regclass('public.$1') is not null"
}

# version_row REV: "state" of the revision's row, or "none".
version_row() {
	local s
	s=$(psql_q k "select state from public.schema_version where revision = '$1'")
	echo "${s:-none}"
}

# upgrade_and_kill: start `nmig upgrade head` in the background, wait until
# its backend sleeps in pg_sleep, terminate that backend, wait for nmig.
# Sets rc and the output files like run_nmig; KILLED=1 when a backend was
# terminated.
# shellcheck disable=SC2034 # rc, out, err are read by db_lib's expect_*
upgrade_and_kill() {
	local pid bpid="" t
	KILLED=0
	timeout 120 "$NMIG" --dir "$mig" upgrade head \
		>"$DB_TMP/out" 2>"$DB_TMP/err" </dev/null &
	pid=$!
	for _ in $(seq 1 100); do
		bpid=$(psql_q k "select pid from pg_catalog.pg_stat_activity where datname = '$(db_name k)' and application_name = 'nmig' and state = 'active' and wait_event = 'PgSleep'")
		[ -n "$bpid" ] && break
		sleep 0.1
	done
	if [ -n "$bpid" ]; then
		t=$(psql_q k "select pg_catalog.pg_terminate_backend($bpid)")
		[ "$t" = t ] && KILLED=1
	fi
	wait "$pid"
	rc=$?
	out=$(cat "$DB_TMP/out")
	err=$(cat "$DB_TMP/err")
	canary_check "nmig upgrade (killed)" "$DB_TMP/out" "$DB_TMP/err" || true
}

# --- a transactional migration ---------------------------------------------

upgrade_and_kill
expect_eq "$KILLED" 1 "transactional: found nmig's backend in pg_sleep and terminated it"
expect_rc 6 "transactional: nmig fails when its connection is killed"
expect_err_contains "connection lost" "transactional: says the connection was lost"
expect_err_contains "20261201000002" "transactional: names the migration in progress"
expect_err_contains "rolled back" "transactional: says the server rolled it back"
expect_eq "$(version_row 20261201000001)" applied \
	"transactional: the earlier migration of the run is committed"
expect_eq "$(table_exists killed_a)" t \
	"transactional: the earlier migration's table exists"
expect_eq "$(table_exists killed_b)" f \
	"transactional: the killed migration's first DDL was rolled back"
expect_eq "$(table_exists killed_c)" f \
	"transactional: the killed migration's second DDL never ran"
expect_eq "$(version_row 20261201000002)" none \
	"transactional: no version row for the killed migration"

run_nmig --dir "$mig" upgrade head
expect_rc 0 "transactional: a re-run completes"
expect_out_contains "applied 20261201000002" "transactional: the re-run applies the killed migration"
expect_out_lacks "applied 20261201000001" "transactional: the re-run does not apply the committed one again"
expect_eq "$(version_row 20261201000002)" applied "transactional: the row is there after the re-run"
expect_eq "$(table_exists killed_b)$(table_exists killed_c)" tt \
	"transactional: both tables exist after the re-run"

# --- a non-transactional migration -------------------------------------------

cat >"$mig/20261201000003_sleepy_notx.up.sql" <<EOF
-- nmig:parents 20261201000002
-- nmig:message sleepy without transaction
-- nmig:transaction off
CREATE TABLE IF NOT EXISTS killed_d (id integer);
SELECT pg_catalog.pg_sleep($SLEEP);
CREATE INDEX CONCURRENTLY IF NOT EXISTS killed_d_id_idx ON killed_d (id);
EOF
printf 'DROP INDEX CONCURRENTLY IF EXISTS killed_d_id_idx;\nDROP TABLE IF EXISTS killed_d;\n' \
	>"$mig/20261201000003_sleepy_notx.down.sql"

upgrade_and_kill
expect_eq "$KILLED" 1 "non-transactional: found nmig's backend in pg_sleep and terminated it"
expect_rc 6 "non-transactional: nmig fails when its connection is killed"
expect_err_contains "connection lost" "non-transactional: says the connection was lost"
expect_err_contains "20261201000003" "non-transactional: names the migration in progress"
expect_err_contains "dirty" "non-transactional: says the migration is left dirty"
expect_eq "$(version_row 20261201000003)" dirty \
	"non-transactional: its version row is left dirty"
expect_eq "$(table_exists killed_d)" t \
	"non-transactional: the statement before the kill stays (autocommit)"
expect_eq "$(psql_q k "select pg_catalog.to_regclass('public.killed_d_id_idx') is not null")" f \
	"non-transactional: the statement after the kill never ran"

run_nmig --dir "$mig" upgrade head
expect_rc 7 "non-transactional: the next run refuses the dirty row"
expect_err_contains "20261201000003" "non-transactional: the refusal names the dirty revision"
expect_err_contains "nmig repair" "non-transactional: the refusal hints at nmig repair"
expect_eq "$(version_row 20261201000003)" dirty "non-transactional: the refused run changed nothing"

run_nmig --json --dir "$mig" current
expect_rc 0 "non-transactional: current reports (exit 0) with a dirty row"
expect_out_matches '"dirty": *\[ *"20261201000003"' "non-transactional: current --json lists the dirty revision"

run_nmig --dir "$mig" downgrade base
expect_rc 7 "non-transactional: downgrade refuses the dirty row too"

# The user undoes what ran, then tells nmig.
psql_q k "drop table killed_d" >/dev/null
run_nmig --dir "$mig" repair --mark-rolled-back 20261201000003
expect_rc 0 "non-transactional: repair --mark-rolled-back after undoing by hand"
expect_eq "$(version_row 20261201000003)" none "non-transactional: repair deleted the dirty row"

run_nmig --dir "$mig" upgrade head
expect_rc 0 "non-transactional: a re-run completes after repair"
expect_out_contains "applied 20261201000003" "non-transactional: the re-run applies it"
expect_eq "$(version_row 20261201000003)" applied "non-transactional: its row is applied"
expect_eq "$(psql_q k "select pg_catalog.to_regclass('public.killed_d_id_idx') is not null")" t \
	"non-transactional: the index exists after the re-run"
expect_eq "$(psql_q k "select count(*) from public.schema_version")" 3 \
	"three version rows in the end"

db_finish
