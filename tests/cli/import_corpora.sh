#!/usr/bin/env bash
# import_corpora.sh: `nmig import` on the real histories in
# ../shared/corpora (lemmy: Diesel, 288 revisions with a
# 00000000000000_diesel_initial_setup first; sourcegraph-codeintel: a DAG
# with merges and createIndexConcurrently; authelia: flat V0001.Name pairs).
# Each is imported into a scratch directory; then an independent reading of
# the source (here, in Python) must agree with what nmig's loader and graph
# see (`nmig history --json`): the same number of revisions, the same order
# (the source tool's), the same parents, and the SQL byte for byte behind
# the `-- nmig:` header. Skipped loudly when the corpora are not there; they
# are never copied into the repository.
. "$(dirname "$0")/lib.sh"

CORPORA=${NMIG_SOURCE_DIR:-.}/../shared/corpora
if [ ! -d "$CORPORA/lemmy" ] || [ ! -d "$CORPORA/sourcegraph-codeintel" ] ||
	[ ! -d "$CORPORA/authelia" ]; then
	echo "SKIP: the corpora are not at '$CORPORA' (lemmy, sourcegraph-codeintel, authelia)" >&2
	exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3 is needed to read the corpora independently" >&2
	exit 77
fi
cli_init

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

# verify NAME FORMAT COUNT: compare the import in out-NAME with the source.
verify() {
	local name=$1 format=$2 count=$3
	run_nmig --dir "out-$name" history --json
	expect_exit 0 "nmig's loader and graph accept the $name import"
	python3 - "$CORPORA/$name" "out-$name" "$format" "$T/.out" "$count" \
		<<'EOF' >"$T/.verify" 2>&1
import json, os, re, sys

src, dest, fmt, hist, count = sys.argv[1:]
names = sorted(n for n in os.listdir(src) if not n.startswith("."))

def read(p):
    with open(p, "rb") as f:
        return f.read()

# (id, slug, up path, down path or None, parents or None = the previous,
#  transactional)
revs = []
if fmt == "diesel":
    # Diesel: the version is the name before '_' with '-' removed,
    # compared as text
    dirs = sorted(names, key=lambda n: n.split("_")[0].replace("-", ""))
    for n in dirs:
        d = os.path.join(src, n)
        down = os.path.join(d, "down.sql")
        revs.append((n.split("_")[0], n.split("_", 1)[1],
                     os.path.join(d, "up.sql"),
                     down if os.path.exists(down) else None, None, True))
elif fmt == "golang-migrate":
    ups = sorted((n for n in names if n.endswith(".up.sql")),
                 key=lambda n: int(re.match(r"V(\d+)\.", n).group(1)))
    for n in ups:
        m = re.match(r"(V\d+)\.(.*)\.up\.sql$", n)
        down = os.path.join(src, n[:-len(".up.sql")] + ".down.sql")
        revs.append((m.group(1), m.group(2), os.path.join(src, n),
                     down if os.path.exists(down) else None, None, True))
else:
    for n in names:
        d = os.path.join(src, n)
        meta = read(os.path.join(d, "metadata.yaml")).decode()
        m = re.search(r"^parents:\s*\[(.*?)\]", meta, re.M)
        ps = ([p.strip() for p in m.group(1).split(",") if p.strip()] if m
              else re.findall(r"^\s*-\s*(\d+)", meta, re.M))
        tx = not re.search(r"^createIndexConcurrently:\s*true", meta, re.M)
        down = os.path.join(d, "down.sql")
        revs.append((n.split("_")[0], n.split("_", 1)[1],
                     os.path.join(d, "up.sql"),
                     down if os.path.exists(down) else None, ps, tx))

problems = []
if len(revs) != int(count):
    problems.append("%d revisions in the source, expected %s"
                    % (len(revs), count))
ids = [r[0] for r in revs]
want_parents = {}
for i, r in enumerate(revs):
    want_parents[r[0]] = r[4] if r[4] is not None else (
        [ids[i - 1]] if i else [])

for rid, slug, up, down, _, tx in revs:
    base = os.path.join(dest, rid + "_" + slug)
    got = read(base + ".up.sql")
    lines = got.split(b"\n")
    k = 0
    while k < len(lines) and lines[k].startswith(b"-- nmig:"):
        k += 1
    if b"\n".join(lines[k:]) != read(up):
        problems.append("%s: up SQL differs from %s" % (rid, up))
    header = [l.decode() for l in lines[:k]]
    p = want_parents[rid]
    if header[0] != "-- nmig:parents " + (" ".join(p) if p else "base"):
        problems.append("%s: first header line %r" % (rid, header[0]))
    if ("-- nmig:transaction off" in header) == tx:
        problems.append("%s: transaction header %r, expected %s"
                        % (rid, header, "on" if tx else "off"))
    if down is None:
        if os.path.exists(base + ".down.sql"):
            problems.append("%s: a down file was written" % rid)
    elif read(base + ".down.sql") != read(down):
        problems.append("%s: down SQL differs from %s" % (rid, down))

plan = list(reversed(json.load(open(hist))))
got_ids = [r["id"] for r in plan]
if len(plan) != len(revs):
    problems.append("history has %d revisions, expected %d"
                    % (len(plan), len(revs)))
if fmt != "sourcegraph" and got_ids != ids:
    problems.append("plan order differs from the source tool's order")
if sorted(got_ids) != sorted(ids):
    problems.append("history ids differ from the source ids")
pos = {rid: i for i, rid in enumerate(got_ids)}
for r in plan:
    if r["parents"] != want_parents.get(r["id"]):
        problems.append("%s: parents %s, expected %s"
                        % (r["id"], r["parents"], want_parents.get(r["id"])))
    for p in r["parents"]:
        if pos.get(p, len(plan)) >= pos[r["id"]]:
            problems.append("%s: parent %s is not planned before it"
                            % (r["id"], p))
print("\n".join(problems[:20]) if problems else "ok %d" % len(revs))
sys.exit(1 if problems else 0)
EOF
	check $? "the $name import keeps count, order, parents and SQL bytes" \
		"$(cat "$T/.verify")"
}

for c in lemmy:diesel:288 sourcegraph-codeintel:sourcegraph:33 \
	authelia:golang-migrate:26; do
	IFS=: read -r name format count <<<"$c"
	run_nmig import "$CORPORA/$name" --dir "out-$name"
	expect_exit 0 "import $name"
	expect_stderr_contains "imported $count revisions from '$CORPORA/$name' ($format)" \
		"import $name detects $format and counts $count revisions"
	verify "$name" "$format" "$count"
	# the order import lists (the tool's order; Sourcegraph: parents
	# first, ties by id) is the order nmig plans
	run_nmig --json import "$CORPORA/$name" --dir "dry-$name" --dry-run
	expect_exit 0 "import $name --dry-run --json"
	python3 -c 'import json, sys; print(" ".join(r["id"] for r in json.load(open(sys.argv[1]))["revisions"]))' \
		"$T/.out" >"$T/.import-order"
	run_nmig --dir "out-$name" history --json
	python3 -c 'import json, sys; print(" ".join(r["id"] for r in reversed(json.load(open(sys.argv[1])))))' \
		"$T/.out" >"$T/.plan-order"
	cmp -s "$T/.import-order" "$T/.plan-order"
	check $? "the $name import order is nmig's plan order" \
		"$(diff "$T/.import-order" "$T/.plan-order" | head -5)"
done

# Diesel's own first migration comes first, as Diesel runs it
run_nmig --dir out-lemmy history --json
expect_json_eq 'd[-1]["id"]' 00000000000000 "lemmy starts with diesel's initial setup"
expect_json_eq 'd[-1]["parents"]' '[]' "the initial setup is the root"
run_nmig --dir out-lemmy heads
expect_stdout_equals "2025-06-18-130813 (head) community instance not deferrable" \
	"lemmy has one head"
# sourcegraph: two squashed roots in a chain, merges, one head
run_nmig --dir out-sourcegraph-codeintel heads --json
expect_json_eq '[h["id"] for h in d]' '["1774017741"]' "sourcegraph-codeintel has one head"
run_nmig --dir out-sourcegraph-codeintel show 1732716553
expect_exit 0 "show a five-parent merge"
expect_stdout_contains "1727399325" "the merge lists its parents"
# nmig check parses every file of lemmy and authelia with PostgreSQL's
# parser and accepts names, headers and graph. (sourcegraph-codeintel has
# COMMIT AND CHAIN inside migrations Sourcegraph runs in a transaction;
# import keeps them transactional, as Sourcegraph ran them, and check
# reports that: see docs/import.md.)
for name in lemmy authelia; do
	expect_check_clean "out-$name" "nmig check finds no error but lint's in the $name import"
done

finish
