/*
 * The `.env` file: `KEY=value` lines read into the environment before nmig
 * looks for its database URL, the way dotenv tools do, but never overriding
 * a variable that is already set. Lines: `KEY=value`, optionally prefixed
 * with `export `; values bare (trailing ` # comment` dropped, surrounding
 * blanks trimmed), in single quotes (literal) or in double quotes (escapes
 * \n \t \r \" \\ \$); `#` comment lines and blank lines are skipped. No
 * variable expansion. Values are never echoed in errors: they may be
 * passwords.
 */
#ifndef NMIG_ENV_H
#define NMIG_ENV_H

#include <stddef.h>

#define NMIG_ENV_FILE ".env"

/*
 * Parse .env text. For each assignment, call fn(key, value, ud); a
 * non-zero return from fn stops the parse and is returned. A malformed
 * line is NMIG_ECONFIG naming path:line (path is for messages only).
 */
int nmig_env_parse(const char *text, size_t len, const char *path,
		   int (*fn)(const char *key, const char *value, void *ud),
		   void *ud);

/*
 * Read the .env file at path into the environment: every key not already
 * set is set (setenv without overwrite). The whole file is parsed
 * first, so a malformed file sets nothing. A missing file is not an error
 * (*nset = 0). *nset (may be NULL) receives how many variables were set.
 */
int nmig_env_load(const char *path, int *nset);

/*
 * 1 when nmig_env_load set the variable key in this process (its value
 * came from a .env file, not from the real environment), else 0.
 */
int nmig_env_loaded(const char *key);

#endif
