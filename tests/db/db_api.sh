#!/usr/bin/env bash
# db_api.sh: the cmocka programs of tests/dbunit/ (libnmig's public
# functions that need a server) against a fresh database of the test
# cluster, reached over TCP with the password; each must pass every test,
# and none may print the password.
set -u
. "$(dirname "$0")/../db_lib.sh"
db_init

dir=${NMIG_DBUNIT_DIR:-}
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
	DATABASE_URL=$(db_url "$name") \
		"$prog" >"$DB_TMP/$name.out" 2>"$DB_TMP/$name.err" </dev/null
	rc=$?
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
