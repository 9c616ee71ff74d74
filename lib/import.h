/*
 * Import: histories written for other migration tools converted into nmig's
 * revision files. A source directory is read whole and checked before
 * anything is written: every revision keeps its id (the source tool's
 * version as written), its name and its SQL byte for byte; nmig's header is
 * prepended to the up file and always carries explicit parents, which
 * reproduce the source tool's own order (nmig's implicit id order may
 * differ: Diesel compares versions with dashes removed, Sourcegraph has a
 * DAG). Single-file formats (dbmate, goose) are split at their down marker
 * so that the up file's SQL followed by the down file is the source file.
 * The layouts, ordering rules and naming choices are in docs/import.md.
 */
#ifndef NMIG_IMPORT_H
#define NMIG_IMPORT_H

#include <stddef.h>

#include "diag.h"

enum nmig_import_format {
	NMIG_IMPORT_AUTO = 0,	 /* detect from the directory */
	NMIG_IMPORT_DIESEL,	 /* <version>_<name>/up.sql, down.sql,
				  * metadata.toml */
	NMIG_IMPORT_FLAT,	 /* golang-migrate: <n>_<name>.up.sql, and
				  * V<n>.<Name>.up.sql */
	NMIG_IMPORT_DBMATE,	 /* <n>_<name>.sql, -- migrate:up/down */
	NMIG_IMPORT_GOOSE,	 /* <n>_<name>.sql, -- +goose Up/Down */
	NMIG_IMPORT_SOURCEGRAPH, /* <id>_<name>/{up.sql,down.sql,
				  * metadata.yaml} */
};

/* One revision as it will be written. */
struct nmig_import_rev {
	char *id;	/* nmig id: the source version as written */
	char *slug;	/* the rest of the output name */
	char *message;	/* written as `-- nmig:message`, or NULL */
	char **parents; /* ids; empty for a root */
	size_t nparents;
	int transactional; /* 0: `-- nmig:transaction off` written */
	char *up_source;   /* source file of the up SQL */
	char *down_source; /* source file of the down SQL, or NULL */
	char *up_name;	   /* output file name, <id>_<slug>.up.sql */
	char *down_name;   /* NULL when the revision is irreversible */
	char *up_text;	   /* the whole up file: header, then the SQL */
	size_t up_len;
	size_t header_len; /* bytes of up_text taken by the header */
	int header_lines;  /* lines taken by the header */
	char *down_text;   /* the whole down file (no header), or NULL */
	size_t down_len;
	size_t up_offset;   /* where the up SQL starts in up_source */
	size_t down_offset; /* where the down SQL starts in down_source */
};

struct nmig_import {
	enum nmig_import_format format; /* never AUTO once read */
	char *src;
	struct nmig_import_rev *revs; /* in the source tool's order
				       * (Sourcegraph: parents first, ties
				       * by id) */
	size_t n;
};

/* Flags of nmig_import_write. */
enum nmig_import_flags {
	NMIG_IMPORT_FORCE = 1 << 0,   /* write into a non-empty directory */
	NMIG_IMPORT_DRY_RUN = 1 << 1, /* check the directory, write nothing */
};

/*
 * Parse a --from value: diesel, golang-migrate (alias flat), dbmate,
 * goose, sourcegraph, auto. Anything else is NMIG_EUSAGE listing them.
 */
int nmig_import_format_parse(enum nmig_import_format *out, const char *name);

/* The canonical name of a format ("golang-migrate" for FLAT). */
const char *nmig_import_format_name(enum nmig_import_format format);

/*
 * Detect the layout of src from its names and markers. No match is
 * NMIG_EINPUT; several are NMIG_EAMBIGUOUS listing each format with the
 * file that matched it. An unreadable src is NMIG_EIO.
 */
int nmig_import_detect(enum nmig_import_format *out, const char *src);

/*
 * Read the history in src (format AUTO: detected first) into out, in the
 * source tool's order, with headers and output names made. Every bad file
 * is appended to diags (may be NULL) as an error naming the file and,
 * where known, the line, and the reading goes on so that all of them are
 * reported; files skipped as not being migrations are warnings, and
 * transaction choices made from the SQL are notes. Returns NMIG_OK when no
 * error was found, else the first error's code with the last error set
 * to it; out is then empty. An empty history is NMIG_EINPUT.
 */
int nmig_import_read(struct nmig_import *out, const char *src,
		     enum nmig_import_format format, struct nmig_diags *diags);

/* Free everything imp owns; *imp is left empty. */
void nmig_import_release(struct nmig_import *imp);

/*
 * Check that dest may receive imp: it is created (with its parents) when
 * missing; an existing dest holding anything but hidden files is
 * NMIG_EEXISTS unless NMIG_IMPORT_FORCE; even with it, a revision file of
 * another name that has an imported id is NMIG_EEXISTS. With
 * NMIG_IMPORT_DRY_RUN nothing is created.
 */
int nmig_import_check_dest(const struct nmig_import *imp, const char *dest,
			   unsigned flags);

/*
 * Check dest (as nmig_import_check_dest) and write every file of imp into
 * it, up then down, in imp's order; each file goes to a hidden temporary
 * name first and is then renamed into place, so no half-written migration
 * is ever visible. *written (may be NULL) receives how many files were
 * written, also on failure. With NMIG_IMPORT_DRY_RUN only the check runs.
 */
int nmig_import_write(const struct nmig_import *imp, const char *dest,
		      unsigned flags, size_t *written);

#endif
