#!/usr/bin/env bash
# Database test of the schema planner on data-driven pairs of schemas
# (tests/fixtures/plan/*.sql, see its README): for each pair and each
# direction, `nmig diff` prints SQL proven on a scratch database (exit 1),
# `psql -1` applies it to the first database, and pg_dump of the result
# equals pg_dump of the second; the safe forms are proven as well (their
# concurrent step cannot run under psql -1, so they are not applied); and
# once applied, nmig diff finds the two equal (exit 0). Every object kind of
# the catalog model and the dependency cases of docs/schema.md appear in
# some pair.
. "$(dirname "$0")/../db_lib.sh"
db_init

CT=$(mktemp -d /tmp/nmig-pp.XXXXXX)
chmod 755 "$CT"
trap 'rm -rf "$CT"; db_cleanup' EXIT
export TMPDIR=$CT
cd "$DB_TMP" || exit 1

FIX=$NMIG_SOURCE_DIR/tests/fixtures/plan
section() { # FILE from|to: the SQL of one side
	awk -v want="-- $2" '$0 == "-- from" || $0 == "-- to" { on = ($0 == want); next } on' "$1"
}
opts() { # FILE KEY: the options line's words
	sed -n "s/^-- $2: //p" "$1"
}

n=0
for f in "$FIX"/*.sql; do
	name=$(basename "$f" .sql)
	n=$((n + 1))
	for dir in fwd back; do
		A=${name}_${dir}_a B=${name}_${dir}_b
		db_create "$A"
		db_create "$B"
		if [ $dir = fwd ]; then
			from=from to=to key=options
		else
			from=to to=from key=options-back
		fi
		section "$f" $from | psql -X -q -v ON_ERROR_STOP=1 -d "$(db_name "$A")" >/dev/null
		expect_eq "$?" 0 "$name $dir: the first schema builds"
		section "$f" $to | psql -X -q -v ON_ERROR_STOP=1 -d "$(db_name "$B")" >/dev/null
		expect_eq "$?" 0 "$name $dir: the second schema builds"
		# shellcheck disable=SC2046
		A_URL=$(db_url "$A") B_URL=$(db_url "$B") run_nmig diff --from env:A_URL --to env:B_URL --allow-destructive $(opts "$f" $key)
		expect_rc 1 "$name $dir: safe forms proven"
		expect_err_contains "proven on a scratch database" "$name $dir: says so"
		# shellcheck disable=SC2046
		A_URL=$(db_url "$A") B_URL=$(db_url "$B") run_nmig diff --from env:A_URL --to env:B_URL --allow-destructive --unsafe-fast $(opts "$f" $key)
		expect_rc 1 "$name $dir: plain forms proven"
		printf '%s\n' "$out" >"$name.$dir.sql"
		psql -X -q -v ON_ERROR_STOP=1 -1 -d "$(db_name "$A")" -f "$name.$dir.sql" >"$name.$dir.log" 2>&1
		expect_eq "$?" 0 "$name $dir: psql -1 applies the SQL"
		expect_eq "$(schema_dump "$A" public.nothing)" "$(schema_dump "$B" public.nothing)" "$name $dir: pg_dump of the result equals the target"
		A_URL=$(db_url "$A") B_URL=$(db_url "$B") run_nmig diff --from env:A_URL --to env:B_URL
		expect_rc 0 "$name $dir: nmig diff finds them equal"
	done
done
expect_true "pairs were found" test "$n" -ge 9
expect_eq "$(ls -A "$CT")" "" "no cluster directory left behind"

db_finish
