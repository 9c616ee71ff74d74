/*
 * Canonical DDL of a catalog model (catalog.h), for `nmig schema dump`:
 * one statement per object in dependency order (nmig_catalog_order), the
 * SQL text the server's pg_get_*def functions gave where there is one,
 * identifiers quoted as the server's quote_ident quoted them. The same
 * schema always gives the same text (no dates, no oids, no owners), so
 * the output can be committed and reviewed. An object kind this renderer
 * cannot create is refused, never emitted wrong.
 */
#ifndef NMIG_SCHEMADUMP_H
#define NMIG_SCHEMADUMP_H

#include "buf.h"
#include "catalog.h"

/*
 * Append the DDL that creates cat on an empty database to out. Objects
 * that cannot be rendered (base types, foreign tables, replica identity
 * USING INDEX) are NMIG_EINPUT naming each (out then holds nothing
 * useful); a dependency cycle is NMIG_ERROR naming its objects.
 */
int nmig_schema_dump(struct nmig_buf *out, const struct nmig_catalog *cat);

/*
 * One object at a time, for the planner (schemaplan.h): a dumper prepared
 * once for cat (its columns grouped by relation; free it with
 * nmig_dumper_free) renders the statements that create object i as
 * nmig_schema_dump writes them, without its comment and without a
 * sequence's OWNED BY (the caller places those), or NMIG_EINPUT naming why
 * the object cannot be created (out is then unchanged).
 */
struct nmig_dumper;

int nmig_dumper_new(struct nmig_dumper **out, const struct nmig_catalog *cat);
void nmig_dumper_free(struct nmig_dumper *d);
int nmig_dumper_create(struct nmig_dumper *d, size_t i, struct nmig_buf *out);

/* Column i as ADD COLUMN takes it: `name type [DEFAULT ...] ...`. */
void nmig_dumper_column(struct nmig_dumper *d, size_t i, struct nmig_buf *out);

/* A sequence's parameters: `START WITH 1 INCREMENT BY 1 ... [CYCLE]`. */
void nmig_dumper_seq_options(struct nmig_buf *out,
			     const struct nmig_cat_obj *s);

/* The name COMMENT ON uses for o: "TABLE public.t", "COLUMN ...", ... */
void nmig_cat_comment_target(struct nmig_buf *out,
			     const struct nmig_catalog *cat,
			     const struct nmig_cat_obj *o);

#endif
