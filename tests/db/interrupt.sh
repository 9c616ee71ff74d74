#!/usr/bin/env bash
# interrupt.sh: a stopped deploy stops. A history of 10 migrations where
# migration 6 sleeps: SIGINT, SIGTERM or SIGHUP to nmig while migration 6
# runs cancels it on the server, nothing after it runs (checked again
# seconds later), nmig reports what committed and what did not, even with
# stdout to a file, and exits 128 + the signal number. kill -9 of nmig: the
# server notices the client is gone (client_connection_check_interval) and
# stops the batch; the figure is printed. A non-transactional migration
# interrupted is left dirty with no live owner, so repair works at once.
set -u
. "$(dirname "$0")/../db_lib.sh"
db_init

SLEEP=4

db_create s
DATABASE_URL=$(db_url s)
export DATABASE_URL
dir=$(project_dir interrupt)
mig=$dir/migrations
mkdir -p "$mig"

prev=base
for i in 01 02 03 04 05 06 07 08 09 10; do
	{
		echo "-- nmig:parents $prev"
		echo "-- nmig:message step $i"
		if [ "$i" = 06 ]; then
			echo "SELECT pg_catalog.pg_sleep($SLEEP);"
		fi
		echo "CREATE TABLE intr_$i (id integer);"
	} >"$mig/202612010000${i}_step_$i.up.sql"
	echo "DROP TABLE intr_$i;" >"$mig/202612010000${i}_step_$i.down.sql"
	prev=202612010000$i
done

applied_count() {
	psql_q s "select count(*) from public.schema_version"
}

tables_count() {
	psql_q s "select count(*) from pg_catalog.pg_class where relname like 'intr\\_%' and relkind = 'r'"
}

# sleeping_backend: the pid of nmig's backend sleeping in pg_sleep, or "".
sleeping_backend() {
	psql_q s "select pid from pg_catalog.pg_stat_activity where datname = '$(db_name s)' and application_name = 'nmig' and wait_event = 'PgSleep'"
}

# start_upgrade: nmig upgrade head in the background, stdout and stderr to
# files (not a terminal); waits until migration 6 sleeps. Sets NPID, BPID.
start_upgrade() {
	"$NMIG" --dir "$mig" "$@" >"$DB_TMP/out" 2>"$DB_TMP/err" </dev/null &
	NPID=$!
	BPID=""
	for _ in $(seq 1 100); do
		BPID=$(sleeping_backend)
		[ -n "$BPID" ] && break
		sleep 0.1
	done
}

# finish_upgrade: wait for nmig, set rc/out/err as run_nmig does.
finish_upgrade() {
	wait "$NPID"
	rc=$?
	out=$(cat "$DB_TMP/out")
	err=$(cat "$DB_TMP/err")
	canary_check "nmig (interrupted)" "$DB_TMP/out" "$DB_TMP/err" || true
}

reset_db() {
	psql_q s "drop table if exists public.schema_version; $(for i in 01 02 03 04 05 06 07 08 09 10; do printf 'drop table if exists intr_%s; ' $i; done)" >/dev/null
}

for sig in INT TERM HUP; do
	reset_db
	case $sig in INT) code=130 ;; TERM) code=143 ;; HUP) code=129 ;; esac
	start_upgrade upgrade head
	expect_ne "$BPID" "" "SIG$sig: migration 6 is running (its backend sleeps)"
	kill -s "$sig" "$NPID"
	finish_upgrade
	expect_rc "$code" "SIG$sig: nmig exits 128 + the signal number"
	expect_err_contains "interrupted by SIG$sig during migration 20261201000006" \
		"SIG$sig: the error names the cancelled migration"
	expect_err_contains "rolled back" "SIG$sig: says it was rolled back"
	for i in 01 02 03 04 05; do
		expect_out_contains "applied 202612010000$i" "SIG$sig: stdout (a file) reports migration $i committed"
	done
	expect_out_lacks "applied 20261201000006" "SIG$sig: migration 6 not reported applied"
	expect_out_contains "not applied (5): 20261201000006, 20261201000007, 20261201000008, 20261201000009, 20261201000010" \
		"SIG$sig: the report lists what did not run"
	expect_eq "$(applied_count)" 5 "SIG$sig: 5 version rows right after nmig exits"
	# The batch must not go on without nmig: look again after the sleep.
	sleep $((SLEEP + 1))
	expect_eq "$(applied_count)" 5 "SIG$sig: still 5 version rows $((SLEEP + 1)) s later"
	expect_eq "$(tables_count)" 5 "SIG$sig: migrations 6-10 made no table"
	expect_eq "$(psql_q s "select count(*) from pg_catalog.pg_stat_activity where datname = '$(db_name s)' and application_name = 'nmig'")" 0 \
		"SIG$sig: no nmig session is left on the server"
done

run_nmig --dir "$mig" upgrade head
expect_rc 0 "a re-run after the interruption completes"
expect_out_contains "applied 20261201000006" "the re-run applies migration 6"
expect_eq "$(applied_count)" 10 "all 10 applied after the re-run"

# --- kill -9: the server must notice ------------------------------------------
reset_db
start_upgrade upgrade head
expect_ne "$BPID" "" "kill -9: migration 6 is running"
t0=$(date +%s%N)
kill -9 "$NPID"
wait "$NPID" 2>/dev/null
gone=""
for _ in $(seq 1 200); do
	if [ -z "$(psql_q s "select pid from pg_catalog.pg_stat_activity where pid = $BPID")" ]; then
		gone=$(( ($(date +%s%N) - t0) / 1000000 ))
		break
	fi
	sleep 0.05
done
expect_ne "$gone" "" "kill -9: the server ends the session of a killed nmig"
echo "figure: after kill -9 the server went on for ${gone:-?} ms (migration 6 sleeps $SLEEP s; PostgreSQL $(psql_q s 'show server_version'))"
sleep $((SLEEP + 1))
expect_eq "$(applied_count)" 5 "kill -9: the batch stopped at migration 6 (5 rows, $((SLEEP + 1)) s later)"
expect_eq "$(tables_count)" 5 "kill -9: migrations 6-10 made no table"

# --- SIGTERM figure: how long the server goes on ------------------------------
reset_db
start_upgrade upgrade head
t0=$(date +%s%N)
kill -TERM "$NPID"
gone=""
for _ in $(seq 1 200); do
	if [ -z "$(psql_q s "select pid from pg_catalog.pg_stat_activity where pid = $BPID and state = 'active'")" ]; then
		gone=$(( ($(date +%s%N) - t0) / 1000000 ))
		break
	fi
	sleep 0.02
done
finish_upgrade
expect_rc 143 "SIGTERM (figure run): exit 143"
echo "figure: after SIGTERM the server went on for ${gone:-?} ms"

# --- a non-transactional migration interrupted ---------------------------------
reset_db
rm -f "$mig"/2026120100000[7-9]_* "$mig"/20261201000010_*
cat >"$mig/20261201000006_step_06.up.sql" <<EOF
-- nmig:parents 20261201000005
-- nmig:message step 06
-- nmig:transaction off
CREATE TABLE intr_06 (id integer);
SELECT pg_catalog.pg_sleep($SLEEP);
CREATE INDEX CONCURRENTLY intr_06_id ON intr_06 (id);
EOF
start_upgrade upgrade head
expect_ne "$BPID" "" "non-transactional: its sleep runs"
kill -TERM "$NPID"
finish_upgrade
expect_rc 143 "non-transactional: SIGTERM exits 143"
expect_err_contains "left dirty" "non-transactional: says it is left dirty"
expect_err_contains "nmig repair" "non-transactional: hints at repair"
expect_eq "$(psql_q s "select state from public.schema_version where revision = '20261201000006'")" dirty \
	"non-transactional: its row is dirty"
run_nmig --dir "$mig" current
expect_rc 0 "non-transactional: current works"
expect_out_contains "pending: 0, drift: 0, dirty: 1, unknown: 0" \
	"non-transactional: current counts the dirty revision as dirty, not also as pending"
expect_out_contains "dirty: 20261201000006 (did not finish" "non-transactional: current says it did not finish"
run_nmig --dir "$mig" current --verbose
expect_out_contains "applied (5):" "non-transactional: current -v lists 5 applied (the dirty one apart)"
run_nmig --dir "$mig" repair
expect_rc 7 "non-transactional: repair without an option refuses while a row is dirty"
expect_err_contains "revision '20261201000006' is dirty" "non-transactional: repair names the dirty row"
expect_err_contains "--mark-rolled-back 20261201000006" "non-transactional: repair names the options"
run_nmig --dir "$mig" upgrade head
expect_rc 7 "non-transactional: the next run refuses the dead dirty row (not 'being applied')"
expect_err_lacks "being applied" "non-transactional: a dead owner is not reported as running"
psql_q s "drop table intr_06" >/dev/null
run_nmig --dir "$mig" repair --mark-rolled-back 20261201000006
expect_rc 0 "non-transactional: repair works at once (the owner is gone)"
run_nmig --dir "$mig" upgrade head
expect_rc 0 "non-transactional: the re-run completes"

db_finish
