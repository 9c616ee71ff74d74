#!/usr/bin/env bash
# bench_apply.sh: how long nmig takes to apply and revert N migrations, on
# loopback and over a link with a WAN-like round-trip time, beside
# `psql -1 -f` running the same SQL. The delay comes from tests/bench/relay.c
# (a TCP relay that holds every chunk DELAY ms each way), built here with cc
# so that the normal build does not depend on it. The cluster is a
# throwaway one from tests/pg_tmp.sh. Prints a markdown table.
#
#   NMIG=path/to/nmig tests/bench/bench_apply.sh            the benchmark
#   tests/bench/bench_apply.sh --relay-check                only verify the relay
#
# Environment: BENCH_N (sizes, default "100 1000"), BENCH_RUNS (runs per
# cell, median reported; default 3), BENCH_SLOW_RUNS (runs for N >= 1000
# over the relay, default 1), BENCH_DELAY_MS (one-way delay, default 10),
# BENCH_DURABLE (1, the default: fsync and synchronous_commit on; 0: the
# fast test cluster), BENCH_LINKS (default "direct tls relay": loopback,
# loopback with TLS (a self-signed certificate made here with openssl),
# the delayed relay), BENCH_TMP (scratch parent dir, default $TMPDIR or
# /tmp).
#
# Exit: 0 all goals met, 1 an error (a command failed, wrong result), 3 the
# run worked but a goal was missed (see the "goals" lines).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
DELAY=${BENCH_DELAY_MS:-10}
RTT=$((2 * DELAY))
SIZES=${BENCH_N:-100 1000}
RUNS=${BENCH_RUNS:-3}
SLOW_RUNS=${BENCH_SLOW_RUNS:-1}
DURABLE=${BENCH_DURABLE:-1}
LINKS=${BENCH_LINKS:-direct tls relay}
MODE=bench

case "${1:-}" in
--relay-check) MODE=relay-check ;;
"") ;;
-h | --help)
	sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "usage: bench_apply.sh [--relay-check]" >&2
	exit 2
	;;
esac

if [ "$MODE" = bench ]; then
	if [ -z "${NMIG:-}" ] || [ ! -x "$NMIG" ]; then
		echo "bench_apply.sh: set NMIG to the nmig binary" \
			"(e.g. NMIG=build/nmig)" >&2
		exit 2
	fi
	NMIG=$(cd "$(dirname "$NMIG")" && pwd)/$(basename "$NMIG")
fi
command -v psql >/dev/null || {
	echo "bench_apply.sh: psql is not on PATH" >&2
	exit 1
}
command -v cc >/dev/null || {
	echo "bench_apply.sh: no C compiler (cc) to build the relay" >&2
	exit 1
}

WORK=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/nmig-bench.XXXXXX")
# The cluster may run as another user (postgres, when we are root).
chmod 755 "$WORK"
RELAY_PID=""
cleanup() {
	if [ -n "$RELAY_PID" ]; then
		kill "$RELAY_PID" 2>/dev/null || true
		wait "$RELAY_PID" 2>/dev/null || true
	fi
	bash "$SRC/tests/pg_tmp.sh" stop "$WORK/pg" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

log() {
	echo "bench: $*" >&2
}

die() {
	echo "bench_apply.sh: error: $*" >&2
	exit 1
}

# now_us: wall clock in microseconds.
now_us() {
	local t=${EPOCHREALTIME/,/.}
	echo $((10#${t%.*} * 1000000 + 10#${t#*.}))
}

# ms_of US: microseconds as milliseconds with two decimals.
ms_of() {
	printf '%d.%02d' $(($1 / 1000)) $((($1 % 1000) / 10))
}

# median VALUES...: the median (lower middle for an even count).
median() {
	printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"
}

# --- the cluster and the relay ---------------------------------------------

cc -O2 -Wall -Wextra -Werror -o "$WORK/relay" "$SRC/tests/bench/relay.c" ||
	die "cannot build tests/bench/relay.c"

[ -x /usr/bin/time ] || die "/usr/bin/time (Debian package time) is needed for peak RSS"
command -v openssl >/dev/null || die "openssl is needed for the TLS link"
# a self-signed server certificate for the TLS link (never a real one)
mkdir -p "$WORK/tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-keyout "$WORK/tls/server.key" -out "$WORK/tls/server.crt" \
	>"$WORK/tls/openssl.log" 2>&1 || die "openssl: $(cat "$WORK/tls/openssl.log")"
chmod 600 "$WORK/tls/server.key"
if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
	chown -R postgres "$WORK/tls"
fi
log "starting a throwaway cluster (durable: $DURABLE, TLS on)"
[ "$DURABLE" = 1 ] && export PG_TMP_DURABLE=1
PG_TMP_SSL_DIR=$WORK/tls bash "$SRC/tests/pg_tmp.sh" start "$WORK/pg" >"$WORK/pg_tmp.log" 2>&1 ||
	die "tests/pg_tmp.sh start failed: $(cat "$WORK/pg_tmp.log")"
# shellcheck disable=SC1091
. "$WORK/pg/env"
unset DATABASE_URL PGSERVICE PGSSLMODE PGPASSWORD NMIG_ENV NODE_ENV
export NO_COLOR=1

"$WORK/relay" 0 127.0.0.1 "$PGPORT" "$DELAY" >"$WORK/relay.out" \
	2>"$WORK/relay.err" &
RELAY_PID=$!
for _ in $(seq 1 50); do
	[ -s "$WORK/relay.out" ] && break
	sleep 0.1
done
RELAY_PORT=$(awk '$1 == "port" { print $2 }' "$WORK/relay.out")
[ -n "$RELAY_PORT" ] || die "the relay did not start: $(cat "$WORK/relay.err")"

# port_of LINK: the TCP port for link "direct" or "relay".
port_of() {
	if [ "$1" = relay ]; then
		echo "$RELAY_PORT"
	else
		echo "$PGPORT"
	fi
}

# url LINK DB: a TCP URL (with the password) to DB over LINK; TLS
# (sslmode=require) on the tls link, refused (sslmode=disable) elsewhere.
url() {
	local mode=disable
	[ "$1" = tls ] && mode=require
	echo "postgres://postgres:$NMIG_PG_PASSWORD@127.0.0.1:$(port_of "$1")/$2?sslmode=$mode"
}

# sql DB SQL: run SQL as postgres over the unix socket (setup and checks).
sql() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

fresh_db() {
	drop_db "$1"
	sql postgres "create database \"$1\"" >/dev/null
}

drop_db() {
	PGOPTIONS="-c client_min_messages=warning" \
		sql postgres "drop database if exists \"$1\" with (force)" >/dev/null
}

# psql_rt_us LINK: mean microseconds per `SELECT 1` (20 in one session,
# measured by psql's \timing, so connecting is not counted).
psql_rt_us() {
	local script total
	script=$(printf '\\timing on\n' && for _ in $(seq 1 20); do
		echo 'SELECT 1;'
	done)
	total=$(printf '%s\n' "$script" |
		psql -X -q -d "$(url "$1" postgres)" 2>&1 |
		awk '/^Time: / { s += $2 } END { printf "%d", s * 1000 }')
	echo $((total / 20))
}

# relay_check: a query through the relay takes about RTT ms more than a
# direct one. Prints the figures; fails when off by more than the slack.
relay_check() {
	local direct relayed extra lo hi
	direct=$(psql_rt_us direct)
	relayed=$(psql_rt_us relay)
	extra=$((relayed - direct))
	lo=$((RTT * 1000 - 1000))
	hi=$((RTT * 1000 + 5000))
	RELAY_DIRECT_US=$direct
	RELAY_EXTRA_US=$extra
	log "relay check: SELECT 1 direct $(ms_of "$direct") ms," \
		"through the relay $(ms_of "$relayed") ms" \
		"(+$(ms_of "$extra") ms; expected +$RTT ms)"
	if [ "$extra" -lt "$lo" ] || [ "$extra" -gt "$hi" ]; then
		die "the relay adds $(ms_of "$extra") ms per round trip," \
			"expected $RTT ms (between $((lo / 1000)) and $((hi / 1000)))"
	fi
}

relay_check
if [ "$MODE" = relay-check ]; then
	echo "relay ok: +$(ms_of "$RELAY_EXTRA_US") ms per round trip at" \
		"${DELAY} ms each way (direct $(ms_of "$RELAY_DIRECT_US") ms)"
	exit 0
fi

# --- synthetic migrations ----------------------------------------------------

# gen N: a project in $WORK/p$N with N linear transactional migrations, and
# $WORK/p$N/all_up.sql with every up body concatenated. The DDL is kept
# light (no serial, no TOAST table, no primary key) so that catalog work on
# the server does not hide what the client adds.
gen() {
	local n=$1 dir=$WORK/p$1 i id prev=base
	mkdir -p "$dir/migrations"
	: >"$dir/all_up.sql"
	: >"$dir/all_down.sql"
	for i in $(seq 1 "$n"); do
		id=$(printf '20260101%02d%02d%02d' $((i / 3600)) \
			$((i / 60 % 60)) $((i % 60)))
		{
			echo "-- nmig:parents $prev"
			echo "-- nmig:message bench table $i"
		} >"$dir/migrations/${id}_bench_$i.up.sql"
		cat >"$dir/body.tmp" <<EOF
CREATE TABLE bench_t$i (id integer NOT NULL, name varchar(100) NOT NULL);
INSERT INTO bench_t$i (id, name) VALUES ($i, 'row $i');
CREATE INDEX bench_t${i}_name_idx ON bench_t$i (name);
EOF
		cat "$dir/body.tmp" >>"$dir/migrations/${id}_bench_$i.up.sql"
		cat "$dir/body.tmp" >>"$dir/all_up.sql"
		echo "DROP TABLE bench_t$i;" \
			>"$dir/migrations/${id}_bench_$i.down.sql"
		prev=$id
	done
	# the downs in reverse order, as a downgrade runs them
	for i in $(seq "$n" -1 1); do
		echo "DROP TABLE bench_t$i;"
	done >"$dir/all_down.sql"
	rm -f "$dir/body.tmp"
}

# --- timed runs --------------------------------------------------------------

# timed NAME CMD...: run CMD (stdout/stderr to $WORK/NAME.out/.err), set
# ELAPSED_US and RSS_KB (the peak resident set, from /usr/bin/time, whose
# own start costs every command alike); a failure stops the benchmark with
# the output shown.
timed() {
	local name=$1 t0 t1 st=0
	shift
	t0=$(now_us)
	/usr/bin/time -f %M -o "$WORK/$name.rss" "$@" >"$WORK/$name.out" \
		2>"$WORK/$name.err" </dev/null || st=$?
	t1=$(now_us)
	ELAPSED_US=$((t1 - t0))
	RSS_KB=$(tail -1 "$WORK/$name.rss")
	if [ "$st" != 0 ]; then
		echo "bench_apply.sh: error: '$name' exited with $st" >&2
		sed 's/^/  stdout: /' "$WORK/$name.out" >&2
		sed 's/^/  stderr: /' "$WORK/$name.err" >&2
		exit 1
	fi
	if grep -q canaryPW "$WORK/$name.out" "$WORK/$name.err"; then
		die "'$name' printed the password"
	fi
}

# roundtrips NAME: the count after `round trips:` in NAME's output, or "-".
roundtrips() {
	local n
	n=$(cat "$WORK/$1.out" "$WORK/$1.err" |
		sed -n 's/.*round trips: *\([0-9][0-9]*\).*/\1/p' | tail -1)
	echo "${n:--}"
}

# expect DB SQL VALUE WHAT: a check of the database after a run.
expect() {
	local got
	got=$(sql "$1" "$2")
	[ "$got" = "$3" ] || die "$4: expected '$3', got '$got' in $1"
}

# bench_cell N LINK RUNS: median times of nmig upgrade, nmig downgrade,
# psql -1 -f of the ups and psql -1 -f of the downs for N migrations over
# LINK; sets UP_US, DOWN_US, PSQL_US, PSQLD_US, UP_RT, DOWN_RT and the
# median peak RSS of nmig upgrade and psql (UP_KB, PSQL_KB).
bench_cell() {
	local n=$1 link=$2 runs=$3 r db ups=() downs=() psqls=() psqlds=()
	local upkb=() psqlkb=()
	local dir=$WORK/p$n
	for r in $(seq 1 "$runs"); do
		db=b_${n}_${link}_$r
		fresh_db "$db"
		log "N=$n $link run $r/$runs: nmig upgrade head"
		timed up env DATABASE_URL="$(url "$link" "$db")" \
			NMIG_TRACE_ROUNDTRIPS=1 "$NMIG" --dir "$dir/migrations" \
			upgrade head
		ups+=("$ELAPSED_US")
		upkb+=("$RSS_KB")
		UP_RT=$(roundtrips up)
		expect "$db" "select count(*) from public.schema_version where state = 'applied'" \
			"$n" "nmig upgrade"
		expect "$db" "select count(*) from pg_catalog.pg_tables where tablename like 'bench\\_t%'" \
			"$n" "nmig upgrade"
		log "N=$n $link run $r/$runs: nmig downgrade base"
		timed down env DATABASE_URL="$(url "$link" "$db")" \
			NMIG_TRACE_ROUNDTRIPS=1 "$NMIG" --dir "$dir/migrations" \
			downgrade base
		downs+=("$ELAPSED_US")
		DOWN_RT=$(roundtrips down)
		expect "$db" "select count(*) from public.schema_version" 0 \
			"nmig downgrade"
		expect "$db" "select count(*) from pg_catalog.pg_tables where tablename like 'bench\\_t%'" \
			0 "nmig downgrade"
		drop_db "$db"

		fresh_db "$db"
		log "N=$n $link run $r/$runs: psql -1 -f all_up.sql"
		timed psql psql -X -q -v ON_ERROR_STOP=1 -1 \
			-d "$(url "$link" "$db")" -f "$dir/all_up.sql"
		psqls+=("$ELAPSED_US")
		psqlkb+=("$RSS_KB")
		expect "$db" "select count(*) from pg_catalog.pg_tables where tablename like 'bench\\_t%'" \
			"$n" "psql -1 -f"
		log "N=$n $link run $r/$runs: psql -1 -f all_down.sql"
		timed psqld psql -X -q -v ON_ERROR_STOP=1 -1 \
			-d "$(url "$link" "$db")" -f "$dir/all_down.sql"
		psqlds+=("$ELAPSED_US")
		expect "$db" "select count(*) from pg_catalog.pg_tables where tablename like 'bench\\_t%'" \
			0 "psql -1 -f all_down.sql"
		drop_db "$db"
	done
	UP_US=$(median "${ups[@]}")
	DOWN_US=$(median "${downs[@]}")
	PSQL_US=$(median "${psqls[@]}")
	PSQLD_US=$(median "${psqlds[@]}")
	UP_KB=$(median "${upkb[@]}")
	PSQL_KB=$(median "${psqlkb[@]}")
}

# per_run DIRECT_US RELAY_US N: "R / P": round trips the link added to the
# whole run (R, one decimal) and per migration (P, three decimals).
per_run() {
	local d=$(($2 - $1)) r p
	[ "$d" -ge 0 ] || d=0
	r=$((d * 10 / (RTT * 1000)))
	p=$((d * 1000 / (RTT * 1000) / $3))
	printf '%d.%d / %d.%03d' $((r / 10)) $((r % 10)) $((p / 1000)) \
		$((p % 1000))
}

declare -A UP DOWN PSQL PSQLD UPKB PSQLKB URT DRT NRUNS
for n in $SIZES; do
	log "generating $n migrations"
	gen "$n"
	for link in $LINKS; do
		runs=$RUNS
		if [ "$link" = relay ] && [ "$n" -ge 1000 ]; then
			runs=$SLOW_RUNS
		fi
		bench_cell "$n" "$link" "$runs"
		UP[$n,$link]=$UP_US
		DOWN[$n,$link]=$DOWN_US
		PSQL[$n,$link]=$PSQL_US
		PSQLD[$n,$link]=$PSQLD_US
		UPKB[$n,$link]=$UP_KB
		PSQLKB[$n,$link]=$PSQL_KB
		URT[$n,$link]=$UP_RT
		DRT[$n,$link]=$DOWN_RT
		NRUNS[$n,$link]=$runs
	done
done

# --- report -------------------------------------------------------------------

# ratio A B: A / B with two decimals.
ratio() {
	local r=$(($1 * 100 / $2))
	printf '%d.%02d' $((r / 100)) $((r % 100))
}

# mb KB: kilobytes as MB with one decimal.
mb() {
	printf '%d.%d' $(($1 / 1024)) $(($1 % 1024 * 10 / 1024))
}

link_name() {
	case $1 in
	direct) echo loopback ;;
	tls) echo "loopback, TLS" ;;
	relay) echo "relay ${RTT} ms RTT" ;;
	esac
}

has_link() {
	case " $LINKS " in *" $1 "*) return 0 ;; esac
	return 1
}

echo "## nmig apply benchmark"
echo
echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(uname -sr)," \
	"PostgreSQL $(sql postgres 'show server_version')" \
	"(fsync $(sql postgres 'show fsync')," \
	"synchronous_commit $(sql postgres 'show synchronous_commit'))," \
	"$("$NMIG" --version | head -1), $(psql --version)."
if has_link relay; then
	echo "Relay ${DELAY} ms each way (${RTT} ms RTT; measured" \
		"+$(ms_of "$RELAY_EXTRA_US") ms per round trip)."
fi
if has_link tls; then
	echo "TLS: $(psql -X -A -t -d "$(url tls postgres)" -c "select version || ' ' || cipher from pg_stat_ssl where pid = pg_backend_pid()") with a self-signed RSA 2048 certificate made by the bench (sslmode=require)."
fi
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" \
	"(other work on the machine slows every column alike)."
echo "Times are wall-clock ms (median of the runs; connecting included);"
echo "peak RSS (median, /usr/bin/time) of nmig upgrade and of psql -1 -f of the ups."
echo
echo "| N | link | runs | nmig upgrade | psql -1 -f ups | up / psql | nmig downgrade | psql -1 -f downs | down / psql | RSS nmig / psql MB | nmig round trips (up / down) |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|"
for n in $SIZES; do
	for link in $LINKS; do
		printf '| %s | %s | %s | %s | %s | %sx | %s | %s | %sx | %s / %s | %s / %s |\n' \
			"$n" "$(link_name "$link")" "${NRUNS[$n,$link]}" \
			"$(ms_of "${UP[$n,$link]}")" \
			"$(ms_of "${PSQL[$n,$link]}")" \
			"$(ratio "${UP[$n,$link]}" "${PSQL[$n,$link]}")" \
			"$(ms_of "${DOWN[$n,$link]}")" \
			"$(ms_of "${PSQLD[$n,$link]}")" \
			"$(ratio "${DOWN[$n,$link]}" "${PSQLD[$n,$link]}")" \
			"$(mb "${UPKB[$n,$link]}")" "$(mb "${PSQLKB[$n,$link]}")" \
			"${URT[$n,$link]}" "${DRT[$n,$link]}"
	done
done
echo
if has_link relay && has_link direct; then
	echo "Round trips the ${RTT} ms link added, for the whole run / per migration:"
	echo "(time at ${RTT} ms RTT - time on loopback) / ${RTT} ms, and that / N."
	echo
	echo "| N | nmig upgrade | nmig downgrade | psql -1 -f ups | psql -1 -f downs |"
	echo "|---:|---:|---:|---:|---:|"
	for n in $SIZES; do
		printf '| %s | %s | %s | %s | %s |\n' "$n" \
			"$(per_run "${UP[$n,direct]}" "${UP[$n,relay]}" "$n")" \
			"$(per_run "${DOWN[$n,direct]}" "${DOWN[$n,relay]}" "$n")" \
			"$(per_run "${PSQL[$n,direct]}" "${PSQL[$n,relay]}" "$n")" \
			"$(per_run "${PSQLD[$n,direct]}" "${PSQLD[$n,relay]}" "$n")"
	done
	echo
fi

missed=0
# goal OK WHAT: one line of the goals list.
goal() {
	if [ "$1" = 1 ]; then
		echo "- met: $2"
	else
		echo "- MISSED: $2"
		missed=1
	fi
}
echo "Goals:"
echo
if has_link relay && has_link direct && [ -n "${UP[100,relay]:-}" ]; then
	t=${UP[100,relay]}
	net=$((t - UP[100,direct]))
	[ "$net" -ge 0 ] || net=0
	ok=0
	[ "$t" -lt 500000 ] && ok=1
	goal $ok "upgrading 100 migrations over ${RTT} ms RTT took $(ms_of "$t") ms, of which the link added $(ms_of "$net") ms (goal < 500 ms)"
fi
if has_link direct; then
	for n in $SIZES; do
		ok=0
		[ $((UP[$n,direct] * 100)) -le $((PSQL[$n,direct] * 105)) ] && ok=1
		goal $ok "on loopback nmig upgrade of $n is $(ratio "${UP[$n,direct]}" "${PSQL[$n,direct]}")x psql -1 -f (goal <= 1.05x)"
		ok=0
		[ $((DOWN[$n,direct] * 100)) -le $((PSQLD[$n,direct] * 105)) ] && ok=1
		goal $ok "on loopback nmig downgrade of $n is $(ratio "${DOWN[$n,direct]}" "${PSQLD[$n,direct]}")x psql -1 -f of the downs (goal <= 1.05x)"
		# the batch: every up file of the plan, sent in one query
		batch_kb=$(($(cat "$WORK/p$n"/migrations/*.up.sql | wc -c) / 1024))
		ok=0
		[ "${UPKB[$n,direct]}" -le $((PSQLKB[$n,direct] + 2048 + batch_kb)) ] && ok=1
		goal $ok "peak RSS of nmig upgrade of $n: $(mb "${UPKB[$n,direct]}") MB, psql's $(mb "${PSQLKB[$n,direct]}") MB, the batch's SQL $batch_kb KB (goal <= psql + 2 MB + the batch)"
	done
fi
if [ "$missed" != 0 ]; then
	exit 3
fi
