/*
 * Errors of libnmig. A fallible function returns an int: NMIG_OK (0) on
 * success, a negative NMIG_E* code on failure, after recording the details
 * with nmig_error_set(). The details stay in a per-thread "last error" until
 * the next failure or nmig_error_clear(); callers pass the code up unchanged
 * and the command line turns it into a message and an exit code.
 */
#ifndef NMIG_ERROR_H
#define NMIG_ERROR_H

#include <stdarg.h>

enum nmig_code {
	NMIG_OK = 0,
	NMIG_ERROR = -1,	/* generic failure */
	NMIG_ENOMEM = -2,	/* out of memory */
	NMIG_EIO = -3,		/* a file could not be read or written */
	NMIG_EUSAGE = -4,	/* bad option or argument */
	NMIG_EINPUT = -5,	/* bad migration files: names, headers, SQL */
	NMIG_EGRAPH = -6,	/* bad revision graph: cycle, missing parent */
	NMIG_ENOTFOUND = -7,	/* target names no revision */
	NMIG_EAMBIGUOUS = -8,	/* target matches several revisions/heads */
	NMIG_ESTATE = -9,	/* database state refuses the operation */
	NMIG_ECONFIG = -10,	/* bad configuration or environment */
	NMIG_ECONNECT = -11,	/* could not connect, authenticate, TLS */
	NMIG_ESQL = -12,	/* a migration's SQL failed (rolled back) */
	NMIG_ELOCKED = -13,	/* another nmig holds the migration lock */
	NMIG_EEXISTS = -14,	/* something to be created exists already */
	NMIG_EPRODUCTION = -15,	/* refused in production without a flag */
	NMIG_EINTERRUPTED = -16, /* stopped by nmig_interrupt_request */
};

/*
 * The details of the last failure. Every string is NUL-terminated and
 * empty when not known; line and col are 0 when not known.
 */
struct nmig_error {
	int code;
	char message[2048];	/* primary: lower case, no full stop */
	char detail[2048];	/* secondary facts, may be several lines */
	char hint[1024];	/* what to do */
	char sqlstate[6];	/* from the server, when it failed there */
	char file[1024];	/* file the error is about */
	int line;		/* 1-based */
	int col;		/* 1-based, in characters */
	char source[1024];	/* the source line, when a location is known */
};

/*
 * Record a failure and return code, so that `return nmig_error_set(...)`
 * reads naturally. Clears detail, hint, sqlstate and location.
 */
int nmig_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Add a detail (appended on a new line if one exists) to the last error. */
void nmig_error_detail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Set the hint of the last error. */
void nmig_error_hint(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Set the SQLSTATE of the last error. */
void nmig_error_sqlstate(const char *sqlstate);

/*
 * Set the location of the last error. source, when not NULL, is the text
 * of the line (up to its newline) that the error points at.
 */
void nmig_error_location(const char *file, int line, int col,
			 const char *source);

/* The last error of this thread; never NULL. */
const struct nmig_error *nmig_error_last(void);

/*
 * Make saved (a copy of nmig_error_last() taken before a cleanup or
 * bookkeeping step that may fail too) the last error again, whole.
 * Returns its code.
 */
int nmig_error_restore(const struct nmig_error *saved);

/* Forget the last error. */
void nmig_error_clear(void);

/* A short name for a code, e.g. "input" for NMIG_EINPUT. */
const char *nmig_code_name(int code);

#endif
