#!/usr/bin/env bash
# bench_history.sh: how nmig's offline commands scale with the number of
# revisions. For each size and shape it writes a synthetic history with
# tests/bench/gen_history.sh into a scratch directory, then times
# `nmig --dir D heads`, `nmig --dir D history` (output discarded) and a
# full plan: `nmig --dir D upgrade head --dry-run` when DATABASE_URL is set
# and the command knows --dry-run, else `nmig --dir D check` (which loads,
# checks and lints every file). Each figure is the median of BENCH_RUNS
# runs made after one untimed warm-up run; the very first `heads` on a
# fresh directory (no plan cache yet) is shown as "cold". Prints a
# markdown table and the goal lines.
#
#   NMIG=path/to/nmig tests/bench/bench_history.sh
#
# Environment: BENCH_N (sizes, default "1000 10000 100000"), BENCH_SHAPES
# (default "linear branchy"; see gen_history.sh), BENCH_RUNS (default 3),
# BENCH_TMP (scratch parent, default $TMPDIR or /tmp).
#
# Goals: `nmig heads` on 10,000 revisions under 100 ms; heads and history
# growing linearly (100,000 revisions cost at most 15x what 10,000 do).
# Exit: 0 goals met, 1 an error (a command failed or printed the wrong
# head), 2 usage, 3 the run worked but a goal was missed.
# The *_cmd functions are called through time_us / median_us, and HISTORY
# is read through a name reference.
# shellcheck disable=SC2317,SC2034
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
SIZES=${BENCH_N:-1000 10000 100000}
SHAPES=${BENCH_SHAPES:-linear branchy}
RUNS=${BENCH_RUNS:-3}
GOAL_HEADS_10K_MS=100
GOAL_GROWTH=15

case "${1:-}" in
"") ;;
-h | --help)
	sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "usage: NMIG=path/to/nmig bench_history.sh" >&2
	exit 2
	;;
esac
if [ -z "${NMIG:-}" ] || [ ! -x "$NMIG" ]; then
	echo "bench_history.sh: set NMIG to the nmig binary" \
		"(e.g. NMIG=build/nmig)" >&2
	exit 2
fi
NMIG=$(cd "$(dirname "$NMIG")" && pwd)/$(basename "$NMIG")

WORK=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/nmig-history.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# The plan column: a real plan when a database and --dry-run are there.
if [ -n "${DATABASE_URL:-}" ] &&
	"$NMIG" upgrade --help 2>&1 | grep -q -- '--dry-run'; then
	PLAN_NAME="upgrade head --dry-run"
	plan_cmd() { "$NMIG" --dir "$1" upgrade head --dry-run; }
else
	PLAN_NAME="check"
	plan_cmd() { "$NMIG" --dir "$1" check; }
fi

# Microseconds since the epoch, from bash's clock (no process spawned).
now_us() {
	local t=${EPOCHREALTIME/[.,]/}
	echo "$t"
}

# Run "$@" once with stdout discarded; on success print the elapsed time
# in microseconds, on failure show stderr and stop the benchmark.
time_us() {
	local t0 t1
	t0=$(now_us)
	if ! "$@" >/dev/null 2>"$WORK/stderr"; then
		echo "bench_history.sh: failed: $*" >&2
		cat "$WORK/stderr" >&2
		exit 1
	fi
	t1=$(now_us)
	echo $((t1 - t0))
}

# Median of RUNS timed runs of "$@", after one untimed warm-up run.
median_us() {
	local i runs=()
	time_us "$@" >/dev/null
	for ((i = 0; i < RUNS; i++)); do
		runs+=("$(time_us "$@")")
	done
	printf '%s\n' "${runs[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}

ms() {
	awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'
}

heads_cmd() { "$NMIG" --dir "$1" heads; }
history_cmd() { "$NMIG" --dir "$1" history; }

declare -A HEADS HISTORY
echo "nmig: $("$NMIG" --version 2>/dev/null || echo unknown)," \
	"$(nproc) cores, median of $RUNS runs"
echo
echo "| shape | revisions | heads cold (ms) | heads (ms) | history (ms)" \
	"| $PLAN_NAME (ms) | heads per revision (us) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for shape in $SHAPES; do
	for n in $SIZES; do
		dir="$WORK/$shape-$n"
		"$SRC/tests/bench/gen_history.sh" "$dir" "$n" "$shape"
		want=$(awk -v n="$n" \
			'BEGIN { printf "%.0f", 20260101000000 + n }')
		cold=$(time_us heads_cmd "$dir")
		if ! heads_cmd "$dir" 2>&1 | grep -q "$want"; then
			echo "bench_history.sh: 'nmig heads' on $shape $n" \
				"does not name $want:" >&2
			heads_cmd "$dir" >&2 || true
			exit 1
		fi
		h=$(median_us heads_cmd "$dir")
		hi=$(median_us history_cmd "$dir")
		p=$(median_us plan_cmd "$dir")
		HEADS[$shape-$n]=$h
		HISTORY[$shape-$n]=$hi
		echo "| $shape | $n | $(ms "$cold") | $(ms "$h") | $(ms "$hi")" \
			"| $(ms "$p") | $(awk -v us="$h" -v n="$n" \
				'BEGIN { printf "%.2f", us / n }') |"
		rm -rf "$dir"
	done
done

echo
status=0
goal() {
	# goal NAME OK(0/1) TEXT
	if [ "$2" = 1 ]; then
		echo "goal met: $1: ${*:3}"
	else
		echo "goal MISSED: $1: ${*:3}"
		status=3
	fi
}
for shape in $SHAPES; do
	k10=${HEADS[$shape-10000]:-}
	k100=${HEADS[$shape-100000]:-}
	if [ -n "$k10" ]; then
		goal "heads 10k $shape" \
			"$((k10 < GOAL_HEADS_10K_MS * 1000 ? 1 : 0))" \
			"$(ms "$k10") ms (goal < $GOAL_HEADS_10K_MS ms)"
	fi
	if [ -n "$k10" ] && [ -n "$k100" ]; then
		for what in HEADS HISTORY; do
			declare -n tab=$what
			a=${tab[$shape-10000]}
			b=${tab[$shape-100000]}
			goal "linear growth, ${what,,} $shape" \
				"$((b <= GOAL_GROWTH * a ? 1 : 0))" \
				"100k / 10k = $(awk -v a="$a" -v b="$b" \
					'BEGIN { printf "%.1f", b / a }')x" \
				"(goal <= ${GOAL_GROWTH}x)"
			unset -n tab
		done
	fi
done
exit $status
