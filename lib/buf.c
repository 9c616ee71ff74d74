/*
 * struct nmig_buf: see buf.h.
 */
#include "buf.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char nmig_buf__empty[1];

void nmig_buf_init(struct nmig_buf *buf)
{
	buf->ptr = nmig_buf__empty;
	buf->len = 0;
	buf->cap = 0;
	buf->oom = 0;
}

void nmig_buf_release(struct nmig_buf *buf)
{
	if (buf->cap)
		free(buf->ptr);
	nmig_buf_init(buf);
}

char *nmig_buf_detach(struct nmig_buf *buf, size_t *len)
{
	char *out;

	if (buf->oom) {
		nmig_buf_release(buf);
		return NULL;
	}
	if (!buf->cap) {
		out = calloc(1, 1);
	} else {
		out = buf->ptr;
	}
	if (len)
		*len = buf->len;
	nmig_buf_init(buf);
	return out;
}

int nmig_buf_grow(struct nmig_buf *buf, size_t extra)
{
	size_t need, cap;
	char *p;

	if (buf->oom)
		return NMIG_ENOMEM;
	if (extra > (size_t)-1 / 2 - buf->len - 1)
		goto oom;
	need = buf->len + extra + 1;
	if (need <= buf->cap)
		return 0;
	cap = buf->cap ? buf->cap : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(buf->cap ? buf->ptr : NULL, cap);
	if (!p)
		goto oom;
	if (!buf->cap)
		p[0] = '\0';
	buf->ptr = p;
	buf->cap = cap;
	return 0;
oom:
	buf->oom = 1;
	return NMIG_ENOMEM;
}

void nmig_buf_put(struct nmig_buf *buf, const void *data, size_t len)
{
	const char *src = data;
	size_t inside = (size_t)-1;

	/* data may be part of buf itself, which growing moves */
	if (buf->cap && src >= buf->ptr && src < buf->ptr + buf->cap)
		inside = (size_t)(src - buf->ptr);
	if (nmig_buf_grow(buf, len))
		return;
	if (inside != (size_t)-1)
		src = buf->ptr + inside;
	if (len)
		memmove(buf->ptr + buf->len, src, len);
	buf->len += len;
	buf->ptr[buf->len] = '\0';
}

void nmig_buf_puts(struct nmig_buf *buf, const char *s)
{
	nmig_buf_put(buf, s, strlen(s));
}

void nmig_buf_putc(struct nmig_buf *buf, char c)
{
	nmig_buf_put(buf, &c, 1);
}

void nmig_buf_vprintf(struct nmig_buf *buf, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	if (buf->oom)
		return;
	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0 || nmig_buf_grow(buf, (size_t)n))
		return;
	vsnprintf(buf->ptr + buf->len, (size_t)n + 1, fmt, ap);
	buf->len += (size_t)n;
}

void nmig_buf_printf(struct nmig_buf *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nmig_buf_vprintf(buf, fmt, ap);
	va_end(ap);
}

void nmig_buf_clear(struct nmig_buf *buf)
{
	nmig_buf_truncate(buf, 0);
}

void nmig_buf_truncate(struct nmig_buf *buf, size_t len)
{
	if (len >= buf->len)
		return;
	buf->len = len;
	if (buf->cap)
		buf->ptr[len] = '\0';
}

int nmig_buf_oom(const struct nmig_buf *buf)
{
	return buf->oom;
}

int nmig_buf_read_file(struct nmig_buf *buf, const char *path, size_t cap)
{
	struct stat st;
	char chunk[65536];
	size_t total = 0, start = buf->len;
	ssize_t n;
	int fd, err = 0;

	/* O_NONBLOCK: a FIFO must not block the open; refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return nmig_error_set(NMIG_EIO, "cannot read '%s': %s", path,
				      strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return nmig_error_set(NMIG_EIO, "cannot read '%s': %s", path,
				      strerror(EISDIR));
	}
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
		close(fd);
		return nmig_error_set(NMIG_EIO,
				      "cannot read '%s': not a regular file "
				      "(a FIFO, socket or device)",
				      path);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (fstat(fd, &st) == 0 && (size_t)st.st_size > cap) {
		close(fd);
		goto too_big;
	}
	if (fstat(fd, &st) == 0 && nmig_buf_grow(buf, (size_t)st.st_size)) {
		close(fd);
		return nmig_error_set(NMIG_ENOMEM, "out of memory reading '%s'",
				      path);
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			break;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if (total > cap) {
			close(fd);
			goto too_big;
		}
		nmig_buf_put(buf, chunk, (size_t)n);
	}
	close(fd);
	if (err) {
		nmig_buf_truncate(buf, start);
		return nmig_error_set(NMIG_EIO, "cannot read '%s': %s", path,
				      strerror(err));
	}
	if (buf->oom)
		return nmig_error_set(NMIG_ENOMEM, "out of memory reading '%s'",
				      path);
	return 0;
too_big:
	/* leave buf as it was: no half file */
	nmig_buf_truncate(buf, start);
	nmig_error_set(NMIG_EINPUT, "'%s' is larger than the limit of %zu bytes",
		       path, cap);
	nmig_error_hint("split the migration, or raise the limit with "
			"max_file_size in the config");
	return NMIG_EINPUT;
}
