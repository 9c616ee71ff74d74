/*
 * A TCP relay on loopback that delays every chunk by a fixed number of
 * milliseconds in each direction, so that benchmarks can measure how a
 * client behaves over a WAN-like link on kernels without netem. One
 * process, one poll() loop, any number of connections: each chunk read
 * from one side is queued with its arrival time and written to the other
 * side no earlier than arrival + DELAY_MS, in order. A half-close (EOF) is
 * forwarded as shutdown(SHUT_WR) after the same delay; an error on either
 * side aborts both. It listens on 127.0.0.1 only and connects only to the
 * loopback target it was given (a numeric address or localhost). SIGTERM /
 * SIGINT end it cleanly.
 *
 * usage: relay LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS
 * With LISTEN_PORT 0 the kernel picks a port and `port N` is printed on
 * stdout (then flushed) before serving.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_MAX 65536
/* Stop reading a side while this much is queued towards the other. */
#define QUEUE_CAP (4 * 1024 * 1024)

/* One chunk in flight; len 0 marks the forwarded EOF. */
struct chunk {
	struct chunk *next;
	int64_t due_us;
	size_t len, off;
	unsigned char data[];
};

/* One direction of a connection: bytes read from src, written to dst. */
struct dir {
	struct chunk *head, *tail;
	size_t queued;
	int eof_read;  /* src sent EOF (queued as a len-0 chunk) */
	int shut_done; /* the EOF has been forwarded to dst */
};

struct conn {
	int fd[2];	 /* 0: client, 1: target */
	int connected;	 /* the connect() to the target completed */
	struct dir d[2]; /* d[0]: client -> target, d[1]: target -> client */
};

static volatile sig_atomic_t stop;
static int64_t delay_us;
static int wake_pipe[2] = {-1, -1};

/* Sets stop and wakes poll() through the self-pipe (no lost wake-up). */
static void on_signal(int sig)
{
	int saved = errno;

	(void)sig;
	stop = 1;
	if (write(wake_pipe[1], "x", 1) < 0) {
		/* the pipe is full: poll() will wake anyway */
	}
	errno = saved;
}

/* Monotonic time in microseconds. */
static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

static void set_nodelay(int fd)
{
	int one = 1;

	/* Nagle would add its own delay on top of ours. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Whether a resolved address is on loopback (127.0.0.0/8 or ::1). */
static int is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;

		return memcmp(&in6->sin6_addr, &in6addr_loopback,
			      sizeof(in6addr_loopback)) == 0;
	}
	return 0;
}

static void dir_free(struct dir *d)
{
	struct chunk *c = d->head;

	while (c) {
		struct chunk *next = c->next;

		free(c);
		c = next;
	}
	d->head = d->tail = NULL;
	d->queued = 0;
}

/* Queue len bytes (len 0: the EOF marker) due delay_us from now. */
static int dir_push(struct dir *d, const unsigned char *buf, size_t len)
{
	struct chunk *c = malloc(sizeof(*c) + len);

	if (!c)
		return -1;
	c->next = NULL;
	c->due_us = now_us() + delay_us;
	c->len = len;
	c->off = 0;
	if (len)
		memcpy(c->data, buf, len);
	if (d->tail)
		d->tail->next = c;
	else
		d->head = c;
	d->tail = c;
	d->queued += len;
	return 0;
}

/*
 * Close both sides. abort: reset them (SO_LINGER 0) so that an error on
 * one side is seen as an error, not as a clean EOF, on the other.
 */
static void conn_close(struct conn *c, int abort)
{
	for (int i = 0; i < 2; i++) {
		dir_free(&c->d[i]);
		if (c->fd[i] < 0)
			continue;
		if (abort) {
			struct linger lg = {1, 0};

			setsockopt(c->fd[i], SOL_SOCKET, SO_LINGER, &lg,
				   sizeof(lg));
		}
		close(c->fd[i]);
		c->fd[i] = -1;
	}
}

/*
 * Read what src has into direction i. Returns 0, or -1 when the
 * connection must be aborted.
 */
static int conn_read(struct conn *c, int i)
{
	unsigned char buf[CHUNK_MAX];
	struct dir *d = &c->d[i];
	ssize_t n = recv(c->fd[i], buf, sizeof(buf), 0);

	if (n > 0)
		return dir_push(d, buf, (size_t)n);
	if (n == 0) {
		d->eof_read = 1;
		return dir_push(d, NULL, 0);
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	return -1;
}

/*
 * Write the due chunks of direction i to its destination. Returns 0, or
 * -1 when the connection must be aborted.
 */
static int conn_write(struct conn *c, int i, int64_t now)
{
	struct dir *d = &c->d[i];
	int dst = c->fd[1 - i];

	while (d->head && d->head->due_us <= now) {
		struct chunk *ch = d->head;

		if (ch->len == 0) {
			shutdown(dst, SHUT_WR);
			d->shut_done = 1;
		} else {
			ssize_t n = send(dst, ch->data + ch->off,
					 ch->len - ch->off, MSG_NOSIGNAL);

			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK ||
				    errno == EINTR)
					return 0;
				return -1;
			}
			ch->off += (size_t)n;
			d->queued -= (size_t)n;
			if (ch->off < ch->len)
				return 0;
		}
		d->head = ch->next;
		if (!d->head)
			d->tail = NULL;
		free(ch);
	}
	return 0;
}

/* Start a non-blocking connect to the target; -1 on immediate failure. */
static int target_connect(const struct addrinfo *ai, int *connected)
{
	int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);

	if (fd < 0)
		return -1;
	if (set_nonblock(fd) < 0)
		goto fail;
	set_nodelay(fd);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		*connected = 1;
		return fd;
	}
	if (errno == EINPROGRESS) {
		*connected = 0;
		return fd;
	}
fail:
	close(fd);
	return -1;
}

static int parse_nonneg(const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Resolve host:port to a loopback address; exits with a message on error. */
static struct addrinfo *resolve_target(const char *host, const char *port)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	int rc;

	/* Numeric addresses only (and localhost): never ask a resolver. */
	if (strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "relay: error: cannot resolve '%s': %s\n", host,
			gai_strerror(rc));
		exit(2);
	}
	for (ai = res; ai; ai = ai->ai_next) {
		if (!is_loopback(ai->ai_addr)) {
			fprintf(stderr,
				"relay: error: target '%s' is not a loopback "
				"address\n",
				host);
			freeaddrinfo(res);
			exit(2);
		}
	}
	return res;
}

static int listen_on(long port)
{
	struct sockaddr_in sin = {0};
	socklen_t slen = sizeof(sin);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, 128) < 0 || set_nonblock(fd) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &slen) < 0) {
		close(fd);
		return -1;
	}
	return ntohs(sin.sin_port) ? fd : -1;
}

/* Whether a connection has nothing left to do. */
static int conn_done(const struct conn *c)
{
	return c->fd[0] < 0 || (c->d[0].shut_done && c->d[1].shut_done &&
				!c->d[0].head && !c->d[1].head);
}

int main(int argc, char **argv)
{
	struct conn *conns = NULL;
	struct pollfd *pfd = NULL;
	size_t nconn = 0, capconn = 0;
	struct addrinfo *target;
	struct sigaction sa;
	long lport, tport, delay_ms;
	int lfd, rc = 0;

	if (argc != 5 || parse_nonneg(argv[1], 65535, &lport) ||
	    parse_nonneg(argv[3], 65535, &tport) || tport == 0 ||
	    parse_nonneg(argv[4], 3600000, &delay_ms)) {
		fprintf(stderr, "usage: relay LISTEN_PORT TARGET_HOST "
				"TARGET_PORT DELAY_MS\n"
				"  LISTEN_PORT 0 picks a free port and prints "
				"'port N'\n");
		return 2;
	}
	delay_us = delay_ms * 1000;
	target = resolve_target(argv[2], argv[3]);

	if (pipe(wake_pipe) < 0 || set_nonblock(wake_pipe[0]) < 0 ||
	    set_nonblock(wake_pipe[1]) < 0) {
		fprintf(stderr, "relay: error: pipe: %s\n", strerror(errno));
		freeaddrinfo(target);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lfd = listen_on(lport);
	if (lfd < 0) {
		fprintf(stderr, "relay: error: cannot listen on port %ld: %s\n",
			lport, strerror(errno));
		freeaddrinfo(target);
		return 1;
	}
	if (lport == 0) {
		struct sockaddr_in sin;
		socklen_t slen = sizeof(sin);

		getsockname(lfd, (struct sockaddr *)&sin, &slen);
		printf("port %d\n", ntohs(sin.sin_port));
		fflush(stdout);
	}

	while (!stop) {
		int64_t now = now_us(), next_due = -1;
		size_t np = 2;
		int timeout;

		/* Drop finished connections (order does not matter). */
		for (size_t k = 0; k < nconn;) {
			if (conn_done(&conns[k])) {
				conn_close(&conns[k], 0);
				conns[k] = conns[--nconn];
			} else {
				k++;
			}
		}
		struct pollfd *npfd =
		    realloc(pfd, (2 + 2 * nconn) * sizeof(*pfd));

		if (!npfd) {
			rc = 1;
			break;
		}
		pfd = npfd;
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		pfd[1].fd = wake_pipe[0];
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		for (size_t k = 0; k < nconn; k++) {
			struct conn *c = &conns[k];

			for (int i = 0; i < 2; i++) {
				struct dir *in = &c->d[i]; /* reads fd[i] */
				struct dir *out =
				    &c->d[1 - i]; /* writes fd[i] */
				short ev = 0;

				if (!in->eof_read && in->queued < QUEUE_CAP &&
				    (i == 0 || c->connected))
					ev |= POLLIN;
				if (i == 1 && !c->connected)
					ev |= POLLOUT;
				if (out->head) {
					if (out->head->due_us <= now)
						ev |= POLLOUT;
					else if (next_due < 0 ||
						 out->head->due_us < next_due)
						next_due = out->head->due_us;
				}
				/* a negative fd is skipped: no POLLHUP spin */
				pfd[np].fd = ev ? c->fd[i] : -1;
				pfd[np].events = ev;
				pfd[np].revents = 0;
				np++;
			}
		}
		timeout = -1;
		if (next_due >= 0)
			timeout = (int)((next_due - now + 999) / 1000);
		if (poll(pfd, np, timeout) < 0) {
			if (errno == EINTR)
				continue;
			rc = 1;
			break;
		}
		now = now_us();

		for (size_t k = 0, p = 2; k < nconn; k++, p += 2) {
			struct conn *c = &conns[k];
			int bad = 0;

			if (!c->connected && pfd[p + 1].revents) {
				int err = 0;
				socklen_t elen = sizeof(err);

				getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err,
					   &elen);
				if (err) {
					conn_close(c, 1);
					continue;
				}
				c->connected = 1;
			}
			for (int i = 0; i < 2 && !bad; i++) {
				short re = pfd[p + i].revents;

				if (re & (POLLIN | POLLHUP | POLLERR))
					if (!c->d[i].eof_read &&
					    (i == 0 || c->connected))
						bad = conn_read(c, i) < 0;
			}
			for (int i = 0; i < 2 && !bad; i++)
				if (c->connected)
					bad = conn_write(c, i, now) < 0;
			if (bad)
				conn_close(c, 1);
		}

		if (pfd[0].revents & POLLIN) {
			for (;;) {
				int cfd = accept(lfd, NULL, NULL);
				struct conn *c;

				if (cfd < 0)
					break;
				if (nconn == capconn) {
					size_t ncap =
					    capconn ? 2 * capconn : 16;
					struct conn *nc =
					    realloc(conns, ncap * sizeof(*nc));

					if (!nc) {
						close(cfd);
						break;
					}
					conns = nc;
					capconn = ncap;
				}
				c = &conns[nconn];
				memset(c, 0, sizeof(*c));
				c->fd[0] = cfd;
				c->fd[1] = -1;
				if (set_nonblock(cfd) < 0) {
					close(cfd);
					continue;
				}
				set_nodelay(cfd);
				c->fd[1] =
				    target_connect(target, &c->connected);
				if (c->fd[1] < 0) {
					conn_close(c, 1);
					continue;
				}
				nconn++;
			}
		}
	}

	for (size_t k = 0; k < nconn; k++)
		conn_close(&conns[k], 0);
	free(conns);
	free(pfd);
	close(lfd);
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	freeaddrinfo(target);
	return rc;
}
