/*
 * nmig init: set a project up -- the migrations directory, a commented
 * nmig.conf that names the variable holding the database URL (never a
 * URL), and .gitignore lines for .env and the plan cache (.nmig/). It
 * refuses to replace an existing nmig.conf, and adds to .gitignore only
 * the lines that are missing.
 */
#include "commands.h"

#include "buf.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Create dir and its missing parents; *created says whether it was new. */
static int mkdir_p(const char *dir, int *created)
{
	char *path = strdup(dir), *p;
	struct stat st;
	int rc = NMIG_OK;

	*created = 0;
	if (!path)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			rc = nmig_error_set(
			    NMIG_EIO, "'%s' exists and is not a directory",
			    dir);
		goto cleanup;
	}
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0777) != 0 && errno != EEXIST) {
			rc = nmig_error_set(NMIG_EIO, "cannot create '%s': %s",
					    path, strerror(errno));
			goto cleanup;
		}
		*p = '/';
	}
	if (mkdir(path, 0777) != 0 && errno != EEXIST) {
		rc = nmig_error_set(NMIG_EIO, "cannot create '%s': %s", dir,
				    strerror(errno));
		goto cleanup;
	}
	*created = 1;
cleanup:
	free(path);
	return rc;
}

/* The text of a new nmig.conf. */
static void config_text(struct nmig_buf *b, const char *dir)
{
	nmig_buf_puts(
	    b, "# nmig configuration: key = value lines, '#' comments.\n"
	       "# See docs/configuration.md. Durations take ms, s, min or h;\n"
	       "# relative paths are relative to this file.\n"
	       "#\n"
	       "# The database URL is never written here: nmig reads it from\n"
	       "# the environment variable named by url_env (or from .env,\n"
	       "# which is gitignored). A password in this file is refused.\n"
	       "\n");
	if (strpbrk(dir, " \t#\"'"))
		nmig_buf_printf(b, "dir = %s%s%s\n",
				strchr(dir, '"') ? "'" : "\"", dir,
				strchr(dir, '"') ? "'" : "\"");
	else
		nmig_buf_printf(b, "dir = %s\n", dir);
	nmig_buf_puts(
	    b, "url_env = DATABASE_URL\n"
	       "\n"
	       "# Where the applied revisions are recorded.\n"
	       "# schema = public\n"
	       "# table = schema_version\n"
	       "\n"
	       "# Each migration runs with SET LOCAL lock_timeout (retried\n"
	       "# lock_retries times) and statement_timeout (0 = none).\n"
	       "# lock_timeout = 5s\n"
	       "# lock_retries = 3\n"
	       "# statement_timeout = 0\n"
	       "# lock_wait = 60s\n"
	       "# connect_timeout = 15s\n"
	       "\n"
	       "# A directory with up.sql / down.sql to replace the built-in\n"
	       "# templates of 'nmig revision'.\n"
	       "# templates = templates\n");
}

/* Write a new file exclusively: NMIG_EEXISTS when it is there. */
static int create_file(const char *path, const char *text)
{
	size_t len = strlen(text), off = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);

	if (fd < 0 && errno == EEXIST) {
		nmig_error_set(NMIG_EEXISTS, "'%s' exists already", path);
		nmig_error_hint("nmig init never replaces a config; edit it, "
				"or remove it and run 'nmig init' again");
		return NMIG_EEXISTS;
	}
	if (fd < 0)
		return nmig_error_set(NMIG_EIO, "cannot create '%s': %s", path,
				      strerror(errno));
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int err = errno;

			close(fd);
			unlink(path);
			return nmig_error_set(NMIG_EIO, "cannot write '%s': %s",
					      path, strerror(err));
		}
		off += (size_t)w;
	}
	if (close(fd) != 0)
		return nmig_error_set(NMIG_EIO, "cannot write '%s': %s", path,
				      strerror(errno));
	return NMIG_OK;
}

/* Whether .gitignore text already has a line equivalent to entry. */
static int has_line(const char *text, const char *const *forms)
{
	const char *line = text;

	while (*line) {
		size_t len = strcspn(line, "\n"), l = len, i;

		while (l && (line[l - 1] == '\r' || line[l - 1] == ' ' ||
			     line[l - 1] == '\t'))
			l--;
		for (i = 0; forms[i]; i++)
			if (strlen(forms[i]) == l &&
			    strncmp(line, forms[i], l) == 0)
				return 1;
		line += len;
		if (*line)
			line++;
	}
	return 0;
}

/*
 * Append the missing lines for .env and .nmig/ to path (creating it).
 * added receives the lines added, separated by ", ".
 */
static int update_gitignore(const char *path, struct nmig_buf *added,
			    int *created)
{
	static const char *const env_forms[] = {".env", "/.env", NULL};
	static const char *const nmig_forms[] = {".nmig/", ".nmig", "/.nmig/",
						 "/.nmig", NULL};
	struct nmig_buf text = NMIG_BUF_INIT, add = NMIG_BUF_INIT;
	struct stat st;
	FILE *f = NULL;
	int rc = NMIG_OK;

	*created = stat(path, &st) != 0;
	if (!*created) {
		rc = nmig_buf_read_file(&text, path, (size_t)16 << 20);
		if (rc)
			goto cleanup;
	}
	if (!has_line(text.ptr, env_forms)) {
		nmig_buf_puts(&add, ".env\n");
		nmig_buf_puts(added, ".env");
	}
	if (!has_line(text.ptr, nmig_forms)) {
		nmig_buf_puts(&add, ".nmig/\n");
		nmig_buf_printf(added, "%s.nmig/", added->len ? ", " : "");
	}
	if (!add.len)
		goto cleanup;
	f = fopen(path, "a");
	if (!f) {
		rc = nmig_error_set(NMIG_EIO, "cannot write '%s': %s", path,
				    strerror(errno));
		goto cleanup;
	}
	if (text.len && text.ptr[text.len - 1] != '\n')
		fputc('\n', f);
	fputs(add.ptr, f);
	if (fclose(f) != 0)
		rc = nmig_error_set(NMIG_EIO, "cannot write '%s': %s", path,
				    strerror(errno));
cleanup:
	nmig_buf_release(&text);
	nmig_buf_release(&add);
	return rc;
}

/*
 * path inside root, the directory of the config file: root "." (the
 * current directory) and absolute paths are left alone. malloc'ed.
 */
static char *in_root(const char *root, const char *path)
{
	struct nmig_buf b = NMIG_BUF_INIT;

	if (path[0] == '/' || strcmp(root, ".") == 0)
		return strdup(path);
	nmig_buf_printf(&b, "%s/%s", root, path);
	return nmig_buf_detach(&b, NULL);
}

int cmd_init(struct cli_global *g, int argc, char **argv)
{
	const struct cli_opt opts[] = {{0}};
	const struct cli_usage usage = {
	    "init",
	    "[DIR]",
	    "Set up nmig in the current directory: create the migrations "
	    "directory\nDIR (default: migrations, or --dir), a commented "
	    "nmig.conf naming\nDATABASE_URL as the variable that holds the "
	    "database URL, and add .env\nand .nmig/ to .gitignore. Refuses "
	    "to replace an existing nmig.conf. With --config FILE, the "
	    "project\n"
	    "is the directory of FILE: DIR and .gitignore are made there.",
	    opts,
	    "nmig init\nnmig init db/migrations\nnmig --config app/nmig.conf "
	    "init",
	};
	const char *dir, *conf;
	struct nmig_buf text = NMIG_BUF_INIT, added = NMIG_BUF_INIT;
	char *root = NULL, *dir_path = NULL, *ignore_path = NULL;
	const char *slash;
	struct stat st;
	int rc, created_dir = 0, created_ignore = 0;

	rc = cli_opts_parse(&usage, &argc, argv);
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (argc > 2) {
		cli_errorf(g, "unexpected argument '%s'", argv[2]);
		cli_hintf(g, "nmig init [DIR]");
		return NMIG_EXIT_USAGE;
	}
	dir = argc > 1 ? argv[1] : g->dir ? g->dir : "migrations";
	conf = g->config_path ? g->config_path : NMIG_CONFIG_FILE;
	if (!*dir) {
		cli_errorf(g, "the migrations directory name is empty");
		return NMIG_EXIT_USAGE;
	}
	if (stat(conf, &st) == 0) {
		cli_errorf(g, "'%s' exists already; nothing was changed", conf);
		cli_hintf(g, "nmig init never replaces a config; edit it, or "
			     "remove it and run 'nmig init' again");
		return NMIG_EXIT_FAILURE;
	}
	slash = strrchr(conf, '/');
	root = slash ? strndup(conf, slash == conf ? 1 : (size_t)(slash - conf))
		     : strdup(".");
	dir_path = root ? in_root(root, dir) : NULL;
	ignore_path = root ? in_root(root, ".gitignore") : NULL;
	if (!dir_path || !ignore_path) {
		rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto fail;
	}
	rc = mkdir_p(dir_path, &created_dir);
	if (rc)
		goto fail;
	config_text(&text, dir);
	if (nmig_buf_oom(&text)) {
		rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto fail;
	}
	rc = create_file(conf, text.ptr);
	if (rc)
		goto fail;
	rc = update_gitignore(ignore_path, &added, &created_ignore);
	if (rc)
		goto fail;
	if (!g->quiet) {
		size_t dl = strlen(dir_path);
		const char *sep = dir_path[dl - 1] == '/' ? "" : "/";

		if (created_dir)
			printf("created %s%s\n", dir_path, sep);
		else
			printf("kept %s%s (it exists)\n", dir_path, sep);
		printf("created %s\n", conf);
		if (added.len)
			printf("%s %s (%s)\n",
			       created_ignore ? "created" : "updated",
			       ignore_path, added.ptr);
		cli_infof(g,
			  "next: export DATABASE_URL=postgres://... (or put "
			  "it in .env), then\n      nmig revision -m \"first "
			  "migration\"");
	}
	goto cleanup;
fail:
	rc = cli_report_error(g);
cleanup:
	free(root);
	free(dir_path);
	free(ignore_path);
	nmig_buf_release(&text);
	nmig_buf_release(&added);
	return rc;
}
