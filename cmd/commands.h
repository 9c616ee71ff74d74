/*
 * The command functions of the nmig executable, one per cmd_<name>.c; the
 * table in nmig.c names them.
 */
#ifndef NMIG_COMMANDS_H
#define NMIG_COMMANDS_H

#include "nmig.h"

int cmd_init(struct nmig_global *g, int argc, char **argv);
int cmd_revision(struct nmig_global *g, int argc, char **argv);
int cmd_merge(struct nmig_global *g, int argc, char **argv);
int cmd_heads(struct nmig_global *g, int argc, char **argv);
int cmd_branches(struct nmig_global *g, int argc, char **argv);
int cmd_history(struct nmig_global *g, int argc, char **argv);
int cmd_show(struct nmig_global *g, int argc, char **argv);
int cmd_check(struct nmig_global *g, int argc, char **argv);

/* database commands */
int cmd_upgrade(struct nmig_global *g, int argc, char **argv);
int cmd_downgrade(struct nmig_global *g, int argc, char **argv);
int cmd_current(struct nmig_global *g, int argc, char **argv);
int cmd_stamp(struct nmig_global *g, int argc, char **argv);
int cmd_repair(struct nmig_global *g, int argc, char **argv);
int cmd_test(struct nmig_global *g, int argc, char **argv);
int cmd_doctor(struct nmig_global *g, int argc, char **argv);

/* plan cache, lint, import */
int cmd_cache(struct nmig_global *g, int argc, char **argv);
int cmd_lint(struct nmig_global *g, int argc, char **argv);
int cmd_import(struct nmig_global *g, int argc, char **argv);

/* the declared schema */
int cmd_schema(struct nmig_global *g, int argc, char **argv);
int cmd_diff(struct nmig_global *g, int argc, char **argv);

/* seeing the graph, shell completion */
int cmd_graph(struct nmig_global *g, int argc, char **argv);
int cmd_completion(struct nmig_global *g, int argc, char **argv);
int cmd_complete_helper(struct nmig_global *g, int argc, char **argv);

#endif
