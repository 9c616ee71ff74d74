/*
 * Diagnostics lists: see diag.h.
 */
#include "diag.h"
#include "buf.h"
#include "array_internal.h"
#include "error.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char *dupn(const char *s)
{
	return s ? strdup(s) : NULL;
}

void nmig_diags_init(struct nmig_diags *d)
{
	memset(d, 0, sizeof(*d));
}

void nmig_diags_release(struct nmig_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->items[i].rule);
		free(d->items[i].file);
		free(d->items[i].message);
		free(d->items[i].source);
		free(d->items[i].hint);
	}
	free(d->items);
	nmig_diags_init(d);
}

struct nmig_diag *nmig_diags_add(struct nmig_diags *d,
				 enum nmig_severity severity, int code,
				 const char *rule, const char *file, int line,
				 int col, const char *fmt, ...)
{
	struct nmig_buf msg = NMIG_BUF_INIT;
	struct nmig_diag *item;
	va_list ap;

	if (nmig_array_grow(&d->items, &d->cap, d->n + 1, sizeof(*d->items),
			    16))
		return NULL;
	va_start(ap, fmt);
	nmig_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	item = &d->items[d->n];
	memset(item, 0, sizeof(*item));
	item->severity = severity;
	item->code = code;
	item->rule = strdup(rule ? rule : "");
	item->file = dupn(file);
	item->line = line;
	item->col = col;
	item->message = nmig_buf_detach(&msg, NULL);
	if (!item->rule || !item->message) {
		free(item->rule);
		free(item->message);
		free(item->file);
		return NULL;
	}
	d->n++;
	if (severity == NMIG_SEV_ERROR)
		d->errors++;
	else if (severity == NMIG_SEV_WARNING)
		d->warnings++;
	return item;
}

void nmig_diag_set_source(struct nmig_diag *diag, const char *line_start)
{
	size_t n = 0;

	if (!diag || !line_start)
		return;
	while (line_start[n] && line_start[n] != '\n' && line_start[n] != '\r')
		n++;
	free(diag->source);
	diag->source = strndup(line_start, n);
}

void nmig_diag_set_hint(struct nmig_diag *diag, const char *fmt, ...)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	va_list ap;

	if (!diag)
		return;
	va_start(ap, fmt);
	nmig_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(diag->hint);
	diag->hint = nmig_buf_detach(&b, NULL);
}

void nmig_diags_add_last_error(struct nmig_diags *d, const char *rule)
{
	const struct nmig_error *e = nmig_error_last();
	struct nmig_diag *item;

	item = nmig_diags_add(d, NMIG_SEV_ERROR,
			      e->code ? e->code : NMIG_ERROR, rule,
			      e->file[0] ? e->file : NULL, e->line, e->col,
			      "%s", e->message);
	if (!item)
		return;
	if (e->source[0])
		nmig_diag_set_source(item, e->source);
	if (e->hint[0])
		nmig_diag_set_hint(item, "%s", e->hint);
}

int nmig_diags_first_error(const struct nmig_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->items[i].severity == NMIG_SEV_ERROR)
			return d->items[i].code ? d->items[i].code : NMIG_ERROR;
	return NMIG_OK;
}

int nmig_diags_raise(const struct nmig_diags *d, size_t from)
{
	const struct nmig_diag *item;
	size_t i;

	for (i = from; i < d->n; i++) {
		item = &d->items[i];
		if (item->severity != NMIG_SEV_ERROR)
			continue;
		nmig_error_set(item->code ? item->code : NMIG_ERROR, "%s",
			       item->message);
		nmig_error_location(item->file, item->line, item->col,
				    item->source);
		if (item->hint)
			nmig_error_hint("%s", item->hint);
		return item->code ? item->code : NMIG_ERROR;
	}
	return NMIG_OK;
}
