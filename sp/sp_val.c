/*
 * sp_val.c — reading values out of records and the flat evaluator
 * (sp_val.h). Runs on shards, per record: no allocation, no logging.
 *
 * The nested-key walk reads msgpack maps directly, skipping values with
 * dp_mp_object_size. It is small on purpose: a shared record accessor
 * (dataplane/dp_ra.h) is being written elsewhere and may replace it.
 *
 * Threads: any; a program is read-only after the planner made it.
 */
#include <string.h>
#include "sp_val.h"

static double load_double(const uint8_t *p, bool f32)
{
	if (f32) {
		uint32_t u = dp_mp_rd32(p);
		float f;
		memcpy(&f, &u, 4);
		return f;
	}
	uint64_t u = dp_mp_rd64(p);
	double d;
	memcpy(&d, &u, 8);
	return d;
}

void sp_val_from_mp(struct sp_val *v, const uint8_t *p, size_t n)
{
	memset(v, 0, sizeof(*v));
	size_t sz = dp_mp_object_size(p, n);
	if (sz == 0)
		return; /* truncated: as if missing */
	v->raw = p;
	v->raw_len = (uint32_t)sz;
	uint8_t h = p[0];
	if (h <= 0x7f) {
		v->t = SP_V_INT;
		v->i = h;
	} else if (h >= 0xe0) {
		v->t = SP_V_INT;
		v->i = (int8_t)h;
	} else if ((h & 0xe0) == 0xa0) {
		v->t = SP_V_STR;
		v->s = (const char *)p + 1;
		v->len = h & 0x1f;
	} else {
		switch (h) {
		case 0xc0: v->t = SP_V_NIL; break;
		case 0xc2: case 0xc3: v->t = SP_V_BOOL; v->b = h == 0xc3; break;
		case 0xcc: v->t = SP_V_INT; v->i = p[1]; break;
		case 0xcd: v->t = SP_V_INT; v->i = dp_mp_rd16(p + 1); break;
		case 0xce: v->t = SP_V_INT; v->i = dp_mp_rd32(p + 1); break;
		case 0xcf: {
			uint64_t u = dp_mp_rd64(p + 1);
			if (u > INT64_MAX) {
				v->t = SP_V_FLOAT;
				v->d = (double)u;
			} else {
				v->t = SP_V_INT;
				v->i = (int64_t)u;
			}
			break;
		}
		case 0xd0: v->t = SP_V_INT; v->i = (int8_t)p[1]; break;
		case 0xd1: v->t = SP_V_INT; v->i = (int16_t)dp_mp_rd16(p + 1); break;
		case 0xd2: v->t = SP_V_INT; v->i = (int32_t)dp_mp_rd32(p + 1); break;
		case 0xd3: v->t = SP_V_INT; v->i = (int64_t)dp_mp_rd64(p + 1); break;
		case 0xca: v->t = SP_V_FLOAT; v->d = load_double(p + 1, true); break;
		case 0xcb: v->t = SP_V_FLOAT; v->d = load_double(p + 1, false); break;
		case 0xd9: v->t = SP_V_STR; v->len = p[1]; v->s = (const char *)p + 2; break;
		case 0xda: v->t = SP_V_STR; v->len = dp_mp_rd16(p + 1); v->s = (const char *)p + 3; break;
		case 0xdb: v->t = SP_V_STR; v->len = dp_mp_rd32(p + 1); v->s = (const char *)p + 5; break;
		default: v->t = SP_V_OTHER; break;
		}
	}
	if (v->t == SP_V_INT)
		v->d = (double)v->i;
}

void sp_val_from_field(struct sp_val *v, const struct dp_chunk *c, const struct dp_field *f)
{
	switch (f->type) {
	case DP_T_STR:
		memset(v, 0, sizeof(*v));
		v->t = SP_V_STR;
		v->s = dp_field_val(c, f);
		v->len = f->val_len;
		break;
	default:
		sp_val_from_mp(v, c->data + f->val_off, f->val_len);
		break;
	}
	v->f = f;
}

/* Position of the value of key k in the map at m, or NULL. */
static const uint8_t *map_find(const uint8_t *m, size_t n, const char *k, size_t klen,
			       size_t *vn)
{
	if (n == 0)
		return NULL;
	uint8_t h = m[0];
	uint64_t cnt;
	size_t i;
	if ((h & 0xf0) == 0x80) {
		cnt = h & 0x0f;
		i = 1;
	} else if (h == 0xde && n >= 3) {
		cnt = dp_mp_rd16(m + 1);
		i = 3;
	} else if (h == 0xdf && n >= 5) {
		cnt = dp_mp_rd32(m + 1);
		i = 5;
	} else {
		return NULL;
	}
	for (uint64_t j = 0; j < cnt; j++) {
		size_t ks = dp_mp_object_size(m + i, n - i);
		if (!ks)
			return NULL;
		struct sp_val kv;
		sp_val_from_mp(&kv, m + i, n - i);
		i += ks;
		size_t vs = dp_mp_object_size(m + i, n - i);
		if (!vs)
			return NULL;
		if (kv.t == SP_V_STR && kv.len == klen && memcmp(kv.s, k, klen) == 0) {
			*vn = n - i;
			return m + i;
		}
		i += vs;
	}
	return NULL;
}

void sp_val_nested(struct sp_val *v, const uint8_t *m, size_t n, char *const *sub, unsigned nsub)
{
	for (unsigned d = 0; d < nsub; d++) {
		size_t vn;
		m = map_find(m, n, sub[d], strlen(sub[d]), &vn);
		if (!m) {
			memset(v, 0, sizeof(*v));
			return;
		}
		n = vn;
	}
	sp_val_from_mp(v, m, n);
}

static bool ord(int c, enum sp_cmp op)
{
	switch (op) {
	case SP_EQ: return c == 0;
	case SP_NE: return c != 0;
	case SP_LT: return c < 0;
	case SP_LE: return c <= 0;
	case SP_GT: return c > 0;
	case SP_GE: return c >= 0;
	}
	return false;
}

bool sp_val_cmp(const struct sp_val *a, enum sp_cmp op, const struct sp_val *b)
{
	if (a->t == SP_V_MISSING || b->t == SP_V_MISSING)
		return false;
	bool an = a->t == SP_V_INT || a->t == SP_V_FLOAT;
	bool bn = b->t == SP_V_INT || b->t == SP_V_FLOAT;
	if (an && bn) {
		if (a->t == SP_V_INT && b->t == SP_V_INT)
			return ord((a->i > b->i) - (a->i < b->i), op);
		/* NaN compares false except with != */
		if (a->d != a->d || b->d != b->d)
			return op == SP_NE;
		return ord((a->d > b->d) - (a->d < b->d), op);
	}
	if (a->t != b->t)
		return false;
	switch (a->t) {
	case SP_V_STR: {
		int c = memcmp(a->s, b->s, DP_MIN(a->len, b->len));
		if (c == 0)
			c = (a->len > b->len) - (a->len < b->len);
		return ord(c, op);
	}
	case SP_V_BOOL:
		if (op != SP_EQ && op != SP_NE)
			return false;
		return ord(a->b != b->b, op);
	case SP_V_NIL:
		return op == SP_EQ || op == SP_LE || op == SP_GE;
	default:
		if (op != SP_EQ && op != SP_NE)
			return false;
		return ord(!(a->raw_len == b->raw_len && memcmp(a->raw, b->raw, a->raw_len) == 0), op);
	}
}

bool sp_prog_run(const struct sp_prog *p, const struct sp_val *slots)
{
	bool st[64];
	unsigned sp = 0;
	for (unsigned k = 0; k < p->n; k++) {
		const struct sp_ins *in = &p->ins[k];
		const struct sp_val *v = &slots[in->slot];
		switch (in->op) {
		case SP_I_CMP:
			st[sp++] = sp_val_cmp(v, in->cmp, &p->consts[in->arg]);
			break;
		case SP_I_CMP2:
			st[sp++] = sp_val_cmp(v, in->cmp, &slots[in->arg]);
			break;
		case SP_I_ISNULL:
			st[sp++] = v->t == SP_V_MISSING || v->t == SP_V_NIL;
			break;
		case SP_I_NOTNULL:
			st[sp++] = !(v->t == SP_V_MISSING || v->t == SP_V_NIL);
			break;
		case SP_I_HAS:
			st[sp++] = v->t != SP_V_MISSING;
			break;
		case SP_I_TRUTH:
			st[sp++] = v->t == SP_V_BOOL && v->b;
			break;
		case SP_I_CONST:
			st[sp++] = in->arg != 0;
			break;
		case SP_I_AND:
			sp--;
			st[sp - 1] = st[sp - 1] && st[sp];
			break;
		case SP_I_OR:
			sp--;
			st[sp - 1] = st[sp - 1] || st[sp];
			break;
		case SP_I_NOT:
			st[sp - 1] = !st[sp - 1];
			break;
		}
	}
	return sp ? st[0] : true;
}
