# shellcheck shell=bash
# db_lib.sh: helpers shared by the database tests (tests/db/*.sh). Source it
# from a test script:
#
#   . "$(dirname "$0")/../db_lib.sh"
#   db_init                      # skip (exit 77) loudly without a cluster
#   db_create app                # a fresh database, dropped at db_finish
#   export DATABASE_URL=$(db_url app)
#   run_nmig --dir "$dir" upgrade head
#   expect_rc 0 "upgrade to head"
#   expect_out_contains "upgraded" "summary line"
#   expect_eq "$(psql_q app 'select count(*) from users')" 0 "users exists"
#   db_finish                    # prints "N passed, N failed", exits
#
# The cluster comes from tests/pg_tmp.sh (its env file is $NMIG_PG_ENV).
# Databases are reached as postgres over the unix socket for setup and
# checks (psql_q), and by nmig over TCP with the password (db_url), so every
# nmig run exercises a real password; run_nmig fails the test when the
# password canary (canaryPW) shows up in anything nmig printed.
# Through the cluster's PgBouncer (when there is one): db_require_pgbouncer
# and db_pgb_url.
# It lives outside tests/db/ because ctest runs every tests/db/*.sh.

DB_PASSED=0
DB_FAILED=0
DB_NAMES=()
DB_TEST=$(basename "${0:-db}" .sh | tr -c 'a-zA-Z0-9_\n' '_')
# After run_nmig: rc, out, err (the captured text) and the files holding it.
rc=0
out=""
err=""

# db_init: load the cluster env, check the binary, make a scratch dir
# ($DB_TMP). Exits 77 (skip) with a loud message when no cluster is there.
db_init() {
	if [ -z "${NMIG_PG_ENV:-}" ] || [ ! -f "$NMIG_PG_ENV" ]; then
		echo "SKIP: no PostgreSQL test cluster (NMIG_PG_ENV='${NMIG_PG_ENV:-}' does not exist);" \
			"start one with tests/pg_tmp.sh start DIR" >&2
		exit 77
	fi
	# shellcheck disable=SC1090
	. "$NMIG_PG_ENV"
	if [ -z "${NMIG:-}" ] || [ ! -x "$NMIG" ]; then
		echo "FAIL: NMIG='${NMIG:-}' is not an executable nmig binary" >&2
		exit 1
	fi
	if ! psql -X -q -d postgres -c 'select 1' >/dev/null 2>&1; then
		echo "SKIP: the PostgreSQL test cluster in $NMIG_PG_ENV does not answer" >&2
		exit 77
	fi
	local base=${NMIG_TEST_TMP:-${TMPDIR:-/tmp}}
	mkdir -p "$base"
	DB_TMP=$(mktemp -d "$base/$DB_TEST.XXXXXX")
	export DB_TMP
	# nmig must not pick up a developer's settings.
	unset DATABASE_URL PGSERVICE PGSSLMODE PGPASSWORD NMIG_ENV NODE_ENV
	export NO_COLOR=1
	trap db_cleanup EXIT
}

# db_cleanup: drop the databases this test created and its scratch dir.
db_cleanup() {
	local name
	for name in "${DB_NAMES[@]}"; do
		psql -X -q -d postgres \
			-c "drop database if exists \"$name\" with (force)" \
			>/dev/null 2>&1 || true
	done
	if [ -n "${DB_TMP:-}" ] && [ -z "${DB_KEEP_TMP:-}" ]; then
		rm -rf "$DB_TMP"
	fi
}

# db_name NAME: the real (unique) database name for NAME.
db_name() {
	echo "t_${DB_TEST}_$1"
}

# db_create NAME: (re)create a fresh empty database for this test.
db_create() {
	local real
	real=$(db_name "$1")
	psql -X -q -v ON_ERROR_STOP=1 -d postgres \
		-c "set client_min_messages = warning" \
		-c "drop database if exists \"$real\" with (force)" \
		-c "create database \"$real\"" >/dev/null ||
		{
			echo "FAIL: cannot create database $real" >&2
			exit 1
		}
	DB_NAMES+=("$real")
}

# db_url NAME [QUERY]: a TCP URL (with the password) for database NAME;
# QUERY (e.g. "sslmode=disable") is appended as URL parameters.
db_url() {
	local u="postgres://postgres:$NMIG_PG_PASSWORD@127.0.0.1:$PGPORT/$(db_name "$1")"
	if [ -n "${2:-}" ]; then
		u="$u?$2"
	fi
	echo "$u"
}

# db_require_pgbouncer: skip (exit 77) loudly when the cluster has no
# PgBouncer in front of it (tests/pg_tmp.sh starts one when pgbouncer is
# installed and then exports NMIG_PGB_PORT).
db_require_pgbouncer() {
	if [ -z "${NMIG_PGB_PORT:-}" ]; then
		echo "SKIP: no PgBouncer in front of the test cluster" \
			"(NMIG_PGB_PORT is not in $NMIG_PG_ENV): install pgbouncer" \
			"(scripts/deps) and restart it with tests/pg_tmp.sh" >&2
		exit 77
	fi
}

# db_pgb_url NAME [QUERY]: like db_url, but through the PgBouncer
# (transaction pooling; any database name is passed on to the cluster).
db_pgb_url() {
	local u="postgres://postgres:$NMIG_PG_PASSWORD@127.0.0.1:$NMIG_PGB_PORT/$(db_name "$1")"
	if [ -n "${2:-}" ]; then
		u="$u?$2"
	fi
	echo "$u"
}

# psql_q NAME SQL: run SQL in database NAME as postgres over the socket and
# print the result as unaligned tuples ('|' between columns). Stops at the
# first error (non-zero exit).
psql_q() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$(db_name "$1")" -c "$2"
}

# canary_check WHAT FILE...: fail when the password canary is in the files.
canary_check() {
	local what=$1 f
	shift
	for f in "$@"; do
		if [ -f "$f" ] && grep -q 'canaryPW' "$f"; then
			fail "$what: the password appeared in output ($f)"
			grep -n 'canaryPW' "$f" | sed 's/canaryPW[^ @]*/canaryPW.../g' |
				head -5 >&2
			return 1
		fi
	done
	return 0
}

# run_nmig ARGS...: run "$NMIG" ARGS, capturing $rc, $out, $err (also in
# $DB_TMP/out and $DB_TMP/err). Fails the test if the canary leaks.
run_nmig() {
	local errexit=0
	case $- in *e*) errexit=1 ;; esac
	set +e
	# NMIG_PREFIX: a command to run nmig under (e.g. "unshare -n"), unquoted
	# on purpose so that it splits into words.
	# shellcheck disable=SC2086
	${NMIG_PREFIX:-} "$NMIG" "$@" >"$DB_TMP/out" 2>"$DB_TMP/err" </dev/null
	rc=$?
	[ "$errexit" = 0 ] || set -e
	out=$(cat "$DB_TMP/out")
	err=$(cat "$DB_TMP/err")
	if [ -n "${DB_VERBOSE:-}" ]; then
		echo "--- nmig $(redact "$*") (exit $rc)" >&2
		cat "$DB_TMP/out" "$DB_TMP/err" >&2
	fi
	canary_check "nmig $(redact "$*")" "$DB_TMP/out" "$DB_TMP/err" || true
}

# redact TEXT: TEXT with the test password replaced (for messages).
redact() {
	local t=$1
	echo "${t//$NMIG_PG_PASSWORD/***}"
}

pass() {
	DB_PASSED=$((DB_PASSED + 1))
	echo "ok: $*"
}

fail() {
	DB_FAILED=$((DB_FAILED + 1))
	echo "FAIL: $*" >&2
}

# show_run: print the last run's output (after a failed expectation).
show_run() {
	echo "  exit: $rc" >&2
	sed 's/^/  stdout: /' "$DB_TMP/out" >&2
	sed 's/^/  stderr: /' "$DB_TMP/err" >&2
}

# expect_rc CODE DESC: the last run_nmig exited with CODE.
expect_rc() {
	if [ "$rc" = "$1" ]; then
		pass "$2 (exit $1)"
	else
		fail "$2: expected exit $1, got $rc"
		show_run
	fi
}

# expect_out_contains TEXT DESC / expect_err_contains TEXT DESC: fixed
# string search in the last run's stdout / stderr.
expect_out_contains() {
	if grep -qF -- "$1" "$DB_TMP/out"; then
		pass "$2"
	else
		fail "$2: stdout lacks '$1'"
		show_run
	fi
}

expect_err_contains() {
	if grep -qF -- "$1" "$DB_TMP/err"; then
		pass "$2"
	else
		fail "$2: stderr lacks '$1'"
		show_run
	fi
}

expect_out_lacks() {
	if grep -qF -- "$1" "$DB_TMP/out"; then
		fail "$2: stdout has '$1'"
		show_run
	else
		pass "$2"
	fi
}

expect_err_lacks() {
	if grep -qF -- "$1" "$DB_TMP/err"; then
		fail "$2: stderr has '$1'"
		show_run
	else
		pass "$2"
	fi
}

# expect_out_matches REGEX DESC / expect_err_matches REGEX DESC (grep -E).
expect_out_matches() {
	if grep -qE -- "$1" "$DB_TMP/out"; then
		pass "$2"
	else
		fail "$2: stdout does not match /$1/"
		show_run
	fi
}

expect_err_matches() {
	if grep -qE -- "$1" "$DB_TMP/err"; then
		pass "$2"
	else
		fail "$2: stderr does not match /$1/"
		show_run
	fi
}

# expect_eq ACTUAL EXPECTED DESC
expect_eq() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3: expected '$2', got '$1'"
	fi
}

# expect_ne ACTUAL UNEXPECTED DESC
expect_ne() {
	if [ "$1" != "$2" ]; then
		pass "$3"
	else
		fail "$3: got '$1'"
	fi
}

# expect_true DESC CMD...: CMD succeeds.
expect_true() {
	local desc=$1
	shift
	if "$@"; then
		pass "$desc"
	else
		fail "$desc: '$*' failed"
	fi
}

# applied_revs NAME [SCHEMA.TABLE]: the applied revisions, sorted, one per
# line (state 'applied' only).
applied_revs() {
	psql_q "$1" "select revision from ${2:-public.schema_version} where state = 'applied' order by revision"
}

# schema_dump NAME [EXCLUDED_TABLE...]: a catalog dump of database NAME
# (pg_dump --schema-only) without the version table and without comments
# or settings lines that vary between runs.
schema_dump() {
	local name=$1 ex=()
	shift
	local t
	for t in "${@:-public.schema_version}"; do
		ex+=(--exclude-table="$t")
	done
	"$NMIG_PG_BIN/pg_dump" --schema-only --no-owner --no-privileges \
		"${ex[@]}" -d "$(db_name "$name")" |
		grep -v -e '^--' -e '^$' -e '^SET ' -e '^SELECT pg_catalog.set_config' \
			-e '^\\restrict' -e '^\\unrestrict'
}

# project_dir NAME: make an empty project directory $DB_TMP/NAME and print it.
project_dir() {
	mkdir -p "$DB_TMP/$1"
	echo "$DB_TMP/$1"
}

# db_finish: print the closing line and exit (1 when anything failed).
db_finish() {
	echo "$DB_PASSED passed, $DB_FAILED failed"
	if [ "$DB_FAILED" -ne 0 ]; then
		exit 1
	fi
	if [ "$DB_PASSED" -eq 0 ]; then
		echo "FAIL: no check ran" >&2
		exit 1
	fi
	exit 0
}
