/*
 * nmig repair: placeholder until the database engine lands (replaced by h4).
 */
#include "commands.h"

int cmd_repair(struct nmig_global *g, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	nmig_errorf(g, "'repair' needs the database engine, which this build lacks");
	return NMIG_EXIT_FAILURE;
}
