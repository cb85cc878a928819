/*
 * flt_lua_conv.c — msgpack <-> Lua values for the `lua` filter (the rules
 * are in flt_lua.h). Nested containers are written with 32-bit headers,
 * as every nested container in a sluice chunk is (dp_chunk.h).
 *
 * Threads: the shard that owns the lua_State.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <lauxlib.h>
#include "flt_lua.h"

static void push_nil(lua_State *L, const struct flt_lua_conv *cv)
{
	if (cv->flb_null)
		lua_rawgeti(L, LUA_REGISTRYINDEX, cv->null_ref);
	else
		lua_pushnil(L);
}

/* Bytes of the header and the length/count of a str, bin, array or map
 * at p, or 0 when truncated. */
static size_t hdr(const uint8_t *p, size_t n, uint32_t *len)
{
	uint8_t h = p[0];
	if ((h & 0xe0) == 0xa0) { *len = h & 0x1f; return 1; }
	if ((h & 0xf0) == 0x90 || (h & 0xf0) == 0x80) { *len = h & 0x0f; return 1; }
	if (h == 0xd9 || h == 0xc4) { if (n < 2) return 0; *len = p[1]; return 2; }
	if (h == 0xda || h == 0xc5 || h == 0xdc || h == 0xde) {
		if (n < 3) return 0;
		*len = dp_mp_rd16(p + 1);
		return 3;
	}
	if (n < 5) return 0;
	*len = dp_mp_rd32(p + 1);
	return 5;
}

size_t flt_lua_push_mp(lua_State *L, const struct flt_lua_conv *cv, const uint8_t *p, size_t n,
		       unsigned depth)
{
	size_t sz = dp_mp_object_size(p, n);
	if (!sz || depth > FLT_LUA_DEPTH || !lua_checkstack(L, 4))
		return 0;
	uint8_t h = p[0];
	uint32_t len;
	size_t hs;
	enum dp_type t = dp_mp_type_hdr(h);
	/* containers only where the encoder writes them back (it cuts at
	 * FLT_LUA_DEPTH): what comes in goes out the same */
	if (depth >= FLT_LUA_DEPTH && (t == DP_T_MAP || t == DP_T_ARRAY))
		return 0;
	switch (t) {
	case DP_T_UINT:
		if (h <= 0x7f) lua_pushnumber(L, h);
		else if (h == 0xcc) lua_pushnumber(L, p[1]);
		else if (h == 0xcd) lua_pushnumber(L, dp_mp_rd16(p + 1));
		else if (h == 0xce) lua_pushnumber(L, dp_mp_rd32(p + 1));
		else lua_pushnumber(L, (double)dp_mp_rd64(p + 1));
		break;
	case DP_T_INT:
		if (h >= 0xe0) lua_pushnumber(L, (int8_t)h);
		else if (h == 0xd0) lua_pushnumber(L, (int8_t)p[1]);
		else if (h == 0xd1) lua_pushnumber(L, (int16_t)dp_mp_rd16(p + 1));
		else if (h == 0xd2) lua_pushnumber(L, (int32_t)dp_mp_rd32(p + 1));
		else lua_pushnumber(L, (double)(int64_t)dp_mp_rd64(p + 1));
		break;
	case DP_T_FLOAT:
		if (h == 0xca) {
			uint32_t u = dp_mp_rd32(p + 1);
			float f;
			memcpy(&f, &u, 4);
			lua_pushnumber(L, f);
		} else {
			uint64_t u = dp_mp_rd64(p + 1);
			double d;
			memcpy(&d, &u, 8);
			lua_pushnumber(L, d);
		}
		break;
	case DP_T_BOOL:
		lua_pushboolean(L, h == 0xc3);
		break;
	case DP_T_STR:
	case DP_T_BIN:
		hs = hdr(p, n, &len);
		lua_pushlstring(L, (const char *)p + hs, len);
		break;
	case DP_T_ARRAY: {
		hs = hdr(p, n, &len);
		lua_createtable(L, (int)(len < 1024 ? len : 1024), 0);
		size_t o = hs;
		for (uint32_t i = 0; i < len; i++) {
			size_t e = flt_lua_push_mp(L, cv, p + o, sz - o, depth + 1);
			if (!e) {
				lua_pop(L, 1);
				return 0;
			}
			lua_rawseti(L, -2, (int)i + 1);
			o += e;
		}
		break;
	}
	case DP_T_MAP: {
		hs = hdr(p, n, &len);
		lua_createtable(L, 0, (int)(len < 1024 ? len : 1024));
		size_t o = hs;
		for (uint32_t i = 0; i < len; i++) {
			size_t k = flt_lua_push_mp(L, cv, p + o, sz - o, depth + 1);
			if (!k) {
				lua_pop(L, 1);
				return 0;
			}
			size_t v = flt_lua_push_mp(L, cv, p + o + k, sz - o - k, depth + 1);
			if (!v) {
				lua_pop(L, 2);
				return 0;
			}
			/* nil and NaN cannot index a table (lua_rawset would
			 * raise outside any pcall), and a nil key stays nil
			 * with enable_flb_null: such pairs are skipped */
			if (lua_isnil(L, -2) || lua_type(L, -2) == LUA_TLIGHTUSERDATA ||
			    (lua_type(L, -2) == LUA_TNUMBER && isnan(lua_tonumber(L, -2))))
				lua_pop(L, 2);
			else
				lua_rawset(L, -3);
			o += k + v;
		}
		break;
	}
	case DP_T_NIL:
	default:
		push_nil(L, cv);
		break;
	}
	return sz;
}

void flt_lua_push_record(lua_State *L, const struct flt_lua_conv *cv, struct dp_chunk *c)
{
	const struct dp_rec *r = &c->recs[c->nrecs - 1];
	const struct dp_field *fs = c->fields + r->field0;
	/* room for a few keys more: a script that adds one would rehash */
	lua_createtable(L, 0, r->nfields + 4);
	for (unsigned i = 0; i < r->nfields; i++) {
		const struct dp_field *f = &fs[i];
		lua_pushlstring(L, (const char *)c->data + f->key_off, f->key_len);
		if (f->type == DP_T_STR) {
			lua_pushlstring(L, (const char *)c->data + f->val_off, f->val_len);
		} else {
			/* the value object starts where the key ends */
			uint32_t o = f->key_off + f->key_len;
			if (!flt_lua_push_mp(L, cv, c->data + o, f->val_off + f->val_len - o, 0))
				push_nil(L, cv);
		}
		lua_rawset(L, -3);
	}
}

/* ---- Lua -> msgpack ---- */

static uint8_t *room(struct flt_lua_buf *b, size_t n)
{
	if (b->full || b->len + n > b->cap) {
		b->full = true;
		return NULL;
	}
	uint8_t *w = b->p + b->len;
	b->len += n;
	return w;
}

static void be(uint8_t *w, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		w[i] = (uint8_t)v;
}

static void put_str(struct flt_lua_buf *b, const char *s, size_t n)
{
	uint8_t *w = room(b, n + 5);
	if (!w)
		return;
	size_t h = dp_mp_str_hdr(w, n);
	memcpy(w + h, s, n);
	b->len -= 5 - h;
}

static void put_int(struct flt_lua_buf *b, int64_t v)
{
	uint8_t *w;
	if (v >= 0 && v <= 0x7f) {
		if ((w = room(b, 1)))
			w[0] = (uint8_t)v;
	} else if (v >= -32 && v < 0) {
		if ((w = room(b, 1)))
			w[0] = (uint8_t)(int8_t)v;
	} else if (v >= 0) {
		if ((w = room(b, 9))) {
			w[0] = 0xcf;
			be(w + 1, (uint64_t)v, 8);
		}
	} else if ((w = room(b, 9))) {
		w[0] = 0xd3;
		be(w + 1, (uint64_t)v, 8);
	}
}

static void put_num(struct flt_lua_buf *b, double d, bool force_int)
{
	/* Fluent Bit: an integral number is an integer */
	if (force_int || (d == floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
		if (force_int && !(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
			d = 0;
		put_int(b, (int64_t)d);
		return;
	}
	uint8_t *w = room(b, 9);
	if (w) {
		uint64_t u;
		memcpy(&u, &d, 8);
		w[0] = 0xcb;
		be(w + 1, u, 8);
	}
}

static void put_byte(struct flt_lua_buf *b, uint8_t v)
{
	uint8_t *w = room(b, 1);
	if (w)
		w[0] = v;
}

size_t flt_lua_array_len(lua_State *L, int idx)
{
	/* Every key a positive integer and the largest one the count: keys
	 * are exactly 1..n. (lua_objlen is not used: for keys that sit in a
	 * table's hash part it may say 0.) */
	size_t count = 0;
	double max = 0;
	idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TNUMBER) {
			lua_pop(L, 1);
			return 0;
		}
		double k = lua_tonumber(L, -1);
		if (k != floor(k) || k < 1) {
			lua_pop(L, 1);
			return 0;
		}
		if (k > max)
			max = k;
		count++;
	}
	return count && (double)count == max ? count : 0;
}

static bool is_null(lua_State *L, const struct flt_lua_conv *cv, int idx)
{
	if (!cv->flb_null || lua_type(L, idx) != LUA_TLIGHTUSERDATA)
		return false;
	lua_rawgeti(L, LUA_REGISTRYINDEX, cv->null_ref);
	bool eq = lua_rawequal(L, idx, -1);
	lua_pop(L, 1);
	return eq;
}

void flt_lua_encode(lua_State *L, const struct flt_lua_conv *cv, int idx, struct flt_lua_buf *b,
		    unsigned depth, bool as_array)
{
	idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
	size_t sl;
	const char *s;
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &sl);
		put_str(b, s, sl);
		return;
	case LUA_TNUMBER:
		put_num(b, lua_tonumber(L, idx), false);
		return;
	case LUA_TBOOLEAN:
		put_byte(b, lua_toboolean(L, idx) ? 0xc3 : 0xc2);
		return;
	case LUA_TTABLE:
		break;
	default:
		(void)is_null(L, cv, idx);  /* the sentinel, like anything else, is nil */
		put_byte(b, 0xc0);
		return;
	}
	if (depth >= FLT_LUA_DEPTH || !lua_checkstack(L, 4)) {
		put_byte(b, 0xc0);
		return;
	}
	size_t n = flt_lua_array_len(L, idx);
	bool empty_array = false;
	if (!n && as_array) {
		lua_pushnil(L);
		if (lua_next(L, idx))
			lua_pop(L, 2);
		else
			empty_array = true;
	}
	uint8_t *h;
	if (n || empty_array) {
		if (!(h = room(b, 5)))
			return;
		h[0] = 0xdd;
		be(h + 1, n, 4);
		for (size_t i = 1; i <= n; i++) {
			lua_rawgeti(L, idx, (int)i);
			flt_lua_encode(L, cv, -1, b, depth + 1, false);
			lua_pop(L, 1);
		}
		return;
	}
	if (!(h = room(b, 5)))
		return;
	size_t hoff = (size_t)(h - b->p);
	uint32_t count = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		/* keys as they are, converted in a copy (lua_tolstring on the
		 * key itself would confuse lua_next) */
		int kt = lua_type(L, -2);
		if ((kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN &&
		     kt != LUA_TTABLE) || (kt == LUA_TTABLE && depth + 1 >= FLT_LUA_DEPTH) ||
		    (lua_istable(L, -1) && depth + 1 >= FLT_LUA_DEPTH)) {
			/* a key that would be written as nil, or a value cut
			 * by the depth limit: no pair (as a nil value makes
			 * none in a Lua table) */
			lua_pop(L, 1);
			continue;
		}
		lua_pushvalue(L, -2);
		flt_lua_encode(L, cv, -1, b, depth + 1, false);
		flt_lua_encode(L, cv, -2, b, depth + 1, false);
		lua_pop(L, 2);
		count++;
	}
	if (!b->full) {
		b->p[hoff] = 0xdf;
		be(b->p + hoff + 1, count, 4);
	}
}

static bool key_listed(const struct flt_lua_keys *ks, const char *k, size_t n)
{
	for (unsigned i = 0; i < ks->n; i++)
		if (ks->len[i] == n && !memcmp(ks->k[i], k, n))
			return true;
	return false;
}

int flt_lua_encode_record(lua_State *L, const struct flt_lua_conv *cv, int idx,
			  struct flt_lua_buf *b, struct flt_lua_item *items, unsigned max)
{
	idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
	unsigned n = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		int kt = lua_type(L, -2);
		if (kt != LUA_TSTRING && kt != LUA_TNUMBER) {
			lua_pop(L, 1);
			continue;
		}
		if (n >= max) {
			lua_pop(L, 2);
			return -1;
		}
		char num[32];
		size_t kl;
		const char *k;
		if (kt == LUA_TNUMBER) {
			double d = lua_tonumber(L, -2);
			if (d == floor(d) && fabs(d) < 1e15)
				kl = (size_t)snprintf(num, sizeof(num), "%lld", (long long)d);
			else
				kl = (size_t)snprintf(num, sizeof(num), "%.14g", d);
			k = num;
		} else {
			k = lua_tolstring(L, -2, &kl);
		}
		if (kl > UINT16_MAX) {
			lua_pop(L, 1);
			continue;
		}
		struct flt_lua_item *it = &items[n];
		uint8_t *w = room(b, kl);
		if (!w) {
			lua_pop(L, 2);
			return -1;
		}
		memcpy(w, k, kl);
		it->koff = (uint32_t)(w - b->p);
		it->klen = (uint16_t)kl;
		it->voff = (uint32_t)b->len;
		if (lua_type(L, -1) == LUA_TNUMBER && key_listed(&cv->int_keys, k, kl))
			put_num(b, lua_tonumber(L, -1), true);
		else
			flt_lua_encode(L, cv, -1, b, 1, key_listed(&cv->array_keys, k, kl));
		if (b->full) {
			lua_pop(L, 2);
			return -1;
		}
		it->vlen = (uint32_t)(b->len - it->voff);
		it->type = (uint8_t)dp_mp_type_hdr(b->p[it->voff]);
		n++;
		lua_pop(L, 1);
	}
	return (int)n;
}
