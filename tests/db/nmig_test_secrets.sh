#!/usr/bin/env bash
# Database test: the SQL that `nmig test` runs never sees a deploy
# credential. A migration runs as superuser on the scratch cluster; here it
# reads the environment of the postmaster (/proc/<pid>/environ, pid from
# postmaster.pid) and of its parent, nmig itself, while DATABASE_URL,
# PGPASSWORD, the config's url_env variable and a .env variable all hold
# the canary password. The migration fails with 'LEAK' when the canary or
# a URL variable name is in the postmaster's environment, and hands the
# whole environment out reversed in a notice (so that no redaction of the
# output can hide it), which is reversed back here and searched again. It
# also reports nmig's core file limit (/proc/<nmig pid>/limits: must be 0)
# and whether nmig's own environ was readable (it must not be: nmig is
# not dumpable).
. "$(dirname "$0")/../db_lib.sh"
db_init

# The temporary clusters go to a short directory the postgres user can
# reach (nmig runs them as postgres when we are root).
CT=$(mktemp -d /tmp/nmig-ct.XXXXXX)
chmod 755 "$CT"
trap 'rm -rf "$CT"; db_cleanup' EXIT
export TMPDIR=$CT

# nmig must keep its core limit at 0 even when it may raise it
ulimit -S -c "$(ulimit -H -c)" 2>/dev/null || true
echo "core file size limit before nmig: $(ulimit -S -c) (hard $(ulimit -H -c))"

proj=$CT/proj
mkdir -p "$proj/migrations"
cd "$proj" || exit 1
printf 'url_env = APP_DEPLOY_URL\n' >nmig.conf
{
	printf 'DOTENV_SECRET=%s-dotenv\n' "$NMIG_PG_PASSWORD"
	# an allowlisted name, but from .env: it must not pass either
	printf 'TZ=canaryPW-tz\n'
} >.env
unset TZ

cat >migrations/001_spy.up.sql <<'EOF'
-- nmig:parents base
-- nmig:message read the environment of the server and of nmig
create table spy (id int);
do $$
declare
	pm text := split_part(pg_read_file('postmaster.pid'), E'\n', 1);
	env text;
	parent text;
	core text;
	peek text;
begin
	env := replace(encode(pg_read_binary_file('/proc/' || pm || '/environ'),
			      'escape'), '\000', E'\n');
	raise notice 'SPY-ENV %', reverse(replace(env, E'\n', ' | '));
	parent := substring(pg_read_file('/proc/' || pm || '/status')
			    from 'PPid:\s*(\d+)');
	core := substring(pg_read_file('/proc/' || parent || '/limits')
			  from 'Max core file size\s+(\S+)');
	raise notice 'SPY-PARENT % %', parent,
		trim(pg_read_file('/proc/' || parent || '/comm'));
	raise notice 'SPY-CORE %', core;
	begin
		peek := encode(pg_read_binary_file('/proc/' || parent || '/environ'),
			       'escape');
		raise notice 'SPY-NMIG-ENVIRON readable %', reverse(peek);
	exception when others then
		raise notice 'SPY-NMIG-ENVIRON unreadable (%)', sqlerrm;
	end;
	if position('canaryPW' in env) > 0 or
	   position(reverse('canaryPW') in env) > 0 or
	   env ~ '(^|\n)(DATABASE_URL|APP_DEPLOY_URL|DOTENV_SECRET|PG[A-Z_]*)=' then
		raise exception 'LEAK: the server environment holds a credential';
	end if;
end
$$;
EOF
printf 'drop table spy;\n' >migrations/001_spy.down.sql

# the deploy credentials, each holding the canary
DATABASE_URL=$(db_url spy)
APP_DEPLOY_URL=$DATABASE_URL
PGPASSWORD=$NMIG_PG_PASSWORD
export DATABASE_URL APP_DEPLOY_URL PGPASSWORD

# spy WHO: run `nmig -v test` on the spying migration and check what it saw.
spy() {
	local who=$1 names extra parent core
	run_nmig -v test
	expect_rc 0 "$who: nmig test runs the spying migration"
	expect_out_lacks "LEAK" "$who: no credential in the postmaster's environment"
	expect_err_lacks "LEAK" "$who: no credential in the postmaster's environment (stderr)"

	cat "$DB_TMP/out" "$DB_TMP/err" >"$DB_TMP/all"
	grep -o 'SPY-ENV .*' "$DB_TMP/all" | head -1 | sed 's/^SPY-ENV //' |
		rev >"$DB_TMP/env.txt"
	if grep -q 'PATH=' "$DB_TMP/env.txt"; then
		pass "$who: the migration read the postmaster's environment"
	else
		fail "$who: the migration did not read the postmaster's environment"
		show_run
	fi
	names=$(tr '|' '\n' <"$DB_TMP/env.txt" | sed 's/^ *//; s/=.*//' |
		sort | tr '\n' ' ')
	echo "$who: postmaster environment: $names"
	if grep -qE 'canaryPW|DATABASE_URL|APP_DEPLOY_URL|DOTENV_SECRET|(^| )PG[A-Z_]*=' \
		"$DB_TMP/env.txt"; then
		fail "$who: the postmaster's environment holds a credential (reversed back)"
	else
		pass "$who: the reversed environment holds no credential"
	fi
	# only the allowlist reaches the children
	extra=$(echo "$names" | tr ' ' '\n' |
		grep -vxE 'PATH|HOME|TMPDIR|TZ|LC_ALL|' | tr '\n' ' ' || true)
	expect_eq "$extra" "" "$who: the postmaster's environment is the allowlist only"

	parent=$(grep -o 'SPY-PARENT .*' "$DB_TMP/all" | head -1)
	expect_true "$who: the postmaster's parent is nmig ($parent)" \
		grep -qE 'SPY-PARENT [0-9]+ nmig$' "$DB_TMP/all"
	core=$(grep -o 'SPY-CORE .*' "$DB_TMP/all" | head -1 | sed 's/^SPY-CORE //')
	expect_eq "$core" 0 "$who: nmig's core file size limit"
	if grep -q 'SPY-NMIG-ENVIRON readable' "$DB_TMP/all"; then
		fail "$who: the migration read nmig's own environ ($(grep -o \
			'SPY-NMIG-ENVIRON readable .*' "$DB_TMP/all" | rev |
			grep -o canaryPW | wc -l) canaries in it)"
	else
		expect_true "$who: nmig's environ is not readable from the migration" \
			grep -q 'SPY-NMIG-ENVIRON unreadable' "$DB_TMP/all"
	fi
}

spy "as $(id -un)"
# As root, nmig's /proc files are closed to the postgres user anyway: run
# nmig as postgres too, so that only nmig's being undumpable keeps its
# environ from the migration (same uid as the server).
if [ "$(id -u)" = 0 ]; then
	if command -v runuser >/dev/null 2>&1; then
		cp -r "$proj" "$CT/proj-pg"
		mkdir "$CT/tmp-pg"
		chown -R postgres "$CT/proj-pg" "$CT/tmp-pg"
		cd "$CT/proj-pg" || exit 1
		TMPDIR=$CT/tmp-pg NMIG_PREFIX="runuser -u postgres --" \
			spy "as postgres"
		cd "$proj" || exit 1
	else
		echo "SKIP (not counted): no runuser to run nmig as postgres" >&2
	fi
fi

db_finish
