/*
 * nmig completion: print a bash, zsh or fish script that completes
 * commands, each command's options and revision ids. The options come
 * from the same tables that render each command's --help: every command
 * is run once in capture mode (cli_opts_capture), which hands its usage
 * over instead of parsing, so the script is generated, never hand-copied,
 * and cannot fall behind the binary that printed it. Revision ids are
 * asked for at TAB time from the hidden `nmig __complete revisions`
 * (cmd_complete_helper below): one id per line from the files alone,
 * never a database connection, so a TAB costs one graph load (served from
 * the plan cache) and never a connect timeout, and the shell needs no JSON
 * parser as it would for `history --json`.
 */
#include "commands.h"

#include "buf.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

struct comp_opt {
	char shortname;
	char *longname;
	char *argname; /* NULL: a flag */
	char *help;
};

struct comp_cmd {
	const char *name;
	const char *summary;
	char *args; /* the usage's positional arguments, "" when none */
	struct comp_opt *opts;
	size_t nopts;
};

struct comp_set {
	struct comp_cmd *cmds;
	size_t n;
	int oom;
};

/* A copy of s, "" for NULL; sets *oom when out of memory. */
static char *dup_or_empty(const char *s, int *oom)
{
	char *d = strdup(s ? s : "");

	if (!d)
		*oom = 1;
	return d;
}

/* The capture callback: copy what the script needs of u into set. */
static void capture(const struct cli_usage *u, void *ud)
{
	struct comp_set *set = ud;
	struct comp_cmd *c = &set->cmds[set->n - 1];
	const struct cli_opt *o;
	size_t n = 0, i;

	c->args = dup_or_empty(u->args, &set->oom);
	for (o = u->opts; o && (o->longname || o->shortname); o++)
		n++;
	c->opts = calloc(n ? n : 1, sizeof(*c->opts));
	if (!c->opts) {
		set->oom = 1;
		return;
	}
	for (i = 0, o = u->opts; i < n; i++, o++) {
		c->opts[i].shortname = o->shortname;
		c->opts[i].longname =
		    o->longname ? dup_or_empty(o->longname, &set->oom) : NULL;
		c->opts[i].argname =
		    o->argname ? dup_or_empty(o->argname, &set->oom) : NULL;
		c->opts[i].help = dup_or_empty(o->help, &set->oom);
	}
	c->nopts = n;
}

static void comp_set_release(struct comp_set *set)
{
	size_t i, j;

	for (i = 0; i < set->n; i++) {
		for (j = 0; j < set->cmds[i].nopts; j++) {
			free(set->cmds[i].opts[j].longname);
			free(set->cmds[i].opts[j].argname);
			free(set->cmds[i].opts[j].help);
		}
		free(set->cmds[i].opts);
		free(set->cmds[i].args);
	}
	free(set->cmds);
	memset(set, 0, sizeof(*set));
}

/*
 * Collect the usage of every listed command (help excepted) by running it
 * in capture mode. Returns 0, or -1 when out of memory.
 */
static int comp_set_collect(struct comp_set *set, struct cli_global *g)
{
	const struct cli_cmd *cmds;
	size_t n, i;

	memset(set, 0, sizeof(*set));
	cmds = cli_commands(&n);
	set->cmds = calloc(n, sizeof(*set->cmds));
	if (!set->cmds)
		return -1;
	for (i = 0; i < n; i++) {
		char *argv[3];
		struct comp_cmd *c;

		if (!cmds[i].fn || (cmds[i].flags & NMIG_CMD_HIDDEN))
			continue;
		c = &set->cmds[set->n++];
		c->name = cmds[i].name;
		c->summary = cmds[i].summary;
		argv[0] = (char *)cmds[i].name;
		argv[1] = "--help";
		argv[2] = NULL;
		cli_opts_capture(capture, set);
		cmds[i].fn(g, 2, argv);
		cli_opts_capture(NULL, NULL);
		if (!c->args)
			c->args = dup_or_empty(NULL, &set->oom);
	}
	return set->oom ? -1 : 0;
}

/*
 * What completes a value or argument named spec (an option's argname or a
 * usage's positional arguments): "rev" (revision ids and targets), "file",
 * "choice" (the words of "a|b|c"), "any" (free text), or NULL for none.
 */
static const char *value_kind(const char *spec)
{
	static const char *const revs[] = {"REV", "TARGET", "A:B"};
	static const char *const files[] = {"FILE", "DIR", "SRC", "DEST",
					    "PATH"};
	size_t i;

	if (!spec || !*spec || spec[0] == '-')
		return NULL;
	for (i = 0; i < sizeof(revs) / sizeof(revs[0]); i++)
		if (strstr(spec, revs[i]))
			return "rev";
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strstr(spec, files[i]))
			return "file";
	if (strchr(spec, '|') &&
	    strspn(spec, "[]abcdefghijklmnopqrstuvwxyz|-") == strlen(spec))
		return "choice";
	return "any";
}

/* The words of a choice spec ("[info|clear]"), space-separated, to out. */
static void put_choices(FILE *out, const char *spec)
{
	for (; *spec; spec++) {
		if (*spec == '|')
			fputc(' ', out);
		else if (*spec != '[' && *spec != ']')
			fputc(*spec, out);
	}
}

/* One kind as the scripts spell it: rev, file, any, or "choice:a b". */
static void put_kind(FILE *out, const char *spec)
{
	const char *k = value_kind(spec);

	fputs(k ? k : "", out);
	if (k && strcmp(k, "choice") == 0) {
		fputc(':', out);
		put_choices(out, spec);
	}
}

/* The global options (nmig --help), and which take a value. */
static const char *const global_flags =
    "-q --quiet -v --verbose --json --no-color --no-cache --version -h --help";
static const char *const global_valued[][2] = {
    {"--dir", "DIR"}, {"--config", "FILE"}, {"--url-env", "NAME"}};
#define NGLOBAL_VALUED (sizeof(global_valued) / sizeof(global_valued[0]))

/* The global options that may follow the command name. */
static const char *const global_after[] = {
    "-q",	  "--quiet",	"-v",	 "--verbose", "--json",
    "--no-color", "--no-cache", "--dir", "--config",  "--url-env"};
static const char *const global_after_help[] = {
    "print only errors and results",
    "print only errors and results",
    "print more detail",
    "print more detail",
    "machine-readable output",
    "no colour",
    "run without the plan cache",
    "migrations directory",
    "config file",
    "variable holding the database URL"};
#define NGLOBAL_AFTER (sizeof(global_after) / sizeof(global_after[0]))

/* Whether c has its own option spelled opt ("-v", "--dir"). */
static int shadows(const struct comp_cmd *c, const char *opt)
{
	size_t j;

	for (j = 0; j < c->nopts; j++) {
		if (opt[1] != '-' && c->opts[j].shortname == opt[1])
			return 1;
		if (opt[1] == '-' && c->opts[j].longname &&
		    strcmp(c->opts[j].longname, opt + 2) == 0)
			return 1;
	}
	return 0;
}

/*
 * The shell functions bash and zsh share (POSIX case statements): the
 * command list, each command's options, the kind of an option's value and
 * of a command's arguments, and prefix resolution as the dispatcher does.
 */
static void put_sh_data(FILE *out, const struct comp_set *set)
{
	size_t i, j;

	fputs("_nmig_commands='", out);
	for (i = 0; i < set->n; i++)
		fprintf(out, "%s%s", i ? " " : "", set->cmds[i].name);
	fputs(" help'\n", out);
	fprintf(out, "_nmig_globals='%s", global_flags);
	for (i = 0; i < NGLOBAL_VALUED; i++)
		fprintf(out, " %s", global_valued[i][0]);
	fputs("'\n\n# _nmig_cmd_opts CMD: the options of CMD (its --help "
	      "table)\n_nmig_cmd_opts() {\n\tcase $1 in\n",
	      out);
	for (i = 0; i < set->n; i++) {
		const struct comp_cmd *c = &set->cmds[i];

		fprintf(out, "\t%s) echo '", c->name);
		for (j = 0; j < c->nopts; j++) {
			if (c->opts[j].shortname)
				fprintf(out, "-%c ", c->opts[j].shortname);
			if (c->opts[j].longname)
				fprintf(out, "--%s ", c->opts[j].longname);
		}
		fputs("-h --help", out);
		for (j = 0; j < NGLOBAL_AFTER; j++)
			if (!shadows(c, global_after[j]))
				fprintf(out, " %s", global_after[j]);
		fputs("' ;;\n", out);
	}
	fputs("\tesac\n}\n\n# _nmig_shadows CMD OPTION: CMD has its own "
	      "OPTION of a global's name\n_nmig_shadows() {\n\tcase \"$1 $2\" "
	      "in\n",
	      out);
	for (i = 0; i < set->n; i++)
		for (j = 0; j < NGLOBAL_AFTER; j++)
			if (shadows(&set->cmds[i], global_after[j]))
				fprintf(out, "\t'%s %s') return 0 ;;\n",
					set->cmds[i].name, global_after[j]);
	fputs("\tesac\n\treturn 1\n}\n\n# _nmig_opt_kind CMD OPTION: what "
	      "OPTION's value "
	      "is (rev, file, any,\n# choice:WORDS), nothing for a flag\n"
	      "_nmig_opt_kind() {\n\tcase \"$1 $2\" in\n",
	      out);
	for (i = 0; i < set->n; i++) {
		const struct comp_cmd *c = &set->cmds[i];

		for (j = 0; j < c->nopts; j++) {
			const struct comp_opt *o = &c->opts[j];

			if (!o->argname)
				continue;
			fputs("\t", out);
			if (o->shortname)
				fprintf(out, "'%s -%c'%s", c->name,
					o->shortname, o->longname ? " | " : "");
			if (o->longname)
				fprintf(out, "'%s --%s'", c->name, o->longname);
			fputs(") echo '", out);
			put_kind(out, o->argname);
			fputs("' ;;\n", out);
		}
	}
	/* a global one, unless the command has its own of that name */
	for (i = 0; i < NGLOBAL_VALUED; i++) {
		fprintf(out, "\t*' %s') echo '", global_valued[i][0]);
		put_kind(out, global_valued[i][1]);
		fputs("' ;;\n", out);
	}
	fputs("\tesac\n}\n\n# _nmig_arg_kind CMD: what CMD's arguments are\n"
	      "_nmig_arg_kind() {\n\tcase $1 in\n\thelp) echo "
	      "'choice:'\"$_nmig_commands\" ;;\n",
	      out);
	for (i = 0; i < set->n; i++) {
		if (!value_kind(set->cmds[i].args))
			continue;
		fprintf(out, "\t%s) echo '", set->cmds[i].name);
		put_kind(out, set->cmds[i].args);
		fputs("' ;;\n", out);
	}
	fputs("\tesac\n}\n\n"
	      "# _nmig_resolve WORD: the command WORD names, exactly or as a "
	      "unique prefix\n"
	      "_nmig_resolve() {\n"
	      "\tlocal c found= n=0\n"
	      "\tfor c in",
	      out);
	for (i = 0; i < set->n; i++)
		fprintf(out, " %s", set->cmds[i].name);
	fputs(" help; do\n"
	      "\t\tif [ \"$c\" = \"$1\" ]; then\n"
	      "\t\t\techo \"$c\"\n"
	      "\t\t\treturn\n"
	      "\t\tfi\n"
	      "\t\tcase $c in \"$1\"*) found=$c n=$((n + 1)) ;; esac\n"
	      "\tdone\n"
	      "\t[ \"$n\" -eq 1 ] && echo \"$found\"\n"
	      "}\n\n",
	      out);
}

/*
 * The bash script. _nmig scans the words before the cursor for the command
 * (skipping global options and their values, and the values of the
 * command's options), keeps the --dir / --config / --url-env words to pass
 * to `nmig __complete`, and completes by what the cursor's word is: an
 * option's value, an option, the command, or the command's arguments.
 */
static void put_bash(FILE *out, const struct comp_set *set)
{
	fprintf(out,
		"# bash completion for nmig, generated by 'nmig completion "
		"bash' (nmig %s)\n"
		"# from the option tables that render each command's --help."
		"\n# Install: see README.md (\"Shell completion\").\n\n",
		NMIG_VERSION);
	put_sh_data(out, set);
	fputs(
	    "# _nmig_revs NMIG ARGS...: revision ids, newest first, and the "
	    "symbolic\n# targets, from the files (never the database)\n"
	    "_nmig_revs() {\n"
	    "\t\"$@\" __complete revisions 2>/dev/null\n"
	    "}\n\n"
	    "_nmig() {\n"
	    "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev= cmd= w kind i\n"
	    "\tlocal -a pass=()\n"
	    "\tCOMPREPLY=()\n"
	    "\t# COMP_WORDBREAKS splits --dir=X and A:B; join them back\n"
	    "\ti=$((COMP_CWORD - 1))\n"
	    "\tcase $cur in =|:) cur= i=$((i + 1)) ;; esac\n"
	    "\tprev=${COMP_WORDS[i]}\n"
	    "\tif [ \"$prev\" = = ] || [ \"$prev\" = : ]; then\n"
	    "\t\tprev=${COMP_WORDS[i - 1]}\n"
	    "\t\t# -r A:B, at B: the option is before A\n"
	    "\t\tcase $prev in -*) ;; *) prev=${COMP_WORDS[i - 2]} ;; esac\n"
	    "\tfi\n"
	    "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	    "\t\tw=${COMP_WORDS[i]}\n"
	    "\t\tcase $w in\n"
	    "\t\t--dir | --config | --url-env)\n"
	    "\t\t\tif [ \"${COMP_WORDS[i + 1]}\" = = ]; then\n"
	    "\t\t\t\ti=$((i + 1))\n"
	    "\t\t\tfi\n"
	    "\t\t\tif [ -z \"$cmd\" ] || ! _nmig_shadows \"$cmd\" \"$w\"; "
	    "then\n"
	    "\t\t\t\tpass+=(\"$w\" \"${COMP_WORDS[i + 1]}\")\n"
	    "\t\t\tfi\n"
	    "\t\t\ti=$((i + 1))\n"
	    "\t\t\tcontinue\n"
	    "\t\t\t;;\n"
	    "\t\tesac\n"
	    "\t\tif [ -z \"$cmd\" ]; then\n"
	    "\t\t\tcase $w in -*) continue ;; esac\n"
	    "\t\t\tcmd=$(_nmig_resolve \"$w\")\n"
	    "\t\t\t[ -n \"$cmd\" ] || return 0\n"
	    "\t\telif [ -n \"$(_nmig_opt_kind \"$cmd\" \"$w\")\" ]; then\n"
	    "\t\t\ti=$((i + 1))\n"
	    "\t\tfi\n"
	    "\tdone\n"
	    "\tkind=\n"
	    "\tcase $prev in -*) kind=$(_nmig_opt_kind \"${cmd:-}\" \"$prev\") "
	    ";; esac\n"
	    "\tif [ -z \"$kind\" ]; then\n"
	    "\t\tcase $cur in\n"
	    "\t\t-*)\n"
	    "\t\t\tw=$_nmig_globals\n"
	    "\t\t\t[ -z \"$cmd\" ] || w=$(_nmig_cmd_opts \"$cmd\")\n"
	    "\t\t\tmapfile -t COMPREPLY < <(compgen -W \"$w\" -- \"$cur\")\n"
	    "\t\t\treturn 0\n"
	    "\t\t\t;;\n"
	    "\t\tesac\n"
	    "\t\tif [ -z \"$cmd\" ]; then\n"
	    "\t\t\tmapfile -t COMPREPLY < <(compgen -W \"$_nmig_commands\" -- "
	    "\"$cur\")\n"
	    "\t\t\treturn 0\n"
	    "\t\tfi\n"
	    "\t\tkind=$(_nmig_arg_kind \"$cmd\")\n"
	    "\tfi\n"
	    "\tcase $kind in\n"
	    "\trev) mapfile -t COMPREPLY < <(compgen -W \"$(_nmig_revs "
	    "\"${COMP_WORDS[0]}\" \"${pass[@]}\")\" -- \"$cur\") ;;\n"
	    "\tfile) mapfile -t COMPREPLY < <(compgen -f -- \"$cur\") ;;\n"
	    "\tchoice:*) mapfile -t COMPREPLY < <(compgen -W "
	    "\"${kind#choice:}\" "
	    "-- \"$cur\") ;;\n"
	    "\tesac\n"
	    "\treturn 0\n"
	    "}\n\n"
	    "complete -o default -F _nmig nmig\n",
	    out);
}

/* s as the inside of a single-quoted zsh/fish word, its first line only. */
static void put_quoted(FILE *out, const char *s, int fish)
{
	for (; s && *s && *s != '\n'; s++) {
		if (*s == '\'')
			fputs(fish ? "\\'" : "'\\''", out);
		else if (*s == '\\' && fish)
			fputs("\\\\", out);
		else if (*s == ':' && !fish)
			fputs("\\:", out);
		else
			fputc(*s, out);
	}
}

static void put_zsh(FILE *out, const struct comp_set *set)
{
	size_t i, j;

	fprintf(out,
		"#compdef nmig\n"
		"# zsh completion for nmig, generated by 'nmig completion zsh' "
		"(nmig %s)\n"
		"# from the option tables that render each command's --help."
		"\n# Install: see README.md (\"Shell completion\").\n\n",
		NMIG_VERSION);
	put_sh_data(out, set);
	fputs("# _nmig_describe_opts CMD: CMD's options with their help\n"
	      "_nmig_describe_opts() {\n\tlocal -a o\n\tcase $1 in\n",
	      out);
	for (i = 0; i < set->n; i++) {
		const struct comp_cmd *c = &set->cmds[i];

		fprintf(out, "\t%s) o=(", c->name);
		for (j = 0; j < c->nopts; j++) {
			const struct comp_opt *o = &c->opts[j];

			if (o->shortname) {
				fprintf(out, "\n\t\t'-%c:", o->shortname);
				put_quoted(out, o->help, 0);
				fputc('\'', out);
			}
			if (o->longname) {
				fprintf(out, "\n\t\t'--%s:", o->longname);
				put_quoted(out, o->help, 0);
				fputc('\'', out);
			}
		}
		for (j = 0; j < NGLOBAL_AFTER; j++) {
			if (shadows(c, global_after[j]))
				continue;
			fprintf(out, "\n\t\t'%s:", global_after[j]);
			put_quoted(out, global_after_help[j], 0);
			fputc('\'', out);
		}
		fputs(") ;;\n", out);
	}
	fputs(
	    "\tesac\n"
	    "\to+=('-h:show this help and exit' '--help:show this help and "
	    "exit')\n"
	    "\t_describe -t options option o\n"
	    "}\n\n"
	    "_nmig() {\n"
	    "\tlocal cur=${words[CURRENT]} prev=${words[CURRENT-1]} cmd= w "
	    "kind i\n"
	    "\tlocal -a pass cmds\n"
	    "\tfor ((i = 2; i < CURRENT; i++)); do\n"
	    "\t\tw=${words[i]}\n"
	    "\t\tcase $w in\n"
	    "\t\t--dir | --config | --url-env)\n"
	    "\t\t\tif [ -z \"$cmd\" ] || ! _nmig_shadows \"$cmd\" \"$w\"; "
	    "then\n"
	    "\t\t\t\tpass+=(\"$w\" \"${words[i+1]}\")\n"
	    "\t\t\tfi\n"
	    "\t\t\t(( i++ ))\n"
	    "\t\t\tcontinue\n"
	    "\t\t\t;;\n"
	    "\t\t--dir=* | --config=* | --url-env=*)\n"
	    "\t\t\t[ -n \"$cmd\" ] && _nmig_shadows \"$cmd\" \"${w%%=*}\" ||\n"
	    "\t\t\t\tpass+=(\"$w\")\n"
	    "\t\t\tcontinue\n"
	    "\t\t\t;;\n"
	    "\t\tesac\n"
	    "\t\tif [ -z \"$cmd\" ]; then\n"
	    "\t\t\tcase $w in -*) continue ;; esac\n"
	    "\t\t\tcmd=$(_nmig_resolve \"$w\")\n"
	    "\t\t\t[ -n \"$cmd\" ] || return 1\n"
	    "\t\telif [ -n \"$(_nmig_opt_kind \"$cmd\" \"$w\")\" ]; then\n"
	    "\t\t\t(( i++ ))\n"
	    "\t\tfi\n"
	    "\tdone\n"
	    "\tkind=\n"
	    "\tcase $prev in -*) kind=$(_nmig_opt_kind \"$cmd\" \"$prev\") "
	    ";; esac\n"
	    "\tif [ -z \"$kind\" ]; then\n"
	    "\t\tif [[ $cur == -* ]]; then\n"
	    "\t\t\tif [ -n \"$cmd\" ]; then\n"
	    "\t\t\t\t_nmig_describe_opts \"$cmd\"\n"
	    "\t\t\telse\n"
	    "\t\t\t\tcompadd -- ${=_nmig_globals}\n"
	    "\t\t\tfi\n"
	    "\t\t\treturn\n"
	    "\t\tfi\n"
	    "\t\tif [ -z \"$cmd\" ]; then\n"
	    "\t\t\tcmds=(\n",
	    out);
	for (i = 0; i < set->n; i++) {
		fprintf(out, "\t\t\t\t'%s:", set->cmds[i].name);
		put_quoted(out, set->cmds[i].summary, 0);
		fputs("'\n", out);
	}
	fputs(
	    "\t\t\t\t'help:show help for a command'\n"
	    "\t\t\t)\n"
	    "\t\t\t_describe -t commands command cmds\n"
	    "\t\t\treturn\n"
	    "\t\tfi\n"
	    "\t\tkind=$(_nmig_arg_kind \"$cmd\")\n"
	    "\tfi\n"
	    "\tcase $kind in\n"
	    "\trev) compadd -- ${(f)\"$(${words[1]} \"${pass[@]}\" __complete "
	    "revisions 2>/dev/null)\"} ;;\n"
	    "\tfile) _files ;;\n"
	    "\tchoice:*) compadd -- ${=kind#choice:} ;;\n"
	    "\tesac\n"
	    "}\n\n"
	    "if [ \"$funcstack[1]\" = _nmig ]; then\n"
	    "\t_nmig \"$@\"\n"
	    "else\n"
	    "\tcompdef _nmig nmig\n"
	    "fi\n",
	    out);
}

/* One fish `complete` line for option o, under condition cond. */
static void put_fish_opt(FILE *out, const char *cond, const struct comp_opt *o)
{
	const char *kind = value_kind(o->argname);

	fprintf(out, "complete -c nmig -n '%s'", cond);
	if (o->shortname)
		fprintf(out, " -s %c", o->shortname);
	if (o->longname)
		fprintf(out, " -l %s", o->longname);
	if (kind && strcmp(kind, "rev") == 0)
		fputs(" -x -a '(__nmig_revs)'", out);
	else if (kind && strcmp(kind, "file") == 0)
		fputs(" -r -F", out);
	else if (kind && strcmp(kind, "choice") == 0) {
		fputs(" -x -a '", out);
		put_choices(out, o->argname);
		fputc('\'', out);
	} else if (kind)
		fputs(" -x", out);
	fputs(" -d '", out);
	put_quoted(out, o->help, 1);
	fputs("'\n", out);
}

static void put_fish(FILE *out, const struct comp_set *set)
{
	static const struct comp_opt globals[] = {
	    {0, "dir", "DIR", "migrations directory"},
	    {0, "config", "FILE", "config file"},
	    {0, "url-env", "NAME", "variable holding the database URL"},
	    {'q', "quiet", NULL, "print only errors and results"},
	    {'v', "verbose", NULL, "print more detail"},
	    {0, "json", NULL, "machine-readable output"},
	    {0, "no-color", NULL, "no colour"},
	    {0, "no-cache", NULL, "run without the plan cache"},
	    {0, "version", NULL, "print the version and exit"},
	    {'h', "help", NULL, "show help and exit"},
	};
	struct nmig_buf cond = NMIG_BUF_INIT;
	size_t i, j;

	fprintf(out,
		"# fish completion for nmig, generated by 'nmig completion "
		"fish' (nmig %s)\n"
		"# from the option tables that render each command's --help."
		"\n# Install: see README.md (\"Shell completion\").\n\n"
		"function __nmig_revs\n"
		"    set -l t (commandline -opc)\n"
		"    set -l pass\n"
		"    for i in (seq 2 (count $t))\n"
		"        switch $t[$i]\n"
		"            case --dir --config --url-env\n"
		"                set -a pass $t[$i] $t[(math $i + 1)]\n"
		"            case '--dir=*' '--config=*' '--url-env=*'\n"
		"                set -a pass $t[$i]\n"
		"        end\n"
		"    end\n"
		"    $t[1] $pass __complete revisions 2>/dev/null\n"
		"end\n\n"
		"complete -c nmig -f\n",
		NMIG_VERSION);
	for (i = 0; i < sizeof(globals) / sizeof(globals[0]); i++)
		put_fish_opt(out, "true", &globals[i]);
	for (i = 0; i < set->n; i++) {
		fprintf(out,
			"complete -c nmig -n __fish_use_subcommand -a %s -d '",
			set->cmds[i].name);
		put_quoted(out, set->cmds[i].summary, 1);
		fputs("'\n", out);
	}
	fputs("complete -c nmig -n __fish_use_subcommand -a help -d 'show help "
	      "for a command'\n"
	      "complete -c nmig -n '__fish_seen_subcommand_from help' -a '",
	      out);
	for (i = 0; i < set->n; i++)
		fprintf(out, "%s%s", i ? " " : "", set->cmds[i].name);
	fputs("'\n", out);
	for (i = 0; i < set->n; i++) {
		const struct comp_cmd *c = &set->cmds[i];
		const char *kind = value_kind(c->args);

		nmig_buf_clear(&cond);
		nmig_buf_printf(&cond, "__fish_seen_subcommand_from %s",
				c->name);
		for (j = 0; j < c->nopts; j++)
			put_fish_opt(out, cond.ptr, &c->opts[j]);
		if (kind && strcmp(kind, "rev") == 0)
			fprintf(out,
				"complete -c nmig -n '%s' -a "
				"'(__nmig_revs)'\n",
				cond.ptr);
		else if (kind && strcmp(kind, "file") == 0)
			fprintf(out, "complete -c nmig -n '%s' -F\n", cond.ptr);
		else if (kind && strcmp(kind, "choice") == 0) {
			fprintf(out, "complete -c nmig -n '%s' -a '", cond.ptr);
			put_choices(out, c->args);
			fputs("'\n", out);
		}
	}
	nmig_buf_release(&cond);
}

int cmd_completion(struct cli_global *g, int argc, char **argv)
{
	const struct cli_opt opts[] = {{0}};
	const struct cli_usage usage = {
	    "completion",
	    "bash|zsh|fish",
	    "Print a completion script for the shell: it completes commands "
	    "(and\nunique prefixes), each command's options and revision ids "
	    "(from the\nfiles, asked of 'nmig __complete revisions' at TAB "
	    "time, never of the\ndatabase). The option lists are generated "
	    "from the tables that render\neach command's --help, so the script "
	    "matches the binary that printed it.",
	    opts,
	    "source <(nmig completion bash)                      # this shell\n"
	    "nmig completion bash > ~/.local/share/bash-completion/completions/"
	    "nmig\n"
	    "nmig completion zsh > \"${fpath[1]}/_nmig\"\n"
	    "nmig completion fish > ~/.config/fish/completions/nmig.fish",
	};
	struct comp_set set;
	int rc;

	rc = cli_opts_parse(&usage, &argc, argv);
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (argc != 2 ||
	    (strcmp(argv[1], "bash") != 0 && strcmp(argv[1], "zsh") != 0 &&
	     strcmp(argv[1], "fish") != 0)) {
		if (argc < 2)
			cli_errorf(g, "completion needs a shell");
		else if (argc > 2)
			cli_errorf(g, "unexpected argument '%s'", argv[2]);
		else
			cli_errorf(g, "unknown shell '%s'", argv[1]);
		cli_hintf(g, "write 'nmig completion bash', 'zsh' or 'fish'");
		return NMIG_EXIT_USAGE;
	}
	if (comp_set_collect(&set, g)) {
		comp_set_release(&set);
		cli_errorf(g, "out of memory");
		return NMIG_EXIT_FAILURE;
	}
	if (strcmp(argv[1], "bash") == 0)
		put_bash(stdout, &set);
	else if (strcmp(argv[1], "zsh") == 0)
		put_zsh(stdout, &set);
	else
		put_fish(stdout, &set);
	comp_set_release(&set);
	return NMIG_EXIT_OK;
}

/*
 * nmig __complete revisions: what the completion scripts offer where a
 * revision goes -- every id, newest first, then the symbolic targets. From
 * the files alone; prints nothing (exit code only) when they cannot be
 * read, so a TAB in the wrong directory stays quiet.
 */
int cmd_complete_helper(struct cli_global *g, int argc, char **argv)
{
	const struct cli_opt opts[] = {{0}};
	const struct cli_usage usage = {
	    "__complete",
	    "revisions",
	    "Print completion candidates (for the scripts of 'nmig "
	    "completion').",
	    opts,
	    NULL,
	};
	struct nmig_revset set;
	struct nmig_graph *graph = NULL;
	size_t i;
	int rc;

	memset(&set, 0, sizeof(set));
	rc = cli_opts_parse(&usage, &argc, argv);
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (argc != 2 || strcmp(argv[1], "revisions") != 0)
		return NMIG_EXIT_USAGE;
	g->quiet = 1;
	rc = cli_load_graph(g, &set, &graph);
	for (i = graph ? nmig_graph_count(graph) : 0; rc == 0 && i-- > 0;)
		printf("%s\n", nmig_graph_rev(graph, i)->id);
	if (rc == 0)
		fputs("head\nheads\nbase\n", stdout);
	if (graph)
		nmig_graph_free(graph);
	nmig_revset_release(&set);
	return rc;
}
