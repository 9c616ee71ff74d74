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
# Goals (wall time): warm `nmig check` at least 10x faster than cold for
# every shape at 10,000 revisions and more; warm `nmig heads` on 10,000
# revisions under 100 ms. The warm CPU time (user + system) is printed
# too: on a machine that other work keeps busy, wall time grows and CPU
# time does not.
# Exit: 0 goals met, 1 an error (a command failed, or the outputs
# differ), 2 usage, 3 the run worked but a goal was missed.
# The *_cmd functions are called through time_us.
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
	sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
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

# Run "$@" once, its stdout to $WORK/out; print the elapsed wall-clock
# and CPU (user + system) microseconds, or show stderr and stop the
# benchmark when it fails. CPU time shows what the run costs when other
# processes share the machine; wall time is what a user waits.
time_us() {
	local TIMEFORMAT='%3R %3U %3S' rc=0 t
	{ time "$@" >"$WORK/out" 2>"$WORK/stderr" || rc=$?; } 2>"$WORK/time"
	if [ "$rc" -ne 0 ]; then
		echo "bench_cache.sh: failed: $*" >&2
		cat "$WORK/stderr" >&2
		exit 1
	fi
	read -r -a t <"$WORK/time"
	awk -v r="${t[0]}" -v u="${t[1]}" -v s="${t[2]}" \
		'BEGIN { printf "%d %d\n", r * 1e6, (u + s) * 1e6 }'
}

# The median of the lines on stdin ("wall cpu" pairs, by wall time).
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

# bench DIR CMD: print the medians "nocache cold warm warm_cpu" in
# microseconds (wall time, and the CPU time of the median warm run).
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
	local nc c w
	nc=$(printf '%s\n' "${nocache[@]}" | median)
	c=$(printf '%s\n' "${cold[@]}" | median)
	w=$(printf '%s\n' "${warm[@]}" | median)
	echo "${nc% *} ${c% *} $w"
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
	"| warm (ms) | warm CPU (ms) | cold / warm |"
echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"
for shape in $SHAPES; do
	for n in $SIZES; do
		dir="$WORK/$shape-$n/migrations"
		"$SRC/tests/bench/gen_history.sh" "$dir" "$n" "$shape"
		find "$dir" -type f -exec touch -d '2020-01-01 00:00:00' {} +
		for cmd in check heads; do
			res=$(bench "$dir" "$cmd")
			read -r nc cold warm warm_cpu <<<"$res"
			ratio=$(awk -v c="$cold" -v w="$warm" \
				'BEGIN { printf "%.1f", c / w }')
			echo "| $shape | $n | $cmd | $(ms "$nc") | $(ms "$cold")" \
				"| $(ms "$warm") | $(ms "$warm_cpu") | ${ratio}x |"
			if [ "$cmd" = check ] && [ "$n" -ge 10000 ]; then
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
