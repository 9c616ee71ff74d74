#!/usr/bin/env bash
# cache.sh: `nmig cache info` and `nmig cache clear` -- the default path
# beside the migrations directory, --dir and the config's `cache` key,
# info on an absent, a populated, a corrupt and a foreign file (text and
# --json), set-aside copies listed and kept, clear deleting the file with
# its -wal and -shm, and the usage errors. info must never create anything.
. "$(dirname "$0")/lib.sh"
cli_init

if ! python3 -c 'import sqlite3' 2>/dev/null; then
	echo "SKIP: python3 with its sqlite3 module is needed to build cache files" >&2
	exit 77
fi

mkdir -p proj/migrations
cd proj || exit 1

# --- usage --------------------------------------------------------------
run_nmig cache --help
expect_exit 0 "cache --help"
expect_stdout_contains "info|clear" "cache --help names the subcommands"
expect_stdout_contains "--json" "cache --help documents --json"
expect_stdout_contains "nmig cache clear" "cache --help has examples"
help_out=$out
run_nmig help cache
expect_exit 0 "help cache"
expect_stdout_equals "$help_out" "'nmig help cache' is 'nmig cache --help'"

run_nmig cache
expect_exit 2 "cache without a subcommand"
expect_stderr_contains "error: 'cache' needs a subcommand: info or clear" \
	"missing subcommand is named"
expect_stderr_contains "hint: see 'nmig cache --help'" "missing subcommand hint"

run_nmig cache purge
expect_exit 2 "unknown cache subcommand"
expect_stderr_contains "error: unknown subcommand 'purge' of 'cache'" \
	"unknown subcommand is named"

run_nmig cache info extra
expect_exit 2 "cache info with an extra argument"
expect_stderr_contains "unexpected argument 'extra'" "extra argument is named"

run_nmig cache info --bogus
expect_exit 2 "cache info with an unknown option"

# --- info on no cache: creates nothing ---------------------------------
run_nmig cache info
expect_exit 0 "info without a cache"
expect_stdout_contains "path:       .nmig/cache.db" \
	"default path is .nmig/cache.db beside migrations/"
expect_stdout_contains "state:      absent (built on first use)" "absent state"
expect_stderr_empty "info without a cache says nothing on stderr"
expect_no_file .nmig "info creates no .nmig directory"

run_nmig --json cache info
expect_exit 0 "--json info without a cache"
expect_json "--json info is JSON"
expect_json_eq 'd["state"]' absent "--json state absent"
expect_json_eq 'd["path"]' .nmig/cache.db "--json path"
expect_json_eq 'd["size"]' 0 "--json size 0 when absent"
expect_json_eq 'd["databases"]' "[]" "--json no databases"
expect_json_eq 'd["problem"]' "null" "--json no problem"

run_nmig cache i --json
expect_exit 0 "'cache i --json': a prefix and a local --json"
expect_json "--json after the subcommand is JSON"

# --- where the cache lives ---------------------------------------------
run_nmig --dir db/migrations cache info
expect_exit 0 "info with --dir"
expect_stdout_contains "path:       db/.nmig/cache.db" \
	"--dir moves the cache beside that directory"

mkdir -p conf/migrations
printf 'cache = state/plan.db\n' >conf/nmig.conf
run_nmig --config conf/nmig.conf cache info
expect_exit 0 "info with a config naming the cache"
expect_stdout_contains "conf/state/plan.db" \
	"config 'cache' is relative to the config file's directory"
expect_no_file conf/state "info creates no directory for a configured path"

# --- a populated cache ---------------------------------------------------
# Written with Python's sqlite3 the way lib/cache.c writes it (the schema
# mirrors schema_sql there: if that changes, this case reports 'outdated'
# and fails until updated).
mkdir -p .nmig
python3 - .nmig/cache.db <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
PRAGMA journal_mode = WAL;
CREATE TABLE file (name TEXT PRIMARY KEY NOT NULL, is_up INTEGER NOT NULL,
 size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL,
 checksum TEXT NOT NULL, id TEXT, slug TEXT, message TEXT, parents BLOB,
 parents_explicit INTEGER NOT NULL DEFAULT 0,
 transactional INTEGER NOT NULL DEFAULT 1, lint_ignore BLOB,
 header_lines INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE check_result (checksum TEXT NOT NULL,
 transactional INTEGER NOT NULL, checker TEXT NOT NULL,
 pass INTEGER NOT NULL, diags BLOB,
 PRIMARY KEY (checksum, transactional, checker)) WITHOUT ROWID;
CREATE TABLE applied (dbkey TEXT PRIMARY KEY NOT NULL,
 observed_at INTEGER NOT NULL, nids INTEGER NOT NULL, ids BLOB) WITHOUT ROWID;
PRAGMA application_id = 1852664167;
PRAGMA user_version = 1;
""")
s = "a" * 64
db.execute("INSERT INTO file VALUES ('001_a.up.sql', 1, 10, 1, 1, ?, '001',"
           " 'a', 'a', x'', 0, 1, x'', 0)", (s,))
db.execute("INSERT INTO file VALUES ('001_a.down.sql', 0, 10, 1, 2, ?, NULL,"
           " NULL, NULL, NULL, 0, 1, NULL, 0)", (s,))
db.execute("INSERT INTO check_result VALUES (?, 1, 'v1', 1, x'')", (s,))
db.execute("INSERT INTO applied VALUES ('postgresql://app@db.example.com:5432/app',"
           " 1764158400, 2, x'3030310030303200')")
db.commit()
db.close()
EOF
run_nmig cache info
expect_exit 0 "info on a populated cache"
expect_stdout_contains "state:      ok" "populated cache is ok"
expect_stdout_contains "schema:     1" "schema version shown"
expect_stdout_contains "entries:    3 (2 files, 1 check result)" "entry counts"
expect_stdout_contains "databases:  1" "database count"
expect_stdout_contains \
	"postgresql://app@db.example.com:5432/app  2 applied, observed 2025-11-26 12:00:00 UTC" \
	"database key, applied count and observation time"
expect_stdout_matches '^size: +[0-9.]+ (bytes|KiB)' "size shown"
expect_stderr_empty "info on a good cache says nothing on stderr"

run_nmig --json cache info
expect_exit 0 "--json info on a populated cache"
expect_json "--json info on a populated cache is JSON"
expect_json_eq 'd["state"]' ok "--json state ok"
expect_json_eq 'd["schema_version"]' 1 "--json schema version"
expect_json_eq 'd["entries"]' 3 "--json entries"
expect_json_eq 'd["files"]' 2 "--json files"
expect_json_eq 'd["checks"]' 1 "--json checks"
expect_json_eq 'd["databases"][0]["key"]' \
	"postgresql://app@db.example.com:5432/app" "--json database key"
expect_json_eq 'd["databases"][0]["applied"]' 2 "--json applied count"
expect_json_eq 'd["databases"][0]["observed_at"]' "2025-11-26T12:00:00Z" \
	"--json observation time in ISO 8601"
expect_json_eq 'd["size"] > 0' true "--json size"

# an older schema of ours
python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.execute("PRAGMA user_version = 7")
db.commit(); db.close()' .nmig/cache.db
run_nmig cache info
expect_exit 0 "info on an outdated cache"
expect_stdout_contains "state:      outdated (rebuilt on next use)" \
	"another schema version is outdated"
expect_stdout_contains "schema:     7 (this nmig uses another)" \
	"outdated schema version shown"

# --- bad files are described, not errors ----------------------------------
head -c 8192 /dev/urandom >.nmig/cache.db
rm -f .nmig/cache.db-wal .nmig/cache.db-shm
run_nmig cache info
expect_exit 0 "info on random bytes"
expect_stdout_contains \
	"state:      corrupt: is not a SQLite database (set aside and rebuilt on next use)" \
	"random bytes are corrupt"
run_nmig --json cache info
expect_json "--json info on random bytes is JSON"
expect_json_eq 'd["state"]' corrupt "--json corrupt state"
expect_json_eq 'd["problem"]' "is not a SQLite database" "--json problem"

rm -f .nmig/cache.db
python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE notes (body TEXT)"); db.commit(); db.close()' \
	.nmig/cache.db
run_nmig cache info
expect_exit 0 "info on another application's database"
expect_stdout_contains "state:      foreign: is another application's database" \
	"a foreign SQLite file is named so"

# --- set-aside copies: listed by info, kept by clear -----------------------
printf 'x' >.nmig/cache.db.bad-1764000000
printf 'x' >.nmig/cache.db.bad-1764000000.1
printf 'x' >.nmig/cache.db-wal
printf 'x' >.nmig/cache.db-shm
run_nmig cache info
expect_stdout_contains "set aside:  .nmig/cache.db.bad-1764000000" \
	"info lists set-aside copies"
expect_stdout_contains "            .nmig/cache.db.bad-1764000000.1" \
	"info lists every set-aside copy"
expect_stderr_contains "hint: set-aside files" "info explains set-aside copies"
run_nmig --json cache info
expect_json_eq 'len(d["set_aside"])' 2 "--json lists set-aside copies"

run_nmig cache clear
expect_exit 0 "clear"
expect_stdout_contains "removed the plan cache '.nmig/cache.db' (3 files)" \
	"clear says what it removed"
expect_stderr_contains "kept 2 set-aside files" "clear mentions what it kept"
expect_no_file .nmig/cache.db "clear deletes the cache"
expect_no_file .nmig/cache.db-wal "clear deletes the -wal file"
expect_no_file .nmig/cache.db-shm "clear deletes the -shm file"
expect_file .nmig/cache.db.bad-1764000000 "clear keeps set-aside copies"

run_nmig cache clear
expect_exit 0 "clear with no cache"
expect_stdout_contains "no plan cache at '.nmig/cache.db'" \
	"clear with no cache says so"

printf 'x' >.nmig/cache.db
run_nmig --json cache clear
expect_exit 0 "--json clear"
expect_json "--json clear is JSON"
expect_json_eq 'd["removed"]' 1 "--json clear counts removed files"
expect_json_eq 'd["path"]' .nmig/cache.db "--json clear path"

printf 'x' >.nmig/cache.db
run_nmig -q cache clear
expect_exit 0 "-q clear"
expect_stdout_empty "-q clear prints nothing"
expect_no_file .nmig/cache.db "-q clear still deletes"

# what cannot be deleted is an error naming it
mkdir -p .nmig/cache.db/inside
run_nmig cache info
expect_exit 0 "info on a directory in place of the cache"
expect_stdout_contains \
	"state:      unusable: is not a regular file (nmig runs without a cache)" \
	"a directory at the cache path is unusable"
run_nmig cache clear
[ "$rc" -ne 0 ]
check $? "clear of an undeletable path fails" "expected a non-zero exit"
expect_stderr_contains "error: cannot delete plan cache file '.nmig/cache.db'" \
	"the undeletable file is named"
expect_dir .nmig/cache.db/inside "nothing inside it was touched"
rm -rf .nmig/cache.db


# --- `cache = off`: info says so, clear still deletes a left-over file ---
mkdir -p "$T/off/migrations"
cd "$T/off" || exit 1
printf 'cache = off\n' >nmig.conf
run_nmig cache info
expect_exit 0 "info with cache = off"
expect_stdout_contains "state:      disabled by 'cache = off' in 'nmig.conf'" \
	"info says the config disables the cache"
expect_stdout_not_contains ".nmig/cache.db" "no default path shown when disabled"
expect_no_file .nmig "info with cache = off creates nothing"
run_nmig --json cache info
expect_exit 0 "--json info with cache = off"
expect_json "--json info with cache = off is JSON"
expect_json_eq 'd["state"]' disabled "--json state disabled"
expect_json_eq 'd["path"]' null "--json path null when disabled"
expect_json_eq 'd["problem"]' "'cache = off' in 'nmig.conf'" "--json says why"
expect_json_eq 'd["left_over"]' null "--json no left-over file"

mkdir .nmig
printf 'an old cache file\n' >.nmig/cache.db
run_nmig cache info
expect_exit 0 "info with cache = off and a left-over file"
expect_stdout_contains "left over:  .nmig/cache.db (18 bytes, unused)" \
	"info names the left-over file"
expect_stderr_contains "'nmig cache clear' deletes it" "info says how to delete it"
expect_file_contains .nmig/cache.db "an old cache file" "info leaves the file alone"
run_nmig --json cache info
expect_json_eq 'd["state"]' disabled "--json disabled with a left-over file"
expect_json_eq 'd["left_over"]' .nmig/cache.db "--json names the left-over file"

run_nmig cache clear
expect_exit 0 "clear with cache = off"
expect_stdout_contains "removed the plan cache '.nmig/cache.db' (1 file)" \
	"clear with cache = off deletes the left-over file"
expect_stderr_contains "the plan cache is disabled by 'cache = off' in 'nmig.conf'" \
	"clear says the cache is disabled"
expect_no_file .nmig/cache.db "the left-over file is gone"
run_nmig --json cache clear
expect_exit 0 "--json clear with cache = off"
expect_json_eq 'd["removed"]' 0 "--json clear: nothing left to remove"
expect_json_eq 'd["disabled"]' true "--json clear says disabled"
run_nmig cache clear
expect_stdout_contains "no plan cache at '.nmig/cache.db'" "a second clear finds nothing"

finish
