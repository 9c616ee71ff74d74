/*
 * Revision files: the migrations directory scanned into revisions.
 *
 * A revision is `<id>_<slug>.up.sql` plus an optional `<id>_<slug>.down.sql`
 * (absent = irreversible). The header is the leading `-- nmig:` comment lines
 * of the up file: parents, message, transaction, lint-ignore. Loading reads
 * every file (for its checksum) but parses only the header, never the SQL
 * body; see sqlscript.h for the body.
 */
#ifndef NMIG_REVFILE_H
#define NMIG_REVFILE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "diag.h"

/* Default cap on one migration file's size (64 MiB). */
#define NMIG_MAX_FILE_SIZE ((size_t)64 << 20)
#define NMIG_SHA256_HEX 65

struct nmig_file_info {
	char *path;		/* as opened: dir + "/" + name */
	char checksum[NMIG_SHA256_HEX];	/* hex SHA-256, CRLF folded to LF */
	off_t size;
	long long mtime_ns;
	unsigned long long inode;
};

struct nmig_revision {
	char *id;		/* the name before the first '_' */
	char *slug;		/* the rest of the name, without .up.sql */
	char *message;		/* header message, else slug with '_' as ' ' */
	char **parents;		/* ids; empty for a root */
	size_t nparents;
	int parents_explicit;	/* 1: from a `parents` header line */
	int transactional;	/* 0 with `-- nmig:transaction off` */
	char **lint_ignore;	/* rule names from `lint-ignore` */
	size_t nlint_ignore;
	int header_lines;	/* lines taken by the header */
	/* which strings live in the owning revset's pool (never freed one by
	 * one): NMIG_REV_POOL_NAMES id, slug and paths; NMIG_REV_POOL_HEADER
	 * message, parents and lint_ignore (lists and their words) */
	unsigned pooled;
	struct nmig_file_info up;
	struct nmig_file_info down;	/* path NULL: irreversible */
};

#define NMIG_REV_POOL_NAMES 1u
#define NMIG_REV_POOL_HEADER 2u

struct nmig_strpool;

struct nmig_revset {
	char *dir;
	struct nmig_strpool *pool;	/* the revisions' pooled strings */
	struct nmig_revision *revs;	/* sorted by id (nmig_id_cmp) */
	size_t n;
};

/*
 * Compare two revision ids: numerically when both are all digits (any
 * length, leading zeros ignored, ties broken as text), else as bytes.
 */
int nmig_id_cmp(const char *a, const char *b);

/* 1 when s is a non-empty run of ASCII digits (a numeric id, a count). */
int nmig_id_is_digits(const char *s);

/*
 * Scan dir for revision files, read each up and down file, compute
 * checksums, and parse headers. Files with no `parents` line get the
 * revision before them in id order as parent (the first one none).
 * Every bad file is appended to diags as an error (the scan goes on, so
 * that check can report all of them); the return is NMIG_OK when no error
 * was found, else the first error's code (NMIG_EINPUT, NMIG_EIO) with the
 * last error set. Files that are not migrations (README, .gitkeep) are
 * ignored; a down file without an up file is an error.
 * On failure out still holds every revision that could be identified (a
 * duplicate id keeps its first file), so that a check can go on to the
 * graph; release out with nmig_revset_release in every case. diags may
 * be NULL. Warnings (an empty up file, a `-- nmig:` line after the
 * header) go to diags without failing the load.
 */
int nmig_revset_load(struct nmig_revset *out, const char *dir,
		     struct nmig_diags *diags);

/*
 * What a load may ask of a store of earlier loads, keyed by a file's name
 * (relative to the directory) and its identity (size, mtime, inode). The
 * plan cache is one (nmig_revset_load_cached, cache.h); the loader knows
 * only this table, so revision files depend on no cache. Every function
 * gets ud. begin and end bracket every lookup and store of one load;
 * scan_open and scan_close bracket lookups made in name order (a store
 * may serve them in one pass). get returns NMIG_OK on a hit, filling
 * checksum_out and, when rev_out is not NULL (an up file), the header as
 * malloc'ed copies (nmig_revision_release); NMIG_ENOMEM; anything else is
 * a miss. put stores a file that loaded without findings (rev NULL for a
 * down file); its failure only costs a later read.
 */
struct nmig_revfile_store {
	void *ud;
	void (*begin)(void *ud);
	void (*end)(void *ud);
	int (*scan_open)(void *ud);
	void (*scan_close)(void *ud);
	int (*get)(void *ud, const char *name, const struct stat *st,
		   struct nmig_revision *rev_out,
		   char checksum_out[NMIG_SHA256_HEX], int is_up);
	int (*put)(void *ud, const char *name, const struct stat *st,
		   const struct nmig_revision *rev,
		   const char checksum[NMIG_SHA256_HEX], int is_up);
};

/*
 * nmig_revset_load with a store (NULL: none): each file is stat'ed and
 * looked up before it is read; a hit gives its checksum and, for an up
 * file, its header, so the file is not opened at all. A miss reads,
 * hashes and parses the file as nmig_revset_load does and puts the result
 * (the header as parsed, before implicit parents are filled in) when the
 * file loaded without any finding and its header message cannot hold a
 * secret (secret.h): files with errors or warnings are always read again.
 * The result (out, diags, return value) is nmig_revset_load's whatever
 * the store holds.
 */
int nmig_revset_load_store(struct nmig_revset *out, const char *dir,
			   const struct nmig_revfile_store *store,
			   struct nmig_diags *diags);

/* Free everything a revset owns; *set is left empty. */
void nmig_revset_release(struct nmig_revset *set);

/* Release one revision's strings (used by revset and tests). */
void nmig_revision_release(struct nmig_revision *rev);

/*
 * Parse the header of an up file's text into rev (parents, message,
 * transactional, lint_ignore, header_lines). path is for messages only.
 * Unknown keys and malformed lines are NMIG_EINPUT naming path:line.
 */
int nmig_revision_parse_header(struct nmig_revision *rev, const char *path,
			       const char *text, size_t len);

/*
 * Split a file name into id and slug. Returns 1 and sets *kind to 'u' or
 * 'd' for `<id>_<slug>.up.sql` / `.down.sql`, 0 for a name that is not a
 * migration at all, and NMIG_EINPUT for a name that looks like one but is
 * malformed (no id, empty id). id and slug are malloc'ed.
 */
int nmig_revfile_parse_name(const char *name, char **id, char **slug,
			    char *kind);

struct stat;

/* st's modification time in nanoseconds. */
long long nmig_stat_mtime_ns(const struct stat *st);

/* Record st's identity (size, mtime, inode) in fi. */
void nmig_file_info_identity(struct nmig_file_info *fi, const struct stat *st);

/* Nonzero when st has the identity recorded in fi. */
int nmig_file_info_same(const struct nmig_file_info *fi, const struct stat *st);

/* SHA-256 hex of data with each CRLF folded to LF. */
void nmig_checksum(const void *data, size_t len, char out[NMIG_SHA256_HEX]);

#endif
