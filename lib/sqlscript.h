/*
 * The SQL body of a migration file, parsed with libpg_query (the real
 * PostgreSQL parser): statements split with their byte offsets and checked
 * before anything touches a database.
 */
#ifndef NMIG_SQLSCRIPT_H
#define NMIG_SQLSCRIPT_H

#include <stddef.h>

#include "diag.h"

enum nmig_stmt_flags {
	NMIG_STMT_TXCONTROL = 1 << 0,	/* BEGIN, COMMIT, SAVEPOINT, ... */
	NMIG_STMT_NO_TX = 1 << 1,	/* cannot run in a transaction block */
	NMIG_STMT_UNPARSED = 1 << 2,	/* the bundled parser did not know it */
	NMIG_STMT_COPY_STDIN = 1 << 3,	/* COPY ... FROM STDIN: psql's data
					 * stream, which a migration lacks */
};

struct nmig_stmt {
	size_t offset;		/* byte offset in the file text */
	size_t len;		/* bytes, without the trailing ';' */
	int line, col;		/* 1-based position of the first token */
	unsigned flags;
	char *kind;		/* parse-tree node name, e.g. "IndexStmt" */
	const char *what;	/* static: readable name of a TXCONTROL,
				 * NO_TX or COPY_STDIN statement ("COMMIT", "CREATE INDEX
				 * CONCURRENTLY"), else NULL */
};

struct nmig_script {
	char *path;
	char *text;		/* the file's bytes, NUL-terminated */
	size_t len;
	struct nmig_stmt *stmts;
	size_t n;
	int parse_ok;		/* 0 when the parser refused the text */
};

/*
 * Read path (up to cap bytes) and split it into statements. A file that
 * the parser refuses is still split with the scanner so that offsets are
 * known; parse_ok tells which happened. Binary garbage (NUL bytes, invalid
 * UTF-8) is NMIG_EINPUT naming the file and line.
 */
int nmig_script_load(struct nmig_script *out, const char *path, size_t cap);

/*
 * Read path (up to cap bytes) as nmig_script_load does, without splitting
 * it: text, len and path only (n = 0), for text that was checked before
 * and is only copied now (a streamed offline script).
 */
int nmig_script_read(struct nmig_script *out, const char *path, size_t cap);

/* The same from text already in memory (copied). */
int nmig_script_from_text(struct nmig_script *out, const char *path,
			  const char *text, size_t len);

void nmig_script_release(struct nmig_script *script);

/*
 * Where the SQL starts in script's text: 3 after a UTF-8 byte order mark
 * (which is no SQL: the server would refuse it), else 0. Text sent to a
 * server or written into a script starts there; checksums stay over the
 * whole file.
 */
size_t nmig_script_body(const struct nmig_script *script);

/*
 * Check the script: syntax errors (file:line:col with the source line),
 * transaction control in a transactional migration, statements that cannot
 * run in a transaction block in a transactional migration (the hint says to
 * add `-- nmig:transaction off`). Syntax the bundled parser does not know is
 * a warning. Findings go to diags; returns NMIG_OK or NMIG_EINPUT when an
 * error was found.
 */
int nmig_script_check(const struct nmig_script *script, int transactional,
		      struct nmig_diags *diags);

/* 1-based line and column (in characters) of byte offset off in text. */
void nmig_text_linecol(const char *text, size_t len, size_t off, int *line,
		       int *col);

/* Pointer to the start of the line holding byte offset off. */
const char *nmig_text_line_start(const char *text, size_t off);

/*
 * Check that text is UTF-8 without NUL bytes. Returns NMIG_OK, or
 * NMIG_EINPUT with the last error naming path, line and column of the
 * first bad byte. Linear in len; used for every migration file.
 */
int nmig_text_check_encoding(const char *path, const char *text, size_t len);

/*
 * Length (1 to 4) of the valid UTF-8 sequence at s, of which n bytes may
 * be read, or 0 when the bytes there are not one (a bad lead byte, a
 * truncated sequence, an overlong form, a UTF-16 surrogate, beyond
 * U+10FFFF). *cp (when cp is not NULL) receives the code point. For a
 * NUL-terminated string n may be SIZE_MAX: reading stops at the NUL.
 */
size_t nmig_text_utf8_seq(const unsigned char *s, size_t n, unsigned *cp);

#endif
