/*
 * What the commands of the nmig executable share (declared in nmig.h):
 * option parsing from a table that also renders --help, the error and
 * diagnostic reports (rustc-like location, source line and caret, then
 * detail and hint), colours, JSON string output, the mapping from libnmig
 * codes to exit codes, and loading the revision graph with the plan cache.
 * Everything printed here goes through one sanitiser that turns control
 * characters and invalid UTF-8 into '?' and masks passwords in URLs, so
 * neither a hostile file name nor a connection string can reach the
 * terminal raw.
 */
#include "nmig.h"
#include "signals.h"

#include "buf.h"
#include "cache.h"
#include "error.h"
#include "sqlscript.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Colour escapes (stdout and stderr have their own switch). */
static const char *esc(const struct cli_global *g, int stream, const char *code)
{
	return g && (g->color & stream) ? code : "";
}

/* nmig_c_*: escapes for text written to stdout; "" when colour is off. */
const char *cli_c_bold(const struct cli_global *g)
{
	return esc(g, NMIG_COLOR_STDOUT, "\033[1m");
}

const char *cli_c_red(const struct cli_global *g)
{
	return esc(g, NMIG_COLOR_STDOUT, "\033[31m");
}

const char *cli_c_green(const struct cli_global *g)
{
	return esc(g, NMIG_COLOR_STDOUT, "\033[32m");
}

const char *cli_c_yellow(const struct cli_global *g)
{
	return esc(g, NMIG_COLOR_STDOUT, "\033[33m");
}

const char *cli_c_dim(const struct cli_global *g)
{
	return esc(g, NMIG_COLOR_STDOUT, "\033[2m");
}

const char *cli_c_reset(const struct cli_global *g)
{
	return esc(g, NMIG_COLOR_STDOUT, "\033[0m");
}

/*
 * Append s to out with every password masked: the password of a URL's
 * user:password@ becomes ***, and so does the value of password=...
 */
static void redact(struct nmig_buf *out, const char *s)
{
	const char *p = s;

	while (*p) {
		if (strncmp(p, "://", 3) == 0) {
			const char *auth = p + 3, *end, *at = NULL, *colon;

			end = auth + strcspn(auth, "/?# \t\n'\"");
			for (const char *q = auth; q < end; q++)
				if (*q == '@')
					at = q;
			colon =
			    at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
			if (colon) {
				nmig_buf_put(out, p, (size_t)(colon + 1 - p));
				nmig_buf_puts(out, "***");
				p = at;
				continue;
			}
			nmig_buf_put(out, p, 3);
			p += 3;
			continue;
		}
		if (strncasecmp(p, "password=", 9) == 0) {
			nmig_buf_put(out, p, 9);
			p += 9;
			if (*p == '\'' || *p == '"') {
				const char *close = strchr(p + 1, *p);

				p = close ? close + 1 : p + strlen(p);
			} else {
				p += strcspn(p, " \t\n&;");
			}
			nmig_buf_puts(out, "***");
			continue;
		}
		nmig_buf_putc(out, *p++);
	}
}

/*
 * Write s for a terminal: passwords masked, control characters (newline
 * kept when multiline) and invalid UTF-8 shown as '?'.
 */
static void put_safe(FILE *out, const char *s, int multiline)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	const unsigned char *p;
	unsigned cp;
	int n;

	if (!s)
		return;
	redact(&b, s);
	for (p = (const unsigned char *)b.ptr; *p; p += n) {
		n = (int)nmig_text_utf8_seq(p, SIZE_MAX, &cp);
		if (n == 0) {
			fputc('?', out);
			n = 1;
		} else if ((cp < 0x20 && cp != '\t' &&
			    !(multiline && cp == '\n')) ||
			   (cp >= 0x7f && cp < 0xa0)) {
			fputc('?', out);
		} else {
			fwrite(p, 1, (size_t)n, out);
		}
	}
	nmig_buf_release(&b);
}

/* cli_put_safe: see nmig.h. */
void cli_put_safe(FILE *out, const char *s)
{
	put_safe(out, s, 0);
}

/* Print "<label>: <formatted message>" to stderr with a coloured label. */
static void vlabel(struct cli_global *g, const char *label, const char *color,
		   const char *fmt, va_list ap)
{
	struct nmig_buf b = NMIG_BUF_INIT;

	nmig_buf_vprintf(&b, fmt, ap);
	fprintf(stderr, "%s%s:%s ", esc(g, NMIG_COLOR_STDERR, color), label,
		esc(g, NMIG_COLOR_STDERR, "\033[0m"));
	put_safe(stderr, b.ptr, 1);
	fputc('\n', stderr);
	nmig_buf_release(&b);
}

/* cli_errorf: "error: ..." to stderr. */
void cli_errorf(struct cli_global *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlabel(g, "error", "\033[1;31m", fmt, ap);
	va_end(ap);
}

/* cli_warnf: "warning: ..." to stderr unless -q. */
void cli_warnf(struct cli_global *g, const char *fmt, ...)
{
	va_list ap;

	if (g && g->quiet)
		return;
	va_start(ap, fmt);
	vlabel(g, "warning", "\033[1;33m", fmt, ap);
	va_end(ap);
}

/* cli_hintf: "hint: ..." to stderr. */
void cli_hintf(struct cli_global *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlabel(g, "hint", "\033[1;32m", fmt, ap);
	va_end(ap);
}

/* cli_infof: one informational line to stderr unless -q. */
void cli_infof(struct cli_global *g, const char *fmt, ...)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	va_list ap;

	if (g && g->quiet)
		return;
	va_start(ap, fmt);
	nmig_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	put_safe(stderr, b.ptr, 1);
	fputc('\n', stderr);
	nmig_buf_release(&b);
}

/* cli_exit_code: see nmig.h; an exit code (>= 0) passes through. */
int cli_exit_code(int code)
{
	if (code >= 0)
		return code;
	switch (code) {
	case NMIG_EUSAGE:
		return NMIG_EXIT_USAGE;
	case NMIG_EINPUT:
	case NMIG_EGRAPH:
	case NMIG_EIO:
		return NMIG_EXIT_INPUT;
	case NMIG_ENOTFOUND:
	case NMIG_EAMBIGUOUS:
		return NMIG_EXIT_TARGET;
	case NMIG_ECONNECT:
		return NMIG_EXIT_CONNECT;
	case NMIG_ESQL:
		return NMIG_EXIT_SQL;
	case NMIG_ESTATE:
		return NMIG_EXIT_STATE;
	case NMIG_ELOCKED:
		return NMIG_EXIT_LOCKED;
	case NMIG_ECONFIG:
		return NMIG_EXIT_CONFIG;
	case NMIG_EPRODUCTION:
		return NMIG_EXIT_PRODUCTION;
	case NMIG_EINTERRUPTED:
		return cli_signals_exit_code();
	default:
		return NMIG_EXIT_FAILURE;
	}
}

static int digits(int n)
{
	int d = 1;

	while (n >= 10) {
		n /= 10;
		d++;
	}
	return d;
}

/*
 * The location block under a message: "  --> file:line:col", then the
 * source line with its number in a gutter and a caret under col.
 */
static void print_location(struct cli_global *g, const char *file, int line,
			   int col, const char *source)
{
	const char *dim = esc(g, NMIG_COLOR_STDERR, "\033[34m");
	const char *red = esc(g, NMIG_COLOR_STDERR, "\033[1;31m");
	const char *off = esc(g, NMIG_COLOR_STDERR, "\033[0m");
	int w = digits(line > 0 ? line : 0), c;
	const unsigned char *p;
	unsigned cp;

	if (!file || !*file)
		return;
	fprintf(stderr, "%*s%s-->%s ", w + 1, "", dim, off);
	put_safe(stderr, file, 0);
	if (line > 0)
		fprintf(stderr, ":%d", line);
	if (line > 0 && col > 0)
		fprintf(stderr, ":%d", col);
	fputc('\n', stderr);
	if (line <= 0 || !source || !*source)
		return;
	fprintf(stderr, "%*s%s|%s\n", w + 2, "", dim, off);
	fprintf(stderr, " %s%d |%s ", dim, line, off);
	put_safe(stderr, source, 0);
	fputc('\n', stderr);
	if (col <= 0)
		return;
	fprintf(stderr, "%*s%s|%s ", w + 2, "", dim, off);
	/* one pad per character before col; tabs kept so the caret lines up */
	for (p = (const unsigned char *)source, c = 1; *p && c < col; c++) {
		int n = (int)nmig_text_utf8_seq(p, SIZE_MAX, &cp);

		fputc(*p == '\t' ? '\t' : ' ', stderr);
		p += n ? n : 1;
	}
	fprintf(stderr, "%s^%s\n", red, off);
}

/* Print each line of text (several lines allowed) as "label: line". */
static void print_lines(struct cli_global *g, const char *label,
			const char *color, const char *text)
{
	const char *p = text, *nl;

	while (p && *p) {
		char *line;

		nl = strchr(p, '\n');
		line = nl ? strndup(p, (size_t)(nl - p)) : strdup(p);
		if (!line)
			return;
		fprintf(stderr, "%s%s:%s ", esc(g, NMIG_COLOR_STDERR, color),
			label, esc(g, NMIG_COLOR_STDERR, "\033[0m"));
		put_safe(stderr, line, 0);
		fputc('\n', stderr);
		free(line);
		p = nl ? nl + 1 : NULL;
	}
}

/* cli_report_error: see nmig.h. */
int cli_report_error(struct cli_global *g)
{
	const struct nmig_error *e = nmig_error_last();

	if (e->code == NMIG_OK) {
		cli_errorf(g, "failed for an unknown reason");
		return NMIG_EXIT_FAILURE;
	}
	cli_errorf(g, "%s",
		   e->message[0] ? e->message : nmig_code_name(e->code));
	print_location(g, e->file, e->line, e->col, e->source);
	print_lines(g, "detail", "\033[1m", e->detail);
	print_lines(g, "hint", "\033[1;32m", e->hint);
	if (e->sqlstate[0])
		fprintf(stderr, "SQLSTATE %s\n", e->sqlstate);
	return cli_exit_code(e->code);
}

static const struct nmig_diags *order_diags;

static int cmp_diag(const void *a, const void *b)
{
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	const struct nmig_diag *x = &order_diags->items[ia];
	const struct nmig_diag *y = &order_diags->items[ib];
	int c;

	if (!x->file != !y->file)
		return x->file ? 1 : -1;
	if (x->file && (c = strcmp(x->file, y->file)) != 0)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

/* cli_diags_order: see nmig.h. */
size_t *cli_diags_order(const struct nmig_diags *d)
{
	size_t *idx, i;

	if (!d->n)
		return NULL;
	idx = malloc(d->n * sizeof(*idx));
	if (!idx)
		return NULL;
	for (i = 0; i < d->n; i++)
		idx[i] = i;
	order_diags = d;
	qsort(idx, d->n, sizeof(*idx), cmp_diag);
	order_diags = NULL;
	return idx;
}

/* Print one finding: label, message and rule, location, hint. */
static void print_diag(struct cli_global *g, const struct nmig_diag *it)
{
	struct nmig_buf b = NMIG_BUF_INIT;

	nmig_buf_puts(&b, it->message);
	if (it->rule && *it->rule)
		nmig_buf_printf(&b, " [%s]", it->rule);
	if (it->severity == NMIG_SEV_ERROR)
		cli_errorf(g, "%s", b.ptr);
	else if (it->severity == NMIG_SEV_WARNING)
		cli_warnf(g, "%s", b.ptr);
	else
		print_lines(g, "note", "\033[1m", b.ptr);
	print_location(g, it->file, it->line, it->col, it->source);
	if (it->hint)
		print_lines(g, "hint", "\033[1;32m", it->hint);
	nmig_buf_release(&b);
}

/* cli_report_diags: see nmig.h; sorted by file and line; -q keeps only
 * the errors. */
size_t cli_report_diags(struct cli_global *g, const struct nmig_diags *d)
{
	size_t *idx = cli_diags_order(d), i;

	for (i = 0; i < d->n; i++) {
		const struct nmig_diag *it = &d->items[idx ? idx[i] : i];

		if (it->severity != NMIG_SEV_ERROR && g && g->quiet)
			continue;
		print_diag(g, it);
	}
	free(idx);
	return d->errors;
}

/* cli_json_str: see nmig.h. */
void cli_json_str(FILE *out, const char *s)
{
	const unsigned char *p;
	unsigned cp;
	int n;

	if (!s) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (p = (const unsigned char *)s; *p; p += n) {
		n = (int)nmig_text_utf8_seq(p, SIZE_MAX, &cp);
		if (n == 0) {
			fputs("\\ufffd", out);
			n = 1;
		} else if (cp == '"' || cp == '\\') {
			fputc('\\', out);
			fputc((int)cp, out);
		} else if (cp == '\n') {
			fputs("\\n", out);
		} else if (cp == '\t') {
			fputs("\\t", out);
		} else if (cp == '\r') {
			fputs("\\r", out);
		} else if (cp < 0x20 || cp == 0x7f) {
			fprintf(out, "\\u%04x", cp);
		} else {
			fwrite(p, 1, (size_t)n, out);
		}
	}
	fputc('"', out);
}

/* cli_json_strs: see nmig.h. */
void cli_json_strs(FILE *out, const char *const *s, size_t n)
{
	size_t i;

	fputc('[', out);
	for (i = 0; i < n; i++) {
		if (i)
			fputs(", ", out);
		cli_json_str(out, s[i]);
	}
	fputc(']', out);
}

void cli_json_rev(FILE *out, const struct nmig_revision *r)
{
	fputs("\"id\": ", out);
	cli_json_str(out, r->id);
	fputs(", \"message\": ", out);
	cli_json_str(out, r->message);
	fputs(", \"parents\": ", out);
	cli_json_strs(out, (const char *const *)r->parents, r->nparents);
}

void cli_json_children(FILE *out, const struct nmig_graph *graph, size_t node)
{
	const size_t *ch;
	size_t n, i;

	ch = nmig_graph_children(graph, node, &n);
	fputc('[', out);
	for (i = 0; i < n; i++) {
		if (i)
			fputs(", ", out);
		cli_json_str(out, nmig_graph_rev(graph, ch[i])->id);
	}
	fputc(']', out);
}

/* The run's global options (cli_opts_bind) and the capture hook. */
static struct cli_global *bound;
static void (*capture_fn)(const struct cli_usage *u, void *ud);
static void *capture_ud;

/* cli_opts_bind: see nmig.h. */
void cli_opts_bind(struct cli_global *g)
{
	bound = g;
}

/* cli_opts_capture: see nmig.h. */
void cli_opts_capture(void (*fn)(const struct cli_usage *u, void *ud), void *ud)
{
	capture_fn = fn;
	capture_ud = ud;
}

static int is_opt(const char *arg, const char *name)
{
	size_t len = strlen(name);

	return strncmp(arg, name, len) == 0 &&
	       (arg[len] == '\0' || arg[len] == '=');
}

/*
 * Value of a global option with an argument: `--dir=X` or `--dir X`.
 * Returns NULL (after printing) when it is missing.
 */
static const char *opt_value(struct cli_global *g, int argc, char **argv,
			     int *i, const char *name)
{
	size_t len = strlen(name);

	if (argv[*i][len] == '=')
		return argv[*i] + len + 1;
	if (*i + 1 >= argc) {
		cli_errorf(g, "option '%s' needs a value", name);
		cli_hintf(g, "see 'nmig --help'");
		return NULL;
	}
	return argv[++*i];
}

/* cli_global_opt: see nmig.h. */
int cli_global_opt(struct cli_global *g, int argc, char **argv, int *i)
{
	static const char *const valued[] = {"--dir", "--config", "--url-env"};
	const char **dest[] = {&g->dir, &g->config_path, &g->url_env};
	static const char *const flags[] = {"--quiet",	  "--verbose",
					    "--json",	  "--no-cache",
					    "--no-color", "--no-colour"};
	const char *arg = argv[*i];
	size_t k;

	for (k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
		if (!is_opt(arg, valued[k]))
			continue;
		*dest[k] = opt_value(g, argc, argv, i, valued[k]);
		return *dest[k] ? 1 : NMIG_EXIT_USAGE;
	}
	for (k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
		if (!is_opt(arg, flags[k]) || !arg[strlen(flags[k])])
			continue;
		cli_errorf(g, "option '%s' takes no value", flags[k]);
		cli_hintf(g, "see 'nmig --help'");
		return NMIG_EXIT_USAGE;
	}
	if (strcmp(arg, "--quiet") == 0) {
		g->quiet = 1;
	} else if (strcmp(arg, "--verbose") == 0) {
		g->verbose++;
	} else if (strcmp(arg, "--json") == 0) {
		g->json = 1;
	} else if (strcmp(arg, "--no-cache") == 0) {
		g->no_cache = 1;
	} else if (strcmp(arg, "--no-color") == 0 ||
		   strcmp(arg, "--no-colour") == 0) {
		g->color = 0;
	} else if (arg[0] == '-' && arg[1] != '-' && arg[1] != '\0' &&
		   strspn(arg + 1, "qv") == strlen(arg + 1)) {
		for (const char *p = arg + 1; *p; p++) {
			if (*p == 'q')
				g->quiet = 1;
			else
				g->verbose++;
		}
	} else {
		return 0;
	}
	return 1;
}

/* Print a usage error about command u and return NMIG_EXIT_USAGE. */
static int opt_error(const struct cli_usage *u, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int opt_error(const struct cli_usage *u, const char *fmt, ...)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	nmig_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	fputs("error: ", stderr);
	put_safe(stderr, b.ptr, 0);
	fputc('\n', stderr);
	fprintf(stderr, "hint: see 'nmig %s --help'\n", u->name);
	nmig_buf_release(&b);
	return NMIG_EXIT_USAGE;
}

static const struct cli_opt *find_long(const struct cli_opt *opts,
				       const char *name, size_t len)
{
	for (; opts && (opts->longname || opts->shortname); opts++)
		if (opts->longname && strlen(opts->longname) == len &&
		    strncmp(opts->longname, name, len) == 0)
			return opts;
	return NULL;
}

static const struct cli_opt *find_short(const struct cli_opt *opts, char c)
{
	for (; opts && (opts->longname || opts->shortname); opts++)
		if (opts->shortname == c)
			return opts;
	return NULL;
}

/* Store value (NULL for a flag) as option o says; 0 or an exit code. */
static int opt_apply(const struct cli_usage *u, const struct cli_opt *o,
		     const char *value, const char *spelled)
{
	if (o->on_value) {
		nmig_error_clear();
		if (o->on_value(value, o->ud) == 0)
			return 0;
		if (nmig_error_last()->message[0])
			return opt_error(u, "%s", nmig_error_last()->message);
		return opt_error(u, "invalid value '%s' for '%s'",
				 value ? value : "", spelled);
	}
	if (o->argname && o->str)
		*o->str = value;
	else if (!o->argname && o->flag)
		*o->flag = 1;
	return 0;
}

/* An argument that is a number like -1 is a positional (a target). */
static int is_negative_number(const char *arg)
{
	return arg[0] == '-' && arg[1] >= '0' && arg[1] <= '9';
}

/*
 * Load the config and apply the command-line overrides over it. Returns
 * NMIG_OK or a libnmig code with the last error set (nothing printed).
 */
static int setup_config(struct cli_global *g)
{
	int rc = nmig_config_load(&g->cfg, g->config_path);

	if (!rc && g->dir)
		rc = nmig_config_set(&g->cfg, "dir", g->dir, NULL, 0);
	if (!rc && g->url_env)
		rc = nmig_config_set(&g->cfg, "url_env", g->url_env, NULL, 0);
	return rc;
}

/*
 * The setup the bound command asks for, once its options (and the global
 * options among them) are known; done once. 0 or an exit code after
 * printing.
 */
static int run_setup(void)
{
	struct cli_global *g = bound;

	if (!g || !g->cmd || g->setup_done)
		return 0;
	g->setup_done = 1;
	if (g->json && (g->cmd->flags & NMIG_CMD_NO_JSON)) {
		cli_errorf(g, "'%s' has no JSON output", g->cmd->name);
		cli_hintf(g, "drop --json; 'nmig --help' says which commands "
			     "have it");
		return NMIG_EXIT_USAGE;
	}
	if ((g->cmd->flags & NMIG_CMD_CONFIG) && setup_config(g))
		return cli_report_error(g);
	return 0;
}

/*
 * A global option at argv[*i] that the command's table does not claim:
 * 1 when taken, 0 when it is none, or NMIG_EXIT_USAGE after printing.
 */
static int global_among(int argc, char **argv, int *i)
{
	if (!bound)
		return 0;
	return cli_global_opt(bound, argc, argv, i);
}

/* cli_opts_parse: see nmig.h. Options and positionals may be mixed;
 * `--` ends the options. */
int cli_opts_parse(const struct cli_usage *u, int *argc, char **argv)
{
	int i, npos = 1, rc;

	if (capture_fn) {
		capture_fn(u, capture_ud);
		return 1;
	}
	for (i = 1; i < *argc; i++) {
		char *arg = argv[i];
		const struct cli_opt *o;

		if (strcmp(arg, "--") == 0) {
			for (i++; i < *argc; i++)
				argv[npos++] = argv[i];
			break;
		}
		if (arg[0] != '-' || arg[1] == '\0' ||
		    is_negative_number(arg)) {
			argv[npos++] = arg;
			continue;
		}
		if (arg[1] == '-') {
			const char *name = arg + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const char *value = eq ? eq + 1 : NULL;

			o = find_long(u->opts, name, len);
			if (!o && len == 4 && strncmp(name, "help", 4) == 0) {
				cli_opts_help(u, stdout);
				return 1;
			}
			if (!o && (rc = global_among(*argc, argv, &i)) != 0) {
				if (rc != 1)
					return rc;
				continue;
			}
			if (!o)
				return opt_error(u,
						 "unknown option '--%.*s' for "
						 "'%s'",
						 (int)len, name, u->name);
			if (!o->argname && value)
				return opt_error(u,
						 "option '--%s' takes no value",
						 o->longname);
			if (o->argname && !value) {
				if (i + 1 >= *argc)
					return opt_error(
					    u,
					    "option '--%s' needs a "
					    "value (%s)",
					    o->longname, o->argname);
				value = argv[++i];
			}
			rc = opt_apply(u, o, value, arg);
			if (rc)
				return rc;
			continue;
		}
		for (const char *p = arg + 1; *p; p++) {
			char spelled[3] = {'-', *p, '\0'};
			char *one[2] = {spelled, NULL};
			int k = 0;

			o = find_short(u->opts, *p);
			if (!o && *p == 'h') {
				cli_opts_help(u, stdout);
				return 1;
			}
			/* -q and -v, also inside a cluster such as -vr A:B */
			if (!o && (rc = global_among(1, one, &k)) != 0) {
				if (rc != 1)
					return rc;
				continue;
			}
			if (!o)
				return opt_error(
				    u, "unknown option '-%c' for '%s'", *p,
				    u->name);
			if (!o->argname) {
				rc = opt_apply(u, o, NULL, spelled);
				if (rc)
					return rc;
				continue;
			}
			if (p[1]) {
				rc = opt_apply(u, o, p + 1, spelled);
			} else if (i + 1 < *argc) {
				rc = opt_apply(u, o, argv[++i], spelled);
			} else {
				return opt_error(
				    u, "option '-%c' needs a value (%s)", *p,
				    o->argname);
			}
			if (rc)
				return rc;
			break;
		}
	}
	*argc = npos;
	return run_setup();
}

/* The left column of one option in --help: "-m, --message MSG". */
static void opt_left(struct nmig_buf *b, char shortname, const char *longname,
		     const char *argname)
{
	nmig_buf_clear(b);
	if (shortname)
		nmig_buf_printf(b, "-%c%s", shortname, longname ? ", " : "");
	else
		nmig_buf_puts(b, "    ");
	if (longname)
		nmig_buf_printf(b, "--%s", longname);
	if (argname)
		nmig_buf_printf(b, " %s", argname);
}

/* cli_opts_help: render the usage, description, options and examples. */
void cli_opts_help(const struct cli_usage *u, FILE *out)
{
	struct nmig_buf left = NMIG_BUF_INIT;
	const struct cli_opt *o;
	size_t width = strlen("-h, --help");
	const char *p;

	for (o = u->opts; o && (o->longname || o->shortname); o++) {
		opt_left(&left, o->shortname, o->longname, o->argname);
		if (left.len > width && left.len <= 28)
			width = left.len;
	}
	fprintf(out, "usage: nmig %s [options]%s%s\n", u->name,
		u->args && *u->args ? " " : "", u->args ? u->args : "");
	if (u->description)
		fprintf(out, "\n%s\n", u->description);
	fputs("\noptions:\n", out);
	for (o = u->opts; o && (o->longname || o->shortname); o++) {
		opt_left(&left, o->shortname, o->longname, o->argname);
		if (left.len > width)
			fprintf(out, "  %s\n  %*s  %s\n", left.ptr, (int)width,
				"", o->help ? o->help : "");
		else
			fprintf(out, "  %-*s  %s\n", (int)width, left.ptr,
				o->help ? o->help : "");
	}
	fprintf(out, "  %-*s  %s\n", (int)width, "-h, --help",
		"show this help and exit");
	if (u->examples) {
		fputs("\nexamples:\n", out);
		for (p = u->examples; *p;) {
			size_t n = strcspn(p, "\n");

			fprintf(out, "  %.*s\n", (int)n, p);
			p += n;
			if (*p)
				p++;
		}
	}
	fputs("\nGlobal options (--dir, --config, --url-env, -q, -v, --json, "
	      "--no-color,\n--no-cache) go before or after the command name; "
	      "see 'nmig --help'.\n",
	      out);
	nmig_buf_release(&left);
}

/* Print the cache warnings not printed yet (none with -q). */
static void print_cache_warnings(struct cli_global *g, struct cli_run_cache *rc)
{
	for (; rc->printed < rc->warnings.n; rc->printed++) {
		const struct nmig_diag *d = &rc->warnings.items[rc->printed];

		if (g->quiet)
			continue;
		cli_warnf(g, "%s", d->message);
		if (d->hint)
			cli_hintf(g, "%s", d->hint);
	}
}

/* cli_run_cache_open: see nmig.h. */
int cli_run_cache_open(struct cli_global *g, struct cli_run_cache *rc)
{
	struct nmig_buf path = NMIG_BUF_INIT;
	int err = NMIG_OK;

	memset(rc, 0, sizeof(*rc));
	if (g->no_cache || g->cfg.cache_off)
		return NMIG_EXIT_OK;
	if (g->cfg.cache)
		nmig_buf_puts(&path, g->cfg.cache);
	else
		err = nmig_cache_default_path(&path, g->cfg.dir ? g->cfg.dir
								: "migrations");
	if (err == NMIG_OK && nmig_buf_oom(&path))
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
	if (err == NMIG_OK)
		err = nmig_cache_open(&rc->cache, path.ptr, &rc->warnings);
	nmig_buf_release(&path);
	print_cache_warnings(g, rc);
	if (err) {
		if (err == NMIG_ENOMEM && !nmig_error_last()->message[0])
			nmig_error_set(NMIG_ENOMEM, "out of memory");
		return cli_report_error(g);
	}
	return NMIG_EXIT_OK;
}

/* cli_run_cache_close: see nmig.h. */
void cli_run_cache_close(struct cli_global *g, struct cli_run_cache *rc)
{
	struct nmig_cache_stats st;

	nmig_cache_stats_get(rc->cache, &st);
	if (rc->cache && g->verbose >= 2)
		cli_infof(g,
			  "plan cache '%s': %zu hits, %zu misses, %zu stale, "
			  "%zu stored, %zu too recent to store",
			  nmig_cache_path(rc->cache), st.hits, st.misses,
			  st.stale, st.stores, st.skipped_racy);
	nmig_cache_close(rc->cache);
	rc->cache = NULL;
	print_cache_warnings(g, rc);
	nmig_diags_release(&rc->warnings);
	memset(rc, 0, sizeof(*rc));
}

/* cli_load_graph: see nmig.h. */
int cli_load_graph(struct cli_global *g, struct nmig_revset *set,
		   struct nmig_graph **graph)
{
	struct nmig_diags d = NMIG_DIAGS_INIT;
	struct cli_run_cache cache;
	const char *dir = g->cfg.dir ? g->cfg.dir : "migrations";
	struct stat st;
	int rc, exit_code = NMIG_EXIT_OK;
	size_t i;

	memset(set, 0, sizeof(*set));
	*graph = NULL;
	if (stat(dir, &st) != 0) {
		cli_errorf(g, "migrations directory '%s' does not exist", dir);
		cli_hintf(g, "create it with 'nmig init', or name it with "
			     "--dir or 'dir' in nmig.conf");
		return NMIG_EXIT_INPUT;
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_errorf(g,
			   "'%s' is not a directory: migrations live in a "
			   "directory",
			   dir);
		cli_hintf(g, "name the directory with --dir or 'dir' in "
			     "nmig.conf");
		return NMIG_EXIT_INPUT;
	}
	exit_code = cli_run_cache_open(g, &cache);
	if (exit_code) {
		cli_run_cache_close(g, &cache);
		return exit_code;
	}
	rc = nmig_revset_load_cached(set, dir, cache.cache, &d);
	cli_run_cache_close(g, &cache);
	if (rc == NMIG_OK && d.errors == 0)
		rc = nmig_graph_build(graph, set, &d);
	if (d.errors) {
		cli_report_diags(g, &d);
		for (i = 0; i < d.n; i++)
			if (d.items[i].severity == NMIG_SEV_ERROR)
				break;
		exit_code =
		    cli_exit_code(i < d.n ? d.items[i].code : NMIG_EINPUT);
		if (exit_code == NMIG_EXIT_OK || exit_code == NMIG_EXIT_FAILURE)
			exit_code = NMIG_EXIT_INPUT;
		cli_hintf(g, "fix the files above; 'nmig check' lists every "
			     "finding");
	} else if (rc) {
		exit_code = cli_report_error(g);
	} else if (g->verbose) {
		cli_report_diags(g, &d);
	}
	if (exit_code && *graph) {
		nmig_graph_free(*graph);
		*graph = NULL;
	}
	nmig_diags_release(&d);
	return exit_code;
}

/* cli_opts_parse_none: see nmig.h. */
int cli_opts_parse_none(struct cli_global *g, const struct cli_usage *u,
			int *argc, char **argv, const char *hint)
{
	int rc = cli_opts_parse(u, argc, argv);

	if (rc || *argc <= 1)
		return rc;
	cli_errorf(g, "unexpected argument '%s'", argv[1]);
	if (hint)
		cli_hintf(g, "%s", hint);
	else
		cli_hintf(g, "see 'nmig %s --help'", u->name);
	return NMIG_EXIT_USAGE;
}
