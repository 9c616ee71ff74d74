/*
 * The catalog model (see catalog.h): the one catalog query, its rows
 * turned into typed objects, the canonical order, look-ups, the canonical
 * description two objects are compared by, the object-by-object diff and
 * the dependency order DDL is emitted in.
 */
#include "catalog.h"

#include "conn_internal.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "state.h"

/*
 * Every row: kind, ident, parent ident, schema, name, key, quoted name,
 * then f1..f12 whose meaning depends on the kind (see parse_row). Idents
 * are a class letter and the oid: n namespace, x extension, r relation
 * (tables, views, sequences, indexes), a<rel>.<attnum> column, t type,
 * c constraint, p function, g trigger, w rule, o policy, s statistics.
 * `dep` rows are pg_depend's normal dependencies (and inheritance) between
 * two idents, a column's own (its type, its default's functions and
 * sequences) and those on a column at the column (`a` idents), with the
 * automatic ones of indexes and constraints on the columns they use; `comment` rows a description of an ident. search_path is
 * pg_catalog, so the pg_get_*def functions qualify every name.
 */
static const char cat_query[] =
    "WITH ns AS (\n"
    " SELECT n.oid, n.nspname, quote_ident(n.nspname) AS q\n"
    " FROM pg_namespace n\n"
    " WHERE n.nspname <> ALL (ARRAY['pg_catalog', 'information_schema',\n"
    "   'pg_toast'])\n"
    "   AND n.nspname !~ '^pg_(toast_)?temp_'\n"
    "   AND NOT EXISTS (SELECT 1 FROM pg_depend d\n"
    "     WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid\n"
    "       AND d.deptype = 'e')\n"
    "), ext AS (\n"
    " SELECT d.classid, d.objid FROM pg_depend d WHERE d.deptype = 'e'\n"
    "), rel AS (\n"
    " SELECT c.oid, c.relkind, ns.nspname, c.relname,\n"
    "   ns.q || '.' || quote_ident(c.relname) AS q,\n"
    "   c.relpersistence, c.relrowsecurity, c.relforcerowsecurity,\n"
    "   c.relispartition, c.relpartbound, c.reloptions, c.relreplident\n"
    " FROM pg_class c JOIN ns ON ns.oid = c.relnamespace\n"
    " WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S', 'c')\n"
    "   AND NOT EXISTS (SELECT 1 FROM skip\n"
    "     WHERE skip.s = ns.nspname AND skip.t = c.relname)\n"
    "   AND NOT EXISTS (SELECT 1 FROM ext\n"
    "     WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid)\n"
    "), typ AS (\n"
    " SELECT t.oid, t.typtype, ns.nspname, t.typname,\n"
    "   ns.q || '.' || quote_ident(t.typname) AS q,\n"
    "   t.typbasetype, t.typtypmod, t.typnotnull, t.typdefault,\n"
    "   t.typcollation\n"
    " FROM pg_type t JOIN ns ON ns.oid = t.typnamespace\n"
    " WHERE t.typtype IN ('b', 'd', 'e', 'r')\n"
    "   AND NOT EXISTS (SELECT 1 FROM pg_type a WHERE a.typarray = t.oid)\n"
    "   AND NOT EXISTS (SELECT 1 FROM ext\n"
    "     WHERE ext.classid = 'pg_type'::regclass AND ext.objid = t.oid)\n"
    "), pro AS (\n"
    " SELECT p.*, ns.nspname, ns.q AS nsq FROM pg_proc p\n"
    " JOIN ns ON ns.oid = p.pronamespace\n"
    " WHERE NOT EXISTS (SELECT 1 FROM ext\n"
    "   WHERE ext.classid = 'pg_proc'::regclass AND ext.objid = p.oid)\n"
    "), dep AS (\n"
    " SELECT d.deptype,\n"
    "  CASE d.classid\n"
    "   WHEN 'pg_class'::regclass THEN CASE WHEN d.objsubid > 0\n"
    "     THEN 'a' || d.objid || '.' || d.objsubid ELSE 'r' || d.objid END\n"
    "   WHEN 'pg_type'::regclass THEN (SELECT CASE WHEN t.typrelid <> 0\n"
    "       THEN 'r' || t.typrelid WHEN t.typelem <> 0 AND EXISTS (SELECT 1\n"
    "         FROM pg_type e WHERE e.typarray = t.oid) THEN 't' || t.typelem\n"
    "       ELSE 't' || t.oid END FROM pg_type t WHERE t.oid = d.objid)\n"
    "   WHEN 'pg_proc'::regclass THEN 'p' || d.objid\n"
    "   WHEN 'pg_constraint'::regclass THEN 'c' || d.objid\n"
    "   WHEN 'pg_attrdef'::regclass THEN (SELECT 'a' || ad.adrelid || '.'\n"
    "     || ad.adnum FROM pg_attrdef ad WHERE ad.oid = d.objid)\n"
    "   WHEN 'pg_rewrite'::regclass THEN (SELECT CASE WHEN ru.rulename\n"
    "       = '_RETURN' THEN 'r' || ru.ev_class ELSE 'w' || ru.oid END\n"
    "     FROM pg_rewrite ru WHERE ru.oid = d.objid)\n"
    "   WHEN 'pg_trigger'::regclass THEN 'g' || d.objid\n"
    "   WHEN 'pg_policy'::regclass THEN 'o' || d.objid\n"
    "   WHEN 'pg_statistic_ext'::regclass THEN 's' || d.objid\n"
    "  END AS f,\n"
    "  CASE d.refclassid\n"
    "   WHEN 'pg_class'::regclass THEN CASE WHEN d.refobjsubid > 0\n"
    "     THEN 'a' || d.refobjid || '.' || d.refobjsubid\n"
    "     ELSE 'r' || d.refobjid END\n"
    "   WHEN 'pg_type'::regclass THEN (SELECT CASE WHEN t.typrelid <> 0\n"
    "       THEN 'r' || t.typrelid WHEN t.typelem <> 0 AND EXISTS (SELECT 1\n"
    "         FROM pg_type e WHERE e.typarray = t.oid) THEN 't' || t.typelem\n"
    "       ELSE 't' || t.oid END FROM pg_type t WHERE t.oid = d.refobjid)\n"
    "   WHEN 'pg_proc'::regclass THEN 'p' || d.refobjid\n"
    "   WHEN 'pg_constraint'::regclass THEN 'c' || d.refobjid\n"
    "   WHEN 'pg_namespace'::regclass THEN 'n' || d.refobjid\n"
    "   WHEN 'pg_extension'::regclass THEN 'x' || d.refobjid\n"
    "  END AS t\n"
    " FROM pg_depend d\n"
    " WHERE d.objid >= 16384 AND (d.deptype = 'n'\n"
    "   OR d.deptype = 'a' AND d.refobjsubid > 0\n"
    "     AND d.refclassid = 'pg_class'::regclass\n"
    "     AND (d.classid = 'pg_constraint'::regclass\n"
    "       OR d.classid = 'pg_class'::regclass AND EXISTS (SELECT 1\n"
    "         FROM pg_class ic WHERE ic.oid = d.objid\n"
    "           AND ic.relkind IN ('i', 'I'))))\n"
    ")\n"
    "SELECT 'schema', 'n' || ns.oid, NULL, ns.nspname, ns.nspname, ns.q, "
    "ns.q,\n"
    "  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL\n"
    " FROM ns\n"
    " WHERE NOT EXISTS (SELECT 1 FROM skip\n"
    "   WHERE skip.s = ns.nspname AND skip.s <> 'public')\n"
    "UNION ALL\n"
    "SELECT 'extension', 'x' || e.oid, NULL, NULL, e.extname,\n"
    "  quote_ident(e.extname), quote_ident(e.extname),\n"
    "  e.extversion, quote_ident(n.nspname),\n"
    "  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL\n"
    " FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace\n"
    "UNION ALL\n"
    "SELECT 'relation', 'r' || r.oid, NULL, r.nspname, r.relname, r.q,\n"
    "  quote_ident(r.relname),\n"
    "  r.relkind::text, r.relpersistence::text,\n"
    "  CASE WHEN r.relkind = 'p' THEN pg_get_partkeydef(r.oid) END,\n"
    "  CASE WHEN r.relispartition THEN pg_get_expr(r.relpartbound, r.oid) "
    "END,\n"
    "  (SELECT string_agg(i.inhparent::regclass::text, ', '\n"
    "     ORDER BY i.inhseqno) FROM pg_inherits i WHERE i.inhrelid = r.oid),\n"
    "  r.relispartition::text, r.relrowsecurity::text,\n"
    "  r.relforcerowsecurity::text, r.relreplident::text,\n"
    "  array_to_string(r.reloptions, ', '),\n"
    "  CASE WHEN r.relkind IN ('v', 'm') THEN pg_get_viewdef(r.oid) END,\n"
    "  NULL\n"
    " FROM rel r WHERE r.relkind <> 'S'\n"
    "UNION ALL\n"
    "SELECT 'column', 'a' || a.attrelid || '.' || a.attnum, 'r' || r.oid,\n"
    "  r.nspname, a.attname, r.q || '.' || quote_ident(a.attname),\n"
    "  quote_ident(a.attname),\n"
    "  (row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum))::text,\n"
    "  format_type(a.atttypid, a.atttypmod),\n"
    "  CASE WHEN a.attcollation <> t.typcollation\n"
    "    THEN quote_ident(co.collname) END,\n"
    "  a.attnotnull::text, NULLIF(a.attidentity, '')::text,\n"
    "  NULLIF(a.attgenerated, '')::text, pg_get_expr(ad.adbin, ad.adrelid),\n"
    "  a.attislocal::text, a.attnum::text, NULL, NULL, NULL\n"
    " FROM rel r\n"
    " JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0\n"
    "   AND NOT a.attisdropped\n"
    " JOIN pg_type t ON t.oid = a.atttypid\n"
    " LEFT JOIN pg_collation co ON co.oid = a.attcollation\n"
    " LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid\n"
    "   AND ad.adnum = a.attnum\n"
    " WHERE r.relkind <> 'S'\n"
    "UNION ALL\n"
    "SELECT 'constraint', 'c' || c.oid,\n"
    "  CASE WHEN c.conrelid <> 0 THEN 'r' || c.conrelid ELSE 't' || c.contypid "
    "END,\n"
    "  n.nspname, c.conname,\n"
    "  COALESCE(r.q, y.q) || '.' || quote_ident(c.conname),\n"
    "  quote_ident(c.conname),\n"
    "  pg_get_constraintdef(c.oid), c.contype::text, c.convalidated::text,\n"
    "  c.conislocal::text, (c.conparentid <> 0)::text,\n"
    "  (c.contypid <> 0)::text, c.condeferrable::text, c.condeferred::text,\n"
    "  NULL, NULL, NULL, NULL\n"
    " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace\n"
    " LEFT JOIN rel r ON r.oid = c.conrelid\n"
    " LEFT JOIN typ y ON y.oid = c.contypid\n"
    " WHERE r.oid IS NOT NULL OR y.oid IS NOT NULL\n"
    "UNION ALL\n"
    "SELECT 'index', 'r' || i.indexrelid, 'r' || r.oid, ns.nspname, "
    "ic.relname,\n"
    "  ns.q || '.' || quote_ident(ic.relname), quote_ident(ic.relname),\n"
    "  pg_get_indexdef(i.indexrelid), i.indisvalid::text,\n"
    "  i.indisclustered::text, i.indisunique::text, i.indisprimary::text,\n"
    "  EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid\n"
    "    AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))::text,\n"
    "  EXISTS (SELECT 1 FROM pg_inherits h\n"
    "    WHERE h.inhrelid = i.indexrelid)::text,\n"
    "  NULL, NULL, NULL, NULL, NULL\n"
    " FROM pg_index i JOIN rel r ON r.oid = i.indrelid\n"
    " JOIN pg_class ic ON ic.oid = i.indexrelid\n"
    " JOIN ns ON ns.oid = ic.relnamespace\n"
    "UNION ALL\n"
    "SELECT 'sequence', 'r' || r.oid, NULL, r.nspname, r.relname, r.q,\n"
    "  quote_ident(r.relname),\n"
    "  format_type(s.seqtypid, NULL), s.seqstart::text, s.seqincrement::text,\n"
    "  s.seqmin::text, s.seqmax::text, s.seqcache::text, s.seqcycle::text,\n"
    "  o.col, o.deptype, NULL, NULL, NULL\n"
    " FROM rel r JOIN pg_sequence s ON s.seqrelid = r.oid\n"
    " LEFT JOIN LATERAL (SELECT d.refobjid::regclass::text || '.'\n"
    "      || quote_ident(a.attname) AS col, d.deptype::text AS deptype\n"
    "    FROM pg_depend d JOIN pg_attribute a\n"
    "      ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid\n"
    "    WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid\n"
    "      AND d.refclassid = 'pg_class'::regclass\n"
    "      AND d.deptype IN ('a', 'i')\n"
    "    ORDER BY d.refobjid, d.refobjsubid LIMIT 1) o ON true\n"
    "UNION ALL\n"
    "SELECT 'function', 'p' || p.oid,\n"
    "  (SELECT 't' || d.refobjid FROM pg_depend d\n"
    "   WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid\n"
    "     AND d.refclassid = 'pg_type'::regclass AND d.deptype = 'i' LIMIT "
    "1),\n"
    "  p.nspname, p.proname,\n"
    "  p.nsq || '.' || quote_ident(p.proname) || '('\n"
    "   || pg_get_function_identity_arguments(p.oid) || ')',\n"
    "  quote_ident(p.proname),\n"
    "  p.prokind::text, pg_get_function_identity_arguments(p.oid),\n"
    "  pg_get_function_arguments(p.oid),\n"
    "  CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END,\n"
    "  pg_get_function_result(p.oid),\n"
    "  (SELECT l.lanname FROM pg_language l WHERE l.oid = p.prolang),\n"
    "  p.provolatile::text, p.prosecdef::text,\n"
    "  ag.aggtransfn::regproc::text, format_type(ag.aggtranstype, NULL),\n"
    "  ag.aggfinalfn::regproc::text, ag.agginitval\n"
    " FROM pro p LEFT JOIN pg_aggregate ag ON ag.aggfnoid = p.oid\n"
    "UNION ALL\n"
    "SELECT 'trigger', 'g' || t.oid, 'r' || r.oid, r.nspname, t.tgname,\n"
    "  r.q || '.' || quote_ident(t.tgname), quote_ident(t.tgname),\n"
    "  pg_get_triggerdef(t.oid), t.tgenabled::text,\n"
    "  (t.tgparentid <> 0)::text,\n"
    "  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL\n"
    " FROM pg_trigger t JOIN rel r ON r.oid = t.tgrelid\n"
    " WHERE NOT t.tgisinternal\n"
    "UNION ALL\n"
    "SELECT 'rule', 'w' || ru.oid, 'r' || r.oid, r.nspname, ru.rulename,\n"
    "  r.q || '.' || quote_ident(ru.rulename), quote_ident(ru.rulename),\n"
    "  pg_get_ruledef(ru.oid),\n"
    "  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL\n"
    " FROM pg_rewrite ru JOIN rel r ON r.oid = ru.ev_class\n"
    " WHERE ru.rulename <> '_RETURN'\n"
    "UNION ALL\n"
    "SELECT 'policy', 'o' || po.oid, 'r' || r.oid, r.nspname, po.polname,\n"
    "  r.q || '.' || quote_ident(po.polname), quote_ident(po.polname),\n"
    "  po.polpermissive::text,\n"
    "  CASE po.polcmd WHEN 'r' THEN 'select' WHEN 'a' THEN 'insert'\n"
    "   WHEN 'w' THEN 'update' WHEN 'd' THEN 'delete' ELSE 'all' END,\n"
    "  (SELECT string_agg(u.n, ', ' ORDER BY u.n)\n"
    "   FROM (SELECT CASE WHEN x = 0 THEN 'public'\n"
    "     ELSE quote_ident(pg_get_userbyid(x)) END AS n\n"
    "     FROM unnest(po.polroles) AS x) u),\n"
    "  pg_get_expr(po.polqual, po.polrelid),\n"
    "  pg_get_expr(po.polwithcheck, po.polrelid),\n"
    "  NULL, NULL, NULL, NULL, NULL, NULL, NULL\n"
    " FROM pg_policy po JOIN rel r ON r.oid = po.polrelid\n"
    "UNION ALL\n"
    "SELECT 'type', 't' || y.oid, NULL, y.nspname, y.typname, y.q,\n"
    "  quote_ident(y.typname),\n"
    "  y.typtype::text,\n"
    "  (SELECT string_agg(quote_literal(e.enumlabel), ', '\n"
    "     ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = "
    "y.oid),\n"
    "  CASE WHEN y.typtype = 'd' THEN format_type(y.typbasetype, y.typtypmod)\n"
    "  END,\n"
    "  CASE WHEN y.typtype = 'd' AND y.typcollation <> bt.typcollation\n"
    "   THEN quote_ident(co.collname) END,\n"
    "  y.typnotnull::text, y.typdefault,\n"
    "  (SELECT format_type(rg.rngsubtype, NULL) FROM pg_range rg\n"
    "   WHERE rg.rngtypid = y.oid),\n"
    "  (SELECT quote_ident(rc.collname) FROM pg_range rg\n"
    "   JOIN pg_collation rc ON rc.oid = rg.rngcollation\n"
    "   WHERE rg.rngtypid = y.oid),\n"
    "  NULL, NULL, NULL, NULL\n"
    " FROM typ y LEFT JOIN pg_type bt ON bt.oid = y.typbasetype\n"
    " LEFT JOIN pg_collation co ON co.oid = y.typcollation\n"
    "UNION ALL\n"
    "SELECT 'statistics', 's' || x.oid, 'r' || r.oid, n.nspname, x.stxname,\n"
    "  quote_ident(n.nspname) || '.' || quote_ident(x.stxname),\n"
    "  quote_ident(x.stxname), pg_get_statisticsobjdef(x.oid),\n"
    "  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL\n"
    " FROM pg_statistic_ext x JOIN rel r ON r.oid = x.stxrelid\n"
    " JOIN pg_namespace n ON n.oid = x.stxnamespace\n"
    "UNION ALL\n"
    "SELECT 'comment',\n"
    "  CASE d.classoid\n"
    "   WHEN 'pg_class'::regclass THEN CASE WHEN d.objsubid > 0\n"
    "     THEN 'a' || d.objoid || '.' || d.objsubid ELSE 'r' || d.objoid END\n"
    "   WHEN 'pg_type'::regclass THEN 't' || d.objoid\n"
    "   WHEN 'pg_proc'::regclass THEN 'p' || d.objoid\n"
    "   WHEN 'pg_constraint'::regclass THEN 'c' || d.objoid\n"
    "   WHEN 'pg_trigger'::regclass THEN 'g' || d.objoid\n"
    "   WHEN 'pg_rewrite'::regclass THEN 'w' || d.objoid\n"
    "   WHEN 'pg_policy'::regclass THEN 'o' || d.objoid\n"
    "   WHEN 'pg_namespace'::regclass THEN 'n' || d.objoid\n"
    "   WHEN 'pg_extension'::regclass THEN 'x' || d.objoid\n"
    "   WHEN 'pg_statistic_ext'::regclass THEN 's' || d.objoid\n"
    "  END, NULL, NULL, NULL, NULL, NULL, d.description,\n"
    "  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL\n"
    " FROM pg_description d\n"
    " WHERE (d.objoid >= 16384 OR d.classoid = 'pg_namespace'::regclass)\n"
    " AND (d.classoid <> 'pg_class'::regclass OR d.objsubid = 0\n"
    "   OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = d.objoid\n"
    "     AND a.attnum = d.objsubid AND NOT a.attisdropped))\n"
    "UNION ALL\n"
    "SELECT DISTINCT 'dep', dep.f, dep.t, NULL, NULL, NULL, NULL, NULL,\n"
    "  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL\n"
    " FROM dep WHERE dep.f IS NOT NULL AND dep.t IS NOT NULL AND dep.f <> "
    "dep.t\n"
    "UNION ALL\n"
    "SELECT 'dep', 'r' || i.inhrelid, 'r' || i.inhparent, NULL, NULL, NULL,\n"
    "  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL,\n"
    "  NULL\n"
    " FROM pg_inherits i\n";

#define NCOLS 19

/* Strings owned by a catalog: big blocks, freed in one go. */
struct nmig_strpool {
	struct nmig_strpool *next;
	size_t used, cap;
	char data[];
};

#define POOL_BLOCK 65536

const char *nmig_catalog_str(struct nmig_catalog *cat, const char *s)
{
	size_t len;
	struct nmig_strpool *p = cat->pool;
	char *out;

	if (!s)
		return NULL;
	len = strlen(s) + 1;
	if (!p || p->cap - p->used < len) {
		size_t cap = len > POOL_BLOCK ? len : POOL_BLOCK;

		p = malloc(sizeof(*p) + cap);
		if (!p)
			return NULL;
		p->used = 0;
		p->cap = cap;
		if (cat->pool && len > POOL_BLOCK) {
			/* keep filling the current block afterwards */
			p->next = cat->pool->next;
			cat->pool->next = p;
		} else {
			p->next = cat->pool;
			cat->pool = p;
		}
	}
	out = p->data + p->used;
	memcpy(out, s, len);
	p->used += len;
	return out;
}

void nmig_catalog_sql(struct nmig_buf *out, const char *skip_schema,
		      const char *skip_table)
{
	nmig_buf_puts(out, "WITH skip(s, t) AS (VALUES (");
	if (skip_schema && skip_table) {
		nmig_sql_literal(out, skip_schema);
		nmig_buf_puts(out, "::name, ");
		nmig_sql_literal(out, skip_table);
		nmig_buf_puts(out, "::name");
	} else {
		nmig_buf_puts(out, "NULL::name, NULL::name");
	}
	nmig_buf_puts(out, ")),\n");
	/* cat_query starts with "WITH": continue the WITH list instead */
	nmig_buf_puts(out, cat_query + strlen("WITH "));
}

void nmig_catalog_release(struct nmig_catalog *cat)
{
	size_t i;

	while (cat->pool) {
		struct nmig_strpool *next = cat->pool->next;

		free(cat->pool);
		cat->pool = next;
	}
	for (i = 0; i < cat->n; i++)
		free(cat->objs[i].deps);
	free(cat->objs);
	free(cat->pend);
	free(cat->server_version);
	memset(cat, 0, sizeof(*cat));
}

struct nmig_cat_obj *nmig_catalog_add(struct nmig_catalog *cat,
				      enum nmig_cat_kind kind,
				      const char *ident, const char *key)
{
	struct nmig_cat_obj *o;

	if (cat->n == cat->cap) {
		size_t cap = cat->cap ? cat->cap * 2 : 256;
		struct nmig_cat_obj *objs =
		    realloc(cat->objs, cap * sizeof(*objs));

		if (!objs)
			return NULL;
		cat->objs = objs;
		cat->cap = cap;
	}
	o = &cat->objs[cat->n];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->parent = NMIG_CAT_NONE;
	o->ident = nmig_catalog_str(cat, ident ? ident : "");
	o->key = nmig_catalog_str(cat, key ? key : "");
	if (!o->ident || !o->key)
		return NULL;
	cat->n++;
	return o;
}

int nmig_catalog_set_parent(struct nmig_catalog *cat, struct nmig_cat_obj *o,
			    const char *parent_ident)
{
	o->parent_ident = nmig_catalog_str(cat, parent_ident);
	if (parent_ident && !o->parent_ident)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	return NMIG_OK;
}

/* Remember a triple (what, a, b) for nmig_catalog_finish. */
static int add_pending(struct nmig_catalog *cat, const char *what,
		       const char *a, const char *b)
{
	if (cat->npend + 3 > cat->cappend) {
		size_t cap = cat->cappend ? cat->cappend * 2 : 768;
		const char **p = realloc(cat->pend, cap * sizeof(*p));

		if (!p)
			return nmig_error_set(NMIG_ENOMEM, "out of memory");
		cat->pend = p;
		cat->cappend = cap;
	}
	cat->pend[cat->npend] = what;
	cat->pend[cat->npend + 1] = nmig_catalog_str(cat, a);
	cat->pend[cat->npend + 2] = nmig_catalog_str(cat, b);
	if (!cat->pend[cat->npend + 1] || !cat->pend[cat->npend + 2])
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	cat->npend += 3;
	return NMIG_OK;
}

int nmig_catalog_add_dep(struct nmig_catalog *cat, const char *from_ident,
			 const char *to_ident)
{
	return add_pending(cat, "dep", from_ident, to_ident);
}

int nmig_catalog_add_comment(struct nmig_catalog *cat, const char *ident,
			     const char *text)
{
	return add_pending(cat, "comment", ident, text);
}

/* Canonical order: kind, key, then ident (only ever a tie in tests). */
static int cmp_obj(const void *pa, const void *pb)
{
	const struct nmig_cat_obj *a = pa, *b = pb;
	int c;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	c = strcmp(a->key, b->key);
	return c ? c : strcmp(a->ident, b->ident);
}

/*
 * For the look-up by ident: (ident, position) pairs sorted by ident, ties by
 * position. The pair carries its own key, so the comparator needs no shared
 * state and the sort is safe to run in several threads at once.
 */
struct ident_pos {
	const char *ident;
	size_t pos;
};

static int cmp_by_ident(const void *pa, const void *pb)
{
	const struct ident_pos *a = pa, *b = pb;
	int c = strcmp(a->ident, b->ident);

	if (c)
		return c;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* Position of the object with ident in byid[0..n), or NMIG_CAT_NONE. */
static size_t by_ident(const struct nmig_catalog *cat, const size_t *byid,
		       const char *ident)
{
	size_t lo = 0, hi = cat->n;

	if (!ident)
		return NMIG_CAT_NONE;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(cat->objs[byid[mid]].ident, ident);

		if (c == 0)
			return byid[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NMIG_CAT_NONE;
}

/* Add dep d to o, once. */
static int add_dep(struct nmig_cat_obj *o, size_t d)
{
	size_t i, *deps;

	for (i = 0; i < o->ndeps; i++)
		if (o->deps[i] == d)
			return NMIG_OK;
	deps = realloc(o->deps, (o->ndeps + 1) * sizeof(*deps));
	if (!deps)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	deps[o->ndeps++] = d;
	o->deps = deps;
	return NMIG_OK;
}

int nmig_catalog_finish(struct nmig_catalog *cat)
{
	size_t *byid = NULL, i;
	int err = NMIG_OK;

	if (cat->n)
		qsort(cat->objs, cat->n, sizeof(*cat->objs), cmp_obj);
	byid = malloc((cat->n ? cat->n : 1) * sizeof(*byid));
	if (!byid)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	if (cat->n) {
		struct ident_pos *ip = malloc(cat->n * sizeof(*ip));

		if (!ip) {
			free(byid);
			return nmig_error_set(NMIG_ENOMEM, "out of memory");
		}
		for (i = 0; i < cat->n; i++) {
			ip[i].ident = cat->objs[i].ident;
			ip[i].pos = i;
		}
		qsort(ip, cat->n, sizeof(*ip), cmp_by_ident);
		for (i = 0; i < cat->n; i++)
			byid[i] = ip[i].pos;
		free(ip);
	}
	for (i = 0; i < cat->n; i++) {
		struct nmig_cat_obj *o = &cat->objs[i];

		o->parent = by_ident(cat, byid, o->parent_ident);
		if (o->parent != NMIG_CAT_NONE)
			err = add_dep(o, o->parent);
		if (err)
			goto cleanup;
	}
	for (i = 0; i < cat->npend; i += 3) {
		size_t a = by_ident(cat, byid, cat->pend[i + 1]), b;

		if (a == NMIG_CAT_NONE)
			continue;
		if (strcmp(cat->pend[i], "comment") == 0) {
			cat->objs[a].comment = cat->pend[i + 2];
			continue;
		}
		b = by_ident(cat, byid, cat->pend[i + 2]);
		if (b == NMIG_CAT_NONE || b == a)
			continue;
		err = add_dep(&cat->objs[a], b);
		if (err)
			goto cleanup;
	}
	free(cat->pend);
	cat->pend = NULL;
	cat->npend = cat->cappend = 0;
cleanup:
	free(byid);
	return err;
}

const struct nmig_cat_obj *nmig_catalog_find(const struct nmig_catalog *cat,
					     enum nmig_cat_kind kind,
					     const char *key)
{
	size_t lo = 0, hi = cat->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct nmig_cat_obj *o = &cat->objs[mid];
		int c = o->kind != kind ? (o->kind < kind ? -1 : 1)
					: strcmp(o->key, key);

		if (c == 0)
			return o;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A row's text field (NULL for SQL NULL), copied into the pool. */
static const char *field(struct nmig_catalog *cat, PGresult *r, int row,
			 int col)
{
	if (PQgetisnull(r, row, col))
		return NULL;
	return nmig_catalog_str(cat, PQgetvalue(r, row, col));
}

/* A boolean field ("true"/"false" as ::text gives it). */
static int flag(PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) &&
	       strcmp(PQgetvalue(r, row, col), "true") == 0;
}

/* A one-letter field ('\0' for NULL). */
static char letter(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? '\0' : PQgetvalue(r, row, col)[0];
}

static const struct {
	const char *name;
	enum nmig_cat_kind kind;
} row_kinds[] = {
    {"schema", NMIG_CAT_SCHEMA},
    {"extension", NMIG_CAT_EXTENSION},
    {"type", NMIG_CAT_TYPE},
    {"sequence", NMIG_CAT_SEQUENCE},
    {"function", NMIG_CAT_FUNCTION},
    {"relation", NMIG_CAT_RELATION},
    {"column", NMIG_CAT_COLUMN},
    {"constraint", NMIG_CAT_CONSTRAINT},
    {"index", NMIG_CAT_INDEX},
    {"trigger", NMIG_CAT_TRIGGER},
    {"rule", NMIG_CAT_RULE},
    {"policy", NMIG_CAT_POLICY},
    {"statistics", NMIG_CAT_STATISTICS},
};

/* f<n> of the row: column 6 + n. */
#define F(n) (6 + (n))

/* Turn one row of the catalog query into an object (or pending fact). */
static int parse_row(struct nmig_catalog *cat, PGresult *r, int i)
{
	const char *kind = PQgetvalue(r, i, 0);
	struct nmig_cat_obj *o = NULL;
	size_t k;

	if (strcmp(kind, "dep") == 0)
		return nmig_catalog_add_dep(cat, PQgetvalue(r, i, 1),
					    PQgetvalue(r, i, 2));
	if (strcmp(kind, "comment") == 0) {
		if (PQgetisnull(r, i, 1))
			return NMIG_OK;
		return nmig_catalog_add_comment(cat, PQgetvalue(r, i, 1),
						PQgetvalue(r, i, F(1)));
	}
	for (k = 0; k < sizeof(row_kinds) / sizeof(row_kinds[0]); k++)
		if (strcmp(kind, row_kinds[k].name) == 0)
			break;
	if (k == sizeof(row_kinds) / sizeof(row_kinds[0]))
		return nmig_error_set(NMIG_ERROR,
				      "cannot read the schema: unknown row "
				      "kind '%s'",
				      kind);
	o = nmig_catalog_add(cat, row_kinds[k].kind, PQgetvalue(r, i, 1),
			     PQgetvalue(r, i, 5));
	if (!o)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	o->parent_ident = field(cat, r, i, 2);
	o->schema = field(cat, r, i, 3);
	o->name = field(cat, r, i, 4);
	o->qname = field(cat, r, i, 6);
	switch (o->kind) {
	case NMIG_CAT_SCHEMA:
	case NMIG_CAT_NKINDS:
		break;
	case NMIG_CAT_EXTENSION:
		o->u.ext.version = field(cat, r, i, F(1));
		o->u.ext.schema = field(cat, r, i, F(2));
		break;
	case NMIG_CAT_TYPE:
		o->u.type.typtype = letter(r, i, F(1));
		o->u.type.labels = field(cat, r, i, F(2));
		o->u.type.base = field(cat, r, i, F(3));
		o->u.type.collation = field(cat, r, i, F(4));
		o->u.type.notnull = flag(r, i, F(5));
		o->u.type.default_expr = field(cat, r, i, F(6));
		o->u.type.subtype = field(cat, r, i, F(7));
		o->u.type.range_collation = field(cat, r, i, F(8));
		break;
	case NMIG_CAT_SEQUENCE:
		o->u.seq.type = field(cat, r, i, F(1));
		o->u.seq.start = field(cat, r, i, F(2));
		o->u.seq.increment = field(cat, r, i, F(3));
		o->u.seq.min = field(cat, r, i, F(4));
		o->u.seq.max = field(cat, r, i, F(5));
		o->u.seq.cache = field(cat, r, i, F(6));
		o->u.seq.cycle = flag(r, i, F(7));
		o->u.seq.owned_by = field(cat, r, i, F(8));
		o->u.seq.owned_dep = letter(r, i, F(9));
		break;
	case NMIG_CAT_FUNCTION:
		o->u.func.internal = o->parent_ident != NULL;
		o->u.func.prokind = letter(r, i, F(1));
		o->u.func.identity_args = field(cat, r, i, F(2));
		o->u.func.args = field(cat, r, i, F(3));
		o->u.func.def = field(cat, r, i, F(4));
		o->u.func.result = field(cat, r, i, F(5));
		o->u.func.language = field(cat, r, i, F(6));
		o->u.func.volatility = letter(r, i, F(7));
		o->u.func.security_definer = flag(r, i, F(8));
		o->u.func.sfunc = field(cat, r, i, F(9));
		o->u.func.stype = field(cat, r, i, F(10));
		o->u.func.finalfunc = field(cat, r, i, F(11));
		o->u.func.initcond = field(cat, r, i, F(12));
		break;
	case NMIG_CAT_RELATION:
		o->u.rel.relkind = letter(r, i, F(1));
		o->u.rel.persistence = letter(r, i, F(2));
		o->u.rel.partkey = field(cat, r, i, F(3));
		o->u.rel.partbound = field(cat, r, i, F(4));
		o->u.rel.inherits = field(cat, r, i, F(5));
		o->u.rel.partition = flag(r, i, F(6));
		o->u.rel.rls = flag(r, i, F(7));
		o->u.rel.forced_rls = flag(r, i, F(8));
		o->u.rel.replident = letter(r, i, F(9));
		o->u.rel.reloptions = field(cat, r, i, F(10));
		o->u.rel.viewdef = field(cat, r, i, F(11));
		break;
	case NMIG_CAT_COLUMN:
		o->u.col.position = atoi(PQgetvalue(r, i, F(1)));
		o->u.col.type = field(cat, r, i, F(2));
		o->u.col.collation = field(cat, r, i, F(3));
		o->u.col.notnull = flag(r, i, F(4));
		o->u.col.identity = letter(r, i, F(5));
		o->u.col.generated = letter(r, i, F(6));
		o->u.col.default_expr = field(cat, r, i, F(7));
		o->u.col.local = flag(r, i, F(8));
		o->u.col.attnum = atoi(PQgetvalue(r, i, F(9)));
		break;
	case NMIG_CAT_CONSTRAINT:
		o->u.con.def = field(cat, r, i, F(1));
		o->u.con.contype = letter(r, i, F(2));
		o->u.con.validated = flag(r, i, F(3));
		o->u.con.local = flag(r, i, F(4));
		o->u.con.from_parent = flag(r, i, F(5));
		o->u.con.on_domain = flag(r, i, F(6));
		o->u.con.deferrable = flag(r, i, F(7));
		o->u.con.deferred = flag(r, i, F(8));
		break;
	case NMIG_CAT_INDEX:
		o->u.idx.def = field(cat, r, i, F(1));
		o->u.idx.valid = flag(r, i, F(2));
		o->u.idx.clustered = flag(r, i, F(3));
		o->u.idx.unique = flag(r, i, F(4));
		o->u.idx.primary = flag(r, i, F(5));
		o->u.idx.of_constraint = flag(r, i, F(6));
		o->u.idx.attached = flag(r, i, F(7));
		break;
	case NMIG_CAT_TRIGGER:
		o->u.trg.def = field(cat, r, i, F(1));
		o->u.trg.enabled = letter(r, i, F(2));
		o->u.trg.from_parent = flag(r, i, F(3));
		break;
	case NMIG_CAT_RULE:
		o->u.rule.def = field(cat, r, i, F(1));
		break;
	case NMIG_CAT_POLICY:
		o->u.pol.permissive = flag(r, i, F(1));
		o->u.pol.cmd = field(cat, r, i, F(2));
		o->u.pol.roles = field(cat, r, i, F(3));
		o->u.pol.using_expr = field(cat, r, i, F(4));
		o->u.pol.check_expr = field(cat, r, i, F(5));
		break;
	case NMIG_CAT_STATISTICS:
		o->u.stx.def = field(cat, r, i, F(1));
		break;
	}
	return NMIG_OK;
}

/* Roll back a transaction the catalog query left open or failed. */
static void end_transaction(struct nmig_conn *c)
{
	PGTransactionStatusType ts = PQtransactionStatus(c->pg);

	if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
		struct nmig_error saved = *nmig_error_last();

		nmig_conn_query(c, "cannot roll back", "ROLLBACK", 0, NULL,
				NULL);
		nmig_error_restore(&saved);
	}
}

int nmig_catalog_read(struct nmig_catalog *out, struct nmig_conn *c,
		      const char *skip_schema, const char *skip_table)
{
	struct nmig_buf sql = NMIG_BUF_INIT;
	PGresult *res, *rows = NULL, *failed = NULL;
	long before = nmig_conn_roundtrips(c);
	int err = NMIG_OK, i, n;
	const char *v;

	memset(out, 0, sizeof(*out));
	nmig_buf_puts(&sql, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n"
			    "SET LOCAL search_path = pg_catalog, pg_temp;\n"
			    "SET LOCAL statement_timeout = 0;\n"
			    "SET LOCAL datestyle = 'ISO, YMD';\n"
			    "SET LOCAL intervalstyle = 'postgres';\n"
			    "SET LOCAL extra_float_digits = 3;\n");
	nmig_catalog_sql(&sql, skip_schema, skip_table);
	nmig_buf_puts(&sql, ";\nCOMMIT;\n");
	if (nmig_buf_oom(&sql)) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	nmig_conn_count_roundtrip(c);
	if (!PQsendQuery(c->pg, sql.ptr)) {
		err = nmig_error_set(NMIG_ECONNECT,
				     "cannot read the schema: the connection "
				     "to the database was lost");
		goto cleanup;
	}
	while ((res = PQgetResult(c->pg))) {
		ExecStatusType st = PQresultStatus(res);

		if (st == PGRES_TUPLES_OK && !rows) {
			rows = res;
		} else if ((st == PGRES_FATAL_ERROR ||
			    st == PGRES_BAD_RESPONSE) &&
			   !failed) {
			failed = res;
		} else {
			PQclear(res);
		}
	}
	if (nmig_conn_lost(c)) {
		err = nmig_error_set(NMIG_ECONNECT,
				     "cannot read the schema: the connection "
				     "to the database was lost");
		goto cleanup;
	}
	if (failed) {
		err = nmig_conn_result_error(failed, NMIG_ERROR,
					     "cannot read the schema");
		end_transaction(c);
		goto cleanup;
	}
	if (!rows || PQnfields(rows) != NCOLS) {
		err = nmig_error_set(NMIG_ERROR, "cannot read the schema: the "
						 "server sent no rows");
		end_transaction(c);
		goto cleanup;
	}
	n = PQntuples(rows);
	for (i = 0; i < n && !err; i++)
		err = parse_row(out, rows, i);
	if (!err)
		err = nmig_catalog_finish(out);
	v = PQparameterStatus(c->pg, "server_version");
	out->server_version = strdup(v ? v : "");
	if (!err && !out->server_version)
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
	out->roundtrips = nmig_conn_roundtrips(c) - before;
cleanup:
	if (rows)
		PQclear(rows);
	if (failed)
		PQclear(failed);
	nmig_buf_release(&sql);
	return err;
}

const char *nmig_cat_kind_name(const struct nmig_cat_obj *o)
{
	switch (o->kind) {
	case NMIG_CAT_SCHEMA:
		return "schema";
	case NMIG_CAT_EXTENSION:
		return "extension";
	case NMIG_CAT_TYPE:
		switch (o->u.type.typtype) {
		case 'e':
			return "enum";
		case 'd':
			return "domain";
		case 'r':
			return "range type";
		default:
			return "base type";
		}
	case NMIG_CAT_SEQUENCE:
		return "sequence";
	case NMIG_CAT_FUNCTION:
		switch (o->u.func.prokind) {
		case 'p':
			return "procedure";
		case 'a':
			return "aggregate";
		case 'w':
			return "window function";
		default:
			return "function";
		}
	case NMIG_CAT_RELATION:
		switch (o->u.rel.relkind) {
		case 'p':
			return "partitioned table";
		case 'f':
			return "foreign table";
		case 'v':
			return "view";
		case 'm':
			return "materialized view";
		case 'c':
			return "composite type";
		default:
			return "table";
		}
	case NMIG_CAT_COLUMN:
		return "column";
	case NMIG_CAT_CONSTRAINT:
		return "constraint";
	case NMIG_CAT_INDEX:
		return "index";
	case NMIG_CAT_TRIGGER:
		return "trigger";
	case NMIG_CAT_RULE:
		return "rule";
	case NMIG_CAT_POLICY:
		return "policy";
	case NMIG_CAT_STATISTICS:
		return "statistics";
	case NMIG_CAT_NKINDS:
		break;
	}
	return "object";
}

/* `name value\n` when value is set. */
static void put_field(struct nmig_buf *out, const char *name, const char *v)
{
	if (v)
		nmig_buf_printf(out, "%s %s\n", name, v);
}

static void put_flag(struct nmig_buf *out, const char *name, int v)
{
	if (v)
		nmig_buf_printf(out, "%s\n", name);
}

static void put_letter(struct nmig_buf *out, const char *name, char v)
{
	if (v)
		nmig_buf_printf(out, "%s %c\n", name, v);
}

void nmig_cat_describe(const struct nmig_cat_obj *o, unsigned flags,
		       struct nmig_buf *out)
{
	nmig_buf_printf(out, "%s\n", nmig_cat_kind_name(o));
	switch (o->kind) {
	case NMIG_CAT_SCHEMA:
	case NMIG_CAT_NKINDS:
		break;
	case NMIG_CAT_EXTENSION:
		put_field(out, "version", o->u.ext.version);
		put_field(out, "schema", o->u.ext.schema);
		break;
	case NMIG_CAT_TYPE:
		put_field(out, "labels", o->u.type.labels);
		put_field(out, "base", o->u.type.base);
		put_field(out, "collate", o->u.type.collation);
		put_flag(out, "not null", o->u.type.notnull);
		put_field(out, "default", o->u.type.default_expr);
		put_field(out, "subtype", o->u.type.subtype);
		put_field(out, "range collate", o->u.type.range_collation);
		break;
	case NMIG_CAT_SEQUENCE:
		put_field(out, "as", o->u.seq.type);
		put_field(out, "start", o->u.seq.start);
		put_field(out, "increment", o->u.seq.increment);
		put_field(out, "min", o->u.seq.min);
		put_field(out, "max", o->u.seq.max);
		put_field(out, "cache", o->u.seq.cache);
		put_flag(out, "cycle", o->u.seq.cycle);
		put_field(out, "owned by", o->u.seq.owned_by);
		put_letter(out, "owned dep", o->u.seq.owned_dep);
		break;
	case NMIG_CAT_FUNCTION:
		put_field(out, "definition", o->u.func.def);
		put_field(out, "returns", o->u.func.result);
		put_field(out, "arguments", o->u.func.args);
		put_field(out, "sfunc", o->u.func.sfunc);
		put_field(out, "stype", o->u.func.stype);
		put_field(out, "finalfunc", o->u.func.finalfunc);
		put_field(out, "initcond", o->u.func.initcond);
		break;
	case NMIG_CAT_RELATION:
		put_letter(out, "persistence", o->u.rel.persistence);
		put_field(out, "partition by", o->u.rel.partkey);
		put_field(out, "bound", o->u.rel.partbound);
		put_field(out, "inherits", o->u.rel.inherits);
		put_flag(out, "row level security", o->u.rel.rls);
		put_flag(out, "forced", o->u.rel.forced_rls);
		put_letter(out, "replica identity", o->u.rel.replident);
		put_field(out, "with", o->u.rel.reloptions);
		put_field(out, "as", o->u.rel.viewdef);
		break;
	case NMIG_CAT_COLUMN:
		if (!(flags & NMIG_CAT_NO_COLUMN_ORDER))
			nmig_buf_printf(out, "position %d\n",
					o->u.col.position);
		put_field(out, "type", o->u.col.type);
		put_field(out, "collate", o->u.col.collation);
		put_flag(out, "not null", o->u.col.notnull);
		put_letter(out, "identity", o->u.col.identity);
		put_letter(out, "generated", o->u.col.generated);
		put_field(out, "default", o->u.col.default_expr);
		put_flag(out, "inherited only", !o->u.col.local);
		break;
	case NMIG_CAT_CONSTRAINT:
		put_field(out, "definition", o->u.con.def);
		put_flag(out, "inherited only", !o->u.con.local);
		break;
	case NMIG_CAT_INDEX:
		put_field(out, "definition", o->u.idx.def);
		put_flag(out, "invalid", !o->u.idx.valid);
		put_flag(out, "clustered", o->u.idx.clustered);
		break;
	case NMIG_CAT_TRIGGER:
		put_field(out, "definition", o->u.trg.def);
		put_letter(out, "enabled", o->u.trg.enabled);
		break;
	case NMIG_CAT_RULE:
		put_field(out, "definition", o->u.rule.def);
		break;
	case NMIG_CAT_POLICY:
		put_flag(out, "restrictive", !o->u.pol.permissive);
		put_field(out, "for", o->u.pol.cmd);
		put_field(out, "to", o->u.pol.roles);
		put_field(out, "using", o->u.pol.using_expr);
		put_field(out, "with check", o->u.pol.check_expr);
		break;
	case NMIG_CAT_STATISTICS:
		put_field(out, "definition", o->u.stx.def);
		break;
	}
	put_field(out, "comment", o->comment);
}

/* 1 when a and b (same kind and key) are described alike. */
static int same_obj(const struct nmig_cat_obj *a, const struct nmig_cat_obj *b,
		    unsigned flags, struct nmig_buf *ta, struct nmig_buf *tb)
{
	nmig_buf_clear(ta);
	nmig_buf_clear(tb);
	nmig_cat_describe(a, flags, ta);
	nmig_cat_describe(b, flags, tb);
	return ta->len == tb->len && memcmp(ta->ptr, tb->ptr, ta->len) == 0;
}

size_t nmig_catalog_diff(const struct nmig_catalog *a,
			 const struct nmig_catalog *b, unsigned flags,
			 void (*fn)(void *ud, enum nmig_cat_change ch,
				    const struct nmig_cat_obj *oa,
				    const struct nmig_cat_obj *ob),
			 void *ud)
{
	struct nmig_buf ta = NMIG_BUF_INIT, tb = NMIG_BUF_INIT;
	size_t i = 0, j = 0, n = 0;

	while (i < a->n || j < b->n) {
		const struct nmig_cat_obj *oa = i < a->n ? &a->objs[i] : NULL;
		const struct nmig_cat_obj *ob = j < b->n ? &b->objs[j] : NULL;
		int c;

		if (!oa)
			c = 1;
		else if (!ob)
			c = -1;
		else if (oa->kind != ob->kind)
			c = oa->kind < ob->kind ? -1 : 1;
		else
			c = strcmp(oa->key, ob->key);
		if (c < 0) {
			n++;
			if (fn)
				fn(ud, NMIG_CAT_REMOVED, oa, NULL);
			i++;
		} else if (c > 0) {
			n++;
			if (fn)
				fn(ud, NMIG_CAT_ADDED, NULL, ob);
			j++;
		} else {
			if (!same_obj(oa, ob, flags, &ta, &tb)) {
				n++;
				if (fn)
					fn(ud, NMIG_CAT_CHANGED, oa, ob);
			}
			i++;
			j++;
		}
	}
	nmig_buf_release(&ta);
	nmig_buf_release(&tb);
	return n;
}

/* A min-heap of object positions (the canonical order is the priority). */
struct heap {
	size_t *v, n;
};

static void heap_push(struct heap *h, size_t x)
{
	size_t i = h->n++;

	while (i > 0 && h->v[(i - 1) / 2] > x) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = x;
}

static size_t heap_pop(struct heap *h)
{
	size_t top = h->v[0], x = h->v[--h->n], i = 0;

	for (;;) {
		size_t l = 2 * i + 1, m;

		if (l >= h->n)
			break;
		m = l + 1 < h->n && h->v[l + 1] < h->v[l] ? l + 1 : l;
		if (h->v[m] >= x)
			break;
		h->v[i] = h->v[m];
		i = m;
	}
	if (h->n)
		h->v[i] = x;
	return top;
}

/*
 * The edges of the creation order as (object, what it needs) pairs: every
 * dependency, and a column's dependencies also at its relation (a table is
 * created with its columns, so it needs what their types and defaults
 * need), each once.
 */
static int order_edges(const struct nmig_catalog *cat, const size_t *extra,
		       size_t nextra, size_t **out, size_t *nout)
{
	size_t i, k, n = 0, cap = nextra;
	size_t *e = NULL;

	for (i = 0; i < cat->n; i++) {
		const struct nmig_cat_obj *o = &cat->objs[i];

		cap += o->ndeps * (o->kind == NMIG_CAT_COLUMN ? 2 : 1);
	}
	e = malloc((2 * cap + 2) * sizeof(*e));
	if (!e)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	for (i = 0; i < cat->n; i++) {
		const struct nmig_cat_obj *o = &cat->objs[i];

		for (k = 0; k < o->ndeps; k++) {
			size_t d = o->deps[k], j;
			int seen = 0;

			e[2 * n] = i;
			e[2 * n + 1] = d;
			n++;
			if (o->kind != NMIG_CAT_COLUMN ||
			    o->parent == NMIG_CAT_NONE || d == o->parent ||
			    cat->objs[d].parent == o->parent)
				continue;
			for (j = 0; j < cat->objs[o->parent].ndeps; j++)
				seen |= cat->objs[o->parent].deps[j] == d;
			if (seen || d == o->parent)
				continue;
			e[2 * n] = o->parent;
			e[2 * n + 1] = d;
			n++;
		}
	}
	for (k = 0; k < nextra; k++) {
		e[2 * n] = extra[2 * k];
		e[2 * n + 1] = extra[2 * k + 1];
		n++;
	}
	*out = e;
	*nout = n;
	return NMIG_OK;
}

int nmig_catalog_order(const struct nmig_catalog *cat, size_t **out)
{
	return nmig_catalog_order_extra(cat, NULL, 0, out);
}

int nmig_catalog_order_extra(const struct nmig_catalog *cat,
			     const size_t *extra, size_t nextra, size_t **out)
{
	size_t n = cat->n, i, k, done = 0, nedges = 0;
	size_t *edges = NULL;
	size_t *indeg = calloc(n + 1, sizeof(*indeg));
	size_t *start = calloc(n + 2, sizeof(*start));
	size_t *users = NULL, *order = malloc((n + 1) * sizeof(*order));
	struct heap h = {malloc((n + 1) * sizeof(size_t)), 0};
	int err = NMIG_OK;

	*out = NULL;
	if (!indeg || !start || !order || !h.v) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((err = order_edges(cat, extra, nextra, &edges, &nedges)))
		goto cleanup;
	/* users of each object: a CSR list of who depends on it */
	for (k = 0; k < nedges; k++)
		start[edges[2 * k + 1] + 1]++;
	for (i = 0; i < n; i++)
		start[i + 1] += start[i];
	users = malloc((nedges + 1) * sizeof(*users));
	if (!users) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	{
		size_t *fill = indeg; /* reused as a cursor, reset below */

		for (k = 0; k < nedges; k++) {
			size_t d = edges[2 * k + 1];

			users[start[d] + fill[d]++] = edges[2 * k];
		}
		memset(indeg, 0, (n + 1) * sizeof(*indeg));
	}
	for (k = 0; k < nedges; k++)
		indeg[edges[2 * k]]++;
	for (i = 0; i < n; i++)
		if (!indeg[i])
			heap_push(&h, i);
	while (h.n) {
		size_t x = heap_pop(&h);

		order[done++] = x;
		for (k = start[x]; k < start[x + 1]; k++)
			if (--indeg[users[k]] == 0)
				heap_push(&h, users[k]);
	}
	if (done < n) {
		struct nmig_buf names = NMIG_BUF_INIT;
		size_t shown = 0;

		for (i = 0; i < n && shown < 5; i++)
			if (indeg[i]) {
				nmig_buf_printf(
				    &names, "%s%s %s", shown ? ", " : "",
				    nmig_cat_kind_name(&cat->objs[i]),
				    cat->objs[i].key);
				shown++;
			}
		err = nmig_error_set(NMIG_ERROR,
				     "cannot order the schema's objects: "
				     "they depend on each other in a cycle");
		nmig_error_detail("in the cycle or after it: %s", names.ptr);
		nmig_buf_release(&names);
		goto cleanup;
	}
	*out = order;
	order = NULL;
cleanup:
	free(indeg);
	free(start);
	free(users);
	free(order);
	free(edges);
	free(h.v);
	return err;
}
