/*
 * sp_val.h — a value read from a record (top-level field through the
 * chunk's index, or nested inside a map), the flat condition evaluator
 * the planner compiles WHERE and HAVING into, and the nested-key walk.
 *
 * Nothing here allocates: values point into the chunk (or into a group
 * key arena), programs are arrays made at start-up.
 *
 * Threads: any; a program is read-only after the planner made it.
 */
#ifndef SP_VAL_H
#define SP_VAL_H

#include <stdbool.h>
#include <stdint.h>
#include "dp_chunk.h"
#include "sp_ast.h"

enum sp_vt { SP_V_MISSING = 0, SP_V_NIL, SP_V_BOOL, SP_V_INT, SP_V_FLOAT, SP_V_STR, SP_V_OTHER };

struct sp_val {
	uint8_t t;                   /* enum sp_vt */
	bool b;
	int64_t i;
	double d;
	const char *s;               /* STR payload */
	uint32_t len;
	const uint8_t *raw;          /* the msgpack object (nested values, OTHER) */
	uint32_t raw_len;
	const struct dp_field *f;    /* top-level: the indexed field */
};

/* Decode the msgpack object at p (n bytes) into v (scalars; maps, arrays,
 * bin and ext become OTHER with raw set). */
void sp_val_from_mp(struct sp_val *v, const uint8_t *p, size_t n);
/* The value of an indexed field. */
void sp_val_from_field(struct sp_val *v, const struct dp_chunk *c, const struct dp_field *f);
/* Walk sub[0..nsub) down the map m (its msgpack bytes, n long) and
 * decode what is found; MISSING when a step is not a map or lacks the key. */
void sp_val_nested(struct sp_val *v, const uint8_t *m, size_t n, char *const *sub, unsigned nsub);

/* a OP b with Fluent Bit's meaning: a missing value compares false to
 * everything; numbers compare as numbers (int with int exactly); strings
 * bytewise; values of different types are never equal (false). */
bool sp_val_cmp(const struct sp_val *a, enum sp_cmp op, const struct sp_val *b);

/* ---- the flat evaluator ---- */

enum sp_op {
	SP_I_CMP,      /* slot OP const */
	SP_I_CMP2,     /* slot OP slot2 */
	SP_I_ISNULL,   /* slot missing or nil */
	SP_I_NOTNULL,
	SP_I_HAS,      /* slot present (@record.contains) */
	SP_I_TRUTH,    /* slot is boolean true */
	SP_I_CONST,    /* push arg (0/1) */
	SP_I_AND, SP_I_OR, SP_I_NOT,
};

struct sp_ins {
	uint8_t op;
	uint8_t cmp;
	uint16_t slot;
	uint32_t arg;  /* const index, slot2 or constant truth */
};

/* Postfix program over slot values: no recursion, no allocation. */
struct sp_prog {
	struct sp_ins *ins;
	unsigned n;
	struct sp_val *consts;
	unsigned nconsts;
};

bool sp_prog_run(const struct sp_prog *p, const struct sp_val *slots);

#endif
