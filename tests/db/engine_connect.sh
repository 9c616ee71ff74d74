#!/usr/bin/env bash
# Database test: connecting. Wrong password, a server that is down (with
# --connect-timeout), an unknown host, TLS required but not offered, a
# remote host without sslmode (refused before any lookup) and malformed
# URLs all exit 5 with a clear error, never print the password, and change
# nothing. The URL comes from DATABASE_URL, --url-env, url_env in
# nmig.conf, a .env file (never overriding a set variable) or libpq's PG*
# variables; a custom schema/table from nmig.conf is used. Neon and pooler
# hosts get warnings.
. "$(dirname "$0")/../db_lib.sh"
db_init

proj=$(project_dir proj)
cp -r "$NMIG_SOURCE_DIR/migrations" "$proj/"
cd "$proj" || exit 1
db_create conn
name=$(db_name conn)
good=$(db_url conn)
pw=$NMIG_PG_PASSWORD

no_table() {
	expect_eq "$(psql_q conn "select pg_catalog.to_regclass('public.schema_version') is null")" t "$1"
}

### failures: exit 5, a clear message, no password, nothing changed
DATABASE_URL="postgres://postgres:canaryPW-wrong@127.0.0.1:$PGPORT/$name" run_nmig upgrade
expect_rc 5 "wrong password"
expect_err_contains "error: cannot connect to 'postgres@127.0.0.1:$PGPORT/$name'" "the error names user@host:port/db"
expect_err_contains "password authentication failed" "libpq's reason"
expect_err_contains "hint: check the user and password" "a hint"
canary_check "wrong password" "$DB_TMP/out" "$DB_TMP/err"
no_table "nothing changed after a wrong password"

start=$(date +%s%N)
DATABASE_URL="postgres://postgres:$pw@127.0.0.1:1/$name" run_nmig upgrade --connect-timeout 1s
elapsed=$((($(date +%s%N) - start) / 1000000))
expect_rc 5 "server down"
expect_err_contains "Connection refused" "connection refused is reported"
# A refused local port is a server that is not running: no retry (a
# refused remote host may be a Neon compute waking up, and is retried).
expect_err_lacks "gave up after" "a refused local port is not retried"
expect_err_contains "hint: nothing listens there: is the server running, and on port 1?" \
	"the hint names the port"
echo "time: a refused local port failed in $elapsed ms"

# The lookup runs in a network namespace of its own (loopback only), so that
# it fails here and never reaches a resolver off this machine.
if unshare -n true 2>/dev/null; then
	DATABASE_URL="postgres://postgres:$pw@nohost.invalid/$name?sslmode=require" \
		NMIG_PREFIX="unshare -n" run_nmig upgrade --connect-timeout 1s
	expect_rc 5 "unknown host"
	expect_err_contains "could not translate host name" "the lookup failure"
	expect_err_lacks "attempts" "an unknown host is not retried"
else
	echo "SKIP (not counted): unknown host case needs 'unshare -n' to keep the lookup on this machine" >&2
fi

# history only adds applied marks from the database: a server that is down
# costs it a short retry window (DB_ATTACH_CONNECT_MS), not connect_timeout.
start=$(date +%s%N)
DATABASE_URL="postgres://postgres:$pw@127.0.0.1:1/$name" run_nmig history --db
elapsed=$((($(date +%s%N) - start) / 1000000))
expect_rc 0 "history with the server down"
expect_err_contains "warning: cannot read the applied revisions" "history says it shows the files only"
expect_true "history gave up on the server quickly ($elapsed ms)" \
	test "$elapsed" -lt 5000

DATABASE_URL="$good?sslmode=require" run_nmig upgrade
expect_rc 5 "TLS required but not offered"
expect_err_contains "server does not support SSL" "the TLS failure"

DATABASE_URL="postgres://app:$pw@db.example.com:5432/app" run_nmig upgrade
expect_rc 5 "a remote host without sslmode"
expect_err_contains "error: refusing to connect to 'db.example.com' without TLS" "refused by the TLS policy"
expect_err_contains "sslmode=require" "the hint names sslmode=require"
expect_err_lacks "translate" "refused before the name was looked up"
DATABASE_URL="postgres://app:$pw@db.example.com/app?sslmode=disable" run_nmig current
expect_rc 5 "sslmode=disable to a remote host"

for bad in "postgres://postgres:$pw@[::1/db" "postgres://postgres:$pw@127.0.0.1/db?bogus=1" \
	"host=127.0.0.1 password=$pw port" "postgres://postgres:$pw@127.0.0.1/db?x=%zz"; do
	DATABASE_URL=$bad run_nmig upgrade
	expect_rc 5 "malformed URL $(redact "$bad")"
	expect_err_contains "malformed database URL" "a clear message for $(redact "$bad")"
done
DATABASE_URL="postgres://postgres:$pw@127.0.0.1:$PGPORT/$name?sslmode=bogus" run_nmig upgrade
expect_rc 5 "an unknown sslmode"
no_table "nothing changed after every failure"

(
	unset PGHOST PGPORT PGUSER PGDATABASE
	run_nmig current
	expect_rc 5 "no URL and no libpq variables"
	expect_err_contains "no database URL: 'DATABASE_URL' is not set" "missing URL message"
	db_finish >/dev/null
)
[ $? -eq 0 ] && pass "subshell checks" || fail "subshell checks"

### where the URL comes from
DATABASE_URL=$good run_nmig -v upgrade 20261126090000
expect_rc 0 "DATABASE_URL"
expect_err_contains "connecting to postgres@127.0.0.1:$PGPORT/$name" "-v shows where it connects, without the password"

MY_DB=$good run_nmig --url-env MY_DB upgrade 20261126091000
expect_rc 0 "--url-env"
expect_eq "$(applied_revs conn | wc -l)" 2 "applied through --url-env"

# .env in the project root: used, and never overrides a set variable
printf '# local settings\nexport DATABASE_URL="%s"\n' "$good" >.env
run_nmig current
expect_rc 0 ".env provides DATABASE_URL"
expect_out_contains "20261126091000 create tasks" ".env reached the database"
DATABASE_URL="postgres://postgres:$pw@127.0.0.1:1/$name" run_nmig current --connect-timeout 200ms
expect_rc 5 "a set DATABASE_URL wins over .env"
printf 'DATABASE_URL=postgres://postgres:%s@127.0.0.1:1/x\n' "$pw" >.env
DATABASE_URL=$good run_nmig current
expect_rc 0 "the environment wins over a bad .env"
printf 'DATABASE_URL = ok\nthis line is broken\n' >.env
run_nmig current
expect_rc 9 "a malformed .env is a config error"
expect_err_contains ".env" "the .env file is named"
rm .env

# libpq's own variables when the URL variable is unset (socket, trust)
PGDATABASE=$name run_nmig current
expect_rc 0 "libpq PG* variables"
expect_out_contains "20261126091000" "PG* reached the database"

# nmig.conf: url_env, schema and table (a database of its own)
db_create conf
good=$(db_url conf)
cat >nmig.conf <<'EOF'
# test config
url_env = APP_DB
schema = ops
table = migration_log
EOF
APP_DB=$good run_nmig upgrade
expect_rc 0 "upgrade with a custom schema and table"
expect_eq "$(applied_revs conf ops.migration_log | wc -l)" 5 "rows in ops.migration_log"
expect_eq "$(psql_q conf "select pg_catalog.to_regclass('public.schema_version') is null")" t \
	"no table in public"
APP_DB=$good run_nmig --json current
expect_out_contains '"current":["20261126094000"]' "current reads the custom table"
(
	unset PGHOST PGPORT PGUSER PGDATABASE
	run_nmig current
	expect_rc 5 "url_env names an unset variable"
	expect_err_contains "'APP_DB' is not set" "the configured variable is named"
	db_finish >/dev/null
)
[ $? -eq 0 ] && pass "subshell checks" || fail "subshell checks"
printf 'url_env = APP_DB\nurl = postgres://u:canaryPW-conf@h/db\n' >nmig.conf
APP_DB=$good run_nmig current
expect_rc 9 "a password in nmig.conf is refused"
canary_check "config password" "$DB_TMP/out" "$DB_TMP/err"
rm nmig.conf

### Neon and pooler hosts get warnings (hostaddr keeps it on loopback)
DATABASE_URL="host=ep-cool-1-pooler.us-east-2.aws.neon.tech hostaddr=127.0.0.1 port=$PGPORT dbname=$name user=postgres password=$pw sslmode=disable" \
	run_nmig current
expect_rc 0 "a Neon pooler host (on loopback)"
expect_err_contains "PgBouncer" "the pooler warning"
expect_err_contains "verify-full" "the Neon TLS hint"
if [ "$(pg_config --version 2>/dev/null | sed 's/[^0-9]*\([0-9]*\).*/\1/')" -lt 16 ] 2>/dev/null; then
	expect_err_contains "sslrootcert=/etc/ssl/certs/ca-certificates.crt" \
		"on libpq < 16 the hint names the system CA bundle (libpq 15 knows no sslrootcert=system)"
else
	expect_err_contains "sslrootcert=system" "on libpq 16+ the hint says sslrootcert=system"
fi

db_finish
