#!/usr/bin/env bash
# headers.sh: every public header of libnmig (lib/*.h but the *_internal.h
# ones) compiles alone in an empty translation unit, and none brings in
# libpq's header, directly or through another: struct nmig_conn is opaque
# and a program built against libnmig needs no libpq headers.
set -u
src=${NMIG_SOURCE_DIR:?}
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
for h in "$src"/lib/*.h; do
	name=$(basename "$h")
	case $name in *_internal.h) continue ;; esac
	printf '#include "%s"\n' "$name" >"$tmp/tu.c"
	if ! "$cc" -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror \
		-I"$src/lib" -fsyntax-only "$tmp/tu.c" 2>"$tmp/err"; then
		echo "FAIL: $name does not compile alone:" >&2
		sed 's/^/  /' "$tmp/err" >&2
		failed=$((failed + 1))
		continue
	fi
	"$cc" -std=c11 -D_POSIX_C_SOURCE=200809L -I"$src/lib" -H -E "$tmp/tu.c" \
		-o /dev/null 2>"$tmp/h"
	if grep -q 'libpq-fe\.h' "$tmp/h"; then
		echo "FAIL: $name brings in libpq-fe.h" >&2
		failed=$((failed + 1))
		continue
	fi
	passed=$((passed + 1))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
