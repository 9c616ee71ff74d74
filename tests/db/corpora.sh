#!/usr/bin/env bash
# corpora.sh: `nmig test` on the real histories in ../shared/corpora (see
# its README), each imported with `nmig import` into a scratch directory
# and tested on the temporary cluster nmig starts itself. Skipped loudly
# when the corpora are not there; they are never copied into the tree.
#
# What the README documents is asserted as it says: authelia goes up,
# down to an empty schema and up again to the same schema; sourcegraph-
# codeintel does the same above its two squashed roots (--base); lemmy's
# full downgrade fails at 2021-02-02-153240_apub_columns with the
# statement and line, and with the first 70 revisions as the base the
# other 218 go down and up again to the same schema. What the README does
# not cover -- the stairway, and whether a full downgrade returns to the
# schema it started from above lemmy's base -- is asserted as nmig finds
# it, precisely: those are real defects of the upstream down files
# (reverted columns re-added last, a down file that fails right after its
# up file, views recreated with other columns), each named with its
# revision; lemmy's stairway names 2021-03-09-171136, whose down file
# recreates the views that make apub_columns' down file fail.
#
# Sourcegraph runs each migration in a transaction and some of its files
# split that transaction with `COMMIT AND CHAIN`; nmig refuses transaction
# control inside a transactional migration. The import keeps the SQL byte
# for byte, so this test then does what nmig's hint tells a user: it
# removes those statements, and each such migration runs as one
# transaction (every segment stays atomic; see docs/ci.md).
. "$(dirname "$0")/../db_lib.sh"

CORPORA=${NMIG_SOURCE_DIR:-.}/../shared/corpora
for c in lemmy sourcegraph-codeintel authelia lemmy-prelude.sql; do
	if [ ! -e "$CORPORA/$c" ]; then
		echo "SKIP: the corpora are not at '$CORPORA' ($c is missing)" >&2
		exit 77
	fi
done
if [ -z "${NMIG:-}" ] || [ ! -x "$NMIG" ]; then
	echo "FAIL: NMIG='${NMIG:-}' is not an executable nmig binary" >&2
	exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3 is needed to read nmig check --json" >&2
	exit 77
fi
base=${NMIG_TEST_TMP:-${TMPDIR:-/tmp}}
mkdir -p "$base"
DB_TMP=$(mktemp -d "$base/corpora.XXXXXX")
# temporary clusters in a short directory the postgres user can reach
CT=$(mktemp -d /tmp/nmig-ct.XXXXXX)
chmod 755 "$CT"
trap 'rm -rf "$CT" "$DB_TMP"' EXIT
export TMPDIR=$CT
unset DATABASE_URL TEST_DATABASE_URL NMIG_ENV NODE_ENV
export NO_COLOR=1
cd "$DB_TMP" || exit 1

# elapsed T0: seconds since T0 (from `date +%s%N`), as 1.23.
elapsed() {
	local ms=$((($(date +%s%N) - $1) / 1000000))
	printf '%d.%02d' $((ms / 1000)) $((ms % 1000 / 10))
}

# t NAME ARGS...: run nmig ARGS and print the run's time.
t() {
	local name=$1 t0
	shift
	t0=$(date +%s%N)
	run_nmig "$@"
	echo "time: $name: $(elapsed "$t0") s (exit $rc)"
}

# section CHECK: the lines the check CHECK printed (its line and the
# indented lines under it), from the last run's stdout.
section() {
	awk -v name="$1" '
		/^(ok  |FAIL|skip) / { on = (index($0, " " name " ") == 5 ||
		                             index($0, " " name " ") == 4) }
		on { print }' "$DB_TMP/out"
}

no_cluster_left() {
	if [ -z "$(ls -A "$CT")" ] && ! pgrep -f -- "$CT/nmig-test" >/dev/null; then
		pass "$1: no cluster left"
	else
		fail "$1: a cluster was left in $CT"
	fi
}

for c in authelia sourcegraph-codeintel lemmy; do
	t "import $c" --dir "$c" import "$CORPORA/$c"
	expect_rc 0 "import $c"
done

### sourcegraph: COMMIT AND CHAIN out, each migration one transaction
n=0
for f in sourcegraph-codeintel/*.sql; do
	if grep -q 'COMMIT AND CHAIN;' "$f"; then
		sed -i -E 's/[[:space:]]*COMMIT AND CHAIN;//' "$f"
		n=$((n + 1))
	fi
done
echo "note: removed the 'COMMIT AND CHAIN' statements from $n sourcegraph files (each migration runs as one transaction)"
expect_eq "$n" 12 "the 12 files with COMMIT AND CHAIN were adapted"
run_nmig --dir sourcegraph-codeintel check --json
python3 - "$DB_TMP/out" <<'EOF' >"$DB_TMP/check.txt" 2>&1
import json, sys
d = json.load(open(sys.argv[1]))
bad = [f for f in d["findings"] if f["rule"].startswith("sql-")]
for f in bad:
    print("%s:%s: %s [%s]" % (f["file"], f["line"], f["message"], f["rule"]))
sys.exit(1 if bad else 0)
EOF
expect_eq "$?" 0 "sourcegraph: no SQL finding left (transaction control, syntax) $(cat "$DB_TMP/check.txt")"

### authelia: 26 revisions, numeric order
t "authelia (no stairway)" --dir authelia test --no-stairway
expect_rc 0 "authelia passes the full roundtrip"
expect_out_matches "^ok   full upgrade \(26 revisions, [0-9.]+ s\)$" "authelia: all 26 up"
expect_out_matches "^ok   full downgrade \(26 revisions, [0-9.]+ s\)$" "authelia: all 26 down, back to an empty schema"
expect_out_matches "^ok   second upgrade \(26 revisions, [0-9.]+ s\)$" "authelia: up again, the same schema"
expect_out_matches "^4 passed, 0 failed" "authelia: summary"
t "authelia" --dir authelia test
expect_rc 1 "authelia: the stairway finds defects the full roundtrip hides"
expect_out_matches "^ok   full downgrade \(26 revisions" "authelia: the full downgrade still passes"
expect_out_matches "^FAIL stairway at V0002, V0003, V0007, \.\.\. \(5 of 26 revisions fail, [0-9.]+ s\)$" "authelia: stairway names 5 revisions"
stair=$(section stairway)
for want in \
	"     V0002 (WebAuthn): its down file fails right after its up file" \
	"     --> authelia/V0002_WebAuthn.down.sql:25:1" \
	"     migration V0002 (WebAuthn) failed: relation \"totp_configurations_username_key\" already exists" \
	"     SQLSTATE 42P07" \
	"     V0003 (WebAuthnKIDLength): the schema after its down file differs" \
	"     + sequence public.webauthn_devices_id_seq1" \
	"     V0007 (ConsistencyFixes): the schema after its down file differs" \
	"     V0011 (JWTProfileAccessToken): the schema after its down file differs" \
	"         + #5 character varying(768) not null" \
	"     V0012 (WebAuthnMultiCookieDomain): the schema after its down file differs"; do
	case "$stair" in
	*"$want"*) pass "authelia stairway: '$want'" ;;
	*) fail "authelia stairway lacks '$want'" ;;
	esac
done
no_cluster_left "authelia"

### sourcegraph-codeintel: a DAG; the two squashed roots are the base
t "sourcegraph-codeintel (--base 1686315964)" --dir sourcegraph-codeintel test --base 1686315964
expect_rc 0 "sourcegraph-codeintel passes above its squashed roots"
expect_out_matches "^ok   base \(2 revisions applied and kept: --base 1686315964, [0-9.]+ s\)$" "sourcegraph: the squashed roots stay applied"
expect_out_matches "^ok   full upgrade \(31 revisions" "sourcegraph: the other 31 go up"
expect_out_matches "^ok   full downgrade \(31 revisions" "sourcegraph: down"
expect_out_matches "^ok   second upgrade \(31 revisions" "sourcegraph: up again, the same schema"
expect_out_matches "^ok   stairway \(31 revisions" "sourcegraph: stairway"
expect_out_matches "^6 passed, 0 failed" "sourcegraph: summary"
t "sourcegraph-codeintel (no base)" --dir sourcegraph-codeintel test --no-stairway
expect_rc 1 "sourcegraph without its base"
expect_out_matches "^FAIL full downgrade \(33 revisions: the schema differs from the start" "sourcegraph: the squashed roots' no-op down files leave their schema"
no_cluster_left "sourcegraph-codeintel"

### lemmy: 288 revisions, a prelude, the upstream bug
t "lemmy" --dir lemmy test --prelude "$CORPORA/lemmy-prelude.sql"
expect_rc 1 "lemmy fails"
expect_out_matches "^ok   full upgrade \(288 revisions" "lemmy: all 288 up"
expect_out_matches "^FAIL full downgrade at 2021-02-02-153240 \(apub columns\) \(218 of 288 reverted, [0-9.]+ s\)$" "lemmy: the downgrade fails at apub_columns"
down=$(section "full downgrade")
for want in \
	"     migration 2021-02-02-153240 (apub columns) failed: cannot drop column inbox_url of table user_ because other objects depend on it" \
	"     --> lemmy/2021-02-02-153240_apub_columns.down.sql:10:1" \
	"        10 | ALTER TABLE user_" \
	"     SQLSTATE 2BP01" \
	"     detail: view user_alias_1 depends on column inbox_url of table user_"; do
	case "$down" in
	*"$want"*) pass "lemmy full downgrade: '$want'" ;;
	*) fail "lemmy full downgrade lacks '$want'" ;;
	esac
done
expect_out_matches "^ok   second upgrade \(218 revisions, [0-9.]+ s\)$" "lemmy: the run goes on, up again from there"
expect_out_matches "^FAIL stairway at .* \(on a fresh database: [0-9]+ of 288 revisions fail" "lemmy: stairway on a fresh database"
stair=$(section stairway)
case "$stair" in
*"2021-02-02-153240 (apub columns):"*) fail "lemmy: apub_columns alone reverts cleanly, the stairway should not name it" ;;
*) pass "lemmy: apub_columns alone reverts cleanly (the failure needs a later down file)" ;;
esac
case "$stair" in
*"2021-03-09-171136 (split user table 2): the schema after its down file differs"*)
	pass "lemmy: the stairway names the down file that recreates the views" ;;
*) fail "lemmy: the stairway does not name 2021-03-09-171136" ;;
esac

t "lemmy (first 70 as the base)" --dir lemmy test --prelude "$CORPORA/lemmy-prelude.sql" --base 2021-02-02-153240
expect_rc 1 "lemmy above 70: column order and views differ"
expect_out_matches "^ok   base \(70 revisions applied and kept: --base 2021-02-02-153240, [0-9.]+ s\)$" "lemmy: the first 70 are the base"
expect_out_matches "^ok   full upgrade \(218 revisions, [0-9.]+ s\)$" "lemmy: the other 218 go up"
expect_out_matches "^ok   second upgrade \(218 revisions, [0-9.]+ s\)$" "lemmy: down and up again: the same schema as the first upgrade"
expect_out_matches "^FAIL full downgrade \(218 revisions: the schema differs from the start in [0-9]+ places" "lemmy: the down files do not restore the schema at 70"
expect_out_matches "^FAIL stairway at 2021-02-25-112959, 2021-03-09-171136, 2021-03-20-185321, \.\.\. \(on a fresh database: 31 of 218 revisions fail" "lemmy: 31 down files do not undo their up files exactly"

t "lemmy (first 70 as the base, --ignore-column-order)" --dir lemmy test --prelude "$CORPORA/lemmy-prelude.sql" --base 2021-02-02-153240 --ignore-column-order
expect_rc 1 "lemmy above 70 without column order: the views still differ"
expect_out_matches "^FAIL full downgrade \(218 revisions: the schema differs from the start in 7 places" "lemmy: 7 differences"
down=$(section "full downgrade")
for want in \
	"     ~ view public.user_alias_1" \
	"     + column public.user_alias_1.inbox_url: character varying(255)" \
	"     ~ view public.comment_alias_1"; do
	case "$down" in
	*"$want"*) pass "lemmy above 70: '$want'" ;;
	*) fail "lemmy above 70 lacks '$want'" ;;
	esac
done
expect_out_matches "^FAIL stairway at 2021-03-09-171136, 2022-07-07-182650 \(on a fresh database: 2 of 218 revisions fail" "lemmy: without column order, two down files remain"
stair=$(section stairway)
for want in \
	"     2021-03-09-171136 (split user table 2): the schema after its down file differs from the schema before its up file" \
	"     + column public.user_alias_1.inbox_url: character varying(255)" \
	"     2022-07-07-182650 (comment ltrees): the schema after its down file differs from the schema before its up file" \
	"     ~ view public.comment_alias_1"; do
	case "$stair" in
	*"$want"*) pass "lemmy stairway without column order: '$want'" ;;
	*) fail "lemmy stairway without column order lacks '$want'" ;;
	esac
done
no_cluster_left "lemmy"

db_finish
