/*
 * fuzz_lua.c — libFuzzer target for the lua filter's record conversion
 * (filters/flt_lua_conv.c): msgpack bytes -> Lua value -> msgpack.
 *
 * Any input: pushing never reads past the input and either fails cleanly
 * (0) or pushes exactly one value; encoding it gives one well-formed
 * msgpack object; and a second round trip of that output is well-formed
 * too and has the same size (numbers, strings and shapes survive; only a
 * map's order may differ, Lua tables have none). A map also goes through
 * the record encoder (top-level fields). Single-threaded, one lua_State.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "flt_lua.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

static lua_State *L;
static struct flt_lua_conv cv;
static uint8_t out[2][1 << 20];
static struct flt_lua_item items[4096];

static size_t round_trip(const uint8_t *in, size_t n, uint8_t *dst, size_t cap)
{
	int top = lua_gettop(L);
	size_t used = flt_lua_push_mp(L, &cv, in, n, 0);
	if (!used) {
		CHECK(lua_gettop(L) == top);
		return 0;
	}
	CHECK(used <= n && used == dp_mp_object_size(in, n));
	CHECK(lua_gettop(L) == top + 1);
	struct flt_lua_buf b = { dst, 0, cap, false };
	flt_lua_encode(L, &cv, -1, &b, 0, false);
	if (lua_istable(L, -1)) {
		static uint8_t rec[1 << 20];
		struct flt_lua_buf rb = { rec, 0, sizeof(rec), false };
		int k = flt_lua_encode_record(L, &cv, -1, &rb, items, 4096);
		for (int i = 0; i < k; i++) {
			CHECK(items[i].voff + items[i].vlen <= rb.len);
			CHECK(dp_mp_object_size(rec + items[i].voff, items[i].vlen) == items[i].vlen);
		}
	}
	lua_settop(L, top);
	if (b.full)
		return 0;
	CHECK(dp_mp_object_size(dst, b.len) == b.len);
	return b.len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!L) {
		L = luaL_newstate();
		luaL_openlibs(L);
		lua_pushlightuserdata(L, &cv);
		cv.null_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	}
	/* the first byte picks the options */
	if (!size)
		return 0;
	cv.flb_null = data[0] & 1;
	size_t n1 = round_trip(data + 1, size - 1, out[0], sizeof(out[0]));
	if (n1) {
		size_t n2 = round_trip(out[0], n1, out[1], sizeof(out[1]));
		if (n2 != n1 && getenv("FUZZ_DEBUG")) {
			for (size_t i = 0; i < n1; i++) fprintf(stderr, "%02x", out[0][i]);
			fprintf(stderr, "\n");
			for (size_t i = 0; i < n2; i++) fprintf(stderr, "%02x", out[1][i]);
			fprintf(stderr, "\n");
		}
		CHECK(n2 == n1);
	}
	lua_gc(L, LUA_GCSTEP, 0);
	return 0;
}
