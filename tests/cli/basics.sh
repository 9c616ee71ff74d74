#!/usr/bin/env bash
# basics.sh: the command line itself -- --version, --help, `nmig help CMD`
# for every command, unique prefixes, unknown and ambiguous commands, bad
# options and where global options go, exit codes of usage errors, colour
# on a terminal and NO_COLOR.
. "$(dirname "$0")/lib.sh"
cli_init

commands="init revision merge heads branches history show check lint upgrade
downgrade current stamp repair cache import graph completion"

run_nmig --version
expect_exit 0 "--version"
expect_stdout_matches '^nmig [0-9]+\.[0-9]+\.[0-9]+$' "--version prints 'nmig <version>'"

run_nmig --help
expect_exit 0 "--help"
expect_stdout_contains "usage: nmig [global options] <command>" "--help usage line"
for c in $commands help; do
	expect_stdout_matches "^  $c +[a-z]" "--help lists '$c' with a summary"
done
for o in --dir --config --url-env --quiet --verbose --json --no-color --version; do
	expect_stdout_contains "$o" "--help documents $o"
done
top_help=$out

run_nmig -h
expect_exit 0 "-h"
expect_stdout_equals "$top_help" "-h is --help"

run_nmig help
expect_exit 0 "help without a command"
expect_stdout_equals "$top_help" "'nmig help' is --help"

run_nmig
expect_exit 2 "no command"
expect_stderr_contains "usage: nmig" "no command prints the usage to stderr"
expect_stdout_empty "no command prints nothing on stdout"

# Every command: --help renders its options and examples; help CMD is the
# same text; -h too. None of them needs a config or a database.
echo "password = oops" >nmig.conf
for c in $commands; do
	run_nmig "$c" --help
	expect_exit 0 "$c --help"
	expect_stdout_contains "usage: nmig $c" "$c --help usage line"
	expect_stdout_contains "-h, --help" "$c --help lists --help"
	expect_stdout_contains "examples:" "$c --help has examples"
	expect_stderr_empty "$c --help prints nothing on stderr"
	own=$out
	run_nmig help "$c"
	expect_exit 0 "help $c"
	expect_stdout_equals "$own" "'nmig help $c' equals '$c --help'"
	run_nmig "$c" -h
	expect_stdout_equals "$own" "'nmig $c -h' equals '$c --help'"
done
rm nmig.conf

run_nmig revision --help
expect_stdout_matches '^  -m, --message MSG +what the revision does' "revision help: -m"
expect_stdout_matches '^ +--parent REV +parent revision' "revision help: --parent"
expect_stdout_contains "--no-transaction" "revision help: --no-transaction"
expect_stdout_contains "--rev-id ID" "revision help: --rev-id"
expect_stdout_contains "--empty" "revision help: --empty"
expect_stdout_contains 'nmig revision -m "create tasks"' "revision help: example"

run_nmig history --help
expect_stdout_contains "-r, --rev-range A:B" "history help: -r"

# Prefixes, as in tmux: unique ones run the command, others are refused.
examples m >/dev/null
run_nmig --dir m hist
expect_exit 0 "'hist' runs history"
expect_stdout_contains "<base> -> 20261126090000" "'hist' printed the history"
run_nmig --dir m he
expect_exit 2 "'he' is ambiguous"
expect_stderr_contains "error: ambiguous command 'he', could be: heads, help" "'he' lists the candidates"
run_nmig s
expect_exit 2 "'s' is ambiguous"
expect_stderr_contains "error: ambiguous command 's', could be: schema, show, stamp" "'s' lists schema, show and stamp"
run_nmig --dir m br
expect_exit 0 "'br' runs branches"
expect_stdout_contains "20261126090000 -> 20261126091000, 20261126092000" "'br' printed the branch point"
run_nmig help hist
expect_exit 0 "help accepts a prefix"
expect_stdout_contains "usage: nmig history" "'help hist' shows history's help"
run_nmig help nope
expect_exit 2 "help of an unknown command"
expect_stderr_contains "error: unknown command 'nope'" "help nope: error"

run_nmig frobnicate
expect_exit 2 "unknown command"
expect_stderr_contains "error: unknown command 'frobnicate'" "unknown command message"
expect_stderr_contains "hint: see 'nmig --help'" "unknown command hint"
expect_stdout_empty "unknown command: nothing on stdout"

# Options.
run_nmig --frob heads
expect_exit 2 "unknown global option"
expect_stderr_contains "error: unknown option '--frob'" "unknown global option message"
run_nmig --dir
expect_exit 2 "--dir without a value"
expect_stderr_contains "option '--dir' needs a value" "--dir needs a value"
run_nmig --dir m heads --frob
expect_exit 2 "unknown command option"
expect_stderr_contains "error: unknown option '--frob' for 'heads'" "unknown option names the command"
expect_stderr_contains "hint: see 'nmig heads --help'" "unknown option hint"
run_nmig heads --dir m
expect_exit 0 "a global option after the command (globals.sh has the rest)"
expect_stdout_contains "20261126094000 (head)" "heads --dir m"
run_nmig --dir m revision -m
expect_exit 2 "-m without a value"
expect_stderr_contains "option '-m' needs a value (MSG)" "-m needs a value"
run_nmig --dir m heads --json=yes
expect_exit 2 "a flag with a value"
expect_stderr_contains "option '--json' takes no value" "--json takes no value"
run_nmig --dir m heads extra
expect_exit 2 "heads with an argument"
expect_stderr_contains "unexpected argument 'extra'" "heads refuses arguments"
run_nmig --dir=m -q heads
expect_exit 0 "--dir=VALUE and -q"
expect_stdout_contains "20261126094000 (head) add task due date" "--dir=m heads"

# A missing migrations directory.
run_nmig --dir nowhere heads
expect_exit 3 "missing migrations directory"
expect_stderr_contains "error: migrations directory 'nowhere' does not exist" "missing dir message"
expect_stderr_contains "hint: create it with 'nmig init'" "missing dir hint"

# Colour: only on a terminal, never with NO_COLOR or --no-color.
run_nmig --dir m history
case "$out$err" in *$'\033['*) fail "no colour when not on a terminal" ;; *) pass ;; esac
run_nmig frobnicate
case "$err" in *$'\033['*) fail "no colour in errors off a terminal" ;; *) pass ;; esac
on_tty env -u NO_COLOR "$NMIG" --dir m history
expect_exit 0 "history on a terminal"
case "$out" in *$'\033['*) pass ;; *) fail "colour on a terminal" ;; esac
on_tty env NO_COLOR=1 "$NMIG" --dir m history
case "$out" in *$'\033['*) fail "NO_COLOR turns colour off" ;; *) pass ;; esac
on_tty env NO_COLOR= "$NMIG" --dir m history
case "$out" in *$'\033['*) pass ;; *) fail "an empty NO_COLOR keeps colour" ;; esac
on_tty env -u NO_COLOR "$NMIG" --no-color --dir m history
case "$out" in *$'\033['*) fail "--no-color turns colour off" ;; *) pass ;; esac
on_tty env -u NO_COLOR "$NMIG" frobnicate
case "$out" in *$'\033['*"error"*) pass ;; *) fail "coloured error label on a terminal" ;; esac

finish
