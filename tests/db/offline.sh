#!/usr/bin/env bash
# Database test: offline SQL (upgrade / downgrade / stamp --sql). For each
# case the online command runs on database A and the script, run with
# `psql -X -v ON_ERROR_STOP=1 -f`, on database B in the same start state;
# then the version rows (every column but applied_at, applied_by and
# execution_ms, whose presence is compared) and the schema (pg_dump
# --schema-only) of A and B must be the same. Cases: the example history
# (a branch, a merge, an index built outside a transaction) from base and
# from a middle revision, downgrade to a revision and to base, stamp from
# base and from the middle; the DAG fixture (two heads, a merge); the start
# taken from the plan cache, or base when there is no URL or the cache is
# off; hostile ids, messages and SQL in a custom version-table schema. The
# guards: a script run twice stops at its first guard and changes nothing;
# on a database in another state, without the version table, with a
# descendant the script does not know applied, under psql -1, while another
# session holds the migration lock, with an edited applied file, it stops
# cleanly; with the start guard cut out, the per-migration guard still
# stops it. The canary: no password and no local path in any script, and
# --sql never connects (an unreachable URL works).
set -u
. "$(dirname "$0")/../db_lib.sh"
db_init

VT=public.schema_version

# rows NAME [TABLE]: the version rows, without the columns that differ
# between runs (applied_at, applied_by; execution_ms only as present).
rows() {
	psql_q "$1" "select revision, parents, message, checksum, down_checksum, state, nmig_version, error, execution_ms is not null from ${2:-$VT} order by revision"
}

# same_state A B DESC [TABLE]: A and B hold the same rows and schema.
same_state() {
	local t=${4:-$VT}
	expect_eq "$(rows "$2" "$t")" "$(rows "$1" "$t")" "$3: same version rows"
	expect_eq "$(schema_dump "$2" "$t")" "$(schema_dump "$1" "$t")" "$3: same schema"
}

# snapshot NAME [TABLE]: rows and schema, to check that nothing changed.
snapshot() {
	rows "$1" "${2:-$VT}" 2>&1
	schema_dump "$1" "${2:-$VT}" 2>&1
}

# run_script NAME FILE [PSQL ARGS...]: run the script as a DBA would;
# sets $prc and the output files $DB_TMP/psql.out / psql.err.
run_script() {
	local name=$1 file=$2
	shift 2
	psql -X -v ON_ERROR_STOP=1 "$@" -d "$(db_name "$name")" -f "$file" \
		>"$DB_TMP/psql.out" 2>"$DB_TMP/psql.err"
	prc=$?
}

# expect_script_ok DESC / expect_script_fails DESC TEXT
expect_script_ok() {
	if [ "$prc" = 0 ]; then
		pass "$1 (psql exit 0)"
	else
		fail "$1: psql exited $prc"
		sed 's/^/  psql: /' "$DB_TMP/psql.err" | head -20 >&2
	fi
}

expect_script_fails() {
	if [ "$prc" != 0 ] && grep -qF -- "$2" "$DB_TMP/psql.err"; then
		pass "$1 (psql exit $prc)"
	else
		fail "$1: psql exited $prc; expected an error with '$2'"
		sed 's/^/  psql: /' "$DB_TMP/psql.err" | head -20 >&2
	fi
}

# sql_to FILE ARGS...: run nmig ARGS with -o FILE and expect success.
sql_to() {
	local file=$1
	shift
	run_nmig "$@" -o "$file"
	expect_rc 0 "nmig $* writes a script"
	expect_eq "$out" "" "nmig $*: nothing on stdout with -o"
	SCRIPTS+=("$file")
}

# online NAME ARGS...: run nmig ARGS online against database NAME.
online() {
	local name=$1
	shift
	DATABASE_URL=$(db_url "$name") run_nmig "$@"
	expect_rc 0 "online nmig $* on $name"
}

SCRIPTS=()

exdir=$(project_dir example)
cp -r "$NMIG_SOURCE_DIR/migrations" "$exdir/"
dag=$(project_dir dag)
cp -r "$NMIG_FIXTURES/db/dag/migrations" "$dag/"

R1=20261126090000 # create users
R2=20261126091000 # create tasks
R3=20261126092000 # users email index (outside a transaction)
R4=20261126093000 # merge
R5=20261126094000 # add task due date

cd "$exdir" || exit 1
unset DATABASE_URL

### upgrade head from base (no URL: the start is base)
db_create up_a
db_create up_b
# (db_lib exports libpq's PG* variables for psql: hide them from nmig)
NMIG_PREFIX="env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE" \
	sql_to "$DB_TMP/up_base.sql" upgrade head --sql
expect_err_contains "start base (no range given and no database named: 'DATABASE_URL' is not set)" \
	"the start and its reason are shown"
expect_true "the header names the start" \
	grep -qF -- "-- start: base (no range given and no database named: 'DATABASE_URL' is not set)" "$DB_TMP/up_base.sql"
expect_true "the header says how to run it" \
	grep -qF -- "psql -X -v ON_ERROR_STOP=1 -f" "$DB_TMP/up_base.sql"
expect_true "the script copies the index migration byte for byte" \
	grep -qF -- "$(sed -n '/^CREATE UNIQUE INDEX/,$p' migrations/${R3}_users_email_index.up.sql)" "$DB_TMP/up_base.sql"
online up_a upgrade head
run_script up_b "$DB_TMP/up_base.sql"
expect_script_ok "upgrade head script from base"
same_state up_a up_b "upgrade head from base"
expect_eq "$(applied_revs up_b | wc -l)" 5 "five revisions applied by the script"
expect_eq "$(psql_q up_b "select count(*) from pg_indexes where indexname = 'users_email_key'")" 1 \
	"the non-transactional index was built"

# The same script again: the start guard stops it, nothing changes.
before=$(snapshot up_b)
run_script up_b "$DB_TMP/up_base.sql"
expect_script_fails "the script run twice" \
	"nmig: the database is not in the state this script starts from: revision '$R1' is applied"
expect_true "the failure says what to do" grep -qF "nmig current" "$DB_TMP/psql.err"
expect_eq "$(snapshot up_b)" "$before" "running it twice changed nothing"

# On a database in another state: at R2 (rows present, tables present).
db_create other
online other upgrade "$R2"
before=$(snapshot other)
run_script other "$DB_TMP/up_base.sql"
expect_script_fails "an upgrade-from-base script on a database at $R2" "revision '$R1' is applied"
expect_eq "$(snapshot other)" "$before" "the database in another state is unchanged"

# psql -1 would wrap everything in one transaction: refused.
db_create single
run_script single "$DB_TMP/up_base.sql" -1
expect_script_fails "psql -1 (--single-transaction)" "cannot run inside a transaction block"
expect_eq "$(psql_q single "select pg_catalog.to_regclass('$VT') is null")" t \
	"under psql -1 nothing was created"

### upgrade from a middle revision: A and B at R2, then to head
db_create mid_a
db_create mid_b
online mid_a upgrade "$R2"
online mid_b upgrade "$R2"
sql_to "$DB_TMP/up_mid.sql" upgrade "$R2:head" --sql
expect_true "the header: start from the range" \
	grep -qF -- "-- start: $R2 (from the range given)" "$DB_TMP/up_mid.sql"
expect_true "no version-table creation mid-history" \
	bash -c "! grep -q 'CREATE TABLE IF NOT EXISTS' '$DB_TMP/up_mid.sql'"
online mid_a upgrade head
run_script mid_b "$DB_TMP/up_mid.sql"
expect_script_ok "upgrade $R2:head script"
same_state mid_a mid_b "upgrade from the middle"

# A mid-history script on a database without the version table.
db_create empty
run_script empty "$DB_TMP/up_mid.sql"
expect_script_fails "a mid-history script on an empty database" \
	"nmig: the version table 'public.schema_version' does not exist, but this script starts from $R2"
expect_eq "$(psql_q empty "select pg_catalog.to_regclass('$VT') is null")" t \
	"the empty database stays empty"

# Per-migration guards: with the start guard cut out, running the script
# on a database where R3 (a later migration) is already applied stops at
# R3's guard, after the earlier migrations committed.
awk '/^-- Start guard/ {skip = 1; next}
	skip && /^DO \$/ {inblock = 1}
	skip && inblock && /\$;$/ {skip = 0; inblock = 0; next}
	!skip {print}' "$DB_TMP/up_mid.sql" >"$DB_TMP/up_mid_noguard.sql"
expect_true "the start guard was cut out" \
	bash -c "! grep -q 'FULL JOIN' '$DB_TMP/up_mid_noguard.sql'"
db_create pm
online pm upgrade "$R2"
online pm upgrade "$R3"
run_script pm "$DB_TMP/up_mid_noguard.sql"
expect_script_fails "the per-migration guard of an applied revision" \
	"nmig: revision '$R3' is already recorded: this script assumes it is not"
expect_eq "$(applied_revs pm | tr '\n' ' ')" "$R1 $R2 $R3 " "the guard stopped before changing anything"

### downgrade to a revision, and to base, from head
db_create down_a
db_create down_b
online down_a upgrade head
online down_b upgrade head
sql_to "$DB_TMP/down_r1.sql" downgrade "head:$R1" --sql
expect_true "the header: 4 to revert, 1 outside a transaction" \
	grep -qF -- "-- migrations: 4 to revert (1 outside a transaction)" "$DB_TMP/down_r1.sql"
expect_true "down files named relative to the migrations directory" \
	grep -qF -- "-- file: ${R3}_users_email_index.down.sql" "$DB_TMP/down_r1.sql"
online down_a downgrade "$R1"
run_script down_b "$DB_TMP/down_r1.sql"
expect_script_ok "downgrade head:$R1 script"
same_state down_a down_b "downgrade to $R1"
expect_eq "$(applied_revs down_b)" "$R1" "only $R1 is left"

before=$(snapshot down_b)
run_script down_b "$DB_TMP/down_r1.sql"
expect_script_fails "the downgrade script run twice" "revision '$R2' is not applied"
expect_eq "$(snapshot down_b)" "$before" "the second downgrade run changed nothing"

sql_to "$DB_TMP/down_base.sql" downgrade "$R1:base" --sql
online down_a downgrade base
run_script down_b "$DB_TMP/down_base.sql"
expect_script_ok "downgrade $R1:base script"
same_state down_a down_b "downgrade to base"
expect_eq "$(rows down_b)" "" "no rows left"

# A downgrade whose target has a descendant the script does not revert.
db_create extra
online extra upgrade "$R4"
sql_to "$DB_TMP/down_r2.sql" downgrade "$R2:$R1" --sql
before=$(snapshot extra)
run_script extra "$DB_TMP/down_r2.sql"
expect_script_fails "a downgrade with another descendant applied" "revision '$R3' is applied"
expect_eq "$(snapshot extra)" "$before" "the database with the extra descendant is unchanged"

### stamp from base and from the middle
db_create st_a
db_create st_b
sql_to "$DB_TMP/stamp_base.sql" stamp "base:$R4" --sql
online st_a stamp "$R4"
run_script st_b "$DB_TMP/stamp_base.sql"
expect_script_ok "stamp base:$R4 script"
same_state st_a st_b "stamp from base"
expect_eq "$(applied_revs st_b | wc -l)" 4 "four rows stamped"

db_create st2_a
db_create st2_b
online st2_a upgrade "$R2"
online st2_b upgrade "$R2"
sql_to "$DB_TMP/stamp_mid.sql" stamp "$R2:$R3" --sql
expect_true "the stamp header counts rows" \
	grep -qF -- "-- rows: 1 inserted, 1 deleted; no migration SQL runs" "$DB_TMP/stamp_mid.sql"
online st2_a stamp "$R3"
run_script st2_b "$DB_TMP/stamp_mid.sql"
expect_script_ok "stamp $R2:$R3 script"
same_state st2_a st2_b "stamp from the middle"
before=$(snapshot st2_b)
run_script st2_b "$DB_TMP/stamp_mid.sql"
expect_script_fails "the stamp script run twice" "revision '$R2' is not applied"
expect_eq "$(snapshot st2_b)" "$before" "the second stamp run changed nothing"

# stamp --purge: from any state, dirty rows and rows without files go.
db_create pu_a
db_create pu_b
for n in pu_a pu_b; do
	online "$n" upgrade "$R2"
	psql_q "$n" "insert into $VT (revision, parents, message, checksum, state, nmig_version) values ('77770000000000', '{}', 'gone', 'x', 'applied', '0'), ('$R3', '{$R1}', 'half', 'y', 'dirty', '0')" >/dev/null
done
sql_to "$DB_TMP/stamp_purge.sql" stamp "$R4" --sql --purge
online pu_a stamp "$R4" --purge
run_script pu_b "$DB_TMP/stamp_purge.sql"
expect_script_ok "stamp --purge script"
same_state pu_a pu_b "stamp --purge from a state with unknown and dirty rows"

# Without --purge the start guard refuses a row without a file.
db_create unk
online unk upgrade "$R2"
psql_q unk "insert into $VT (revision, parents, message, checksum, state, nmig_version) values ('77770000000000', '{}', 'gone', 'x', 'applied', '0')" >/dev/null
run_script unk "$DB_TMP/up_mid.sql"
expect_script_fails "a row without a file" "revision '77770000000000' is recorded but has no migration file"

### the start from the plan cache
db_create ca_a
db_create ca_b
online ca_a upgrade "$R2"
online ca_b upgrade "$R2"
export DATABASE_URL
DATABASE_URL=$(db_url ca_b)
sql_to "$DB_TMP/cache.sql" upgrade head --sql
dbname=$(db_name ca_b)
expect_true "the start comes from the plan cache" \
	grep -qE -- "^-- start: $R2 \(last observed on postgres@127\.0\.0\.1:$PGPORT/$dbname at [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC, plan cache\)$" "$DB_TMP/cache.sql"
online ca_a upgrade head
run_script ca_b "$DB_TMP/cache.sql"
expect_script_ok "upgrade script from the observed state"
same_state ca_a ca_b "upgrade from the state the cache observed"
# The script did not update the cache; any online command does.
run_nmig current
expect_rc 0 "online current refreshes the observed state"
sql_to "$DB_TMP/cache_down.sql" downgrade base --sql
expect_true "the downgrade starts from the refreshed observation" \
	grep -qE -- "^-- start: $R5 \(last observed on " "$DB_TMP/cache_down.sql"
online ca_a downgrade base
run_script ca_b "$DB_TMP/cache_down.sql"
expect_script_ok "downgrade base script from the observed state"
same_state ca_a ca_b "downgrade from the state the cache observed"

# A URL nothing was observed on, and the cache turned off.
DATABASE_URL=$(db_url nothing_seen)
sql_to "$DB_TMP/unseen.sql" upgrade head --sql
expect_true "nothing observed: base, and why" \
	grep -qF -- "-- start: base (no range given and no state observed on postgres@127.0.0.1:$PGPORT/$(db_name nothing_seen))" "$DB_TMP/unseen.sql"
DATABASE_URL=$(db_url ca_b)
sql_to "$DB_TMP/nocache.sql" --no-cache upgrade head --sql
expect_true "--no-cache: base, and why" \
	grep -qF -- "-- start: base (no range given and the plan cache is off)" "$DB_TMP/nocache.sql"

# --sql never connects: a URL whose server does not exist still works.
DATABASE_URL="postgres://postgres:$NMIG_PG_PASSWORD@127.0.0.1:1/nowhere?sslmode=disable" \
	run_nmig upgrade "$R1:head" --sql
expect_rc 0 "an unreachable URL: the script is written anyway"
expect_out_contains "-- start: $R1 (from the range given)" "the script went to stdout"
unset DATABASE_URL

### drift: an applied file edited since; --allow-drift skips the check
drift=$(project_dir drift)
cp -r "$exdir/migrations" "$drift/"
db_create dr
online dr upgrade "$R2"
echo "-- edited after it was applied" >>"$drift/migrations/${R2}_create_tasks.up.sql"
cd "$drift" || exit 1
sql_to "$DB_TMP/drift.sql" upgrade "$R2:head" --sql
before=$(snapshot dr)
run_script dr "$DB_TMP/drift.sql"
expect_script_fails "an edited applied file" "revision '$R2' was edited after it was applied"
expect_eq "$(snapshot dr)" "$before" "drift: nothing changed"
sql_to "$DB_TMP/drift_ok.sql" upgrade "$R2:head" --sql --allow-drift
run_script dr "$DB_TMP/drift_ok.sql"
expect_script_ok "--allow-drift script"
expect_eq "$(applied_revs dr | wc -l)" 5 "--allow-drift: upgraded to head"
cd "$exdir" || exit 1

### the migration lock: held by another session, the script refuses
sql_to "$DB_TMP/lock.sql" upgrade head --sql
key=$(sed -n "s/.*pg_try_advisory_lock('\(-\{0,1\}[0-9]*\)'.*/\1/p" "$DB_TMP/lock.sql")
expect_ne "$key" "" "the script takes the migration lock"
db_create lk
# The holder keeps the session lock while idle (no open transaction, so
# that CREATE INDEX CONCURRENTLY in the script does not wait for it); it
# reads a fifo and ends when the fifo is closed.
mkfifo "$DB_TMP/hold"
psql -X -q -d "$(db_name lk)" <"$DB_TMP/hold" >/dev/null 2>&1 &
holder=$!
exec 9>"$DB_TMP/hold"
echo "select pg_advisory_lock($key);" >&9
for _ in $(seq 1 100); do
	n=$(psql_q lk "select count(*) from pg_locks where locktype = 'advisory' and granted")
	[ "$n" -ge 1 ] && break
	sleep 0.1
done
run_script lk "$DB_TMP/lock.sql"
expect_script_fails "another session holds the migration lock" "another nmig is migrating this database"
expect_eq "$(psql_q lk "select pg_catalog.to_regclass('$VT') is null")" t \
	"under the lock nothing was created"
# --no-lock (pooler hosts): no advisory lock; the guards still apply.
sql_to "$DB_TMP/nolock.sql" upgrade head --sql --no-lock
expect_true "--no-lock: no advisory lock in the script" \
	bash -c "! grep -q advisory '$DB_TMP/nolock.sql'"
run_script lk "$DB_TMP/nolock.sql"
expect_script_ok "--no-lock script while the lock is held"
expect_eq "$(applied_revs lk | wc -l)" 5 "--no-lock: upgraded to head"
exec 9>&-
wait "$holder" 2>/dev/null

### the DAG fixture: two heads, a merge
cd "$dag" || exit 1
db_create dag_a
db_create dag_b
sql_to "$DB_TMP/dag_heads.sql" upgrade heads --sql
online dag_a upgrade heads
run_script dag_b "$DB_TMP/dag_heads.sql"
expect_script_ok "DAG: upgrade heads from base"
same_state dag_a dag_b "DAG upgrade heads from base"
expect_true "the header names both heads" \
	grep -qE -- "^-- end:   (0999, 1005|1005, 0999)$" "$DB_TMP/dag_heads.sql"

sql_to "$DB_TMP/dag_down.sql" downgrade "heads:1001" --sql
online dag_a downgrade 1001
run_script dag_b "$DB_TMP/dag_down.sql"
expect_script_ok "DAG: downgrade heads:1001"
same_state dag_a dag_b "DAG downgrade to a branch revision"

db_create dm_a
db_create dm_b
online dm_a upgrade 1002
online dm_b upgrade 1002
sql_to "$DB_TMP/dag_mid.sql" upgrade "1002:heads" --sql
online dm_a upgrade heads
run_script dm_b "$DB_TMP/dag_mid.sql"
expect_script_ok "DAG: upgrade 1002:heads"
same_state dm_a dm_b "DAG upgrade from the middle"

db_create ds_a
db_create ds_b
online ds_a upgrade 1005
online ds_b upgrade 1005
sql_to "$DB_TMP/dag_stamp.sql" stamp "1005:1003" --sql
online ds_a stamp 1003
run_script ds_b "$DB_TMP/dag_stamp.sql"
expect_script_ok "DAG: stamp 1005:1003"
same_state ds_a ds_b "DAG stamp across branches"

### hostile ids, messages and SQL; a version table in its own schema
host=$(project_dir hostile)
mkdir -p "$host/migrations"
# shellcheck disable=SC2016 # a literal $ on purpose
printf 'schema = aud$it\ntable = "v"\n' >"$host/nmig.conf"
cat >"$host/migrations/0001_it's.up.sql" <<'EOF'
-- nmig:parents base
-- nmig:message it's a \ backslash, a $nmig$ tag, :foo and :'bar', café
CREATE TABLE "we'ird" (v text DEFAULT E'a\\b', w text DEFAULT ':foo');
DO $nmig$ BEGIN RAISE NOTICE 'dollar %', '$nmig1$'; END $nmig$;
-- a last line without a newline
EOF
printf 'DROP TABLE "we'"'"'ird";' >"$host/migrations/0001_it's.down.sql"
# an id with a quote, a dollar-quote tag and a backslash
# shellcheck disable=SC2016 # a literal $ on purpose
HID='0002'"'"'$nmig$\x'
cat >"$host/migrations/${HID}_second.up.sql" <<'EOF'
-- nmig:parents 0001
-- nmig:message second
-- nmig:transaction off
CREATE INDEX CONCURRENTLY weird_v ON "we'ird" (v)
EOF
echo 'DROP INDEX CONCURRENTLY weird_v;' >"$host/migrations/${HID}_second.down.sql"
cd "$host" || exit 1
# shellcheck disable=SC2016 # a literal $ on purpose
HT='"aud$it"."v"'
db_create ho_a
db_create ho_b
sql_to "$DB_TMP/hostile_up.sql" upgrade head --sql
online ho_a upgrade head
run_script ho_b "$DB_TMP/hostile_up.sql"
expect_script_ok "hostile names: upgrade"
same_state ho_a ho_b "hostile names: upgrade" "$HT"
expect_eq "$(psql_q ho_b "select message from $HT where revision = '0001'")" \
	"it's a \\ backslash, a \$nmig\$ tag, :foo and :'bar', café" "the message survived quoting"
expect_eq "$(psql_q ho_b "select revision from $HT where revision <> '0001'")" "$HID" \
	"the id survived quoting"
sql_to "$DB_TMP/hostile_down.sql" downgrade head:base --sql
online ho_a downgrade base
run_script ho_b "$DB_TMP/hostile_down.sql"
expect_script_ok "hostile names: downgrade"
same_state ho_a ho_b "hostile names: downgrade" "$HT"

### usage errors
cd "$exdir" || exit 1
run_nmig upgrade head -o "$DB_TMP/x.sql"
expect_rc 2 "-o without --sql"
run_nmig upgrade head --sql --dry-run
expect_rc 2 "--sql with --dry-run"
run_nmig downgrade "$R2:" --sql
expect_rc 2 "a downgrade range without an end"
expect_err_contains "has no end" "the missing end is named"
run_nmig --json upgrade head --sql
expect_rc 2 "--json without -o"
run_nmig --json upgrade "$R2:head" --sql -o "$DB_TMP/j.sql"
expect_rc 0 "--json with -o"
expect_out_matches '^\{"sql":"[^"]*j\.sql","command":"upgrade","start":\["'"$R2"'"\],.*"migrations":\[\{"revision":"'"$R3"'","message":"users email index","transactional":false\}' \
	"the JSON summary"
SCRIPTS+=("$DB_TMP/j.sql")
run_nmig downgrade "$R5:$R1" --sql -o "$DB_TMP/nodir/x.sql"
expect_rc 1 "an unwritable output file"
expect_err_contains "cannot write" "the file error is named"

### the canary: no password, no local path in any script
for f in "${SCRIPTS[@]}"; do
	if grep -q canaryPW "$f"; then
		fail "the password is in $(basename "$f")"
	fi
	if grep -qF -e "$DB_TMP" -e "$NMIG_SOURCE_DIR" "$f"; then
		fail "a local path is in $(basename "$f")"
		grep -nF -e "$DB_TMP" -e "$NMIG_SOURCE_DIR" "$f" | head -3 >&2
	fi
done
pass "no password and no local path in ${#SCRIPTS[@]} scripts"

db_finish
