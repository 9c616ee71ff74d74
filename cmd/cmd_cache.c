/*
 * nmig cache info|clear: look at or delete the plan cache (lib/cache.h),
 * the SQLite file that remembers parsed headers, checksums, check results
 * and the applied set last seen per database. Its path is the config's
 * `cache`, else `.nmig/cache.db` beside the migrations directory. `info`
 * never creates or changes the file; `clear` deletes it with its -wal,
 * -shm and -lock files (the cache is rebuilt on next use). With `cache =
 * off` in the config, info says the cache is disabled (naming a file left
 * at the default path) and clear still deletes that file.
 */
#include "commands.h"
#include "buf.h"
#include "cache.h"
#include "error.h"

#include <string.h>
#include <time.h>

/*
 * The cache path of this project into out (with `cache = off`, the default
 * path, where a file may be left from before); NMIG_OK or NMIG_ENOMEM.
 */
static int cache_path(const struct cli_global *g, struct nmig_buf *out)
{
	if (g->cfg.cache) {
		nmig_buf_puts(out, g->cfg.cache);
		return nmig_buf_oom(out) ? NMIG_ENOMEM : NMIG_OK;
	}
	return nmig_cache_default_path(out,
				       g->cfg.dir ? g->cfg.dir : "migrations");
}

/* "12 bytes", "4.0 KiB", "1.5 MiB" */
static void put_size(FILE *out, long long n)
{
	if (n < 1024)
		fprintf(out, "%lld byte%s", n, n == 1 ? "" : "s");
	else if (n < 1024LL * 1024)
		fprintf(out, "%.1f KiB", (double)n / 1024);
	else
		fprintf(out, "%.1f MiB", (double)n / (1024.0 * 1024));
}

/* Unix time as "2026-11-26 12:00:00 UTC" (iso 0) or ISO 8601 (iso 1). */
static void put_time(FILE *out, long long t, int iso)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[64];

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(s, sizeof(s),
		      iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S UTC",
		      &tm))
		snprintf(s, sizeof(s), "%lld", t);
	fputs(s, out);
}

static void info_json(const struct nmig_cache_info *in)
{
	size_t i;

	fputs("{\"path\": ", stdout);
	cli_json_str(stdout, in->path);
	fputs(", \"state\": ", stdout);
	cli_json_str(stdout, nmig_cache_state_name(in->state));
	fputs(", \"problem\": ", stdout);
	cli_json_str(stdout, in->why);
	printf(", \"size\": %lld, \"wal_size\": %lld, \"schema_version\": %d",
	       in->size, in->wal_size, in->schema_version);
	printf(", \"entries\": %lld, \"files\": %lld, \"checks\": %lld",
	       in->files + in->checks, in->files, in->checks);
	fputs(", \"databases\": [", stdout);
	for (i = 0; i < in->ndbs; i++) {
		fputs(i ? ", {\"key\": " : "{\"key\": ", stdout);
		cli_json_str(stdout, in->dbs[i].dbkey);
		fputs(", \"observed_at\": \"", stdout);
		put_time(stdout, in->dbs[i].observed_at, 1);
		printf("\", \"applied\": %zu}", in->dbs[i].nids);
	}
	fputs("], \"set_aside\": ", stdout);
	cli_json_strs(stdout, (const char *const *)in->set_aside,
		      in->nset_aside);
	fputs("}\n", stdout);
}

static void info_text(struct cli_global *g, const struct nmig_cache_info *in)
{
	size_t i;

	fputs("path:       ", stdout);
	cli_put_safe(stdout, in->path);
	printf("\nstate:      %s", nmig_cache_state_name(in->state));
	switch (in->state) {
	case NMIG_CACHE_ABSENT:
		fputs(" (built on first use)", stdout);
		break;
	case NMIG_CACHE_EMPTY:
	case NMIG_CACHE_OUTDATED:
		fputs(" (rebuilt on next use)", stdout);
		break;
	case NMIG_CACHE_FOREIGN:
	case NMIG_CACHE_CORRUPT:
		fputs(": ", stdout);
		cli_put_safe(stdout, in->why);
		fputs(" (set aside and rebuilt on next use)", stdout);
		break;
	case NMIG_CACHE_UNUSABLE:
		fputs(": ", stdout);
		cli_put_safe(stdout, in->why);
		fputs(" (nmig runs without a cache)", stdout);
		break;
	case NMIG_CACHE_OK:
		break;
	}
	fputc('\n', stdout);
	if (in->state != NMIG_CACHE_ABSENT) {
		fputs("size:       ", stdout);
		put_size(stdout, in->size);
		if (in->wal_size) {
			fputs(" + ", stdout);
			put_size(stdout, in->wal_size);
			fputs(" write-ahead log", stdout);
		}
		fputc('\n', stdout);
	}
	if (in->schema_version)
		printf("schema:     %d%s\n", in->schema_version,
		       in->state == NMIG_CACHE_OUTDATED ? " (this nmig uses "
							  "another)"
							: "");
	if (in->state == NMIG_CACHE_OK) {
		printf("entries:    %lld (%lld file%s, %lld check result%s)\n",
		       in->files + in->checks, in->files,
		       in->files == 1 ? "" : "s", in->checks,
		       in->checks == 1 ? "" : "s");
		printf("databases:  %zu\n", in->ndbs);
		for (i = 0; i < in->ndbs; i++) {
			fputs("  ", stdout);
			cli_put_safe(stdout, in->dbs[i].dbkey);
			printf("  %zu applied, observed ", in->dbs[i].nids);
			put_time(stdout, in->dbs[i].observed_at, 0);
			fputc('\n', stdout);
		}
	}
	for (i = 0; i < in->nset_aside; i++) {
		fputs(i ? "            " : "set aside:  ", stdout);
		cli_put_safe(stdout, in->set_aside[i]);
		fputc('\n', stdout);
	}
	if (in->nset_aside)
		cli_hintf(g, "set-aside files are what nmig found at the cache "
			     "path and could not use; delete them once you "
			     "know they hold nothing you need");
}

/* Why the cache is disabled: "'cache = off' in 'nmig.conf'" into out. */
static void disabled_why(const struct cli_global *g, struct nmig_buf *out)
{
	nmig_buf_puts(out, "'cache = off'");
	if (g->cfg.path)
		nmig_buf_printf(out, " in '%s'", g->cfg.path);
}

/*
 * info with `cache = off`: the state "disabled" and why; a cache file at
 * path (the default path) is named as left over, with its size. Returns
 * NMIG_EXIT_OK or an exit code after printing.
 */
static int info_disabled(struct cli_global *g, const char *path)
{
	struct nmig_cache_info info;
	struct nmig_buf why = NMIG_BUF_INIT;
	int left;

	if (nmig_cache_info(&info, path))
		return cli_report_error(g);
	left = info.state != NMIG_CACHE_ABSENT;
	disabled_why(g, &why);
	if (nmig_buf_oom(&why)) {
		nmig_buf_release(&why);
		nmig_cache_info_release(&info);
		nmig_error_set(NMIG_ENOMEM, "out of memory");
		return cli_report_error(g);
	}
	if (g->json) {
		fputs("{\"path\": null, \"state\": \"disabled\", "
		      "\"problem\": ",
		      stdout);
		cli_json_str(stdout, why.ptr);
		fputs(", \"size\": 0, \"wal_size\": 0, \"schema_version\": 0"
		      ", \"entries\": 0, \"files\": 0, \"checks\": 0"
		      ", \"databases\": [], \"set_aside\": [], "
		      "\"left_over\": ",
		      stdout);
		cli_json_str(stdout, left ? path : NULL);
		fputs("}\n", stdout);
	} else {
		fputs("path:       none\nstate:      disabled by ", stdout);
		cli_put_safe(stdout, why.ptr);
		fputs(" (no command reads or writes a plan cache)\n", stdout);
		if (left) {
			fputs("left over:  ", stdout);
			cli_put_safe(stdout, path);
			fputs(" (", stdout);
			put_size(stdout, info.size + info.wal_size);
			fputs(", unused)\n", stdout);
			cli_hintf(g, "'nmig cache clear' deletes it");
		}
	}
	nmig_buf_release(&why);
	nmig_cache_info_release(&info);
	return NMIG_EXIT_OK;
}

static int do_info(struct cli_global *g, const char *path)
{
	struct nmig_cache_info info;
	int rc;

	rc = nmig_cache_info(&info, path);
	if (rc)
		return cli_report_error(g);
	if (g->json)
		info_json(&info);
	else
		info_text(g, &info);
	nmig_cache_info_release(&info);
	return NMIG_EXIT_OK;
}

static int do_clear(struct cli_global *g, const char *path)
{
	struct nmig_cache_info info;
	struct nmig_buf why = NMIG_BUF_INIT;
	int removed = 0, rc;

	rc = nmig_cache_clear(path, &removed);
	if (rc)
		return cli_report_error(g);
	if (g->json) {
		fputs("{\"path\": ", stdout);
		cli_json_str(stdout, path);
		printf(", \"removed\": %d, \"disabled\": %s}\n", removed,
		       g->cfg.cache_off ? "true" : "false");
	} else if (!g->quiet) {
		if (removed) {
			fputs("removed the plan cache '", stdout);
			cli_put_safe(stdout, path);
			printf("' (%d file%s)\n", removed,
			       removed == 1 ? "" : "s");
		} else {
			fputs("no plan cache at '", stdout);
			cli_put_safe(stdout, path);
			fputs("'\n", stdout);
		}
		if (g->cfg.cache_off) {
			disabled_why(g, &why);
			cli_infof(g,
				  "the plan cache is disabled by %s: "
				  "nothing rebuilds it",
				  nmig_buf_oom(&why) ? "'cache = off'"
						     : why.ptr);
			nmig_buf_release(&why);
		}
	}
	/* Mention set-aside copies, which clear keeps on purpose. */
	if (!g->json && nmig_cache_info(&info, path) == NMIG_OK) {
		if (info.nset_aside)
			cli_infof(g,
				  "kept %zu set-aside file%s (%s.bad-*): "
				  "they may hold someone's data; delete them "
				  "by hand",
				  info.nset_aside,
				  info.nset_aside == 1 ? "" : "s", path);
		nmig_cache_info_release(&info);
	}
	return NMIG_EXIT_OK;
}

/* Is word a prefix (at least one letter) of full? */
static int abbrev(const char *word, const char *full)
{
	size_t n = strlen(word);

	return n > 0 && strncmp(word, full, n) == 0;
}

int cmd_cache(struct cli_global *g, int argc, char **argv)
{
	const struct cli_opt opts[] = {
	    {0, "json", NULL, "print one JSON object instead of text", NULL,
	     &g->json, NULL, NULL},
	    {0},
	};
	const struct cli_usage usage = {
	    "cache",
	    "info|clear",
	    "Show or delete the plan cache: a SQLite file that remembers "
	    "parsed\nheaders, checksums and check results of migration files "
	    "(by size,\nmtime and inode) and the applied set last observed "
	    "on each database\n(by host, port, database and user; never a "
	    "password). It only ever\nspeeds nmig up: a stale, corrupt or "
	    "foreign file is set aside and\nrebuilt. The path is 'cache' in "
	    "nmig.conf, else .nmig/cache.db beside\nthe migrations "
	    "directory. With 'cache = off', info says the cache is\n"
	    "disabled and clear still deletes a file left at the default "
	    "path.\n\n"
	    "  info   path, state, size, entries and databases (creates "
	    "nothing)\n"
	    "  clear  delete the cache file with its -wal, -shm and -lock "
	    "files",
	    opts,
	    "nmig cache info\nnmig cache info --json\nnmig cache clear",
	};
	struct nmig_buf path = NMIG_BUF_INIT;
	int rc;

	rc = cli_opts_parse(&usage, &argc, argv);
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (argc < 2) {
		cli_errorf(g, "'cache' needs a subcommand: info or clear");
		cli_hintf(g, "see 'nmig cache --help'");
		return NMIG_EXIT_USAGE;
	}
	if (argc > 2) {
		cli_errorf(g, "unexpected argument '%s'", argv[2]);
		cli_hintf(g, "see 'nmig cache --help'");
		return NMIG_EXIT_USAGE;
	}
	if (cache_path(g, &path) != NMIG_OK) {
		nmig_buf_release(&path);
		nmig_error_set(NMIG_ENOMEM, "out of memory");
		return cli_report_error(g);
	}
	if (abbrev(argv[1], "info")) {
		rc = g->cfg.cache_off ? info_disabled(g, path.ptr)
				      : do_info(g, path.ptr);
	} else if (abbrev(argv[1], "clear")) {
		rc = do_clear(g, path.ptr);
	} else {
		cli_errorf(g, "unknown subcommand '%s' of 'cache'", argv[1]);
		cli_hintf(g, "use 'nmig cache info' or 'nmig cache clear'");
		rc = NMIG_EXIT_USAGE;
	}
	nmig_buf_release(&path);
	return rc;
}
