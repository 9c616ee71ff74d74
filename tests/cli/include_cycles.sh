#!/usr/bin/env bash
# include_cycles.sh: no include cycle among libnmig's modules
# (scripts/include-cycles), and the detector does find one that is planted.
. "$(dirname "$0")/lib.sh"
cli_init

script=$NMIG_SOURCE_DIR/scripts/include-cycles
out=$("$script" "$NMIG_SOURCE_DIR/lib" 2>&1)
rc=$?
expect_eq "$rc" 0 "no include cycle among lib/ modules ($out)"

# A planted cycle: revision files including the plan cache, which
# includes them.
copy=$T/lib
cp -R "$NMIG_SOURCE_DIR/lib" "$copy"
printf '#include "cache.h"\n' >>"$copy/revfile.c"
out=$("$script" "$copy" 2>&1)
rc=$?
expect_eq "$rc" 1 "a planted cycle fails the check"
case $out in
*"cache <-> revfile"*) pass "the planted cycle is named ($out)" ;;
*) fail "the planted cycle is not named: $out" ;;
esac

# A folder is one module: lib/lint/'s files include each other without a
# cycle, but one of them including a module that includes lint.h is one.
copy2=$T/lib2
cp -R "$NMIG_SOURCE_DIR/lib" "$copy2"
printf '#include "cache.h"\n' >>"$copy2/lint/tree.c"
printf '#include "lint.h"\n' >>"$copy2/cache.c"
out=$("$script" "$copy2" 2>&1)
rc=$?
expect_eq "$rc" 1 "a cycle through the lib/lint/ folder fails the check"
case $out in
*"cache <-> lint"*) pass "it is named as the folder's module ($out)" ;;
*) fail "the cycle through lib/lint/ is not named: $out" ;;
esac

finish
