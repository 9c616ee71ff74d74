/*
 * Diagnostics: findings that do not stop the work at once (warnings, and the
 * errors a check collects so it can report them all). The library appends
 * them to a list that the caller prints; it never prints them itself.
 */
#ifndef NMIG_DIAG_H
#define NMIG_DIAG_H

#include <stddef.h>

enum nmig_severity {
	NMIG_SEV_NOTE = 0,
	NMIG_SEV_WARNING = 1,
	NMIG_SEV_ERROR = 2,
};

struct nmig_diag {
	enum nmig_severity severity;
	int code;		/* NMIG_E* that the finding would fail with */
	char *rule;		/* stable name, e.g. "sql-syntax"; never NULL */
	char *file;		/* may be NULL */
	int line, col;		/* 0 when unknown */
	char *message;		/* lower case, no full stop */
	char *source;		/* the source line, may be NULL */
	char *hint;		/* may be NULL */
};

struct nmig_diags {
	struct nmig_diag *items;
	size_t n, cap;
	size_t errors, warnings;
};

#define NMIG_DIAGS_INIT { NULL, 0, 0, 0, 0 }

void nmig_diags_init(struct nmig_diags *d);
void nmig_diags_release(struct nmig_diags *d);

/*
 * Append a finding; returns the new item (so a caller may fill file, line,
 * col, source, hint with nmig_diag_set_*), or NULL when out of memory.
 */
struct nmig_diag *nmig_diags_add(struct nmig_diags *d,
				 enum nmig_severity severity, int code,
				 const char *rule, const char *file, int line,
				 int col, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

/* Copy the current line of text (up to newline) as the source of diag. */
void nmig_diag_set_source(struct nmig_diag *diag, const char *line_start);
void nmig_diag_set_hint(struct nmig_diag *diag, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Turn the last error (nmig_error_last) into an error diagnostic; used by
 * checks that collect every finding instead of stopping at the first.
 */
void nmig_diags_add_last_error(struct nmig_diags *d, const char *rule);

/* The code of the first error-severity finding, or NMIG_OK. */
int nmig_diags_first_error(const struct nmig_diags *d);

/*
 * Make the first error-severity finding at index from or later the last
 * error (code, message, file, line, col, source, hint) and return its
 * code, or NMIG_OK when there is none. A check that collects every finding
 * ends with `return nmig_diags_raise(diags, first_index);` so that its
 * return value and nmig_error_last() describe the first problem.
 */
int nmig_diags_raise(const struct nmig_diags *d, size_t from);

#endif
