/*
 * The schema planner: the SQL that turns the schema of one catalog model
 * (catalog.h) into another's, for `nmig diff` and `nmig revision
 * --autogenerate` (docs/schema.md).
 *
 * Objects are matched by kind and key (and by the renames the caller
 * declares: renames are never guessed). An object that only one side has
 * is created or dropped; one that differs is altered in place where
 * PostgreSQL can (a column's type, default, NOT NULL or identity, a
 * sequence's parameters, an enum's new values, a function's body, a
 * comment, ...) and else dropped and created again. Whatever depends on a
 * dropped object (pg_depend: views on a column, triggers on a function, a
 * foreign key on a unique index, ...) is dropped first and created again
 * after. Drops come in reverse dependency order, creations in dependency
 * order.
 *
 * Safe forms by default, on tables that exist on both sides: an index is
 * built CONCURRENTLY in a step of its own outside a transaction, a foreign
 * key or check constraint is added NOT VALID and validated in a later
 * step, NOT NULL goes through a validated check, a unique or primary key
 * constraint is added USING an index built concurrently. unsafe_fast gives
 * the plain blocking forms, all in one step.
 *
 * Destructive changes (a table or column dropped, a type changed in a way
 * that can lose data) are listed as hazards, and refused unless
 * allow_destructive. What the planner cannot produce is refused with the
 * object and the reason; a refused plan holds no SQL. The planner never
 * runs anything: the caller proves the plan on a scratch database.
 */
#ifndef NMIG_SCHEMAPLAN_H
#define NMIG_SCHEMAPLAN_H

#include <stddef.h>

#include "buf.h"
#include "catalog.h"

/* A column's type changed in place (lint rule changing-column-type). */
#define NMIG_PLAN_IGNORE_TYPE 1u

/* The steps of a plan, in the order they run. */
enum nmig_plan_step {
	NMIG_PLAN_MAIN,	      /* one transaction */
	NMIG_PLAN_CONCURRENT, /* outside a transaction, statement by statement */
	NMIG_PLAN_VALIDATE,   /* one transaction, after the concurrent step */
	NMIG_PLAN_NSTEPS
};

struct nmig_plan_opts {
	/*
	 * Declared renames, "schema.table=new_name" for a table and
	 * "schema.table.column=new_name" for a column (names as the
	 * catalog's keys write them: quoted where PostgreSQL quotes).
	 */
	const char *const *renames;
	size_t nrenames;
	int allow_destructive; /* else a hazard refuses the plan */
	int unsafe_fast;       /* plain blocking forms, one step */
	unsigned flags;	       /* NMIG_CAT_NO_COLUMN_ORDER */
};

struct nmig_schemaplan {
	struct nmig_buf step[NMIG_PLAN_NSTEPS]; /* statements, each ";\n" */
	size_t nstmts[NMIG_PLAN_NSTEPS];
	struct nmig_buf hazards; /* one line each */
	size_t nhazards;
	struct nmig_buf refused; /* one line each: object and reason */
	size_t nrefused;
	struct nmig_buf renames; /* possible renames, one line each, with
				  * the option that declares one */
	size_t npossible;
	/*
	 * Lint rules each step knowingly breaks, for a generated revision's
	 * `-- nmig:lint-ignore` line: NMIG_PLAN_IGNORE_* bits.
	 */
	unsigned ignore[NMIG_PLAN_NSTEPS];
	struct nmig_buf undo; /* the declared renames backwards, for the
			       * plan from b to a: "key=name\n" each */
	size_t nundo;
};

void nmig_schemaplan_init(struct nmig_schemaplan *p);
void nmig_schemaplan_release(struct nmig_schemaplan *p);

/*
 * Plan the change from a to b into *p (initialised here; release it in
 * every case). Returns NMIG_OK with the statements of each step (all
 * empty when a and b are alike), NMIG_EINPUT when the plan is refused
 * (p->refused says why, the steps are empty), NMIG_EUSAGE for a rename
 * that names no object, NMIG_ENOMEM.
 */
int nmig_schemaplan_build(struct nmig_schemaplan *p,
			  const struct nmig_catalog *a,
			  const struct nmig_catalog *b,
			  const struct nmig_plan_opts *opts);

/* 1 when the plan has no statement. */
int nmig_schemaplan_empty(const struct nmig_schemaplan *p);

#endif
