/*
 * The command functions of the nmig executable, one per cmd_<name>.c; the
 * table in nmig.c names them.
 */
#ifndef NMIG_COMMANDS_H
#define NMIG_COMMANDS_H

#include "nmig.h"

int cmd_init(struct cli_global *g, int argc, char **argv);
int cmd_revision(struct cli_global *g, int argc, char **argv);
int cmd_merge(struct cli_global *g, int argc, char **argv);
int cmd_heads(struct cli_global *g, int argc, char **argv);
int cmd_branches(struct cli_global *g, int argc, char **argv);
int cmd_history(struct cli_global *g, int argc, char **argv);
int cmd_show(struct cli_global *g, int argc, char **argv);
int cmd_check(struct cli_global *g, int argc, char **argv);

/* database commands */
int cmd_upgrade(struct cli_global *g, int argc, char **argv);
int cmd_downgrade(struct cli_global *g, int argc, char **argv);
int cmd_current(struct cli_global *g, int argc, char **argv);
int cmd_stamp(struct cli_global *g, int argc, char **argv);
int cmd_repair(struct cli_global *g, int argc, char **argv);
int cmd_test(struct cli_global *g, int argc, char **argv);
int cmd_doctor(struct cli_global *g, int argc, char **argv);

/* plan cache, lint, import */
int cmd_cache(struct cli_global *g, int argc, char **argv);
int cmd_lint(struct cli_global *g, int argc, char **argv);
int cmd_import(struct cli_global *g, int argc, char **argv);

/* the declared schema */
int cmd_schema(struct cli_global *g, int argc, char **argv);
int cmd_diff(struct cli_global *g, int argc, char **argv);

/* seeing the graph, shell completion */
int cmd_graph(struct cli_global *g, int argc, char **argv);
int cmd_completion(struct cli_global *g, int argc, char **argv);
int cmd_complete_helper(struct cli_global *g, int argc, char **argv);

#endif
