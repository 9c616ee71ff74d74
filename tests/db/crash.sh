#!/usr/bin/env bash
# crash.sh: the batched commit is crash-consistent. A private cluster with
# PostgreSQL's durable defaults (fsync, synchronous_commit on) is crashed
# (pg_ctl stop -m immediate: shared memory, and the WAL not yet flushed, are
# gone) while nmig applies a batch of 200 migrations, whose commits are all
# asynchronous but the last. After a restart, every version row has its
# migration's change and every change has its row: whole migrations may be
# lost, never half of one. A re-run then completes.
set -u
. "$(dirname "$0")/../db_lib.sh"
db_init

N=200
# Under /tmp: the postgres user must reach it (pg_tmp.sh says so otherwise).
pgdir=$(mktemp -d "${TMPDIR:-/tmp}/nmig-crash.XXXXXX")
chmod 755 "$pgdir"
PG_TMP_DURABLE=1 bash "$NMIG_SOURCE_DIR/tests/pg_tmp.sh" start "$pgdir" >/dev/null ||
	{ fail "cannot start a private durable cluster"; db_finish; }
# shellcheck disable=SC1091
. "$pgdir/env"
private_cleanup() {
	db_cleanup
	bash "$NMIG_SOURCE_DIR/tests/pg_tmp.sh" stop "$pgdir" >/dev/null 2>&1 || true
}
trap private_cleanup EXIT

expect_eq "$(psql -X -A -t -d postgres -c 'show fsync')" on "the private cluster has fsync on"

db_create c
DATABASE_URL=$(db_url c)
export DATABASE_URL
dir=$(project_dir crash)
mig=$dir/migrations
mkdir -p "$mig"
prev=base
for i in $(seq -w 1 $N); do
	printf -- '-- nmig:parents %s\nCREATE TABLE crash_%s (id integer);\nSELECT pg_catalog.pg_sleep(0.02);\n' \
		"$prev" "$i" >"$mig/0${i}_c$i.up.sql"
	prev=0$i
done

"$NMIG" --dir "$mig" upgrade head >"$DB_TMP/out" 2>"$DB_TMP/err" </dev/null &
npid=$!
# Crash once some migrations have run (their tables exist, uncommitted or not).
for _ in $(seq 1 200); do
	[ -n "$(psql_q c "select 1 from pg_catalog.pg_stat_activity where datname = '$(db_name c)' and wait_event = 'PgSleep'")" ] && break
	sleep 0.05
done
sleep 1.5
as_pg_ctl() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
as_pg_ctl "$NMIG_PG_BIN/pg_ctl" -D "$NMIG_PG_DATA" -m immediate -w stop >/dev/null 2>&1
wait "$npid"
rc=$?
expect_ne "$rc" 0 "nmig fails when the server crashes under it"
canary_check "nmig (server crashed)" "$DB_TMP/out" "$DB_TMP/err" || true

# After an immediate stop the old server's processes may take a moment to
# go: try a few times, and show the server's log if it never comes back.
restarted=0
for _ in 1 2 3 4 5; do
	if PG_TMP_DURABLE=1 bash "$NMIG_SOURCE_DIR/tests/pg_tmp.sh" start "$pgdir" >/dev/null 2>&1; then
		restarted=1
		break
	fi
	sleep 1
done
if [ "$restarted" != 1 ]; then
	fail "cannot restart the private cluster"
	tail -n 20 "$pgdir/data/server.log" "$pgdir/pg_ctl.log" >&2 2>/dev/null
	db_finish
fi
# shellcheck disable=SC1091
. "$pgdir/env"
DATABASE_URL=$(db_url c)

rows=$(psql_q c "select count(*) from public.schema_version")
tables=$(psql_q c "select count(*) from pg_catalog.pg_class where relname like 'crash\\_%' and relkind = 'r'")
echo "note: after the crash: $rows version rows, $tables tables (of $N)"
expect_true "the crash hit the middle of the batch (0 < $rows < $N)" test "$rows" -gt 0 -a "$rows" -lt "$N"
expect_eq "$(psql_q c "select count(*) from public.schema_version v where pg_catalog.to_regclass('public.crash_' || pg_catalog.substr(v.revision, 2)) is null")" 0 \
	"every version row has its migration's table"
expect_eq "$(psql_q c "select count(*) from pg_catalog.pg_class c where c.relname like 'crash\\_%' and c.relkind = 'r' and not exists (select from public.schema_version v where v.revision = '0' || pg_catalog.substr(c.relname, 7))")" 0 \
	"every migration's table has its version row"
expect_eq "$rows" "$tables" "rows and tables agree"

run_nmig --dir "$mig" upgrade head
expect_rc 0 "a re-run after the restart completes"
expect_eq "$(psql_q c "select count(*) from public.schema_version")" "$N" "all $N applied"

db_finish
