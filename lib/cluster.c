/*
 * The ephemeral cluster of `nmig test` (see cluster.h): finding the server
 * binaries, a private 0700 directory (handed to the `postgres` user when
 * we are root), initdb and the postmaster run as children in their own
 * process group with their output in log files there, waiting for the
 * socket to answer, and the way back: fast shutdown, escalating to
 * immediate shutdown and SIGKILL, then removing the directory.
 */
#define _DEFAULT_SOURCE /* setgroups(): drop root's supplementary groups */

#include "cluster.h"

#include "conn_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "childenv.h"
#include "clock.h"
#include "error.h"

/* The socket's port number: only names the socket file in our dir. */
#define CLUSTER_PORT "5432"
/* Longest parent directory before falling back to /tmp (sun_path). */
#define MAX_PARENT_LEN 70

static void sleep_ms(int ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

/* 1 when dir holds executable initdb and postgres. */
static int has_server(const char *dir)
{
	struct nmig_buf p = NMIG_BUF_INIT;
	int ok;

	nmig_buf_printf(&p, "%s/initdb", dir);
	ok = !nmig_buf_oom(&p) && access(p.ptr, X_OK) == 0;
	nmig_buf_clear(&p);
	nmig_buf_printf(&p, "%s/postgres", dir);
	ok = ok && !nmig_buf_oom(&p) && access(p.ptr, X_OK) == 0;
	nmig_buf_release(&p);
	return ok;
}

/*
 * `pg_config --bindir`, when pg_config is on PATH (malloc'ed or NULL). It
 * runs with the children's environment (childenv.h), not nmig's own.
 */
static char *pg_config_bindir(void)
{
	char *argv[] = {"pg_config", "--bindir", NULL};
	struct nmig_childenv env = NMIG_CHILDENV_INIT;
	posix_spawn_file_actions_t fa;
	char line[4096];
	char *out = NULL;
	FILE *f = NULL;
	int fds[2] = {-1, -1}, status, spawned = 0, rc;
	pid_t pid = -1;
	size_t len;

	if (nmig_childenv_init(&env, NULL)) {
		nmig_error_clear();
		return NULL;
	}
	if (pipe(fds) != 0) {
		fds[0] = fds[1] = -1;
		goto cleanup;
	}
	/* only the dup2'ed copy (stdout) survives the exec */
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto cleanup;
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
					      0) ||
	     posix_spawn_file_actions_adddup2(&fa, fds[1], 1) ||
	     posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
					      0) ||
	     posix_spawnp(&pid, "pg_config", &fa, NULL, argv, env.envp);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		goto cleanup;
	spawned = 1;
	close(fds[1]);
	fds[1] = -1;
	f = fdopen(fds[0], "r");
	if (!f)
		goto cleanup;
	fds[0] = -1;
	if (fgets(line, sizeof(line), f)) {
		len = strcspn(line, "\r\n");
		line[len] = '\0';
		if (len)
			out = strdup(line);
	}
cleanup:
	if (f)
		fclose(f);
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	while (spawned && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	nmig_childenv_release(&env);
	return out;
}

/* The directory of an initdb on PATH (symlinks resolved), or NULL. */
static char *path_bindir(void)
{
	const char *path = getenv("PATH");
	struct nmig_buf p = NMIG_BUF_INIT;
	char *out = NULL;

	while (path && *path && !out) {
		size_t len = strcspn(path, ":");
		char *real, *slash;

		nmig_buf_clear(&p);
		nmig_buf_printf(&p, "%.*s/initdb", (int)len, len ? path : ".");
		if (!nmig_buf_oom(&p) && access(p.ptr, X_OK) == 0 &&
		    (real = realpath(p.ptr, NULL))) {
			slash = strrchr(real, '/');
			if (slash && slash != real) {
				*slash = '\0';
				if (has_server(real))
					out = real;
			}
			if (!out)
				free(real);
		}
		path += len;
		if (*path == ':')
			path++;
	}
	nmig_buf_release(&p);
	return out;
}

/* The newest /usr/lib/postgresql/<version>/bin with a server, or NULL. */
static char *debian_bindir(void)
{
	const char *root = "/usr/lib/postgresql";
	DIR *d = opendir(root);
	struct dirent *e;
	struct nmig_buf p = NMIG_BUF_INIT;
	double best = -1;
	char *out = NULL;

	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		char *end;
		double v = strtod(e->d_name, &end);

		if (end == e->d_name || *end || v <= best)
			continue;
		nmig_buf_clear(&p);
		nmig_buf_printf(&p, "%s/%s/bin", root, e->d_name);
		if (nmig_buf_oom(&p) || !has_server(p.ptr))
			continue;
		free(out);
		out = strdup(p.ptr);
		best = v;
	}
	closedir(d);
	nmig_buf_release(&p);
	return out;
}

int nmig_cluster_find_bindir(char **out)
{
	char *dir = pg_config_bindir();

	if (dir && !has_server(dir)) {
		free(dir);
		dir = NULL;
	}
	if (!dir)
		dir = path_bindir();
	if (!dir)
		dir = debian_bindir();
	*out = dir;
	if (!dir) {
		nmig_error_set(NMIG_ENOTFOUND,
			       "no PostgreSQL server binaries found (initdb "
			       "and postgres)");
		nmig_error_detail("looked in 'pg_config --bindir', PATH and "
				  "/usr/lib/postgresql/*/bin");
		nmig_error_hint(
		    "install the PostgreSQL server package, pass "
		    "--pg-bindir DIR, or set TEST_DATABASE_URL to a "
		    "scratch database");
		return NMIG_ENOTFOUND;
	}
	return NMIG_OK;
}

/* Remove the entry name in directory at and everything below it. */
static int remove_at(int at, const char *name, const char *shown)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int fd, err = NMIG_OK;

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT
			   ? NMIG_OK
			   : nmig_error_set(NMIG_EIO, "cannot remove '%s': %s",
					    shown, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		d = fd >= 0 ? fdopendir(fd) : NULL;
		if (!d) {
			if (fd >= 0)
				close(fd);
			return nmig_error_set(NMIG_EIO,
					      "cannot remove '%s': %s", shown,
					      strerror(errno));
		}
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			if (remove_at(dirfd(d), e->d_name, shown))
				err = NMIG_EIO;
		}
		closedir(d);
		if (unlinkat(at, name, AT_REMOVEDIR) != 0 && !err)
			err = nmig_error_set(NMIG_EIO, "cannot remove '%s': %s",
					     shown, strerror(errno));
		return err;
	}
	if (unlinkat(at, name, 0) != 0 && errno != ENOENT)
		return nmig_error_set(NMIG_EIO, "cannot remove '%s': %s", shown,
				      strerror(errno));
	return NMIG_OK;
}

int nmig_remove_tree(const char *path)
{
	return remove_at(AT_FDCWD, path, path);
}

/* Write s to fd (best effort; for a child before exec). */
static void put_fd(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t w = write(fd, s, len);

		if (w <= 0)
			return;
		s += w;
		len -= (size_t)w;
	}
}

/*
 * Fork a child that runs argv (argv[0] a full path) in dir, in its own
 * process group, with stdin from /dev/null and stdout and stderr appended
 * to log, as the cluster's owner, with the children's environment
 * (childenv.h): no URL, PG* variable or .env value reaches the server.
 * Returns the pid, or -1 with the last error set.
 */
static pid_t spawn(const struct nmig_cluster *c, char *const argv[],
		   const char *log, int die_with_parent)
{
	struct nmig_childenv env = NMIG_CHILDENV_INIT;
	pid_t pid, parent = getpid();
	int out, in;

	/* built before fork: the child may only call execve with it */
	if (nmig_childenv_init(&env, NULL))
		return -1;
	out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (out < 0) {
		nmig_error_set(NMIG_EIO, "cannot create '%s': %s", log,
			       strerror(errno));
		nmig_childenv_release(&env);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		nmig_error_set(NMIG_ERROR, "cannot start '%s': %s", argv[0],
			       strerror(errno));
		close(out);
		nmig_childenv_release(&env);
		return -1;
	}
	if (pid > 0) {
		setpgid(pid, pid); /* also done in the child: no race */
		close(out);
		nmig_childenv_release(&env);
		return pid;
	}
	/* the child: only async-signal-safe calls from here on */
	setpgid(0, 0);
	in = open("/dev/null", O_RDONLY);
	if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(126);
	if (c->owner_uid >= 0) {
		gid_t gid = (gid_t)c->owner_gid;

		if (setgroups(1, &gid) != 0 || setgid(gid) != 0 ||
		    setuid((uid_t)c->owner_uid) != 0) {
			put_fd(2, "nmig: cannot switch to the postgres user\n");
			_exit(126);
		}
	}
#ifdef __linux__
	/* a server whose nmig died (SIGKILL) shuts itself down */
	if (die_with_parent) {
		prctl(PR_SET_PDEATHSIG, SIGQUIT);
		if (getppid() != parent)
			_exit(1);
	}
#else
	(void)die_with_parent;
	(void)parent;
#endif
	if (chdir(c->dir) != 0 || access(c->dir, W_OK | X_OK) != 0) {
		put_fd(2, "nmig: the server's user cannot write '");
		put_fd(2, c->dir);
		put_fd(2, "'\n");
		_exit(126);
	}
	execve(argv[0], argv, env.envp);
	put_fd(2, "nmig: cannot run '");
	put_fd(2, argv[0]);
	put_fd(2, "': ");
	put_fd(2, strerror(errno));
	put_fd(2, "\n");
	_exit(127);
}

/* The last lines of a log file as the detail of the last error. */
static void detail_log_tail(const char *log)
{
	struct nmig_buf text = NMIG_BUF_INIT;
	size_t start, lines = 0;

	if (nmig_buf_read_file(&text, log, (size_t)16 << 20) != NMIG_OK) {
		nmig_buf_release(&text);
		return;
	}
	while (text.len && (text.ptr[text.len - 1] == '\n' ||
			    text.ptr[text.len - 1] == '\r'))
		nmig_buf_truncate(&text, text.len - 1);
	start = text.len;
	while (start > 0 && lines < 6) {
		start--;
		if (text.ptr[start] == '\n')
			lines++;
	}
	if (text.ptr[start] == '\n')
		start++;
	if (text.len > start)
		nmig_error_detail("%s", text.ptr + start);
	nmig_buf_release(&text);
}

/*
 * Wait for child pid to exit; *status receives its wait status. Gives up
 * (returns 1) when *interrupted is set or timeout_ms passes (0: never);
 * 0 when it exited.
 */
static int wait_child(pid_t pid, int *status, int timeout_ms,
		      volatile sig_atomic_t *interrupted)
{
	double until = nmig_clock_ms() + timeout_ms;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return 0;
		if ((interrupted && *interrupted) ||
		    (timeout_ms && nmig_clock_ms() >= until))
			return 1;
		sleep_ms(10);
	}
}

/* Kill a child's whole process group and reap the child. */
static void kill_group(pid_t pid)
{
	int status;

	kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

/*
 * Run argv to completion as the owner, output to log. NMIG_ERROR when it
 * could not start, failed (log tail as detail) or was interrupted.
 */
static int run_tool(const struct nmig_cluster *c, char *const argv[],
		    const char *log, const char *what,
		    volatile sig_atomic_t *interrupted)
{
	pid_t pid = spawn(c, argv, log, 0);
	int status = 0;

	if (pid < 0)
		return NMIG_ERROR;
	if (wait_child(pid, &status, 0, interrupted)) {
		kill_group(pid);
		return nmig_error_set(NMIG_ERROR, "interrupted");
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return NMIG_OK;
	if (WIFEXITED(status))
		nmig_error_set(NMIG_ECONNECT, "%s failed (exit %d)", what,
			       WEXITSTATUS(status));
	else
		nmig_error_set(NMIG_ECONNECT, "%s failed (signal %d)", what,
			       WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	detail_log_tail(log);
	return NMIG_ECONNECT;
}

/* Append s percent-encoded for a URL query value. */
static void put_encoded(struct nmig_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == '_' || ch == '~')
			nmig_buf_putc(b, (char)ch);
		else
			nmig_buf_printf(b, "%%%02X", ch);
	}
}

void nmig_cluster_url(const struct nmig_cluster *c, const char *dbname,
		      struct nmig_buf *out)
{
	nmig_buf_puts(out, "postgresql:///");
	put_encoded(out, dbname);
	nmig_buf_puts(out, "?host=");
	put_encoded(out, c->dir);
	nmig_buf_puts(out,
		      "&port=" CLUSTER_PORT "&user=postgres&sslmode=disable");
}

/* The private directory under a parent short enough for the socket. */
static int make_dir(struct nmig_cluster *c, const struct nmig_cluster_opts *o)
{
	const char *parent = o->tmpdir;
	struct nmig_buf b = NMIG_BUF_INIT;

	if (!parent || !*parent)
		parent = getenv("TMPDIR");
	if (!parent || !*parent || strlen(parent) > MAX_PARENT_LEN)
		parent = "/tmp";
	nmig_buf_printf(&b, "%s/nmig-test-XXXXXX", parent);
	if (nmig_buf_oom(&b)) {
		nmig_buf_release(&b);
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	}
	if (!mkdtemp(b.ptr)) {
		nmig_error_set(NMIG_EIO,
			       "cannot create a directory in '%s': %s", parent,
			       strerror(errno));
		nmig_buf_release(&b);
		return NMIG_EIO;
	}
	c->dir = nmig_buf_detach(&b, NULL);
	if (!c->dir)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	return NMIG_OK;
}

/* Decide who runs the server: us, or `postgres` when we are root. */
static int pick_owner(struct nmig_cluster *c)
{
	struct passwd *pw;

	c->owner_uid = -1;
	c->owner_gid = -1;
	if (geteuid() != 0)
		return NMIG_OK;
	pw = getpwnam("postgres");
	if (!pw) {
		nmig_error_set(NMIG_ECONFIG,
			       "nmig runs as root and there is no 'postgres' "
			       "user to run the scratch cluster");
		nmig_error_hint("PostgreSQL refuses to run as root: create "
				"the user, run nmig as another user, or set "
				"TEST_DATABASE_URL");
		return NMIG_ECONFIG;
	}
	c->owner_uid = (int)pw->pw_uid;
	c->owner_gid = (int)pw->pw_gid;
	if (chown(c->dir, pw->pw_uid, pw->pw_gid) != 0)
		return nmig_error_set(NMIG_EIO,
				      "cannot give '%s' to the postgres user: "
				      "%s",
				      c->dir, strerror(errno));
	return NMIG_OK;
}

/* initdb, trying the C.UTF-8 locale first and then C. */
static int run_initdb(struct nmig_cluster *c, const struct nmig_cluster_opts *o)
{
	struct nmig_buf exe = NMIG_BUF_INIT, log = NMIG_BUF_INIT;
	char *argv[] = {NULL,	    "-D",	 c->datadir, "-U",
			"postgres", "-A",	 "trust",    "-E",
			"UTF8",	    "--no-sync", NULL,	     NULL};
	int err;

	nmig_buf_printf(&exe, "%s/initdb", c->bindir);
	nmig_buf_printf(&log, "%s/initdb.log", c->dir);
	if (nmig_buf_oom(&exe) || nmig_buf_oom(&log)) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	argv[0] = exe.ptr;
	argv[10] = "--locale=C.UTF-8";
	err = run_tool(c, argv, log.ptr, "initdb", o->interrupted);
	if (err == NMIG_ECONNECT) {
		/* no C.UTF-8 locale on this system: plain C */
		nmig_remove_tree(c->datadir);
		argv[10] = "--locale=C";
		err = run_tool(c, argv, log.ptr, "initdb", o->interrupted);
	}
	if (err == NMIG_ECONNECT && c->owner_uid >= 0)
		nmig_error_hint("the scratch cluster runs as the 'postgres' "
				"user, which must be able to reach '%s': set "
				"TMPDIR to a directory it can use (e.g. /tmp)",
				c->dir);
cleanup:
	nmig_buf_release(&exe);
	nmig_buf_release(&log);
	return err;
}

/* The server's version ("15.18") from `postgres --version`. */
static void read_version(struct nmig_cluster *c,
			 const struct nmig_cluster_opts *o)
{
	struct nmig_buf exe = NMIG_BUF_INIT, log = NMIG_BUF_INIT,
			text = NMIG_BUF_INIT;
	char *argv[] = {NULL, "--version", NULL};
	const char *v;

	nmig_buf_printf(&exe, "%s/postgres", c->bindir);
	nmig_buf_printf(&log, "%s/version.txt", c->dir);
	argv[0] = exe.ptr;
	if (!nmig_buf_oom(&exe) && !nmig_buf_oom(&log) &&
	    run_tool(c, argv, log.ptr, "postgres --version", o->interrupted) ==
		NMIG_OK &&
	    nmig_buf_read_file(&text, log.ptr, 4096) == NMIG_OK) {
		v = strstr(text.ptr, ") ");
		v = v ? v + 2 : text.ptr;
		c->version = strndup(v, strcspn(v, " \r\n"));
	}
	nmig_error_clear();
	nmig_buf_release(&exe);
	nmig_buf_release(&log);
	nmig_buf_release(&text);
}

/* Start the postmaster and wait until its socket answers. */
static int run_server(struct nmig_cluster *c, const struct nmig_cluster_opts *o)
{
	struct nmig_buf exe = NMIG_BUF_INIT, log = NMIG_BUF_INIT;
	char *argv[] = {NULL,
			"-D",
			c->datadir,
			"-k",
			c->dir,
			"-p",
			CLUSTER_PORT,
			"-c",
			"listen_addresses=",
			"-c",
			"unix_socket_permissions=0700",
			"-c",
			"fsync=off",
			"-c",
			"synchronous_commit=off",
			"-c",
			"full_page_writes=off",
			"-c",
			"autovacuum=off",
			"-c",
			"shared_buffers=32MB",
			"-c",
			"max_connections=20",
			NULL};
	int timeout = o->start_timeout_ms > 0 ? o->start_timeout_ms : 60000;
	double until = nmig_clock_ms() + timeout;
	int status, err = NMIG_OK;

	nmig_buf_printf(&exe, "%s/postgres", c->bindir);
	nmig_buf_printf(&log, "%s/postgres.log", c->dir);
	if (nmig_buf_oom(&exe) || nmig_buf_oom(&log)) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	argv[0] = exe.ptr;
	c->pid = spawn(c, argv, log.ptr, 1);
	if (c->pid < 0) {
		c->pid = 0;
		err = NMIG_ECONNECT;
		goto cleanup;
	}
	for (;;) {
		if (PQping(c->url) == PQPING_OK)
			break;
		if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
			c->pid = 0;
			err = nmig_error_set(NMIG_ECONNECT,
					     "the scratch PostgreSQL server "
					     "exited while starting");
			detail_log_tail(log.ptr);
			goto cleanup;
		}
		if (o->interrupted && *o->interrupted) {
			err = nmig_error_set(NMIG_ERROR, "interrupted");
			goto cleanup;
		}
		if (nmig_clock_ms() >= until) {
			err =
			    nmig_error_set(NMIG_ECONNECT,
					   "the scratch PostgreSQL server did "
					   "not accept connections within "
					   "%d s",
					   timeout / 1000);
			detail_log_tail(log.ptr);
			goto cleanup;
		}
		sleep_ms(25);
	}
cleanup:
	nmig_buf_release(&exe);
	nmig_buf_release(&log);
	return err;
}

int nmig_cluster_start(struct nmig_cluster **out,
		       const struct nmig_cluster_opts *o)
{
	struct nmig_cluster *c = calloc(1, sizeof(*c));
	struct nmig_buf b = NMIG_BUF_INIT;
	int err;

	*out = NULL;
	if (!c)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	c->owner_uid = -1;
	c->owner_gid = -1;
	if (o->bindir && *o->bindir) {
		if (!has_server(o->bindir)) {
			err = nmig_error_set(NMIG_ENOTFOUND,
					     "'%s' holds no PostgreSQL server "
					     "binaries (initdb and postgres)",
					     o->bindir);
			goto cleanup;
		}
		c->bindir = strdup(o->bindir);
	} else if ((err = nmig_cluster_find_bindir(&c->bindir))) {
		goto cleanup;
	}
	if (!c->bindir) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((err = make_dir(c, o)) || (err = pick_owner(c)))
		goto cleanup;
	nmig_buf_printf(&b, "%s/data", c->dir);
	c->datadir = nmig_buf_detach(&b, NULL);
	nmig_cluster_url(c, "postgres", &b);
	c->url = nmig_buf_detach(&b, NULL);
	if (!c->datadir || !c->url) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((err = run_initdb(c, o)))
		goto cleanup;
	read_version(c, o);
	err = run_server(c, o);
cleanup:
	nmig_buf_release(&b);
	if (err) {
		struct nmig_error saved = *nmig_error_last();

		/* the cleanup must not hide why the start failed */
		nmig_cluster_free(c);
		return nmig_error_restore(&saved);
	}
	*out = c;
	return NMIG_OK;
}

int nmig_cluster_stop(struct nmig_cluster *c)
{
	static const struct {
		int sig, wait_ms;
	} steps[] = {{SIGINT, 10000}, {SIGQUIT, 5000}};
	size_t i;
	int status, err = NMIG_OK;

	if (!c)
		return NMIG_OK;
	for (i = 0; c->pid > 0 && i < sizeof(steps) / sizeof(steps[0]); i++) {
		kill(c->pid, steps[i].sig);
		if (wait_child(c->pid, &status, steps[i].wait_ms, NULL) == 0)
			c->pid = 0;
	}
	if (c->pid > 0) {
		kill_group(c->pid);
		c->pid = 0;
	}
	if (c->dir) {
		err = nmig_remove_tree(c->dir);
		if (!err) {
			free(c->dir);
			c->dir = NULL;
		}
	}
	return err;
}

void nmig_cluster_free(struct nmig_cluster *c)
{
	if (!c)
		return;
	nmig_cluster_stop(c);
	free(c->bindir);
	free(c->dir);
	free(c->datadir);
	free(c->url);
	free(c->version);
	free(c);
}

void nmig_cluster_kill(const struct nmig_cluster *c)
{
	if (c && c->pid > 0)
		kill(c->pid, SIGQUIT);
}
