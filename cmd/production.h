/*
 * Production: when NMIG_ENV (or NODE_ENV) is "production" or "prod" (any
 * case, surrounding blanks ignored), destructive commands refuse without
 * --allow-production (db_production_guard in db.h), and upgrade says
 * where it is going and what it will apply before it starts, so that a CI
 * log shows both even when the run fails.
 */
#ifndef NMIG_CMD_PRODUCTION_H
#define NMIG_CMD_PRODUCTION_H

#include "db.h"

/*
 * "NMIG_ENV" or "NODE_ENV", whichever says production first; else NULL.
 * A variable says production when its value, without surrounding blanks
 * and ignoring case, is "production" or "prod" ("Production", " PROD ").
 */
const char *production_env(void);

/*
 * production_env(), and when it is not NULL the value it holds without
 * the surrounding blanks: *len bytes at *value, for "%.*s" in messages.
 * value and len may be NULL.
 */
const char *production_env_value(const char **value, int *len);

/*
 * db->on_plan of an upgrade in production: print to stderr the database
 * (user@host:port/dbname, never a password), the target and the plan, one
 * line per revision, on the run's own connection before anything runs.
 * When the run stops before it has a plan (plan NULL: a refused state, an
 * unknown target, the lock) only the database and target are printed: the
 * run's error follows.
 */
void production_announce(struct cli_db *db, const char *target,
			 const struct nmig_plan *plan);

#endif
