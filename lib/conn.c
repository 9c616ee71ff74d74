/*
 * Connecting to PostgreSQL the careful way: a URL is validated with libpq's
 * own parser, resolved against the service file and PG* variables exactly
 * as libpq will resolve it, checked against the TLS policy before any name
 * is looked up, and then connected with backoff for the failures that go
 * away on their own (a Neon compute waking up, a server starting). Every
 * text that could carry the URL passes through nmig_conn_redact so that a
 * password never reaches the user's terminal or CI log.
 */
#include "conn_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "interrupt.h"
#include "interrupt_internal.h"

/* Per-attempt connect_timeout (seconds) when the URL sets none. */
#define CONNECT_ATTEMPT_TIMEOUT 10
#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 4000

static char *xstrdup(const char *s)
{
	return strdup(s ? s : "");
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Case-insensitive substring search (ASCII). */
static const char *find_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++) {
		size_t i = 0;

		while (i < n && hay[i] && lower(hay[i]) == lower(needle[i]))
			i++;
		if (i == n)
			return hay;
	}
	return NULL;
}

static int eq_ci(const char *a, const char *b)
{
	while (*a && lower(*a) == lower(*b)) {
		a++;
		b++;
	}
	return *a == '\0' && *b == '\0';
}

static int ends_with_ci(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && find_ci(s + a - b, suffix) == s + a - b;
}

/* The value of keyword in a PQconninfoOption array, NULL when unset. */
static const char *opt_val(const PQconninfoOption *opts, const char *kw)
{
	if (!opts)
		return NULL;
	for (; opts->keyword; opts++)
		if (strcmp(opts->keyword, kw) == 0)
			return opts->val && *opts->val ? opts->val : NULL;
	return NULL;
}

/* Explicit value, else the default (service file, environment). */
static const char *pick(const PQconninfoOption *expl,
			const PQconninfoOption *defs, const char *kw)
{
	const char *v = opt_val(expl, kw);

	return v ? v : opt_val(defs, kw);
}

/*
 * libpq's defaults with a service named in the URL applied: PQconndefaults
 * reads the service from PGSERVICE, so it is set for the call.
 */
static PQconninfoOption *defaults_for(const char *service)
{
	PQconninfoOption *defs;
	char *saved = NULL;
	const char *old;

	if (!service)
		return PQconndefaults();
	old = getenv("PGSERVICE");
	if (old && !(saved = strdup(old)))
		return NULL;
	setenv("PGSERVICE", service, 1);
	defs = PQconndefaults();
	if (saved)
		setenv("PGSERVICE", saved, 1);
	else
		unsetenv("PGSERVICE");
	free(saved);
	return defs;
}

int nmig_host_is_local(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n;

	if (!host || !*host || host[0] == '/' || host[0] == '@')
		return 1;
	if (eq_ci(host, "localhost") || eq_ci(host, "localhost."))
		return 1;
	n = strlen(host);
	if (host[0] == '[' && n >= 2 && host[n - 1] == ']' &&
	    n - 2 < sizeof(buf)) {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		host = buf;
	}
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		static const unsigned char mapped[12] = {
		    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		if (memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0)
			return 1;
		return memcmp(a6.s6_addr, mapped, 12) == 0 &&
		       a6.s6_addr[12] == 127;
	}
	return 0;
}

/*
 * The n-th element (0-based) of a comma-separated list into buf ("" when
 * the list is shorter). Returns the number of elements in the list.
 */
static size_t list_elem(const char *list, size_t n, char *buf, size_t cap)
{
	size_t count = 0;
	const char *p = list;

	buf[0] = '\0';
	if (!*list)
		return 0;
	for (;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (count == n) {
			if (len >= cap)
				len = cap - 1;
			memcpy(buf, p, len);
			buf[len] = '\0';
		}
		count++;
		if (!e)
			break;
		p = e + 1;
	}
	return count;
}

/* Decide local / remote_host / neon / pooler from host and hostaddr. */
static int classify_hosts(struct nmig_conninfo *ci)
{
	size_t nh, na, n, i;
	char h[1024], a[1024];

	nh = list_elem(ci->host, 0, h, sizeof(h));
	na = list_elem(ci->hostaddr, 0, a, sizeof(a));
	n = nh > na ? nh : na;
	if (n == 0)
		n = 1;
	ci->local = 1;
	for (i = 0; i < n; i++) {
		int local;

		list_elem(ci->host, i, h, sizeof(h));
		list_elem(ci->hostaddr, i, a, sizeof(a));
		local = *a ? nmig_host_is_local(a) : nmig_host_is_local(h);
		if (*h && (ends_with_ci(h, ".neon.tech") ||
			   ends_with_ci(h, ".neon.build")))
			ci->neon = 1;
		if (*h && find_ci(h, "-pooler."))
			ci->pooler = 1;
		if (!local && ci->local) {
			ci->local = 0;
			free(ci->remote_host);
			ci->remote_host = xstrdup(*h ? h : a);
			if (!ci->remote_host)
				return NMIG_ENOMEM;
		}
	}
	return NMIG_OK;
}

static char *redacted_url(const char *url);

/* Set the last error to a malformed-URL error with a redacted message. */
static int malformed_url(const char *url, const char *errmsg)
{
	struct nmig_buf msg = NMIG_BUF_INIT;
	char *red = redacted_url(url), *rerr = NULL;
	PQconninfoOption *ro = red ? PQconninfoParse(red, &rerr) : NULL;

	/*
	 * libpq's message may quote the part it could not read: take it from
	 * the URL with its password fields already blanked, by position.
	 */
	if (ro)
		nmig_buf_puts(&msg, "the password field cannot be read (a bad "
				    "percent-encoding or quote?)");
	else
		nmig_conn_redact(url, rerr ? rerr : errmsg ? errmsg
							  : "cannot parse",
				 &msg);
	if (ro)
		PQconninfoFree(ro);
	if (rerr)
		PQfreemem(rerr);
	free(red);
	while (msg.len &&
	       (msg.ptr[msg.len - 1] == '\n' || msg.ptr[msg.len - 1] == ' '))
		nmig_buf_truncate(&msg, msg.len - 1);
	nmig_error_set(NMIG_ECONNECT, "malformed database URL: %s", msg.ptr);
	nmig_error_hint(
	    "write postgres://USER@HOST:PORT/DBNAME?sslmode=require "
	    "or 'host=... dbname=...' key=value pairs");
	nmig_buf_release(&msg);
	return NMIG_ECONNECT;
}

int nmig_conninfo_parse(struct nmig_conninfo *out, const char *url)
{
	PQconninfoOption *expl = NULL, *defs = NULL;
	char *errmsg = NULL;
	const char *user, *db, *pw;
	int err = NMIG_OK;

	memset(out, 0, sizeof(*out));
	if (!url)
		url = "";
	if (*url) {
		expl = PQconninfoParse(url, &errmsg);
		if (!expl) {
			err = malformed_url(url, errmsg);
			goto cleanup;
		}
	}
	defs = defaults_for(opt_val(expl, "service"));
	if (!defs) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	user = pick(expl, defs, "user");
	db = pick(expl, defs, "dbname");
	pw = opt_val(expl, "password");
	out->url = xstrdup(url);
	out->user = xstrdup(user);
	out->host = xstrdup(pick(expl, defs, "host"));
	out->hostaddr = xstrdup(pick(expl, defs, "hostaddr"));
	out->port = xstrdup(pick(expl, defs, "port"));
	out->dbname = xstrdup(db ? db : user);
	out->sslmode = xstrdup(pick(expl, defs, "sslmode"));
	out->channel_binding = xstrdup(pick(expl, defs, "channel_binding"));
	out->connect_timeout = xstrdup(pick(expl, defs, "connect_timeout"));
	out->remote_host = xstrdup("");
	out->password = pw ? strdup(pw) : NULL;
	if (!out->url || !out->user || !out->host || !out->hostaddr ||
	    !out->port || !out->dbname || !out->sslmode ||
	    !out->channel_binding || !out->connect_timeout ||
	    !out->remote_host || (pw && !out->password)) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	if (!*out->sslmode) {
		free(out->sslmode);
		out->sslmode = xstrdup("prefer");
		if (!out->sslmode) {
			err = nmig_error_set(NMIG_ENOMEM, "out of memory");
			goto cleanup;
		}
	}
	if (classify_hosts(out) != NMIG_OK)
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
cleanup:
	if (err)
		nmig_conninfo_release(out);
	if (errmsg)
		PQfreemem(errmsg);
	if (expl)
		PQconninfoFree(expl);
	if (defs)
		PQconninfoFree(defs);
	return err;
}

void nmig_conninfo_release(struct nmig_conninfo *ci)
{
	free(ci->url);
	free(ci->user);
	free(ci->host);
	free(ci->hostaddr);
	free(ci->port);
	free(ci->dbname);
	free(ci->sslmode);
	free(ci->channel_binding);
	free(ci->connect_timeout);
	if (ci->password) {
		memset(ci->password, 0, strlen(ci->password));
		free(ci->password);
	}
	free(ci->remote_host);
	memset(ci, 0, sizeof(*ci));
}

void nmig_conninfo_display(const struct nmig_conninfo *ci, struct nmig_buf *out)
{
	const char *host = *ci->host ? ci->host : ci->hostaddr;

	nmig_buf_printf(out, "%s@", ci->user);
	if (!*host)
		nmig_buf_puts(out, "[local]");
	else if (strchr(host, ':') && host[0] != '/' && host[0] != '[')
		nmig_buf_printf(out, "[%s]", host);
	else
		nmig_buf_puts(out, host);
	nmig_buf_printf(out, ":%s/%s", *ci->port ? ci->port : "5432",
			ci->dbname);
}

/* The rank of an sslmode: 0 disable .. 5 verify-full, -1 unknown. */
static int sslmode_rank(const char *mode)
{
	static const char *const modes[] = {"disable",	 "allow",
					    "prefer",	 "require",
					    "verify-ca", "verify-full"};
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(mode, modes[i]) == 0)
			return (int)i;
	return -1;
}

int nmig_conn_policy(const struct nmig_conninfo *ci, int allow_insecure,
		     struct nmig_diags *diags)
{
	struct nmig_diag *d;
	int rank = sslmode_rank(ci->sslmode);

	if (!ci->local && rank < 3) {
		if (!allow_insecure) {
			nmig_error_set(
			    NMIG_ECONNECT,
			    "refusing to connect to '%s' without TLS",
			    ci->remote_host);
			if (rank < 0)
				nmig_error_detail("sslmode '%s' is not a known "
						  "mode",
						  ci->sslmode);
			else
				nmig_error_detail("sslmode is '%s'",
						  ci->sslmode);
			nmig_error_hint("add sslmode=require (or verify-full) "
					"to the URL, or pass --allow-insecure");
			return NMIG_ECONNECT;
		}
		if (diags)
			nmig_diags_add(diags, NMIG_SEV_WARNING, NMIG_ECONNECT,
				       "insecure-connection", NULL, 0, 0,
				       "connecting to '%s' without TLS "
				       "(--allow-insecure)",
				       ci->remote_host);
	}
	if (ci->neon && diags &&
	    (strcmp(ci->sslmode, "verify-full") != 0 ||
	     strcmp(ci->channel_binding, "require") != 0)) {
		d = nmig_diags_add(
		    diags, NMIG_SEV_WARNING, NMIG_ECONNECT, "neon-tls", NULL, 0,
		    0,
		    "the Neon connection does not verify the "
		    "server (sslmode '%s', channel_binding '%s')",
		    ci->sslmode,
		    *ci->channel_binding ? ci->channel_binding : "prefer");
		if (d)
			nmig_diag_set_hint(d,
					   "add %s&channel_binding=require to "
					   "the URL",
					   nmig_conn_verify_params());
	}
	if (ci->pooler && diags) {
		d = nmig_diags_add(
		    diags, NMIG_SEV_WARNING, NMIG_ECONNECT, "pooler", NULL, 0,
		    0,
		    "the host is a connection pooler (PgBouncer "
		    "in transaction mode): session advisory locks "
		    "are unreliable there, so nmig relies on its "
		    "version-row guard");
		if (d)
			nmig_diag_set_hint(
			    d, "migrate through the direct "
			       "host (without -pooler) when you can");
	}
	return NMIG_OK;
}

#define MAX_SECRETS 8

/* Where the password values sit in a URL or conninfo string. */
struct secrets {
	size_t off[MAX_SECRETS], len[MAX_SECRETS];
	size_t n;
};

static void add_range(struct secrets *sec, size_t off, size_t len)
{
	if (len && sec->n < MAX_SECRETS) {
		sec->off[sec->n] = off;
		sec->len[sec->n++] = len;
	}
}

/*
 * Find the password fields of url by position: the user info of a URL
 * (user:password@, up to the first '@' as libpq reads it, and up to the
 * last for a password holding '@'), and every password=value of a query
 * string or a key=value string (quoted or not).
 */
static void find_secrets(const char *url, struct secrets *sec)
{
	const char *p, *rest, *end, *colon, *at;

	rest = strstr(url, "://");
	if (rest) {
		rest += 3;
		end = rest + strcspn(rest, "@/?");
		colon = memchr(rest, ':', (size_t)(end - rest));
		at = strrchr(rest, '@');
		if (colon && at && colon < at)
			add_range(sec, (size_t)(colon + 1 - url),
				  (size_t)(at - colon - 1));
	}
	for (p = url; (p = find_ci(p, "password")); p++) {
		const char *v = p + 8;

		while (*v == ' ')
			v++;
		if (*v != '=')
			continue;
		v++;
		while (*v == ' ')
			v++;
		if (*v == '\'') {
			const char *q = v + 1;

			while (*q && *q != '\'')
				q += (*q == '\\' && q[1]) ? 2 : 1;
			add_range(sec, (size_t)(v + 1 - url),
				  (size_t)(q - v - 1));
		} else {
			add_range(sec, (size_t)(v - url), strcspn(v, "& \t\n"));
		}
	}
}

/* url with each password field replaced by "***" (by position). */
static void redact_fields(const char *url, const struct secrets *sec,
			  struct nmig_buf *out)
{
	size_t i = 0, len = strlen(url), k;

	while (i < len) {
		for (k = 0; k < sec->n; k++)
			if (sec->off[k] == i)
				break;
		if (k < sec->n) {
			nmig_buf_puts(out, "***");
			i += sec->len[k];
		} else {
			nmig_buf_putc(out, url[i++]);
		}
	}
}

void nmig_conn_redact(const char *url, const char *text, struct nmig_buf *out)
{
	struct secrets sec;
	struct nmig_buf red = NMIG_BUF_INIT;
	size_t ulen = url ? strlen(url) : 0, k;
	const char *p = text;

	memset(&sec, 0, sizeof(sec));
	if (ulen)
		find_secrets(url, &sec);
	if (sec.n == 0) {
		nmig_buf_puts(out, text);
		return;
	}
	redact_fields(url, &sec, &red);
	/*
	 * Only where the text carries the URL's own fields: the whole URL,
	 * or a password field in its place (":pw@" of a URL's user info,
	 * "password=pw"). Never a search for the password in prose: a
	 * password that is also a word must not blank that word.
	 */
	while (*p) {
		size_t skip = 0;

		if (strncmp(p, url, ulen) == 0) {
			nmig_buf_puts(out, red.ptr);
			p += ulen;
			continue;
		}
		for (k = 0; k < sec.n && !skip; k++) {
			const char *pw = url + sec.off[k];
			size_t n = sec.len[k];
			const char *before = pw - 1;

			/* the byte before the field in the URL (':', '=' or
			 * a quote) must precede it here too */
			if (p[0] == *before && strncmp(p + 1, pw, n) == 0) {
				nmig_buf_putc(out, p[0]);
				nmig_buf_puts(out, "***");
				skip = 1 + n;
			}
		}
		if (skip)
			p += skip;
		else
			nmig_buf_putc(out, *p++);
	}
	if (red.cap)
		memset(red.ptr, 0, red.len);
	nmig_buf_release(&red);
}

/* A copy of url with its password fields replaced by "***". */
static char *redacted_url(const char *url)
{
	struct secrets sec;
	struct nmig_buf b = NMIG_BUF_INIT;

	memset(&sec, 0, sizeof(sec));
	find_secrets(url, &sec);
	redact_fields(url, &sec, &b);
	return nmig_buf_detach(&b, NULL);
}

int nmig_conn_error_is_transient(const char *message)
{
	static const char *const never[] = {
	    "authentication failed",
	    "no password supplied",
	    "password is required",
	    "could not translate host name",
	    "does not exist",
	    "does not support ssl",
	    "certificate",
	    "channel binding",
	    "no pg_hba.conf entry",
	    "permission denied",
	    "invalid",
	    "unsupported",
	    "not permitted to log in",
	    "ssl error",
	};
	static const char *const transient[] = {
	    "connection refused",
	    "timeout expired",
	    "timed out",
	    "the database system is starting up",
	    "the database system is in recovery mode",
	    "too many connections",
	    "too many clients",
	    "remaining connection slots are reserved",
	    "compute node",
	    "wake compute",
	    "compute is starting",
	    "server closed the connection unexpectedly",
	    "connection reset by peer",
	    "please retry",
	};
	size_t i;

	if (!message)
		return 0;
	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		if (find_ci(message, never[i]))
			return 0;
	for (i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
		if (find_ci(message, transient[i]))
			return 1;
	return 0;
}

int nmig_duration_parse(const char *s, const char *what, int *ms)
{
	char *end;
	double v, mult;

	if (!s || !*s)
		goto bad;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || v < 0 || !(v == v) || s[0] == '-' ||
	    s[0] == '+' || s[0] == ' ')
		goto bad;
	if (*end == '\0' || strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "s") == 0 || strcmp(end, "sec") == 0)
		mult = 1000;
	else if (strcmp(end, "min") == 0 || strcmp(end, "m") == 0)
		mult = 60000;
	else if (strcmp(end, "h") == 0)
		mult = 3600000;
	else
		goto bad;
	v *= mult;
	if (v > (double)INT_MAX)
		goto bad;
	*ms = (int)(v + 0.5);
	return NMIG_OK;
bad:
	nmig_error_set(NMIG_EUSAGE, "invalid duration '%s' for %s", s ? s : "",
		       what);
	nmig_error_hint("write a number with a unit: 500ms, 5s, 2min "
			"(a plain number is milliseconds)");
	return NMIG_EUSAGE;
}

/* libpq notice receiver: hand the notice to the caller's callback. */
static void notice_receiver(void *arg, const PGresult *res)
{
	struct nmig_conn *c = arg;
	const char *sev, *msg;

	if (!c->on_notice)
		return;
	sev = PQresultErrorField(res, PG_DIAG_SEVERITY);
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (!msg)
		msg = PQresultErrorMessage(res);
	c->on_notice(c->ud, sev ? sev : "NOTICE", msg);
}

/* A pseudo-random number in [0, n) for jitter. */
static int jitter(int n)
{
	static unsigned long long state;

	if (n <= 0)
		return 0;
	if (!state) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		state = ((unsigned long long)ts.tv_nsec << 20) ^
			(unsigned long long)ts.tv_sec ^
			((unsigned long long)getpid() << 40) ^
			0x9e3779b97f4a7c15ULL;
	}
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return (int)(state % (unsigned long long)n);
}

/*
 * Record a connection failure: message (redacted, first line), the rest of
 * libpq's text as detail, and a hint fitting the cause.
 */
static int connect_error(struct nmig_conn *c, const char *pqmsg, int attempts,
			 double elapsed_ms)
{
	struct nmig_buf red = NMIG_BUF_INIT, where = NMIG_BUF_INIT;
	char *nl;
	const char *rest = NULL;

	nmig_conn_redact(c->info.url, pqmsg, &red);
	while (red.len &&
	       (red.ptr[red.len - 1] == '\n' || red.ptr[red.len - 1] == ' '))
		nmig_buf_truncate(&red, red.len - 1);
	nl = strchr(red.ptr, '\n');
	if (nl) {
		*nl = '\0';
		rest = nl + 1;
	}
	nmig_conninfo_display(&c->info, &where);
	nmig_error_set(NMIG_ECONNECT, "cannot connect to '%s': %s", where.ptr,
		       red.ptr);
	if (rest) {
		while (*rest == '\t' || *rest == ' ')
			rest++;
		if (*rest)
			nmig_error_detail("%s", rest);
	}
	if (attempts > 1)
		nmig_error_detail("gave up after %d attempts in %.1f s",
				  attempts, elapsed_ms / 1000.0);
	if (find_ci(pqmsg, "password authentication failed") ||
	    find_ci(pqmsg, "no password supplied"))
		nmig_error_hint("check the user and password in the database "
				"URL (or PGPASSWORD / ~/.pgpass)");
	else if (find_ci(pqmsg, "could not translate host name"))
		nmig_error_hint("check the host name in the database URL");
	else if (find_ci(pqmsg, "certificate"))
		nmig_error_hint("the server's certificate could not be "
				"verified: name the CA with sslrootcert= in the "
				"URL (%s for a public CA such as Neon's)",
				nmig_conn_verify_params());
	else if (find_ci(pqmsg, "does not support ssl"))
		nmig_error_hint("the server does not offer TLS; use a server "
				"that does, or sslmode=disable for a local "
				"test server");
	else if (find_ci(pqmsg, "connection refused") && c->info.local)
		nmig_error_hint("nothing listens there: is the server running, "
				"and on port %s? (a refused local port is not "
				"retried)",
				*c->info.port ? c->info.port : "5432");
	else if (find_ci(pqmsg, "connection refused") ||
		 find_ci(pqmsg, "timeout"))
		nmig_error_hint("check that the server is running and reachable"
				"; --connect-timeout sets how long nmig "
				"retries");
	else if (find_ci(pqmsg, "database") && find_ci(pqmsg, "does not exist"))
		nmig_error_hint(
		    "create the database first, or fix the database "
		    "name in the URL");
	nmig_buf_release(&red);
	nmig_buf_release(&where);
	return NMIG_ECONNECT;
}

/* Debian's bundle of the system's CA certificates. */
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

const char *nmig_conn_verify_params(void)
{
	if (PQlibVersion() >= 160000)
		return "sslmode=verify-full&sslrootcert=system";
	return "sslmode=verify-full&sslrootcert=" SYSTEM_CA_BUNDLE;
}

/* Fill display from the live session. */
static int session_display(struct nmig_conn *c)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	const char *host = PQhost(c->pg), *port = PQport(c->pg);

	nmig_buf_printf(&b, "%s@", PQuser(c->pg) ? PQuser(c->pg) : "");
	if (!host || !*host)
		nmig_buf_puts(&b, "[local]");
	else if (strchr(host, ':') && host[0] != '/')
		nmig_buf_printf(&b, "[%s]", host);
	else
		nmig_buf_puts(&b, host);
	nmig_buf_printf(&b, ":%s/%s", port && *port ? port : "5432",
			PQdb(c->pg) ? PQdb(c->pg) : "");
	c->display = nmig_buf_detach(&b, NULL);
	return c->display ? NMIG_OK
			  : nmig_error_set(NMIG_ENOMEM, "out of memory");
}

int nmig_conn_open(struct nmig_conn **out, const char *url,
		   const struct nmig_conn_opts *opts, struct nmig_diags *diags)
{
	struct nmig_conn *c;
	const char *kw[6], *val[6];
	char timeout[16];
	double start, elapsed;
	int err, delay = BACKOFF_FIRST_MS, total;
	char *lastmsg = NULL;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	c->on_notice = opts ? opts->on_notice : NULL;
	c->ud = opts ? opts->ud : NULL;
	total = opts ? opts->connect_timeout_ms : 15000;
	err = nmig_conninfo_parse(&c->info, url);
	if (err)
		goto cleanup;
	err =
	    nmig_conn_policy(&c->info, opts ? opts->allow_insecure : 0, diags);
	if (err)
		goto cleanup;
	start = nmig_clock_ms();
	for (;;) {
		int n = 0, wait;

		kw[n] = "fallback_application_name";
		val[n++] = "nmig";
		kw[n] = "client_encoding";
		val[n++] = "UTF8";
		if (!*c->info.connect_timeout) {
			double left = (double)total - (nmig_clock_ms() - start);
			int secs = (int)ceil(left / 1000.0);

			if (secs > CONNECT_ATTEMPT_TIMEOUT || total <= 0)
				secs = CONNECT_ATTEMPT_TIMEOUT;
			if (secs < 2)
				secs = 2;
			snprintf(timeout, sizeof(timeout), "%d", secs);
			kw[n] = "connect_timeout";
			val[n++] = timeout;
		}
		if (*c->info.url) {
			kw[n] = "dbname";
			val[n++] = c->info.url;
		}
		kw[n] = NULL;
		val[n] = NULL;
		c->attempts++;
		c->pg = PQconnectdbParams(kw, val, 1);
		if (!c->pg) {
			err = nmig_error_set(NMIG_ENOMEM, "out of memory");
			goto cleanup;
		}
		if (PQstatus(c->pg) == CONNECTION_OK)
			break;
		free(lastmsg);
		lastmsg = strdup(PQerrorMessage(c->pg));
		PQfinish(c->pg);
		c->pg = NULL;
		if (!lastmsg) {
			err = nmig_error_set(NMIG_ENOMEM, "out of memory");
			goto cleanup;
		}
		elapsed = nmig_clock_ms() - start;
		/*
		 * A refused local port is a server that is not running, not a
		 * Neon compute waking up: fail at once.
		 */
		if (!nmig_conn_error_is_transient(lastmsg) ||
		    (c->info.local && find_ci(lastmsg, "connection refused")) ||
		    elapsed >= (double)total) {
			err = connect_error(c, lastmsg, c->attempts, elapsed);
			goto cleanup;
		}
		wait = jitter(delay) + 1;
		if ((double)wait > (double)total - elapsed)
			wait = (int)((double)total - elapsed) + 1;
		if (opts && opts->on_retry) {
			struct nmig_buf red = NMIG_BUF_INIT;

			nmig_conn_redact(c->info.url, lastmsg, &red);
			opts->on_retry(opts->ud, c->attempts, wait, red.ptr);
			nmig_buf_release(&red);
		}
		nmig_clock_sleep_ms(wait);
		if (nmig_interrupt_pending()) {
			err = nmig_interrupt_error("while connecting");
			goto cleanup;
		}
		delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
	}
	PQsetNoticeReceiver(c->pg, notice_receiver, c);
	c->cancel = PQgetCancel(c->pg);
	err = session_display(c);
cleanup:
	free(lastmsg);
	if (err) {
		nmig_conn_close(c);
		return err;
	}
	*out = c;
	return NMIG_OK;
}

void nmig_conn_close(struct nmig_conn *c)
{
	if (!c)
		return;
	if (nmig_interrupt_watching(c))
		nmig_interrupt_watch(NULL);
	if (c->cancel)
		PQfreeCancel(c->cancel);
	if (c->pg)
		PQfinish(c->pg);
	nmig_conninfo_release(&c->info);
	free(c->display);
	free(c);
}

int nmig_conn_lost(const struct nmig_conn *c)
{
	return !c->pg || PQstatus(c->pg) == CONNECTION_BAD;
}

void nmig_conn_count_roundtrip(struct nmig_conn *c)
{
	c->roundtrips++;
}

int nmig_conn_result_error(const PGresult *res, int code, const char *prefix)
{
	const char *primary = NULL, *state, *detail, *hint, *context;
	char *msg = NULL;
	size_t len;

	if (res)
		primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (!primary && res)
		primary = PQresultErrorMessage(res);
	if (!primary || !*primary)
		primary = "unknown error";
	msg = strdup(primary);
	if (msg) {
		len = strlen(msg);
		while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
			msg[--len] = '\0';
	}
	if (prefix && *prefix)
		nmig_error_set(code, "%s: %s", prefix, msg ? msg : primary);
	else
		nmig_error_set(code, "%s", msg ? msg : primary);
	free(msg);
	if (!res)
		return code;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	context = PQresultErrorField(res, PG_DIAG_CONTEXT);
	if (state)
		nmig_error_sqlstate(state);
	if (detail)
		nmig_error_detail("%s", detail);
	if (context)
		nmig_error_detail("context: %s", context);
	if (hint)
		nmig_error_hint("%s", hint);
	return code;
}

/* Record that the connection dropped while doing what. */
static int lost_error(struct nmig_conn *c, const char *what)
{
	struct nmig_buf red = NMIG_BUF_INIT;

	nmig_conn_redact(c->info.url, c->pg ? PQerrorMessage(c->pg) : "", &red);
	while (red.len &&
	       (red.ptr[red.len - 1] == '\n' || red.ptr[red.len - 1] == ' '))
		nmig_buf_truncate(&red, red.len - 1);
	nmig_error_set(NMIG_ECONNECT, "%s: connection lost%s%s", what,
		       red.len ? ": " : "", red.ptr);
	nmig_buf_release(&red);
	return NMIG_ECONNECT;
}

int nmig_conn_query(struct nmig_conn *c, const char *what, const char *sql,
		    int nparams, const char *const *params, PGresult **out)
{
	PGresult *res;
	ExecStatusType st;
	int err;

	if (out)
		*out = NULL;
	if (!c->pg)
		return lost_error(c, what);
	c->roundtrips++;
	if (nparams > 0)
		res = PQexecParams(c->pg, sql, nparams, NULL, params, NULL,
				   NULL, 0);
	else
		res = PQexec(c->pg, sql);
	if (!res) {
		if (nmig_conn_lost(c))
			return lost_error(c, what);
		return nmig_error_set(NMIG_ENOMEM, "%s: out of memory", what);
	}
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ||
	    st == PGRES_EMPTY_QUERY) {
		if (out)
			*out = res;
		else
			PQclear(res);
		return NMIG_OK;
	}
	if (nmig_conn_lost(c) && !PQresultErrorField(res, PG_DIAG_SQLSTATE)) {
		PQclear(res);
		return lost_error(c, what);
	}
	err = nmig_conn_result_error(
	    res, nmig_conn_lost(c) ? NMIG_ECONNECT : NMIG_ERROR, what);
	if (nmig_interrupt_pending() && strcmp(nmig_error_last()->sqlstate,
					       "57014") == 0)
		err = nmig_interrupt_error(what);
	PQclear(res);
	return err;
}

int nmig_conn_query_all(struct nmig_conn *c, const char *what, const char *sql,
			PGresult **res, int max, int *n)
{
	PGresult *r, *failed = NULL;
	int err = NMIG_OK;

	*n = 0;
	if (!c->pg)
		return lost_error(c, what);
	c->roundtrips++;
	if (!PQsendQuery(c->pg, sql))
		return lost_error(c, what);
	while ((r = PQgetResult(c->pg))) {
		ExecStatusType st = PQresultStatus(r);

		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
		    st != PGRES_EMPTY_QUERY) {
			if (!failed)
				failed = r;
			else
				PQclear(r);
			continue;
		}
		if (*n < max && !failed)
			res[(*n)++] = r;
		else
			PQclear(r);
	}
	if (failed) {
		if (nmig_conn_lost(c) &&
		    !PQresultErrorField(failed, PG_DIAG_SQLSTATE))
			err = lost_error(c, what);
		else
			err = nmig_conn_result_error(
			    failed, nmig_conn_lost(c) ? NMIG_ECONNECT
						      : NMIG_ERROR,
			    what);
		if (err != NMIG_ECONNECT && nmig_interrupt_pending() &&
		    strcmp(nmig_error_last()->sqlstate, "57014") == 0)
			err = nmig_interrupt_error(what);
		PQclear(failed);
	} else if (nmig_conn_lost(c)) {
		err = lost_error(c, what);
	}
	return err;
}

/* NULL as "". */
static const char *or_empty(const char *s)
{
	return s ? s : "";
}

void nmig_conn_where(const struct nmig_conn *c, const char **host,
		     const char **port, const char **dbname,
		     const char **user)
{
	*host = or_empty(c->pg ? PQhost(c->pg) : NULL);
	*port = or_empty(c->pg ? PQport(c->pg) : NULL);
	*dbname = or_empty(c->pg ? PQdb(c->pg) : NULL);
	*user = or_empty(c->pg ? PQuser(c->pg) : NULL);
}

const char *nmig_conn_display(const struct nmig_conn *c)
{
	return c->display;
}

const struct nmig_conninfo *nmig_conn_info(const struct nmig_conn *c)
{
	return &c->info;
}

int nmig_conn_attempts(const struct nmig_conn *c)
{
	return c->attempts;
}

long nmig_conn_roundtrips(const struct nmig_conn *c)
{
	return c->roundtrips;
}

int nmig_conn_pooled(const struct nmig_conn *c)
{
	return c->pooled;
}

int nmig_conn_exec(struct nmig_conn *c, const char *what, const char *sql)
{
	return nmig_conn_query(c, what, sql, 0, NULL, NULL);
}

/* nmig_interrupt_watch: see conn.h. */
void nmig_interrupt_watch(struct nmig_conn *c)
{
	nmig_interrupt_arm(c ? c->cancel : NULL, c);
}

/* nmig_interrupt_watching: see conn.h. */
int nmig_interrupt_watching(const struct nmig_conn *c)
{
	return c && nmig_interrupt_armed_by() == c;
}
