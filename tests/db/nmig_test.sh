#!/usr/bin/env bash
# Database test of `nmig test`: the example migrations pass on the
# temporary cluster nmig starts itself; the fixtures under
# tests/fixtures/nmigtest are each reported precisely (a down file that
# fails, one that leaves an object behind, one that changes column order,
# an irreversible revision, a syntax error, two heads, a prelude); the
# TEST_DATABASE_URL refusals (same database as DATABASE_URL, revisions
# recorded, not empty, production); the JUnit file is valid XML; and a
# SIGINT or SIGTERM in the middle of a run leaves no cluster directory and
# no server process behind. Every run's time is printed.
. "$(dirname "$0")/../db_lib.sh"
db_init

if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3 is needed to read the JUnit XML" >&2
	exit 77
fi

# The temporary clusters go to a short directory the postgres user can
# reach (nmig runs them as postgres when we are root), so that what is
# left behind can be seen.
CT=$(mktemp -d /tmp/nmig-ct.XXXXXX)
chmod 755 "$CT"
trap 'rm -rf "$CT"; db_cleanup' EXIT
export TMPDIR=$CT

cp -r "$NMIG_FIXTURES/nmigtest" "$DB_TMP/fx"
cp -r "$NMIG_SOURCE_DIR/migrations" "$DB_TMP/fx/example"
cd "$DB_TMP/fx" || exit 1

# elapsed T0: seconds since T0 (from `date +%s%N`), as 1.23.
elapsed() {
	local ms=$((($(date +%s%N) - $1) / 1000000))
	printf '%d.%02d' $((ms / 1000)) $((ms % 1000 / 10))
}

# t NAME ARGS...: run nmig ARGS, print how long it took.
t() {
	local name=$1 t0
	shift
	t0=$(date +%s%N)
	run_nmig "$@"
	echo "time: $name: $(elapsed "$t0") s (exit $rc)"
}

# no_cluster_left DESC: no directory and no server process remain.
no_cluster_left() {
	local left procs
	left=$(ls -A "$CT")
	procs=$(pgrep -f -- "$CT/nmig-test" || true)
	if [ -z "$left" ] && [ -z "$procs" ]; then
		pass "$1: no cluster directory or server left"
	else
		fail "$1: left behind: '$left' processes: '$procs'"
		pkill -QUIT -f -- "$CT/nmig-test" || true
		rm -rf "${CT:?}"/nmig-test-*
	fi
}

### the example migrations pass, with a valid JUnit file
t example --dir example test --junit "$DB_TMP/example.xml"
expect_rc 0 "example migrations pass"
expect_out_matches "^testing 5 revisions in 'example' on a temporary PostgreSQL [0-9.]+ cluster" "header names the temporary cluster"
expect_out_contains "ok   single head (20261126094000)" "single head"
expect_out_matches "^ok   full upgrade \(5 revisions, [0-9.]+ s\)$" "full upgrade"
expect_out_matches "^ok   full downgrade \(5 revisions, [0-9.]+ s\)$" "full downgrade"
expect_out_matches "^ok   second upgrade \(5 revisions, [0-9.]+ s\)$" "second upgrade"
expect_out_matches "^ok   stairway \(5 revisions, [0-9.]+ s\)$" "stairway"
expect_out_matches "^5 passed, 0 failed \([0-9.]+ s\)$" "summary line"
no_cluster_left "example"
python3 - "$DB_TMP/example.xml" <<'EOF' >"$DB_TMP/junit.check" 2>&1
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
assert root.get("tests") == "5" and root.get("failures") == "0", root.attrib
names = [c.get("name") for c in root.iter("testcase")]
assert names == ["single head", "full upgrade", "full downgrade",
                 "second upgrade", "stairway"], names
for c in root.iter("testcase"):
    assert float(c.get("time")) >= 0
    assert len(c) == 0, c.get("name")
EOF
expect_eq "$?" 0 "example JUnit file is valid XML with 5 passing test cases $(cat "$DB_TMP/junit.check")"

### a richer history: schemas, types, domains, views, functions, triggers,
### policies, sequences, partitions, a non-transactional revision, a merge
t ok --dir ok test
expect_rc 0 "rich fixture passes"
expect_out_matches "^ok   stairway \(5 revisions, [0-9.]+ s\)$" "rich fixture stairway"
t ok-base --dir ok test --base 0002
expect_rc 0 "rich fixture passes with --base 0002"
expect_out_matches "^ok   base \(2 revisions applied and kept: --base 0002, [0-9.]+ s\)$" "base line"
expect_out_matches "^ok   full upgrade \(3 revisions, [0-9.]+ s\)$" "the roundtrip covers the 3 revisions above the base"
t bad-base --dir ok test --base nope
expect_rc 4 "--base with an unknown revision"
no_cluster_left "ok"

### a down file that cannot run
t broken_down --dir broken_down test --junit "$DB_TMP/broken.xml"
expect_rc 1 "broken down file fails the run"
expect_out_matches "^FAIL full downgrade at 0002 \(add name\) \(1 of 3 reverted, [0-9.]+ s\)$" "full downgrade names the revision"
expect_out_contains "     migration 0002 (add name) failed: relation \"widget\" does not exist" "the server's message"
expect_out_contains "     --> broken_down/0002_add_name.down.sql:3:1" "file:line:col of the statement"
expect_out_contains "         3 | ALTER TABLE widget DROP COLUMN name;" "the source line"
expect_out_contains "     SQLSTATE 42P01" "SQLSTATE"
expect_out_matches "^ok   second upgrade \(1 revision, [0-9.]+ s\)$" "the run goes on: second upgrade from where it stopped"
expect_out_matches "^FAIL stairway at 0002 \(on a fresh database: 1 of 3 revisions fail, [0-9.]+ s\)$" "stairway on a fresh database names it too"
expect_out_contains "     0002 (add name): its down file fails right after its up file" "stairway says what failed"
expect_out_matches "^3 passed, 2 failed" "summary"
python3 - "$DB_TMP/broken.xml" <<'EOF' >"$DB_TMP/junit.check" 2>&1
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.get("failures") == "2", root.attrib
fails = {c.get("name"): c.find("failure") for c in root.iter("testcase")
         if c.find("failure") is not None}
assert sorted(fails) == ["full downgrade", "stairway"], sorted(fails)
f = fails["full downgrade"]
assert f.get("message").startswith("full downgrade at 0002 (add name)"), f.get("message")
assert "broken_down/0002_add_name.down.sql:3:1" in f.text, f.text
assert "SQLSTATE 42P01" in f.text, f.text
EOF
expect_eq "$?" 0 "JUnit file holds both failures with location and SQLSTATE $(cat "$DB_TMP/junit.check")"
no_cluster_left "broken_down"

### a down file that leaves an object behind
t leftover --dir leftover test
expect_rc 1 "leftover object fails the run"
expect_out_matches "^FAIL full downgrade \(2 revisions: the schema differs from the start in 1 place, [0-9.]+ s\)$" "full downgrade: schema differs"
expect_out_contains "     + function public.widget_count(): CREATE OR REPLACE FUNCTION public.widget_count() RETURNS bigint" "diff shows the function left behind"
expect_out_matches "^FAIL stairway at 0002 \(on a fresh database: 1 of 2 revisions fail" "stairway names the revision"
expect_out_contains "     0002 (count function): the schema after its down file differs from the schema before its up file" "stairway says what differs"
expect_out_matches "^ok   second upgrade" "second upgrade still compares equal"

### a down file that changes the column order
t column_order --dir column_order test
expect_rc 1 "column order change fails the run"
expect_out_matches "^ok   full downgrade \(2 revisions" "dropping the table hides it from the full downgrade"
expect_out_matches "^FAIL stairway at 0002 \(1 of 2 revisions fail" "the stairway catches it"
expect_out_contains "     ~ column public.t.b" "diff: column b moved"
expect_out_contains "         - #2 text" "diff: b was second"
expect_out_contains "         + #3 text" "diff: b is third"
expect_out_contains "     ~ column public.t.c" "diff: column c moved"
t column_order-base --dir column_order test --base 0001
expect_rc 1 "column order with the table kept"
expect_out_matches "^FAIL full downgrade \(1 revision: the schema differs from the start in 2 places" "full downgrade catches it above the base"
t column_order-ignored --dir column_order test --base 0001 --ignore-column-order
expect_rc 0 "--ignore-column-order accepts it"
no_cluster_left "column_order"

### an irreversible revision ends the descent with a note
t irreversible --dir irreversible test
expect_rc 0 "irreversible revision: the rest passes"
expect_err_contains "note: 1 revision has no down file (0002): the descent ends there; it and its ancestors stay applied and the roundtrip covers the 1 revision above" "note names the irreversible revision"
expect_out_matches "^ok   base \(2 revisions applied and kept: 1 irreversible, [0-9.]+ s\)$" "it and its parent are the base"
expect_out_matches "^ok   full upgrade \(1 revision, [0-9.]+ s\)$" "roundtrip over the revision above"

### bad files: exit 3 before any database
t syntax --dir syntax test --junit "$DB_TMP/syntax.xml"
expect_rc 3 "syntax error in a down file"
expect_err_contains "syntax/0002_add_name.down.sql:3:38" "file:line:col of the syntax error"
expect_out_lacks "testing" "nothing ran"
no_cluster_left "syntax (no cluster started)"
python3 - "$DB_TMP/syntax.xml" <<'EOF' >"$DB_TMP/junit.check" 2>&1
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.get("errors") == "1", root.attrib
e = root.find("testsuite/testcase/error")
assert "syntax/0002_add_name.down.sql:3:38" in e.get("message"), e.get("message")
EOF
expect_eq "$?" 0 "JUnit file for bad files is valid XML with the error $(cat "$DB_TMP/junit.check")"

### two heads
t multihead --dir multihead test
expect_rc 1 "two heads fail the single head check"
expect_out_contains "FAIL single head (2 heads)" "single head"
expect_out_contains "     0003 (c) is a head" "names the heads"
expect_out_matches "^ok   full upgrade \(3 revisions" "the rest runs over every head"

### a prelude
t prelude-missing --dir prelude/migrations test
expect_rc 1 "without its prelude the history fails"
expect_out_matches "^FAIL full upgrade at 0001 \(guard bookkeeping\) \(0 of 1 applied" "full upgrade fails at the trigger"
expect_out_contains "relation \"bookkeeping\" does not exist" "the reason"
expect_out_contains "skip full downgrade (not run: the full upgrade applied nothing)" "later checks not run, and said so"
expect_out_matches "^1 passed, 1 failed, 3 not run" "summary counts what did not run"
t prelude --dir prelude/migrations test --prelude prelude/prelude.sql
expect_rc 0 "with --prelude it passes"
expect_out_contains "ok   prelude ('prelude/prelude.sql'" "prelude line"
t prelude-bad --dir prelude/migrations test --prelude prelude/prelude_bad.sql
expect_rc 1 "a failing prelude"
expect_out_contains "FAIL prelude 'prelude/prelude_bad.sql'" "prelude fails"
expect_out_contains "     --> prelude/prelude_bad.sql:3:45" "prelude error location"
expect_out_contains "     SQLSTATE 42P01" "prelude SQLSTATE"
no_cluster_left "prelude"

### no server binaries
t no-bindir --dir example test --pg-bindir "$DB_TMP/nowhere"
expect_rc 5 "a cluster that cannot start is exit 5"
expect_err_contains "holds no PostgreSQL server binaries" "says why"

### production
NMIG_ENV=production t production --dir example test
expect_rc 10 "refused in production"
expect_err_contains "refusing to run 'nmig test' in production (NMIG_ENV is 'production')" "production message"
NODE_ENV=production t production-allowed --dir example test --allow-production
expect_rc 0 "--allow-production runs it"
no_cluster_left "production"

### TEST_DATABASE_URL
db_create scratch
export TEST_DATABASE_URL
TEST_DATABASE_URL=$(db_url scratch)
t url --dir example test
expect_rc 0 "TEST_DATABASE_URL: example passes"
expect_out_contains "on TEST_DATABASE_URL (postgres@127.0.0.1:$PGPORT/$(db_name scratch))" "header names the database, not the password"
expect_eq "$(applied_revs scratch | wc -l)" 5 "left at head"
no_cluster_left "TEST_DATABASE_URL (no cluster started)"
t url-again --dir example test
expect_rc 5 "TEST_DATABASE_URL with revisions recorded is refused"
expect_err_contains "the database of TEST_DATABASE_URL has 5 revisions recorded in 'public.schema_version'" "says why"

db_create scratch2
TEST_DATABASE_URL=$(db_url scratch2)
DATABASE_URL="postgres://postgres:$NMIG_PG_PASSWORD@127.0.0.1:$PGPORT/$(db_name scratch2)?sslmode=disable" \
	t url-same --dir example test
expect_rc 5 "TEST_DATABASE_URL naming DATABASE_URL's database is refused"
expect_err_contains "TEST_DATABASE_URL names the same database as DATABASE_URL" "says why"
psql_q scratch2 "create table foo (id integer)" >/dev/null
t url-nonempty --dir example test
expect_rc 5 "a non-empty TEST_DATABASE_URL is refused"
expect_err_contains "the database of TEST_DATABASE_URL is not empty (1 object)" "says why"
expect_err_contains "detail: table public.foo" "names what is there"
t url-nonempty-allowed --dir example test --allow-nonempty
expect_rc 0 "--allow-nonempty runs it"
expect_eq "$(psql_q scratch2 "select count(*) from foo")" 0 "the foreign table is untouched"

db_create scratch3
TEST_DATABASE_URL=$(db_url scratch3)
NMIG_ENV=production t url-production --dir example test
expect_rc 10 "TEST_DATABASE_URL in production is refused"
expect_eq "$(psql_q scratch3 "select count(*) from pg_class where relname = 'schema_version'")" 0 "nothing was done"
t url-leftover --dir leftover test
expect_rc 1 "leftover on TEST_DATABASE_URL"
expect_out_contains "     it runs on the database the full downgrade left: an object left behind there hides the revision that leaves it" "the stairway says it ran on what the downgrade left"
unset TEST_DATABASE_URL

### interruption: SIGINT and SIGTERM in the middle of a migration
mkdir -p slow
printf -- '-- nmig:parents base\nCREATE TABLE a (id integer);\n' >slow/0001_a.up.sql
printf 'DROP TABLE a;\n' >slow/0001_a.down.sql
printf -- '-- nmig:parents 0001\nSELECT pg_sleep(120);\n' >slow/0002_slow.up.sql
printf 'SELECT 1;\n' >slow/0002_slow.down.sql
for sig in INT TERM; do
	t0=$(date +%s%N)
	"$NMIG" --dir slow test >"$DB_TMP/slow.out" 2>"$DB_TMP/slow.err" &
	pid=$!
	# wait until the slow migration runs on the cluster's server
	for _ in $(seq 1 200); do
		if grep -q '^ok   single head' "$DB_TMP/slow.out" 2>/dev/null &&
			pgrep -f -- "$CT/nmig-test" >/dev/null; then
			break
		fi
		sleep 0.1
	done
	sleep 0.5
	kill -"$sig" "$pid"
	wait "$pid"
	rc=$?
	echo "time: interrupted by SIG$sig: $(elapsed "$t0") s (exit $rc)"
	want=$((128 + $(kill -l "$sig")))
	expect_eq "$rc" "$want" "SIG$sig: exit $want"
	if grep -q "skip full upgrade (interrupted after" "$DB_TMP/slow.out"; then
		pass "SIG$sig: the cancelled check is not reported as failed"
	else
		fail "SIG$sig: stdout: $(cat "$DB_TMP/slow.out")"
	fi
	if grep -q "interrupted (signal $(kill -l "$sig")): the scratch cluster is removed" "$DB_TMP/slow.err"; then
		pass "SIG$sig: says the cluster is removed"
	else
		fail "SIG$sig: stderr: $(cat "$DB_TMP/slow.err")"
	fi
	no_cluster_left "SIG$sig"
done

# --- the stairway: the failure that stops it always has its details; a
# revision failing two checks counts once ---------------------------------
many=$DB_TMP/stair_many
mkdir -p "$many"
prev=base
for i in $(seq -w 1 11); do
	printf -- '-- nmig:parents %s\nCREATE TABLE IF NOT EXISTS st_%s (id int);\n' "$prev" "$i" >"$many/00${i}_keep.up.sql"
	echo "-- leaves st_$i behind" >"$many/00${i}_keep.down.sql"
	prev=00$i
done
printf -- '-- nmig:parents %s\nCREATE TABLE st_12 (id int);\n' "$prev" >"$many/0012_stop.up.sql"
echo "-- leaves st_12 behind" >"$many/0012_stop.down.sql"
run_nmig --dir "$many" test
expect_rc 1 "stairway with 12 failing revisions fails"
expect_out_contains "12 of 12 revisions fail" "a revision failing two checks is counted once"
expect_out_contains "also failing: 0011" "past the first 10, failures are listed briefly"
expect_out_contains "0012 (" "the stopping revision is named"
expect_out_contains "it cannot be applied again after its down file" "the stopping failure is named"
expect_out_contains "SQLSTATE 42P07" "the stopping failure has its SQLSTATE, past the first 10"
expect_out_contains "0012_stop.up.sql:2:1" "the stopping failure has its file:line"

db_finish
