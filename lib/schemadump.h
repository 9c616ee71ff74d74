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

#endif
