#!/usr/bin/env bash
# graph.sh: `nmig history --graph` and `nmig graph` -- golden outputs on
# the tests/fixtures/graph histories (tests/fixtures/graphview/NAME.history,
# .dot, .mermaid; NMIG_REGEN=1 rewrites them), `dot -Tsvg` renders the dot
# output, the Mermaid block is well formed, -r ranges, colour only on a
# terminal, and both stay linear on a generated branchy history with the
# shape of a real one (340 revisions, 164 merges, 4 heads) and on 10,000
# revisions. The database marks are in tests/db/graph.sh.
. "$(dirname "$0")/lib.sh"
cli_init

graphs=$NMIG_FIXTURES/graph
golden=$NMIG_FIXTURES/graphview
m=$(examples m)

# golden NAME EXT ARGS...: run nmig ARGS on fixture NAME, compare with
# graphview/NAME.EXT.
golden() {
	local name=$1 ext=$2
	shift 2
	run_nmig --dir "$graphs/$name" "$@"
	expect_exit 0 "$name: nmig $*"
	if [ -n "${NMIG_REGEN:-}" ]; then
		printf '%s\n' "$out" >"$golden/$name.$ext"
	fi
	expect_stdout_equals "$(cat "$golden/$name.$ext")" "$name: nmig $* matches graphview/$name.$ext"
}

for name in linear merge several-heads older-children implicit diesel; do
	golden "$name" history history --graph
	golden "$name" dot graph
	golden "$name" mermaid graph --format mermaid
done

# The shapes, read off the merge fixture.
run_nmig --dir "$graphs/merge" history --graph
expect_stdout_contains '* 20260104000000 (mergepoint) merge' "the merge's row"
expect_stdout_contains '|\' "the merge fans out"
expect_stdout_contains '|/' "the branch point joins"
expect_stdout_contains '* 20260101000000 (base) (branchpoint) users' "the base and branch point"
run_nmig --dir "$graphs/several-heads" history --graph
expect_stdout_contains '| * 003 (head) c' "a second head in its own lane"

# Ranges, as history -r.
run_nmig --dir "$graphs/merge" history --graph -r 20260102000000:
expect_exit 0 "history --graph -r A:"
expect_stdout_lines 3 "-r A: keeps the revisions after A that are not its ancestors"
expect_stdout_not_contains "20260101000000" "-r A: drops A's ancestors"
run_nmig --dir "$graphs/merge" graph -r :20260103000000
expect_stdout_contains '"20260101000000" -> "20260103000000";' "graph -r :B keeps B's edge"
expect_stdout_not_contains "20260102000000" "graph -r :B drops the other arm"
run_nmig --dir "$graphs/merge" graph -r nope:
expect_exit 4 "an unknown revision in the range"
run_nmig --dir "$graphs/merge" graph -r 2026
expect_exit 2 "a range without a colon"
expect_stderr_contains "invalid range '2026'" "the range error"

# Usage.
run_nmig --dir "$m" graph --format svg
expect_exit 2 "an unknown format"
expect_stderr_contains "unknown format 'svg'" "unknown format: why"
run_nmig --dir "$m" history --graph --json
expect_exit 2 "history --graph --json"
expect_stderr_contains "--graph has no JSON form" "--graph --json: why"
run_nmig --dir "$m" graph extra
expect_exit 2 "graph takes no argument"

# dot renders; the Mermaid block is well formed.
run_nmig --dir "$m" graph
printf '%s\n' "$out" >g.dot
if command -v dot >/dev/null 2>&1; then
	dot -Tsvg g.dot >g.svg 2>"$T/.dot"
	check $? "dot -Tsvg renders the graph" "$(cat "$T/.dot")"
	grep -q '<svg' g.svg
	check $? "dot wrote an SVG"
	for name in merge several-heads older-children diesel; do
		"$NMIG" --dir "$graphs/$name" graph | dot -Tsvg >/dev/null 2>"$T/.dot"
		check $? "dot -Tsvg renders $name" "$(cat "$T/.dot")"
	done
else
	echo "NOTE: graphviz is not installed (scripts/deps installs it): dot rendering not checked" >&2
fi
run_nmig --dir "$m" graph --format mermaid
expect_eq "$(printf '%s\n' "$out" | head -2 | tr '\n' ' ')" '```mermaid flowchart BT ' "a mermaid block with a flowchart"
expect_eq "$(printf '%s\n' "$out" | tail -1)" '```' "the block is closed"
body=$(printf '%s\n' "$out" | sed '1,2d;$d')
bad=$(printf '%s\n' "$body" | grep -Ev '^  (n[0-9]+(\[\[".*"\]\]|\{\{".*"\}\}|\[".*"\])|n[0-9]+ --> n[0-9]+|classDef [a-z]+ fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6}|class n[0-9]+(,n[0-9]+)* [a-z]+)$')
[ -z "$bad" ]
check $? "every Mermaid line is a node, an edge or a class" "bad lines: $bad"
expect_eq "$(printf '%s\n' "$body" | grep -c -- '-->')" 5 "five edges in the example history"
# no node id is used without being declared
undeclared=$(printf '%s\n' "$body" | grep -o 'n[0-9]* --> n[0-9]*' | tr ' ' '\n' |
	grep '^n' | sort -u | while read -r n; do
		printf '%s\n' "$body" | grep -q "^  $n[[{]" || echo "$n"
	done)
[ -z "$undeclared" ]
check $? "every edge's nodes are declared" "undeclared: $undeclared"

# Hostile text stays inside its quotes.
mkdir evil
printf -- '-- nmig:message a "quoted" <b>#1</b> \\ back\nSELECT 1;\n' >evil/001_evil.up.sql
run_nmig --dir evil graph
expect_stdout_contains 'label="001 (head)\na \"quoted\" <b>#1</b> \\ back"' "dot escapes quotes and backslashes"
printf '%s\n' "$out" | dot -Tsvg >/dev/null 2>&1 || ! command -v dot >/dev/null
check $? "dot renders the escaped label"
run_nmig --dir evil graph --format mermaid
expect_stdout_contains 'a #quot;quoted#quot; #lt;b#gt;#35;1#lt;/b#gt; \ back' "Mermaid labels use entities"

# Colour only on a terminal, never with NO_COLOR or --no-color.
run_nmig --dir "$m" history --graph
case "$out" in *$'\033['*) fail "no colour off a terminal" ;; *) pass ;; esac
on_tty env -u NO_COLOR "$NMIG" --dir "$m" history --graph
case "$out" in *$'\033['*) pass ;; *) fail "colour on a terminal" ;; esac
on_tty env NO_COLOR=1 "$NMIG" --dir "$m" history --graph
case "$out" in *$'\033['*) fail "NO_COLOR: no colour" ;; *) pass ;; esac
on_tty env -u NO_COLOR "$NMIG" --dir "$m" history --graph --no-color
case "$out" in *$'\033['*) fail "--no-color: no colour" ;; *) pass ;; esac

# A history shaped like a real one: 340 revisions, every other one from 10
# on a merge, 4 heads; and the same shape at 10,000.
tangle() {
	awk -v n="$1" -v dir="$2" 'BEGIN {
		for (i = 1; i <= n; i++) {
			f = dir "/" (1000000 + i) "_r" i ".up.sql"
			if (i == 1) p = "base"
			else if (i > n - 3) p = 1000000 + i - 4
			else if (i % 2 == 0 && i > 8)
				p = (1000000 + i - 1) " " (1000000 + i - 2 - (i * 7) % 5)
			else p = 1000000 + i - 1
			printf "-- nmig:parents %s\n-- nmig:message r%d\nSELECT 1;\n", p, i > f
			close(f)
		}
	}'
}
mkdir t340 t10000
tangle 340 t340
tangle 10000 t10000
run_nmig --dir t340 heads
expect_stdout_lines 4 "the tangle has 4 heads"
run_nmig --dir t340 history --json
expect_json_eq 'sum(1 for r in d if r["mergepoint"])' 164 "the tangle has 164 merges"
run_nmig --dir t340 history --graph
expect_exit 0 "history --graph on 340 revisions"
expect_eq "$(printf '%s\n' "$out" | grep -c '^[| ]*\* ')" 340 "one row per revision"
width=$(printf '%s\n' "$out" | awk '{ sub(/[0-9].*/, ""); if (length($0) > w) w = length($0) } END { print w }')
[ "$width" -le 16 ]
check $? "the lanes stay narrow (at most 16 columns, got $width)"
run_nmig --dir t340 graph
expect_eq "$(printf '%s\n' "$out" | grep -c -- ' -> ')" 503 "every edge in the dot output"
for c in "history --graph" "graph" "graph --format mermaid"; do
	# shellcheck disable=SC2086 # the command and its options
	s=$(date +%s%N)
	"$NMIG" --no-cache --dir t10000 $c >/dev/null
	ms=$((($(date +%s%N) - s) / 1000000))
	[ "$ms" -lt 3000 ]
	check $? "$c on 10,000 revisions takes ${ms} ms (limit 3000)"
done

finish
