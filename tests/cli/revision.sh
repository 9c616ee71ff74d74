#!/usr/bin/env bash
# revision.sh: `nmig revision` and `nmig merge` -- ids from the UTC clock
# (NMIG_NOW pins it) bumped on collision, slugs, parents (single head,
# --parent by id or prefix, base), the several-heads refusal, --rev-id,
# --no-transaction, --empty, --json, project templates, and merges.
. "$(dirname "$0")/lib.sh"
cli_init

NOW=1795683600 # 2026-11-26 09:00:00 UTC
mkdir -p p/migrations && cd p || exit 1

run_nmig_env NMIG_NOW=$NOW -- revision -m "Create Users!"
expect_exit 0 "first revision"
expect_stdout_equals "migrations/20261126090000_create_users.up.sql
migrations/20261126090000_create_users.down.sql" "paths of the first revision"
up=migrations/20261126090000_create_users.up.sql
expect_file_contains $up "-- nmig:parents base" "the first revision's parent is base"
expect_file_contains $up "-- nmig:message Create Users!" "the message is kept as written"
expect_file_not_contains $up "{{" "no placeholder left in the up file"
expect_file_lines $up "-- nmig:transaction off" 0 "transactional: no transaction line"
expect_eq "$(sed -n 3p $up)" "-- Write the forward migration below. It runs in one transaction unless the" \
	"the dropped {{transaction}} line leaves no blank line"
expect_file_contains migrations/20261126090000_create_users.down.sql \
	"Undo 20261126090000 (Create Users!)" "the down template was rendered"

# Same clock again: the id moves on by a second; the parent is the head.
run_nmig_env NMIG_NOW=$NOW -- revision -m "create tasks"
expect_exit 0 "second revision at the same time"
expect_stdout_contains "migrations/20261126090001_create_tasks.up.sql" "the id was bumped by one second"
expect_file_contains migrations/20261126090001_create_tasks.up.sql \
	"-- nmig:parents 20261126090000" "the parent is the single head"

# A branch with --parent by prefix, non-transactional.
run_nmig_env NMIG_NOW=$NOW -- revision -m "email index" --parent 2026112609000 --no-transaction
expect_exit 4 "an ambiguous --parent prefix"
expect_stderr_contains "ambiguous" "ambiguous prefix message"
run_nmig_env NMIG_NOW=$NOW -- revision -m "email index" --parent 20261126090000 --no-transaction
expect_exit 0 "revision with --parent and --no-transaction"
idx=migrations/20261126090002_email_index.up.sql
expect_file $idx "branch revision written"
expect_file_contains $idx "-- nmig:transaction off" "--no-transaction writes the header line"
expect_file_contains $idx "-- nmig:parents 20261126090000" "--parent by full id"

# Now there are two heads: a plain revision must refuse, listing them.
run_nmig_env NMIG_NOW=$NOW -- revision -m "more"
expect_exit 4 "revision with two heads"
expect_stderr_contains "error: there are 2 heads: '20261126090001', '20261126090002'" "the heads are listed"
expect_stderr_contains "hint: merge them first with 'nmig merge', or pass --parent" "several heads hint"
expect_stdout_empty "nothing created"
run_nmig check
expect_stdout_contains "checked 3 revisions" "no file was written by the refusal"

# Several --parent: a merge written by hand, parents in plan order.
run_nmig_env NMIG_NOW=$NOW -- revision -m "join by hand" --parent 20261126090002 --parent 20261126090001 --rev-id 000100 --json
expect_exit 0 "revision with two parents"
expect_json "revision --json"
expect_json_eq 'd["id"]' 000100 "--json id"
expect_json_eq 'd["up"]' migrations/000100_join_by_hand.up.sql "--json up path"
expect_json_eq 'd["down"]' migrations/000100_join_by_hand.down.sql "--json down path"
expect_json_eq 'd["parents"]' '["20261126090001", "20261126090002"]' "--json parents"
expect_file_contains migrations/000100_join_by_hand.up.sql \
	"-- nmig:parents 20261126090001 20261126090002" "both parents in the header"
run_nmig heads
expect_stdout_equals "000100 (head) join by hand" "one head after the hand-made merge"

# --rev-id refusals.
run_nmig revision -m x --rev-id 000100
expect_exit 1 "--rev-id that exists"
expect_stderr_contains "error: revision '000100' exists already" "existing id message"
for bad in "a_b" "a/b" "a b" "a,b" "a:b" "head" "-5"; do
	run_nmig revision -m x --rev-id "$bad"
	expect_exit 2 "--rev-id '$bad' refused"
	expect_stderr_contains "invalid revision id" "--rev-id '$bad' message"
done
run_nmig revision -m x --rev-id ""
expect_exit 2 "empty --rev-id"

# Messages.
run_nmig revision -m "two
lines"
expect_exit 2 "a message with a newline"
expect_stderr_contains "error: the message must be a single line" "newline message"
run_nmig revision -m "$(printf 'bad \xff byte')"
expect_exit 2 "a message that is not UTF-8"
expect_stderr_contains "the message must be UTF-8 text without control characters" "invalid UTF-8 message"
run_nmig revision -m "$(printf 'colour \033[31m red')"
expect_exit 2 "a message with an escape character"
run_nmig revision -m "   "
expect_exit 2 "a blank message"
run_nmig revision
expect_exit 2 "no message"
expect_stderr_contains "error: a message is required" "missing -m message"
run_nmig revision -m a extra
expect_exit 2 "an extra argument"
expect_stderr_contains "unexpected argument 'extra'" "extra argument named"

# Slugs: lower case, runs of other bytes to one '_', trimmed, 48 chars.
run_nmig_env NMIG_NOW=$NOW -- revision -m "  Add ÜBER-cool   index (v2)!  " --rev-id s1
expect_stdout_contains "migrations/s1_add_ber_cool_index_v2.up.sql" "slug of a messy message"
run_nmig revision -m "!!!" --rev-id s2
expect_stdout_contains "migrations/s2_revision.up.sql" "an empty slug becomes 'revision'"
long="one two three four five six seven eight nine ten eleven twelve"
run_nmig revision -m "$long" --rev-id s3
slug=$(basename "$(printf '%s\n' "$out" | head -1)" .up.sql)
slug=${slug#s3_}
[ ${#slug} -le 48 ] && [ "${slug%_}" = "$slug" ]
check $? "a long slug is cut to 48 characters without a trailing '_'" "slug '$slug'"
expect_eq "$slug" "one_two_three_four_five_six_seven_eight_nine_ten" "the long slug"

# --parent base starts a second root; unknown parents are refused.
run_nmig revision -m "second root" --parent base --rev-id r2
expect_exit 0 "--parent base"
expect_file_contains migrations/r2_second_root.up.sql "-- nmig:parents base" "a new root"
run_nmig revision -m x --parent 99999999
expect_exit 4 "an unknown --parent"
expect_stderr_contains "99999999" "the unknown parent is named"

# --empty writes only the header.
run_nmig revision -m "placeholder" --parent s3 --rev-id e1 --empty --no-transaction
expect_exit 0 "--empty"
expect_stdout_equals "migrations/e1_placeholder.up.sql
migrations/e1_placeholder.down.sql" "--empty paths"
expect_eq "$(cat migrations/e1_placeholder.up.sql)" "-- nmig:parents s3
-- nmig:message placeholder
-- nmig:transaction off" "--empty up file is the header only"
run_nmig check
expect_exit 0 "everything written so far checks clean"

# An unwritable directory fails cleanly (root writes anyway: not tested).
if [ "$(id -u)" -ne 0 ]; then
	chmod a-w migrations
	run_nmig revision -m "cannot write" --parent e1 --rev-id w1
	expect_exit 3 "an unwritable migrations directory"
	expect_stderr_contains "cannot create 'migrations/w1_cannot_write.up.sql'" "unwritable dir message"
	chmod u+w migrations
else
	echo "NOTE: running as root: the unwritable-directory case is not tested" >&2
fi
cd "$T" || exit 1

# Project templates from the config.
proj=$(fixture templates_project)
cd "$proj" || exit 1
run_nmig_env NMIG_NOW=$NOW -- revision -m "With template"
expect_exit 0 "revision with project templates"
expect_stdout_contains "db/20261126090000_with_template.up.sql" "templates project writes to its dir"
up=db/20261126090000_with_template.up.sql
expect_file_contains $up "-- 20261126090000 created 2026-11-26T09:00:00Z (with_template)" "{{id}} {{date}} {{slug}} rendered"
expect_file_contains $up "SET search_path = app;" "template body kept"
expect_file_lines $up "" 0 "no blank line for {{transaction}}"
expect_eq "$(cat db/20261126090000_with_template.down.sql)" \
	"-- revert 20261126090000: With template" "the down template"
run_nmig_env NMIG_NOW=$NOW -- revision -m "tx off" --no-transaction
expect_file_contains db/20261126090001_tx_off.up.sql "-- nmig:transaction off" "{{transaction}} in a project template"
echo "-- {{author}}" >>tpl/up.sql
run_nmig revision -m x --rev-id t3
expect_exit 9 "an unknown placeholder"
expect_stderr_contains "tpl/up.sql:6: unknown placeholder '{{author}}'" "unknown placeholder with file:line"
expect_stderr_contains "hint: known placeholders" "placeholder hint"
printf -- '-- {{message}}\nSELECT 1;\n' >tpl/up.sql
run_nmig revision -m x --rev-id t4
expect_exit 9 "a template without the parents header"
expect_stderr_contains "the template 'tpl/up.sql' does not write the header nmig needs" "missing header message"
expect_no_file db/t4_x.up.sql "nothing written for a bad template"
rm tpl/up.sql
run_nmig revision -m "builtin up" --rev-id t5 --parent 20261126090001
expect_exit 0 "a missing up.sql falls back to the built-in one"
expect_file_contains db/t5_builtin_up.up.sql "Write the forward migration below" "built-in up template used"
expect_file_contains db/t5_builtin_up.down.sql "-- revert t5" "project down template still used"
rm -r tpl
run_nmig revision -m x --rev-id t6 --parent t5
expect_exit 9 "templates directory missing"
expect_stderr_contains "templates directory 'tpl' does not exist" "missing templates dir message"
cd "$T" || exit 1

# Merges.
br=$(fixture branchy)
run_nmig --dir "$br" merge --rev-id 004
expect_exit 0 "merge of all heads"
expect_stdout_equals "branchy/004_merge_002_and_003.up.sql
branchy/004_merge_002_and_003.down.sql" "merge paths and default message slug"
expect_file_contains branchy/004_merge_002_and_003.up.sql "-- nmig:parents 002 003" "merge parents"
expect_file_contains branchy/004_merge_002_and_003.up.sql "-- nmig:message merge 002 and 003" "merge default message"
expect_file branchy/004_merge_002_and_003.down.sql "a merge is reversible"
run_nmig --dir "$br" heads
expect_stdout_equals "004 (head) merge 002 and 003" "one head after the merge"
run_nmig --dir "$br" check
expect_exit 0 "the merge checks clean"
run_nmig --dir "$br" merge
expect_exit 1 "merge with a single head"
expect_stderr_contains "error: nothing to merge: there is a single head" "single head message"

br=$(fixture branchy b2)
run_nmig --dir "$br" merge -m "join left and right" --json 002 003
expect_exit 0 "merge of named revisions"
expect_json "merge --json"
expect_json_eq 'd["parents"]' '["002", "003"]' "merge --json parents"
expect_json_eq 'd["message"]' "join left and right" "merge --json message"
run_nmig --dir "$br" merge 001 002 --rev-id 010
expect_exit 2 "merge of a revision with its ancestor"
expect_stderr_contains "error: revision '001' is an ancestor of another revision to merge" "ancestor message"
run_nmig --dir "$br" merge 002 --rev-id 010
expect_exit 2 "merge of one revision"
expect_stderr_contains "a merge needs two or more distinct revisions" "one revision message"
run_nmig --dir "$br" merge 002 nope
expect_exit 4 "merge of an unknown revision"

finish
