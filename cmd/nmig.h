/*
 * What every command of the nmig executable shares: the global options, the
 * command table entry, option parsing that also renders --help, output
 * helpers (colour, JSON strings), and the mapping from libnmig error codes
 * to documented exit codes. The library never prints; cmd/ does.
 */
#ifndef NMIG_CMD_H
#define NMIG_CMD_H

#include <stdio.h>

#include "config.h"
#include "diag.h"
#include "graph.h"
#include "revfile.h"

/* Exit codes: documented in docs/exit-codes.md and the man page. */
enum cli_exit {
	NMIG_EXIT_OK = 0,
	NMIG_EXIT_FAILURE = 1, /* generic failure; lint found problems */
	NMIG_EXIT_USAGE = 2,   /* bad command line */
	NMIG_EXIT_INPUT = 3,   /* bad migration files or revision graph */
	NMIG_EXIT_TARGET = 4,  /* target unknown or ambiguous; several heads */
	NMIG_EXIT_CONNECT = 5, /* cannot connect / authenticate / TLS policy */
	NMIG_EXIT_SQL = 6,     /* a migration failed and was rolled back */
	NMIG_EXIT_STATE = 7, /* database state refuses: drift, dirty, unknown */
	NMIG_EXIT_LOCKED = 8,	   /* another nmig holds the migration lock */
	NMIG_EXIT_CONFIG = 9,	   /* bad config or environment */
	NMIG_EXIT_PRODUCTION = 10, /* refused in production */
};

struct cli_cmd;

/*
 * Global options, given before or after the command name (as git and dbmate
 * users type them), and what the run has set up.
 */
struct cli_global {
	const char *dir;	/* --dir */
	const char *config_path;	/* --config */
	const char *url_env;	/* --url-env */
	int quiet;		/* -q */
	int verbose;		/* -v (repeatable) */
	int json;		/* --json */
	int no_cache;		/* --no-cache: run without the plan cache */
	int use_db;		/* --db of check, history, lint, graph: the
				 * offline commands ask the database only
				 * when told to */
	int color;		/* NMIG_COLOR_* bits: which streams get colour */
	struct nmig_config cfg;	/* loaded before commands that need it */
	const struct cli_cmd *cmd; /* the command that runs, or NULL */
	int setup_done;	/* cmd's setup (config) was done */
};

/* Bits of cli_global.color: stdout / stderr is a TTY, and neither
 * NO_COLOR nor --no-color is set. */
#define NMIG_COLOR_STDOUT 1
#define NMIG_COLOR_STDERR 2

/* What setup a command needs before it runs. */
enum cli_cmd_flags {
	NMIG_CMD_CONFIG = 1 << 0,  /* load the config */
	NMIG_CMD_NO_JSON = 1 << 2, /* has no JSON output: --json refused */
	NMIG_CMD_HIDDEN = 1 << 3,  /* not listed, never matched by prefix */
};

struct cli_cmd {
	const char *name;
	int (*fn)(struct cli_global *g, int argc, char **argv);
	const char *summary;
	unsigned flags;
};

/*
 * Options of one command. The same table parses argv and renders --help,
 * so the two never disagree. An option with an argument stores it in
 * *str (repeatable options append to a list via on_value when set); a
 * flag sets *flag to 1.
 */
struct cli_opt {
	char shortname;		/* 0 when none */
	const char *longname;
	const char *argname;	/* NULL for a flag */
	const char *help;
	const char **str;	/* where an argument goes */
	int *flag;		/* where a flag goes */
	int (*on_value)(const char *value, void *ud);	/* repeatable */
	void *ud;
};

struct cli_usage {
	const char *name;	/* command name */
	const char *args;	/* e.g. "[TARGET]" */
	const char *description;	/* a paragraph */
	const struct cli_opt *opts;	/* terminated by a zeroed entry */
	const char *examples;	/* lines of example invocations, or NULL */
};

/* The command table of nmig.c, n entries (hidden ones included). */
const struct cli_cmd *cli_commands(size_t *n);

/*
 * One global option at argv[*i] (not --help or --version, which only go
 * before the command): --dir, --config, --url-env (each `X V` or `X=V`),
 * -q, -v (clustered as -qv too), --json, --no-color, --no-cache. Returns 1
 * when it was one (stored in g, *i at its last word), 0 when it is not a
 * global option, or NMIG_EXIT_USAGE after printing an error.
 */
int cli_global_opt(struct cli_global *g, int argc, char **argv, int *i);

/*
 * Bind the run's global options: from then on cli_opts_parse also
 * accepts the global options among a command's (the command's own option
 * of the same name wins, e.g. import's --dir) and, once they are parsed,
 * does the setup g->cmd's flags ask for (the config loaded and --dir,
 * --url-env applied over it; --json refused for NMIG_CMD_NO_JSON).
 */
void cli_opts_bind(struct cli_global *g);

/*
 * Capture mode, for completion: while fn is set, cli_opts_parse hands
 * each command's usage to fn(u, ud) instead of parsing, and returns 1 as
 * after --help (so the command returns at once, having done nothing).
 * u is valid only during the call. NULL ends capture mode.
 */
void cli_opts_capture(void (*fn)(const struct cli_usage *u, void *ud),
		      void *ud);

/*
 * Parse argv (argv[0] is the command name). Positional arguments are left
 * in argv[1..*argc-1] in order; `--` ends the options. Global options may
 * be mixed in (see cli_opts_bind). Returns 0, 1 when --help was printed
 * (the command returns NMIG_EXIT_OK), NMIG_EXIT_USAGE after printing an
 * error, or the exit code of a failed setup (a bad config) after printing.
 */
int cli_opts_parse(const struct cli_usage *u, int *argc, char **argv);
void cli_opts_help(const struct cli_usage *u, FILE *out);

/*
 * cli_opts_parse for a command that takes no positional argument: one is
 * refused with "unexpected argument" and hint (NULL: "see 'nmig <name>
 * --help'"). Same returns as cli_opts_parse.
 */
int cli_opts_parse_none(struct cli_global *g, const struct cli_usage *u,
			int *argc, char **argv, const char *hint);

/* Map a libnmig code to an exit code. */
int cli_exit_code(int code);

/*
 * Print the last libnmig error to stderr in three layers (error, detail,
 * hint) with file:line:col, the source line and a caret, and return the
 * exit code for it.
 */
int cli_report_error(struct cli_global *g);
/* Print diagnostics to stderr (text) and return how many errors. */
size_t cli_report_diags(struct cli_global *g, const struct nmig_diags *d);

/* Messages to stderr: "error: ...", "warning: ...", "hint: ...". */
void cli_errorf(struct cli_global *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cli_warnf(struct cli_global *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Informational line to stderr unless -q. */
void cli_infof(struct cli_global *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "hint: ..." to stderr, after an error or warning. */
void cli_hintf(struct cli_global *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The order in which to print d: by file, line, column, then as added
 * (findings without a file first). A malloc'ed array of d->n indexes, or
 * NULL when d is empty or out of memory (then print in list order).
 */
size_t *cli_diags_order(const struct nmig_diags *d);

/*
 * Load the migrations directory (g->cfg.dir) and build the revision graph,
 * for the commands that read the history, with the plan cache (opened and
 * closed here; see cli_run_cache_open). Errors found while loading are
 * printed (warnings only with -v: `nmig check` shows every finding).
 * Returns NMIG_EXIT_OK, or the exit code after printing; set and *graph are
 * always safe to release (nmig_revset_release, nmig_graph_free).
 */
int cli_load_graph(struct cli_global *g, struct nmig_revset *set,
		   struct nmig_graph **graph);

struct nmig_cache;

/*
 * The plan cache of one run (lib/cache.h) and the warnings it raises,
 * which must outlive the handle.
 */
struct cli_run_cache {
	struct nmig_cache *cache; /* NULL: disabled or unusable */
	struct nmig_diags warnings;
	size_t printed; /* warnings already printed */
};

/*
 * Open the plan cache for this run: the config's `cache` path, else
 * `.nmig/cache.db` beside the migrations directory; nothing when
 * disabled (--no-cache, `cache = off`). A cache that cannot be used is
 * no failure: rc->cache is NULL and the command runs without it. Its
 * warnings (a corrupt file set aside, an unusable location) are printed
 * unless -q. Returns NMIG_EXIT_OK, or the exit code after printing when
 * out of memory. Close with cli_run_cache_close in every case.
 */
int cli_run_cache_open(struct cli_global *g, struct cli_run_cache *rc);

/*
 * Close the cache (committing what was stored), print the warnings raised
 * while it was in use (unless -q) and, with -vv, what it did (hits,
 * misses, stores). rc is left empty; safe on a zeroed rc.
 */
void cli_run_cache_close(struct cli_global *g, struct cli_run_cache *rc);

/* Colour escapes, empty strings when colour is off. */
const char *cli_c_bold(const struct cli_global *g);
const char *cli_c_red(const struct cli_global *g);
const char *cli_c_green(const struct cli_global *g);
const char *cli_c_yellow(const struct cli_global *g);
const char *cli_c_dim(const struct cli_global *g);
const char *cli_c_reset(const struct cli_global *g);

/* Write s as a JSON string literal (with quotes) to out; NULL as null.
 * Control characters are escaped and invalid UTF-8 becomes U+FFFD. */
void cli_json_str(FILE *out, const char *s);
/* Write a JSON array of n strings. */
void cli_json_strs(FILE *out, const char *const *s, size_t n);
/*
 * Write the members "id", "message" and "parents" of revision r (no
 * braces): how every JSON listing of revisions starts its objects.
 */
void cli_json_rev(FILE *out, const struct nmig_revision *r);
/* Write the JSON array of the ids of the children of node in graph. */
void cli_json_children(FILE *out, const struct nmig_graph *graph, size_t node);

/*
 * Write text that came from files or users (messages, paths) for a
 * terminal: control characters and invalid UTF-8 become '?', and a
 * password in a URL or `password=` is masked.
 */
void cli_put_safe(FILE *out, const char *s);

#endif
