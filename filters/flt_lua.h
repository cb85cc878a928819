/*
 * flt_lua.h — the msgpack <-> Lua conversion of the `lua` filter
 * (flt_lua_conv.c), apart so the unit tests and the fuzz target drive it
 * without a shard.
 *
 * msgpack to Lua: map -> table, array -> table 1..n, str/bin -> string,
 * int/float -> number (LuaJIT numbers are doubles, as in Fluent Bit),
 * bool -> boolean, nil -> nil (or the `flb_null` sentinel when
 * enable_flb_null is on), ext -> nil.
 * Lua to msgpack, as Fluent Bit's flb_lua_tomsgpack does: a number that is
 * integral (and fits an int64) becomes an integer, any other a float; a
 * table whose keys are exactly 1..n (n > 0) is an array, any other a map
 * (an empty table is a map unless its key is a type_array_key); a string
 * is a str; a number-valued top-level key listed in type_int_key is an
 * integer (truncated). Functions, userdata and threads become nil.
 *
 * Threads: the shard that owns the lua_State.
 */
#ifndef FLT_LUA_H
#define FLT_LUA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <lua.h>
#include "dp_chunk.h"

/* Nesting deeper than this is written as nil (a table that contains
 * itself must not recurse forever). */
#define FLT_LUA_DEPTH 64

struct flt_lua_keys {
	char **k;
	size_t *len;
	unsigned n;
};

/* A byte buffer the encoder writes into; full is sticky. */
struct flt_lua_buf {
	uint8_t *p;
	size_t len, cap;
	bool full;
};

/* One top-level field of an encoded record: key and value bytes in buf. */
struct flt_lua_item {
	uint32_t koff, voff, vlen;
	uint16_t klen;
	uint8_t type;          /* enum dp_type */
};

struct flt_lua_conv {
	struct flt_lua_keys int_keys, array_keys;
	bool flb_null;          /* push nil as the flb_null sentinel */
	int null_ref;           /* LUA_REGISTRYINDEX ref of the sentinel */
};

/* Push the msgpack object at p (n bytes) as a Lua value; returns its size
 * in bytes, or 0 when it is malformed (nothing pushed). */
size_t flt_lua_push_mp(lua_State *L, const struct flt_lua_conv *cv, const uint8_t *p, size_t n,
		       unsigned depth);
/* Push the tail record of c as a table. */
void flt_lua_push_record(lua_State *L, const struct flt_lua_conv *cv, struct dp_chunk *c);
/* Encode the table at idx as a record's fields into b and items (at most
 * max); returns the number of items, or -1 when it does not fit. Keys that
 * are numbers become their decimal text; other non-string keys are
 * skipped. */
int flt_lua_encode_record(lua_State *L, const struct flt_lua_conv *cv, int idx,
			  struct flt_lua_buf *b, struct flt_lua_item *items, unsigned max);
/* Encode any Lua value at idx as one msgpack object. */
void flt_lua_encode(lua_State *L, const struct flt_lua_conv *cv, int idx, struct flt_lua_buf *b,
		    unsigned depth, bool as_array);
/* Is the table at idx an array (keys exactly 1..n, n > 0)? Its n, or 0. */
size_t flt_lua_array_len(lua_State *L, int idx);

#endif
