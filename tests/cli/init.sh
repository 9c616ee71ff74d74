#!/usr/bin/env bash
# init.sh: `nmig init` -- the migrations directory, a commented nmig.conf
# that names DATABASE_URL and never holds a URL, .gitignore lines added
# once, refusal to replace a config, and a project that works right after.
. "$(dirname "$0")/lib.sh"
cli_init

mkdir fresh && cd fresh || exit 1
run_nmig init
expect_exit 0 "init in an empty directory"
expect_dir migrations "init created migrations/"
expect_file nmig.conf "init created nmig.conf"
expect_file .gitignore "init created .gitignore"
expect_stdout_contains "created migrations/" "init says it created migrations/"
expect_stdout_contains "created nmig.conf" "init says it created nmig.conf"
expect_stdout_contains "created .gitignore (.env, .nmig/)" "init says what went into .gitignore"
expect_file_contains nmig.conf "url_env = DATABASE_URL" "nmig.conf names DATABASE_URL"
expect_file_contains nmig.conf "dir = migrations" "nmig.conf names the directory"
expect_file_not_contains nmig.conf "://" "nmig.conf holds no URL"
expect_file_lines .gitignore ".env" 1 ".gitignore has .env once"
expect_file_lines .gitignore ".nmig/" 1 ".gitignore has .nmig/ once"

# The config it wrote loads, and the project works at once.
run_nmig check
expect_exit 0 "check right after init"
expect_stdout_contains "checked 0 revisions: 0 errors, 0 warnings" "an empty project checks clean"
run_nmig heads
expect_exit 0 "heads of an empty project"
expect_stdout_empty "no heads yet"

# A second init refuses and changes nothing.
cp nmig.conf ../conf.before
cp .gitignore ../ignore.before
run_nmig init
expect_exit 1 "init refuses an existing nmig.conf"
expect_stderr_contains "error: 'nmig.conf' exists already" "refusal names nmig.conf"
expect_stderr_contains "hint:" "refusal has a hint"
cmp -s nmig.conf ../conf.before
check $? "nmig.conf unchanged by the refused init"
cmp -s .gitignore ../ignore.before
check $? ".gitignore unchanged by the refused init"
cd "$T" || exit 1

# An existing .gitignore keeps its lines; only missing ones are added, and
# a last line without a newline is not glued to the new one.
mkdir existing && cd existing || exit 1
printf 'node_modules/\n/.env' >.gitignore
run_nmig init db/migrations
expect_exit 0 "init DIR with a nested directory"
expect_dir db/migrations "init created db/migrations"
expect_file_contains nmig.conf "dir = db/migrations" "nmig.conf names db/migrations"
expect_stdout_contains "updated .gitignore (.nmig/)" "only .nmig/ was added"
expect_file_lines .gitignore "node_modules/" 1 "existing lines kept"
expect_file_lines .gitignore "/.env" 1 "the existing /.env line kept"
expect_file_lines .gitignore ".env" 0 "no second .env line"
expect_file_lines .gitignore ".nmig/" 1 ".nmig/ added on its own line"
run_nmig revision -m "first"
expect_exit 0 "revision in the new project"
expect_stdout_matches '^db/migrations/[0-9]{14}_first\.up\.sql$' "revision went to db/migrations"
cd "$T" || exit 1

# Everything already there: the directory is kept, .gitignore untouched.
mkdir again && cd again || exit 1
mkdir migrations
printf '.env\n.nmig/\n' >.gitignore
run_nmig --dir migrations init
expect_exit 0 "init with an existing directory"
expect_stdout_contains "kept migrations/ (it exists)" "init says it kept the directory"
expect_stdout_not_contains ".gitignore" "nothing to add to .gitignore"
expect_file_lines .gitignore ".env" 1 ".env still once"
run_nmig -q init
expect_exit 1 "quiet init still refuses"
cd "$T" || exit 1

# A file where the directory should go.
mkdir clash && cd clash || exit 1
: >migrations
run_nmig init
expect_exit 3 "init when 'migrations' is a file"
expect_stderr_contains "'migrations' exists and is not a directory" "clash message"
expect_no_file nmig.conf "no config written after the failure"
cd "$T" || exit 1

# --config elsewhere: the project is the config file's directory.
mkdir app
run_nmig --config app/nmig.conf init db
expect_exit 0 "init with --config in a subdirectory"
expect_dir app/db "the migrations directory made beside the config"
expect_file app/.gitignore ".gitignore made beside the config"
expect_stdout_contains "created app/db/" "init names app/db"
expect_stdout_contains "created app/.gitignore (.env, .nmig/)" "init names app/.gitignore"
run_nmig --config app/nmig.conf revision -m "in app" --rev-id 1
expect_exit 0 "the config written by init works from elsewhere"
expect_stdout_contains "app/db/1_in_app.up.sql" "revision went to app/db"

run_nmig init a b
expect_exit 2 "init with two arguments"
expect_stderr_contains "unexpected argument 'b'" "init refuses a second argument"

finish
