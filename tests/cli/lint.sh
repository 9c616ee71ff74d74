#!/usr/bin/env bash
# lint.sh: `nmig lint` end to end -- every rule's fixture through the real
# binary (bad/ triggers the rule and exits 1 at level error, good/ is
# clean and exits 0), the three output formats, --list-rules, levels from
# --rule and from `lint.<rule>` in nmig.conf, --since and REV selection
# (history gets only the credential rules), exit 3 on unparsable SQL, and
# that no secret from the fixtures ever reaches the output.
. "$(dirname "$0")/lib.sh"
cli_init

LINT=$NMIG_FIXTURES/lint
CANARY=hunter2-canary

# copy_dir SRC DEST: a copy of a fixture migrations directory in $T.
copy_dir() {
	rm -rf "${T:?}/$2"
	cp -R "$1" "$T/$2"
}

run_nmig lint --list-rules --format json
expect_exit 0 "--list-rules --format json"
expect_json "--list-rules --format json is JSON"
rules=$(json_get '" ".join(r["name"] for r in d)')
project_rules=$(json_get '" ".join(r["name"] for r in d if r["scope"] == "project")')
nrules=$(json_get 'len(d)')
[ "$nrules" -ge 30 ]
check $? "at least 30 rules" "got $nrules"

run_nmig lint --list-rules
expect_exit 0 "--list-rules"
for r in $rules; do
	expect_stdout_matches "^$r \((error|warning)" "--list-rules shows '$r' with its level"
	[ -d "$LINT/$r/bad" ] && [ -d "$LINT/$r/good" ]
	check $? "fixtures for '$r'" "no $LINT/$r/{bad,good}"
done
expect_stdout_contains "    why: " "--list-rules shows why"
expect_stdout_contains "    fix: " "--list-rules shows the fix"

# Every SQL rule through the binary.
for r in $rules; do
	case " $project_rules " in *" $r "*) continue ;; esac
	copy_dir "$LINT/$r/bad" "bad-$r"
	run_nmig --dir "bad-$r" lint --rule "$r=error"
	expect_exit 1 "'$r' bad fixture fails at level error"
	expect_stdout_matches "^bad-$r/[^:]+\.sql:[0-9]+:[0-9]+: error: .*\[$r\]$" \
		"'$r' reported with file:line:col"
	expect_output_lacks "$CANARY" "'$r' never prints the secret"
	run_nmig --dir "bad-$r" lint --rule "$r=off"
	expect_stdout_not_contains "[$r]" "'$r=off' silences '$r'"
	copy_dir "$LINT/$r/good" "good-$r"
	run_nmig --dir "good-$r" lint
	expect_exit 0 "'$r' good fixture is clean"
	expect_stdout_equals "0 errors, 0 warnings in 1 revision" "'$r' good fixture: no finding"
done

# Text: source line, why and fix; -q keeps errors only.
copy_dir "$LINT/require-concurrent-index-creation/bad" idx
run_nmig --dir idx lint
expect_exit 1 "an index build on an existing table is an error by default"
expect_stdout_contains "idx/20260101000000_index_users_email.up.sql:1:1: error: index 'users_email_idx' on existing table 'users' is built without CONCURRENTLY [require-concurrent-index-creation]" "the finding line"
expect_stdout_contains "    | CREATE INDEX users_email_idx ON users (email);" "the source line"
expect_stdout_contains "    why: CREATE INDEX without CONCURRENTLY blocks every write" "why"
expect_stdout_contains "    fix: use CREATE INDEX CONCURRENTLY" "fix"
expect_stdout_contains "warning: index 'users_email_idx' is dropped without CONCURRENTLY [require-concurrent-index-deletion]" "the down file is linted too"
expect_stdout_contains "1 error, 1 warning in 1 revision" "the summary"
run_nmig -q --dir idx lint
expect_exit 1 "-q keeps the exit status"
expect_stdout_not_contains "warning:" "-q drops warnings"
expect_stdout_contains "error:" "-q keeps errors"

# JSON.
run_nmig --dir idx lint --format json
expect_exit 1 "--format json keeps the exit status"
expect_json "--format json is JSON"
expect_json_eq 'd["errors"]' 1 "JSON error count"
expect_json_eq 'd["warnings"]' 1 "JSON warning count"
expect_json_eq 'd["revisions"]' 1 "JSON revision count"
expect_json_eq '[f["rule"] for f in d["findings"] if f["severity"] == "error"][0]' \
	require-concurrent-index-creation "JSON rule"
expect_json_eq '[(f["line"], f["col"]) for f in d["findings"] if f["severity"] == "error"][0]' \
	'[1, 1]' "JSON line and col"
expect_json_eq '[f["file"] for f in d["findings"] if f["severity"] == "error"][0]' \
	idx/20260101000000_index_users_email.up.sql "JSON file"
expect_json_eq 'bool(d["findings"][0]["why"]) and bool(d["findings"][0]["fix"])' \
	true "JSON why and fix"
run_nmig --json --dir idx lint
expect_json "global --json means --format json"

# GitHub annotations.
run_nmig --dir idx lint --format github
expect_exit 1 "--format github keeps the exit status"
expect_stdout_contains "::error file=idx/20260101000000_index_users_email.up.sql,line=1,col=1,title=nmig lint require-concurrent-index-creation::index 'users_email_idx' on existing table 'users' is built without CONCURRENTLY%0Awhy: " "a GitHub error annotation"
expect_stdout_matches '^::warning file=idx/[^,]+\.down\.sql,line=1,col=1,title=nmig lint require-concurrent-index-deletion::' "a GitHub warning annotation"
expect_stdout_lines 2 "one line per annotation"
expect_stderr_contains "1 error, 1 warning in 1 revision" "the summary goes to stderr"

# Options refused.
run_nmig --dir idx lint --format xml
expect_exit 2 "unknown format"
expect_stderr_contains "unknown format 'xml'" "names the format"
run_nmig --dir idx lint --rule nope=off
expect_exit 2 "unknown rule"
expect_stderr_contains "unknown lint rule 'nope'" "names the rule"
run_nmig --dir idx lint --rule prefer-text=loud
expect_exit 2 "unknown level"
expect_stderr_contains "'loud'" "names the level"
run_nmig --dir idx lint --rule prefer-text
expect_exit 2 "--rule without a level"
run_nmig --dir idx lint 9999
expect_exit 4 "unknown revision"

# Levels from nmig.conf: lint.<rule> keys, under --rule.
mkdir -p proj
copy_dir "$LINT/require-concurrent-index-creation/bad" proj/migrations
printf 'lint.require-concurrent-index-creation = warning\nlint.require-concurrent-index-deletion = off\n' >proj/nmig.conf
(cd proj && run_nmig lint && echo "$rc" >"$T/.rc" && printf '%s' "$out" >"$T/.o")
rc=$(cat "$T/.rc")
out=$(cat "$T/.o")
expect_exit 0 "lint.<rule> = warning in nmig.conf lowers the level"
expect_stdout_contains "warning: index 'users_email_idx' on existing table" "the finding is a warning"
expect_stdout_not_contains "[require-concurrent-index-deletion]" "lint.<rule> = off"
run_nmig --config proj/nmig.conf --dir proj/migrations lint --rule require-concurrent-index-creation=error
expect_exit 1 "--rule overrides nmig.conf"
printf 'lint.no-such-rule = off\n' >proj/nmig.conf
run_nmig --config proj/nmig.conf --dir proj/migrations lint
expect_exit 9 "an unknown lint rule in nmig.conf is a config error"
expect_stderr_contains "no-such-rule" "names the rule"
expect_stderr_contains "nmig.conf:1" "names file:line"
rm -f proj/nmig.conf

# lint-ignore in the header.
mkdir -p ign
printf -- '-- nmig:lint-ignore require-concurrent-index-creation, missing-down\nCREATE INDEX i ON users (email);\n' \
	>ign/20260101000000_i.up.sql
run_nmig --dir ign lint
expect_exit 0 "lint-ignore silences the rules it names"
expect_stdout_equals "0 errors, 0 warnings in 1 revision" "nothing left"

# Unparsable SQL: exit 3 with the syntax error, other findings still shown.
mkdir -p broken
printf 'CREATE INDEX i ON users (email);\nCREAT TABLE t (id int);\n' \
	>broken/20260101000000_broken.up.sql
printf 'DROP INDEX IF EXISTS i;\n' >broken/20260101000000_broken.down.sql
run_nmig --dir broken lint
expect_exit 3 "unparsable SQL exits 3"
expect_stdout_matches '^broken/20260101000000_broken\.up\.sql:2:[0-9]+: error: ' "the syntax error with its location"
expect_stdout_contains "[require-concurrent-index-creation]" "statements that parse are still linted"

# --since and REV: history only gets the credential rules.
mkdir -p hist
printf -- "-- nmig:parents base\nCREATE INDEX i ON users (email);\nALTER ROLE app PASSWORD '%s';\n" "$CANARY" \
	>hist/20260101000000_old.up.sql
printf 'DROP INDEX i;\n' >hist/20260101000000_old.down.sql
printf -- '-- nmig:parents 20260101000000\nCREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a json);\n' \
	>hist/20260102000000_new.up.sql
printf 'DROP TABLE t;\n' >hist/20260102000000_new.down.sql
run_nmig --dir hist lint
expect_exit 1 "without --since every revision is strict"
expect_stdout_contains "[require-concurrent-index-creation]" "the old revision's index"
expect_stdout_contains "[prefer-jsonb]" "the new revision's json"
expect_stdout_contains "in 2 revisions" "two revisions linted"
run_nmig --dir hist lint --since 20260101000000
expect_exit 1 "--since: the literal password in history is still an error"
expect_stdout_contains "role 'app' is given a literal password [role-password]" "history keeps the credential rules"
expect_stdout_not_contains "[require-concurrent-index-creation]" "history skips the lock rules"
expect_stdout_contains "[prefer-jsonb]" "the newer revision is strict"
expect_output_lacks "$CANARY" "the password is never printed"
expect_output_lacks "hunter2" "no part of the password either"
run_nmig --dir hist lint --since 2026010
expect_exit 4 "--since with a too short prefix"
run_nmig --dir hist lint 20260102
expect_exit 0 "REV lints just that revision"
expect_stdout_contains "[prefer-jsonb]" "the named revision"
expect_stdout_contains "in 1 revision" "only one revision"
run_nmig --dir hist lint --since 20260101000000 20260102000000
expect_exit 2 "--since with revision arguments"
expect_stderr_contains "'--since' and revision arguments exclude each other" "says why"
run_nmig --dir hist lint --since base
expect_stdout_contains "[require-concurrent-index-creation]" "--since base: everything is new"

# No database URL: every revision is strict, and nothing says otherwise;
# --all asks for that explicitly (tests/db/lint_pending.sh covers the
# database's pending revisions).
run_nmig --dir hist lint
expect_stderr_not_contains "pending on" "without a URL no database is asked"
run_nmig --dir hist lint --all
expect_exit 1 "--all: every revision is strict"
expect_stdout_contains "[require-concurrent-index-creation]" "--all: the old revision's index"
expect_stdout_contains "in 2 revisions" "--all: two revisions linted"
run_nmig --dir hist lint --all --since 20260101000000
expect_exit 2 "--all with --since"
expect_stderr_contains "'--all' excludes '--since' and revision arguments" "says why"
run_nmig --dir hist lint --all 20260102
expect_exit 2 "--all with a revision argument"
run_nmig lint --help
expect_stdout_contains "--all" "--help names --all"

# Project rules: a password in nmig.conf never echoed; a tracked .env.
mkdir -p cfg/migrations
cp "$LINT/config-password/bad/nmig.conf" cfg/nmig.conf
run_nmig --config cfg/nmig.conf --dir cfg/migrations lint
[ "$rc" -eq 1 ] || [ "$rc" -eq 9 ]
check $? "a password in nmig.conf fails lint" "exit $rc"
expect_output_lacks "$CANARY" "the config password is never printed"
expect_output_lacks "hunter2" "no part of it either"
cp "$LINT/config-password/good/nmig.conf" cfg/nmig.conf
run_nmig --config cfg/nmig.conf lint
expect_exit 0 "a config naming a variable is fine"

if command -v git >/dev/null 2>&1; then
	mkdir -p envp/migrations
	cp "$LINT/env-file-tracked/bad/dotenv" envp/.env
	(cd envp && git init -q . && git add .env) >/dev/null 2>&1
	(cd envp && run_nmig lint && echo "$rc" >"$T/.rc" && printf '%s' "$out" >"$T/.o")
	rc=$(cat "$T/.rc")
	out=$(cat "$T/.o")
	expect_exit 1 "a .env tracked by git is an error"
	expect_stdout_contains "'.env' is tracked by git [env-file-tracked]" "names the file"
	expect_output_lacks "$CANARY" "the .env content is never printed"
	(cd envp && git rm -q --cached .env && cp "$LINT/env-file-tracked/good/gitignore" .gitignore) >/dev/null 2>&1
	(cd envp && run_nmig lint && echo "$rc" >"$T/.rc")
	rc=$(cat "$T/.rc")
	expect_exit 0 "an ignored .env is fine"
else
	echo "NOTE: git is not installed: env-file-tracked is covered by the unit test only" >&2
fi

# lint precision, from the patterns of real histories: a down file that
# drops an index and then its table, and one that drops the column an
# index uses
mkdir -p prec
cat >prec/001_widgets.up.sql <<'SQL'
-- nmig:parents base
CREATE TABLE widgets (id bigint PRIMARY KEY, name text, owner bigint);
CREATE INDEX widgets_name_idx ON widgets (name);
SQL
cat >prec/001_widgets.down.sql <<'SQL'
DROP INDEX widgets_name_idx;
DROP TABLE widgets;
SQL
cat >prec/002_email.up.sql <<'SQL'
-- nmig:parents 001
ALTER TABLE accounts ADD COLUMN email text;
CREATE INDEX accounts_email_idx ON accounts (email);
SQL
cat >prec/002_email.down.sql <<'SQL'
ALTER TABLE accounts DROP COLUMN email;
SQL
cat >prec/003_drop_old.up.sql <<'SQL'
-- nmig:parents 002
DROP INDEX gadgets_owner_idx;
DROP TABLE gadgets;
DROP INDEX orders_owner_idx;
SQL
cat >prec/003_drop_old.down.sql <<'SQL'
SELECT 1;
SQL
run_nmig --dir prec lint
expect_stdout_not_contains "widgets_name_idx' is dropped without CONCURRENTLY" "DROP INDEX before DROP TABLE of its table (from the up file): no finding"
expect_stdout_not_contains "gadgets_owner_idx' is dropped" "an index named after a table dropped later: no finding"
expect_stdout_contains "003_drop_old.up.sql:4:1: warning: index 'orders_owner_idx' is dropped without CONCURRENTLY [require-concurrent-index-deletion]" "an index whose table stays is still reported"
expect_stdout_not_contains "accounts_email_idx' is created here but the down file does not drop it" "an index goes with the column the down file drops"

finish
