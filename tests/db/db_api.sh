#!/usr/bin/env bash
# db_api.sh: the cmocka programs of tests/dbunit/ (libnmig's public
# functions that need a server) against a fresh database of the test
# cluster, reached over TCP with the password; each must pass every test,
# none may print the password, and test_cluster leaves no cluster
# directory behind.
set -u
. "$(dirname "$0")/../db_lib.sh"
db_init

dir=${NMIG_DBUNIT_DIR:-}
# test_cluster's clusters go to a short directory the postgres user can
# reach (they run as postgres when we are root).
CT=$(mktemp -d /tmp/nmig-ct.XXXXXX)
chmod 755 "$CT"
trap 'rm -rf "$CT"; db_cleanup' EXIT
progs=()
for src in "$NMIG_SOURCE_DIR"/tests/dbunit/test_*.c; do
	progs+=("$(basename "$src" .c)")
done
for name in "${progs[@]}"; do
	prog=$dir/$name
	if [ ! -x "$prog" ]; then
		fail "$name is not built (NMIG_DBUNIT_DIR='$dir')"
		continue
	fi
	db_create "$name"
	TMPDIR=$CT DATABASE_URL=$(db_url "$name") \
		"$prog" >"$DB_TMP/$name.out" 2>"$DB_TMP/$name.err" </dev/null
	rc=$?
	left=$(find "$CT" -mindepth 1 -maxdepth 1 | head -n 3)
	if [ -n "$left" ]; then
		fail "$name left a cluster directory behind: $left"
	fi
	canary_check "$name" "$DB_TMP/$name.out" "$DB_TMP/$name.err" || true
	# cmocka reports on stdout or stderr, depending on its version.
	cat "$DB_TMP/$name.out" "$DB_TMP/$name.err" >"$DB_TMP/$name.all"
	if [ "$rc" -eq 0 ] && grep -q '\[  PASSED  \]' "$DB_TMP/$name.all" &&
		! grep -q '\[  FAILED  \]' "$DB_TMP/$name.all"; then
		pass "$name: $(grep -c '\[       OK \]' "$DB_TMP/$name.all") tests passed"
	else
		fail "$name exited $rc: $(grep -E 'ERROR|FAILED|LINE' \
			"$DB_TMP/$name.out" "$DB_TMP/$name.err" | head -8)"
	fi
done

db_finish
