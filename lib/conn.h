/*
 * The connection to PostgreSQL: URL / conninfo parsing and validation, the
 * TLS policy (a remote host needs sslmode=require or stronger), Neon and
 * pooler detection, password redaction, and connecting with retries and
 * backoff for transient failures (Neon cold starts, a server starting up).
 * Every query nmig sends goes through nmig_conn_query or is counted with
 * nmig_conn_count_roundtrip, so a run can report its network round trips.
 * Nothing here prints: warnings go to a diags list, server notices to a
 * callback.
 */
#ifndef NMIG_CONN_H
#define NMIG_CONN_H

#include "buf.h"
#include "diag.h"

/*
 * Where a URL (or libpq's PG* variables and service file, for an empty URL)
 * points, resolved before any connection: explicit URL values, then the
 * service file, then the environment, then libpq's defaults. Strings are
 * never NULL ("" when unknown) except password.
 */
struct nmig_conninfo {
	char *url; /* as given ("" = libpq's environment) */
	char *user;
	char *host;	/* may be a comma-separated list */
	char *hostaddr; /* may be a comma-separated list */
	char *port;
	char *dbname;
	char *sslmode; /* effective: "prefer" when not set */
	char *channel_binding;
	char *connect_timeout; /* "" when not given */
	char *password;	       /* explicit in the URL, NULL if none */
	int local;	       /* every host is a socket or loopback */
	char *remote_host;     /* the first non-local host, "" when local */
	int neon;	       /* a *.neon.tech / *.neon.build host */
	int pooler;	       /* a "-pooler." host (PgBouncer, transaction) */
};

/*
 * Parse url (NULL or "" = libpq's environment) with PQconninfoParse and
 * fill the effective values. A malformed URL is NMIG_ECONNECT with libpq's
 * message, any password in it redacted.
 */
int nmig_conninfo_parse(struct nmig_conninfo *out, const char *url);
void nmig_conninfo_release(struct nmig_conninfo *ci);

/* Append `user@host:port/dbname` (never a password) to out. */
void nmig_conninfo_display(const struct nmig_conninfo *ci,
			   struct nmig_buf *out);

/*
 * 1 when host is local: empty (the default socket), a socket directory
 * (starting with '/' or '@'), localhost, 127.0.0.0/8 or ::1.
 */
int nmig_host_is_local(const char *host);

/*
 * The TLS policy, decided before connecting (no name is resolved): a
 * non-local host with sslmode weaker than require is refused with
 * NMIG_ECONNECT unless allow_insecure. Neon hosts without verify-full or
 * channel_binding=require, and pooler hosts, add warnings to diags.
 */
int nmig_conn_policy(const struct nmig_conninfo *ci, int allow_insecure,
		     struct nmig_diags *diags);

/*
 * The URL parameters that verify a server with a public CA certificate
 * (Neon's) on the libpq nmig runs with: "sslmode=verify-full&sslrootcert=
 * system" from libpq 16 on; before, sslrootcert names the system bundle
 * (Debian's /etc/ssl/certs/ca-certificates.crt), as libpq 15 knows no
 * "system".
 */
const char *nmig_conn_verify_params(void);

/*
 * Append text to out with every form of the password that url carries
 * (decoded, percent-encoded, and the raw user-info of a URL libpq could
 * not parse) replaced by "***".
 */
void nmig_conn_redact(const char *url, const char *text, struct nmig_buf *out);

/*
 * 1 when a connection failure message is worth retrying: connection
 * refused, timeouts, a server starting up, too many connections, Neon's
 * compute wake-up. Authentication, unknown hosts and databases, TLS: 0.
 */
int nmig_conn_error_is_transient(const char *message);

/*
 * Parse a duration: `500ms`, `5s`, `2min`, `1h`, a plain number = ms.
 * NMIG_EUSAGE naming what (e.g. "--lock-timeout") when malformed.
 */
int nmig_duration_parse(const char *s, const char *what, int *ms);

struct nmig_conn_opts {
	int connect_timeout_ms; /* total time to keep retrying */
	int allow_insecure;	/* skip the TLS policy refusal */
	/* Server notices (severity e.g. "NOTICE", message); may be NULL. */
	void (*on_notice)(void *ud, const char *severity, const char *message);
	/* A transient failure before retrying in wait_ms; may be NULL. */
	void (*on_retry)(void *ud, int attempt, int wait_ms,
			 const char *message);
	void *ud;
};

/*
 * A connection (opaque): made by nmig_conn_open, used by the library's
 * operations, freed by nmig_conn_close.
 */
struct nmig_conn;

/* user@host:port/dbname of the session (never a password). */
const char *nmig_conn_display(const struct nmig_conn *c);

/* What the URL resolved to (host, TLS mode, Neon / pooler by name). */
const struct nmig_conninfo *nmig_conn_info(const struct nmig_conn *c);

/* Connection attempts made by nmig_conn_open (retries included). */
int nmig_conn_attempts(const struct nmig_conn *c);

/* Queries sent and waited for on c so far: its network round trips. */
long nmig_conn_roundtrips(const struct nmig_conn *c);

/*
 * 1 when a pooler was seen in between by behaviour: the backend pid the
 * connection reports differs from the server's pg_backend_pid() (known
 * after an operation compared them, e.g. nmig_state_open).
 */
int nmig_conn_pooled(const struct nmig_conn *c);

/*
 * Connect to url (NULL or "" = libpq's environment): parse, apply the TLS
 * policy, then PQconnectdbParams (expand_dbname, fallback_application_name
 * nmig, client_encoding UTF8, connect_timeout 10 unless the URL sets one)
 * with exponential backoff and full jitter for transient failures until
 * opts->connect_timeout_ms has passed. Failures are NMIG_ECONNECT with a
 * message naming user@host:port/dbname and libpq's reason, redacted, and
 * leave *out NULL. Policy warnings go to diags (may be NULL).
 */
int nmig_conn_open(struct nmig_conn **out, const char *url,
		   const struct nmig_conn_opts *opts, struct nmig_diags *diags);
void nmig_conn_close(struct nmig_conn *c);



/* Count a round trip made outside nmig_conn_query (a batch). */
void nmig_conn_count_roundtrip(struct nmig_conn *c);


/*
 * Run sql (one or several statements; results discarded) in one round
 * trip. A failure sets the last error "<what>: <server message>" with
 * SQLSTATE, detail and hint: NMIG_ERROR, or NMIG_ECONNECT when the
 * connection was lost.
 */
int nmig_conn_exec(struct nmig_conn *c, const char *what, const char *sql);

/*
 * Where the session is, as libpq reports it (never NULL; "" when
 * unknown): host, port, database and user, e.g. for the plan cache's
 * database key. Pointers valid while c is open.
 */
void nmig_conn_where(const struct nmig_conn *c, const char **host,
		     const char **port, const char **dbname,
		     const char **user);

/* 1 when the connection is gone (server closed it, network dropped). */
int nmig_conn_lost(const struct nmig_conn *c);

/*
 * Make c the connection whose running query an interrupt request
 * (interrupt.h) cancels (NULL: none).
 * Not async-signal-safe: call it from the thread that runs the operation.
 */
void nmig_interrupt_watch(struct nmig_conn *c);

/* 1 when c is the watched connection. */
int nmig_interrupt_watching(const struct nmig_conn *c);

#endif
