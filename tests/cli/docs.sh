#!/usr/bin/env bash
# docs.sh: the documentation agrees with the binary -- every command in
# `nmig --help` is in docs/commands.md and the man page, every exit code is
# in docs/exit-codes.md and the man page, and docs/nmig.1 renders without
# warnings (`man -l docs/nmig.1`).
. "$(dirname "$0")/lib.sh"
cli_init

docs=$NMIG_SOURCE_DIR/docs
for f in commands.md exit-codes.md file-format.md configuration.md nmig.1; do
	expect_file "$docs/$f" "docs/$f exists"
done

run_nmig --help
cmds=$(printf '%s\n' "$out" | sed -n '/^commands:/,/^$/p' | awk 'NF > 1 {print $1}')
[ -n "$cmds" ]
check $? "the command list was read from --help"
for c in $cmds; do
	[ "$c" = help ] && continue
	expect_file_contains "$docs/commands.md" "## $c" "docs/commands.md has a section for '$c'"
	grep -Eq "^\.BR? $c( |$)" "$docs/nmig.1"
	check $? "the man page describes '$c'"
done

for code in 0 1 2 3 4 5 6 7 8 9 10; do
	grep -Eq "^\| $code \|" "$docs/exit-codes.md"
	check $? "docs/exit-codes.md documents exit code $code"
	grep -Eq "^\.B $code$" "$docs/nmig.1"
	check $? "the man page documents exit code $code"
done

run_nmig --version
version=${out#nmig }
expect_file_contains "$docs/nmig.1" "\"nmig $version\"" "the man page names version $version"

if command -v groff >/dev/null 2>&1; then
	warnings=$(groff -man -Tutf8 -ww -z "$docs/nmig.1" 2>&1)
	[ -z "$warnings" ]
	check $? "groff renders nmig.1 without warnings" "$warnings"
else
	echo "NOTE: groff is not installed: rendering not checked" >&2
fi
if command -v man >/dev/null 2>&1; then
	page=$(MANWIDTH=80 man -l "$docs/nmig.1" 2>&1)
	case "$page" in
	*"EXIT STATUS"*"ENVIRONMENT"*) pass ;;
	*) fail "man -l docs/nmig.1 renders the page" "$page" ;;
	esac
else
	echo "NOTE: man is not installed: 'man -l' not checked" >&2
fi

finish
