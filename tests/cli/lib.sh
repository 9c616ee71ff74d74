# shellcheck shell=bash
# lib.sh: helpers shared by the CLI tests (tests/cli/*.sh). Source it from
# a test script:
#
#   . "$(dirname "$0")/lib.sh"
#   cli_init                         # checks $NMIG, makes a scratch dir $T
#   dir=$(fixture branchy)           # a copy of tests/fixtures/cli/branchy
#   cd "$T"
#   run_nmig --dir "$dir" heads      # sets rc, out, err
#   expect_exit 0 "heads on a branchy history"
#   expect_stdout_contains "003 (head) right branch" "the second head"
#   finish                           # prints "N passed, N failed", exits
#
# Every expectation counts as one check; a failure prints what was expected,
# the command and what it printed, and the test goes on, so one run shows
# every problem. ctest runs every tests/cli/*.sh, this file too: run on its
# own, it tests its own assertions against a fake binary (see the end).

CLI_PASSED=0
CLI_FAILED=0
CLI_NAME=$(basename "${0:-cli}" .sh)
rc=0
out=""
err=""
CLI_LAST_CMD=""

# cli_init: check the binary, make a scratch dir ($T) removed at exit, and
# clear the environment of anything that would change nmig's behaviour.
cli_init() {
	if [ -z "${NMIG:-}" ] || [ ! -x "$NMIG" ]; then
		echo "FAIL: NMIG='${NMIG:-}' is not an executable nmig binary" >&2
		exit 1
	fi
	if [ -z "${NMIG_FIXTURES:-}" ] || [ ! -d "$NMIG_FIXTURES/cli" ]; then
		echo "FAIL: NMIG_FIXTURES='${NMIG_FIXTURES:-}' has no cli/ fixtures" >&2
		exit 1
	fi
	# the tests cd around: make the paths they were given absolute
	NMIG=$(cd "$(dirname "$NMIG")" && pwd)/$(basename "$NMIG")
	NMIG_FIXTURES=$(cd "$NMIG_FIXTURES" && pwd)
	NMIG_SOURCE_DIR=$(cd "${NMIG_SOURCE_DIR:-$NMIG_FIXTURES/../..}" && pwd)
	export NMIG NMIG_FIXTURES NMIG_SOURCE_DIR
	local base=${NMIG_TEST_TMP:-${TMPDIR:-/tmp}}
	mkdir -p "$base"
	T=$(mktemp -d "$base/cli_$CLI_NAME.XXXXXX")
	export T
	unset DATABASE_URL NMIG_ENV NODE_ENV NO_COLOR NMIG_NOW PGPASSWORD
	trap cli_cleanup EXIT
	cd "$T" || exit 1
}

cli_cleanup() {
	if [ -n "${T:-}" ] && [ -z "${CLI_KEEP_TMP:-}" ]; then
		rm -rf "$T"
	fi
}

# fixture NAME [DEST]: copy tests/fixtures/cli/NAME to $T/DEST (default
# NAME, replaced if there) and print the path relative to $T.
fixture() {
	local name=$1 dest=${2:-$1}
	rm -rf "${T:?}/$dest"
	cp -R "$NMIG_FIXTURES/cli/$name" "$T/$dest"
	echo "$dest"
}

# examples [DEST]: a copy of the example history in migrations/.
examples() {
	local dest=${1:-examples}
	rm -rf "${T:?}/$dest"
	cp -R "$NMIG_SOURCE_DIR/migrations" "$T/$dest"
	echo "$dest"
}

# run_nmig ARGS...: run the binary; sets rc, out (stdout) and err (stderr).
run_nmig() {
	CLI_LAST_CMD="nmig $*"
	"$NMIG" "$@" >"$T/.out" 2>"$T/.err"
	rc=$?
	out=$(cat "$T/.out")
	err=$(cat "$T/.err")
}

# run_nmig_env VAR=VALUE... -- ARGS...: run_nmig with extra environment.
run_nmig_env() {
	local envs=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		envs+=("$1")
		shift
	done
	shift
	CLI_LAST_CMD="${envs[*]} nmig $*"
	env "${envs[@]}" "$NMIG" "$@" >"$T/.out" 2>"$T/.err"
	rc=$?
	out=$(cat "$T/.out")
	err=$(cat "$T/.err")
}

pass() {
	CLI_PASSED=$((CLI_PASSED + 1))
}

# fail WHAT DETAIL: count a failure and show the last command's output.
fail() {
	CLI_FAILED=$((CLI_FAILED + 1))
	{
		echo "FAIL: $1"
		[ -n "${2:-}" ] && printf '  %s\n' "$2"
		echo "  command: $CLI_LAST_CMD (exit $rc)"
		echo "  --- stdout:"
		printf '%s\n' "$out" | sed 's/^/  | /'
		echo "  --- stderr:"
		printf '%s\n' "$err" | sed 's/^/  | /'
	} >&2
}

# check COND_STATUS WHAT DETAIL: pass when the status is 0.
check() {
	if [ "$1" -eq 0 ]; then pass; else fail "$2" "${3:-}"; fi
}

expect_exit() {
	[ "$rc" -eq "$1" ]
	check $? "$2" "expected exit code $1, got $rc"
}

expect_stdout_contains() {
	case "$out" in *"$1"*) pass ;; *) fail "$2" "stdout lacks: $1" ;; esac
}

expect_stdout_not_contains() {
	case "$out" in *"$1"*) fail "$2" "stdout holds: $1" ;; *) pass ;; esac
}

expect_stderr_contains() {
	case "$err" in *"$1"*) pass ;; *) fail "$2" "stderr lacks: $1" ;; esac
}

expect_stderr_not_contains() {
	case "$err" in *"$1"*) fail "$2" "stderr holds: $1" ;; *) pass ;; esac
}

# expect_output_lacks STR WHAT: neither stdout nor stderr holds STR.
expect_output_lacks() {
	case "$out$err" in
	*"$1"*) fail "$2" "the output holds: $1" ;;
	*) pass ;;
	esac
}

expect_stdout_equals() {
	[ "$out" = "$1" ]
	check $? "$2" "stdout is not exactly:
$1"
}

expect_stdout_empty() {
	[ -z "$out" ]
	check $? "$1" "stdout is not empty"
}

expect_stderr_empty() {
	[ -z "$err" ]
	check $? "$1" "stderr is not empty"
}

# expect_stdout_matches ERE WHAT: some line of stdout matches ERE.
expect_stdout_matches() {
	printf '%s\n' "$out" | grep -Eq -- "$1"
	check $? "$2" "no stdout line matches /$1/"
}

expect_stderr_matches() {
	printf '%s\n' "$err" | grep -Eq -- "$1"
	check $? "$2" "no stderr line matches /$1/"
}

# expect_stdout_lines N WHAT: stdout has exactly N lines.
expect_stdout_lines() {
	local n=0
	[ -n "$out" ] && n=$(printf '%s\n' "$out" | wc -l)
	[ "$n" -eq "$1" ]
	check $? "$2" "expected $1 stdout lines, got $n"
}

expect_file() {
	[ -f "$1" ]
	check $? "$2" "no file '$1'"
}

expect_no_file() {
	[ ! -e "$1" ]
	check $? "$2" "'$1' exists"
}

expect_dir() {
	[ -d "$1" ]
	check $? "$2" "no directory '$1'"
}

expect_file_contains() {
	grep -Fq -- "$2" "$1" 2>/dev/null
	check $? "$3" "file '$1' lacks: $2"
}

expect_file_not_contains() {
	! grep -Fq -- "$2" "$1" 2>/dev/null
	check $? "$3" "file '$1' holds: $2"
}

# expect_file_lines FILE STR N WHAT: exactly N lines of FILE equal STR.
expect_file_lines() {
	local n
	n=$(grep -Fxc -- "$2" "$1" 2>/dev/null)
	[ "$n" -eq "$3" ]
	check $? "$4" "file '$1' has $n lines '$2', expected $3"
}

expect_eq() {
	[ "$1" = "$2" ]
	check $? "$3" "got '$1', expected '$2'"
}

# expect_json WHAT: stdout is one valid JSON document (python3, else jq).
expect_json() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import json,sys; json.load(open(sys.argv[1]))' \
			"$T/.out" 2>"$T/.jsonerr"
	elif command -v jq >/dev/null 2>&1; then
		jq . "$T/.out" >/dev/null 2>"$T/.jsonerr"
	else
		echo "NOTE: neither python3 nor jq: JSON checked by its first byte" >&2
		head -c1 "$T/.out" | grep -q '[[{]' 2>"$T/.jsonerr"
	fi
	check $? "$1" "stdout is not valid JSON: $(cat "$T/.jsonerr")"
}

# json_get EXPR: evaluate a Python expression over the JSON in stdout (as d)
# and print the result (JSON-encoded when it is not a string).
json_get() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))' "$T/.out" "$1" 2>&1
}

# expect_json_eq EXPR EXPECTED WHAT: json_get EXPR prints EXPECTED. Without
# python3 this falls back to finding EXPECTED in stdout (said loudly).
expect_json_eq() {
	local got
	if ! command -v python3 >/dev/null 2>&1; then
		echo "NOTE: no python3: '$1' checked by a text search" >&2
		expect_stdout_contains "$2" "$3"
		return
	fi
	got=$(json_get "$1")
	[ "$got" = "$2" ]
	check $? "$3" "$1 is '$got', expected '$2'"
}

# on_tty CMD...: run CMD with stdout and stderr on a pseudo-terminal;
# the combined output goes to $out, the exit code to $rc.
on_tty() {
	CLI_LAST_CMD="(tty) $*"
	out=$(python3 - "$@" <<'EOF'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
chunks = []
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    chunks.append(data)
_, status = os.waitpid(pid, 0)
sys.stdout.write(b"".join(chunks).decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
EOF
)
	rc=$?
	err=""
}

# finish: print the counts and exit (1 when any check failed, and when
# none ran at all).
finish() {
	echo "$CLI_PASSED passed, $CLI_FAILED failed"
	if [ "$CLI_FAILED" -gt 0 ] || [ "$CLI_PASSED" -eq 0 ]; then
		exit 1
	fi
	exit 0
}

# Run as a script (ctest does), lib.sh checks that its assertions pass on
# what they should and fail on what they should, with a fake binary.
lib_selftest() {
	local fake ok_before fail_before
	NMIG_FIXTURES=${NMIG_FIXTURES:-/nonexistent}
	mkdir -p "${NMIG_TEST_TMP:-${TMPDIR:-/tmp}}"
	T=$(mktemp -d "${NMIG_TEST_TMP:-${TMPDIR:-/tmp}}/cli_lib.XXXXXX") || exit 1
	trap cli_cleanup EXIT
	fake="$T/fake"
	printf '#!/bin/sh\necho "out:$*"\necho "err:$1" >&2\nexit 3\n' >"$fake"
	chmod +x "$fake"
	NMIG=$fake
	run_nmig a b
	expect_exit 3 "selftest: exit code captured"
	expect_stdout_equals "out:a b" "selftest: stdout captured"
	expect_stderr_contains "err:a" "selftest: stderr captured"
	expect_stdout_matches '^out:a b$' "selftest: stdout regex"
	expect_stdout_lines 1 "selftest: one line"
	expect_output_lacks "secret" "selftest: absent text"
	# the same assertions must fail on wrong expectations
	ok_before=$CLI_PASSED
	fail_before=$CLI_FAILED
	{
		expect_exit 0 "x"
		expect_stdout_contains "nope" "x"
		expect_stderr_not_contains "err" "x"
		expect_stdout_empty "x"
		expect_file "$T/none" "x"
		expect_eq a b "x"
	} 2>/dev/null
	CLI_PASSED=$ok_before
	if [ $((CLI_FAILED - fail_before)) -eq 6 ]; then
		CLI_FAILED=$fail_before
		pass
	else
		CLI_FAILED=$fail_before
		fail "selftest: wrong expectations must fail"
	fi
	cat >"$fake" <<'FAKE'
#!/bin/sh
echo '{"a": [1, "x"]}'
FAKE
	run_nmig
	expect_json "selftest: JSON parsed"
	expect_json_eq 'd["a"][1]' x "selftest: JSON value"
	expect_json_eq 'd["a"]' '[1, "x"]' "selftest: JSON list"
	on_tty sh -c 'test -t 1 && echo tty'
	expect_stdout_contains "tty" "selftest: on_tty gives a terminal"
	finish
}

if [ "$(basename "${0:-}")" = "lib.sh" ]; then
	lib_selftest
fi
