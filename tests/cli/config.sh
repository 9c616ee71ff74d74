#!/usr/bin/env bash
# config.sh: nmig.conf as the commands see it -- found in the current
# directory or named with --config, `dir` relative to the config file,
# --dir and --url-env winning over it, bad values with file:line, and a
# password or URL in the config refused (exit 9) without echoing it.
. "$(dirname "$0")/lib.sh"
cli_init

secret=canaryPW4711
mkdir -p proj/db && cp "$NMIG_SOURCE_DIR"/migrations/*.sql proj/db/
cd proj || exit 1

# dir from nmig.conf in the current directory.
printf '# test project\ndir = db\n' >nmig.conf
run_nmig heads
expect_exit 0 "heads with dir from nmig.conf"
expect_stdout_equals "20261126094000 (head) add task due date" "dir = db was used"
run_nmig heads -v
run_nmig heads --json
expect_json_eq 'd[0]["up"]' db/20261126094000_add_task_due_date.up.sql "paths relative as given"

# --dir wins over the config.
mkdir other
run_nmig --dir other heads
expect_exit 0 "--dir over the config"
expect_stdout_empty "--dir other (empty) was used, not db"

# --config FILE: dir relative to the config file's directory.
cd "$T" || exit 1
run_nmig --config proj/nmig.conf history
expect_exit 0 "--config from another directory"
expect_stdout_contains "<base> -> 20261126090000 (branchpoint), create users" "dir resolved beside the config"
run_nmig --config proj/nmig.conf heads --json
expect_json_eq 'd[0]["up"]' proj/db/20261126094000_add_task_due_date.up.sql "path joined onto the config directory"
run_nmig --config nope.conf heads
expect_exit 9 "--config that does not exist"
expect_stderr_contains "error: cannot read config file 'nope.conf'" "missing config message"
cd proj || exit 1

# A password in the config: refused, exit 9, never echoed.
printf 'dir = db\nurl_env = DATABASE_URL\npassword = %s\n' "$secret" >nmig.conf
run_nmig heads
expect_exit 9 "a password key is refused"
expect_stderr_contains "error: nmig.conf:3: the config file must not hold a password" "password refusal message"
expect_stderr_contains "hint: put the URL in the environment (DATABASE_URL) or in .env, and set url_env if it has another name" "password hint"
expect_output_lacks "$secret" "the password is not echoed"
expect_stdout_empty "nothing on stdout"

printf 'dir = db\nurl = postgres://app:%s@db.example.com/app\n' "$secret" >nmig.conf
run_nmig check
expect_exit 9 "a URL with a password is refused"
expect_stderr_contains "error: nmig.conf:2: the config file must not hold a password" "URL refusal message"
expect_output_lacks "$secret" "the URL's password is not echoed"

printf 'database_url = "postgresql://app:%s@h/d?sslmode=require"\n' "$secret" >nmig.conf
run_nmig history
expect_exit 9 "database_url with a password is refused"
expect_output_lacks "$secret" "database_url's password is not echoed"

printf 'url = postgres://app@db.example.com/app\n' >nmig.conf
run_nmig heads
expect_exit 9 "a URL without a password is refused too"
expect_stderr_contains "must not hold the database URL" "URL refusal message"
expect_output_lacks "db.example.com" "the URL is not echoed"

# Bad values name file:line and say what is expected.
printf 'dir = db\nlock_timeout = soon\n' >nmig.conf
run_nmig heads
expect_exit 9 "a bad duration"
expect_stderr_contains "error: nmig.conf:2: invalid duration 'soon' for 'lock_timeout'" "bad duration message"
expect_stderr_contains "hint: write a duration such as 500ms, 5s or 2min" "bad duration hint"
printf 'dir = db\nstatment_timeout = 5s\n' >nmig.conf
run_nmig heads
expect_exit 9 "an unknown key"
expect_stderr_contains "error: nmig.conf:2: unknown key 'statment_timeout'" "unknown key message"
expect_stderr_contains "detail: known keys: dir, url_env" "known keys listed"
expect_stderr_contains "hint: did you mean 'statement_timeout'?" "a suggestion"
printf 'dir = db\nurl_env = my url\n' >nmig.conf
run_nmig heads
expect_exit 9 "a bad url_env"
expect_stderr_contains "'url_env' must name an environment variable" "url_env message"

# --url-env is checked like the config value; init needs no config.
printf 'dir = db\n' >nmig.conf
run_nmig --url-env "not a name" heads
expect_exit 9 "a bad --url-env"
expect_stderr_contains "'url_env' must name an environment variable" "--url-env message"
run_nmig --url-env APP_URL heads
expect_exit 0 "a good --url-env"

# A password given on the command line is refused or masked, never printed.
run_nmig --dir "postgres://app:$secret@db.example.com/app" heads
expect_exit 9 "a URL with a password as --dir"
expect_stderr_contains "error: 'dir' must not hold a password" "--dir password message"
expect_output_lacks "$secret" "the --dir password is not printed"
run_nmig show "postgres://app:$secret@db.example.com/app"
expect_exit 4 "a URL as a revision"
expect_stderr_contains "postgres://app:***@db.example.com/app" "the password is masked"
expect_output_lacks "$secret" "the password is not printed"

# DATABASE_URL in the environment never shows up in the output.
run_nmig_env "DATABASE_URL=postgres://app:$secret@db.example.com/app" -- history -v
expect_exit 0 "history with DATABASE_URL set"
expect_output_lacks "$secret" "DATABASE_URL's password is not printed"

finish
