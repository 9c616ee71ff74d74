/*
 * Secret heuristics: whether a text or a finding may hold a password, so
 * that the plan cache never stores it (the cache and the revision loader
 * both ask, so the test lives here rather than in either of them).
 */
#include "secret.h"

#include <string.h>

/* ASCII lower case of c. */
static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Whether the lower-case word w starts at p (before end), in any case. */
static int word_at(const char *p, const char *end, const char *w)
{
	for (; *w; w++, p++)
		if (p >= end || lower((unsigned char)*p) != *w)
			return 0;
	return 1;
}

/* Whether the URL authority after "://" at p holds `user:secret@`. */
static int url_password(const char *p, const char *end, const char **next)
{
	const char *q = p, *colon = NULL;

	for (; q < end && !strchr("/?# \t\r\n'\"", *q); q++) {
		if (*q == ':' && !colon)
			colon = q;
		if (*q == '@') {
			*next = q;
			return colon != NULL;
		}
	}
	*next = q;
	return 0;
}

int nmig_secret_may_hold(const char *text, size_t len)
{
	const char *p = text, *end = text + len, *next;

	if (!text)
		return 0;
	while (p < end) {
		int c = lower((unsigned char)*p);

		if ((c == 'p' &&
		     (word_at(p, end, "passw") || word_at(p, end, "pwd"))))
			return 1;
		if (c == ':' && word_at(p, end, "://")) {
			if (url_password(p + 3, end, &next))
				return 1;
			p = next;
			continue;
		}
		p++;
	}
	return 0;
}

/* nmig_sqlcheck_may_hold_secret over a NUL-terminated string. */
static int str_secret(const char *s)
{
	return s && nmig_secret_may_hold(s, strlen(s));
}

int nmig_secret_in_diags(const struct nmig_diag *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (str_secret(items[i].message) ||
		    str_secret(items[i].source) || str_secret(items[i].hint))
			return 1;
	return 0;
}
