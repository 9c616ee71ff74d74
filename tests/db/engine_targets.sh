#!/usr/bin/env bash
# Database test: every target form of upgrade / downgrade (head, heads,
# base, full id, prefix, +N, -N, rev+N, rev-N) on the example migrations/
# and on a DAG fixture (two heads, a merge, a child with a smaller id than
# its parent), the output lines and JSON, --dry-run, current, and that
# downgrade base followed by upgrade head gives the same schema.
. "$(dirname "$0")/../db_lib.sh"
db_init

ex=$(project_dir example)
cp -r "$NMIG_SOURCE_DIR/migrations" "$ex/"
dag=$(project_dir dag)
cp -r "$NMIG_FIXTURES/db/dag/migrations" "$dag/"

# applied NAME: the applied revisions, space separated, sorted.
applied() {
	applied_revs "$1" | tr '\n' ' ' | sed 's/ $//'
}

### the example history: users, tasks, an index outside a transaction, a merge
db_create ex
export DATABASE_URL=$(db_url ex)
cd "$ex" || exit 1

run_nmig upgrade --dry-run
expect_rc 0 "dry run on an empty database"
expect_out_contains "would apply 20261126090000 create users" "dry run lists the plan"
expect_out_contains "would apply 20261126092000 users email index (outside a transaction)" \
	"dry run marks the non-transactional migration"
expect_out_contains "dry run: 5 revisions would be applied; nothing was changed" "dry run summary"
expect_eq "$(psql_q ex "select pg_catalog.to_regclass('public.schema_version') is null")" t \
	"dry run created nothing"

run_nmig upgrade 20261126091000
expect_rc 0 "upgrade to a full id"
expect_out_matches '^applied 20261126090000 create users \([0-9]+ ms\)$' "one line per migration"
expect_out_contains "applied 20261126091000 create tasks" "second migration line"
expect_out_matches '^upgraded 2 revisions in [0-9.]+ s; at 20261126091000$' "summary line"
expect_eq "$(applied ex)" "20261126090000 20261126091000" "closure of the full id applied"

run_nmig history
expect_rc 0 "history with a database URL and no --db"
expect_out_lacks "(applied)" "a URL alone does not make history ask the database"
run_nmig history --db
expect_rc 0 "history --db"
expect_out_contains "20261126090000 -> 20261126091000 (current), create tasks" "history marks the current revision"
expect_out_contains "<base> -> 20261126090000 (branchpoint) (applied), create users" "history marks applied revisions"
expect_out_contains "20261126093000 -> 20261126094000 (head), add task due date" "pending revisions are unmarked"
DATABASE_URL= run_nmig history
expect_rc 0 "history without a URL"
expect_out_lacks "(applied)" "no marks without a database"

run_nmig upgrade +1
expect_rc 0 "upgrade +1"
expect_eq "$(applied ex)" "20261126090000 20261126091000 20261126092000" "+1 applies the next pending"
expect_eq "$(psql_q ex "select count(*) from pg_indexes where indexname = 'users_email_key'")" 1 \
	"the concurrent index was built"

run_nmig upgrade 2026112609
expect_rc 4 "an ambiguous prefix"
expect_err_contains "ambiguous" "ambiguity is reported"

run_nmig upgrade 20261126093
expect_rc 0 "upgrade to a unique prefix"
expect_eq "$(applied ex | wc -w)" 4 "the merge is applied"

run_nmig upgrade nosuchrev
expect_rc 4 "an unknown target"

run_nmig upgrade head
expect_rc 0 "upgrade head"
expect_out_contains "upgraded 1 revision in" "singular summary"
expect_out_contains "at 20261126094000 (head)" "summary names the head"
expect_eq "$(psql_q ex "select count(*) from information_schema.columns where table_name = 'tasks' and column_name = 'due_date'")" 1 \
	"due_date exists"

run_nmig upgrade
expect_rc 0 "upgrade at head"
expect_out_contains "nothing to do: database is at head 20261126094000" "nothing to do"

run_nmig current
expect_rc 0 "current"
expect_out_contains "20261126094000 (head) add task due date" "current names the head"
expect_out_contains "pending: 0, drift: 0, dirty: 0, unknown: 0" "current counts"

run_nmig --json current
expect_rc 0 "current --json"
expect_out_contains '{"current":["20261126094000"],"pending":0,"applied":5,"drift":[],"dirty":[],"unknown":[]' \
	"current JSON"

dump_head=$(schema_dump ex)

run_nmig downgrade
expect_rc 2 "downgrade without a target is a usage error"

run_nmig downgrade -2
expect_rc 0 "downgrade -2"
expect_out_contains "reverted 20261126094000 add task due date" "reverted line"
expect_out_contains "reverted 20261126093000 merge tasks and index" "merge reverted"
expect_out_matches '^downgraded 2 revisions in [0-9.]+ s; at 20261126091000, 20261126092000$' \
	"summary names both applied heads"

run_nmig downgrade 20261126090000 --dry-run
expect_rc 0 "downgrade dry run"
expect_out_contains "would revert 20261126092000 users email index (outside a transaction)" "dry run of a downgrade"
expect_eq "$(applied ex | wc -w)" 3 "dry run reverted nothing"

run_nmig --json downgrade 20261126090000
expect_rc 0 "downgrade to a full id, JSON"
expect_out_matches '^\{"direction":"down","applied":\[\{"revision":"20261126092000","message":"users email index","ms":[0-9]+\},\{"revision":"20261126091000","message":"create tasks","ms":[0-9]+\}\],"elapsed_ms":[0-9]+,"current":\["20261126090000"\]\}$' \
	"downgrade JSON object"
expect_eq "$(applied ex)" "20261126090000" "descendants of the target reverted"

run_nmig downgrade base
expect_rc 0 "downgrade base"
expect_eq "$(applied ex)" "" "nothing applied after base"
expect_out_contains "at base" "summary says base"
expect_eq "$(schema_dump ex)" "" "the schema is empty again"

run_nmig --json upgrade head
expect_rc 0 "upgrade head again, JSON"
expect_out_matches '^\{"direction":"up","applied":\[(\{"revision":"[0-9]+","message":"[^"]*","ms":[0-9]+\},?){5}\],"elapsed_ms":[0-9]+,"current":\["20261126094000"\]\}$' \
	"upgrade JSON object"
expect_eq "$(schema_dump ex)" "$dump_head" "down to base and up again gives the same schema"

NMIG_ENV=production run_nmig downgrade base
expect_rc 10 "downgrade refused in production"
expect_err_contains "--allow-production" "the override is named"
NMIG_ENV=production run_nmig downgrade base --dry-run
expect_rc 0 "a dry run is allowed in production"
NODE_ENV=production run_nmig stamp base
expect_rc 10 "stamp refused in production (NODE_ENV)"
NMIG_ENV=production run_nmig upgrade
expect_rc 0 "upgrade is not destructive: allowed in production"
expect_eq "$(applied ex | wc -w)" 5 "nothing reverted in production"
NMIG_ENV=production run_nmig -q downgrade base --allow-production
expect_rc 0 "quiet downgrade with --allow-production"
expect_eq "$out" "" "-q prints nothing"

### the DAG fixture: two heads, a merge, a child with a smaller id
db_create dag
export DATABASE_URL=$(db_url dag)
cd "$dag" || exit 1

run_nmig upgrade
expect_rc 4 "upgrade head with two heads"
expect_err_contains "0999" "the heads are listed (0999)"
expect_err_contains "1005" "the heads are listed (1005)"
expect_eq "$(applied dag)" "" "nothing applied"

run_nmig upgrade 1001
expect_rc 0 "upgrade to a branch revision"
expect_eq "$(applied dag)" "1000 1001" "1001 and its ancestor"

run_nmig upgrade +1
expect_rc 0 "upgrade +1 on the DAG"
expect_eq "$(applied dag)" "1000 1001 1002" "+1 follows the plan order"

run_nmig upgrade 1003+1
expect_rc 0 "upgrade rev+N"
expect_eq "$(applied dag)" "1000 1001 1002 1003 1004" "1003+1 is 1004"

run_nmig upgrade heads
expect_rc 0 "upgrade heads"
expect_out_contains "applied 0999 index a x" "the child with the smaller id is applied"
expect_out_matches 'at 0999 \(head\), 1005 \(head\)$' "both heads in the summary"
expect_eq "$(applied dag)" "0999 1000 1001 1002 1003 1004 1005" "everything applied"

# plan order: 0999 runs after its parent 1004
expect_eq "$(psql_q dag "select string_agg(revision, ' ' order by applied_at, revision) from schema_version")" \
	"1000 1001 1002 1003 1004 0999 1005" "applied in plan order, not id order"

run_nmig current
expect_out_contains "0999 (head) index a x" "current lists head 0999"
expect_out_contains "1005 (head) create d" "current lists head 1005"

dump_dag=$(schema_dump dag)

run_nmig downgrade 1004-1
expect_rc 0 "downgrade rev-N"
expect_eq "$(applied dag)" "1000 1001 1002 1003 1005" "1004-1 is 1003: its descendants reverted"

run_nmig downgrade 1002
expect_rc 0 "downgrade to a branch point"
expect_out_contains "reverted 1005 create d" "the other branch's descendant"
expect_out_contains "reverted 1003 merge b and c" "the merge"
expect_eq "$(applied dag)" "1000 1001 1002" "descendants of 1002 reverted"

run_nmig downgrade -1
expect_rc 0 "downgrade -1 on the DAG"
expect_eq "$(applied dag)" "1000 1001" "-1 reverts the last applied in plan order"

run_nmig downgrade base
expect_rc 0 "downgrade base on the DAG"
expect_eq "$(applied dag)" "" "all reverted"

run_nmig upgrade heads
expect_rc 0 "upgrade heads again"
expect_eq "$(schema_dump dag)" "$dump_dag" "the DAG schema is the same after down and up"

### the plan cache: an online run records the applied set there, unless the
### cache is off (--no-cache or cache = off), when nothing is written at all
nc=$(project_dir nocache)
cp -r "$NMIG_SOURCE_DIR/migrations" "$nc/"
db_create nc
export DATABASE_URL=$(db_url nc)
cd "$nc" || exit 1
run_nmig --no-cache upgrade
expect_rc 0 "upgrade with --no-cache"
expect_true "--no-cache wrote no .nmig/" test ! -e "$nc/.nmig"
run_nmig --no-cache downgrade base
expect_rc 0 "downgrade with --no-cache"
expect_true "still no .nmig/" test ! -e "$nc/.nmig"
printf 'cache = off\n' >"$nc/nmig.conf"
run_nmig upgrade
expect_rc 0 "upgrade with cache = off"
expect_true "cache = off wrote no .nmig/" test ! -e "$nc/.nmig"
rm "$nc/nmig.conf"
run_nmig current
expect_rc 0 "current with the cache on"
run_nmig downgrade base
expect_rc 0 "downgrade with the cache on"
expect_true "the cache is written when it is on" test -f "$nc/.nmig/cache.db"

db_finish
