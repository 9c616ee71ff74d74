/*
 * The one growable text buffer of libnmig. The pointer is never NULL and the
 * text is always NUL-terminated (an initialised buffer points at a shared
 * empty string until it grows). An allocation failure is sticky: later
 * appends do nothing and nmig_buf_oom() reports it, so a builder checks once
 * at the end, as with SQLite's StrAccum.
 */
#ifndef NMIG_BUF_H
#define NMIG_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct nmig_buf {
	char *ptr;
	size_t len;
	size_t cap;	/* 0 while ptr is the shared empty string */
	int oom;
};

extern char nmig_buf__empty[];
#define NMIG_BUF_INIT { nmig_buf__empty, 0, 0, 0 }

void nmig_buf_init(struct nmig_buf *buf);
/* Free the text and reinitialise the buffer. */
void nmig_buf_release(struct nmig_buf *buf);
/* Hand the text over to the caller (free() it); the buffer is reset. NULL on OOM. */
char *nmig_buf_detach(struct nmig_buf *buf, size_t *len);
/* Make room for extra more bytes; 0 or NMIG_ENOMEM. */
int nmig_buf_grow(struct nmig_buf *buf, size_t extra);
void nmig_buf_put(struct nmig_buf *buf, const void *data, size_t len);
void nmig_buf_puts(struct nmig_buf *buf, const char *s);
void nmig_buf_putc(struct nmig_buf *buf, char c);
void nmig_buf_printf(struct nmig_buf *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void nmig_buf_vprintf(struct nmig_buf *buf, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Empty the text, keeping the allocation. */
void nmig_buf_clear(struct nmig_buf *buf);
void nmig_buf_truncate(struct nmig_buf *buf, size_t len);
/* Nonzero when an append failed for lack of memory. */
int nmig_buf_oom(const struct nmig_buf *buf);

/*
 * Append the whole content of path to buf. A file larger than cap bytes
 * fails with NMIG_EINPUT naming the file; unreadable files with NMIG_EIO.
 */
int nmig_buf_read_file(struct nmig_buf *buf, const char *path, size_t cap);

#endif
