#!/usr/bin/env bash
# scale.sh: the reading commands on 10,000 revisions (a long line with a
# branch and a merge every 1,000 revisions): right answers at that size.
# Times are printed for information only: a loaded machine must not fail
# a functional test, so the speed goals (heads under 100 ms, linear
# growth) are measured by tests/bench/bench_history.sh.
. "$(dirname "$0")/lib.sh"
cli_init

if ! command -v python3 >/dev/null 2>&1; then
	echo "FAIL: python3 is needed to generate 10,000 revisions" >&2
	exit 1
fi
python3 - <<'EOF'
import os
os.mkdir("big")
prev = "base"
for i in range(1, 10001):
    rid = "%06d" % i
    parents = prev
    if i % 1000 == 12:
        # a side branch off the revision two back: merged at i + 1
        parents = "%06d" % (i - 2)
    if i % 1000 == 13:
        parents = "%06d %06d" % (i - 2, i - 1)
    with open("big/%s_step_%d.up.sql" % (rid, i), "w") as f:
        f.write("-- nmig:parents %s\n-- nmig:message step %d\n"
                "CREATE TABLE t%d (id int);\n" % (parents, i, i))
    with open("big/%s_step_%d.down.sql" % (rid, i), "w") as f:
        f.write("DROP TABLE t%d;\n" % i)
    prev = rid
EOF

# timed NAME ARGS...: run nmig, print and remember the time in ms.
timed() {
	local name=$1 t0 t1
	shift
	t0=$(date +%s%N)
	run_nmig "$@"
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	echo "time: nmig $* took $ms ms" >&2
}

timed heads --dir big heads
expect_exit 0 "heads of 10,000 revisions"
expect_stdout_equals "010000 (head) step 10000" "the single head"

timed history --dir big history
expect_exit 0 "history of 10,000 revisions"
expect_stdout_lines 10000 "one line per revision"
expect_stdout_contains "000011, 000012 -> 000013 (mergepoint), step 13" "a merge point"
expect_stdout_contains "000009 -> 000010 (branchpoint), step 10" "a branch point"
expect_stdout_contains "<base> -> 000001, step 1" "the root"

timed range --dir big history -r 009000:
expect_stdout_lines 1000 "a range of 1,000 revisions"

timed branches --dir big branches --json
expect_json "branches --json of 10,000 revisions"
expect_json_eq 'len(d)' 10 "ten branch points"

timed check --dir big check
expect_exit 0 "check of 10,000 revisions (every SQL body parsed)"
expect_stdout_equals "checked 10000 revisions: 0 errors, 0 warnings" "check summary"

finish
