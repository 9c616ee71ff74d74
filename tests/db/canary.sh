#!/usr/bin/env bash
# canary.sh: nmig never prints a password. The test cluster's password
# begins with "canaryPW-" (tests/pg_tmp.sh); every command is run, in text,
# --json, -v and --dry-run variants, including failing ones (wrong
# database, SQL error, wrong password "canaryPW-wrong-...", malformed URLs
# holding the password, a remote host without TLS, passwords in .env files,
# in a config file, in key=value strings, in PGPASSWORD), and every stdout
# and stderr is searched for "canaryPW"; so are the files nmig writes
# (.nmig/, offline SQL) and the version table it fills.
set -u
. "$(dirname "$0")/../db_lib.sh"
db_init

WRONG="canaryPW-wrong-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ALL=$DB_TMP/all
mkdir -p "$ALL"
NRUNS=0

# crun WANT DESC ARGS...: run_nmig ARGS (canary-checked there), keep the
# output for the final scan, and expect exit WANT.
crun() {
	local want=$1 desc=$2
	shift 2
	run_nmig "$@"
	NRUNS=$((NRUNS + 1))
	cp "$DB_TMP/out" "$ALL/$NRUNS.out"
	cp "$DB_TMP/err" "$ALL/$NRUNS.err"
	expect_rc "$want" "$desc"
}

db_create c
URL=$(db_url c)
case "$URL" in
*canaryPW-*) pass "the test password carries the canary" ;;
*)
	fail "the test password does not start with canaryPW- (tests/pg_tmp.sh)"
	db_finish
	;;
esac

proj=$(project_dir app)
mig=$proj/migrations
mkdir -p "$mig"
cat >"$mig/20261202000001_users.up.sql" <<'EOF'
-- nmig:parents base
-- nmig:message create users
CREATE TABLE canary_users (id bigint PRIMARY KEY, email text NOT NULL);
EOF
echo 'DROP TABLE canary_users;' >"$mig/20261202000001_users.down.sql"
cat >"$mig/20261202000002_tasks.up.sql" <<'EOF'
-- nmig:parents 20261202000001
-- nmig:message create tasks
CREATE TABLE canary_tasks (id bigint PRIMARY KEY,
	user_id bigint REFERENCES canary_users (id));
EOF
echo 'DROP TABLE canary_tasks;' >"$mig/20261202000002_tasks.down.sql"
cat >"$mig/20261202000003_index.up.sql" <<'EOF'
-- nmig:parents 20261202000002
-- nmig:message index tasks by user
-- nmig:transaction off
CREATE INDEX CONCURRENTLY IF NOT EXISTS canary_tasks_user_idx ON canary_tasks (user_id);
EOF
echo 'DROP INDEX CONCURRENTLY IF EXISTS canary_tasks_user_idx;' \
	>"$mig/20261202000003_index.down.sql"

# --- working commands, with the password in DATABASE_URL ---------------------

export DATABASE_URL=$URL
cd "$proj" || exit 1
crun 0 "check (files only)" check
crun 0 "check --db (files and database)" check --db
crun 0 "-v upgrade --dry-run" -v upgrade --dry-run
crun 0 "--json upgrade --dry-run" --json upgrade --dry-run
# Offline SQL (--sql) comes with the offline emitter; without it the
# script check below has nothing to scan, which it says.
: >"$DB_TMP/offline.sql"
if "$NMIG" upgrade --help 2>/dev/null | grep -q -- '--sql'; then
	crun 0 "upgrade --sql (offline)" upgrade --sql head
	cp "$DB_TMP/out" "$DB_TMP/offline.sql"
else
	echo "note: this nmig has no 'upgrade --sql' yet; offline SQL not scanned" >&2
fi
crun 0 "-v -v upgrade 20261202000001" -v -v upgrade 20261202000001
crun 0 "--json upgrade head" --json upgrade head
crun 0 "upgrade (nothing to do)" upgrade
crun 0 "current" current
crun 0 "current --verbose" current --verbose
crun 0 "-v current" -v current
crun 0 "--json current" --json current
crun 0 "history" history
crun 0 "-v history --db" -v history --db
crun 0 "heads" heads
crun 0 "branches" branches
crun 0 "show 20261202000002" show 20261202000002
crun 0 "check --db (everything applied)" check --db
crun 0 "-v check --db" -v check --db
crun 0 "--json check --db" --json check --db
crun 0 "-v downgrade --dry-run base" -v downgrade --dry-run base
crun 0 "-v downgrade -1" -v downgrade -1
crun 0 "--json downgrade 20261202000001" --json downgrade 20261202000001
crun 0 "-v stamp head" -v stamp head
crun 0 "--json current after stamp" --json current
crun 0 "stamp 20261202000001" stamp 20261202000001
crun 0 "-v upgrade head after stamp" -v upgrade head
echo '-- edited after it was applied' >>"$mig/20261202000002_tasks.up.sql"
crun 7 "upgrade refuses drift" upgrade
crun 0 "-v repair --checksums" -v repair --checksums
crun 0 "repair (nothing left)" repair
psql_q c "insert into public.schema_version (revision, parents, checksum, state, nmig_version) values ('20990101000000', '{}', 'x', 'applied', 'test')" >/dev/null
crun 7 "upgrade refuses an unknown applied revision" upgrade
crun 7 "stamp head refuses an unknown applied revision" stamp head
crun 0 "-v stamp head --purge" -v stamp head --purge
crun 0 "-q upgrade" -q upgrade
crun 0 "help upgrade" help upgrade

# --- failing commands -----------------------------------------------------------

DATABASE_URL="postgres://postgres:$NMIG_PG_PASSWORD@127.0.0.1:$PGPORT/$(db_name nosuchdb)"
crun 5 "wrong database name: upgrade" upgrade
crun 5 "wrong database name: -v current" -v current
crun 5 "wrong database name: --json current" --json current

DATABASE_URL="postgres://postgres:$WRONG@127.0.0.1:$PGPORT/$(db_name c)"
crun 5 "wrong password: upgrade" upgrade
crun 5 "wrong password: -v -v current" -v -v current
crun 5 "wrong password: --json upgrade --dry-run" --json upgrade --dry-run

for bad in \
	"postgres://postgres:$WRONG@[::1/$(db_name c)" \
	"postgres://postgres:$WRONG%zz@127.0.0.1:$PGPORT/$(db_name c)" \
	"postgresql://postgres:$WRONG@127.0.0.1:$PGPORT/$(db_name c)?nosuchparam=1" \
	"postgres://postgres:$WRONG@127.0.0.1:notaport/$(db_name c)" \
	"host=127.0.0.1 password=$WRONG dbname" \
	"host=127.0.0.1 password='$WRONG dbname=x" \
	"host=127.0.0.1 password=$WRONG nosuchkey=1"; do
	DATABASE_URL=$bad
	crun 5 "malformed URL: upgrade" upgrade
	crun 5 "malformed URL: -v current" -v current
done

for remote in \
	"postgres://postgres:$WRONG@db.example.invalid:5432/app" \
	"postgres://postgres:$WRONG@db.example.invalid:5432/app?sslmode=prefer" \
	"host=db.example.invalid user=postgres password=$WRONG dbname=app" \
	"postgres://app:$WRONG@ep-quiet-canary-123456-pooler.us-east-2.aws.neon.tech/app"; do
	DATABASE_URL=$remote
	crun 5 "remote host without TLS: upgrade" upgrade --connect-timeout 2s
	expect_err_contains "without TLS" "remote host without TLS: refused before connecting"
	crun 5 "remote host without TLS: -v --json current" -v --json current
done

DATABASE_URL=$URL
bad=$(project_dir badsql)
mkdir -p "$bad/migrations"
cp "$mig"/20261202000001_users.* "$bad/migrations/"
cat >"$bad/migrations/20261202000009_broken.up.sql" <<'EOF'
-- nmig:parents 20261202000001
-- nmig:message broken
CREATE TABLE canary_broken (id integer);
INSERT INTO canary_broken VALUES (1 / 0);
EOF
db_create badsql
DATABASE_URL=$(db_url badsql)
crun 6 "SQL error: upgrade" --dir "$bad/migrations" upgrade
crun 6 "SQL error: -v --json upgrade" -v --json --dir "$bad/migrations" upgrade
crun 0 "SQL error: current afterwards" --dir "$bad/migrations" -v current

# --- other places a password can come from ---------------------------------------

# A role whose password needs percent-encoding in a URL: the encoded form
# must be redacted as well as the decoded one.
SPECIAL="canaryPW-s p@c:e/?#%&'\"x"
ENCODED=""
for ((i = 0; i < ${#SPECIAL}; i++)); do
	ch=${SPECIAL:i:1}
	case $ch in
	[A-Za-z0-9._~-]) ENCODED+=$ch ;;
	*) ENCODED+=$(printf '%%%02X' "'$ch") ;;
	esac
done
psql_q c "drop role if exists canary_special" >/dev/null 2>&1
psql_q c "create role canary_special login password \$pw\$$SPECIAL\$pw\$" >/dev/null
psql_q c "grant all on schema public to canary_special; grant all on all tables in schema public to canary_special" >/dev/null
DATABASE_URL="postgres://canary_special:$ENCODED@127.0.0.1:$PGPORT/$(db_name c)"
export DATABASE_URL
crun 0 "percent-encoded password: -v current" -v current
expect_err_contains "canary_special@127.0.0.1:$PGPORT/" \
	"percent-encoded password: the connection is shown as user@host:port/db"
DATABASE_URL="postgres://canary_special:$ENCODED@[::1/$(db_name c)"
crun 5 "percent-encoded password in a malformed URL: current" current
DATABASE_URL="postgres://canary_special:${ENCODED}x@127.0.0.1:$PGPORT/$(db_name c)"
crun 5 "percent-encoded wrong password: -v upgrade" -v upgrade
unset DATABASE_URL

DATABASE_URL_QUERY="postgres://postgres@127.0.0.1:$PGPORT/$(db_name c)?password=$NMIG_PG_PASSWORD"
export MY_DB=$DATABASE_URL_QUERY
crun 0 "--url-env with the password as a URL parameter" --url-env MY_DB -v current
MY_DB="host=127.0.0.1 port=$PGPORT user=postgres password=$NMIG_PG_PASSWORD dbname=$(db_name c)"
crun 0 "key=value string holding the password" --url-env MY_DB -v current
MY_DB="host=127.0.0.1 port=$PGPORT user=postgres password=$WRONG dbname=$(db_name c)"
crun 5 "key=value string with a wrong password" --url-env MY_DB -v upgrade
unset MY_DB

(
	export PGHOST=127.0.0.1 PGPASSWORD=$NMIG_PG_PASSWORD PGDATABASE
	PGDATABASE=$(db_name c)
	"$NMIG" -v current >"$ALL/pgvars.out" 2>"$ALL/pgvars.err" </dev/null
	echo $? >"$ALL/pgvars.rc"
	PGPASSWORD=$WRONG "$NMIG" -v upgrade >"$ALL/pgvars-wrong.out" \
		2>"$ALL/pgvars-wrong.err" </dev/null
	echo $? >"$ALL/pgvars-wrong.rc"
)
expect_eq "$(cat "$ALL/pgvars.rc")" 0 "PGPASSWORD and PG* variables: -v current"
expect_eq "$(cat "$ALL/pgvars-wrong.rc")" 5 "a wrong PGPASSWORD: -v upgrade"
canary_check "PG* variables" "$ALL"/pgvars*.out "$ALL"/pgvars*.err &&
	pass "PG* variables: no password in the output"

envp=$(project_dir dotenv)
mkdir -p "$envp/migrations"
cp "$mig"/*.sql "$envp/migrations/"
cd "$envp" || exit 1
printf '# the database\nexport DATABASE_URL="%s"\n' "$URL" >.env
crun 0 ".env with the URL: -v current" -v current
crun 0 ".env with the URL: --json upgrade --dry-run" --json upgrade --dry-run
printf "DATABASE_URL='postgres://postgres:%s@127.0.0.1:%s/%s'\n" \
	"$WRONG" "$PGPORT" "$(db_name c)" >.env
crun 5 ".env with a wrong password: -v upgrade" -v upgrade
printf 'DATABASE_URL=postgres://postgres:%s@db.example.invalid/app # remote\n' \
	"$WRONG" >.env
crun 5 ".env with a remote URL without TLS: current" current
rm -f .env

cfgp=$(project_dir config)
mkdir -p "$cfgp/migrations"
cd "$cfgp" || exit 1
printf 'url_env = postgres://postgres:%s@127.0.0.1/app\n' "$WRONG" >nmig.conf
crun 9 "config holding a password (url_env)" current
printf 'url = postgres://postgres:%s@127.0.0.1/app\n' "$WRONG" >nmig.conf
crun 9 "config holding a password (url)" current
crun 9 "config holding a password: --config check" --config nmig.conf check
rm -f nmig.conf
cd "$DB_TMP" || exit 1

# --- the final scan ---------------------------------------------------------------

leaks=$(grep -la canaryPW "$ALL"/* 2>/dev/null | wc -l)
expect_eq "$leaks" 0 "no output of the $NRUNS nmig runs holds the canary"
expect_true "offline SQL holds no password" \
	bash -c "! grep -qa canaryPW '$DB_TMP/offline.sql'"
written=$(find "$DB_TMP" -path '*/.nmig/*' -type f | wc -l)
leaks=$(find "$DB_TMP" -path '*/.nmig/*' -type f -exec grep -la canaryPW {} + |
	wc -l)
expect_eq "$leaks" 0 "no file nmig wrote under .nmig/ ($written files) holds the canary"
# The .env and nmig.conf files this test wrote are gone: nothing left in
# the projects (migrations, caches, anything nmig wrote) may hold it.
written=$(find "$DB_TMP" -type f | wc -l)
leaks=$(grep -rla canaryPW "$DB_TMP" | wc -l)
expect_eq "$leaks" 0 "no file under the scratch directory ($written files) holds the canary"
leaks=$(psql_q c "select count(*) from public.schema_version t where t::text like '%canaryPW%'")
expect_eq "$leaks" 0 "the version table holds no password"
leaks=$(psql_q badsql "select count(*) from public.schema_version t where t::text like '%canaryPW%'")
expect_eq "$leaks" 0 "the version table after an SQL error holds no password"
psql_q c "drop owned by canary_special; drop role canary_special" >/dev/null

db_finish
