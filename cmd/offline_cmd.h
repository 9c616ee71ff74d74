/*
 * `--sql` for upgrade, downgrade and stamp: the command-line side of
 * offline SQL (lib/offline.h). Load the files, find the start state (a
 * range, else the state the plan cache last observed on the database the
 * URL names, else base), write the psql script to standard output or a
 * file. Never connects to a database: the URL is only parsed, for the
 * cache's database key, and never printed.
 */
#ifndef NMIG_CMD_OFFLINE_H
#define NMIG_CMD_OFFLINE_H

#include "db.h"
#include "offline.h"

/* Option table entries for --sql and -o (the three commands). */
#define OFFLINE_OPTS(sql, out)                                                 \
	{0,                                                                    \
	 "sql",                                                                \
	 NULL,                                                                 \
	 "print a psql script instead of touching the database "               \
	 "(TARGET may be a range START:TARGET)",                               \
	 NULL,                                                                 \
	 (sql),                                                                \
	 NULL,                                                                 \
	 NULL},                                                                \
	{                                                                      \
		'o', "output", "FILE", "with --sql: write the script to FILE", \
		    (out), NULL, NULL, NULL                                    \
	}

struct offline_args {
	enum nmig_offline_kind kind;
	const char *spec;   /* TARGET or START:TARGET */
	const char *output; /* -o FILE, NULL = standard output */
	int allow_drift;    /* upgrade: no drift check in the start guard */
	int purge;	    /* stamp --purge */
};

/*
 * Write the script of a.kind a.spec (see lib/offline.h) with the
 * settings and timeouts of o. Prints errors; returns an exit code. With
 * -o the file is replaced only once the script is complete.
 */
int offline_run(struct cli_global *g, const struct db_opts *o,
		const struct offline_args *a);

/*
 * Usage errors of the options that --sql does not combine with (-o
 * without --sql, --dry-run with it). Returns NMIG_EXIT_OK or
 * NMIG_EXIT_USAGE after printing.
 */
/*
 * A range START:TARGET without --sql: a usage error (exit 2) saying that
 * ranges are for offline scripts; NMIG_EXIT_OK otherwise.
 */
int offline_check_range(struct cli_global *g, const char *cmd,
			const char *target, int sql);

int offline_check_opts(struct cli_global *g, const char *cmd, int sql,
		       const char *output, int dry_run);

#endif
