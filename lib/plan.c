/*
 * Targets and plans (see plan.h): the applied set read into marks over the
 * graph, Alembic's target vocabulary resolved to sets of nodes, and the
 * upgrade and downgrade plans computed from a target and the applied set.
 * Everything here is a pure function of the graph and the applied ids, and
 * linear in the number of revisions: a resolution makes at most a couple
 * of sweeps over the plan order, never a search per revision.
 */
#include "plan.h"

#include "buf.h"
#include "error.h"
#include "revfile.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Internal: the spec names no revision (no error set yet). */
#define NOT_A_REV 1
/* Shortest id prefix accepted as a target. */
#define MIN_PREFIX 4
/* How many candidates an ambiguity message lists before "...". */
#define MAX_LISTED 10

/* What a target spec turned out to be. */
enum kind {
	K_SET,	/* ids, head, heads, <rev>+N, <rev>-N */
	K_BASE, /* base: the empty set */
	K_UP,	/* +N */
	K_DOWN, /* -N */
};

struct resolved {
	enum kind kind;
	size_t count;  /* N of +N / -N */
	size_t *nodes; /* ascending plan positions */
	size_t n;
};

static int oom(void)
{
	return nmig_error_set(NMIG_ENOMEM, "out of memory");
}

/* A decimal count, saturating (a huge count fails as "too far" later). */
static size_t parse_count(const char *s)
{
	size_t v = 0;

	for (; *s; s++) {
		size_t d = (size_t)(*s - '0');

		if (v > (SIZE_MAX - d) / 10)
			return SIZE_MAX;
		v = v * 10 + d;
	}
	return v;
}

static const char *revisions(size_t n)
{
	return n == 1 ? "revision" : "revisions";
}

static const char *rev_id(const struct nmig_graph *g, size_t i)
{
	return nmig_graph_rev(g, i)->id;
}

/* Append "a, b, c" (at most MAX_LISTED, then ", ...") to buf. */
static void put_ids(struct nmig_buf *buf, const struct nmig_graph *g,
		    const size_t *nodes, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < MAX_LISTED; i++)
		nmig_buf_printf(buf, "%s%s", i ? ", " : "",
				rev_id(g, nodes[i]));
	if (n > MAX_LISTED)
		nmig_buf_puts(buf, ", ...");
}

/* A malloc'ed one-node set. */
static int single(struct resolved *r, size_t node)
{
	r->nodes = malloc(sizeof(*r->nodes));
	if (!r->nodes)
		return oom();
	r->nodes[0] = node;
	r->n = 1;
	return NMIG_OK;
}

/* The maximal nodes of the marked set (no marked child): its heads. */
static int marked_heads(const struct nmig_graph *g, const unsigned char *mark,
			struct resolved *r)
{
	size_t count = nmig_graph_count(g), i, k, nc;

	r->n = 0;
	r->nodes = NULL;
	for (i = 0; i < count; i++) {
		const size_t *c;

		if (!mark[i])
			continue;
		c = nmig_graph_children(g, i, &nc);
		for (k = 0; k < nc && !mark[c[k]]; k++)
			;
		if (k < nc)
			continue;
		if (!r->nodes) {
			r->nodes = malloc((count - i) * sizeof(*r->nodes));
			if (!r->nodes)
				return oom();
		}
		r->nodes[r->n++] = i;
	}
	return NMIG_OK;
}

/* `head`: the single head. */
static int resolve_head(const struct nmig_graph *g, struct resolved *r)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	const size_t *heads;
	size_t nheads;

	heads = nmig_graph_heads(g, &nheads);
	if (nheads == 1)
		return single(r, heads[0]);
	if (nheads == 0) {
		nmig_error_set(NMIG_ENOTFOUND,
			       "there are no revisions, so no 'head'");
		nmig_error_hint("create one with 'nmig revision'");
		return NMIG_ENOTFOUND;
	}
	put_ids(&b, g, heads, nheads);
	nmig_error_set(NMIG_EAMBIGUOUS, "several heads: %s", b.ptr);
	nmig_error_hint("name one, use 'heads', or merge them with "
			"'nmig merge'");
	nmig_buf_release(&b);
	return NMIG_EAMBIGUOUS;
}

/*
 * Nodes whose id starts with prefix: returns how many, with the first
 * MAX_LISTED in plan order in found[].
 */
static size_t prefix_matches(const struct nmig_graph *g, const char *prefix,
			     size_t found[MAX_LISTED])
{
	size_t count = nmig_graph_count(g), len = strlen(prefix), i, k = 0;

	for (i = 0; i < count; i++) {
		if (strncmp(rev_id(g, i), prefix, len) != 0)
			continue;
		if (k < MAX_LISTED)
			found[k] = i;
		k++;
	}
	return k;
}

/*
 * A prefix of MIN_PREFIX+ characters naming one revision. Returns NMIG_OK,
 * NMIG_EAMBIGUOUS (error set), or NOT_A_REV with no error set (the caller
 * decides what the spec was).
 */
static int resolve_prefix(const struct nmig_graph *g, const char *spec,
			  struct resolved *r)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	size_t found[MAX_LISTED], k;

	if (strlen(spec) < MIN_PREFIX)
		return NOT_A_REV;
	k = prefix_matches(g, spec, found);
	if (k == 0)
		return NOT_A_REV;
	if (k == 1)
		return single(r, found[0]);
	put_ids(&b, g, found, k < MAX_LISTED ? k : MAX_LISTED);
	if (k > MAX_LISTED)
		nmig_buf_puts(&b, ", ...");
	nmig_error_set(NMIG_EAMBIGUOUS,
		       "revision '%s' is ambiguous, could be: %s", spec, b.ptr);
	nmig_error_hint("give more characters of the id");
	nmig_buf_release(&b);
	return NMIG_EAMBIGUOUS;
}

static int not_found(const char *spec)
{
	nmig_error_set(NMIG_ENOTFOUND, "unknown revision '%s'", spec);
	if (strlen(spec) < MIN_PREFIX)
		nmig_error_hint("a revision prefix needs at least %d "
				"characters; 'nmig history' lists the ids",
				MIN_PREFIX);
	else
		nmig_error_hint("'nmig history' lists the revisions");
	return NMIG_ENOTFOUND;
}

/*
 * One revision named by `head`, `base` (*node is then SIZE_MAX), a full id
 * or a unique prefix. NOT_A_REV comes back with no error set.
 */
static int resolve_one(const struct nmig_graph *g, const char *spec,
		       size_t *node)
{
	struct resolved r = {K_SET, 0, NULL, 0};
	long at;
	int rc;

	if (strcmp(spec, "head") == 0) {
		rc = resolve_head(g, &r);
	} else if (strcmp(spec, "base") == 0) {
		*node = SIZE_MAX;
		return NMIG_OK;
	} else if ((at = nmig_graph_find(g, spec)) >= 0) {
		*node = (size_t)at;
		return NMIG_OK;
	} else {
		rc = resolve_prefix(g, spec, &r);
	}
	if (rc == NMIG_OK)
		*node = r.nodes[0];
	free(r.nodes);
	return rc;
}

/*
 * `<rev>+N` / `<rev>-N`: the N-th strict descendant (ancestor) of rev
 * along the plan order (backwards for ancestors); N = 0 is rev itself.
 * `base+N` is the N-th revision of the plan order.
 */
static int resolve_from(const struct nmig_graph *g, const char *revspec,
			size_t rev, char sign, const char *digits,
			struct resolved *r)
{
	size_t count = nmig_graph_count(g), steps = parse_count(digits);
	size_t i, seen = 0;
	unsigned char *mark = NULL;
	int rc = NMIG_OK;

	if (steps == 0) {
		if (rev == SIZE_MAX) {
			r->kind = K_BASE;
			return NMIG_OK;
		}
		return single(r, rev);
	}
	if (rev == SIZE_MAX && sign == '-') {
		nmig_error_set(NMIG_ENOTFOUND,
			       "cannot go %s %s down from 'base'", digits,
			       revisions(steps));
		nmig_error_hint("'base' is before every revision");
		return NMIG_ENOTFOUND;
	}
	if (rev == SIZE_MAX) {
		if (steps > count) {
			nmig_error_set(NMIG_ENOTFOUND,
				       "cannot go %s %s up from 'base': "
				       "there %s only %zu",
				       digits, revisions(steps),
				       count == 1 ? "is" : "are", count);
			return NMIG_ENOTFOUND;
		}
		return single(r, steps - 1);
	}
	mark = calloc(count, 1);
	if (!mark)
		return oom();
	if (sign == '+') {
		nmig_graph_mark_descendants(g, &rev, 1, mark);
		for (i = rev + 1; i < count; i++)
			if (mark[i] && ++seen == steps)
				break;
	} else {
		nmig_graph_mark_ancestors(g, &rev, 1, mark);
		for (i = rev; i-- > 0;)
			if (mark[i] && ++seen == steps)
				break;
	}
	if (seen == steps) {
		rc = single(r, i);
	} else {
		rc = nmig_error_set(NMIG_ENOTFOUND,
				    "cannot go %s %s %s from '%s': it has only "
				    "%zu %s%s",
				    digits, revisions(steps),
				    sign == '+' ? "up" : "down", revspec, seen,
				    sign == '+' ? "descendant" : "ancestor",
				    seen == 1 ? "" : "s");
	}
	free(mark);
	return rc;
}

/*
 * `+N`: the heads of the applied set plus the first N pending revisions in
 * plan order (their closure adds exactly those N). `-N`: the heads of the
 * applied set without its last N revisions in plan order (still
 * ancestor-closed, since a descendant comes later in plan order).
 */
static int resolve_relative(const struct nmig_graph *g,
			    const struct nmig_applied *applied, char sign,
			    const char *digits, struct resolved *r)
{
	size_t count = nmig_graph_count(g), steps = parse_count(digits);
	size_t napplied = 0, i, left;
	unsigned char *mark = NULL;
	int rc;

	mark = calloc(count ? count : 1, 1);
	if (!mark)
		return oom();
	for (i = 0; applied && i < count; i++)
		if (applied->mark[i]) {
			mark[i] = 1;
			napplied++;
		}
	r->kind = sign == '+' ? K_UP : K_DOWN;
	r->count = steps;
	if (sign == '+') {
		if (steps > count - napplied) {
			size_t pending = count - napplied;

			rc = nmig_error_set(NMIG_ENOTFOUND,
					    "cannot go %s %s up: only %zu %s "
					    "pending",
					    digits, revisions(steps), pending,
					    pending == 1 ? "is" : "are");
			goto cleanup;
		}
		for (i = 0, left = steps; i < count && left; i++)
			if (!mark[i]) {
				mark[i] = 1;
				left--;
			}
	} else {
		if (steps > napplied) {
			rc = nmig_error_set(NMIG_ENOTFOUND,
					    "cannot go %s %s down: only %zu %s "
					    "applied",
					    digits, revisions(steps), napplied,
					    napplied == 1 ? "is" : "are");
			goto cleanup;
		}
		for (i = count, left = steps; i-- > 0 && left;)
			if (mark[i]) {
				mark[i] = 0;
				left--;
			}
	}
	rc = marked_heads(g, mark, r);

cleanup:
	free(mark);
	return rc;
}

/*
 * Resolve spec, in this order:
 *   1. `head`, `heads`, `base`;
 *   2. a full id (an exact match wins even when it is also a prefix of
 *      other ids, or contains '+' or '-' like Diesel's
 *      `2019-02-26-002946`);
 *   3. `+N` / `-N`;
 *   4. a prefix of MIN_PREFIX+ characters of one or more ids (several is
 *      an ambiguity error);
 *   5. `<rev>+N` / `<rev>-N`: split at the last '+' or '-', recognised
 *      only when what follows is all digits and what precedes resolves
 *      as one revision (`head`, `base`, a full id or a unique prefix);
 *   6. otherwise the revision is unknown.
 */
static int resolve(const struct nmig_graph *g,
		   const struct nmig_applied *applied, enum nmig_direction dir,
		   const char *spec, struct resolved *r)
{
	const char *sign;
	long at;
	int rc;

	memset(r, 0, sizeof(*r));
	r->kind = K_SET;
	if (!spec || !*spec) {
		nmig_error_set(NMIG_EUSAGE, "empty target");
		nmig_error_hint("name a revision, 'head', 'heads' or 'base'");
		return NMIG_EUSAGE;
	}
	if (strcmp(spec, "head") == 0)
		return resolve_head(g, r);
	if (strcmp(spec, "heads") == 0) {
		size_t nheads;
		const size_t *heads = nmig_graph_heads(g, &nheads);

		if (!nheads)
			return NMIG_OK;
		r->nodes = malloc(nheads * sizeof(*r->nodes));
		if (!r->nodes)
			return oom();
		memcpy(r->nodes, heads, nheads * sizeof(*r->nodes));
		r->n = nheads;
		return NMIG_OK;
	}
	if (strcmp(spec, "base") == 0) {
		r->kind = K_BASE;
		return NMIG_OK;
	}
	if ((at = nmig_graph_find(g, spec)) >= 0)
		return single(r, (size_t)at);
	if ((spec[0] == '+' || spec[0] == '-') && nmig_id_is_digits(spec + 1)) {
		if (dir && (spec[0] == '+') != (dir == NMIG_UP)) {
			nmig_error_set(NMIG_EUSAGE,
				       "relative target '%s' goes %s, against "
				       "the direction of this command",
				       spec, spec[0] == '+' ? "up" : "down");
			nmig_error_hint("use '+N' to go up and '-N' to go "
					"down");
			return NMIG_EUSAGE;
		}
		return resolve_relative(g, applied, spec[0], spec + 1, r);
	}
	rc = resolve_prefix(g, spec, r);
	if (rc != NOT_A_REV)
		return rc;
	sign = strrchr(spec, '+');
	if (!sign || (strrchr(spec, '-') && strrchr(spec, '-') > sign))
		sign = strrchr(spec, '-');
	if (sign && sign > spec && nmig_id_is_digits(sign + 1)) {
		char *revspec = strndup(spec, (size_t)(sign - spec));
		size_t rev;

		if (!revspec)
			return oom();
		rc = resolve_one(g, revspec, &rev);
		if (rc == NMIG_OK)
			rc = resolve_from(g, revspec, rev, *sign, sign + 1, r);
		free(revspec);
		if (rc != NOT_A_REV)
			return rc;
	}
	return not_found(spec);
}

int nmig_target_resolve(const struct nmig_graph *g,
			const struct nmig_applied *applied,
			enum nmig_direction dir, const char *spec, size_t **out,
			size_t *n)
{
	struct resolved r;
	int rc;

	*out = NULL;
	*n = 0;
	rc = resolve(g, applied, dir, spec, &r);
	if (rc) {
		free(r.nodes);
		return rc;
	}
	*out = r.nodes;
	*n = r.n;
	return NMIG_OK;
}

int nmig_range_parse(const char *spec, char **from, char **to)
{
	const char *colon = spec ? strchr(spec, ':') : NULL;

	*from = NULL;
	*to = NULL;
	if (!colon) {
		nmig_error_set(NMIG_EUSAGE, "range '%s' has no ':'",
			       spec ? spec : "");
		nmig_error_hint("write FROM:TO, e.g. 'base:head'; either side "
				"may be empty");
		return NMIG_EUSAGE;
	}
	if (strchr(colon + 1, ':')) {
		nmig_error_set(NMIG_EUSAGE, "range '%s' has more than one ':'",
			       spec);
		nmig_error_hint("write FROM:TO, e.g. 'base:head'");
		return NMIG_EUSAGE;
	}
	if (colon > spec && !(*from = strndup(spec, (size_t)(colon - spec))))
		goto nomem;
	if (colon[1] && !(*to = strdup(colon + 1)))
		goto nomem;
	return NMIG_OK;

nomem:
	free(*from);
	*from = NULL;
	return oom();
}

int nmig_applied_init(struct nmig_applied *out, const struct nmig_graph *g,
		      const char *const *ids, size_t nids)
{
	size_t count = nmig_graph_count(g), i, k, np, bad = 0;
	size_t first_child = 0, first_parent = 0;

	memset(out, 0, sizeof(*out));
	out->mark = calloc(count ? count : 1, 1);
	if (!out->mark)
		return oom();
	for (i = 0; i < nids; i++) {
		long at = nmig_graph_find(g, ids[i]);

		if (at >= 0) {
			if (!out->mark[at])
				out->napplied++;
			out->mark[at] = 1;
			continue;
		}
		if (!out->unknown) {
			out->unknown =
			    malloc((nids - i) * sizeof(*out->unknown));
			if (!out->unknown) {
				nmig_applied_release(out);
				return oom();
			}
		}
		out->unknown[out->nunknown++] = ids[i];
	}
	for (i = 0; i < count; i++) {
		const size_t *p;

		if (!out->mark[i])
			continue;
		p = nmig_graph_parents(g, i, &np);
		for (k = 0; k < np; k++) {
			if (out->mark[p[k]])
				continue;
			if (!bad++) {
				first_child = i;
				first_parent = p[k];
			}
		}
	}
	if (!bad)
		return NMIG_OK;
	nmig_error_set(NMIG_ESTATE,
		       "revision '%s' is applied but its parent '%s' is not",
		       rev_id(g, first_child), rev_id(g, first_parent));
	if (bad > 1)
		nmig_error_detail("%zu applied revisions have a parent that "
				  "is not applied",
				  bad);
	nmig_error_hint("the database was changed outside nmig, or the "
			"revision files were rewired; run 'nmig check' to see "
			"the state");
	return NMIG_ESTATE;
}

void nmig_applied_release(struct nmig_applied *a)
{
	free(a->mark);
	free(a->unknown);
	memset(a, 0, sizeof(*a));
}

/* Unknown applied ids refuse every plan. */
static int check_unknown(const struct nmig_applied *applied)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	size_t i;

	if (!applied || !applied->nunknown)
		return NMIG_OK;
	for (i = 0; i < applied->nunknown && i < MAX_LISTED; i++)
		nmig_buf_printf(&b, "%s'%s'", i ? ", " : "",
				applied->unknown[i]);
	if (applied->nunknown > MAX_LISTED)
		nmig_buf_puts(&b, ", ...");
	nmig_error_set(
	    NMIG_ESTATE, "the database records %zu %s not in the files: %s",
	    applied->nunknown,
	    applied->nunknown == 1 ? "revision that is" : "revisions that are",
	    b.ptr);
	nmig_error_hint("restore the missing files, or forget the records "
			"with 'nmig stamp --purge'");
	nmig_buf_release(&b);
	return NMIG_ESTATE;
}

static int is_applied(const struct nmig_applied *applied, size_t i)
{
	return applied && applied->mark[i];
}

int nmig_plan_upgrade(struct nmig_plan *out, const struct nmig_graph *g,
		      const struct nmig_applied *applied, const char *target)
{
	size_t count = nmig_graph_count(g), i;
	unsigned char *mark = NULL;
	struct resolved r;
	int rc;

	memset(out, 0, sizeof(*out));
	out->dir = NMIG_UP;
	memset(&r, 0, sizeof(r));
	if ((rc = check_unknown(applied)) ||
	    (rc = resolve(g, applied, NMIG_UP, target, &r)))
		goto cleanup;
	mark = calloc(count ? count : 1, 1);
	if (!mark) {
		rc = oom();
		goto cleanup;
	}
	nmig_graph_mark_ancestors(g, r.nodes, r.n, mark);
	for (i = 0; i < count; i++)
		if (mark[i] && !is_applied(applied, i))
			out->n++;
	if (out->n) {
		out->steps = malloc(out->n * sizeof(*out->steps));
		if (!out->steps) {
			rc = oom();
			goto cleanup;
		}
	}
	for (i = 0, out->n = 0; i < count; i++)
		if (mark[i] && !is_applied(applied, i))
			out->steps[out->n++] = i;

cleanup:
	if (rc)
		nmig_plan_release(out);
	free(mark);
	free(r.nodes);
	return rc;
}

/* Refuse a downgrade plan that has a step without a down file. */
static int check_reversible(const struct nmig_graph *g,
			    const struct nmig_plan *plan)
{
	const struct nmig_revision *rev = NULL;
	struct nmig_buf down = NMIG_BUF_INIT;
	size_t i, nirrev = 0;
	const char *up, *dot;

	for (i = 0; i < plan->n; i++) {
		const struct nmig_revision *r =
		    nmig_graph_rev(g, plan->steps[i]);

		if (r->down.path)
			continue;
		if (!nirrev++)
			rev = r;
	}
	if (!nirrev)
		return NMIG_OK;
	up = rev->up.path ? rev->up.path : "";
	dot = strstr(up, ".up.sql");
	if (dot)
		nmig_buf_printf(&down, "%.*s.down.sql", (int)(dot - up), up);
	nmig_error_set(NMIG_ESTATE,
		       "revision '%s' has no down file, so it cannot be "
		       "downgraded",
		       rev->id);
	if (rev->up.path)
		nmig_error_location(rev->up.path, 0, 0, NULL);
	if (nirrev > 1)
		nmig_error_detail("%zu revisions in this downgrade are "
				  "irreversible; nothing was run",
				  nirrev);
	else
		nmig_error_detail("nothing was run");
	if (down.len)
		nmig_error_hint("write '%s', or record the state without "
				"running SQL with 'nmig stamp'",
				down.ptr);
	else
		nmig_error_hint("write its down file, or record the state "
				"without running SQL with 'nmig stamp'");
	nmig_buf_release(&down);
	return NMIG_ESTATE;
}

int nmig_plan_downgrade(struct nmig_plan *out, const struct nmig_graph *g,
			const struct nmig_applied *applied, const char *target,
			int allow_irreversible)
{
	size_t count = nmig_graph_count(g), i, k, left;
	unsigned char *keep = NULL;
	struct resolved r;
	int rc;

	memset(out, 0, sizeof(*out));
	out->dir = NMIG_DOWN;
	memset(&r, 0, sizeof(r));
	if ((rc = check_unknown(applied)) ||
	    (rc = resolve(g, applied, NMIG_DOWN, target, &r)))
		goto cleanup;
	if (!applied || !applied->napplied)
		goto cleanup;
	out->steps = malloc(applied->napplied * sizeof(*out->steps));
	if (!out->steps) {
		rc = oom();
		goto cleanup;
	}
	if (r.kind == K_BASE || r.kind == K_DOWN) {
		/* Everything applied, or its last N, latest first. */
		left = r.kind == K_BASE ? applied->napplied : r.count;
		for (i = count; i-- > 0 && left;)
			if (applied->mark[i]) {
				out->steps[out->n++] = i;
				left--;
			}
	} else {
		/* The applied strict descendants of the target. */
		keep = calloc(count, 1);
		if (!keep) {
			rc = oom();
			goto cleanup;
		}
		nmig_graph_mark_descendants(g, r.nodes, r.n, keep);
		for (k = 0; k < r.n; k++)
			keep[r.nodes[k]] = 0;
		for (i = count; i-- > 0;)
			if (keep[i] && applied->mark[i])
				out->steps[out->n++] = i;
	}
	if (!allow_irreversible)
		rc = check_reversible(g, out);

cleanup:
	if (rc)
		nmig_plan_release(out);
	else if (!out->n) {
		free(out->steps);
		out->steps = NULL;
	}
	free(keep);
	free(r.nodes);
	return rc;
}

void nmig_plan_release(struct nmig_plan *plan)
{
	free(plan->steps);
	plan->steps = NULL;
	plan->n = 0;
}
