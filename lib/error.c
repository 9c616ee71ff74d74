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

int nmig_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	memset(&last, 0, sizeof(last));
	last.code = code;
	va_start(ap, fmt);
	vfill(last.message, sizeof(last.message), fmt, ap);
	va_end(ap);
	return code;
}

void nmig_error_detail(const char *fmt, ...)
{
	va_list ap;
	size_t len = strlen(last.detail);

	if (len && len + 1 < sizeof(last.detail)) {
		last.detail[len++] = '\n';
		last.detail[len] = '\0';
	}
	va_start(ap, fmt);
	vfill(last.detail + len, sizeof(last.detail) - len, fmt, ap);
	va_end(ap);
}

void nmig_error_hint(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfill(last.hint, sizeof(last.hint), fmt, ap);
	va_end(ap);
}

void nmig_error_sqlstate(const char *sqlstate)
{
	snprintf(last.sqlstate, sizeof(last.sqlstate), "%s",
		 sqlstate ? sqlstate : "");
}

void nmig_error_location(const char *file, int line, int col,
			 const char *source)
{
	size_t n = 0;

	snprintf(last.file, sizeof(last.file), "%s", file ? file : "");
	last.line = line;
	last.col = col;
	last.source[0] = '\0';
	if (!source)
		return;
	while (source[n] && source[n] != '\n' && source[n] != '\r' &&
	       n + 1 < sizeof(last.source))
		n++;
	memcpy(last.source, source, n);
	last.source[n] = '\0';
}

const struct nmig_error *nmig_error_last(void)
{
	return &last;
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
	default:
		return "error";
	}
}
