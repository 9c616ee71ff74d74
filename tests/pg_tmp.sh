#!/usr/bin/env bash
# pg_tmp.sh: a throwaway PostgreSQL cluster for nmig's database tests.
#
#   tests/pg_tmp.sh start DIR   create (or reuse) a cluster in DIR/data, start
#                               it and write DIR/env (shell export lines)
#   tests/pg_tmp.sh stop DIR    stop the cluster and remove DIR
#
# The cluster trusts local (unix socket) connections and asks for a
# scram-sha-256 password over TCP on 127.0.0.1, so tests exercise a real
# password. The password starts with the canary "canaryPW-": tests grep every
# output for it. When run as root the cluster runs as the postgres user.
# DIR/env exports PGHOST (socket dir), PGPORT, PGUSER, PGDATABASE,
# NMIG_PG_PASSWORD, NMIG_PG_BIN, NMIG_PG_DATA, NMIG_PG_SOCKET and
# NMIG_PG_TCP_URL.
#
# When pgbouncer is installed, a PgBouncer of our own (config, pidfile and
# log in DIR/pgbouncer, never the distribution's service) runs in front of
# the cluster on another 127.0.0.1 port: transaction pooling, at most 8
# server connections per database and user (so that clients share them),
# any database name passed on to the cluster over TCP, and the same
# scram-sha-256 password (the SCRAM secret from pg_authid in its
# auth_file). DIR/env then also exports NMIG_PGB_PORT and NMIG_PGB_URL;
# without pgbouncer it lacks both and the tests that need it skip.
set -euo pipefail

die() {
	echo "pg_tmp.sh: $*" >&2
	exit 1
}

usage() {
	echo "usage: pg_tmp.sh start DIR | stop DIR" >&2
	exit 2
}

# find_bindir: print the directory holding initdb/pg_ctl (pg_config --bindir,
# then PATH, then /usr/lib/postgresql/*/bin newest first).
find_bindir() {
	local d v
	if command -v pg_config >/dev/null 2>&1; then
		d=$(pg_config --bindir 2>/dev/null || true)
		if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return 0
		fi
	fi
	if command -v initdb >/dev/null 2>&1 &&
		command -v pg_ctl >/dev/null 2>&1; then
		d=$(dirname "$(readlink -f "$(command -v initdb)")")
		if [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return 0
		fi
	fi
	for v in $(ls -1 /usr/lib/postgresql 2>/dev/null | sort -rn); do
		d=/usr/lib/postgresql/$v/bin
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# as_pg CMD...: run a command as the cluster owner (postgres when we are root).
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		if command -v runuser >/dev/null 2>&1; then
			runuser -u postgres -- "$@"
		else
			local q
			q=$(printf '%q ' "$@")
			su postgres -s /bin/sh -c "$q"
		fi
	else
		"$@"
	fi
}

# port_free PORT: true when nothing listens on 127.0.0.1:PORT.
port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pick_port: print a free TCP port (random tries, then a scan of a range).
pick_port() {
	local p i
	for i in $(seq 1 50); do
		p=$((20000 + RANDOM % 30000))
		if port_free "$p"; then
			echo "$p"
			return 0
		fi
	done
	for p in $(seq 54320 54999); do
		if port_free "$p"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

random_password() {
	local r
	r=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
	echo "canaryPW-$r"
}

write_env() {
	local dir=$1 bindir=$2 sock=$3 port=$4 pw=$5 pgb_port=${6:-}
	local tmp="$dir/env.tmp"
	{
		echo "# written by tests/pg_tmp.sh; source this file"
		printf 'export PGHOST=%q\n' "$sock"
		printf 'export PGPORT=%q\n' "$port"
		echo "export PGUSER=postgres"
		echo "export PGDATABASE=postgres"
		printf 'export NMIG_PG_PASSWORD=%q\n' "$pw"
		printf 'export NMIG_PG_BIN=%q\n' "$bindir"
		printf 'export NMIG_PG_DATA=%q\n' "$dir/data"
		printf 'export NMIG_PG_SOCKET=%q\n' "$sock"
		printf 'export NMIG_PG_TCP_URL=%q\n' \
			"postgres://postgres:$pw@127.0.0.1:$port/postgres"
		if [ -n "$pgb_port" ]; then
			printf 'export NMIG_PGB_PORT=%q\n' "$pgb_port"
			printf 'export NMIG_PGB_URL=%q\n' \
				"postgres://postgres:$pw@127.0.0.1:$pgb_port/postgres"
		fi
	} >"$tmp"
	chmod 644 "$tmp"
	mv "$tmp" "$dir/env"
}

# wait_ready BINDIR SOCK PORT: poll pg_isready for up to 60 s.
wait_ready() {
	local bindir=$1 sock=$2 port=$3 i
	for i in $(seq 1 120); do
		if "$bindir/pg_isready" -q -h "$sock" -p "$port" -d postgres \
			-U postgres; then
			return 0
		fi
		sleep 0.5
	done
	return 1
}

# find_pgbouncer: print the pgbouncer binary (PATH, then /usr/sbin).
find_pgbouncer() {
	if command -v pgbouncer >/dev/null 2>&1; then
		command -v pgbouncer
	elif [ -x /usr/sbin/pgbouncer ]; then
		echo /usr/sbin/pgbouncer
	else
		return 1
	fi
}

# pgb_running DIR: true when the PgBouncer of DIR/pgbouncer is alive.
pgb_running() {
	local pid
	pid=$(cat "$1/pgbouncer/pgbouncer.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# start_pgbouncer DIR BINDIR SOCK PORT: start a PgBouncer in front of the
# cluster and print its port; prints nothing (and says why on stderr)
# when pgbouncer is not installed or does not come up.
start_pgbouncer() {
	local dir=$1 bindir=$2 sock=$3 port=$4 pgb pgbdir pgb_port secret i
	pgb=$(find_pgbouncer) || {
		echo "pg_tmp.sh: pgbouncer is not installed: no pooler" \
			"(tests that need it skip)" >&2
		return 0
	}
	pgbdir=$dir/pgbouncer
	rm -rf "$pgbdir"
	mkdir -p "$pgbdir"
	chmod 700 "$pgbdir"
	secret=$("$bindir/psql" -X -A -t -h "$sock" -p "$port" -U postgres \
		-d postgres -c "select rolpassword from pg_authid where rolname = 'postgres'") ||
		die "cannot read the SCRAM secret of postgres"
	case "$secret" in
	SCRAM-SHA-256\$*) ;;
	*) die "the postgres role has no SCRAM secret" ;;
	esac
	pgb_port=$(pick_port) || die "no free TCP port found for pgbouncer"
	printf '"postgres" "%s"\n' "$secret" >"$pgbdir/userlist.txt"
	{
		echo ";; written by tests/pg_tmp.sh"
		echo "[databases]"
		echo "* = host=127.0.0.1 port=$port"
		echo ""
		echo "[pgbouncer]"
		echo "listen_addr = 127.0.0.1"
		echo "listen_port = $pgb_port"
		echo "unix_socket_dir ="
		echo "auth_type = scram-sha-256"
		echo "auth_file = $pgbdir/userlist.txt"
		echo "pool_mode = transaction"
		echo "max_client_conn = 200"
		echo "default_pool_size = 8"
		echo "reserve_pool_size = 0"
		echo "server_tls_sslmode = disable"
		echo "ignore_startup_parameters = extra_float_digits,options"
		echo "pidfile = $pgbdir/pgbouncer.pid"
		echo "logfile = $pgbdir/pgbouncer.log"
		echo "admin_users = postgres"
	} >"$pgbdir/pgbouncer.ini"
	chmod 600 "$pgbdir/userlist.txt" "$pgbdir/pgbouncer.ini"
	if [ "$(id -u)" = 0 ]; then
		chown -R postgres "$pgbdir"
	fi
	as_pg "$pgb" -d "$pgbdir/pgbouncer.ini" >"$pgbdir/start.log" 2>&1 || {
		echo "pg_tmp.sh: pgbouncer did not start: see $pgbdir/start.log" \
			"and $pgbdir/pgbouncer.log" >&2
		return 0
	}
	for i in $(seq 1 100); do
		if ! port_free "$pgb_port"; then
			printf 'pgb_port=%q\n' "$pgb_port" >>"$dir/state"
			echo "$pgb_port"
			return 0
		fi
		sleep 0.1
	done
	echo "pg_tmp.sh: pgbouncer does not listen on 127.0.0.1:$pgb_port:" \
		"see $pgbdir/pgbouncer.log" >&2
	stop_pgbouncer "$dir"
	return 0
}

# stop_pgbouncer DIR: stop the PgBouncer of DIR/pgbouncer (SIGTERM, then
# SIGKILL after 5 s), if it runs.
stop_pgbouncer() {
	local dir=$1 pid i
	pid=$(cat "$dir/pgbouncer/pgbouncer.pid" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

cmd_start() {
	local dir=$1 bindir data sock port pw pgb_port=""
	bindir=$(find_bindir) || die "no PostgreSQL server binaries found" \
		"(pg_config, PATH, /usr/lib/postgresql/*/bin)"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	data="$dir/data"

	# Reuse a running cluster: only rewrite env.
	if [ -f "$dir/state" ] && [ -f "$data/postmaster.pid" ]; then
		# shellcheck disable=SC1091
		. "$dir/state"
		if as_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1 &&
			wait_ready "$bindir" "$sock" "$port"; then
			if [ -z "${pgb_port:-}" ] || ! pgb_running "$dir" ||
				port_free "$pgb_port"; then
				stop_pgbouncer "$dir"
				pgb_port=$(start_pgbouncer "$dir" "$bindir" \
					"$sock" "$port")
			fi
			write_env "$dir" "$bindir" "$sock" "$port" "$pw" \
				"${pgb_port:-}"
			echo "pg_tmp.sh: reusing cluster on port $port ($dir)"
			return 0
		fi
	fi

	# The socket path must fit in sun_path (107 bytes with the file name).
	if [ ${#dir} -le 80 ]; then
		sock=$dir
	else
		sock=$(mktemp -d /tmp/nmig-pg.XXXXXX)
	fi

	if [ ! -f "$data/PG_VERSION" ]; then
		pw=$(random_password)
		rm -rf "$data"
		mkdir -p "$data"
		printf '%s\n' "$pw" >"$dir/pwfile"
		if [ "$(id -u)" = 0 ]; then
			chown postgres "$dir" "$data" "$dir/pwfile"
			[ "$sock" = "$dir" ] || chown postgres "$sock"
		fi
		chmod 700 "$data"
		as_pg test -w "$data" ||
			die "the postgres user cannot write $data (is a parent" \
				"directory closed to it?); use a DIR under /tmp"
		as_pg "$bindir/initdb" -D "$data" -U postgres \
			--pwfile="$dir/pwfile" --auth-local=trust \
			--auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
			>"$dir/initdb.log" 2>&1 ||
			as_pg "$bindir/initdb" -D "$data" -U postgres \
				--pwfile="$dir/pwfile" --auth-local=trust \
				--auth-host=scram-sha-256 -E UTF8 --locale=C \
				>"$dir/initdb.log" 2>&1 ||
			die "initdb failed: see $dir/initdb.log"
		rm -f "$dir/pwfile"
	else
		[ -f "$dir/state" ] || die "$data exists but $dir/state is missing"
		# shellcheck disable=SC1091
		pw=$(. "$dir/state" && echo "$pw")
		if [ "$(id -u)" = 0 ] && [ "$sock" != "$dir" ]; then
			chown postgres "$sock"
		fi
	fi

	port=$(pick_port) || die "no free TCP port found"
	{
		printf 'sock=%q\n' "$sock"
		printf 'port=%q\n' "$port"
		printf 'pw=%q\n' "$pw"
	} >"$dir/state"
	chmod 600 "$dir/state"

	# Fast by default; PG_TMP_DURABLE=1 keeps PostgreSQL's durable
	# defaults (fsync, synchronous_commit, full_page_writes), for the
	# crash tests and benches that measure WAL flushes.
	local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	if [ "${PG_TMP_DURABLE:-}" = 1 ]; then
		durability=""
	fi
	# PG_TMP_SSL_DIR=DIR (server.crt and server.key, readable by the
	# server's user): TLS on, for benches that measure its cost.
	local tls=""
	if [ -n "${PG_TMP_SSL_DIR:-}" ]; then
		if [ ! -f "$PG_TMP_SSL_DIR/server.crt" ] || [ ! -f "$PG_TMP_SSL_DIR/server.key" ]; then
			die "PG_TMP_SSL_DIR needs server.crt and server.key"
		fi
		tls="-c ssl=on -c ssl_cert_file=$PG_TMP_SSL_DIR/server.crt -c ssl_key_file=$PG_TMP_SSL_DIR/server.key"
	fi
	as_pg "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $sock $durability $tls -c max_connections=100" \
		start >"$dir/pg_ctl.log" 2>&1 ||
		die "pg_ctl start failed: see $dir/pg_ctl.log and $data/server.log"
	wait_ready "$bindir" "$sock" "$port" ||
		die "server did not accept connections: see $data/server.log"
	stop_pgbouncer "$dir"
	pgb_port=$(start_pgbouncer "$dir" "$bindir" "$sock" "$port")
	write_env "$dir" "$bindir" "$sock" "$port" "$pw" "$pgb_port"
	echo "pg_tmp.sh: cluster running on 127.0.0.1:$port, socket $sock ($dir)"
	if [ -n "$pgb_port" ]; then
		echo "pg_tmp.sh: pgbouncer (transaction pooling) on 127.0.0.1:$pgb_port"
	fi
}

cmd_stop() {
	local dir=$1 bindir sock=""
	[ -d "$dir" ] || return 0
	dir=$(cd "$dir" && pwd)
	bindir=$(find_bindir) || die "no PostgreSQL server binaries found"
	if [ -f "$dir/state" ]; then
		# shellcheck disable=SC1091
		sock=$(. "$dir/state" && echo "$sock")
	fi
	stop_pgbouncer "$dir"
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop \
			>/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	case "$sock" in
	/tmp/nmig-pg.*) rm -rf "$sock" ;;
	esac
	echo "pg_tmp.sh: cluster stopped and $dir removed"
}

[ $# -ge 1 ] || usage
case "$1" in
start)
	[ $# -eq 2 ] || usage
	cmd_start "$2"
	;;
stop)
	[ $# -eq 2 ] || usage
	cmd_stop "$2"
	;;
*)
	usage
	;;
esac
