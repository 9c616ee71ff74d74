#!/usr/bin/env bash
# Database test of generated migrations: `nmig revision --autogenerate`
# from the migration files' head to a declared schema (schema_file), and
# the SQL of `nmig diff` (--format sql, the default) between two live
# databases. Checked: the files written (explicit parents, a chain of
# revisions when an index is built concurrently on an existing table and a
# constraint is validated after it, `-- nmig:transaction off` on the
# concurrent one), that they are lint-clean and pass `nmig check`, that
# `nmig upgrade head` on a real database then gives exactly the declared
# schema (nmig diff exits 0; pg_dump of the database equals pg_dump of the
# schema file applied by psql) and `nmig downgrade` returns to the state
# before; --dry-run writes nothing; a destructive change is refused (exit 3,
# nothing written) until --allow-destructive, and marked as a hazard; a
# possible rename is reported with its option, and --rename emits RENAME
# and keeps the column's data; a change the planner cannot make (an enum
# value removed while a column uses the type) is refused naming the
# column; nothing to generate writes nothing; the diff SQL between two
# databases, applied by psql, makes the first equal the second, and leaves
# both databases untouched while it is made.
. "$(dirname "$0")/../db_lib.sh"
db_init

CT=$(mktemp -d /tmp/nmig-ag.XXXXXX)
chmod 755 "$CT"
trap 'rm -rf "$CT"; db_cleanup' EXIT
export TMPDIR=$CT
export NMIG_NOW=1764806400 # 2025-12-04 00:00:00 UTC: stable ids

P=$(project_dir p)
cd "$P" || exit 1
mkdir migrations
printf 'dir = migrations\nschema_file = schema.sql\n' >nmig.conf
db_create app
export DATABASE_URL
DATABASE_URL=$(db_url app)

count_files() { find migrations -name '*.sql' | wc -l; }

### the first revision, from nothing
cat >schema.sql <<'EOF'
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    email text,
    mood mood DEFAULT 'ok'
);
COMMENT ON TABLE users IS 'people';
CREATE TABLE posts (
    id serial PRIMARY KEY,
    user_id bigint REFERENCES users (id),
    title varchar(50) NOT NULL,
    body text DEFAULT ''
);
CREATE VIEW post_titles AS SELECT p.id, u.name, p.title FROM posts p JOIN users u ON u.id = p.user_id;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER posts_touch BEFORE UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION touch();
EOF
run_nmig revision --autogenerate -m "create users and posts" --dry-run
expect_rc 0 "dry run"
expect_out_contains "-- nmig:parents base" "the first revision's parent is base"
expect_out_contains "CREATE TABLE public.users" "the table"
expect_out_contains "CREATE TRIGGER posts_touch" "the trigger"
expect_eq "$(count_files)" 0 "--dry-run writes nothing"
run_nmig revision --autogenerate -m "create users and posts"
expect_rc 0 "the first revision is written"
expect_err_contains "wrote 1 revision, proven on a scratch database" "says it was proven"
expect_eq "$(count_files)" 2 "an up and a down file"
UP1=$(ls migrations/*.up.sql)
expect_true "explicit parents in the file" grep -q '^-- nmig:parents base' "$UP1"
expect_true "the view in the up file" grep -q 'CREATE VIEW public.post_titles' "$UP1"
expect_true "the down file drops the table" grep -q 'DROP TABLE public.users' "${UP1%.up.sql}.down.sql"

run_nmig diff --format summary
expect_rc 0 "the migrations now give the declared schema"
run_nmig revision --autogenerate -m "again"
expect_rc 0 "nothing to generate"
expect_err_contains "nothing to generate" "says so"
expect_eq "$(count_files)" 2 "and writes nothing"

run_nmig upgrade head
expect_rc 0 "the generated revision applies"
psql_q app "insert into users (name, email) values ('ann', 'a@x'), ('bob', null)" >/dev/null
psql_q app "insert into posts (user_id, title) select id, 'hello' from users" >/dev/null

### a change on existing tables: the safe forms, in a chain
cat >>schema.sql <<'EOF'
DROP VIEW post_titles;
ALTER TYPE mood ADD VALUE 'happy';
ALTER TABLE posts ALTER COLUMN title TYPE varchar(200);
ALTER TABLE posts ADD COLUMN created timestamptz NOT NULL DEFAULT now();
CREATE INDEX posts_user_idx ON posts (user_id);
ALTER TABLE users ADD CONSTRAINT name_len CHECK (length(name) < 100);
CREATE TABLE tags (id int PRIMARY KEY, post_id int REFERENCES posts (id));
CREATE VIEW post_titles AS SELECT p.id, u.name, p.title, p.created FROM posts p JOIN users u ON u.id = p.user_id;
EOF
run_nmig revision --autogenerate -m "posts grow"
expect_rc 0 "the second change is written"
expect_err_contains "wrote 3 revisions" "as a chain of three"
expect_eq "$(count_files)" 8 "three more pairs"
CONC=$(grep -l 'CONCURRENTLY IF NOT EXISTS posts_user_idx' migrations/*.up.sql)
expect_ne "$CONC" "" "the index is built concurrently"
expect_true "outside a transaction" grep -q '^-- nmig:transaction off' "$CONC"
VAL=$(grep -l 'VALIDATE CONSTRAINT name_len' migrations/*.up.sql)
expect_ne "$VAL" "" "the check is validated in a revision of its own"
expect_true "added NOT VALID first" grep -q 'NOT VALID' migrations/*posts_grow.up.sql
expect_true "the enum value in its place" grep -q "ADD VALUE 'happy' AFTER 'ok'" migrations/*posts_grow.up.sql
run_nmig check
expect_rc 0 "nmig check accepts the generated chain"
run_nmig lint
expect_rc 0 "the generated revisions are lint-clean"
run_nmig heads
expect_rc 0 "heads"
expect_eq "$(printf '%s\n' "$out" | grep -c .)" 1 "one head: each revision the parent of the next"

run_nmig upgrade head
expect_rc 0 "the chain applies to a database with rows"
expect_eq "$(psql_q app 'select count(*) from posts')" 2 "the rows stay"
run_nmig diff --format summary --from env:DATABASE_URL --to schema
expect_rc 0 "the upgraded database equals the declared schema"
db_create spec
psql -X -q -v ON_ERROR_STOP=1 -d "$(db_name spec)" -f schema.sql >/dev/null
expect_eq "$(schema_dump app)" "$(schema_dump spec public.nothing)" "pg_dump of the database equals pg_dump of the spec applied by psql"
run_nmig downgrade -3
expect_rc 0 "the chain goes down"
run_nmig diff --format summary --from env:DATABASE_URL --to migrations@$(basename "$UP1" | cut -d_ -f1)
expect_rc 0 "down returns to the state before the chain"
run_nmig upgrade head
expect_rc 0 "and up again"

### destructive changes are refused until allowed
sed -i -e 's/^    email text,$/    email2 text,/' schema.sql
before=$(count_files)
run_nmig revision --autogenerate -m "rename email"
expect_rc 3 "a renamed column that is not declared is refused"
expect_err_contains "refused: column public.users.mood: its position in public.users cannot be reached" "the columns after it would move"
expect_err_contains "possible rename: public.users.email may be renamed to email2: declare it with --rename public.users.email=email2" "the possible rename and its option"
expect_eq "$(count_files)" "$before" "nothing written"
run_nmig revision --autogenerate -m "rename email" --rename public.users.email=email2 --dry-run
expect_rc 0 "a declared rename"
expect_out_contains "ALTER TABLE public.users RENAME COLUMN email TO email2" "RENAME"
expect_out_contains "RENAME COLUMN email2 TO email" "its down renames back"
expect_out_lacks "DROP COLUMN" "no drop"
run_nmig revision --autogenerate -m "rename email" --rename public.users.email=email2
expect_rc 0 "written"
run_nmig upgrade head
expect_rc 0 "applied"
expect_eq "$(psql_q app "select email2 from users where name = 'ann'")" "a@x" "the renamed column keeps its values"
run_nmig revision --autogenerate -m "x" --rename public.users.nope=zz --dry-run
expect_rc 2 "a rename of nothing"
expect_err_contains "--rename public.users.nope=zz names no table or column" "named"

sed -i -e '/^    body text/d' -e 's/^    title varchar(50) NOT NULL,$/    title varchar(50) NOT NULL/' schema.sql
run_nmig revision --autogenerate -m "drop body" --dry-run
expect_rc 3 "a dropped column is refused"
expect_err_contains "column public.posts.body: the column is dropped with its values (allow it with --allow-destructive)" "names the column and the option"
run_nmig revision --autogenerate -m "drop body" --allow-destructive --dry-run
expect_rc 0 "allowed"
expect_out_contains "-- hazard: destructive: column public.posts.body: the column is dropped with its values" "marked as a hazard in the header"
run_nmig revision --autogenerate -m "drop body" --allow-destructive
expect_rc 0 "written"
run_nmig upgrade head
expect_rc 0 "applied"

### an enum value removed: the type is made again and its columns moved
sed -i -e "s/ENUM ('sad', 'ok')/ENUM ('ok')/" -e "/ADD VALUE 'happy'/d" schema.sql
run_nmig revision --autogenerate -m "fewer moods" --dry-run
expect_rc 3 "removing enum values is destructive"
expect_err_contains "enum public.mood: enum values are removed" "says why"
run_nmig revision --autogenerate -m "fewer moods" --allow-destructive --dry-run
expect_rc 0 "allowed"
expect_out_contains 'ALTER TYPE public.mood RENAME TO "mood__nmig_old"' "the old type kept aside"
expect_out_contains "ALTER COLUMN mood TYPE public.mood USING mood::text::public.mood" "the column moved"
expect_out_contains 'DROP TYPE public."mood__nmig_old"' "the old type dropped"

### what the planner cannot make is refused, naming it
sed -i -e 's/^    email2 text,$/    email2 text GENERATED ALWAYS AS (name) STORED,/' schema.sql
run_nmig revision --autogenerate -m "generated" --allow-destructive --ignore-column-order --dry-run
expect_rc 0 "a column made generated is dropped and added again"
expect_out_contains "-- hazard: destructive: column public.users.email2" "as a hazard"

### nmig diff between two databases: psql applies the SQL and they are equal
db_create a
db_create b
psql_q a "create table t (id int primary key, v text); create view tv as select id, v from t; create index t_v on t (v)" >/dev/null
psql_q b "create table t (id int primary key, v varchar(10) not null default 'x', w int); create view tv as select id, v, w from t; create table u (id int references t (id))" >/dev/null
A_URL=$(db_url a) B_URL=$(db_url b) run_nmig diff --from env:A_URL --to env:B_URL --allow-destructive --unsafe-fast
expect_rc 1 "the databases differ: SQL printed"
expect_out_contains "DROP VIEW public.tv" "the view on a retyped column is dropped first"
expect_out_contains "ALTER TABLE public.t ALTER COLUMN v TYPE character varying(10)" "the type change"
expect_eq "$(psql_q a "select count(*) from pg_class where relname = 'u'")" 0 "a untouched by the proof"
printf '%s\n' "$out" >a-to-b.sql
psql -X -q -v ON_ERROR_STOP=1 -1 -d "$(db_name a)" -f a-to-b.sql >/dev/null
expect_eq "$?" 0 "psql applies it"
expect_eq "$(schema_dump a public.nothing)" "$(schema_dump b public.nothing)" "a now equals b (pg_dump)"
A_URL=$(db_url a) B_URL=$(db_url b) run_nmig diff --from env:A_URL --to env:B_URL
expect_rc 0 "and nmig diff says so"
expect_eq "$(ls -A "$CT")" "" "no cluster directory left behind"

db_finish
