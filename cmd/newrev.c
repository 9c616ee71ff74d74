/*
 * Creating revision files (see newrev.h): the parts of `nmig revision` and
 * `nmig merge` that are the same -- ids from the UTC clock, slugs,
 * template rendering and exclusive creation of the file pair.
 */
#include "newrev.h"

#include "error.h"
#include "plan.h"
#include "sqlscript.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* cli_newrev_now: see newrev.h. */
long long cli_newrev_now(char date[32])
{
	const char *env = getenv("NMIG_NOW");
	time_t t = time(NULL);
	struct tm tm;

	if (env && *env) {
		char *end;
		long long v = strtoll(env, &end, 10);

		if (*end == '\0' && v >= 0)
			t = (time_t)v;
	}
	gmtime_r(&t, &tm);
	strftime(date, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return (long long)t;
}

/* cli_newrev_make_id: see newrev.h. */
void cli_newrev_make_id(const struct nmig_graph *graph, long long now,
			char out[NMIG_NEWREV_ID_MAX])
{
	time_t t = (time_t)now;
	struct tm tm;

	for (;;) {
		gmtime_r(&t, &tm);
		strftime(out, NMIG_NEWREV_ID_MAX, "%Y%m%d%H%M%S", &tm);
		if (!graph || nmig_graph_find(graph, out) < 0)
			return;
		t++;
	}
}

/* cli_newrev_check_id: see newrev.h. */
int cli_newrev_check_id(const struct nmig_graph *graph, const char *id)
{
	const unsigned char *p;

	if (!*id)
		return nmig_error_set(NMIG_EUSAGE, "the revision id is empty");
	for (p = (const unsigned char *)id; *p; p++)
		if (*p == '_' || *p == '/' || *p == ',' || *p == ':' ||
		    *p <= ' ' || *p == 0x7f) {
			nmig_error_set(NMIG_EUSAGE,
				       "invalid revision id '%s': it must not "
				       "hold '_', '/', ',', ':', spaces or "
				       "control characters",
				       id);
			nmig_error_hint("the id is the part of the file name "
					"before the first '_', e.g. "
					"20261126120000 or 000042");
			return NMIG_EUSAGE;
		}
	if (strcmp(id, "base") == 0 || strcmp(id, "head") == 0 ||
	    strcmp(id, "heads") == 0 || id[0] == '+' || id[0] == '-') {
		nmig_error_set(NMIG_EUSAGE,
			       "invalid revision id '%s': it reads as a "
			       "target",
			       id);
		nmig_error_hint("'base', 'head', 'heads' and ids starting "
				"with '+' or '-' cannot be told from targets");
		return NMIG_EUSAGE;
	}
	if (graph && nmig_graph_find(graph, id) >= 0) {
		long i = nmig_graph_find(graph, id);

		nmig_error_set(NMIG_EEXISTS, "revision '%s' exists already",
			       id);
		nmig_error_detail("in '%s'",
				  nmig_graph_rev(graph, (size_t)i)->up.path);
		nmig_error_hint("choose another --rev-id, or leave it out to "
				"use the UTC time");
		return NMIG_EEXISTS;
	}
	return NMIG_OK;
}

/* Whether s is valid UTF-8 without control characters (tab allowed). */
static int clean_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned v;
		size_t n = nmig_text_utf8_seq(p, SIZE_MAX, &v);

		if (n == 0 || (v < 0x20 && v != '\t') ||
		    (v >= 0x7f && v < 0xa0))
			return 0;
		p += n;
	}
	return 1;
}

/* cli_newrev_check_message: see newrev.h. */
int cli_newrev_check_message(const char *message)
{
	const char *p;

	if (strchr(message, '\n') || strchr(message, '\r'))
		return nmig_error_set(NMIG_EUSAGE,
				      "the message must be a single line");
	if (!clean_text(message))
		return nmig_error_set(NMIG_EUSAGE,
				      "the message must be UTF-8 text "
				      "without control characters");
	for (p = message; *p; p++)
		if (*p != ' ' && *p != '\t')
			return NMIG_OK;
	nmig_error_set(NMIG_EUSAGE, "the message is empty");
	nmig_error_hint("say what the revision does, e.g. -m \"add tasks\"");
	return NMIG_EUSAGE;
}

/* cli_newrev_slug: see newrev.h. */
char *cli_newrev_slug(const char *message)
{
	char buf[49];
	size_t n = 0;
	const unsigned char *p;
	int gap = 0;

	for (p = (const unsigned char *)message; *p && n < sizeof(buf) - 1;
	     p++) {
		unsigned char c = *p;

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (gap && n > 0 && n < sizeof(buf) - 2)
				buf[n++] = '_';
			else if (gap && n > 0)
				break;
			gap = 0;
			buf[n++] = (char)c;
		} else {
			gap = 1;
		}
	}
	while (n > 0 && buf[n - 1] == '_')
		n--;
	buf[n] = '\0';
	return strdup(n ? buf : "revision");
}

static int placeholder(const char *name, size_t len,
		       const struct cli_newrev_vars *v, const char **value)
{
	static const char tx_off[] = "-- nmig:transaction off";

#define IS(s) (len == sizeof(s) - 1 && memcmp(name, s, len) == 0)
	if (IS("id"))
		*value = v->id;
	else if (IS("slug"))
		*value = v->slug;
	else if (IS("message"))
		*value = v->message;
	else if (IS("parents"))
		*value = v->parents;
	else if (IS("date"))
		*value = v->date;
	else if (IS("transaction"))
		*value = v->transactional ? "" : tx_off;
	else
		return -1;
#undef IS
	if (!*value)
		*value = "";
	return 0;
}

/*
 * The name inside the "{{ name }}" at p (into *name and *len), and the
 * length of the whole placeholder. 0 when p does not start a placeholder.
 */
static size_t scan_placeholder(const char *p, const char **name, size_t *len)
{
	const char *q = p + 2, *start;

	if (p[0] != '{' || p[1] != '{')
		return 0;
	while (*q == ' ')
		q++;
	start = q;
	while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
	       (*q >= '0' && *q <= '9') || *q == '_')
		q++;
	if (q == start)
		return 0;
	*name = start;
	*len = (size_t)(q - start);
	while (*q == ' ')
		q++;
	if (q[0] != '}' || q[1] != '}')
		return 0;
	return (size_t)(q + 2 - p);
}

/* cli_newrev_render: see newrev.h. */
int cli_newrev_render(struct nmig_buf *out, const char *name, const char *tmpl,
		      const struct cli_newrev_vars *vars)
{
	const char *line = tmpl, *nl, *p, *pname, *value;
	size_t plen, n;
	int lineno = 0;

	for (; *line; line = nl) {
		const char *end;

		lineno++;
		end = line + strcspn(line, "\n");
		nl = *end ? end + 1 : end;
		/* a line that is only {{transaction}} goes away entirely */
		p = line + strspn(line, " \t");
		n = scan_placeholder(p, &pname, &plen);
		if (n && plen == 11 && memcmp(pname, "transaction", 11) == 0 &&
		    p + n + strspn(p + n, " \t\r") == end &&
		    vars->transactional)
			continue;
		for (p = line; p < nl;) {
			n = scan_placeholder(p, &pname, &plen);
			if (!n) {
				nmig_buf_putc(out, *p++);
				continue;
			}
			if (placeholder(pname, plen, vars, &value)) {
				nmig_error_set(NMIG_ECONFIG,
					       "%s:%d: unknown placeholder "
					       "'{{%.*s}}'",
					       name, lineno, (int)plen, pname);
				nmig_error_hint(
				    "known placeholders: {{id}}, "
				    "{{message}}, {{parents}}, "
				    "{{transaction}}, {{date}}, {{slug}}");
				return NMIG_ECONFIG;
			}
			nmig_buf_puts(out, value);
			p += n;
		}
	}
	if (nmig_buf_oom(out))
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	return NMIG_OK;
}

/* Create path exclusively and write text into it. */
static int write_new(const char *path, const char *text)
{
	size_t len = strlen(text), off = 0;
	int fd, err;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0) {
		err = errno;
		nmig_error_set(err == EEXIST ? NMIG_EEXISTS : NMIG_EIO,
			       "cannot create '%s': %s", path, strerror(err));
		if (err == EEXIST)
			nmig_error_hint("nmig never overwrites a migration "
					"file; choose another id or message");
		return nmig_error_last()->code;
	}
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err = errno;
			close(fd);
			unlink(path);
			return nmig_error_set(NMIG_EIO, "cannot write '%s': %s",
					      path, strerror(err));
		}
		off += (size_t)w;
	}
	if (close(fd) != 0) {
		err = errno;
		unlink(path);
		return nmig_error_set(NMIG_EIO, "cannot write '%s': %s", path,
				      strerror(err));
	}
	return NMIG_OK;
}

static char *file_path(const char *dir, const char *id, const char *slug,
		       const char *suffix)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	size_t dl = strlen(dir);

	nmig_buf_puts(&b, dir);
	if (dl && dir[dl - 1] != '/')
		nmig_buf_putc(&b, '/');
	nmig_buf_printf(&b, "%s_%s%s", id, slug, suffix);
	return nmig_buf_detach(&b, NULL);
}

/* cli_newrev_write: see newrev.h. */
int cli_newrev_write(const char *dir, const char *id, const char *slug,
		     const char *up, const char *down, char **up_path,
		     char **down_path)
{
	char *upp = file_path(dir, id, slug, ".up.sql");
	char *downp = down ? file_path(dir, id, slug, ".down.sql") : NULL;
	int rc;

	*up_path = NULL;
	*down_path = NULL;
	if (!upp || (down && !downp)) {
		rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = write_new(upp, up);
	if (rc)
		goto cleanup;
	if (down) {
		rc = write_new(downp, down);
		if (rc) {
			unlink(upp);
			goto cleanup;
		}
	}
	*up_path = upp;
	*down_path = downp;
	upp = downp = NULL;
cleanup:
	free(upp);
	free(downp);
	return rc;
}

/* cli_newrev_print: see newrev.h. */
void cli_newrev_print(struct cli_global *g, const char *id, const char *message,
		      const char *const *parents, size_t nparents,
		      const char *up_path, const char *down_path)
{
	if (g->json) {
		fputs("{\"id\": ", stdout);
		cli_json_str(stdout, id);
		fputs(", \"message\": ", stdout);
		cli_json_str(stdout, message);
		fputs(", \"parents\": ", stdout);
		cli_json_strs(stdout, parents, nparents);
		fputs(", \"up\": ", stdout);
		cli_json_str(stdout, up_path);
		fputs(", \"down\": ", stdout);
		cli_json_str(stdout, down_path);
		fputs("}\n", stdout);
		return;
	}
	cli_put_safe(stdout, up_path);
	fputc('\n', stdout);
	if (down_path) {
		cli_put_safe(stdout, down_path);
		fputc('\n', stdout);
	}
}

/* cli_newrev_resolve: see newrev.h. */
int cli_newrev_resolve(const struct nmig_graph *graph, const char *const *specs,
		       size_t nspecs, int heads_when_none, size_t **out,
		       size_t *n)
{
	size_t count = nmig_graph_count(graph), i, j, nn;
	unsigned char *mark;
	size_t *nodes = NULL;
	const size_t *heads;
	int rc = NMIG_OK;

	*out = NULL;
	*n = 0;
	mark = calloc(count ? count : 1, 1);
	if (!mark)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	if (nspecs == 0 && heads_when_none) {
		heads = nmig_graph_heads(graph, &nn);
		for (j = 0; j < nn; j++)
			mark[heads[j]] = 1;
	}
	for (i = 0; i < nspecs; i++) {
		rc = nmig_target_resolve(graph, NULL, NMIG_UP, specs[i], &nodes,
					 &nn);
		if (rc)
			goto cleanup;
		for (j = 0; j < nn; j++)
			mark[nodes[j]] = 1;
		free(nodes);
		nodes = NULL;
	}
	for (i = 0; i < count; i++)
		*n += mark[i];
	if (*n) {
		*out = malloc(*n * sizeof(**out));
		if (!*out) {
			*n = 0;
			rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
			goto cleanup;
		}
		for (i = 0, j = 0; i < count; i++)
			if (mark[i])
				(*out)[j++] = i;
	}
cleanup:
	free(nodes);
	free(mark);
	return rc;
}
