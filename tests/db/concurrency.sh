#!/usr/bin/env bash
# concurrency.sh: eight `nmig upgrade head` started at once on one database
# apply every migration exactly once. First with the session advisory lock
# (seven wait for it, then find nothing to do), then with the lock disabled
# (--no-lock, as on a transaction-mode pooler) to prove that the
# version row inserted first in each migration's transaction is enough on
# its own: a second runner blocks on the primary key and gives up cleanly.
# Every synthetic migration inserts one row into a side-effect table that
# has no unique constraint, so a double application would show as a
# duplicate row there.
set -u
. "$(dirname "$0")/../db_lib.sh"
db_init

RUNNERS=8
NSYN=30

# heads_of DIR: the heads of the revision files in DIR (ids no file names
# as a parent; a file without a parents line follows the previous id).
heads_of() {
	local dir=$1 f id prev="" parents
	local -A is_parent=()
	local ids=()
	for f in "$dir"/*.up.sql; do
		[ -e "$f" ] || continue
		id=$(basename "$f")
		ids+=("${id%%_*}")
	done
	[ ${#ids[@]} -gt 0 ] || return 0
	while read -r id; do
		f=$(ls "$dir/${id}_"*.up.sql | head -1)
		parents=$(sed -n 's/^-- nmig:parents[[:space:]]*//p' "$f" | head -1)
		if [ -z "$parents" ]; then
			parents=$prev
		fi
		for p in $parents; do
			is_parent[$p]=1
		done
		prev=$id
	done < <(printf '%s\n' "${ids[@]}" | sort -n)
	for id in "${ids[@]}"; do
		[ -n "${is_parent[$id]:-}" ] || echo "$id"
	done | sort -n
}

# make_project NAME WITH_EXAMPLES: a project with the example migrations
# (when WITH_EXAMPLES=1 and they exist) followed by NSYN synthetic ones.
# Sets PROJ (the project directory) and SYN_IDS (the synthetic ids in order).
SYN_IDS=()
PROJ=""
make_project() {
	local dir i id parents
	dir=$(project_dir "$1")
	PROJ=$dir
	mkdir -p "$dir/migrations"
	if [ "$2" = 1 ]; then
		cp "$NMIG_SOURCE_DIR"/migrations/*.sql "$dir/migrations/"
	fi
	parents=$(heads_of "$dir/migrations" | tr '\n' ' ')
	parents=${parents% }
	[ -n "$parents" ] || parents=base
	SYN_IDS=()
	for i in $(seq 1 "$NSYN"); do
		id=$(printf '2099010100%02d%02d' $((i / 60)) $((i % 60)))
		cat >"$dir/migrations/${id}_conc_$i.up.sql" <<EOF
-- nmig:parents $parents
-- nmig:message concurrency $i
CREATE TABLE conc_t$i (id integer PRIMARY KEY);
INSERT INTO public.conc_side (revision) VALUES ('$id');
SELECT pg_catalog.pg_sleep(0.02);
EOF
		cat >"$dir/migrations/${id}_conc_$i.down.sql" <<EOF
DELETE FROM public.conc_side WHERE revision = '$id';
DROP TABLE conc_t$i;
EOF
		SYN_IDS+=("$id")
		parents=$id
	done
}

# race NAME DB DIR [NMIG_ARGS...]: start RUNNERS `nmig upgrade head` at once
# (they wait on a common start signal), wait for all; outputs in
# $DB_TMP/NAME.K.out/.err, exit codes in RACE_RC[K].
RACE_RC=()
race() {
	local name=$1 db=$2 dir=$3 k
	shift 3
	local go=$DB_TMP/$name.go pids=()
	rm -f "$go"
	for k in $(seq 1 "$RUNNERS"); do
		(
			while [ ! -e "$go" ]; do
				sleep 0.01
			done
			exec env DATABASE_URL="$(db_url "$db")" "$NMIG" \
				--dir "$dir/migrations" upgrade head \
				--lock-wait 120s "$@"
		) >"$DB_TMP/$name.$k.out" 2>"$DB_TMP/$name.$k.err" </dev/null &
		pids+=($!)
	done
	sleep 0.2
	touch "$go"
	RACE_RC=()
	for k in $(seq 1 "$RUNNERS"); do
		wait "${pids[$((k - 1))]}"
		RACE_RC[k]=$?
	done
}

# check_race NAME DB NREVS NEXPECTED_APPLIED: the common assertions after a
# race: exit codes, each revision applied exactly once (version rows, side
# effects, "applied" lines), no duplicate-object errors, no password.
check_race() {
	local name=$1 db=$2 nrevs=$3 napplied=$4 k bad=0 lines=0 n
	for k in $(seq 1 "$RUNNERS"); do
		canary_check "$name runner $k" "$DB_TMP/$name.$k.out" \
			"$DB_TMP/$name.$k.err" || bad=1
		if [ "${RACE_RC[k]}" != 0 ]; then
			fail "$name: runner $k exited ${RACE_RC[k]} (expected 0)"
			sed 's/^/  stdout: /' "$DB_TMP/$name.$k.out" >&2
			sed 's/^/  stderr: /' "$DB_TMP/$name.$k.err" >&2
			bad=1
		fi
		n=$(grep -c '^applied ' "$DB_TMP/$name.$k.out")
		lines=$((lines + n))
		if grep -qiE 'already exists|duplicate key|42P07|42710|23505' \
			"$DB_TMP/$name.$k.err" "$DB_TMP/$name.$k.out"; then
			fail "$name: runner $k reported a duplicate object/key"
			grep -iE 'already exists|duplicate key|42P07|42710|23505' \
				"$DB_TMP/$name.$k.err" "$DB_TMP/$name.$k.out" |
				sed 's/^/  /' >&2
			bad=1
		fi
	done
	[ "$bad" = 1 ] || pass "$name: all $RUNNERS runners exited 0, no duplicate errors"
	expect_eq "$lines" "$napplied" \
		"$name: $napplied 'applied' lines over all runners (each migration reported once)"
	expect_eq "$(psql_q "$db" "select count(*) from public.schema_version")" \
		"$nrevs" "$name: one version row per revision"
	expect_eq "$(psql_q "$db" "select count(*) from public.schema_version where state = 'applied'")" \
		"$nrevs" "$name: every row applied (none dirty)"
	expect_eq "$(psql_q "$db" "select count(*) || '/' || count(distinct revision) from public.conc_side")" \
		"$NSYN/$NSYN" "$name: each synthetic migration's side effect exactly once"
	expect_eq "$(psql_q "$db" "select count(*) from pg_catalog.pg_tables where schemaname = 'public' and tablename like 'conc\\_t%'")" \
		"$NSYN" "$name: every synthetic table exists"
}

# --- with the advisory lock ------------------------------------------------

have_examples=0
if ls "$NMIG_SOURCE_DIR"/migrations/*.up.sql >/dev/null 2>&1; then
	have_examples=1
else
	echo "note: no example migrations in $NMIG_SOURCE_DIR/migrations;" \
		"the locked race uses the synthetic ones only" >&2
fi
make_project locked "$have_examples"
dir=$PROJ
nrevs=$(ls "$dir"/migrations/*.up.sql | wc -l)
db_create locked
psql_q locked "create table public.conc_side (revision text not null, pid integer not null default pg_catalog.pg_backend_pid())" >/dev/null
race locked locked "$dir"
check_race locked locked "$nrevs" "$nrevs"
nothing=0
for k in $(seq 1 "$RUNNERS"); do
	grep -q 'nothing to do' "$DB_TMP/locked.$k.out" && nothing=$((nothing + 1))
done
expect_eq "$nothing" $((RUNNERS - 1)) \
	"locked: the runners that waited for the lock found nothing to do"

# --- without the advisory lock: the version-row guard alone -----------------

# --no-lock makes the engine skip the session advisory lock, as it does by
# itself on a transaction-mode pooler host, where that lock means nothing.
make_project nolock 0
dir=$PROJ
db_create nolock
psql_q nolock "create table public.conc_side (revision text not null, pid integer not null default pg_catalog.pg_backend_pid())" >/dev/null
# The version table is created under the lock by design; create it (and
# apply the first migration) before the lock-less race.
export DATABASE_URL
DATABASE_URL=$(db_url nolock)
run_nmig --dir "$dir/migrations" upgrade "${SYN_IDS[0]}"
expect_rc 0 "nolock: first migration applied before the race"
unset DATABASE_URL
race nolock nolock "$dir" --no-lock
check_race nolock nolock "$NSYN" $((NSYN - 1))
concurrent=0
for k in $(seq 1 "$RUNNERS"); do
	if grep -q 'applied concurrently by another process' \
		"$DB_TMP/nolock.$k.err" "$DB_TMP/nolock.$k.out"; then
		concurrent=$((concurrent + 1))
	fi
done
if [ "$concurrent" -ge 1 ]; then
	pass "nolock: $concurrent runner(s) met a concurrent apply and reported it"
else
	fail "nolock: no runner reported 'applied concurrently by another process'" \
		"(the runners did not overlap, or --no-lock was ignored)"
	for k in $(seq 1 "$RUNNERS"); do
		sed "s/^/  runner $k: /" "$DB_TMP/nolock.$k.out" "$DB_TMP/nolock.$k.err" >&2
	done
fi

db_finish
