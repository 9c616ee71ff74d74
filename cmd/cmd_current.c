/*
 * nmig current: placeholder until the database engine lands (replaced by h4).
 */
#include "commands.h"

int cmd_current(struct nmig_global *g, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	nmig_errorf(g, "'current' needs the database engine, which this build lacks");
	return NMIG_EXIT_FAILURE;
}
