/*
 * An ephemeral local PostgreSQL cluster for `nmig test`: initdb into a
 * private temporary directory, a postmaster started as a child of this
 * process that listens only on a unix socket in that directory (no TCP),
 * with fsync off, and stopping it and removing the directory again. The
 * server binaries are found through `pg_config --bindir`, then PATH, then
 * the Debian layout /usr/lib/postgresql/<version>/bin (newest first).
 * PostgreSQL refuses to run as root, so when the effective user is root
 * the directory is given to the `postgres` user and initdb and postgres
 * run as that user (setgid/setuid in the forked child). Children run in
 * their own process group, so a ^C at the terminal reaches nmig alone,
 * which then stops them itself, and get only the allowlisted environment
 * of childenv.h: the migrations under test run as superuser and could
 * read the server's environment. Nothing here prints or installs signal
 * handlers: the caller does (and calls nmig_cluster_kill from one).
 */
#ifndef NMIG_CLUSTER_H
#define NMIG_CLUSTER_H

#include <signal.h>
#include <sys/types.h>

#include "buf.h"

struct nmig_cluster_opts {
	const char *bindir;   /* server binaries; NULL: find them */
	const char *tmpdir;   /* parent of the private directory; NULL:
			       * $TMPDIR, else /tmp */
	int start_timeout_ms; /* wait this long for the server; 0: 60 s */
	/* Set (by a signal handler) to stop waiting: the start then fails
	 * with NMIG_ERROR "interrupted" and cleans up. May be NULL. */
	volatile sig_atomic_t *interrupted;
};

struct nmig_cluster {
	char *bindir;  /* where initdb and postgres were found */
	char *dir;     /* the private directory: data/, socket, logs */
	char *datadir; /* dir/data */
	char *url;     /* libpq URL of the `postgres` database over the
			* socket, as the superuser `postgres` */
	char *version; /* `postgres --version` output, e.g. "15.18" */
	pid_t pid;     /* the postmaster (our child); 0 once stopped */
	int owner_uid; /* user the server runs as (-1: this process's) */
	int owner_gid;
};

/* Append the libpq URL of database dbname on cluster c to out. */
void nmig_cluster_url(const struct nmig_cluster *c, const char *dbname,
		      struct nmig_buf *out);

/*
 * Find the directory holding initdb and postgres (see the file comment)
 * into *out (malloc'ed). NMIG_ENOTFOUND listing where it looked.
 */
int nmig_cluster_find_bindir(char **out);

/*
 * Create and start a cluster. On failure everything made so far is
 * removed again and the last error says what failed, with the end of
 * the initdb or server log as detail (NMIG_ECONNECT; NMIG_ECONFIG when
 * running as root without a `postgres` user; NMIG_ENOTFOUND when no
 * binaries are found). *out is NULL then.
 */
int nmig_cluster_start(struct nmig_cluster **out,
		       const struct nmig_cluster_opts *o);

/*
 * Stop the server (fast shutdown; immediate, then SIGKILL, when it does
 * not go within a few seconds) and remove the directory. Safe to call
 * more than once. Returns NMIG_OK, or NMIG_EIO when the directory could
 * not be removed completely (the last error names it).
 */
int nmig_cluster_stop(struct nmig_cluster *c);

/* Stop (as nmig_cluster_stop) and free. c may be NULL. */
void nmig_cluster_free(struct nmig_cluster *c);

/*
 * Async-signal-safe: ask the postmaster for an immediate shutdown
 * (SIGQUIT). For a signal handler that wants the server gone now; the
 * directory is removed by nmig_cluster_stop afterwards. c may be NULL.
 */
void nmig_cluster_kill(const struct nmig_cluster *c);

/*
 * Remove path and everything below it (not following symbolic links).
 * A missing path is not an error; anything else that cannot be removed is
 * NMIG_EIO naming it.
 */
int nmig_remove_tree(const char *path);

#endif
