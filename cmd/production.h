/*
 * Production: when NMIG_ENV (or NODE_ENV) is "production", destructive
 * commands refuse without --allow-production (db_production_guard in
 * db.h), and upgrade says where it is going and what it will apply before
 * it starts, so that a CI log shows both even when the run fails.
 */
#ifndef NMIG_CMD_PRODUCTION_H
#define NMIG_CMD_PRODUCTION_H

#include "db.h"

/* "NMIG_ENV" or "NODE_ENV", whichever is "production" first; else NULL. */
const char *production_env(void);

/*
 * Before an upgrade to target in production: print to stderr the database
 * (user@host:port/dbname, never a password) and the plan, one line per
 * revision, read on a connection of its own without the lock (the run
 * that follows takes the lock and plans again). When the plan cannot be
 * made (a refused state, an unknown target) only the database is printed:
 * the run reports why. Returns NMIG_EXIT_OK, or an exit code after
 * printing when the files cannot be loaded or the database not reached.
 */
int production_announce(struct nmig_global *g, const struct db_opts *o,
			const char *target);

#endif
