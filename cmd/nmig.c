/*
 * The nmig executable: global options (before the command name as in git,
 * or after it as dbmate users type them), the command table, and dispatch.
 * A command name may be abbreviated to any unique prefix (as in tmux);
 * `nmig help CMD` is `nmig CMD --help`. The setup a command's flags ask
 * for (the config loaded, --dir and --url-env applied over it) is done by
 * cli_opts_parse once the command's options are parsed, since global
 * options may come among them; each cmd_<name>.c only does its own work.
 */
#include "commands.h"
#include "buf.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

static const struct cli_cmd commands[] = {
    {"init", cmd_init, "create migrations/, nmig.conf and .gitignore entries",
     NMIG_CMD_NO_JSON},
    {"revision", cmd_revision, "create a new revision (up and down files)",
     NMIG_CMD_CONFIG},
    {"merge", cmd_merge, "create a revision that joins two or more heads",
     NMIG_CMD_CONFIG},
    {"heads", cmd_heads, "list the heads (revisions with no children)",
     NMIG_CMD_CONFIG},
    {"branches", cmd_branches, "list the branch points", NMIG_CMD_CONFIG},
    {"history", cmd_history, "list revisions, newest first (--graph: lanes)",
     NMIG_CMD_CONFIG},
    {"graph", cmd_graph, "print the revision graph as Graphviz dot or Mermaid",
     NMIG_CMD_CONFIG | NMIG_CMD_NO_JSON},
    {"show", cmd_show, "show everything about one revision", NMIG_CMD_CONFIG},
    {"check", cmd_check, "check files, SQL and graph (no database needed)",
     NMIG_CMD_CONFIG},
    /* lint loads the config itself, to report a password in it as a
     * finding before the loader refuses the file */
    {"lint", cmd_lint, "check migrations for risky operations", 0},
    {"upgrade", cmd_upgrade, "apply migrations up to a target",
     NMIG_CMD_CONFIG},
    {"downgrade", cmd_downgrade, "revert migrations down to a target",
     NMIG_CMD_CONFIG},
    {"current", cmd_current, "show the database's applied revisions and state",
     NMIG_CMD_CONFIG},
    {"stamp", cmd_stamp, "record revisions as applied without running them",
     NMIG_CMD_CONFIG},
    {"repair", cmd_repair, "re-record checksums or resolve a dirty migration",
     NMIG_CMD_CONFIG},
    {"doctor", cmd_doctor, "check the connection, server and migration state",
     NMIG_CMD_CONFIG},
    {"test", cmd_test, "test up/down roundtrips on a scratch database",
     NMIG_CMD_CONFIG},
    {"diff", cmd_diff, "list the objects two schema states differ in",
     NMIG_CMD_CONFIG},
    {"schema", cmd_schema, "print the canonical DDL of a schema state (dump)",
     NMIG_CMD_CONFIG | NMIG_CMD_NO_JSON},
    {"cache", cmd_cache, "show or clear the plan cache", NMIG_CMD_CONFIG},
    {"import", cmd_import, "import a migration history from another tool",
     NMIG_CMD_CONFIG},
    {"completion", cmd_completion,
     "print a bash, zsh or fish completion script", NMIG_CMD_NO_JSON},
    {"help", NULL, "show help for a command", 0},
    /* what the completion scripts call for revision ids */
    {"__complete", cmd_complete_helper, "completion candidates",
     NMIG_CMD_CONFIG | NMIG_CMD_HIDDEN},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* cli_commands: see nmig.h. */
const struct cli_cmd *cli_commands(size_t *n)
{
	*n = NCOMMANDS;
	return commands;
}

static void print_help(FILE *out)
{
	size_t i;

	fputs("usage: nmig [global options] <command> [options] [args]\n\n"
	      "nmig manages PostgreSQL schema migrations: plain SQL files in "
	      "a revision\ngraph, applied and reverted with upgrade and "
	      "downgrade.\n\ncommands:\n",
	      out);
	for (i = 0; i < NCOMMANDS; i++)
		if (!(commands[i].flags & NMIG_CMD_HIDDEN))
			fprintf(out, "  %-10s %s\n", commands[i].name,
				commands[i].summary);
	fputs("\nglobal options (before or after the command name):\n"
	      "  --dir DIR        migrations directory (default: 'dir' in "
	      "nmig.conf, else\n"
	      "                   ./migrations)\n"
	      "  --config FILE    config file (default: ./nmig.conf when "
	      "present)\n"
	      "  --url-env NAME   variable holding the database URL "
	      "(default: 'url_env' in\n"
	      "                   nmig.conf, else DATABASE_URL)\n"
	      "  -q, --quiet      print only errors and results\n"
	      "  -v, --verbose    print more detail (repeatable)\n"
	      "  --json           machine-readable output (refused by init, "
	      "graph and\n"
	      "                   completion, which have none)\n"
	      "  --no-color       no colour (also when NO_COLOR is set)\n"
	      "  --no-cache       run without the plan cache (.nmig/cache.db; "
	      "also\n"
	      "                   'cache = off' in nmig.conf)\n"
	      "  --version        print the version and exit\n"
	      "  -h, --help       show this help and exit\n\n"
	      "A command may be abbreviated to a unique prefix ('nmig hist'). "
	      "A command's own\noption of the same name as a global one wins "
	      "(import --dir); '--' ends\nthe options. Run 'nmig help "
	      "<command>' for its options and examples; exit\ncodes are "
	      "listed in nmig(1) and docs/exit-codes.md.\n",
	      out);
}

/*
 * Find a command by name or unique prefix. Prints the error and returns
 * NULL when there is none or several.
 */
static const struct cli_cmd *lookup(struct cli_global *g, const char *name)
{
	const struct cli_cmd *match[NCOMMANDS], *tmp;
	size_t n = 0, len = strlen(name), i, j;
	struct nmig_buf list = NMIG_BUF_INIT;

	for (i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
		if (len && !(commands[i].flags & NMIG_CMD_HIDDEN) &&
		    strncmp(commands[i].name, name, len) == 0)
			match[n++] = &commands[i];
	}
	if (n == 1)
		return match[0];
	if (n == 0) {
		cli_errorf(g, "unknown command '%s'", name);
		cli_hintf(g, "see 'nmig --help'");
		return NULL;
	}
	/* alphabetical, so the list reads the same whatever the table order */
	for (i = 1; i < n; i++)
		for (j = i;
		     j > 0 && strcmp(match[j - 1]->name, match[j]->name) > 0;
		     j--) {
			tmp = match[j];
			match[j] = match[j - 1];
			match[j - 1] = tmp;
		}
	for (i = 0; i < n; i++)
		nmig_buf_printf(&list, "%s%s", i ? ", " : "", match[i]->name);
	cli_errorf(g, "ambiguous command '%s', could be: %s", name, list.ptr);
	nmig_buf_release(&list);
	return NULL;
}

/*
 * Parse the global options at the front of argv. Returns the index of the
 * command name, or -1 after printing a usage error.
 */
static int parse_globals(struct cli_global *g, int argc, char **argv,
			 int *want_version, int *want_help)
{
	int i, rc;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--") == 0)
			return i + 1;
		rc = cli_global_opt(g, argc, argv, &i);
		if (rc == 1)
			continue;
		if (rc)
			return -1;
		if (strcmp(arg, "--version") == 0) {
			*want_version = 1;
		} else if (strcmp(arg, "--help") == 0 ||
			   (arg[1] != '-' && arg[1] != '\0' &&
			    strspn(arg + 1, "qvh") == strlen(arg + 1))) {
			/* -h, alone or in a cluster such as -vh */
			for (const char *p = arg + 1; *p != '-' && *p; p++)
				if (*p == 'q')
					g->quiet = 1;
				else if (*p == 'v')
					g->verbose++;
			*want_help = 1;
		} else {
			cli_errorf(g, "unknown option '%s'", arg);
			cli_hintf(g, "see 'nmig --help'");
			return -1;
		}
	}
	return i;
}

static int color_allowed(int no_color)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	if (no_color || (nc && *nc) || (term && strcmp(term, "dumb") == 0))
		return 0;
	return 1;
}

/*
 * Keep the process's memory, which holds the database password, to
 * itself: no core file (soft and hard limit 0, so nothing raises it
 * again), and on Linux not dumpable, so that other processes of the same
 * user can neither ptrace nmig nor read its /proc/<pid>/environ or mem.
 * Best effort: a failure changes nothing else. Children regain the
 * dumpable flag at exec; their environment is childenv.h's.
 */
static void harden_process(void)
{
	struct rlimit none = {0, 0};

	setrlimit(RLIMIT_CORE, &none);
#ifdef __linux__
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}

int main(int argc, char **argv)
{
	struct cli_global g;
	const struct cli_cmd *cmd;
	char *help_argv[3];
	int want_version = 0, want_help = 0, i, rc;

	harden_process();
	memset(&g, 0, sizeof(g));
	if (color_allowed(0))
		g.color = (isatty(STDOUT_FILENO) ? NMIG_COLOR_STDOUT : 0) |
			  (isatty(STDERR_FILENO) ? NMIG_COLOR_STDERR : 0);
	i = parse_globals(&g, argc, argv, &want_version, &want_help);
	if (i < 0)
		return NMIG_EXIT_USAGE;
	if (want_version) {
		printf("nmig %s\n", NMIG_VERSION);
		return NMIG_EXIT_OK;
	}
	if (want_help) {
		print_help(stdout);
		return NMIG_EXIT_OK;
	}
	if (i >= argc) {
		print_help(stderr);
		return NMIG_EXIT_USAGE;
	}
	cmd = lookup(&g, argv[i]);
	if (!cmd)
		return NMIG_EXIT_USAGE;
	if (!cmd->fn && strcmp(cmd->name, "help") == 0) {
		if (i + 1 >= argc) {
			print_help(stdout);
			return NMIG_EXIT_OK;
		}
		cmd = lookup(&g, argv[i + 1]);
		if (!cmd)
			return NMIG_EXIT_USAGE;
		if (!cmd->fn) {
			print_help(stdout);
			return NMIG_EXIT_OK;
		}
		help_argv[0] = (char *)cmd->name;
		help_argv[1] = "--help";
		help_argv[2] = NULL;
		argv = help_argv;
		argc = 2;
		i = 0;
	}
	g.cmd = cmd;
	cli_opts_bind(&g);
	rc = cmd->fn(&g, argc - i, argv + i);
	nmig_config_release(&g.cfg);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_errorf(&g, "cannot write the output");
		if (rc == NMIG_EXIT_OK)
			rc = NMIG_EXIT_FAILURE;
	}
	return rc;
}
