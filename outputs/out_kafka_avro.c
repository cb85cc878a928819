/*
 * out_kafka_avro.c — records to Avro for the kafka output (see
 * out_kafka_avro.h for the layout and the mapping). libavro-c parses the
 * schema, holds the value and writes the binary encoding; this file only
 * walks a record (its field index, then msgpack for nested values) and
 * sets the matching parts of one generic avro_value_t.
 *
 * What libavro allocates: the schema, the generic class and the value,
 * once per worker; the memory writer once (pointed at each record's
 * destination with avro_writer_memory_set_dest). Per record, nothing for
 * scalars, strings, bytes and records: strings and bytes are handed to
 * the value as wrapped buffers over the chunk's own bytes (no copy, no
 * free function), and the value is written out before the chunk can go
 * back to its shard. Nested Avro maps do allocate: libavro's generic map
 * copies each key (strdup into its hash table) and frees it on reset, so
 * a schema with `map` fields costs a malloc/free per key per record.
 * Avro arrays keep their element storage across records.
 *
 * Threads: one encoder per output worker, used by that worker alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <avro.h>
#include "dp_log.h"
#include "dp_plugin.h"
#include "out_kafka_avro.h"

#define MAX_RECORDS 64          /* record schemas (with their name tables) per schema */
#define MAX_LOGGED 64           /* distinct (field, cause) pairs logged */
#define KEY_MAX 256             /* longest map key / enum symbol looked up */

/* A msgpack value: scalars decoded, strings and containers located. */
enum kind { K_NIL, K_BOOL, K_INT, K_UINT, K_FLOAT, K_STR, K_BIN, K_ARR, K_MAP, K_EXT };

static const char *const kind_name[] = { "nil", "bool", "negative int", "int", "float",
					 "str", "bin", "array", "map", "ext" };

struct mpv {
	uint8_t k;
	bool b;
	int64_t i;
	uint64_t u;
	double d;
	const uint8_t *p;  /* STR/BIN/EXT: bytes; ARR/MAP: first element */
	uint32_t n;        /* STR/BIN/EXT: length; ARR/MAP: count */
};

enum cause { C_OK, C_TYPE, C_RANGE, C_MISSING, C_ENUM, C_FIXED, C_DEPTH, C_MALFORMED, C_KEY, C_AVRO,
	     C_SPACE };

/* A record schema's field names, to match record keys without building
 * C strings (libavro's lookup wants one, and formats an error string for
 * every name it does not know). */
struct rtab {
	avro_schema_t s;
	unsigned n;
	const char **name;
	uint16_t *len;
};

struct out_kafka_avro {
	avro_schema_t schema;
	avro_value_iface_t *iface;
	avro_value_t val;
	bool have_val;
	avro_writer_t wr;
	uint8_t hdr[OUT_KAFKA_AVRO_HDR];
	const struct dp_output *o;  /* its log lines: o's name and Log_Level */
	struct rtab rec[MAX_RECORDS];
	unsigned nrec;
	/* the failure of the record being encoded */
	int field;                  /* top-level field index, -1: none */
	avro_type_t want;
	uint8_t got;
	struct { uint16_t field; uint8_t cause; } logged[MAX_LOGGED];
	unsigned nlogged;
	char why[160];
};

/* ---- msgpack ---- */

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) << 32 | rd32(p + 4); }

/* The object at p, whose encoding is exactly [p, end) (dp_mp_object_size
 * found it): false when malformed. */
static bool mp_read(const uint8_t *p, const uint8_t *end, struct mpv *v)
{
	size_t n = (size_t)(end - p);
	uint8_t h = p[0];
	memset(v, 0, sizeof(*v));
	if (h <= 0x7f || h >= 0xe0) {
		v->k = h <= 0x7f ? K_UINT : K_INT;
		v->u = h;
		v->i = (int8_t)h;
		return true;
	}
	size_t hl = 1, len = 0;
	if ((h & 0xe0) == 0xa0) {
		v->k = K_STR;
		len = h & 0x1f;
	} else if ((h & 0xf0) == 0x90 || (h & 0xf0) == 0x80) {
		v->k = (h & 0xf0) == 0x90 ? K_ARR : K_MAP;
		v->n = h & 0x0f;
		v->p = p + 1;
		return true;
	} else {
		switch (h) {
		case 0xc0: v->k = K_NIL; return true;
		case 0xc2: case 0xc3: v->k = K_BOOL; v->b = h == 0xc3; return true;
		case 0xc4: case 0xd9: hl = 2; len = p[1]; v->k = h == 0xc4 ? K_BIN : K_STR; break;
		case 0xc5: case 0xda: hl = 3; len = rd16(p + 1); v->k = h == 0xc5 ? K_BIN : K_STR; break;
		case 0xc6: case 0xdb: hl = 5; len = rd32(p + 1); v->k = h == 0xc6 ? K_BIN : K_STR; break;
		case 0xca: { uint32_t u = rd32(p + 1); float f; memcpy(&f, &u, 4); v->k = K_FLOAT; v->d = f;
			return true; }
		case 0xcb: { uint64_t u = rd64(p + 1); memcpy(&v->d, &u, 8); v->k = K_FLOAT; return true; }
		case 0xcc: v->k = K_UINT; v->u = p[1]; return true;
		case 0xcd: v->k = K_UINT; v->u = rd16(p + 1); return true;
		case 0xce: v->k = K_UINT; v->u = rd32(p + 1); return true;
		case 0xcf: v->k = K_UINT; v->u = rd64(p + 1); return true;
		case 0xd0: v->k = K_INT; v->i = (int8_t)p[1]; break;
		case 0xd1: v->k = K_INT; v->i = (int16_t)rd16(p + 1); break;
		case 0xd2: v->k = K_INT; v->i = (int32_t)rd32(p + 1); break;
		case 0xd3: v->k = K_INT; v->i = (int64_t)rd64(p + 1); break;
		case 0xdc: case 0xde: v->k = h == 0xdc ? K_ARR : K_MAP; v->n = rd16(p + 1); v->p = p + 3;
			return true;
		case 0xdd: case 0xdf: v->k = h == 0xdd ? K_ARR : K_MAP; v->n = rd32(p + 1); v->p = p + 5;
			return true;
		default: v->k = K_EXT; return true;   /* ext types: never converted */
		}
		if (v->k == K_INT) {
			/* signed encodings may hold non-negative values */
			if (v->i >= 0) {
				v->k = K_UINT;
				v->u = (uint64_t)v->i;
			}
			return true;
		}
	}
	if (hl + len > n)
		return false;
	v->p = p + hl;
	v->n = (uint32_t)len;
	return true;
}

/* The key and value of a map's next pair at *q; *q moves past the value. */
static bool mp_read_pair(const uint8_t **q, const uint8_t *end, struct mpv *k, struct mpv *v)
{
	const uint8_t *p = *q;
	size_t ks = dp_mp_object_size(p, (size_t)(end - p));
	if (!ks || !mp_read(p, p + ks, k))
		return false;
	p += ks;
	size_t vs = dp_mp_object_size(p, (size_t)(end - p));
	if (!vs || !mp_read(p, p + vs, v))
		return false;
	*q = p + vs;
	return true;
}

/* ---- schema ---- */

static struct rtab *rtab_of(struct out_kafka_avro *a, avro_schema_t s)
{
	while (avro_typeof(s) == AVRO_LINK)
		s = avro_schema_link_target(s);
	for (unsigned i = 0; i < a->nrec; i++)
		if (a->rec[i].s == s)
			return &a->rec[i];
	return NULL;
}

/* Index the record schemas and refuse what the encoder does not take. */
static int walk(struct out_kafka_avro *a, avro_schema_t s, int depth, struct dp_err *err)
{
	if (depth > OUT_KAFKA_AVRO_MAX_DEPTH)
		return dp_err_set(err, -EINVAL, "schema nested deeper than %d levels", OUT_KAFKA_AVRO_MAX_DEPTH);
	switch (avro_typeof(s)) {
	case AVRO_RECORD: {
		if (rtab_of(a, s))
			return 0;
		size_t n = avro_schema_record_size(s);
		if (n > OUT_KAFKA_AVRO_MAX_FIELDS)
			return dp_err_set(err, -EINVAL, "record '%s' has %zu fields (at most %d)",
					  avro_schema_name(s), n, OUT_KAFKA_AVRO_MAX_FIELDS);
		if (a->nrec == MAX_RECORDS)
			return dp_err_set(err, -EINVAL, "more than %d record types", MAX_RECORDS);
		struct rtab *t = &a->rec[a->nrec++];
		t->s = s;
		t->n = (unsigned)n;
		t->name = calloc(n ? n : 1, sizeof(*t->name));
		t->len = calloc(n ? n : 1, sizeof(*t->len));
		if (!t->name || !t->len)
			return dp_err_set(err, -ENOMEM, "out of memory");
		for (size_t i = 0; i < n; i++) {
			t->name[i] = avro_schema_record_field_name(s, (int)i);
			size_t l = strlen(t->name[i]);
			t->len[i] = (uint16_t)(l > UINT16_MAX ? UINT16_MAX : l);
			int rc = walk(a, avro_schema_record_field_get_by_index(s, (int)i), depth + 1, err);
			if (rc)
				return rc;
		}
		return 0;
	}
	case AVRO_MAP:
		return walk(a, avro_schema_map_values(s), depth + 1, err);
	case AVRO_ARRAY:
		return walk(a, avro_schema_array_items(s), depth + 1, err);
	case AVRO_UNION:
		for (size_t i = 0; i < avro_schema_union_size(s); i++) {
			int rc = walk(a, avro_schema_union_branch(s, (int)i), depth + 1, err);
			if (rc)
				return rc;
		}
		return 0;
	case AVRO_LINK:
		/* A recursive type: its target is (being) walked where it was
		 * defined. */
		return 0;
	default:
		return 0;   /* primitives, enum, fixed */
	}
}

/* ---- values ---- */

static avro_type_t type_of(avro_schema_t s)
{
	while (avro_typeof(s) == AVRO_LINK)
		s = avro_schema_link_target(s);
	return avro_typeof(s);
}

/* Would a value of kind k go into type t (range and content aside)? */
static bool takes(avro_type_t t, uint8_t k)
{
	switch (t) {
	case AVRO_NULL: return k == K_NIL;
	case AVRO_BOOLEAN: return k == K_BOOL;
	case AVRO_INT32: case AVRO_INT64: return k == K_INT || k == K_UINT;
	case AVRO_FLOAT: case AVRO_DOUBLE: return k == K_INT || k == K_UINT || k == K_FLOAT;
	case AVRO_STRING: case AVRO_BYTES: case AVRO_FIXED: return k == K_STR || k == K_BIN;
	case AVRO_ENUM: return k == K_STR;
	case AVRO_RECORD: case AVRO_MAP: return k == K_MAP;
	case AVRO_ARRAY: return k == K_ARR;
	default: return false;
	}
}

/* Indexed by avro_type_t (avro/basics.h). */
static const char *const type_name[] = { "string", "bytes", "int", "long", "float", "double", "boolean",
					 "null", "record", "enum", "fixed", "map", "array", "union", "link" };

static const char *tname(avro_type_t t)
{
	return (unsigned)t < sizeof(type_name) / sizeof(type_name[0]) ? type_name[t] : "?";
}

static double num(const struct mpv *v)
{
	return v->k == K_FLOAT ? v->d : v->k == K_INT ? (double)v->i : (double)v->u;
}

static int put(struct out_kafka_avro *a, avro_value_t *dst, const struct mpv *v, const uint8_t *end, int depth);

/* A map's members into the fields of record dst (nested records). */
static int put_members(struct out_kafka_avro *a, avro_value_t *dst, const struct mpv *m, const uint8_t *end,
		       int depth)
{
	avro_schema_t s = avro_value_get_schema(dst);
	const struct rtab *t = rtab_of(a, s);
	if (!t)
		return C_AVRO;
	uint64_t seen[OUT_KAFKA_AVRO_MAX_FIELDS / 64] = { 0 };
	const uint8_t *q = m->p;
	for (uint32_t i = 0; i < m->n; i++) {
		struct mpv k, val;
		if (!mp_read_pair(&q, end, &k, &val))
			return C_MALFORMED;
		const uint8_t *vend = q;
		if (k.k != K_STR)
			continue;   /* a non-string key names no field */
		for (unsigned f = 0; f < t->n; f++) {
			if (t->len[f] != k.n || memcmp(t->name[f], k.p, k.n) || (seen[f / 64] >> (f % 64) & 1))
				continue;
			seen[f / 64] |= 1ull << (f % 64);
			avro_value_t fv;
			if (avro_value_get_by_index(dst, f, &fv, NULL))
				return C_AVRO;
			int rc = put(a, &fv, &val, vend, depth + 1);
			if (rc)
				return rc;
			break;
		}
	}
	for (unsigned f = 0; f < t->n; f++) {
		if (seen[f / 64] >> (f % 64) & 1)
			continue;
		avro_value_t fv;
		struct mpv nil = { .k = K_NIL };
		if (avro_value_get_by_index(dst, f, &fv, NULL))
			return C_AVRO;
		int rc = put(a, &fv, &nil, end, depth + 1);
		if (rc)
			return rc == C_TYPE ? C_MISSING : rc;
	}
	return 0;
}

static int put_union(struct out_kafka_avro *a, avro_value_t *dst, const struct mpv *v, const uint8_t *end,
		     int depth)
{
	avro_schema_t us = avro_value_get_schema(dst);
	size_t nb = avro_schema_union_size(us);
	int rc = C_TYPE;
	for (size_t i = 0; i < nb; i++) {
		if (!takes(type_of(avro_schema_union_branch(us, (int)i)), v->k))
			continue;
		avro_value_t bv;
		if (avro_value_set_branch(dst, (int)i, &bv))
			return C_AVRO;
		/* a branch that takes the kind but not the value (an int out
		 * of range, an unknown symbol): try the next one */
		if (!(rc = put(a, &bv, v, end, depth + 1)))
			return 0;
	}
	if (rc == C_TYPE)
		a->want = AVRO_UNION;
	return rc;
}

static int put(struct out_kafka_avro *a, avro_value_t *dst, const struct mpv *v, const uint8_t *end, int depth)
{
	avro_type_t t = avro_value_get_type(dst);
	a->want = t;
	a->got = v->k;
	if (depth > OUT_KAFKA_AVRO_MAX_DEPTH)
		return C_DEPTH;
	if (t == AVRO_UNION)
		return put_union(a, dst, v, end, depth);
	if (!takes(t, v->k))
		return C_TYPE;
	avro_wrapped_buffer_t wb;
	int rc = 0;
	switch (t) {
	case AVRO_NULL:
		rc = avro_value_set_null(dst);
		break;
	case AVRO_BOOLEAN:
		rc = avro_value_set_boolean(dst, v->b);
		break;
	case AVRO_INT32:
		if (v->k == K_INT ? v->i < INT32_MIN : v->u > INT32_MAX)
			return C_RANGE;
		rc = avro_value_set_int(dst, v->k == K_INT ? (int32_t)v->i : (int32_t)v->u);
		break;
	case AVRO_INT64:
		if (v->k == K_UINT && v->u > INT64_MAX)
			return C_RANGE;
		rc = avro_value_set_long(dst, v->k == K_INT ? v->i : (int64_t)v->u);
		break;
	case AVRO_FLOAT:
		rc = avro_value_set_float(dst, (float)num(v));
		break;
	case AVRO_DOUBLE:
		rc = avro_value_set_double(dst, num(v));
		break;
	case AVRO_STRING:
		/* libavro counts a string's NUL in its size and writes size - 1
		 * bytes: the byte after the string is never read. */
		avro_wrapped_buffer_new(&wb, v->p, (size_t)v->n + 1);
		rc = avro_value_give_string_len(dst, &wb);
		break;
	case AVRO_BYTES:
		avro_wrapped_buffer_new(&wb, v->p, v->n);
		rc = avro_value_give_bytes(dst, &wb);
		break;
	case AVRO_FIXED:
		if (v->n != avro_schema_fixed_size(avro_value_get_schema(dst)))
			return C_FIXED;
		rc = avro_value_set_fixed(dst, (void *)v->p, v->n);
		break;
	case AVRO_ENUM: {
		char sym[KEY_MAX];
		if (v->n >= sizeof(sym))
			return C_ENUM;
		memcpy(sym, v->p, v->n);
		sym[v->n] = 0;
		int e = avro_schema_enum_get_by_name(avro_value_get_schema(dst), sym);
		if (e < 0)
			return C_ENUM;
		rc = avro_value_set_enum(dst, e);
		break;
	}
	case AVRO_RECORD:
		return put_members(a, dst, v, end, depth);
	case AVRO_MAP: {
		if ((rc = avro_value_reset(dst)))
			break;
		const uint8_t *q = v->p;
		for (uint32_t i = 0; i < v->n; i++) {
			struct mpv k, val;
			if (!mp_read_pair(&q, end, &k, &val))
				return C_MALFORMED;
			char key[KEY_MAX];
			if (k.k != K_STR || k.n >= sizeof(key) || memchr(k.p, 0, k.n))
				return C_KEY;
			memcpy(key, k.p, k.n);
			key[k.n] = 0;
			avro_value_t ev;
			if (avro_value_add(dst, key, &ev, NULL, NULL))
				return C_AVRO;
			int r2 = put(a, &ev, &val, q, depth + 1);
			if (r2)
				return r2;
		}
		break;
	}
	case AVRO_ARRAY: {
		if ((rc = avro_value_reset(dst)))
			break;
		const uint8_t *q = v->p;
		for (uint32_t i = 0; i < v->n; i++) {
			struct mpv e;
			size_t es = dp_mp_object_size(q, (size_t)(end - q));
			if (!es || !mp_read(q, q + es, &e))
				return C_MALFORMED;
			avro_value_t ev;
			if (avro_value_append(dst, &ev, NULL))
				return C_AVRO;
			int r2 = put(a, &ev, &e, q + es, depth + 1);
			if (r2)
				return r2;
			q += es;
		}
		break;
	}
	default:
		return C_TYPE;
	}
	return rc ? C_AVRO : 0;
}

/* ---- records ---- */

static void explain(struct out_kafka_avro *a, int cause)
{
	const char *field = a->field >= 0 ? a->rec[0].name[a->field] : NULL;
	char where[96];
	snprintf(where, sizeof(where), field ? "field '%.64s': " : "%s", field ? field : "");
	const char *want = a->want == AVRO_UNION ? "a union branch that takes it" : tname(a->want);
	switch (cause) {
	case C_TYPE:
		snprintf(a->why, sizeof(a->why), "%sexpected %s, got %s", where, want, kind_name[a->got]);
		return;
	case C_RANGE:
		snprintf(a->why, sizeof(a->why), "%sinteger out of range for %s", where, want);
		return;
	case C_MISSING:
		snprintf(a->why, sizeof(a->why), "%smissing or nil, and its type (%s) does not take null", where,
			 tname(a->want));
		return;
	case C_AVRO:
		snprintf(a->why, sizeof(a->why), "%slibavro: %s", where, avro_strerror());
		return;
	}
	static const char *const text[] = {
		[C_ENUM] = "not a symbol of the enum",
		[C_FIXED] = "length differs from the fixed size",
		[C_DEPTH] = "nested too deep",
		[C_MALFORMED] = "malformed msgpack",
		[C_KEY] = "a map key that is not a string (or too long)",
		[C_SPACE] = "encoded record larger than the room left in the batch buffer",
	};
	snprintf(a->why, sizeof(a->why), "%s%s", cause == C_SPACE ? "" : where, text[cause]);
}

/* The record cannot be encoded: keep why, log it once per (field, cause);
 * the caller counts the record failed. */
static size_t fail(struct out_kafka_avro *a, int cause)
{
	explain(a, cause);
	uint16_t f = (uint16_t)(a->field + 1);
	for (unsigned i = 0; i < a->nlogged; i++)
		if (a->logged[i].field == f && a->logged[i].cause == cause)
			return 0;
	if (a->nlogged < MAX_LOGGED) {
		a->logged[a->nlogged].field = f;
		a->logged[a->nlogged++].cause = (uint8_t)cause;
	}
	if (a->o)
		dp_plg_error(a->o, "avro: %s: records not encoded, counted failed (logged once per "
			     "field and cause)", a->why);
	else
		dp_error("[kafka] avro: %s: records not encoded, counted failed", a->why);
	return 0;
}

size_t out_kafka_avro_encode(struct out_kafka_avro *a, const struct dp_chunk *c, const struct dp_rec *r,
			     char *dst, size_t cap)
{
	const struct rtab *t = &a->rec[0];
	const uint8_t *end = c->data + r->off + r->len;
	uint64_t seen[OUT_KAFKA_AVRO_MAX_FIELDS / 64] = { 0 };
	const struct dp_field *fl = dp_rec_fields(c, r);
	a->field = -1;
	for (unsigned i = 0; i < r->nfields; i++) {
		const struct dp_field *f = &fl[i];
		const char *k = dp_field_key(c, f);
		unsigned fi = 0;
		for (; fi < t->n; fi++)
			if (t->len[fi] == f->key_len && !memcmp(t->name[fi], k, f->key_len))
				break;
		if (fi == t->n || (seen[fi / 64] >> (fi % 64) & 1))
			continue;   /* not in the schema, or a repeated key */
		seen[fi / 64] |= 1ull << (fi % 64);
		a->field = (int)fi;
		struct mpv v;
		const uint8_t *p = c->data + f->val_off;
		if (f->type == DP_T_STR || f->type == DP_T_BIN) {
			memset(&v, 0, sizeof(v));
			v.k = f->type == DP_T_STR ? K_STR : K_BIN;
			v.p = p;
			v.n = f->val_len;
		} else {
			size_t sz = dp_mp_object_size(p, (size_t)(end - p));
			if (!sz || !mp_read(p, p + sz, &v))
				return fail(a, C_MALFORMED);
		}
		avro_value_t fv;
		if (avro_value_get_by_index(&a->val, fi, &fv, NULL))
			return fail(a, C_AVRO);
		int rc = put(a, &fv, &v, end, 0);
		if (rc)
			return fail(a, rc);
	}
	for (unsigned fi = 0; fi < t->n; fi++) {
		if (seen[fi / 64] >> (fi % 64) & 1)
			continue;
		a->field = (int)fi;
		avro_value_t fv;
		struct mpv nil = { .k = K_NIL };
		if (avro_value_get_by_index(&a->val, fi, &fv, NULL))
			return fail(a, C_AVRO);
		int rc = put(a, &fv, &nil, end, 0);
		if (rc)
			return fail(a, rc == C_TYPE ? C_MISSING : rc);
	}
	a->field = -1;
	if (cap < OUT_KAFKA_AVRO_HDR)
		return fail(a, C_SPACE);
	memcpy(dst, a->hdr, OUT_KAFKA_AVRO_HDR);
	avro_writer_memory_set_dest(a->wr, dst + OUT_KAFKA_AVRO_HDR, (int64_t)(cap - OUT_KAFKA_AVRO_HDR));
	int rc = avro_value_write(a->wr, &a->val);
	if (rc)
		return fail(a, rc == ENOSPC ? C_SPACE : C_AVRO);
	return OUT_KAFKA_AVRO_HDR + (size_t)avro_writer_tell(a->wr);
}

const char *out_kafka_avro_why(const struct out_kafka_avro *a)
{
	return a->why;
}

/* ---- life ---- */

void out_kafka_avro_destroy(struct out_kafka_avro *a)
{
	if (!a)
		return;
	if (a->wr)
		avro_writer_free(a->wr);
	if (a->have_val)
		avro_value_decref(&a->val);
	if (a->iface)
		avro_value_iface_decref(a->iface);
	if (a->schema)
		avro_schema_decref(a->schema);
	for (unsigned i = 0; i < a->nrec; i++) {
		free(a->rec[i].name);
		free(a->rec[i].len);
	}
	free(a);
}

struct out_kafka_avro *out_kafka_avro_create(const char *json, uint32_t schema_id,
					     const struct dp_output *o, struct dp_err *err)
{
	struct out_kafka_avro *a = calloc(1, sizeof(*a));
	if (!a) {
		dp_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	a->o = o;
	a->hdr[0] = 0;   /* Confluent's magic byte */
	a->hdr[1] = (uint8_t)(schema_id >> 24);
	a->hdr[2] = (uint8_t)(schema_id >> 16);
	a->hdr[3] = (uint8_t)(schema_id >> 8);
	a->hdr[4] = (uint8_t)schema_id;
	if (!json || avro_schema_from_json_length(json, strlen(json), &a->schema)) {
		a->schema = NULL;
		dp_err_set(err, -EINVAL, "invalid Avro schema: %s", json ? avro_strerror() : "none given");
		goto fail;
	}
	if (avro_typeof(a->schema) != AVRO_RECORD) {
		dp_err_set(err, -EINVAL, "the schema's top level must be a record, not %s",
			   avro_schema_type_name(a->schema));
		goto fail;
	}
	if (walk(a, a->schema, 0, err))
		goto fail;
	if (!(a->iface = avro_generic_class_from_schema(a->schema))) {
		dp_err_set(err, -EINVAL, "libavro: %s", avro_strerror());
		goto fail;
	}
	if (avro_generic_value_new(a->iface, &a->val)) {
		dp_err_set(err, -ENOMEM, "libavro: %s", avro_strerror());
		goto fail;
	}
	a->have_val = true;
	static const char none[1];
	if (!(a->wr = avro_writer_memory(none, sizeof(none)))) {
		dp_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	a->field = -1;
	return a;
fail:
	out_kafka_avro_destroy(a);
	return NULL;
}

int out_kafka_avro_check(const char *json, struct dp_err *err)
{
	struct out_kafka_avro *a = out_kafka_avro_create(json, 0, NULL, err);
	if (!a)
		return err->code ? err->code : -EINVAL;
	out_kafka_avro_destroy(a);
	return 0;
}
