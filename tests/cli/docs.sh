#!/usr/bin/env bash
# docs.sh: the documentation agrees with the binary -- every command in
# `nmig --help` is in docs/commands.md (its table and a section) and the man
# page, each command's synopsis there matches its --help, docs/graph.md has
# its picture, the README's tour runs, every exit code is in
# docs/exit-codes.md and the man page, and docs/nmig.1 renders without
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

# The command table of docs/commands.md lists exactly the commands.
table=$(sed -n 's/^| \[`\([a-z_-]*\)`\](#[a-z_-]*) |.*/\1/p' "$docs/commands.md")
for c in $cmds; do
	[ "$c" = help ] && continue
	printf '%s\n' "$table" | grep -Fxq "$c"
	check $? "the command table of docs/commands.md lists '$c'"
done
for c in $table; do
	printf '%s\n' "$cmds" | grep -Fxq "$c"
	check $? "'$c' in the command table of docs/commands.md is a command"
	grep -Eq "^\.BR? $c( |$)" "$docs/nmig.1"
	check $? "the man page describes '$c' of the command table"
done

# Each command's synopsis in docs/commands.md (the indented lines right
# under its heading) and in the man page (its .BR line) agrees with its
# --help: the arguments of the usage line are there, and every option
# named is one of the command's options or a global one.
run_nmig --help
globals=$(printf '%s\n' "$out" | sed -n '/^global options/,/^$/p' |
	grep -oE '(^|[ ,])--?[a-z][a-z-]*' | tr -d ' ,')
for c in $cmds; do
	[ "$c" = help ] && continue
	run_nmig "$c" --help
	usage=$(printf '%s\n' "$out" | head -1)
	args=${usage#"usage: nmig $c [options]"}
	known=$(printf '%s\n%s\n' "$(printf '%s\n' "$out" | sed -n '/^options:/,/^$/p' |
		grep -oE '(^|[ ,])--?[a-zA-Z][a-z-]*' | tr -d ' ,')" "$globals")
	synopsis=$(awk -v h="## $c" '
		$0 == h { on = 1; next }
		on && /^    nmig / { print; got = 1; next }
		on && got { exit }
		on && /^## / { exit }' "$docs/commands.md")
	case "$synopsis" in
	"    nmig $c"*) pass ;;
	*) fail "docs/commands.md has a synopsis 'nmig $c ...' under '## $c'" ;;
	esac
	for a in $args; do
		case "$synopsis" in
		*"$a"*) pass ;;
		*) fail "the synopsis of '$c' in docs/commands.md has '$a' ($usage)" "$synopsis" ;;
		esac
	done
	man=$(grep -E "^\.BR $c( |$)" "$docs/nmig.1" | head -1 |
		sed 's/\\-/-/g; s/\\f[BIRP]//g')
	for o in $(printf '%s\n%s\n' "$synopsis" "$man" |
		grep -oE '(^|[[ |])--?[a-zA-Z][a-z-]*' | tr -d '[ |' | sort -u); do
		printf '%s\n' "$known" | grep -Fxq -- "$o"
		check $? "option '$o' in the synopsis of '$c' (docs/commands.md, nmig.1) is in 'nmig $c --help'"
	done
done

# docs/graph.md shows the example history: its picture exists and names
# every revision of migrations/.
expect_file "$docs/graph.svg" "docs/graph.svg exists"
expect_file_contains "$docs/graph.md" "(graph.svg)" "docs/graph.md shows graph.svg"
expect_file_contains "$docs/commands.md" "(graph.md)" "docs/commands.md links docs/graph.md"
for f in "$NMIG_SOURCE_DIR"/migrations/*.up.sql; do
	id=$(basename "$f" | cut -d_ -f1)
	expect_file_contains "$docs/graph.svg" "$id" "docs/graph.svg has revision $id"
done

# The README's tour: every command that needs no database runs on a copy
# of migrations/ (exit 0). The others are listed here with why not.
readme=$NMIG_SOURCE_DIR/README.md
tour=$(sed -n '/^## A short tour/,/^[^ ]/p' "$readme" | sed -n 's/^    //p' |
	sed 's/ *#.*//; s| / |\n|g')
[ -n "$tour" ]
check $? "the README has a tour"
mkdir tour
cd tour || exit 1
cp -R "$NMIG_SOURCE_DIR/migrations" migrations
while IFS= read -r line; do
	[ -n "$line" ] || continue
	case "$line" in
	export\ *) continue ;; # sets DATABASE_URL
	"nmig upgrade head --sql"*) ;;
	"nmig upgrade"* | "nmig current"* | "nmig downgrade"* | "nmig stamp"* | \
		"nmig doctor"* | "nmig test"*)
		continue ;; # need a database (tests/db/ runs them)
	*" --db"*) continue ;; # asks the database (tests/db/ runs that)
	"nmig merge"*) continue ;; # needs two heads; the example has one
	"nmig import"*) continue ;; # names another project's directory
	*"| dot "*)
		command -v dot >/dev/null 2>&1 || {
			echo "NOTE: no graphviz: '$line' not run" >&2
			continue
		}
		;;
	"nmig init"*)
		mkdir -p ../fresh
		(cd ../fresh && eval "\"\$NMIG\" ${line#nmig }") >"$T/.out" 2>"$T/.err"
		rc=$?
		out=$(cat "$T/.out")
		err=$(cat "$T/.err")
		CLI_LAST_CMD="(in an empty directory) $line"
		expect_exit 0 "README tour: $line"
		continue
		;;
	esac
	CLI_LAST_CMD=$line
	eval "\"\$NMIG\" ${line#nmig }" >"$T/.out" 2>"$T/.err"
	rc=$?
	out=$(cat "$T/.out")
	err=$(cat "$T/.err")
	expect_exit 0 "README tour: $line"
done <<<"$tour"
cd "$T" || exit 1

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
