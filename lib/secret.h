/*
 * Secret heuristics: text that may hold a password is kept out of the
 * plan cache (revision headers, SQL-check and lint findings).
 */
#ifndef NMIG_SECRET_H
#define NMIG_SECRET_H

#include <stddef.h>

#include "diag.h"

/*
 * Whether text (len bytes) may hold a secret: it mentions a password
 * ("passw", "pwd", any case) or has a URL with a password
 * (`scheme://user:secret@`). Used to keep such text out of the cache.
 */
int nmig_secret_may_hold(const char *text, size_t len);

/*
 * Whether any of the n findings in items may hold a secret in its
 * message, source line or hint (nmig_secret_may_hold).
 */
int nmig_secret_in_diags(const struct nmig_diag *items, size_t n);

#endif
