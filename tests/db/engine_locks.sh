#!/usr/bin/env bash
# Database test: locks. A migration that needs a table another session
# holds hits --lock-timeout, is rolled back and retried with backoff until
# the lock is released (success); with --lock-retries 0 it fails with exit
# 6 and SQLSTATE 55P03, earlier migrations committed. A held migration
# lock (the session advisory lock) makes nmig wait --lock-wait, then exit
# 8 naming the holder. A batch of N transactional migrations costs the
# same number of round trips whatever N is.
. "$(dirname "$0")/../db_lib.sh"
db_init

proj=$(project_dir proj)
m=$proj/migrations
mkdir -p "$m"
cd "$proj" || exit 1

cat >"$m/0001_accounts.up.sql" <<'EOF'
-- nmig:parents base
CREATE TABLE accounts (id int PRIMARY KEY);
EOF
echo "DROP TABLE accounts;" >"$m/0001_accounts.down.sql"
cat >"$m/0002_side.up.sql" <<'EOF'
-- nmig:parents 0001
CREATE TABLE side (id int);
EOF
echo "DROP TABLE side;" >"$m/0002_side.down.sql"
cat >"$m/0003_accounts_name.up.sql" <<'EOF'
-- nmig:parents 0002
ALTER TABLE accounts ADD COLUMN name text;
EOF
echo "ALTER TABLE accounts DROP COLUMN name;" >"$m/0003_accounts_name.down.sql"

db_create locks
export DATABASE_URL=$(db_url locks)
run_nmig upgrade 0001
expect_rc 0 "setup"

# hold_lock SECONDS: lock accounts from another session for SECONDS, in the
# background; returns once the lock is held.
hold_lock() {
	psql -X -q -d "$(db_name locks)" -c "begin; lock table accounts in access exclusive mode; select pg_sleep($1); commit;" \
		>/dev/null 2>&1 &
	holder=$!
	for _ in $(seq 1 50); do
		if [ "$(psql_q locks "select count(*) from pg_locks l join pg_class c on c.oid = l.relation where c.relname = 'accounts' and l.mode = 'AccessExclusiveLock' and l.granted")" = 1 ]; then
			return 0
		fi
		sleep 0.1
	done
	fail "the background session did not take the lock"
}

hold_lock 3
start=$(date +%s%N)
run_nmig upgrade --lock-timeout 200ms --lock-retries 10
elapsed=$((($(date +%s%N) - start) / 1000000))
wait "$holder"
expect_rc 0 "the migration succeeds once the lock is released"
expect_err_contains "warning: migration 0003 hit a lock timeout; retrying" "retries are reported"
expect_out_contains "applied 0003" "the migration ran"
expect_true "it waited for the lock ($elapsed ms)" test "$elapsed" -ge 1500
expect_eq "$(applied_revs locks | tr '\n' ' ')" "0001 0002 0003 " "all applied"

run_nmig downgrade 0001
expect_rc 0 "back to 0001"

hold_lock 3
run_nmig upgrade --lock-timeout 200ms --lock-retries 0
expect_rc 6 "no retries: the lock timeout fails the run"
expect_err_contains "SQLSTATE 55P03" "SQLSTATE 55P03"
expect_err_contains "lock timeout" "the server's message"
expect_err_contains "long-running transactions" "the hint"
expect_eq "$(applied_revs locks | tr '\n' ' ')" "0001 0002 " "the migration before it committed"
wait "$holder"

### the migration lock: a second nmig waits --lock-wait, then exits 8
# nmig #1 holds the migration lock while its migration waits for the table
# lock a psql session holds; nmig #2 cannot start meanwhile.
hold_lock 4
"$NMIG" upgrade --lock-timeout 200ms --lock-retries 20 >"$DB_TMP/first.out" 2>"$DB_TMP/first.err" &
first=$!
sleep 1
run_nmig upgrade --lock-wait 500ms
expect_rc 8 "a second nmig gives up after --lock-wait"
expect_err_contains "error: another nmig is migrating this database" "the lock message"
expect_err_matches "waited [0-9.]+ s for the lock" "how long it waited"
expect_err_contains "application 'nmig'" "the holder is named"
wait "$first"
expect_eq "$?" 0 "the first nmig finished"
wait "$holder"
canary_check "first nmig" "$DB_TMP/first.out" "$DB_TMP/first.err"
expect_eq "$(applied_revs locks | tr '\n' ' ')" "0001 0002 0003 " "the first run applied everything"

### round trips do not grow with the number of migrations
# trips NAME N: upgrade N new transactional migrations; sets $rt.
trips() {
	local name=$1 n=$2 i dir
	dir=$(project_dir "$name")
	mkdir -p "$dir/migrations"
	for i in $(seq 1 "$n"); do
		printf -- '-- nmig:parents %s\nCREATE TABLE t%d (id int);\n' \
			"$([ "$i" = 1 ] && echo base || printf '%04d' $((i - 1)))" "$i" \
			>"$dir/migrations/$(printf '%04d' "$i")_t$i.up.sql"
	done
	db_create "$name"
	DATABASE_URL=$(db_url "$name") NMIG_TRACE_ROUNDTRIPS=1 run_nmig --dir "$dir/migrations" upgrade
	expect_rc 0 "upgrade of $n migrations"
	expect_eq "$(applied_revs "$name" | wc -l)" "$n" "$n migrations applied"
	expect_err_contains "connect: 1 attempt" "the trace counts connection attempts"
	rt=$(sed -n 's/^round trips: //p' "$DB_TMP/err")
}
trips rt5 5
rt5=$rt
trips rt60 60
expect_eq "$rt" "$rt5" "60 migrations take as many round trips as 5 ($rt5)"
expect_eq "$rt" 2 "an upgrade costs 2 round trips: the lock and the state together, then the batch"
DATABASE_URL=$(db_url rt60) NMIG_TRACE_ROUNDTRIPS=1 run_nmig --dir "$(project_dir rt60)/migrations" upgrade
expect_out_contains "nothing to do" "a no-op upgrade"
expect_eq "$(sed -n 's/^round trips: //p' "$DB_TMP/err")" 1 "a no-op upgrade costs 1 round trip"
# The backend ends just after nmig does: give it a moment, not a deadline.
for _ in $(seq 1 50); do
	left=$(psql_q rt60 "select count(*) from pg_catalog.pg_locks where locktype = 'advisory'")
	[ "$left" = 0 ] && break
	sleep 0.1
done
expect_eq "$left" 0 "no advisory lock is left after the runs (the session end released it)"

db_finish
