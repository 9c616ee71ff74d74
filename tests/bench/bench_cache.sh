#!/usr/bin/env bash
# bench_cache.sh: what the plan cache (.nmig/cache.db) buys. For each size
# and shape it writes a synthetic history with tests/bench/gen_history.sh,
# dates its files back (files modified in the last 2 s are never cached),
# and times `nmig check` and `nmig heads` three ways: without the cache
# (--no-cache), cold (no cache file: the run reads, parses and stores
# everything) and warm (the cache the previous run left: files are only
# stat'ed, check and lint results read back). Each figure is the median of
# BENCH_RUNS runs; every cold run starts from a deleted cache. The output
# of all three ways must be the same, or the benchmark fails. Prints a
# markdown table and the goal lines.
#
#   NMIG=path/to/nmig tests/bench/bench_cache.sh
#
# Environment: BENCH_N (sizes, default "10000 100000"), BENCH_SHAPES
# (default "linear branchy"; see gen_history.sh), BENCH_RUNS (default 3),
# BENCH_TMP (scratch parent, default $TMPDIR or /tmp).
#
# Goals: warm `nmig check` at least 10x faster than cold for every size
# and shape; warm `nmig heads` on 10,000 revisions under 100 ms.
# Exit: 0 goals met, 1 an error (a command failed, or the outputs
# differ), 2 usage, 3 the run worked but a goal was missed.
# The *_cmd functions are called through time_us / median_us.
# shellcheck disable=SC2317
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
SIZES=${BENCH_N:-10000 100000}
SHAPES=${BENCH_SHAPES:-linear branchy}
RUNS=${BENCH_RUNS:-3}
GOAL_SPEEDUP=10
GOAL_HEADS_10K_MS=100

case "${1:-}" in
"") ;;
-h | --help)
	sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "usage: NMIG=path/to/nmig bench_cache.sh" >&2
	exit 2
	;;
esac
if [ -z "${NMIG:-}" ] || [ ! -x "$NMIG" ]; then
	echo "bench_cache.sh: set NMIG to the nmig binary" \
		"(e.g. NMIG=build/nmig)" >&2
	exit 2
fi
case "$RUNS" in
'' | *[!0-9]* | 0)
	echo "bench_cache.sh: BENCH_RUNS must be a positive number" >&2
	exit 2
	;;
esac
NMIG=$(cd "$(dirname "$NMIG")" && pwd)/$(basename "$NMIG")

WORK=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/nmig-cache.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Microseconds since the epoch, from bash's clock (no process spawned).
now_us() {
	local t=${EPOCHREALTIME/[.,]/}
	echo "$t"
}

# Run "$@" once, its stdout to $WORK/out; print the elapsed microseconds,
# or show stderr and stop the benchmark when it fails.
time_us() {
	local t0 t1
	t0=$(now_us)
	if ! "$@" >"$WORK/out" 2>"$WORK/stderr"; then
		echo "bench_cache.sh: failed: $*" >&2
		cat "$WORK/stderr" >&2
		exit 1
	fi
	t1=$(now_us)
	echo $((t1 - t0))
}

median() {
	sort -n | sed -n "$(((RUNS + 1) / 2))p"
}

ms() {
	awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'
}

# same NAME FILE: FILE must equal the reference output $WORK/NAME.ref.
same() {
	if ! cmp -s "$WORK/$1.ref" "$2"; then
		echo "bench_cache.sh: '$1' printed something else than" \
			"with --no-cache:" >&2
		diff "$WORK/$1.ref" "$2" | head -20 >&2
		exit 1
	fi
}

nocache_cmd() { "$NMIG" --no-cache --dir "$1" "$2"; }
cached_cmd() { "$NMIG" --dir "$1" "$2"; }

# bench DIR CMD: print "nocache cold warm" in microseconds (medians).
bench() {
	local dir=$1 cmd=$2 i t nocache=() cold=() warm=()
	rm -rf "$dir/../.nmig"
	for ((i = 0; i < RUNS; i++)); do
		t=$(time_us nocache_cmd "$dir" "$cmd") || exit 1
		nocache+=("$t")
	done
	cp "$WORK/out" "$WORK/$cmd.ref"
	if [ -e "$dir/../.nmig" ]; then
		echo "bench_cache.sh: --no-cache wrote $dir/../.nmig" >&2
		exit 1
	fi
	for ((i = 0; i < RUNS; i++)); do
		rm -rf "$dir/../.nmig"
		t=$(time_us cached_cmd "$dir" "$cmd") || exit 1
		same "$cmd" "$WORK/out"
		cold+=("$t")
	done
	for ((i = 0; i < RUNS; i++)); do
		t=$(time_us cached_cmd "$dir" "$cmd") || exit 1
		same "$cmd" "$WORK/out"
		warm+=("$t")
	done
	echo "$(printf '%s\n' "${nocache[@]}" | median)" \
		"$(printf '%s\n' "${cold[@]}" | median)" \
		"$(printf '%s\n' "${warm[@]}" | median)"
}

status=0
goals=()
goal() {
	# goal OK(0/1) TEXT
	if [ "$1" = 1 ]; then
		goals+=("goal met: ${*:2}")
	else
		goals+=("goal MISSED: ${*:2}")
		status=3
	fi
}

echo "nmig: $("$NMIG" --version 2>/dev/null || echo unknown)," \
	"$(nproc) cores, median of $RUNS runs, load average" \
	"$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
echo
echo "| shape | revisions | command | no cache (ms) | cold (ms)" \
	"| warm (ms) | cold / warm |"
echo "| --- | ---: | --- | ---: | ---: | ---: | ---: |"
for shape in $SHAPES; do
	for n in $SIZES; do
		dir="$WORK/$shape-$n/migrations"
		"$SRC/tests/bench/gen_history.sh" "$dir" "$n" "$shape"
		find "$dir" -type f -exec touch -d '2020-01-01 00:00:00' {} +
		for cmd in check heads; do
			res=$(bench "$dir" "$cmd")
			read -r nc cold warm <<<"$res"
			ratio=$(awk -v c="$cold" -v w="$warm" \
				'BEGIN { printf "%.1f", c / w }')
			echo "| $shape | $n | $cmd | $(ms "$nc") | $(ms "$cold")" \
				"| $(ms "$warm") | ${ratio}x |"
			if [ "$cmd" = check ]; then
				goal "$((cold >= GOAL_SPEEDUP * warm ? 1 : 0))" \
					"check $shape $n: warm ${ratio}x" \
					"faster than cold (goal >= ${GOAL_SPEEDUP}x)"
			elif [ "$n" = 10000 ]; then
				goal "$((warm < GOAL_HEADS_10K_MS * 1000 ? 1 : 0))" \
					"heads $shape 10000 warm: $(ms "$warm")" \
					"ms (goal < $GOAL_HEADS_10K_MS ms)"
			fi
		done
		rm -rf "${WORK:?}/$shape-$n"
	done
done
echo
printf '%s\n' "${goals[@]}"
exit $status
