#!/usr/bin/env bash
# globals_db.sh: the global flags after the command name on the database
# commands, as the docs promise (`current [--json]`, `doctor [--json]`).
set -u
. "$(dirname "$0")/../db_lib.sh"
db_init
db_create g
DATABASE_URL=$(db_url g)
export DATABASE_URL
mig=$NMIG_SOURCE_DIR/migrations
cd "$DB_TMP" || exit 1

run_nmig --dir "$mig" --no-cache upgrade --json
expect_rc 0 "upgrade --json"
expect_out_contains '"direction":"up"' "upgrade --json prints JSON"
run_nmig --dir "$mig" --no-cache current --json
expect_rc 0 "current --json"
expect_out_contains '"current":' "current --json prints JSON"
run_nmig --dir "$mig" --no-cache current -v
expect_rc 0 "current -v"
expect_out_contains "applied (5):" "current -v lists the applied revisions"
run_nmig --dir "$mig" --no-cache doctor --json
expect_out_contains '"status"' "doctor --json prints JSON"
run_nmig --dir "$mig" downgrade -1 --json -q --no-cache
expect_rc 0 "downgrade -1 --json -q"
db_finish
