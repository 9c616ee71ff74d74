/*
 * The per-thread last error of libnmig: see error.h.
 */
#include "error.h"

#include <stdio.h>
#include <string.h>

static _Thread_local struct nmig_error last;

static void vfill(char *dst, size_t cap, const char *fmt, va_list ap)
{
	vsnprintf(dst, cap, fmt, ap);
}

/*
 * The arguments may point into the last error itself (a caller wrapping the
 * previous message, e.g. "%s", nmig_error_last()->message), so every
 * setter formats into a scratch buffer before it touches the last error.
 */
int nmig_error_set(int code, const char *fmt, ...)
{
	char msg[sizeof(last.message)];
	va_list ap;

	va_start(ap, fmt);
	vfill(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memset(&last, 0, sizeof(last));
	last.code = code;
	memcpy(last.message, msg, sizeof(msg));
	return code;
}

void nmig_error_detail(const char *fmt, ...)
{
	char msg[sizeof(last.detail)];
	va_list ap;
	size_t len = strlen(last.detail);

	va_start(ap, fmt);
	vfill(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (len && len + 1 < sizeof(last.detail)) {
		last.detail[len++] = '\n';
		last.detail[len] = '\0';
	}
	snprintf(last.detail + len, sizeof(last.detail) - len, "%s", msg);
}

void nmig_error_hint(const char *fmt, ...)
{
	char msg[sizeof(last.hint)];
	va_list ap;

	va_start(ap, fmt);
	vfill(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(last.hint, msg, sizeof(msg));
}

void nmig_error_sqlstate(const char *sqlstate)
{
	snprintf(last.sqlstate, sizeof(last.sqlstate), "%s",
		 sqlstate ? sqlstate : "");
}

void nmig_error_location(const char *file, int line, int col,
			 const char *source)
{
	char f[sizeof(last.file)];
	char src[sizeof(last.source)];
	size_t n = 0;

	/* file and source may point into last: copy them out first */
	snprintf(f, sizeof(f), "%s", file ? file : "");
	if (source) {
		while (source[n] && source[n] != '\n' && source[n] != '\r' &&
		       n + 1 < sizeof(src))
			n++;
		/* cut a long line at a character boundary, not inside one */
		while (n && ((unsigned char)source[n] & 0xC0) == 0x80)
			n--;
	}
	if (n)
		memcpy(src, source, n);
	src[n] = '\0';
	memcpy(last.file, f, sizeof(f));
	memcpy(last.source, src, sizeof(src));
	last.line = line;
	last.col = col;
}

const struct nmig_error *nmig_error_last(void)
{
	return &last;
}

int nmig_error_restore(const struct nmig_error *saved)
{
	if (saved != &last)
		last = *saved;
	return last.code;
}

void nmig_error_clear(void)
{
	memset(&last, 0, sizeof(last));
}

const char *nmig_code_name(int code)
{
	switch (code) {
	case NMIG_OK:
		return "ok";
	case NMIG_ENOMEM:
		return "out of memory";
	case NMIG_EIO:
		return "io";
	case NMIG_EUSAGE:
		return "usage";
	case NMIG_EINPUT:
		return "input";
	case NMIG_EGRAPH:
		return "graph";
	case NMIG_ENOTFOUND:
		return "not found";
	case NMIG_EAMBIGUOUS:
		return "ambiguous";
	case NMIG_ESTATE:
		return "state";
	case NMIG_ECONFIG:
		return "config";
	case NMIG_ECONNECT:
		return "connect";
	case NMIG_ESQL:
		return "sql";
	case NMIG_ELOCKED:
		return "locked";
	case NMIG_EEXISTS:
		return "exists";
	case NMIG_EPRODUCTION:
		return "production";
	case NMIG_EINTERRUPTED:
		return "interrupted";
	default:
		return "error";
	}
}
