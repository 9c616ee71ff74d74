#!/usr/bin/env bash
# gen_history.sh: write a synthetic migration history for benchmarks and
# scale tests. Revision i (1..N) gets the id 20260101000000+i, an up file
# that creates table t_i and a down file that drops it. One awk process
# writes every file, so 100,000 revisions take seconds, not minutes.
#
#   tests/bench/gen_history.sh DIR N [linear|branchy|implicit]
#
#   linear    each revision's parent is the one before it, written as an
#             explicit `-- nmig:parents` header (as `nmig revision` does)
#   branchy   blocks of ten: a fork, two arms of four revisions, and a
#             merge of the two arms (`-- nmig:parents A B`); blocks chain
#             one after another; a last partial block is a plain chain, so
#             the history always has a single head
#   implicit  linear without any `parents` header: each revision's parent
#             is implied by id order, as in histories from other tools
#
# DIR is created if needed and must not hold migrations already.
set -euo pipefail

usage() {
	echo "usage: gen_history.sh DIR N [linear|branchy|implicit]" >&2
	exit 2
}

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	usage
fi
dir=$1
n=$2
shape=${3:-linear}
case "$n" in
'' | *[!0-9]*) usage ;;
esac
case "$shape" in
linear | branchy | implicit) ;;
*) usage ;;
esac

mkdir -p "$dir"
if compgen -G "$dir/*.up.sql" >/dev/null; then
	echo "gen_history.sh: '$dir' already holds migrations" >&2
	exit 1
fi

awk -v dir="$dir" -v n="$n" -v shape="$shape" '
function id(i) {
	return sprintf("%.0f", 20260101000000 + i)
}
# Parents of revision i (1-based) as a space-separated id list; "base"
# for the first.
function parents(i,    r, full) {
	if (i == 1)
		return "base"
	if (shape != "branchy")
		return id(i - 1)
	# whole blocks cover revisions 1..full; the rest is a chain
	full = int(n / 10) * 10
	if (i > full)
		return id(i - 1)
	r = (i - 1) % 10
	if (r == 1 || r == 5)		# an arm starts at the fork
		return id(i - r)
	if (r == 9)			# the merge of both arms
		return id(i - 5) " " id(i - 1)
	return id(i - 1)		# fork (after the last merge), arm body
}
BEGIN {
	for (i = 1; i <= n; i++) {
		base = dir "/" id(i) "_create_t_" i
		up = base ".up.sql"
		down = base ".down.sql"
		if (shape != "implicit")
			print "-- nmig:parents " parents(i) > up
		print "-- nmig:message create t_" i > up
		print "" > up
		print "CREATE TABLE t_" i " (id bigint PRIMARY KEY, note text);" > up
		close(up)
		print "DROP TABLE t_" i ";" > down
		close(down)
	}
}'
