#!/usr/bin/env bash
# Database test: the graph views with a database. `history --graph` and
# `graph` (dot and Mermaid) mark every revision applied, current (applied,
# no applied child), pending or dirty as the version table says; a
# database that does not answer is a warning and the views still draw from
# the files. Also the database commands with global options after the
# command name (current --json, current -v, upgrade --json, doctor --json).
. "$(dirname "$0")/../db_lib.sh"
db_init

proj=$(project_dir proj)
cp -r "$NMIG_SOURCE_DIR/migrations" "$proj/"
cd "$proj" || exit 1
db_create graph
DATABASE_URL=$(db_url graph)
export DATABASE_URL

# Global options after the command, against a real server.
run_nmig current --json
expect_rc 0 "current --json"
expect_true "current --json prints JSON" \
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$DB_TMP/out"
run_nmig upgrade 20261126092000 --json -q
expect_rc 0 "upgrade TARGET --json -q"
expect_out_contains '"applied"' "upgrade --json prints its JSON summary"
run_nmig current -v
expect_rc 0 "current -v"
expect_out_contains "20261126091000" "current -v lists the pending revisions too"
run_nmig doctor --json
expect_out_contains '"migrations"' "doctor --json"

# 090000 applied under 092000 (current); 091000, 093000, 094000 pending.
run_nmig history --graph
expect_rc 0 "history --graph with a URL set, no --db"
expect_out_lacks "(pending)" "a URL alone does not make history --graph ask the database"
run_nmig graph
expect_out_lacks "(applied)" "nor graph"
run_nmig history --graph --db
expect_rc 0 "history --graph with a database"
expect_out_contains "* 20261126094000 (head) (pending) add task due date" "the head is pending"
expect_out_contains "| * 20261126092000 (current) users email index" "092000 is current"
expect_out_contains "* | 20261126091000 (pending) create tasks" "091000 is pending"
expect_out_contains "* 20261126090000 (base) (branchpoint) (applied) create users" "090000 is applied"
run_nmig graph --db
expect_rc 0 "graph with a database"
expect_out_contains '"20261126092000" [label="20261126092000 (current)\nusers email index", fillcolor="#81c784"' "dot: current"
expect_out_contains '"20261126090000" [label="20261126090000 (applied)\ncreate users", fillcolor="#c8e6c9"' "dot: applied"
expect_out_contains '"20261126091000" [label="20261126091000 (pending)\ncreate tasks", fillcolor="#ffffff"' "dot: pending"
run_nmig graph --db --format mermaid
expect_out_contains "class n1,n3,n4 pending" "mermaid: pending class"
expect_out_contains "class n0 applied" "mermaid: applied class"
expect_out_contains "class n2 current" "mermaid: current class"
# a relative target in the range resolves against the applied set
run_nmig history --graph --db -r +0:
expect_rc 0 "history --graph -r +0: (after the applied heads)"
expect_out_lacks "20261126090000" "-r +0: leaves out what is applied"
expect_out_contains "20261126091000" "-r +0: keeps the pending"

# A dirty row: the head's migration did not finish.
run_nmig upgrade head -q
expect_rc 0 "upgrade head"
psql_q graph "update schema_version set state = 'dirty', error = 'killed' where revision = '20261126094000'" >/dev/null
run_nmig history --graph --db
expect_out_contains "* 20261126094000 (head) (dirty) add task due date" "history --graph: dirty"
expect_out_contains "(current) merge tasks and index" "the merge is current"
run_nmig graph --db
expect_out_contains '(dirty)\nadd task due date", peripheries=2, fillcolor="#ef9a9a", color="#c62828", penwidth=2' "dot: dirty in red"
if command -v dot >/dev/null 2>&1; then
	dot -Tsvg "$DB_TMP/out" >"$DB_TMP/g.svg" 2>"$DB_TMP/dot.err"
	expect_eq $? 0 "dot renders the marked graph"
fi
run_nmig graph --db --format mermaid
expect_out_contains "classDef dirty fill:#ef9a9a,stroke:#c62828" "mermaid: a dirty class"
expect_out_contains "class n4 dirty" "mermaid: the head is dirty"

# No server: a warning, and the views draw from the files.
DATABASE_URL="postgres://postgres@127.0.0.1:1/nothing?connect_timeout=1"
run_nmig history --graph --db
expect_rc 0 "history --graph with the server down"
expect_err_contains "warning: cannot read the applied revisions" "a warning says why"
expect_out_contains "* 20261126094000 (head) add task due date" "unmarked rows"
run_nmig graph --db
expect_rc 0 "graph with the server down"
expect_out_lacks "(pending)" "no marks without a database"

db_finish
