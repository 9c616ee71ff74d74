/*
 * Creating revision files, shared by `nmig revision` and `nmig merge`:
 * choosing the id, the slug from the message, rendering templates, and
 * writing the up/down pair without ever overwriting a file.
 */
#ifndef NMIG_NEWREV_H
#define NMIG_NEWREV_H

#include "nmig.h"

#include "buf.h"

/* Room for an id made from the clock (YYYYMMDDHHMMSS) and its NUL. */
#define NMIG_NEWREV_ID_MAX 32

/* What a template may refer to as {{id}}, {{message}}, ... */
struct cli_newrev_vars {
	const char *id;
	const char *slug;
	const char *message;
	const char *parents; /* "base" or ids separated by spaces */
	int transactional;   /* 0: {{transaction}} is the header line */
	const char *date;    /* ISO 8601 UTC */
};

/*
 * The current time: NMIG_NOW (seconds since the epoch, for reproducible
 * tests) when set, else the clock. Fills date (ISO 8601 UTC, 21 bytes).
 */
long long cli_newrev_now(char date[32]);

/*
 * A fresh id from time now: UTC YYYYMMDDHHMMSS, moved on by one second
 * while it collides with a revision of graph (graph may be NULL).
 */
void cli_newrev_make_id(const struct nmig_graph *graph, long long now,
			char out[NMIG_NEWREV_ID_MAX]);

/*
 * Check an id given with --rev-id: not empty, no '_', '/', ',', ':',
 * whitespace or control characters, not a target word, and not taken.
 * NMIG_EUSAGE / NMIG_EEXISTS with the error set.
 */
int cli_newrev_check_id(const struct nmig_graph *graph, const char *id);

/*
 * Check a message: one line of UTF-8 text without control characters, not
 * blank. NMIG_EUSAGE with the error set.
 */
int cli_newrev_check_message(const char *message);

/*
 * The slug of a message: lower-case ASCII letters and digits, every other
 * run of bytes one '_', trimmed, at most 48 characters, "revision" when
 * nothing is left. malloc'ed; NULL when out of memory.
 */
char *cli_newrev_slug(const char *message);

/*
 * Render template text (named name in messages) into out. An unknown
 * {{placeholder}} is NMIG_ECONFIG naming name:line. A line holding only
 * {{transaction}} disappears when the revision is transactional.
 */
int cli_newrev_render(struct nmig_buf *out, const char *name, const char *tmpl,
		      const struct cli_newrev_vars *vars);

/*
 * Write <dir>/<id>_<slug>.up.sql and, when down is not NULL, .down.sql,
 * each created exclusively (never overwriting). On failure nothing is
 * left behind. *up_path and *down_path are malloc'ed (down NULL when no
 * down file).
 */
int cli_newrev_write(const char *dir, const char *id, const char *slug,
		     const char *up, const char *down, char **up_path,
		     char **down_path);

/*
 * Print what was created: the paths on stdout (one per line), or with
 * --json {"id", "message", "parents", "up", "down"}.
 */
void cli_newrev_print(struct cli_global *g, const char *id, const char *message,
		      const char *const *parents, size_t nparents,
		      const char *up_path, const char *down_path);

/*
 * Resolve the targets specs[0..nspecs-1] (or, with none and
 * heads_when_none, every head) to plan positions in plan order,
 * deduplicated. *out is malloc'ed (NULL when *n is 0). NMIG_OK, or the
 * resolution's error with the last error set.
 */
int cli_newrev_resolve(const struct nmig_graph *graph, const char *const *specs,
		       size_t nspecs, int heads_when_none, size_t **out,
		       size_t *n);

#endif
