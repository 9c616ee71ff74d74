/*
 * nmig stamp: placeholder until the database engine lands (replaced by h4).
 */
#include "commands.h"

int cmd_stamp(struct nmig_global *g, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	nmig_errorf(g, "'stamp' needs the database engine, which this build lacks");
	return NMIG_EXIT_FAILURE;
}
