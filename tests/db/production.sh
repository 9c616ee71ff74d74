#!/usr/bin/env bash
# Database test: production guards. With NMIG_ENV or NODE_ENV set to
# production (or prod, in any case, surrounding blanks ignored), downgrade,
# stamp and repair (and test, when the command exists) refuse with exit 10
# and change nothing, unless --allow-production; any other value is not
# production; dry runs are allowed. upgrade proceeds without a prompt but
# first prints, on stderr, the target user@host:port/db and its plan (each
# revision), or only the target when the run is going to refuse. The password never appears
# (run_nmig's canary check).
. "$(dirname "$0")/../db_lib.sh"
db_init

proj=$(project_dir proj)
cp -r "$NMIG_SOURCE_DIR/migrations" "$proj/"
cd "$proj" || exit 1
db_create prod
name=$(db_name prod)
DATABASE_URL=$(db_url prod)
export DATABASE_URL
target="postgres@127.0.0.1:$PGPORT/$name"

applied() {
	applied_revs prod | tr '\n' ' ' | sed 's/ $//'
}
all5="20261126090000 20261126091000 20261126092000 20261126093000 20261126094000"

### upgrade in production: the target and the plan first, then the run
NMIG_ENV=production run_nmig upgrade 20261126091000
expect_rc 0 "upgrade runs in production"
expect_err_contains "production (NMIG_ENV is 'production'): upgrading $target to 20261126091000: 2 revisions" "target and plan size on stderr"
expect_err_contains "  apply 20261126090000 create users" "first plan line"
expect_err_contains "  apply 20261126091000 create tasks" "second plan line"
expect_eq "$(grep -c '^  apply ' "$DB_TMP/err")" 2 "one line per revision"
expect_out_contains "applied 20261126090000" "then it ran"
expect_eq "$(applied)" "20261126090000 20261126091000" "two revisions applied"

NODE_ENV=production run_nmig upgrade
expect_rc 0 "upgrade with NODE_ENV=production"
expect_err_contains "production (NODE_ENV is 'production'): upgrading $target to head: 3 revisions" "NODE_ENV is named"
expect_err_contains "  apply 20261126092000 users email index (outside a transaction)" "a non-transactional revision is marked"
expect_err_contains "  apply 20261126094000 add task due date" "the last revision"
# the plan comes in plan order
order=$(grep '^  apply ' "$DB_TMP/err" | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')
expect_eq "$order" "20261126092000 20261126093000 20261126094000" "the plan in plan order"
expect_eq "$(applied)" "$all5" "all applied"

NMIG_ENV=production run_nmig upgrade
expect_rc 0 "up to date in production"
expect_err_contains "upgrading $target to head: nothing to apply" "nothing to apply is said"
expect_out_contains "nothing to do" "the run agrees"

NMIG_ENV=production run_nmig upgrade --dry-run
expect_rc 0 "a dry run in production"
expect_err_lacks "production (" "a dry run prints no announcement"

run_nmig upgrade
expect_rc 0 "upgrade outside production"
expect_err_lacks "production" "no announcement outside production"
NMIG_ENV=staging NODE_ENV=development run_nmig upgrade
expect_err_lacks "production" "other environment names are not production"

### downgrade
NMIG_ENV=production run_nmig downgrade base
expect_rc 10 "downgrade refused in production"
expect_err_contains "error: refusing to downgrade in production (NMIG_ENV is 'production')" "the refusal names the variable"
expect_err_contains "--allow-production" "the override is named"
expect_eq "$(applied)" "$all5" "nothing reverted"
NODE_ENV=production run_nmig downgrade -1
expect_rc 10 "downgrade refused with NODE_ENV=production"
expect_err_contains "(NODE_ENV is 'production')" "NODE_ENV named"
expect_eq "$(applied)" "$all5" "still nothing reverted"
NMIG_ENV=production run_nmig downgrade -1 --dry-run
expect_rc 0 "a downgrade dry run is allowed"
expect_eq "$(applied)" "$all5" "the dry run changed nothing"
NMIG_ENV=production run_nmig downgrade -1 --allow-production
expect_rc 0 "downgrade with --allow-production"
expect_eq "$(applied)" "20261126090000 20261126091000 20261126092000 20261126093000" "one revision reverted"
NMIG_ENV=development run_nmig downgrade 20261126090000
expect_rc 0 "downgrade outside production"
expect_eq "$(applied)" "20261126090000" "back to the first revision"

### the value is compared without case and surrounding blanks; prod too
for v in Production PRODUCTION prod Prod " production " "	PROD
"; do
	shown=$(printf '%s' "$v" | tr -d ' \t\n')
	NMIG_ENV=$v run_nmig downgrade base
	expect_rc 10 "downgrade refused with NMIG_ENV='$shown'"
	expect_err_contains "refusing to downgrade in production (NMIG_ENV is '$shown')" "NMIG_ENV='$shown' is named, trimmed"
	NODE_ENV=$v run_nmig stamp base
	expect_rc 10 "stamp refused with NODE_ENV='$shown'"
	NMIG_ENV=$v run_nmig upgrade 20261126090000
	expect_rc 0 "upgrade with NMIG_ENV='$shown'"
	expect_err_contains "production (NMIG_ENV is '$shown'): upgrading $target to 20261126090000: nothing to apply" "upgrade announces with NMIG_ENV='$shown'"
done
expect_eq "$(applied)" "20261126090000" "nothing reverted or stamped"
for v in production1 preprod "prod uction" producti staging; do
	NMIG_ENV=$v run_nmig upgrade 20261126090000
	expect_err_lacks "production (" "NMIG_ENV='$v' is not production"
done
NMIG_ENV=staging NODE_ENV=Prod run_nmig stamp base
expect_rc 10 "NODE_ENV=Prod counts when NMIG_ENV is something else"
expect_err_contains "(NODE_ENV is 'Prod')" "NODE_ENV named"
if "$NMIG" help test >/dev/null 2>&1; then
	NMIG_ENV=Production run_nmig test
	expect_rc 10 "test refused with NMIG_ENV=Production"
	NODE_ENV=prod run_nmig test
	expect_rc 10 "test refused with NODE_ENV=prod"
fi
run_nmig --json doctor
expect_out_contains '"production":null' "doctor --json outside production"
NMIG_ENV=PROD run_nmig --json doctor
expect_out_contains '"production":"NMIG_ENV"' "doctor --json sees NMIG_ENV=PROD"

### upgrade that will refuse: only the target is announced
psql_q prod "update schema_version set checksum = 'edited' where revision = '20261126090000'" >/dev/null
NMIG_ENV=production run_nmig upgrade
expect_rc 7 "drift refuses the upgrade in production too"
expect_err_contains "production (NMIG_ENV is 'production'): upgrading $target to head" "the target is still announced"
expect_err_lacks "  apply " "no plan for a refused run"
expect_err_contains "was edited after it was applied" "the run says why"

### repair
NMIG_ENV=production run_nmig repair --checksums
expect_rc 10 "repair refused in production"
expect_err_contains "refusing to repair in production" "repair refusal"
expect_eq "$(psql_q prod "select checksum from schema_version where revision = '20261126090000'")" edited "the checksum was not touched"
NODE_ENV=production run_nmig repair --checksums
expect_rc 10 "repair refused with NODE_ENV=production"
NMIG_ENV=production run_nmig repair --checksums --allow-production
expect_rc 0 "repair with --allow-production"
expect_ne "$(psql_q prod "select checksum from schema_version where revision = '20261126090000'")" edited "the checksum was re-recorded"

### stamp
NMIG_ENV=production run_nmig stamp head
expect_rc 10 "stamp refused in production"
expect_err_contains "refusing to stamp in production (NMIG_ENV is 'production')" "stamp refusal"
expect_eq "$(applied)" "20261126090000" "nothing stamped"
NODE_ENV=production run_nmig stamp head
expect_rc 10 "stamp refused with NODE_ENV=production"
expect_eq "$(applied)" "20261126090000" "still nothing stamped"
NMIG_ENV=production run_nmig stamp head --allow-production
expect_rc 0 "stamp with --allow-production"
expect_eq "$(applied)" "$all5" "stamped to head"

### test (the scratch-database command), when this build has it
if "$NMIG" help test >/dev/null 2>&1; then
	NMIG_ENV=production run_nmig test
	expect_rc 10 "test refused in production"
	expect_err_contains "production" "the test refusal says why"
	NODE_ENV=production run_nmig test
	expect_rc 10 "test refused with NODE_ENV=production"
else
	echo "SKIP (not counted): this build has no 'nmig test' command" >&2
fi

db_finish
