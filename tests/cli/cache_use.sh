#!/usr/bin/env bash
# cache_use.sh: the plan cache in use by the commands that read the
# history. A second run is served from the cache (`nmig cache info`
# counts, the -vv statistics) with the same output as the first and as
# --no-cache; an edited file is read again (no stale header, no stale
# check result); a corrupt cache file is set aside with a warning and the
# command still gives the right output; --no-cache and `cache = off` write
# no .nmig/; an unusable location only costs a warning; no password from
# the environment, a header or the SQL reaches the cache file.
. "$(dirname "$0")/lib.sh"
cli_init

# Files written less than 2 s ago are not cached (an edit in the same
# timestamp tick could go unnoticed), so the tests date them back.
backdate() {
	touch -d '2020-01-01 00:00:00' "$@"
}

# edit FILE TEXT: replace FILE's contents and give it another old mtime.
edit() {
	printf '%s' "$2" >"$1"
	touch -d '2020-01-02 00:00:00' "$1"
}

# json_field FIELD: the integer FIELD of `nmig --json cache info`.
cache_count() {
	"$NMIG" --json cache info | python3 -c \
		'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

mkdir proj
cd proj || exit 1
cp -R "$NMIG_SOURCE_DIR/migrations" migrations
backdate migrations/*

# --- --no-cache writes nothing -----------------------------------------
for cmd in check heads history branches; do
	run_nmig --no-cache "$cmd"
	expect_exit 0 "--no-cache $cmd"
done
expect_no_file .nmig "--no-cache writes no .nmig/"
run_nmig --no-cache check
nocache_check=$out
run_nmig --no-cache history
nocache_history=$out
run_nmig --no-cache --json heads
nocache_heads=$out

printf 'cache = off\n' >nmig.conf
run_nmig check
expect_exit 0 "check with cache = off"
expect_stdout_equals "$nocache_check" "check with cache = off: same output"
run_nmig -vv heads
expect_exit 0 "heads with cache = off"
expect_stderr_not_contains "plan cache" "cache = off: no cache statistics"
expect_no_file .nmig "cache = off writes no .nmig/"
rm nmig.conf

run_nmig --no-cache cache info
expect_exit 0 "cache info still works with --no-cache"
expect_stdout_contains "absent" "the cache is still absent"

# --- the first run fills the cache, the second is served by it ---------
run_nmig -vv check
expect_exit 0 "cold check"
expect_stdout_equals "$nocache_check" "cold check: same output as --no-cache"
expect_stderr_matches "plan cache '.*': 0 hits, [0-9]+ misses, 0 stale, [0-9]+ stored" \
	"cold check: misses and stores"
expect_file .nmig/cache.db "check created .nmig/cache.db beside migrations/"

run_nmig --json cache info
expect_exit 0 "cache info after a run"
expect_json_eq 'd["state"]' ok "the cache is ok"
expect_json_eq 'd["files"]' 10 "10 file entries (5 revisions, up and down)"
checks=$(json_get 'd["checks"]')
[ "$checks" -ge 10 ]
check $? "check results are stored ($checks)"

run_nmig -vv check
expect_exit 0 "warm check"
expect_stdout_equals "$nocache_check" "warm check: same output"
expect_stderr_matches "plan cache '.*': [0-9]+ hits, 0 misses, 0 stale, 0 stored" \
	"warm check: every lookup is a hit, nothing stored"
run_nmig --json cache info
expect_json_eq 'd["files"]' 10 "still 10 file entries"
expect_json_eq 'd["checks"]' "$checks" "no new check results"

run_nmig history
expect_exit 0 "warm history"
expect_stdout_equals "$nocache_history" "warm history: same output"
run_nmig -vv heads
expect_stderr_contains ": 10 hits, 0 misses" "heads: the 10 files from the cache"
run_nmig --json heads
expect_stdout_equals "$nocache_heads" "warm heads --json: same output"

# --- lint: a second run is served from the cache, same output ---------
mkdir "$T/lintp"
cd "$T/lintp" || exit 1
cp -R "$NMIG_FIXTURES/lint/require-concurrent-index-creation/bad" migrations
cp "$NMIG_SOURCE_DIR"/migrations/* migrations/
backdate migrations/*
run_nmig --no-cache lint
expect_exit 1 "--no-cache lint: the index finding is an error"
expect_stdout_contains "[require-concurrent-index-creation]" "--no-cache lint: the finding"
nocache_lint=$out
run_nmig --no-cache --json lint --rule require-concurrent-index-creation=warning
expect_exit 0 "--no-cache lint --json at level warning"
nocache_lint_json=$out
expect_no_file .nmig "--no-cache lint writes no .nmig/"
printf 'cache = off\n' >nmig.conf
run_nmig -vv lint
expect_exit 1 "lint with cache = off"
expect_stdout_equals "$nocache_lint" "lint with cache = off: same output"
expect_stderr_not_contains "plan cache" "lint with cache = off: no cache statistics"
expect_no_file .nmig "lint with cache = off writes no .nmig/"
rm nmig.conf
run_nmig -vv lint
expect_exit 1 "cold lint"
expect_stdout_equals "$nocache_lint" "cold lint: same output as --no-cache"
expect_stderr_matches "plan cache '.*': 0 hits, [0-9]+ misses, 0 stale, [1-9][0-9]* stored" \
	"cold lint: lint results are stored"
lint_checks=$(cache_count checks)
[ "$lint_checks" -ge 2 ]
check $? "cold lint stored its results ($lint_checks check entries)"
run_nmig -vv lint
expect_exit 1 "warm lint"
expect_stdout_equals "$nocache_lint" "warm lint: identical output"
expect_stderr_matches "plan cache '.*': [0-9]+ hits, 0 misses, 0 stale, 0 stored" \
	"warm lint: every lookup is a hit, nothing stored"
expect_eq "$(cache_count checks)" "$lint_checks" "warm lint: no new check entries"
for i in 1 2; do
	run_nmig --json lint --rule require-concurrent-index-creation=warning
	expect_exit 0 "lint --json with another level, run $i"
	expect_stdout_equals "$nocache_lint_json" \
		"lint --json with another level, run $i: same as --no-cache"
done
cd "$T/proj" || exit 1

# --- edits are seen: no stale data -------------------------------------
up=migrations/20261126094000_add_task_due_date.up.sql
edit "$up" "-- nmig:parents 20261126093000
-- nmig:message add task due date and priority

ALTER TABLE tasks ADD COLUMN due_date date;
ALTER TABLE tasks ADD COLUMN priority int;
"
run_nmig -vv heads
expect_exit 0 "heads after an edit"
expect_stdout_contains "20261126094000 (head) add task due date and priority" \
	"the edited message is shown, not the cached one"
expect_stderr_contains "1 stale" "the edited file's entry was stale"

edit "$up" "-- nmig:parents 20261126093000
-- nmig:message add task due date

ALTER TABLE tasks ADD COLUMN due_date date;
ALTER TABEL tasks ADD COLUMN priority int;
"
run_nmig check
expect_exit 3 "check after adding a syntax error"
expect_stderr_contains "$up:5" "the syntax error is reported at its line"
run_nmig check
expect_exit 3 "the syntax error is reported again from a warm cache"
expect_stderr_contains "syntax error at or near" "warm: the finding is the parser's"

edit "$up" "-- nmig:parents 20261126093000
-- nmig:message add task due date
-- nmig:transaction sometimes

ALTER TABLE tasks ADD COLUMN due_date date;
"
run_nmig heads
expect_exit 3 "a bad header fails heads"
expect_stderr_contains "'transaction' must be 'on' or 'off'" "the header error is named"
run_nmig heads
expect_exit 3 "a bad header is never cached as good"

cp "$NMIG_SOURCE_DIR/migrations/20261126094000_add_task_due_date.up.sql" "$up"
touch -d '2020-01-03 00:00:00' "$up"
run_nmig check
expect_exit 0 "check after restoring the file"
expect_stdout_equals "$nocache_check" "restored: the original output again"

# a transaction mode change makes another SQL check
idx=migrations/20261126092000_users_email_index.up.sql
orig_idx=$(cat "$idx")
edit "$idx" "${orig_idx//-- nmig:transaction off/}"
run_nmig check
expect_exit 3 "CONCURRENTLY without 'transaction off' is an error, warm or not"
expect_stderr_contains "cannot run inside a transaction block" \
	"the transaction-mode error is found though the SQL is unchanged"
edit "$idx" "$orig_idx"
run_nmig check
expect_exit 0 "the index migration restored"
expect_stdout_equals "$nocache_check" "restored: same output"

# lint levels from nmig.conf are part of the lint key
printf 'lint.prefer-text = off\nlint.require-concurrent-index-creation = warning\n' >nmig.conf
run_nmig --no-cache check
want=$out
run_nmig check
expect_stdout_equals "$want" "lint levels changed: same output as --no-cache"
run_nmig check
expect_stdout_equals "$want" "lint levels changed, warm: same output"
rm nmig.conf

# --- a corrupt cache file ----------------------------------------------
printf 'this is not a SQLite database, just some bytes ...........\n' >.nmig/cache.db
run_nmig history
expect_exit 0 "history with a corrupt cache"
expect_stdout_equals "$nocache_history" "corrupt cache: correct output"
expect_stderr_contains "warning: plan cache '.nmig/cache.db'" "corrupt cache: a warning"
expect_stderr_contains "moved it to '.nmig/cache.db.bad-" "corrupt cache: set aside"
run_nmig history
expect_exit 0 "history after the cache was rebuilt"
expect_stderr_empty "rebuilt: no more warning"
expect_stdout_equals "$nocache_history" "rebuilt: correct output"
run_nmig -vv heads
expect_stderr_contains ": 10 hits, 0 misses" "rebuilt: served from the new cache"
run_nmig cache info
expect_stdout_contains "set aside:" "cache info lists the set-aside file"

printf 'garbage again, garbage again, garbage again, garbage again\n' >.nmig/cache.db
run_nmig -q heads
expect_exit 0 "-q heads with a corrupt cache"
expect_stderr_empty "-q: the cache warning is not printed"

# --- an unusable location ----------------------------------------------
printf 'not a directory\n' >blocker
printf 'cache = blocker/cache.db\n' >nmig.conf
run_nmig check
expect_exit 0 "check with an unusable cache location"
expect_stdout_equals "$nocache_check" "unusable location: same output"
expect_stderr_contains "cannot use the plan cache" "unusable location: a warning"
expect_stderr_contains "running without it" "unusable location: runs without it"
if [ -d /proc/self ]; then
	printf 'cache = /proc/nmig-test/cache.db\n' >nmig.conf
	run_nmig history
	expect_exit 0 "history with the cache in read-only /proc"
	expect_stdout_equals "$nocache_history" "read-only location: same output"
	expect_stderr_contains "cannot use the plan cache" "read-only location: a warning"
fi
if [ "$(id -u)" -ne 0 ]; then
	mkdir rodir
	chmod 555 rodir
	printf 'cache = rodir/cache.db\n' >nmig.conf
	run_nmig heads
	expect_exit 0 "heads with the cache in a read-only directory"
	expect_stderr_contains "cannot use the plan cache" "read-only directory: a warning"
	chmod 755 rodir
else
	echo "NOTE: running as root: a read-only directory is writable; /proc stands in" >&2
fi
rm -f nmig.conf

# --- passwords never reach the cache -----------------------------------
cd "$T" || exit 1
mkdir secret
cd secret || exit 1
mkdir migrations
printf -- '-- nmig:parents base\n-- nmig:message create the app role\n\nCREATE ROLE app LOGIN PASSWORD '"'"'canaryPW-sql'"'"';\n' \
	>migrations/001_role.up.sql
printf -- '-- nmig:parents 001\n-- nmig:message reach postgresql://app:canaryPW-header@db/x\n\nSELECT 1;\n' \
	>migrations/002_note.up.sql
printf -- '-- nmig:parents 002\n\nCREATE TABLE t (id bigint PRIMARY KEY);\n' \
	>migrations/003_t.up.sql
printf 'DROP TABLE t;\n' >migrations/003_t.down.sql
printf 'connect_timeout = 300ms\n' >nmig.conf
printf 'DATABASE_URL=postgresql://app:canaryPW-dotenv@127.0.0.1:1/x\n' >.env
backdate migrations/*
for cmd in heads history check branches; do
	run_nmig_env DATABASE_URL=postgresql://app:canaryPW-env@127.0.0.1:1/x -- "$cmd"
	run_nmig "$cmd"
done
run_nmig check
expect_file .nmig/cache.db "the cache was written"
files=$(cache_count files)
[ "$files" -ge 2 ]
check $? "files without secrets are cached ($files entries)"
leaks=$(grep -l -a canaryPW .nmig/* 2>/dev/null)
[ -z "$leaks" ]
check $? "no password in the cache files" "found in: $leaks"

finish
