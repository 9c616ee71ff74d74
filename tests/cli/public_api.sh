#!/usr/bin/env bash
# public_api.sh: every public function of libnmig (lib/*.h but *_internal.h,
# what is installed) is called by a test under tests/ or examples/, but for
# those tests/public-api-gaps.txt lists (scripts/public-api-coverage, a
# name-occurrence check); and the check does fail on a function planted
# without a test and on a listed gap that has got one.
. "$(dirname "$0")/lib.sh"
cli_init

script=$NMIG_SOURCE_DIR/scripts/public-api-coverage
gaps=$NMIG_SOURCE_DIR/tests/public-api-gaps.txt
out=$("$script" --known "$gaps" "$NMIG_SOURCE_DIR" 2>&1)
rc=$?
expect_eq "$rc" 0 "every public function is called by a test or a listed gap ($out)"

copy=$T/src
mkdir -p "$copy"
cp -R "$NMIG_SOURCE_DIR/lib" "$NMIG_SOURCE_DIR/tests" \
	"$NMIG_SOURCE_DIR/examples" "$copy/"
# This script names the planted functions: it is no test of them.
rm "$copy/tests/cli/public_api.sh"

# A new public function that no test calls.
printf '%s\n' '/* planted */' 'int nmig_planted_untested(int x,' \
	'			   const char *y);' >>"$copy/lib/buf.h"
out=$("$script" --known "$gaps" "$copy" 2>&1)
rc=$?
expect_eq "$rc" 1 "an untested public function fails the check"
case $out in
*"lib/buf.h: nmig_planted_untested is called by no test"*)
	pass "it is named with its header" ;;
*) fail "the planted function is not named: $out" ;;
esac

# A function pointer in a struct and a declaration in an internal header
# are not public functions.
printf '%s\n' 'struct nmig_planted { int (*nmig_planted_cb)(void *);};' \
	>"$copy/lib/planted.h"
printf '%s\n' 'int nmig_planted_internal(void);' >"$copy/lib/planted_internal.h"
printf '%s\n' 'int nmig_planted_tested(void);' >>"$copy/lib/planted.h"
printf '%s\n' 'static void t(void) { nmig_planted_tested (); }' \
	>"$copy/tests/planted.c"
out=$("$script" --list "$copy" 2>/dev/null)
case $out in
*nmig_planted_cb* | *nmig_planted_internal*)
	fail "a callback member or an internal declaration is listed: $out" ;;
*"lib/planted.h: nmig_planted_tested"*)
	pass "a prototype is listed, a callback member and _internal.h are not" ;;
*) fail "the planted prototype is not listed: $out" ;;
esac

# A listed gap that a test now calls must leave the list.
first=$(grep -v '^#' "$gaps" | head -n 1)
if [ -n "$first" ]; then
	rm "$copy/lib/buf.h"
	cp "$NMIG_SOURCE_DIR/lib/buf.h" "$copy/lib/buf.h"
	printf 'static void u(void) { %s(); }\n' "$first" >"$copy/tests/planted2.c"
	out=$("$script" --known "$gaps" "$copy" 2>&1)
	rc=$?
	expect_eq "$rc" 1 "a listed gap that has a test fails the check"
	case $out in
	*"known-gap list: $first: a test calls it now"*)
		pass "it says to remove $first from the list" ;;
	*) fail "the stale gap is not named: $out" ;;
	esac
else
	pass "no known gap is listed"
fi

finish
