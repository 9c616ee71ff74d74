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
 * db->on_plan of an upgrade in production: print to stderr the database
 * (user@host:port/dbname, never a password), the target and the plan, one
 * line per revision, on the run's own connection before anything runs.
 * When the run stops before it has a plan (plan NULL: a refused state, an
 * unknown target, the lock) only the database and target are printed: the
 * run's error follows.
 */
void production_announce(struct nmig_db *db, const char *target,
			 const struct nmig_plan *plan);

#endif
