/*
 * What the parts of the importer share (lib/import/): the reader that
 * collects revisions and findings, the text, file and directory helpers,
 * and one reader per source tool. Not a public header: import.h is.
 */
#ifndef NMIG_IMPORT_INTERNAL_H
#define NMIG_IMPORT_INTERNAL_H

#include "import.h"
#include "buf.h"
#include "config.h"
#include "error.h"
#include "hashmap.h"
#include "revfile.h"
#include "sqlscript.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RULE "import"
#define DEFAULT_SLUG "migration"
#define FORMATS_HELP                                                           \
	"diesel, golang-migrate (or flat), dbmate, goose, sourcegraph, auto"

/* One line of a text: p[0..len) without its "\n" or "\r\n". */
struct line {
	const char *p;
	size_t len;
	size_t off; /* byte offset of the line in the text */
	int no;	    /* 1-based */
};

struct entry {
	char *name;
	int kind; /* 'd' directory, 'f' regular file, else other */
};

struct listing {
	struct entry *items;
	size_t n;
};

/* A revision being read, with what only the reader needs. */
struct item {
	struct nmig_import_rev rev;
	char *origin;	 /* the file or directory it came from */
	char *order_key; /* the source tool's sort key */
	int numeric;	 /* order_key is a number_key */
	char *dup_key;	 /* equal for versions the tool takes as one */
	char *up_sql;	 /* SQL bytes, without nmig's header */
	size_t up_sql_len;
	char *down_sql; /* NULL: irreversible */
	size_t down_sql_len;
	char **src_parents; /* Sourcegraph: parent ids as written */
	size_t nsrc_parents;
	char *meta;	  /* Sourcegraph: the metadata.yaml path */
	int parents_line; /* and its `parents` line */
};

struct reader {
	const char *src;
	enum nmig_import_format format;
	struct nmig_diags *diags; /* may be NULL */
	int first;		  /* code of the first error, or 0 */
	struct nmig_error saved;  /* that error */
	struct item *items;
	size_t n, cap;
};

/* One file of a golang-migrate or flat up/down pair, as its name reads. */
struct half {
	const char *name; /* file name in the listing */
	size_t stem_len;  /* name without .up.sql / .down.sql */
	char kind;	  /* 'u' or 'd' */
	const char *id;	  /* within name */
	size_t idlen;
	const char *slug;
	size_t slen;
	char *num; /* number_key of the version */
};

/* lib/import/common.c */
struct item *imp_add_item(struct reader *r, char *origin);
int imp_blank_or_comment(const struct line *ln);
int imp_check_not_nmig(struct reader *r, const char *path, const char *sql,
		       size_t len);
size_t imp_digits_len(const char *s);
void imp_drop_last_item(struct reader *r);
char *imp_dupn(const char *s, size_t n);
int imp_ends_with(const char *s, const char *suffix);
int imp_fail(struct reader *r, int code, const char *file, int line,
	     const char *source, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
int imp_ignore_entry(struct reader *r, const char *name, const char *why);
int imp_is_digit(char c);
int imp_is_space(char c);
char *imp_join(const char *dir, const char *name);
const char *imp_line_text(const struct line *ln, char *buf, size_t cap);
int imp_list_dir(struct listing *out, const char *dir);
void imp_listing_release(struct listing *ls);
char imp_lower(char c);
int imp_next_line(const char *text, size_t len, size_t *pos, struct line *ln);
void imp_notef(struct reader *r, enum nmig_severity sev, const char *file,
	       int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int imp_number_cmp(const char *a, const char *b);
char *imp_number_key(const char *s, size_t n);
int imp_oom(void);
int imp_path_kind(const char *path);
int imp_read_source(struct reader *r, const char *path, char **text,
		    size_t *len);
int imp_read_up_down(struct reader *r, struct item *it, char **up, char **down,
		     const char *hint);
void imp_reader_release(struct reader *r);
void imp_restore_error(const struct nmig_error *e);
void imp_rev_release(struct nmig_import_rev *rev);
int imp_set_names(struct reader *r, struct item *it, const char *id,
		  size_t idlen, const char *slug, size_t slen);

/* lib/import/diesel.c */
int imp_read_diesel(struct reader *r, const struct listing *ls);

/* lib/import/flat.c */
int imp_flat_name(const char *name, struct half *h);
int imp_read_flat(struct reader *r, const struct listing *ls);

/* lib/import/single.c */
int imp_dbmate_marker(const struct line *ln, const char **opts, size_t *optlen);
int imp_goose_annotation(const struct line *ln, char *ann, size_t cap);
int imp_read_dbmate(struct reader *r, const struct listing *ls);
int imp_read_goose(struct reader *r, const struct listing *ls);

/* lib/import/sourcegraph.c */
int imp_order_sourcegraph(struct reader *r);
int imp_read_sourcegraph(struct reader *r, const struct listing *ls);

/* lib/import/import.c */
int imp_order_cmp(const struct item *a, const struct item *b);

#endif
