#!/usr/bin/env bash
# Database test: nmig doctor. A healthy local report (text and --json,
# parsed with python3), read only (no version table created); the state
# after upgrades (current, pending); latency classes forced with
# thresholds (--healthy-ms / --degraded-ms and the nmig.conf keys) to
# degraded and unhealthy (exit 1); bad thresholds (exit 2, 9); drift,
# dirty and unknown revisions (exit 1, named); broken and missing
# migration directories; a server that is down (exit 5, and --json says
# "unreachable"); the URL from .env; production shown; and TLS in use on
# a second throwaway cluster with a self-signed certificate (protocol,
# cipher). The password never appears (run_nmig's canary check).
. "$(dirname "$0")/../db_lib.sh"
db_init

proj=$(project_dir proj)
cp -r "$NMIG_SOURCE_DIR/migrations" "$proj/"
cd "$proj" || exit 1
db_create doc
name=$(db_name doc)
DATABASE_URL=$(db_url doc)
export DATABASE_URL
pw=$NMIG_PG_PASSWORD

have_python=0
if command -v python3 >/dev/null 2>&1; then
	have_python=1
else
	echo "SKIP (not counted): python3 is missing: the --json checks are not run" >&2
fi

# json_check DESC PYTHON-EXPRESSION...: each expression (over `d`, the
# last run's stdout parsed as JSON) is true.
json_check() {
	local desc=$1 expr msg
	shift
	[ "$have_python" = 1 ] || return 0
	for expr in "$@"; do
		if msg=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
ok = eval(sys.argv[2])
sys.exit(0 if ok else 1)
' "$DB_TMP/out" "$expr" 2>&1); then
			pass "$desc: $expr"
		else
			fail "$desc: $expr is false $msg"
			show_run
		fi
	done
}

no_table() {
	expect_eq "$(psql_q doc "select pg_catalog.to_regclass('public.schema_version') is null")" t "$1"
}

### healthy, fresh database
run_nmig doctor
expect_rc 0 "doctor on a healthy local database"
expect_out_contains "target                postgres@127.0.0.1:$PGPORT/$name" "the target, without a password"
expect_out_matches "^  latency +[0-9]+\.[0-9] ms median of 5 SELECT 1 \(min [0-9.]+, max [0-9.]+\): healthy$" "latency: median of 5, healthy"
expect_out_contains "connect               " "connect time"
expect_out_contains "thresholds            healthy below 100 ms, degraded below 500 ms" "default thresholds"
expect_out_contains "not needed on a local connection" "no TLS on loopback is fine"
expect_out_matches "^  version +PostgreSQL [0-9]+" "server version"
expect_out_contains "role                  primary" "a primary"
expect_out_matches "^  lock_timeout +0$" "lock_timeout"
expect_out_matches "^  statement_timeout +0$" "statement_timeout"
expect_out_matches "^  idle_in_transaction_session_timeout +0$" "idle_in_transaction_session_timeout"
expect_out_matches "^  connections +[0-9]+ of 100 in use \([0-9]+%\)$" "connections against max_connections"
expect_out_contains "neon                  no" "not Neon"
expect_out_contains "pooler                no" "not a pooler"
expect_out_contains "current               base (no table yet: nothing applied)" "nothing applied"
expect_out_contains "pending               5: 20261126090000, 20261126091000" "pending revisions listed"
expect_out_contains "url                   postgres://postgres:***@127.0.0.1:$PGPORT/$name (DATABASE_URL, from the environment)" "the URL, password redacted"
expect_out_contains "environment           not production" "not production"
expect_out_lacks "findings" "no findings"
expect_out_contains "status: healthy" "status line"
no_table "doctor creates no version table"

run_nmig --json doctor
expect_rc 0 "--json doctor"
json_check "healthy JSON" \
	'd["status"] == "healthy" and d["exit"] == 0' \
	'd["connection"]["target"] == "postgres@127.0.0.1:'"$PGPORT/$name"'"' \
	'len(d["connection"]["latency"]["samples_ms"]) == 5' \
	'd["connection"]["latency"]["class"] == "healthy"' \
	'd["connection"]["latency"]["healthy_ms"] == 100 and d["connection"]["latency"]["degraded_ms"] == 500' \
	'd["connection"]["latency"]["min_ms"] <= d["connection"]["latency"]["median_ms"] <= d["connection"]["latency"]["max_ms"]' \
	'd["connection"]["connect_ms"] > 0 and d["connection"]["attempts"] == 1' \
	'd["connection"]["local"] is True and d["connection"]["neon"] is False and d["connection"]["pooler"] is False' \
	'd["connection"]["tls"]["in_use"] is False and d["connection"]["tls"]["protocol"] is None' \
	'd["server"]["version_num"] >= 130000 and d["server"]["in_recovery"] is False' \
	'set(d["server"]["settings"]) == {"lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout"}' \
	'1 <= d["server"]["connections"] <= d["server"]["max_connections"] == 100' \
	'd["server"]["database"] == "'"$name"'" and d["server"]["user"] == "postgres"' \
	'd["migrations"]["checked"] is True and d["migrations"]["table_exists"] is False' \
	'd["migrations"]["revisions"] == 5 and d["migrations"]["applied"] == 0 and len(d["migrations"]["pending"]) == 5' \
	'd["migrations"]["current"] == [] and d["migrations"]["drift"] == [] and d["migrations"]["not_closed"] is None' \
	'"***" in d["config"]["url"] and d["config"]["url_from"] == "environment"' \
	'd["config"]["url_env"] == "DATABASE_URL" and d["config"]["production"] is None' \
	'd["findings"] == [] and d["round_trips"] >= 7'
no_table "--json doctor creates no version table"

### after upgrades: current and pending
run_nmig upgrade 20261126091000
expect_rc 0 "upgrade two revisions"
run_nmig doctor
expect_rc 0 "pending revisions are not a problem"
expect_out_contains "current               1: 20261126091000" "current head"
expect_out_contains "applied               2" "applied count"
expect_out_contains "pending               3: 20261126092000, 20261126093000, 20261126094000" "pending ids"
run_nmig --json doctor
json_check "state JSON" \
	'd["migrations"]["current"] == ["20261126091000"]' \
	'd["migrations"]["pending"] == ["20261126092000", "20261126093000", "20261126094000"]' \
	'd["migrations"]["table"] == "public.schema_version" and d["migrations"]["table_exists"] is True'

### latency classes forced with thresholds
run_nmig doctor --healthy-ms 0 --degraded-ms 1min
expect_rc 1 "degraded latency exits 1"
expect_out_contains "warning: median latency" "a latency warning"
expect_out_contains "is degraded (healthy below 0 ms, degraded below 60000 ms) [latency]" "the class and the thresholds"
expect_out_contains "status: degraded" "status degraded"
run_nmig doctor --healthy-ms 0 --degraded-ms 0
expect_rc 1 "unhealthy latency exits 1"
expect_out_contains "problem: median latency" "a latency problem"
expect_out_contains "status: unhealthy" "status unhealthy"
run_nmig --json doctor --healthy-ms 0 --degraded-ms 0
expect_rc 1 "--json unhealthy"
json_check "unhealthy JSON" \
	'd["status"] == "unhealthy" and d["exit"] == 1' \
	'd["connection"]["latency"]["class"] == "unhealthy"' \
	'[f["rule"] for f in d["findings"]] == ["latency"] and d["findings"][0]["severity"] == "error"'
run_nmig -q doctor --healthy-ms 0 --degraded-ms 0
expect_rc 1 "-q doctor"
expect_out_lacks "connection" "-q prints no sections"
expect_out_contains "status: unhealthy" "-q keeps the findings and status"

printf 'doctor_healthy_ms = 0\ndoctor_degraded_ms = 1min\n' >nmig.conf
run_nmig doctor
expect_rc 1 "thresholds from nmig.conf"
expect_out_contains "thresholds            healthy below 0 ms, degraded below 60000 ms" "config thresholds shown"
run_nmig doctor --healthy-ms 1min --degraded-ms 2min
expect_rc 0 "options override nmig.conf"
printf 'doctor_healthy_ms = 2s\ndoctor_degraded_ms = 1s\n' >nmig.conf
run_nmig doctor
expect_rc 9 "inverted thresholds in nmig.conf"
expect_err_contains "doctor_healthy_ms (2000 ms) is above doctor_degraded_ms (1000 ms)" "the keys are named"
rm nmig.conf
run_nmig doctor --healthy-ms 600
expect_rc 2 "--healthy-ms above the default degraded threshold"
expect_err_contains "healthy 600 ms and degraded 500 ms" "both thresholds named"
run_nmig doctor --degraded-ms fast
expect_rc 2 "a malformed --degraded-ms"
expect_err_contains "--degraded-ms" "the option is named"
run_nmig doctor extra
expect_rc 2 "doctor takes no arguments"

### problems: drift, dirty, unknown
psql_q doc "update schema_version set checksum = 'edited' where revision = '20261126090000'" >/dev/null
run_nmig doctor
expect_rc 1 "drift exits 1"
expect_out_contains "drift                 1: 20261126090000" "the drifted revision"
expect_out_contains "problem: 1 applied revision was edited after it was applied: '20261126090000' [db-drift]" "a drift problem"
expect_out_contains "repair --checksums" "the fix"
expect_out_contains "status: unhealthy" "status unhealthy with drift"
run_nmig repair --checksums
expect_rc 0 "repair the checksum"
psql_q doc "update schema_version set state = 'dirty', error = 'killed' where revision = '20261126091000'" >/dev/null
psql_q doc "insert into schema_version (revision, parents, message, checksum, state, nmig_version) values ('20991231000000', '{}', 'from another branch', 'x', 'applied', '0.0.1')" >/dev/null
run_nmig --json doctor
expect_rc 1 "dirty and unknown exit 1"
json_check "problems JSON" \
	'd["status"] == "unhealthy" and d["exit"] == 1' \
	'd["migrations"]["dirty"] == ["20261126091000"]' \
	'd["migrations"]["unknown"] == ["20991231000000"]' \
	'sorted(f["rule"] for f in d["findings"]) == ["db-dirty", "db-unknown"]' \
	'all(f["severity"] == "error" and f["hint"] for f in d["findings"])'
run_nmig doctor
expect_out_contains "[db-dirty]" "the dirty problem in text"
expect_out_contains "1 applied revision without a migration file: '20991231000000' [db-unknown]" "the unknown problem in text"
psql_q doc "delete from schema_version where revision = '20991231000000'" >/dev/null
psql_q doc "update schema_version set state = 'applied', error = null where revision = '20261126091000'" >/dev/null
run_nmig doctor
expect_rc 0 "healthy again"

### the migrations directory
mkdir -p "$DB_TMP/empty"
cd "$DB_TMP/empty" || exit 1
run_nmig doctor
cd "$proj" || exit 1
expect_rc 0 "no migrations directory: connection facts only, exit 0"
expect_out_contains "warning: migration state not checked: no migrations directory 'migrations' [migrations]" "the gap is named"
cp -r migrations "$DB_TMP/broken"
printf -- '-- nmig:parents 20990101000000\nSELECT 1;\n' >"$DB_TMP/broken/20261126095000_bad.up.sql"
run_nmig --dir "$DB_TMP/broken" doctor
expect_rc 1 "broken migration files exit 1"
expect_err_contains "20261126095000_bad.up.sql" "the broken file is named on stderr"
expect_out_contains "problem: migration state not checked: the migration files in" "a problem in the report"

### production is shown (doctor is read only: allowed there)
NMIG_ENV=production run_nmig doctor
expect_rc 0 "doctor runs in production"
expect_out_contains "environment           production (NMIG_ENV)" "production shown"

### the URL from .env
(
	DB_PASSED=0 DB_FAILED=0
	unset DATABASE_URL
	printf 'DATABASE_URL=%s\n' "$(db_url doc)" >.env
	run_nmig doctor
	expect_rc 0 "URL from .env"
	expect_out_contains "(DATABASE_URL, from the .env file)" "the source is .env"
	run_nmig --json doctor
	json_check ".env JSON" 'd["config"]["url_from"] == ".env"'
	rm .env
	db_finish >/dev/null
)
[ $? -eq 0 ] && pass "subshell checks (.env)" || fail "subshell checks (.env)"

### a server that is down
DATABASE_URL="postgres://postgres:$pw@127.0.0.1:1/$name" run_nmig doctor --connect-timeout 300ms
expect_rc 5 "server down exits 5"
expect_err_contains "error: cannot connect to 'postgres@127.0.0.1:1/$name'" "the error names the target"
expect_out_lacks "status" "no report"
DATABASE_URL="postgres://postgres:$pw@127.0.0.1:1/$name" run_nmig --json doctor --connect-timeout 300ms
expect_rc 5 "--json: server down exits 5"
json_check "unreachable JSON" \
	'd["status"] == "unreachable" and d["exit"] == 5' \
	'd["target"] == "postgres@127.0.0.1:1/'"$name"'"' \
	'"Connection refused" in d["error"]["message"]' \
	'"***" in d["config"]["url"]'
run_nmig -v doctor
expect_rc 0 "-v doctor"
expect_err_contains "round trips:" "the round-trip trace"

### TLS in use: a second throwaway cluster with a self-signed certificate
tls_dir=""
stop_tls() {
	if [ -n "$tls_dir" ]; then
		bash "$NMIG_SOURCE_DIR/tests/pg_tmp.sh" stop "$tls_dir" >/dev/null 2>&1 || true
	fi
}
trap 'stop_tls; db_cleanup' EXIT
if ! command -v openssl >/dev/null 2>&1; then
	echo "SKIP (not counted): openssl is missing: TLS in use is not checked" >&2
else
	tls_dir=$(mktemp -d /tmp/nmig-doctor-tls.XXXXXX)
	if bash "$NMIG_SOURCE_DIR/tests/pg_tmp.sh" start "$tls_dir" >"$DB_TMP/tls.log" 2>&1; then
		pass "a second cluster for TLS"
		tls_env=$(
			# shellcheck disable=SC1091
			. "$tls_dir/env"
			echo "$PGPORT $NMIG_PG_PASSWORD $NMIG_PG_DATA $NMIG_PG_SOCKET"
		)
		read -r tls_port tls_pw tls_data tls_sock <<<"$tls_env"
		openssl req -new -x509 -days 2 -nodes -subj "/CN=localhost" \
			-keyout "$tls_data/server.key" -out "$tls_data/server.crt" >/dev/null 2>&1
		if [ "$(id -u)" = 0 ]; then
			chown postgres "$tls_data/server.key" "$tls_data/server.crt"
		fi
		chmod 600 "$tls_data/server.key"
		psql -X -q -h "$tls_sock" -p "$tls_port" -d postgres \
			-c "alter system set ssl = on" -c "select pg_reload_conf()" >/dev/null
		for _ in $(seq 1 50); do
			[ "$(psql -X -A -t -h "$tls_sock" -p "$tls_port" -d postgres -c 'show ssl')" = on ] && break
			sleep 0.1
		done
		DATABASE_URL="postgres://postgres:$tls_pw@127.0.0.1:$tls_port/postgres?sslmode=require" \
			run_nmig doctor
		expect_rc 0 "doctor over TLS"
		expect_out_matches "^  tls +TLSv1\.[23], [A-Z0-9_-]+ \([0-9]+ bits\), sslmode=require$" "protocol, cipher and key bits"
		canary_check "TLS cluster password" "$DB_TMP/out" "$DB_TMP/err"
		if grep -qF "$tls_pw" "$DB_TMP/out" "$DB_TMP/err"; then
			fail "the TLS cluster's password was printed"
		else
			pass "the TLS cluster's password is not printed"
		fi
		DATABASE_URL="postgres://postgres:$tls_pw@127.0.0.1:$tls_port/postgres?sslmode=require" \
			run_nmig --json doctor
		json_check "TLS JSON" \
			'd["connection"]["tls"]["in_use"] is True' \
			'd["connection"]["tls"]["protocol"].startswith("TLSv1.")' \
			'len(d["connection"]["tls"]["cipher"]) > 0 and d["connection"]["tls"]["bits"] >= 128' \
			'd["connection"]["tls"]["sslmode"] == "require"'
	else
		fail "cannot start a second cluster for TLS: $(tail -3 "$DB_TMP/tls.log")"
	fi
fi

db_finish
