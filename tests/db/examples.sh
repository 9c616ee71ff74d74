#!/usr/bin/env bash
# examples.sh: the programs in examples/ build against the installed
# library (cmake --install to a scratch prefix, then cc with pkg-config
# nmig) and do their job against the test cluster: migrate upgrades to
# head with a progress line per migration; startup_check tells an
# application whether its database is behind, at head, ahead of its files,
# or drifted, with its documented exit codes.
set -u
. "$(dirname "$0")/../db_lib.sh"
db_init

build=$(dirname "$NMIG")
prefix=$DB_TMP/prefix
if ! cmake --install "$build" --prefix "$prefix" >"$DB_TMP/install.log" 2>&1; then
	fail "cmake --install failed: $(tail -3 "$DB_TMP/install.log")"
	db_finish
fi
pc=$(find "$prefix" -name nmig.pc | head -n 1)
expect_ne "$pc" "" "the install has nmig.pc"
expect_true "the install has the public headers under include/nmig/" test -f "$prefix/include/nmig/migrate.h"
expect_true "no internal header is installed" test ! -e "$prefix/include/nmig/conn_internal.h"
expect_true "the install has the man page" test -f "$prefix/share/man/man1/nmig.1"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
# A sanitized build's library needs the sanitizer runtime in the program.
san=""
if grep -q '^NMIG_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
	san="-fsanitize=address,undefined"
fi
for ex in migrate startup_check; do
	# shellcheck disable=SC2046,SC2086
	if cc -std=c11 -Wall -Wextra -Werror $san "$NMIG_SOURCE_DIR/examples/$ex.c" \
		$(pkg-config --cflags --libs nmig) -o "$DB_TMP/$ex" 2>"$DB_TMP/cc.err"; then
		pass "examples/$ex.c builds with pkg-config nmig"
	else
		fail "examples/$ex.c does not build: $(head -5 "$DB_TMP/cc.err")"
	fi
done

db_create ex
DATABASE_URL=$(db_url ex)
export DATABASE_URL
dir=$(project_dir examples)
cp -r "$NMIG_SOURCE_DIR/migrations" "$dir/"
cd "$dir" || exit 1

# run_ex NAME ARGS...: run an example, capturing rc, out and err.
run_ex() {
	local name=$1
	shift
	"$DB_TMP/$name" "$@" >"$DB_TMP/out" 2>"$DB_TMP/err" </dev/null
	rc=$?
	out=$(cat "$DB_TMP/out")
	err=$(cat "$DB_TMP/err")
	canary_check "$name" "$DB_TMP/out" "$DB_TMP/err" || true
}

run_ex startup_check
expect_rc 1 "startup_check on an empty database: behind (exit 1)"
expect_err_contains "the database is behind: 5 revisions pending" "startup_check says it is behind"

run_ex migrate
expect_rc 0 "migrate upgrades to head"
expect_out_contains "applied 20261126090000 create users" "migrate reports each migration"
expect_out_contains "5 migrations applied; the database is at head" "migrate's summary"
expect_eq "$(psql_q ex 'select count(*) from public.schema_version')" 5 "five version rows"

run_ex startup_check
expect_rc 0 "startup_check at head: exit 0"
expect_err_contains "at head (5 revisions)" "startup_check says so"

mkdir -p "$DB_TMP/older"
cp migrations/*.sql "$DB_TMP/older/"
rm "$DB_TMP/older"/20261126094000_*
run_ex startup_check "$DB_TMP/older"
expect_rc 2 "startup_check of an older build: ahead (exit 2)"
expect_err_contains "ahead of this build" "startup_check says the database is ahead"
expect_err_contains "20261126094000" "and names the revision it does not know"

echo "-- edited after it was applied" >>migrations/20261126091000_create_tasks.up.sql
run_ex startup_check
expect_rc 3 "startup_check after an applied file was edited: drifted (exit 3)"
expect_err_contains "drifted" "startup_check says it drifted"
expect_err_contains "20261126091000" "and names the revision"

unset DATABASE_URL
PGHOST=/nonexistent run_ex startup_check
expect_rc 4 "startup_check without a reachable database: exit 4"

db_finish
