#!/usr/bin/env bash
# offline_db.sh: check, history, lint and graph read files only; a database
# URL that is merely set (in the environment or in .env) is never used, so
# a server that is down cannot fail them. --db asks the database.
set -u
. "$(dirname "$0")/lib.sh"
cli_init
dir=$(examples)
cd "$T" || exit 1
down="postgres://app:s3cret-canary@127.0.0.1:1/app"
nopg=(PGHOST= PGHOSTADDR= PGPORT= PGUSER= PGDATABASE= PGSERVICE=)

for cmd in check history lint "history --graph" graph; do
	# shellcheck disable=SC2086
	run_nmig_env DATABASE_URL="$down" "${nopg[@]}" -- --dir "$dir" $cmd
	expect_exit 0 "$cmd with an unreachable DATABASE_URL set and no --db"
	expect_stderr_not_contains "cannot connect" "$cmd does not try the database"
	expect_stderr_not_contains "applied revisions" "$cmd gives no database warning"
	expect_output_lacks "s3cret-canary" "$cmd never shows the password"
done

# the same with the URL in .env beside the project
mkdir -p envproj
cp -R "$dir" envproj/migrations
printf 'DATABASE_URL=%s\n' "$down" >envproj/.env
cd envproj || exit 1
run_nmig_env "${nopg[@]}" -- check
expect_exit 0 "check with an unreachable URL in .env and no --db"
run_nmig_env "${nopg[@]}" -- check --db
expect_exit 5 "check --db: the unreachable database is exit 5"
expect_stderr_contains "[db-connect]" "a db-connect finding"
expect_output_lacks "s3cret-canary" "the password is never shown"
run_nmig_env "${nopg[@]}" -- history --db
expect_exit 0 "history --db with the server down: the files are shown"
expect_stderr_contains "warning: cannot read the applied revisions" "with a warning"
run_nmig_env "${nopg[@]}" -- lint --db
expect_exit 0 "lint --db with the server down lints everything"
expect_stderr_contains "warning: cannot read the applied revisions" "with a warning"
cd "$T" || exit 1

# --db without any database named
run_nmig_env DATABASE_URL= "${nopg[@]}" -- --dir "$dir" check --db
expect_exit 5 "check --db with no database URL"
expect_stderr_contains "no database URL" "says there is none"
run_nmig_env DATABASE_URL= "${nopg[@]}" -- --dir "$dir" history --db
expect_exit 0 "history --db with no database URL still lists the files"
expect_stderr_contains "no database URL" "with a warning that says so"
run_nmig --dir "$dir" lint --db --since 20261126090000
expect_exit 2 "lint --db with --since is a usage error"

# --help and completion know --db
for cmd in check history lint graph; do
	run_nmig $cmd --help
	expect_stdout_contains "--db" "$cmd --help lists --db"
done
run_nmig completion bash
expect_stdout_contains "--db" "completion offers --db"

finish
