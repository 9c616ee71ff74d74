#!/usr/bin/env bash
# bench_diff.sh: how long `nmig diff --from env:A --to env:B` takes for two
# live databases of N tables each (every table: an identity key, three
# columns with a default and a NOT NULL, a foreign key to the previous
# table, an index and a comment; B differs from A in one column type, one
# added column and one dropped index), and how many catalog round trips it
# costs (from --format json). Each figure is the median of BENCH_RUNS runs.
# It starts its own throwaway cluster with tests/pg_tmp.sh and removes it.
#
#   NMIG=path/to/nmig tests/bench/bench_diff.sh
#
# Environment: BENCH_N (table counts, default "1000"), BENCH_RUNS (default
# 5), BENCH_TMP (scratch parent, default $TMPDIR or /tmp).
# Goal: under 2 s for 1,000 tables, one round trip per database.
# Exit: 0 goal met, 1 an error (wrong differences reported), 3 goal missed.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
SIZES=${BENCH_N:-1000}
RUNS=${BENCH_RUNS:-5}
GOAL_MS=2000
NMIG=${NMIG:-$SRC/build/nmig}

case "${1:-}" in
"") ;;
-h | --help)
	sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "usage: bench_diff.sh [--help]" >&2
	exit 2
	;;
esac

TMP=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/nmig-bench-diff.XXXXXX")
chmod 755 "$TMP"
cleanup() {
	bash "$SRC/tests/pg_tmp.sh" stop "$TMP/pg" >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT
bash "$SRC/tests/pg_tmp.sh" start "$TMP/pg" >/dev/null 2>&1
# shellcheck disable=SC1091
. "$TMP/pg/env"

# schema N VARIANT: SQL for N tables (VARIANT b carries the differences).
schema() {
	local n=$1 v=$2
	awk -v n="$n" -v v="$v" 'BEGIN {
		for (i = 1; i <= n; i++) {
			t = sprintf("t%05d", i)
			printf "CREATE TABLE %s (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ", t
			printf "name %s NOT NULL DEFAULT %s, ", (v == "b" && i == n / 2) ? "varchar(80)" : "text", "'\'''\''"
			printf "created timestamptz NOT NULL DEFAULT now(), "
			printf "prev bigint%s", (i > 1 ? sprintf(" REFERENCES t%05d(id)", i - 1) : "")
			printf "%s);\n", (v == "b" && i == 1) ? ", extra int" : ""
			if (!(v == "b" && i == n)) printf "CREATE INDEX ON %s (created);\n", t
			printf "COMMENT ON TABLE %s IS '\''table %d'\'';\n", t, i
		}
	}'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

rc=0
echo "| tables | objects per side | round trips (from + to) | median wall time |"
echo "| ---: | ---: | ---: | ---: |"
for n in $SIZES; do
	for v in a b; do
		psql -X -q -d postgres -c "drop database if exists bench_$v" -c "create database bench_$v" >/dev/null
		schema "$n" "$v" | psql -X -q -v ON_ERROR_STOP=1 -d "bench_$v" >/dev/null
	done
	A="postgresql:///bench_a?host=$PGHOST&port=$PGPORT"
	B="postgresql:///bench_b?host=$PGHOST&port=$PGPORT"
	json=$(A=$A B=$B "$NMIG" diff --from env:A --to env:B --format json || true)
	got=$(printf '%s\n' "$json" | grep -c '"change"' || true)
	# one column changed, one added, one index gone (its table unchanged)
	if [ "$got" != 3 ]; then
		echo "error: $got differences reported, 3 expected" >&2
		printf '%s\n' "$json" >&2
		exit 1
	fi
	objs=$(printf '%s\n' "$json" | sed -n 's/.*"from": {"objects": \([0-9]*\).*/\1/p')
	rts=$(printf '%s\n' "$json" | grep -o '"roundtrips": [0-9]*' | awk '{ s += $2 } END { print s }')
	ms=$(for _ in $(seq "$RUNS"); do
		t0=$(date +%s%N)
		A=$A B=$B "$NMIG" diff --from env:A --to env:B >/dev/null 2>&1 || true
		echo $((($(date +%s%N) - t0) / 1000000))
	done | median)
	echo "| $n | $objs | $rts | $ms ms |"
	if [ "$n" -ge 1000 ] && [ "$ms" -ge "$GOAL_MS" ]; then
		echo "goal missed: $n tables took $ms ms (goal < $GOAL_MS ms)" >&2
		rc=3
	fi
done
exit $rc
