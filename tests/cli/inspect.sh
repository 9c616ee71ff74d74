#!/usr/bin/env bash
# inspect.sh: the commands that read the history -- heads, branches,
# history (with -r ranges) and show -- in text and --json, on the example
# history in migrations/, a history with two heads, and file names with
# spaces and quotes.
. "$(dirname "$0")/lib.sh"
cli_init

ex=$(examples)

# heads
run_nmig --dir "$ex" heads
expect_exit 0 "heads of the examples"
expect_stdout_equals "20261126094000 (head) add task due date" "one head"
run_nmig --dir "$ex" heads --verbose
expect_stdout_contains "    parents: 20261126093000" "heads --verbose: parents"
expect_stdout_contains "    up:      examples/20261126094000_add_task_due_date.up.sql" "heads --verbose: up path as given"
expect_stdout_contains "    down:    examples/20261126094000_add_task_due_date.down.sql" "heads --verbose: down path"
run_nmig --dir "$ex" --json heads
expect_exit 0 "heads --json (global)"
expect_json "heads --json"
expect_json_eq 'len(d)' 1 "heads --json: one head"
expect_json_eq 'd[0]["id"]' 20261126094000 "heads --json: id"
expect_json_eq 'd[0]["message"]' "add task due date" "heads --json: message"
expect_json_eq 'd[0]["parents"]' '["20261126093000"]' "heads --json: parents"
expect_json_eq 'd[0]["up"]' examples/20261126094000_add_task_due_date.up.sql "heads --json: up"
expect_json_eq 'd[0]["down"]' examples/20261126094000_add_task_due_date.down.sql "heads --json: down"

br=$(fixture branchy)
run_nmig --dir "$br" heads
expect_stdout_equals "002 (head) left branch
003 (head) right branch" "two heads in plan order"
run_nmig --dir "$br" heads --json
expect_json_eq '[h["id"] for h in d]' '["002", "003"]' "heads --json: both heads"
expect_json_eq 'd[1]["down"]' null "heads --json: no down file is null"

mkdir empty
run_nmig --dir empty heads --json
expect_exit 0 "heads of an empty directory"
expect_stdout_equals "[]" "heads --json of nothing is []"

# branches
run_nmig --dir "$ex" branches
expect_exit 0 "branches of the examples"
expect_stdout_equals "20261126090000 -> 20261126091000, 20261126092000, create users" "the branch point line"
run_nmig --dir "$ex" branches --verbose
expect_stdout_contains "    -> 20261126091000, create tasks" "branches --verbose: first child"
expect_stdout_contains "    -> 20261126092000, users email index" "branches --verbose: second child"
run_nmig --dir "$br" branches --json
expect_json "branches --json"
expect_json_eq 'd' '[{"id": "001", "message": "root", "children": ["002", "003"]}]' "branches --json content"
run_nmig --dir empty branches
expect_exit 0 "branches with none"
expect_stdout_empty "no branch points: no output"

# history
run_nmig --dir "$ex" history
expect_exit 0 "history of the examples"
expect_stdout_equals "20261126093000 -> 20261126094000 (head), add task due date
20261126091000, 20261126092000 -> 20261126093000 (mergepoint), merge tasks and index
20261126090000 -> 20261126092000, users email index
20261126090000 -> 20261126091000, create tasks
<base> -> 20261126090000 (branchpoint), create users" "history, newest first, Alembic style"
run_nmig --dir "$br" history
expect_stdout_equals "001 -> 003 (head), right branch
001 -> 002 (head), left branch
<base> -> 001 (branchpoint), root" "history with two heads"

run_nmig --dir "$ex" history --verbose
expect_stdout_contains "    up:            examples/20261126092000_users_email_index.up.sql" "history -v: up path"
expect_stdout_matches '^    up checksum:   [0-9a-f]{64}$' "history -v: checksum"
expect_stdout_contains "    transaction:   off (-- nmig:transaction off)" "history -v: transaction off"
expect_stdout_contains "    transaction:   on" "history -v: transaction on"
run_nmig --dir "$br" history -v
expect_stdout_contains "    down:          none (irreversible)" "history -v: irreversible"

run_nmig --dir "$ex" history --json
expect_exit 0 "history --json"
expect_json "history --json"
expect_json_eq '[r["id"] for r in d]' '["20261126094000", "20261126093000", "20261126092000", "20261126091000", "20261126090000"]' "history --json order"
expect_json_eq 'd[1]["mergepoint"]' true "history --json: mergepoint"
expect_json_eq 'd[4]["branchpoint"]' true "history --json: branchpoint"
expect_json_eq 'd[0]["head"]' true "history --json: head"
expect_json_eq 'd[2]["transactional"]' false "history --json: transactional"
expect_json_eq 'd[4]["parents"]' '[]' "history --json: root parents"
expect_json_eq 'd[4]["children"]' '["20261126091000", "20261126092000"]' "history --json: children"
expect_json_eq 'len(d[0]["up_checksum"])' 64 "history --json: checksum"

# -r A:B -- ancestors of B (B included) that are not ancestors of A.
hist_ids() { printf '%s\n' "$out" | sed -E 's/^.* -> ([^ ,]+).*$/\1/' | tr '\n' ' '; }
run_nmig --dir "$ex" history -r 20261126091000:
expect_exit 0 "history -r A:"
expect_eq "$(hist_ids)" "20261126094000 20261126093000 20261126092000 " "-r 091000: excludes A and its ancestors"
run_nmig --dir "$ex" history -r :20261126092000
expect_eq "$(hist_ids)" "20261126092000 20261126090000 " "-r :092000 is B and its ancestors"
run_nmig --dir "$ex" history -r 20261126090000:20261126093000
expect_eq "$(hist_ids)" "20261126093000 20261126092000 20261126091000 " "-r A:B"
run_nmig --dir "$ex" history --rev-range=2026112609100:head
expect_eq "$(hist_ids)" "20261126094000 20261126093000 20261126092000 " "-r with a prefix and head"
run_nmig --dir "$ex" history -r head:
expect_exit 0 "-r head:"
expect_stdout_empty "nothing after head"
run_nmig --dir "$ex" history -r base:heads
expect_stdout_lines 5 "-r base:heads is everything"
run_nmig --dir "$ex" history -r 2026112609:
expect_exit 4 "-r with an ambiguous prefix"
expect_stderr_contains "ambiguous" "ambiguous prefix message"
run_nmig --dir "$ex" history -r nope:
expect_exit 4 "-r with an unknown revision"
expect_stderr_contains "nope" "the unknown revision is named"
run_nmig --dir "$ex" history -r 20261126090000
expect_exit 2 "-r without ':'"
expect_stderr_contains "error: invalid range '20261126090000'" "invalid range message"
run_nmig --dir "$ex" history -r :20261126092000 --json
expect_json_eq '[r["id"] for r in d]' '["20261126092000", "20261126090000"]' "-r with --json"

# show
run_nmig --dir "$ex" show 20261126092000
expect_exit 0 "show by id"
expect_stdout_contains "revision:       20261126092000" "show: id"
expect_stdout_contains "message:        users email index" "show: message"
expect_stdout_contains "parents:        20261126090000" "show: parents"
expect_stdout_contains "children:       20261126093000" "show: children"
expect_stdout_contains "transactional:  no (-- nmig:transaction off)" "show: transaction off"
expect_stdout_contains "reversible:     yes" "show: reversible"
expect_stdout_contains "up:             examples/20261126092000_users_email_index.up.sql" "show: up path"
expect_stdout_contains "  statements:   1 (IndexStmt)" "show: up statements"
expect_stdout_contains "  statements:   1 (DropStmt)" "show: down statements"
expect_stdout_matches '^  checksum:     [0-9a-f]{64}$' "show: checksum"
run_nmig --dir "$ex" show 20261126090000
expect_stdout_contains "parents:        <base>" "show: base parent"
expect_stdout_contains "marks:          base, branchpoint" "show: marks"
expect_stdout_contains "  statements:   2 (CreateStmt, CommentStmt)" "show: two kinds"
run_nmig --dir "$ex" show 20261126093000
expect_stdout_contains "parents:        20261126091000, 20261126092000" "show: merge parents"
expect_stdout_contains "marks:          mergepoint" "show: mergepoint"
expect_stdout_contains "  statements:   0" "show: an empty merge"
run_nmig --dir "$ex" show head
expect_exit 0 "show head"
expect_stdout_contains "revision:       20261126094000" "show head is the head"
run_nmig --dir "$ex" show 2026112609300 --json
expect_exit 0 "show --json by prefix"
expect_json "show --json"
expect_json_eq 'd["id"]' 20261126093000 "show --json: id"
expect_json_eq 'd["parents"]' '["20261126091000", "20261126092000"]' "show --json: parents"
expect_json_eq 'd["children"]' '["20261126094000"]' "show --json: children"
expect_json_eq 'd["mergepoint"]' true "show --json: mergepoint"
expect_json_eq 'd["reversible"]' true "show --json: reversible"
expect_json_eq 'd["up"]["statements"]' 0 "show --json: statements"
run_nmig --dir "$ex" show 20261126090000 --json
expect_json_eq 'd["up"]["kinds"]' '{"CreateStmt": 1, "CommentStmt": 1}' "show --json: kinds"
expect_json_eq 'd["down"]["path"]' examples/20261126090000_create_users.down.sql "show --json: down path"
run_nmig --dir "$br" show 003 --json
expect_json_eq 'd["down"]' null "show --json: no down file"
expect_json_eq 'd["reversible"]' false "show --json: irreversible"
run_nmig --dir "$br" show 003
expect_stdout_contains "down:           none (irreversible)" "show: irreversible"
run_nmig --dir "$ex" show 2026112609
expect_exit 4 "show with an ambiguous prefix"
expect_stderr_contains "ambiguous" "show: ambiguous message"
run_nmig --dir "$ex" show 99999999
expect_exit 4 "show of an unknown revision"
run_nmig --dir "$ex" show base
expect_exit 4 "show base"
expect_stderr_contains "'base' names 0 revisions; show takes one" "show base message"
run_nmig --dir "$br" show heads
expect_exit 4 "show heads with two heads"
run_nmig --dir "$ex" show
expect_exit 2 "show without REV"
expect_stderr_contains "which revision?" "show without REV message"

# File names with spaces and quotes print as they are, and JSON stays valid.
odd=$(fixture odd_names)
run_nmig --dir "$odd" history --verbose
expect_exit 0 "history with odd file names"
expect_stdout_contains "odd_names/001_it's a \"test\".up.sql" "odd path printed as is"
run_nmig --dir "$odd" heads --json
expect_json "heads --json with odd file names"
expect_json_eq 'd[0]["up"]' "odd_names/002_with space.up.sql" "JSON path with a space"
run_nmig --dir "$odd" show 001 --json
expect_json_eq 'd["up"]["path"]' "odd_names/001_it's a \"test\".up.sql" "JSON path with quotes"

finish
