#!/usr/bin/env bash
# bench_offline.sh: how long nmig takes to write offline SQL scripts
# (`upgrade head --sql`, `downgrade head:base --sql`) for synthetic
# histories of N revisions (tests/bench/gen_history.sh, linear and
# branchy), without the plan cache (--no-cache) and with a warm one, and
# whether `downgrade head:base --sql` of 20,000 revisions takes under 1 s.
# Nothing connects to a database. Every script is checked: one COMMIT
# per migration. Prints a markdown table.
#
#   NMIG=path/to/nmig tests/bench/bench_offline.sh
#
# Environment: BENCH_N (sizes, default "10000 100000"), BENCH_SHAPES
# (default "linear branchy"), BENCH_RUNS (runs per cell, the median is
# reported; default 3), BENCH_TMP (scratch parent dir, default $TMPDIR or
# /tmp). BENCH_APPLY=N (default off) also applies the upgrade and downgrade
# scripts of an N-revision branchy history with psql on a throwaway cluster
# (tests/pg_tmp.sh), beside the online commands on another database, and
# checks both end with the same version rows and tables (one run each).
#
# Exit: 0 the goal is met, 1 an error (a command failed, a wrong script),
# 3 the run worked but the goal was missed.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
SIZES=${BENCH_N:-10000 100000}
SHAPES=${BENCH_SHAPES:-linear branchy}
RUNS=${BENCH_RUNS:-3}
GOAL_N=20000
GOAL_MS=1000

case "${1:-}" in
"") ;;
-h | --help)
	sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "usage: bench_offline.sh (options in the environment)" >&2
	exit 2
	;;
esac
if [ -z "${NMIG:-}" ] || [ ! -x "$NMIG" ]; then
	echo "bench_offline.sh: set NMIG to the nmig binary" \
		"(e.g. NMIG=build/nmig)" >&2
	exit 2
fi
NMIG=$(cd "$(dirname "$NMIG")" && pwd)/$(basename "$NMIG")

WORK=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/nmig-bench-offline.XXXXXX")
# The cluster may run as another user (postgres, when we are root).
chmod 755 "$WORK"
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if [ -n "${BENCH_APPLY:-}" ]; then
		bash "$SRC/tests/pg_tmp.sh" stop "$WORK/pg" >/dev/null 2>&1 || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
# Offline scripts never need a database; make sure none is named.
unset DATABASE_URL PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE

log() {
	echo "bench: $*" >&2
}

die() {
	echo "bench_offline.sh: error: $*" >&2
	exit 1
}

# ms CMD...: run CMD (output discarded), print its wall-clock milliseconds.
ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>"$WORK/err" || die "'$*' failed: $(head -5 "$WORK/err")"
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

# median N...: the median of the numbers.
median() {
	printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}

# cell DIR ARGS...: the median ms of RUNS runs of nmig ARGS in DIR.
cell() {
	local dir=$1 t=()
	shift
	for _ in $(seq 1 "$RUNS"); do
		t+=("$(cd "$dir" && ms "$NMIG" -q "$@")")
	done
	median "${t[@]}"
}

# check_script FILE N: one COMMIT per migration, no local path.
check_script() {
	local n
	n=$(grep -c '^COMMIT;$' "$1" || true)
	[ "$n" = "$2" ] || die "$1 has $n COMMITs, expected $2"
	if grep -qF "$WORK" "$1"; then
		die "$1 contains a local path"
	fi
}

mb() {
	awk -v b="$(wc -c <"$1")" 'BEGIN {printf "%.1f", b / 1048576}'
}

# measure SHAPE N: generate the history, time both scripts without and
# with the cache; sets UP_NC UP_W DOWN_NC DOWN_W and the sizes UP_MB DOWN_MB.
measure() {
	local shape=$1 n=$2 dir=$WORK/$1-$2
	log "generating $n revisions ($shape)"
	bash "$SRC/tests/bench/gen_history.sh" "$dir/migrations" "$n" "$shape"
	# gen_history writes every file at once; the cache does not keep
	# entries modified in the last 2 s (racily clean ones), so wait.
	sleep 2.1
	log "$shape $n: without the cache"
	UP_NC=$(cell "$dir" --no-cache upgrade head --sql -o up.sql)
	check_script "$dir/up.sql" "$n"
	DOWN_NC=$(cell "$dir" --no-cache downgrade head:base --sql -o down.sql)
	check_script "$dir/down.sql" "$n"
	log "$shape $n: warm cache"
	(cd "$dir" && ms "$NMIG" -q heads) >/dev/null
	UP_W=$(cell "$dir" upgrade head --sql -o up.sql)
	check_script "$dir/up.sql" "$n"
	DOWN_W=$(cell "$dir" downgrade head:base --sql -o down.sql)
	check_script "$dir/down.sql" "$n"
	UP_MB=$(mb "$dir/up.sql")
	DOWN_MB=$(mb "$dir/down.sql")
	rm -rf "$dir"
}

ROWS=()
measure linear "$GOAL_N"
goal_nc=$DOWN_NC
goal_ms=$DOWN_W
ROWS+=("| $GOAL_N | linear | $UP_NC | $UP_W | $UP_MB | $DOWN_NC | $DOWN_W | $DOWN_MB |")
for shape in $SHAPES; do
	for n in $SIZES; do
		[ "$n" = "$GOAL_N" ] && [ "$shape" = linear ] && continue
		measure "$shape" "$n"
		ROWS+=("| $n | $shape | $UP_NC | $UP_W | $UP_MB | $DOWN_NC | $DOWN_W | $DOWN_MB |")
	done
done

echo
echo "Wall-clock ms, median of $RUNS runs (loading the files, checking"
echo "their SQL, planning and writing the script):"
echo
echo "| N | shape | upgrade head --sql, no cache | warm cache | MB | downgrade head:base --sql, no cache | warm cache | MB |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
# apply N: the scripts through psql beside the online commands.
apply() {
	local n=$1 dir=$WORK/apply url up_s up_o down_s down_o
	log "apply: generating $n revisions (branchy), starting a cluster"
	bash "$SRC/tests/bench/gen_history.sh" "$dir/migrations" "$n" branchy
	bash "$SRC/tests/pg_tmp.sh" start "$WORK/pg" >/dev/null
	# shellcheck disable=SC1091
	. "$WORK/pg/env"
	psql -X -q -d postgres -c "create database off_script" \
		-c "create database off_online" >/dev/null
	url="postgres://postgres:$NMIG_PG_PASSWORD@127.0.0.1:$PGPORT/off_online"
	(cd "$dir" && "$NMIG" -q --no-cache upgrade head --sql -o up.sql) ||
		die "upgrade --sql failed"
	(cd "$dir" && "$NMIG" -q --no-cache downgrade head:base --sql -o down.sql) ||
		die "downgrade --sql failed"
	log "apply: upgrade"
	up_s=$(ms psql -X -q -v ON_ERROR_STOP=1 -d off_script -f "$dir/up.sql")
	up_o=$(cd "$dir" && DATABASE_URL=$url ms "$NMIG" -q --no-cache upgrade head)
	same_end "after upgrade" "$n"
	log "apply: downgrade"
	down_s=$(ms psql -X -q -v ON_ERROR_STOP=1 -d off_script -f "$dir/down.sql")
	down_o=$(cd "$dir" && DATABASE_URL=$url ms "$NMIG" -q --no-cache downgrade base)
	same_end "after downgrade" 0
	APPLY_ROW="| $n | branchy | $up_s | $up_o | $down_s | $down_o |"
}

# same_end WHAT N: both databases hold N rows, the same rows and tables.
same_end() {
	local q r
	q="select revision, parents, checksum, state from schema_version order by 1"
	r=$(psql -X -At -d off_script -c "$q" | md5sum)
	[ "$r" = "$(psql -X -At -d off_online -c "$q" | md5sum)" ] ||
		die "$1: the version rows differ"
	[ "$(psql -X -At -d off_script -c 'select count(*) from schema_version')" = "$2" ] ||
		die "$1: expected $2 version rows"
	q="select count(*) from pg_tables where schemaname = 'public'"
	[ "$(psql -X -At -d off_script -c "$q")" = "$(psql -X -At -d off_online -c "$q")" ] ||
		die "$1: the tables differ"
}

if [ -n "${BENCH_APPLY:-}" ]; then
	apply "$BENCH_APPLY"
	echo
	echo "Applying the scripts with psql -f over the unix socket, beside the"
	echo "online commands over TCP (ms, one run; same rows and tables at each end):"
	echo
	echo "| N | shape | psql -f upgrade script | nmig upgrade | psql -f downgrade script | nmig downgrade |"
	echo "|---:|---|---:|---:|---:|---:|"
	echo "$APPLY_ROW"
fi

echo
if [ "$goal_ms" -lt "$GOAL_MS" ]; then
	echo "- met: downgrade head:base --sql of $GOAL_N revisions took $goal_ms ms" \
		"with a warm cache, $goal_nc ms without (goal < $GOAL_MS ms)"
	exit 0
fi
echo "- missed: downgrade head:base --sql of $GOAL_N revisions took $goal_ms ms" \
	"with a warm cache, $goal_nc ms without (goal < $GOAL_MS ms)"
exit 3
