/*
 * The SQL body of a migration, split and checked with libpg_query (the
 * PostgreSQL 15 parser) before anything touches a database. Loading reads
 * the file, refuses binary garbage (NUL bytes, invalid UTF-8), and splits
 * the text into statements: when the whole text parses, the split is the
 * parser's (one per RawStmt), and each statement is classified from its
 * parse tree (transaction control; statements PostgreSQL refuses inside a
 * transaction block). When it does not parse, the text is split on the
 * scanner's tokens (semicolons outside parentheses and outside the
 * BEGIN ... END body of a SQL-standard function, as psql does) and each
 * piece is parsed on its own, so that the pieces that parse are still
 * classified and the others are flagged NMIG_STMT_UNPARSED. Offsets, lines
 * and columns point at a statement's first token, never at the comments
 * before it.
 *
 * Newer syntax: the bundled parser knows PostgreSQL 15, and a migration may
 * use syntax of a newer server. A statement the parser refuses is a syntax
 * error unless the text matches one of a short explicit list of markers of
 * newer syntax (MERGE ... RETURNING, JSON_TABLE, WITHOUT OVERLAPS, ...; see
 * newer_syntax below) and the parser's error position lies inside that
 * marker (or on the token just after it, or inside the parentheses that
 * follow a function-like marker); then it is a warning and the statement is
 * left for the server to check. Text the scanner itself refuses
 * (unterminated quotes, dollar quotes or comments) is always an error.
 */
#include "sqlscript.h"
#include "buf.h"
#include "array_internal.h"
#include "error.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Where the incremental line/column counter stands in a text. */
struct cursor {
	size_t pos;
	int line, col;
};

/* State of one split: the text given to pg_query and its tokens. */
struct splitter {
	struct nmig_script *sc;
	const char *q; /* text handed to pg_query (after a BOM) */
	size_t qlen;
	size_t base;		   /* offset of q in sc->text */
	PgQuery__ScanResult *scan; /* NULL when the scanner refused q */
	size_t tok;		   /* next token to look at */
	size_t cap;		   /* allocated entries of sc->stmts */
	struct cursor cur;
	struct nmig_buf piece; /* one statement, NUL-terminated */
	char **slotless;       /* subscriptions set to slot_name = NONE */
	size_t nslotless;
};

#define UTF8_BOM "\xEF\xBB\xBF"

/* 1 for a -- or a block comment token. */
static int is_comment(const PgQuery__ScanToken *t)
{
	return t->token == PG_QUERY__TOKEN__SQL_COMMENT ||
	       t->token == PG_QUERY__TOKEN__C_COMMENT;
}

/* 1 for a ";" token. */
static int is_semicolon(const PgQuery__ScanToken *t)
{
	return t->token == PG_QUERY__TOKEN__ASCII_59;
}

/* Advance c to byte offset off of text (off >= c->pos), counting UTF-8
 * characters for the column. */
static void cursor_to(struct cursor *c, const char *text, size_t off)
{
	for (; c->pos < off; c->pos++) {
		unsigned char ch = (unsigned char)text[c->pos];

		if (ch == '\n') {
			c->line++;
			c->col = 1;
		} else if ((ch & 0xC0) != 0x80) {
			c->col++;
		}
	}
}

/* A cursor at the start of text: after a UTF-8 BOM, which no editor
 * shows as a column. */
static void cursor_init(struct cursor *c, const char *text, size_t len)
{
	c->pos = len >= 3 && memcmp(text, UTF8_BOM, 3) == 0 ? 3 : 0;
	c->line = 1;
	c->col = 1;
}

void nmig_text_linecol(const char *text, size_t len, size_t off, int *line,
		       int *col)
{
	struct cursor c;

	cursor_init(&c, text, len);
	if (off > len)
		off = len;
	if (off > c.pos)
		cursor_to(&c, text, off);
	*line = c.line;
	*col = c.col;
}

const char *nmig_text_line_start(const char *text, size_t off)
{
	const char *p = text + off;

	while (p > text && p[-1] != '\n')
		p--;
	return p;
}

/* nmig_text_utf8_seq: see sqlscript.h. */
size_t nmig_text_utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned v;
	size_t need, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		need = 0;
		v = s[0];
	} else if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		need = 1;
		v = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		need = 2;
		v = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		need = 3;
		v = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n <= need)
		return 0;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if ((need == 2 && v < 0x800) || (need == 3 && v < 0x10000) ||
	    (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF)
		return 0; /* overlong, UTF-16 surrogate, beyond U+10FFFF */
	if (cp)
		*cp = v;
	return need + 1;
}

int nmig_text_check_encoding(const char *path, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, n;
	int line, col;

	while (i < len) {
		if (s[i] >= 0x01 && s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] == 0) {
			nmig_text_linecol(text, len, i, &line, &col);
			nmig_error_set(NMIG_EINPUT,
				       "NUL byte in a migration file (binary "
				       "garbage?)");
			nmig_error_location(path, line, col, NULL);
			nmig_error_hint("migration files must be UTF-8 text");
			return NMIG_EINPUT;
		}
		n = nmig_text_utf8_seq(s + i, len - i, NULL);
		if (!n) {
			nmig_text_linecol(text, len, i, &line, &col);
			nmig_error_set(NMIG_EINPUT,
				       "invalid UTF-8 (byte 0x%02x) in a "
				       "migration file",
				       s[i]);
			nmig_error_location(path, line, col, NULL);
			nmig_error_hint("save the file as UTF-8 text");
			return NMIG_EINPUT;
		}
		i += n;
	}
	return NMIG_OK;
}

/* Byte length of the first nchars characters of s (at most len). */
static size_t chars_to_bytes(const char *s, size_t len, size_t nchars)
{
	size_t i = 0;

	while (i < len && nchars) {
		i++;
		while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
		nchars--;
	}
	return i;
}

/* 1 when token t of q is word, case-insensitively. */
static int word_eq(const char *q, const PgQuery__ScanToken *t, const char *word)
{
	size_t n = (size_t)(t->end - t->start);

	return strlen(word) == n && strncasecmp(q + t->start, word, n) == 0;
}

/* The parse-tree node name of node, e.g. "IndexStmt" (malloc'ed). */
static char *node_kind(const PgQuery__Node *node)
{
	const ProtobufCFieldDescriptor *f;
	const ProtobufCMessageDescriptor *m;

	f = protobuf_c_message_descriptor_get_field(&pg_query__node__descriptor,
						    (unsigned)node->node_case);
	if (!f || !f->descriptor)
		return strdup("Node");
	m = f->descriptor;
	return strdup(m->short_name);
}

/* The first DefElem of a list named name, or NULL. */
static const PgQuery__DefElem *find_opt(PgQuery__Node **opts, size_t n,
					const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (opts[i]->node_case == PG_QUERY__NODE__NODE_DEF_ELEM &&
		    opts[i]->def_elem->defname &&
		    strcmp(opts[i]->def_elem->defname, name) == 0)
			return opts[i]->def_elem;
	return NULL;
}

/*
 * The boolean value of option name in a DefElem list: dflt when absent,
 * true for a bare option (WITH (create_slot)).
 */
static int opt_bool(PgQuery__Node **opts, size_t n, const char *name, int dflt)
{
	const PgQuery__DefElem *d = find_opt(opts, n, name);
	const char *s;

	if (!d)
		return dflt;
	if (!d->arg)
		return 1;
	switch (d->arg->node_case) {
	case PG_QUERY__NODE__NODE_BOOLEAN:
		return d->arg->boolean->boolval != 0;
	case PG_QUERY__NODE__NODE_INTEGER:
		return d->arg->integer->ival != 0;
	case PG_QUERY__NODE__NODE_STRING:
		s = d->arg->string->sval;
		return !(strcasecmp(s, "false") == 0 ||
			 strcasecmp(s, "off") == 0 ||
			 strcasecmp(s, "no") == 0 || strcmp(s, "0") == 0);
	default:
		return 1;
	}
}

/* The string value of option name in a DefElem list, or NULL. */
static const char *opt_str(PgQuery__Node **opts, size_t n, const char *name)
{
	const PgQuery__DefElem *d = find_opt(opts, n, name);

	if (!d)
		return NULL;
	if (d->arg && d->arg->node_case == PG_QUERY__NODE__NODE_STRING)
		return d->arg->string->sval;
	return "";
}

/* 1 when option name is in the DefElem list. */
static int has_option(PgQuery__Node **opts, size_t n, const char *name)
{
	return opt_str(opts, n, name) != NULL;
}

/* The readable name of a transaction statement kind. */
static const char *tx_what(PgQuery__TransactionStmtKind kind)
{
	switch (kind) {
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN:
		return "BEGIN";
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START:
		return "START TRANSACTION";
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT:
		return "COMMIT";
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK:
		return "ROLLBACK";
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_SAVEPOINT:
		return "SAVEPOINT";
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_RELEASE:
		return "RELEASE SAVEPOINT";
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_TO:
		return "ROLLBACK TO SAVEPOINT";
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_PREPARE:
		return "PREPARE TRANSACTION";
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT_PREPARED:
		return "COMMIT PREPARED";
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_PREPARED:
		return "ROLLBACK PREPARED";
	default:
		return "transaction control";
	}
}

/* 1 when subscription name was set to slot_name = NONE earlier. */
static int slotless_has(const struct splitter *sp, const char *name)
{
	size_t i;

	for (i = 0; i < sp->nslotless; i++)
		if (strcmp(sp->slotless[i], name) == 0)
			return 1;
	return 0;
}

/* Remember that subscription name has no replication slot any more. */
static int slotless_add(struct splitter *sp, const char *name)
{
	char **p;

	if (slotless_has(sp, name))
		return NMIG_OK;
	p = realloc(sp->slotless, (sp->nslotless + 1) * sizeof(*p));
	if (!p)
		return NMIG_ENOMEM;
	sp->slotless = p;
	p[sp->nslotless] = strdup(name);
	if (!p[sp->nslotless])
		return NMIG_ENOMEM;
	sp->nslotless++;
	return NMIG_OK;
}

/*
 * Flags of one parsed statement: transaction control, or a statement that
 * PostgreSQL runs only outside a transaction block (each case is a
 * PreventInTransactionBlock call in the server). *what names it readably.
 * first is the statement's first word, to tell END from COMMIT.
 */
static unsigned classify(struct splitter *sp, const PgQuery__Node *node,
			 const char *first, size_t firstlen, const char **what)
{
	const PgQuery__ReindexStmt *ri;
	const PgQuery__CreateSubscriptionStmt *cs;
	const PgQuery__AlterSubscriptionStmt *as;
	const PgQuery__AlterTableCmd *cmd;
	const char *slot;
	size_t i;

	*what = NULL;
	switch (node->node_case) {
	case PG_QUERY__NODE__NODE_TRANSACTION_STMT:
		*what = tx_what(node->transaction_stmt->kind);
		if (firstlen == 3 && strncasecmp(first, "END", 3) == 0)
			*what = "END";
		else if (firstlen == 5 && strncasecmp(first, "ABORT", 5) == 0)
			*what = "ABORT";
		return NMIG_STMT_TXCONTROL;
	case PG_QUERY__NODE__NODE_INDEX_STMT:
		if (node->index_stmt->concurrent)
			*what = "CREATE INDEX CONCURRENTLY";
		break;
	case PG_QUERY__NODE__NODE_DROP_STMT:
		if (node->drop_stmt->concurrent)
			*what = "DROP INDEX CONCURRENTLY";
		break;
	case PG_QUERY__NODE__NODE_REINDEX_STMT:
		ri = node->reindex_stmt;
		if (opt_bool(ri->params, ri->n_params, "concurrently", 0))
			*what = "REINDEX CONCURRENTLY";
		else if (ri->kind ==
			 PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_SCHEMA)
			*what = "REINDEX SCHEMA";
		else if (ri->kind ==
			 PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_SYSTEM)
			*what = "REINDEX SYSTEM";
		else if (ri->kind ==
			 PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_DATABASE)
			*what = "REINDEX DATABASE";
		break;
	case PG_QUERY__NODE__NODE_VACUUM_STMT:
		if (node->vacuum_stmt->is_vacuumcmd)
			*what = "VACUUM";
		break;
	case PG_QUERY__NODE__NODE_CREATEDB_STMT:
		*what = "CREATE DATABASE";
		break;
	case PG_QUERY__NODE__NODE_DROPDB_STMT:
		*what = "DROP DATABASE";
		break;
	case PG_QUERY__NODE__NODE_ALTER_SYSTEM_STMT:
		*what = "ALTER SYSTEM";
		break;
	case PG_QUERY__NODE__NODE_CREATE_TABLE_SPACE_STMT:
		*what = "CREATE TABLESPACE";
		break;
	case PG_QUERY__NODE__NODE_DROP_TABLE_SPACE_STMT:
		*what = "DROP TABLESPACE";
		break;
	case PG_QUERY__NODE__NODE_ALTER_DATABASE_STMT:
		if (has_option(node->alter_database_stmt->options,
			       node->alter_database_stmt->n_options,
			       "tablespace"))
			*what = "ALTER DATABASE ... SET TABLESPACE";
		break;
	case PG_QUERY__NODE__NODE_CLUSTER_STMT:
		if (!node->cluster_stmt->relation)
			*what = "CLUSTER without a table name";
		break;
	case PG_QUERY__NODE__NODE_DISCARD_STMT:
		if (node->discard_stmt->target ==
		    PG_QUERY__DISCARD_MODE__DISCARD_ALL)
			*what = "DISCARD ALL";
		break;
	case PG_QUERY__NODE__NODE_CREATE_SUBSCRIPTION_STMT:
		/* create_slot defaults to connect, which defaults to true */
		cs = node->create_subscription_stmt;
		if (opt_bool(
			cs->options, cs->n_options, "create_slot",
			opt_bool(cs->options, cs->n_options, "connect", 1)))
			*what = "CREATE SUBSCRIPTION";
		break;
	case PG_QUERY__NODE__NODE_ALTER_SUBSCRIPTION_STMT:
		as = node->alter_subscription_stmt;
		switch (as->kind) {
		case PG_QUERY__ALTER_SUBSCRIPTION_TYPE__ALTER_SUBSCRIPTION_REFRESH:
			*what = "ALTER SUBSCRIPTION ... REFRESH PUBLICATION";
			break;
		case PG_QUERY__ALTER_SUBSCRIPTION_TYPE__ALTER_SUBSCRIPTION_SET_PUBLICATION:
		case PG_QUERY__ALTER_SUBSCRIPTION_TYPE__ALTER_SUBSCRIPTION_ADD_PUBLICATION:
		case PG_QUERY__ALTER_SUBSCRIPTION_TYPE__ALTER_SUBSCRIPTION_DROP_PUBLICATION:
			if (opt_bool(as->options, as->n_options, "refresh", 1))
				*what = "ALTER SUBSCRIPTION ... PUBLICATION "
					"with refresh";
			break;
		case PG_QUERY__ALTER_SUBSCRIPTION_TYPE__ALTER_SUBSCRIPTION_OPTIONS:
			/* out of memory only makes a later DROP look unsafe */
			slot = opt_str(as->options, as->n_options, "slot_name");
			if (slot && strcasecmp(slot, "none") == 0)
				(void)slotless_add(sp, as->subname);
			break;
		default:
			break;
		}
		break;
	case PG_QUERY__NODE__NODE_DROP_SUBSCRIPTION_STMT:
		/* only a subscription without a slot drops in a transaction */
		if (!slotless_has(sp, node->drop_subscription_stmt->subname))
			*what = "DROP SUBSCRIPTION";
		break;
	case PG_QUERY__NODE__NODE_COPY_STMT:
		if (node->copy_stmt->is_from && !node->copy_stmt->is_program &&
		    (!node->copy_stmt->filename ||
		     !node->copy_stmt->filename[0])) {
			*what = "COPY ... FROM STDIN";
			return NMIG_STMT_COPY_STDIN;
		}
		break;
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
		for (i = 0; i < node->alter_table_stmt->n_cmds; i++) {
			if (node->alter_table_stmt->cmds[i]->node_case !=
			    PG_QUERY__NODE__NODE_ALTER_TABLE_CMD)
				continue;
			cmd = node->alter_table_stmt->cmds[i]->alter_table_cmd;
			if (cmd->subtype ==
				PG_QUERY__ALTER_TABLE_TYPE__AT_DetachPartition &&
			    cmd->def &&
			    cmd->def->node_case ==
				PG_QUERY__NODE__NODE_PARTITION_CMD &&
			    cmd->def->partition_cmd->concurrent)
				*what = "ALTER TABLE ... DETACH PARTITION "
					"CONCURRENTLY";
		}
		break;
	default:
		break;
	}
	return *what ? NMIG_STMT_NO_TX : 0;
}

/* Append a statement spanning q[start, end) to the script. */
static int add_stmt(struct splitter *sp, size_t start, size_t end,
		    unsigned flags, char *kind, const char *what)
{
	struct nmig_script *sc = sp->sc;
	struct nmig_stmt *st;

	if (nmig_array_grow(&sc->stmts, &sp->cap, sc->n + 1, sizeof(*sc->stmts),
			    16)) {
		free(kind);
		return NMIG_ENOMEM;
	}
	st = &sc->stmts[sc->n++];
	memset(st, 0, sizeof(*st));
	st->offset = sp->base + start;
	st->len = end - start;
	cursor_to(&sp->cur, sc->text, st->offset);
	st->line = sp->cur.line;
	st->col = sp->cur.col;
	st->flags = flags;
	st->kind = kind;
	st->what = what;
	return NMIG_OK;
}

/*
 * The real tokens (not comments, not ';') of the raw statement
 * q[loc, end): *first and *last token indexes. Tokens before loc are
 * skipped for good: statements come in order. 0 when there is none.
 */
static int stmt_tokens(struct splitter *sp, size_t loc, size_t end,
		       size_t *first, size_t *last)
{
	PgQuery__ScanToken **t = sp->scan->tokens;
	size_t n = sp->scan->n_tokens;
	int found = 0;

	while (sp->tok < n && (size_t)t[sp->tok]->start < loc)
		sp->tok++;
	for (; sp->tok < n && (size_t)t[sp->tok]->start < end; sp->tok++) {
		if (is_comment(t[sp->tok]) || is_semicolon(t[sp->tok]))
			continue;
		if (!found)
			*first = sp->tok;
		*last = sp->tok;
		found = 1;
	}
	return found;
}

/* Split and classify with the parse tree of the whole text. */
static int split_parsed(struct splitter *sp, const PgQueryProtobuf *pb)
{
	PgQuery__ParseResult *tree;
	PgQuery__ScanToken **t = sp->scan->tokens;
	const PgQuery__RawStmt *raw;
	size_t i, loc, end, first, last;
	const char *what;
	unsigned flags;
	char *kind;
	int rc = NMIG_OK;

	tree = pg_query__parse_result__unpack(NULL, pb->len,
					      (const uint8_t *)pb->data);
	if (!tree)
		return nmig_error_set(NMIG_ENOMEM,
				      "cannot decode the parse tree of '%s'",
				      sp->sc->path);
	for (i = 0; i < tree->n_stmts; i++) {
		raw = tree->stmts[i];
		loc = (size_t)raw->stmt_location;
		end = raw->stmt_len ? loc + (size_t)raw->stmt_len : sp->qlen;
		if (!raw->stmt || !stmt_tokens(sp, loc, end, &first, &last))
			continue;
		flags =
		    classify(sp, raw->stmt, sp->q + t[first]->start,
			     (size_t)(t[first]->end - t[first]->start), &what);
		kind = node_kind(raw->stmt);
		if (!kind) {
			rc = NMIG_ENOMEM;
			break;
		}
		rc = add_stmt(sp, (size_t)t[first]->start, (size_t)t[last]->end,
			      flags, kind, what);
		if (rc)
			break;
	}
	pg_query__parse_result__free_unpacked(tree, NULL);
	if (rc == NMIG_ENOMEM)
		nmig_error_set(rc, "out of memory splitting '%s'",
			       sp->sc->path);
	return rc;
}

/* Parse q[start, end) on its own and add it, classified or UNPARSED. */
static int add_piece(struct splitter *sp, size_t start, size_t end)
{
	PgQueryProtobufParseResult pr;
	PgQuery__ParseResult *tree = NULL;
	const char *what = NULL;
	unsigned flags = NMIG_STMT_UNPARSED;
	char *kind = NULL;
	size_t firstlen = 0;
	int rc;

	nmig_buf_clear(&sp->piece);
	nmig_buf_put(&sp->piece, sp->q + start, end - start);
	if (nmig_buf_oom(&sp->piece))
		return nmig_error_set(NMIG_ENOMEM,
				      "out of memory splitting "
				      "'%s'",
				      sp->sc->path);
	while (firstlen < end - start &&
	       ((unsigned char)sp->q[start + firstlen] >= 0x80 ||
		strchr(" \t\r\n(;", sp->q[start + firstlen]) == NULL))
		firstlen++;
	pr = pg_query_parse_protobuf(sp->piece.ptr);
	if (!pr.error)
		tree = pg_query__parse_result__unpack(
		    NULL, pr.parse_tree.len,
		    (const uint8_t *)pr.parse_tree.data);
	if (tree && tree->n_stmts && tree->stmts[0]->stmt) {
		flags = classify(sp, tree->stmts[0]->stmt, sp->q + start,
				 firstlen, &what);
		kind = node_kind(tree->stmts[0]->stmt);
		if (!kind) {
			flags = NMIG_STMT_UNPARSED;
			what = NULL;
		}
	}
	if (tree)
		pg_query__parse_result__free_unpacked(tree, NULL);
	pg_query_free_protobuf_parse_result(pr);
	rc = add_stmt(sp, start, end, flags, kind, what);
	if (rc)
		nmig_error_set(rc, "out of memory splitting '%s'",
			       sp->sc->path);
	return rc;
}

/*
 * Split on the scanner's tokens: a ';' ends a statement unless it is
 * inside parentheses (CREATE RULE ... (a; b)) or inside the BEGIN ... END
 * body of CREATE [OR REPLACE] FUNCTION|PROCEDURE, tracked the way psql
 * does (BEGIN and CASE open, END closes, at parenthesis depth 0).
 */
static int split_scanned(struct splitter *sp)
{
	PgQuery__ScanToken **t = sp->scan->tokens;
	size_t n = sp->scan->n_tokens, i, first = 0, last = 0;
	int have = 0, parens = 0, depth = 0, rc;
	size_t words = 0;
	char lead[4];
	const PgQuery__ScanToken *k;

	memset(lead, 0, sizeof(lead));
	for (i = 0; i < n; i++) {
		k = t[i];
		if (is_comment(k))
			continue;
		if (is_semicolon(k) && parens == 0 && depth == 0) {
			if (have && (rc = add_piece(sp, (size_t)t[first]->start,
						    (size_t)t[last]->end)))
				return rc;
			have = 0;
			words = 0;
			memset(lead, 0, sizeof(lead));
			continue;
		}
		if (!have)
			first = i;
		have = 1;
		last = i;
		if (k->token == PG_QUERY__TOKEN__ASCII_40)
			parens++;
		else if (k->token == PG_QUERY__TOKEN__ASCII_41 && parens > 0)
			parens--;
		if (k->keyword_kind == PG_QUERY__KEYWORD_KIND__NO_KEYWORD &&
		    (k->token != PG_QUERY__TOKEN__IDENT ||
		     sp->q[k->start] == '"'))
			continue;
		if (words < sizeof(lead) &&
		    (word_eq(sp->q, k, "create") || word_eq(sp->q, k, "or") ||
		     word_eq(sp->q, k, "replace") ||
		     word_eq(sp->q, k, "function") ||
		     word_eq(sp->q, k, "procedure")))
			lead[words] = (char)(sp->q[k->start] | 0x20);
		words++;
		if (lead[0] != 'c' || parens != 0)
			continue;
		if (!(lead[1] == 'f' || lead[1] == 'p' ||
		      (lead[1] == 'o' && lead[2] == 'r' &&
		       (lead[3] == 'f' || lead[3] == 'p'))))
			continue;
		if (word_eq(sp->q, k, "begin"))
			depth++;
		else if (word_eq(sp->q, k, "case") && depth >= 1)
			depth++;
		else if (word_eq(sp->q, k, "end") && depth > 0)
			depth--;
	}
	if (have)
		return add_piece(sp, (size_t)t[first]->start,
				 (size_t)t[last]->end);
	return NMIG_OK;
}

/*
 * The scanner refused the text (an unterminated quote or comment): keep it
 * as one unparsed statement from the first non-blank byte to the last, so
 * that it still has an offset; check reports the scanner's error.
 */
static int split_unscannable(struct splitter *sp)
{
	size_t start = 0, end = sp->qlen;

	while (start < end && strchr(" \t\r\n\f", sp->q[start]))
		start++;
	while (end > start && strchr(" \t\r\n\f", sp->q[end - 1]))
		end--;
	if (start == end)
		return NMIG_OK;
	if (add_stmt(sp, start, end, NMIG_STMT_UNPARSED, NULL, NULL))
		return nmig_error_set(NMIG_ENOMEM,
				      "out of memory splitting "
				      "'%s'",
				      sp->sc->path);
	return NMIG_OK;
}

/* Take ownership of text (len bytes, NUL-terminated) and split it. */
static int script_from_owned(struct nmig_script *out, const char *path,
			     char *text, size_t len)
{
	struct splitter sp;
	PgQueryScanResult scan;
	PgQueryProtobufParseResult pr;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&sp, 0, sizeof(sp));
	nmig_buf_init(&sp.piece);
	out->text = text;
	out->len = len;
	out->path = strdup(path ? path : "");
	if (!out->path) {
		rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = nmig_text_check_encoding(out->path, text, len);
	if (rc)
		goto cleanup;
	sp.sc = out;
	sp.base = len >= 3 && memcmp(text, UTF8_BOM, 3) == 0 ? 3 : 0;
	sp.q = text + sp.base;
	sp.qlen = len - sp.base;
	cursor_init(&sp.cur, text, len);

	scan = pg_query_scan(sp.q);
	if (!scan.error)
		sp.scan = pg_query__scan_result__unpack(
		    NULL, scan.pbuf.len, (const uint8_t *)scan.pbuf.data);
	pg_query_free_scan_result(scan);
	if (!sp.scan) {
		rc = split_unscannable(&sp);
		goto cleanup;
	}
	pr = pg_query_parse_protobuf(sp.q);
	if (!pr.error) {
		out->parse_ok = 1;
		rc = split_parsed(&sp, &pr.parse_tree);
	} else {
		rc = split_scanned(&sp);
	}
	pg_query_free_protobuf_parse_result(pr);
cleanup:
	if (sp.scan)
		pg_query__scan_result__free_unpacked(sp.scan, NULL);
	for (i = 0; i < sp.nslotless; i++)
		free(sp.slotless[i]);
	free(sp.slotless);
	nmig_buf_release(&sp.piece);
	if (rc)
		nmig_script_release(out);
	return rc;
}

int nmig_script_from_text(struct nmig_script *out, const char *path,
			  const char *text, size_t len)
{
	char *copy = malloc(len + 1);

	memset(out, 0, sizeof(*out));
	if (!copy)
		return nmig_error_set(NMIG_ENOMEM, "out of memory reading '%s'",
				      path);
	if (len)
		memcpy(copy, text, len);
	copy[len] = '\0';
	return script_from_owned(out, path, copy, len);
}

int nmig_script_load(struct nmig_script *out, const char *path, size_t cap)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	size_t len;
	char *text;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = nmig_buf_read_file(&b, path, cap);
	if (rc) {
		nmig_buf_release(&b);
		if (nmig_error_last()->file[0] == '\0')
			nmig_error_location(path, 0, 0, NULL);
		return rc;
	}
	text = nmig_buf_detach(&b, &len);
	if (!text)
		return nmig_error_set(NMIG_ENOMEM, "out of memory reading '%s'",
				      path);
	return script_from_owned(out, path, text, len);
}

int nmig_script_read(struct nmig_script *out, const char *path, size_t cap)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	int err;

	memset(out, 0, sizeof(*out));
	err = nmig_buf_read_file(&b, path, cap);
	if (err) {
		nmig_buf_release(&b);
		if (nmig_error_last()->file[0] == '\0')
			nmig_error_location(path, 0, 0, NULL);
		return err;
	}
	out->path = strdup(path);
	out->text = nmig_buf_detach(&b, &out->len);
	out->parse_ok = 1;
	if (!out->path || !out->text) {
		nmig_script_release(out);
		return nmig_error_set(NMIG_ENOMEM, "out of memory reading '%s'",
				      path);
	}
	return NMIG_OK;
}

void nmig_script_release(struct nmig_script *script)
{
	size_t i;

	for (i = 0; i < script->n; i++)
		free(script->stmts[i].kind);
	free(script->stmts);
	free(script->text);
	free(script->path);
	memset(script, 0, sizeof(*script));
}

/*
 * Markers of syntax newer than the bundled PostgreSQL 15 parser. A refused
 * statement whose error lies inside one of them (see the file comment) is
 * a warning. after: a word that must come earlier in the statement (NULL:
 * none); words: consecutive tokens, case-insensitive; a final "(" extends
 * the marker to the matching ")".
 */
struct marker {
	const char *after;
	const char *words[3];
	const char *what;
};

static const struct marker newer_syntax[] = {
    {"MERGE", {"RETURNING"}, "MERGE ... RETURNING (PostgreSQL 17)"},
    {"MERGE",
     {"BY", "SOURCE"},
     "MERGE ... WHEN NOT MATCHED BY SOURCE (PostgreSQL 17)"},
    {NULL, {"JSON_TABLE", "("}, "JSON_TABLE (PostgreSQL 17)"},
    {NULL, {"JSON_EXISTS", "("}, "JSON_EXISTS (PostgreSQL 17)"},
    {NULL, {"JSON_QUERY", "("}, "JSON_QUERY (PostgreSQL 17)"},
    {NULL, {"JSON_VALUE", "("}, "JSON_VALUE (PostgreSQL 17)"},
    {NULL, {"JSON_SCALAR", "("}, "JSON_SCALAR (PostgreSQL 17)"},
    {NULL, {"JSON_SERIALIZE", "("}, "JSON_SERIALIZE (PostgreSQL 17)"},
    {NULL, {"JSON", "("}, "the JSON() constructor (PostgreSQL 17)"},
    {NULL, {"JSON_OBJECT", "("}, "JSON_OBJECT (PostgreSQL 16)"},
    {NULL, {"JSON_ARRAY", "("}, "JSON_ARRAY (PostgreSQL 16)"},
    {NULL, {"JSON_OBJECTAGG", "("}, "JSON_OBJECTAGG (PostgreSQL 16)"},
    {NULL, {"JSON_ARRAYAGG", "("}, "JSON_ARRAYAGG (PostgreSQL 16)"},
    {NULL, {"IS", "JSON"}, "IS JSON (PostgreSQL 16)"},
    {NULL, {"IS", "NOT", "JSON"}, "IS NOT JSON (PostgreSQL 16)"},
    {"ALTER", {"SPLIT", "PARTITION"}, "SPLIT PARTITION"},
    {"ALTER", {"MERGE", "PARTITIONS"}, "MERGE PARTITIONS"},
    {"ALTER",
     {"SET", "EXPRESSION"},
     "ALTER COLUMN ... SET EXPRESSION (PostgreSQL 17)"},
    {"ALTER",
     {"STATISTICS", "DEFAULT"},
     "SET STATISTICS DEFAULT (PostgreSQL 17)"},
    {NULL, {"WITHOUT", "OVERLAPS"}, "WITHOUT OVERLAPS (PostgreSQL 18)"},
    {NULL, {",", "PERIOD"}, "PERIOD in a foreign key (PostgreSQL 18)"},
    {NULL, {"NOT", "ENFORCED"}, "NOT ENFORCED (PostgreSQL 18)"},
    {NULL, {")", "VIRTUAL"}, "virtual generated columns (PostgreSQL 18)"},
    {NULL, {"RETURNING", "WITH"}, "RETURNING WITH (OLD/NEW) (PostgreSQL 18)"},
    {"COPY", {"ON_ERROR"}, "COPY ... ON_ERROR (PostgreSQL 17)"},
    {"GRANT", {"WITH", "INHERIT"}, "GRANT ... WITH INHERIT (PostgreSQL 16)"},
    {"GRANT", {"WITH", "SET"}, "GRANT ... WITH SET (PostgreSQL 16)"},
};

/* Index of the next real token at or after i (n when none). */
static size_t next_real(PgQuery__ScanToken **t, size_t n, size_t i)
{
	while (i < n && is_comment(t[i]))
		i++;
	return i;
}

/*
 * Does the marker m match at real token i of the statement made of tokens
 * [from, to) and cover byte errpos? Returns 1 and sets nothing else.
 */
static int marker_covers(const char *q, PgQuery__ScanToken **t, size_t from,
			 size_t to, size_t i, const struct marker *m,
			 size_t errpos)
{
	size_t j = i, w, k, last = i, scope_end;
	int depth;

	for (w = 0; w < 3 && m->words[w]; w++) {
		j = next_real(t, to, j);
		if (j >= to || !word_eq(q, t[j], m->words[w]))
			return 0;
		last = j++;
	}
	if (m->after) {
		for (k = from; k < i; k++)
			if (word_eq(q, t[k], m->after))
				break;
		if (k == i)
			return 0;
	}
	if (errpos < (size_t)t[i]->start)
		return 0;
	if (word_eq(q, t[last], "(")) {
		/* a function-like marker: up to the matching ")" */
		scope_end = (size_t)-1;
		for (depth = 0, k = last; k < to; k++) {
			if (t[k]->token == PG_QUERY__TOKEN__ASCII_40)
				depth++;
			else if (t[k]->token == PG_QUERY__TOKEN__ASCII_41 &&
				 --depth == 0) {
				scope_end = (size_t)t[k]->end;
				break;
			}
		}
	} else {
		/* the marker and the token after it */
		k = next_real(t, to, last + 1);
		scope_end = (size_t)(k < to ? t[k]->end : t[last]->end);
	}
	return errpos <= scope_end;
}

/*
 * The newer-syntax marker covering byte errpos (in q) of the statement
 * q[start, end), or NULL.
 */
static const struct marker *newer_marker(const char *q,
					 const PgQuery__ScanResult *scan,
					 size_t start, size_t end,
					 size_t errpos)
{
	PgQuery__ScanToken **t = scan->tokens;
	size_t n = scan->n_tokens, from = 0, to, i, m;

	while (from < n && (size_t)t[from]->start < start)
		from++;
	for (to = from; to < n && (size_t)t[to]->start < end; to++)
		;
	for (i = from; i < to; i++) {
		if (is_comment(t[i]))
			continue;
		for (m = 0; m < sizeof(newer_syntax) / sizeof(newer_syntax[0]);
		     m++)
			if (marker_covers(q, t, from, to, i, &newer_syntax[m],
					  errpos))
				return &newer_syntax[m];
	}
	return NULL;
}

/*
 * 1 when the word at text[off] (up to the next blank, ';' or end of line)
 * holds a UTF-8 byte order mark: the parser reads U+FEFF as part of a word,
 * so a BOM that is not the file's first bytes is an invisible syntax error.
 */
static int bom_in_word(const char *text, size_t len, size_t off)
{
	size_t i;

	for (i = off; i < len && !strchr(" \t\r\n;", text[i]); i++)
		if (i + 3 <= len && memcmp(text + i, UTF8_BOM, 3) == 0)
			return 1;
	return 0;
}

/* Add a finding for script at byte offset off of its text. */
static struct nmig_diag *add_at(struct nmig_diags *diags,
				const struct nmig_script *sc, size_t off,
				struct cursor *cur, enum nmig_severity sev,
				const char *rule, const char *msg)
{
	struct nmig_diag *d;

	const char *nl = strchr(msg, '\n');

	if (off < cur->pos)
		cursor_init(cur, sc->text, sc->len);
	if (off > cur->pos)
		cursor_to(cur, sc->text, off);
	if (sev == NMIG_SEV_ERROR && strcmp(rule, "sql-syntax") == 0 &&
	    bom_in_word(sc->text, sc->len, off)) {
		d = nmig_diags_add(diags, sev, NMIG_EINPUT, "sql-bom", sc->path,
				   cur->line, cur->col,
				   "UTF-8 byte order mark (U+FEFF) in the "
				   "middle of the file, read by PostgreSQL as "
				   "part of a word");
		nmig_diag_set_source(d, nmig_text_line_start(sc->text, off));
		nmig_diag_set_hint(d, "delete it (it is invisible in most "
				      "editors; files saved with a BOM and "
				      "joined together leave one)");
		return d;
	}
	/* "at or near" may quote a multi-line token: keep its first line */
	if (nl)
		d = nmig_diags_add(diags, sev, NMIG_EINPUT, rule, sc->path,
				   cur->line, cur->col, "%.*s...\"",
				   (int)(nl - msg), msg);
	else
		d = nmig_diags_add(diags, sev, NMIG_EINPUT, rule, sc->path,
				   cur->line, cur->col, "%s", msg);
	nmig_diag_set_source(d, nmig_text_line_start(sc->text, off));
	return d;
}

/*
 * Report the parser's error for the statement at q[start, end), parsed on
 * its own (a syntax error, or a warning when newer syntax explains it).
 */
static int report_syntax(const struct nmig_script *sc, size_t base,
			 const PgQuery__ScanResult *scan, size_t start,
			 size_t end, struct cursor *cur,
			 struct nmig_diags *diags)
{
	const char *q = sc->text + base;
	PgQueryProtobufParseResult pr;
	const struct marker *m = NULL;
	struct nmig_diag *d;
	struct nmig_buf piece = NMIG_BUF_INIT, msg = NMIG_BUF_INIT;
	size_t errpos = start;

	nmig_buf_put(&piece, q + start, end - start);
	if (nmig_buf_oom(&piece))
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	pr = pg_query_parse_protobuf(piece.ptr);
	if (!pr.error)
		goto cleanup; /* parses alone: nothing to report here */
	if (pr.error->cursorpos > 0)
		errpos =
		    start + chars_to_bytes(piece.ptr, piece.len,
					   (size_t)pr.error->cursorpos - 1);
	if (pr.error->cursorpos > 0)
		m = newer_marker(q, scan, start, end, errpos);
	if (m) {
		nmig_buf_printf(&msg,
				"statement uses %s, newer than the bundled "
				"PostgreSQL %s parser; it was not checked "
				"(parser: %s)",
				m->what, PG_MAJORVERSION, pr.error->message);
		d = add_at(diags, sc, base + errpos, cur, NMIG_SEV_WARNING,
			   "sql-newer-syntax", msg.ptr);
		nmig_diag_set_hint(d, "the server checks it when the "
				      "migration runs");
	} else {
		add_at(diags, sc, base + errpos, cur, NMIG_SEV_ERROR,
		       "sql-syntax", pr.error->message);
	}
cleanup:
	pg_query_free_protobuf_parse_result(pr);
	nmig_buf_release(&piece);
	nmig_buf_release(&msg);
	return NMIG_OK;
}

/*
 * Syntax findings of a script the parser refused as a whole; statements
 * at or after byte offset limit are not looked at (the data of a COPY ...
 * FROM STDIN is no SQL).
 */
static int check_syntax(const struct nmig_script *sc, size_t limit,
			struct nmig_diags *diags)
{
	size_t base =
	    sc->len >= 3 && memcmp(sc->text, UTF8_BOM, 3) == 0 ? 3 : 0;
	const char *q = sc->text + base;
	size_t qlen = sc->len - base, i, reported = diags->n;
	PgQueryScanResult sr;
	PgQuery__ScanResult *scan = NULL;
	PgQueryProtobufParseResult pr;
	struct cursor cur;
	size_t errpos = 0, start = 0, end = qlen;
	int rc = NMIG_OK;

	cursor_init(&cur, sc->text, sc->len);
	sr = pg_query_scan(q);
	if (sr.error) {
		/* the scanner's own errors are never newer syntax */
		if (sr.error->cursorpos > 0)
			errpos = chars_to_bytes(
			    q, qlen, (size_t)sr.error->cursorpos - 1);
		add_at(diags, sc, base + errpos, &cur, NMIG_SEV_ERROR,
		       "sql-syntax", sr.error->message);
		goto cleanup;
	}
	scan = pg_query__scan_result__unpack(NULL, sr.pbuf.len,
					     (const uint8_t *)sr.pbuf.data);
	if (!scan) {
		rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < sc->n && !rc && sc->stmts[i].offset < limit; i++)
		if (sc->stmts[i].flags & NMIG_STMT_UNPARSED)
			rc = report_syntax(
			    sc, base, scan, sc->stmts[i].offset - base,
			    sc->stmts[i].offset - base + sc->stmts[i].len, &cur,
			    diags);
	if (rc || diags->n > reported || limit < sc->len)
		goto cleanup;
	/*
	 * Every piece parses alone but the whole does not: report the whole
	 * text's error, judged within the statement that holds it.
	 */
	pr = pg_query_parse_protobuf(q);
	if (pr.error && pr.error->cursorpos > 0) {
		errpos =
		    chars_to_bytes(q, qlen, (size_t)pr.error->cursorpos - 1);
		for (i = 0; i < sc->n; i++) {
			if (sc->stmts[i].offset - base > errpos)
				break;
			start = sc->stmts[i].offset - base;
		}
		for (end = qlen, i = 0; i < sc->n; i++)
			if (sc->stmts[i].offset - base > errpos) {
				end = sc->stmts[i].offset - base;
				break;
			}
	}
	if (pr.error && newer_marker(q, scan, start, end, errpos))
		add_at(diags, sc, base + errpos, &cur, NMIG_SEV_WARNING,
		       "sql-newer-syntax", pr.error->message);
	else if (pr.error)
		add_at(diags, sc, base + errpos, &cur, NMIG_SEV_ERROR,
		       "sql-syntax", pr.error->message);
	pg_query_free_protobuf_parse_result(pr);
cleanup:
	if (scan)
		pg_query__scan_result__free_unpacked(scan, NULL);
	pg_query_free_scan_result(sr);
	return rc;
}

/* 1 when st (transaction control) is one of the words in the list. */
static int tx_is(const struct nmig_stmt *st, const char *const *words)
{
	for (; *words; words++)
		if (st->what && strcmp(st->what, *words) == 0)
			return 1;
	return 0;
}

/* 1 when statement st's text says AND CHAIN (not AND NO CHAIN). */
static int tx_chains(const struct nmig_script *sc, const struct nmig_stmt *st)
{
	size_t i;

	for (i = 0; i + 5 <= st->len; i++) {
		const char *p = sc->text + st->offset + i;

		if (strncasecmp(p, "CHAIN", 5) != 0)
			continue;
		while (i > 0 && (p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n'))
			p--, i--;
		return !(i >= 2 && strncasecmp(p - 2, "NO", 2) == 0);
	}
	return 0;
}

static const char *const tx_starts[] = {"BEGIN", "START TRANSACTION", NULL};
static const char *const tx_ends[] = {"COMMIT", "END", "ROLLBACK", "ABORT",
				      NULL};
static const char *const tx_inside[] = {
    "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT",
    "PREPARE TRANSACTION", NULL};

/*
 * Walk the file's transaction control as autocommit runs it (each
 * statement on its own, as with `-- nmig:transaction off`): an end of a
 * transaction, or a savepoint, where the file opened none fails there
 * (SQLSTATE 25P01) after the statements before it committed. Each such
 * statement is reported to diags when diags is not NULL. Returns how many
 * there are; *open (may be NULL) says whether a transaction is still open
 * at the end.
 */
static size_t autocommit_tx(const struct nmig_script *sc,
			    struct nmig_diags *diags, struct cursor *cur,
			    int *open_at_end)
{
	struct nmig_buf msg = NMIG_BUF_INIT;
	struct nmig_diag *d;
	size_t i, bad = 0;
	int open = 0;

	for (i = 0; i < sc->n; i++) {
		const struct nmig_stmt *st = &sc->stmts[i];

		if (!(st->flags & NMIG_STMT_TXCONTROL))
			continue;
		if (tx_is(st, tx_starts)) {
			open = 1;
			continue;
		}
		if (open) {
			if (tx_is(st, tx_ends))
				open = tx_chains(sc, st);
			continue;
		}
		/* COMMIT / ROLLBACK PREPARED run outside a transaction */
		if (!tx_is(st, tx_ends) && !tx_is(st, tx_inside))
			continue;
		bad++;
		if (!diags)
			continue;
		nmig_buf_clear(&msg);
		nmig_buf_printf(&msg,
				"'%s%s' would fail at run time: no "
				"transaction is open here",
				st->what, tx_chains(sc, st) ? " AND CHAIN" : "");
		d = add_at(diags, sc, st->offset, cur, NMIG_SEV_ERROR,
			   "sql-tx-control", msg.ptr);
		nmig_diag_set_hint(d, "with '-- nmig:transaction off' each "
				      "statement runs on its own (autocommit); "
				      "open a transaction with BEGIN first, or "
				      "remove it");
	}
	nmig_buf_release(&msg);
	if (open_at_end)
		*open_at_end = open;
	return bad;
}

/*
 * Whether the file's transaction control is its own and whole, so that
 * `-- nmig:transaction off` makes it work as written: nothing fails in
 * autocommit and no transaction is left open.
 */
static int tx_balanced(const struct nmig_script *sc)
{
	int open;

	return autocommit_tx(sc, NULL, NULL, &open) == 0 && !open;
}

int nmig_script_check(const struct nmig_script *script, int transactional,
		      struct nmig_diags *diags)
{
	struct nmig_diags local = NMIG_DIAGS_INIT;
	const struct nmig_stmt *st;
	struct nmig_diag *d;
	struct cursor cur;
	struct nmig_buf msg = NMIG_BUF_INIT;
	size_t from, i, copy_at = script->len;
	int rc = NMIG_OK;

	cursor_init(&cur, script->text, script->len);
	if (!diags)
		diags = &local;
	from = diags->n;
	for (i = 0; i < script->n; i++) {
		st = &script->stmts[i];
		if (!(st->flags & NMIG_STMT_COPY_STDIN))
			continue;
		if (copy_at == script->len)
			copy_at = st->offset;
		d = add_at(diags, script, st->offset, &cur, NMIG_SEV_ERROR,
			   "sql-copy-stdin",
			   "COPY ... FROM STDIN is not supported in a "
			   "migration: nmig sends SQL, not psql's data stream");
		nmig_diag_set_hint(d, "write the rows as INSERT ... VALUES, "
				      "or COPY from a file on the server "
				      "(COPY t FROM '/path'), or load them "
				      "with psql's \\copy outside the "
				      "migration");
	}
	if (!script->parse_ok)
		rc = check_syntax(script, copy_at, diags);
	for (i = 0; !rc && transactional && i < script->n; i++) {
		st = &script->stmts[i];
		nmig_buf_clear(&msg);
		if (st->flags & NMIG_STMT_TXCONTROL) {
			nmig_buf_printf(&msg,
					"'%s' cannot be used in a "
					"transactional migration",
					st->what);
			d = add_at(diags, script, st->offset, &cur,
				   NMIG_SEV_ERROR, "sql-tx-control", msg.ptr);
			if (tx_balanced(script))
				nmig_diag_set_hint(
				    d, "nmig wraps each migration in a "
				       "transaction; remove the file's own "
				       "BEGIN ... COMMIT, or add '-- "
				       "nmig:transaction off' to the header "
				       "to run it as written");
			else
				nmig_diag_set_hint(
				    d, "nmig wraps each migration in a "
				       "transaction: remove it (here it would "
				       "end that transaction early, and with "
				       "'-- nmig:transaction off' it would "
				       "fail: no transaction is open there)");
		} else if (st->flags & NMIG_STMT_NO_TX) {
			nmig_buf_printf(&msg,
					"%s cannot run inside a "
					"transaction block",
					st->what);
			d = add_at(diags, script, st->offset, &cur,
				   NMIG_SEV_ERROR, "sql-no-transaction",
				   msg.ptr);
			nmig_diag_set_hint(d, "add '-- nmig:transaction off' "
					      "to the migration's header");
		}
	}
	if (!rc && !transactional)
		autocommit_tx(script, diags, &cur, NULL);
	nmig_buf_release(&msg);
	if (!rc)
		rc = nmig_diags_raise(diags, from) ? NMIG_EINPUT : NMIG_OK;
	nmig_diags_release(&local);
	return rc;
}

size_t nmig_script_body(const struct nmig_script *script)
{
	return script->len >= 3 && memcmp(script->text, UTF8_BOM, 3) == 0 ? 3
									   : 0;
}
