#!/usr/bin/env bash
# import.sh: `nmig import` on the hand-written fixtures of every format
# (tests/fixtures/import/): what it prints, what it writes (headers, and the
# SQL byte for byte), that nmig's own loader and graph (`nmig history
# --json`) see the revisions in the source tool's order with its parents,
# detection and its ambiguity, --dry-run, --force and the refusal of a
# non-empty directory, the default directory from nmig.conf, --json, and
# bad input reported with file and line before anything is written. The
# real histories in ../shared/corpora are import_corpora.sh's.
. "$(dirname "$0")/lib.sh"
cli_init

FX=$NMIG_FIXTURES/import

# expect_check_clean DIR WHAT: `nmig check` finds no error in DIR but the
# lint rules' (`nmig lint --list-rules`): those judge the SQL the source
# tool wrote, which import copies unchanged; everything import is
# responsible for -- names, headers, graph, SQL syntax, transaction
# placement -- must pass.
expect_check_clean() {
	local dir=$1 what=$2
	"$NMIG" lint --list-rules 2>/dev/null | sed -n 's/^\([a-z][a-z0-9-]*\) (.*/\1/p' \
		>"$T/.lint-rules"
	run_nmig --dir "$dir" check --json
	python3 - "$T/.out" "$T/.lint-rules" <<'PY' >"$T/.check" 2>&1
import json, sys
d = json.load(open(sys.argv[1]))
lint = set(open(sys.argv[2]).read().split())
bad = [f for f in d["findings"]
       if f["severity"] == "error" and f["rule"] not in lint]
for f in bad:
    print("%s:%s: %s [%s]" % (f["file"], f["line"], f["message"], f["rule"]))
sys.exit(1 if bad or not lint or d["revisions"] == 0 else 0)
PY
	check $? "$what" "$(cat "$T/.check")"
}

# verify SRC DEST FORMAT: the files in DEST are the SQL of SRC byte for
# byte behind `-- nmig:` header lines, with the parents the source tool's
# order gives; and nmig's loader and graph (history --json, oldest first)
# see the same ids in the same order with the same parents.
verify() {
	local src=$1 dest=$2 format=$3
	run_nmig --dir "$dest" history --json
	expect_exit 0 "history loads the $format import"
	python3 - "$src" "$dest" "$format" "$T/.out" <<'EOF' >"$T/.verify" 2>&1
import json, os, re, sys

src, dest, fmt, hist = sys.argv[1:]
names = sorted(n for n in os.listdir(src) if not n.startswith("."))

def num(s):
    return int(re.match(r"V?(\d+)", s).group(1))

def read(p):
    with open(p, "rb") as f:
        return f.read()

revs = []  # (id, slug, up bytes, down bytes or None, parents or None)
if fmt == "diesel":
    dirs = [n for n in names if os.path.isdir(os.path.join(src, n))]
    dirs.sort(key=lambda n: n.split("_")[0].replace("-", ""))
    for n in dirs:
        d = os.path.join(src, n)
        down = os.path.join(d, "down.sql")
        revs.append((n.split("_")[0], n.split("_", 1)[1],
                     read(os.path.join(d, "up.sql")),
                     read(down) if os.path.exists(down) else None, None))
elif fmt == "golang-migrate":
    ups = [n for n in names if n.endswith(".up.sql")]
    ups.sort(key=num)
    for n in ups:
        stem = n[:-len(".up.sql")]
        m = re.match(r"(V\d+)\.(.*)$", stem) or re.match(r"(\d+)_(.*)$", stem)
        down = os.path.join(src, stem + ".down.sql")
        revs.append((m.group(1), m.group(2), read(os.path.join(src, n)),
                     read(down) if os.path.exists(down) else None, None))
elif fmt in ("dbmate", "goose"):
    files = [n for n in names if n.endswith(".sql") and n[0].isdigit()]
    files.sort(key=(lambda n: n) if fmt == "dbmate" else num)
    marker = (re.compile(rb"^--\s*migrate:down(\s|$)", re.M) if fmt == "dbmate"
              else re.compile(rb"^--\s*\+goose\s+down\s*$", re.M | re.I))
    for n in files:
        text = read(os.path.join(src, n))
        m = marker.search(text)
        cut = m.start() if m else len(text)
        ver = re.match(r"\d+", n).group(0)
        revs.append((ver, n[len(ver) + 1:-4], text[:cut],
                     text[cut:] if m else None, None))
elif fmt == "sourcegraph":
    for n in names:
        d = os.path.join(src, n)
        if not os.path.isdir(d):
            continue
        meta = read(os.path.join(d, "metadata.yaml")).decode()
        m = re.search(r"^parents:\s*\[(.*?)\]", meta, re.M)
        if m:
            ps = [p.strip() for p in m.group(1).split(",") if p.strip()]
        else:
            ps = re.findall(r"^\s*-\s*(\d+)", meta, re.M)
        down = os.path.join(d, "down.sql")
        revs.append((n.split("_")[0], n.split("_", 1)[1],
                     read(os.path.join(d, "up.sql")),
                     read(down) if os.path.exists(down) else None, ps))

problems = []
ids = [r[0] for r in revs]
for i, (rid, slug, up, down, parents) in enumerate(revs):
    if parents is None:
        parents = [ids[i - 1]] if i else []
    base = os.path.join(dest, rid + "_" + slug)
    got = read(base + ".up.sql")
    lines = got.split(b"\n")
    k = 0
    while k < len(lines) and lines[k].startswith(b"-- nmig:"):
        k += 1
    header, body = lines[:k], b"\n".join(lines[k:])
    if body != up:
        problems.append("%s: up SQL differs from the source" % rid)
    want = "-- nmig:parents " + (" ".join(parents) if parents else "base")
    if not header or header[0].rstrip(b"\r").decode() != want:
        problems.append("%s: header %r, expected %r first" % (rid, header, want))
    if down is None:
        if os.path.exists(base + ".down.sql"):
            problems.append("%s: a down file was written" % rid)
    elif read(base + ".down.sql") != down:
        problems.append("%s: down SQL differs from the source" % rid)

h = list(reversed(json.load(open(hist))))
got_ids = [r["id"] for r in h]
if fmt != "sourcegraph" and got_ids != ids:
    problems.append("plan order %s, source order %s" % (got_ids, ids))
if sorted(got_ids) != sorted(ids):
    problems.append("history has %s, expected %s" % (got_ids, ids))
par = {r["id"]: r["parents"] for r in h}
for i, (rid, _, _, _, parents) in enumerate(revs):
    if parents is None:
        parents = [ids[i - 1]] if i else []
    if par.get(rid) != parents:
        problems.append("%s: history parents %s, expected %s"
                        % (rid, par.get(rid), parents))
print("\n".join(problems) if problems else "ok %d" % len(revs))
sys.exit(1 if problems else 0)
EOF
	check $? "the $format import keeps order, parents and SQL bytes" \
		"$(cat "$T/.verify")"
}

# ---- every format, detected ----
for f in diesel:diesel:5:9 flat:golang-migrate:4:8 dbmate:dbmate:5:9 \
	goose:goose:4:7 sourcegraph:sourcegraph:5:10; do
	IFS=: read -r dir format nrev nfiles <<<"$f"
	run_nmig import "$FX/$dir" --dir "out-$dir"
	expect_exit 0 "import $dir"
	expect_stdout_lines "$nfiles" "import $dir lists each file written"
	expect_stdout_matches "^wrote out-$dir/[^ ]+\.up\.sql$" "import $dir: 'wrote DEST/NAME'"
	expect_stderr_contains "imported $nrev revisions from '$FX/$dir' ($format) into 'out-$dir'" \
		"import $dir summary"
	[ "$(find "out-$dir" -type f | wc -l)" -eq "$nfiles" ]
	check $? "import $dir writes $nfiles files"
	verify "$FX/$dir" "out-$dir" "$format"
	expect_check_clean "out-$dir" "nmig check finds no error but lint's in the $dir import"
done

# the details the verifier does not look at
expect_file_contains out-diesel/2018-01-01-000000_index_email.up.sql \
	"-- nmig:transaction off" "run_in_transaction = false becomes transaction off"
expect_file_not_contains out-diesel/20170201000000_create_users.up.sql \
	"-- nmig:transaction" "diesel migrations are transactional by default"
expect_no_file out-diesel/2018-02-01-000000_drop_legacy.down.sql \
	"no down.sql: irreversible"
expect_file_contains out-flat/10_backfill.up.sql "-- nmig:transaction off" \
	"a flat file with its own BEGIN/COMMIT runs without nmig's transaction"
expect_file_contains out-flat/2_index_name.up.sql "-- nmig:transaction off" \
	"a flat CREATE INDEX CONCURRENTLY runs outside a transaction"
expect_file_not_contains out-flat/1_create_users.up.sql "-- nmig:transaction" \
	"other flat files are transactional"
expect_file_contains out-dbmate/20_index_name.up.sql "-- nmig:transaction off" \
	"dbmate transaction:false"
expect_file_contains out-goose/00002_index_name.up.sql "-- nmig:transaction off" \
	"goose NO TRANSACTION"
expect_file_contains out-sourcegraph/1003_index_name.up.sql "-- nmig:transaction off" \
	"sourcegraph createIndexConcurrently"
expect_file_contains out-sourcegraph/1020_merge.up.sql \
	"-- nmig:message Merge: email and teams" "sourcegraph name as the message"
expect_file_contains out-sourcegraph/1020_merge.up.sql \
	"-- nmig:parents 1010 1005" "sourcegraph parents in their listed order"
run_nmig --dir out-sourcegraph heads
expect_stdout_equals "1003 (head) Index user names" "one head after the merge"

# warnings about files that are not migrations, and notes on choices
run_nmig import "$FX/diesel" --dir again-diesel
expect_stderr_matches "^warning: ignored: not a diesel migration directory" \
	"README.md next to diesel migrations is a warning"
expect_stderr_contains "README.md" "the warning names the file"
run_nmig import "$FX/flat" --dir again-flat
expect_stderr_matches "^note: the file controls its own transaction" \
	"transaction off chosen from the SQL is a note"
run_nmig -q import "$FX/flat" --dir quiet-flat
expect_exit 0 "import -q"
expect_stderr_empty "-q keeps warnings, notes and the summary quiet"

# ---- --from, aliases, detection ----
run_nmig import --from flat "$FX/flat" --dir alias
expect_exit 0 "--from flat is golang-migrate"
expect_stderr_contains "(golang-migrate)" "the alias reports the canonical name"
run_nmig import -f goose "$FX/goose" --dir short
expect_exit 0 "-f FORMAT"
run_nmig import --from diesel "$FX/goose" --dir wrong
expect_exit 3 "the wrong format is bad input"
expect_stderr_contains "no diesel migrations in '$FX/goose'" "wrong format named"
expect_no_file wrong "nothing written for the wrong format"
run_nmig import --from flyway "$FX/flat" --dir x
expect_exit 2 "unknown format"
expect_stderr_contains "error: unknown format 'flyway'" "unknown format message"
expect_stderr_contains "golang-migrate" "the hint lists the formats"
run_nmig import "$FX/ambiguous" --dir x
expect_exit 2 "ambiguous detection is a usage error"
expect_stderr_contains "matches several formats: diesel, golang-migrate" \
	"ambiguity lists what matched"
expect_stderr_contains "detail: diesel: '" "each match with its file"
expect_stderr_contains "hint: choose one with --from" "ambiguity hint"
run_nmig import --from diesel "$FX/ambiguous" --dir amb-diesel
expect_exit 0 "--from settles the ambiguity"
expect_stderr_contains "2_create_teams.up.sql" "the other format's file is named as ignored"
mkdir empty
run_nmig import empty --dir x
expect_exit 3 "nothing recognisable"
expect_stderr_contains "no migrations of a known format in 'empty'" "empty source"
run_nmig import nowhere --dir x
expect_exit 3 "missing source"
expect_stderr_contains "cannot read directory 'nowhere'" "missing source named"

# ---- usage ----
run_nmig import
expect_exit 2 "no source"
expect_stderr_contains "no source directory given" "no source message"
run_nmig import a b
expect_exit 2 "two sources"
run_nmig import --help
expect_exit 0 "import --help"
expect_stdout_contains "--dry-run" "help lists --dry-run"
expect_stdout_contains "--from FORMAT" "help lists --from"
run_nmig import "$FX/flat" --dir "$FX/flat" --force
expect_exit 2 "importing a directory into itself"
expect_stderr_contains "into itself" "into itself message"

# ---- the destination ----
run_nmig import "$FX/goose" --dir dry/migrations --dry-run
expect_exit 0 "--dry-run"
expect_stdout_lines 7 "--dry-run lists every file"
expect_stdout_matches "^would write dry/migrations/00001_create_users\.up\.sql$" \
	"--dry-run says 'would write'"
expect_stderr_contains "dry run: 4 revisions" "--dry-run summary"
expect_no_file dry "--dry-run creates nothing"
run_nmig import "$FX/goose" --dir out-goose
expect_exit 1 "a non-empty directory is refused"
expect_stderr_contains "error: 'out-goose' is not empty" "non-empty message"
expect_stderr_contains "--force" "the hint names --force"
expect_stdout_empty "nothing listed when nothing was written"
run_nmig import "$FX/goose" --dir out-goose --dry-run
expect_exit 1 "--dry-run checks the directory too"
echo "changed" >out-goose/00003_seed.up.sql
run_nmig import "$FX/goose" --dir out-goose --force
expect_exit 0 "--force writes into a non-empty directory"
expect_file_contains out-goose/00003_seed.up.sql "INSERT INTO users" \
	"--force replaces a file of the same name"
echo "SELECT 1;" >out-goose/00003_other.up.sql
run_nmig import "$FX/goose" --dir out-goose --force
expect_exit 1 "--force still refuses a second file with an imported id"
expect_stderr_contains "has the id '00003' of an imported revision" "id clash message"
[ -z "$(find out-goose -name '.*' -type f)" ]
check $? "no temporary files are left behind"

# the default directory is the configured one
mkdir proj
printf 'dir = db/migrations\n' >proj/nmig.conf
(cd proj && "$NMIG" import "$FX/dbmate" >"$T/.out" 2>"$T/.err")
rc=$?
out=$(cat "$T/.out")
err=$(cat "$T/.err")
CLI_LAST_CMD="(in proj) nmig import $FX/dbmate"
expect_exit 0 "import into the configured directory"
expect_file proj/db/migrations/10_create_teams.up.sql "written under nmig.conf's dir"
run_nmig --dir gdir import "$FX/dbmate"
expect_exit 0 "global --dir is the default destination"
expect_file gdir/1_create_users.up.sql "written under --dir"

# ---- --json ----
run_nmig --json import "$FX/sourcegraph" --dir json-sg
expect_exit 0 "--json"
expect_json "--json prints JSON"
expect_json_eq 'd["format"]' sourcegraph "--json format"
expect_json_eq 'd["files_written"]' 10 "--json files_written"
expect_json_eq 'd["dry_run"]' false "--json dry_run"
expect_json_eq '[r["id"] for r in d["revisions"]]' \
	'["1000", "1005", "1010", "1020", "1003"]' "--json revisions in plan order"
expect_json_eq 'd["revisions"][3]["parents"]' '["1010", "1005"]' "--json parents"
expect_json_eq 'd["revisions"][4]["transactional"]' false "--json transactional"
expect_json_eq 'd["revisions"][0]["up"]' json-sg/1000_root.up.sql "--json up path"

# ---- bad input: every problem, file and line, nothing written ----
mkdir bad
printf -- '-- +goose Up\nSELECT 1;\n' >bad/1_fine.sql
printf 'SELECT 0;\n-- +goose Up\nSELECT 2;\n' >bad/2_early.sql
printf -- '-- +goose Up\n-- +goose StatementBegin\nSELECT 3;\n' >bad/3_open.sql
printf 'package migrations\n' >bad/4_code.go
run_nmig import --from goose bad --dir bad-out
expect_exit 3 "bad goose files"
expect_stderr_contains "error: statement before '-- +goose Up' [import]" "first problem"
expect_stderr_contains "bad/2_early.sql:1" "its file and line"
expect_stderr_contains "StatementBegin without StatementEnd" "second problem"
expect_stderr_contains "bad/3_open.sql:2" "its file and line"
expect_stderr_contains "Go migrations cannot be imported" "third problem"
expect_stderr_contains "bad/4_code.go" "its file"
expect_stderr_contains "nothing was written" "the user is told nothing was written"
expect_no_file bad-out "nothing written after bad input"

# Sourcegraph's metadata.yaml read as Sourcegraph reads it: 'parent: N'
# (its older single-parent key) is that parent; an unknown key is ignored
# with a warning at its line; a metadata.yaml with neither is a root, and
# two roots are refused as Sourcegraph refuses them, with no hint that
# would invent parents
mkdir -p sgk/1000_root sgk/1001_two sgk/1002_three
printf 'CREATE TABLE a (id int);\n' >sgk/1000_root/up.sql
printf 'DROP TABLE a;\n' >sgk/1000_root/down.sql
printf 'name: root\nparents: []\n' >sgk/1000_root/metadata.yaml
printf 'CREATE TABLE b (id int);\n' >sgk/1001_two/up.sql
printf 'DROP TABLE b;\n' >sgk/1001_two/down.sql
printf 'name: two\nparent: 1000\n' >sgk/1001_two/metadata.yaml
printf 'CREATE TABLE c (id int);\n' >sgk/1002_three/up.sql
printf 'DROP TABLE c;\n' >sgk/1002_three/down.sql
printf 'name: three\nparents: [1001]\nprivilegd: true\n' >sgk/1002_three/metadata.yaml
run_nmig import --from sourcegraph sgk --dir sgk-out
expect_exit 0 "a Sourcegraph history with 'parent:' imports"
expect_file sgk-out/1001_two.up.sql "the migration with 'parent:' is written"
grep -q '^-- nmig:parents 1000$' sgk-out/1001_two.up.sql
check $? "'parent: 1000' is its parent, as Sourcegraph reads it"
expect_stderr_contains "warning: unknown key 'privilegd'; did you mean 'privileged'?" "an unknown key is a warning with a suggestion"
expect_stderr_contains "sgk/1002_three/metadata.yaml:3" "at its file and line"
run_nmig --dir sgk-out heads
expect_stdout_contains "1002 (head)" "the imported graph has the one head"

mkdir -p sgr
cp -R sgk/1000_root sgk/1001_two sgr/
printf 'name: two\nparnet: 1000\n' >sgr/1001_two/metadata.yaml
run_nmig import --from sourcegraph sgr --dir sgr-out
expect_exit 3 "two roots are refused, as Sourcegraph's loader refuses them"
expect_stderr_contains "2 migrations have no parent: '1000', '1001'" "the roots are named"
expect_stderr_contains "warning: unknown key 'parnet'; did you mean 'parent'?" "the misspelt key is pointed at"
expect_stderr_contains "sgr/1001_two/metadata.yaml:2" "with its file and line"
expect_stderr_not_contains "parents: []" "no hint that would make it a second root"
expect_no_file sgr-out "nothing written"

finish
