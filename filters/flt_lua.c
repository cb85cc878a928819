/*
 * flt_lua.c — Fluent Bit's `lua` filter: a Lua function called for every
 * record, `function cb(tag, timestamp, record)` returning
 * `code, timestamp, record`:
 *   -1  drop the record;
 *    0  keep it unchanged;
 *    1  replace the record and its timestamp;
 *    2  replace the record, keep the original timestamp.
 * The returned record may be an array of records: the first replaces the
 * record, the others are emitted (emitter_for_lua.N, same tag and time)
 * and go on through the filters after this one. Replacing the tail record
 * keeps the common case (one record) in place and in order; only the
 * extra records go through the emitter.
 *
 * Keys (Fluent Bit's): script (a file; a relative path is tried as given,
 * then next to the configuration file) or code (inline), call,
 * protected_mode, time_as_table, type_int_key, type_array_key,
 * enable_flb_null. The timestamp is a number (seconds with the fraction)
 * or, with time_as_table, a table {sec=, nsec=}.
 *
 * LuaJIT, as Fluent Bit uses, so its users' scripts (Lua 5.1 semantics,
 * numbers all doubles, the `bit` library) run unchanged. Speed did not
 * decide it: a one-line callback that adds a key to an 8-field table cost
 * about the same under LuaJIT 2.1 and Lua 5.4 (770-860 vs 780-1170 ns per
 * record, the C API's table building dominates; docs/BENCHMARKS.md).
 * One lua_State per shard, made in
 * shard_ctx_create: no lock, and a script's globals are per shard (as they
 * are per worker in Fluent Bit).
 *
 * Errors: a missing script or a `call` that is not a function is a
 * start-up error naming the key's FILE:LINE (setup loads the script in a
 * scratch state to check). A script error at run time keeps the record
 * unchanged, counts it and logs at most once per 10 s per shard. With
 * protected_mode off Fluent Bit aborts on such an error; sluice treats it
 * as protected, because one bad record must not take the dataplane down
 * (docs/OPERATIONS.md, Differences). A return code other than -1..2 keeps
 * the record unchanged (counted), as in Fluent Bit.
 *
 * The record is converted to a table and back (flt_lua_conv.c), into a
 * per-shard scratch buffer first, so a result that does not fit in the
 * chunk leaves the record unchanged (counted as nospace). Lua allocates
 * its strings and tables on its own heap per call; that is the price of
 * running a user's script.
 *
 * Threads: setup/teardown on the control thread; shard contexts and
 * lua_record on their shard.
 *
 * Threads: setup and teardown on the control thread; records on each shard,
 * with that shard's own Lua state.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <lauxlib.h>
#include <lualib.h>
#include "dp_filter.h"
#include "dp_log.h"
#include "flt_lua.h"
#include "flt_util.h"

struct lua_cfg {
	char *script, *call, *code, *type_int_key, *type_array_key;
	bool protected_mode, time_as_table, enable_flb_null;
};

static const struct dp_opt lua_opts[] = {
	{ "script", DP_OPT_STR, NULL, offsetof(struct lua_cfg, script), NULL, 0, 0, 0,
	  "path of the Lua script (relative: as given, else next to the configuration file)" },
	{ "call", DP_OPT_STR, NULL, offsetof(struct lua_cfg, call), NULL, 0, 0, DP_OPT_REQUIRED,
	  "the Lua function called per record: cb(tag, timestamp, record) -> code, timestamp, "
	  "record" },
	{ "code", DP_OPT_STR, NULL, offsetof(struct lua_cfg, code), NULL, 0, 0, 0,
	  "the Lua script inline, instead of script" },
	{ "protected_mode", DP_OPT_BOOL, "on", offsetof(struct lua_cfg, protected_mode), NULL, 0, 0,
	  0, "a script error keeps the record unchanged (counted, logged rate-limited); sluice "
	  "does this with the option off too" },
	{ "time_as_table", DP_OPT_BOOL, "off", offsetof(struct lua_cfg, time_as_table), NULL, 0, 0,
	  0, "pass the timestamp as a table {sec=, nsec=} instead of a number" },
	{ "type_int_key", DP_OPT_STR, NULL, offsetof(struct lua_cfg, type_int_key), NULL, 0, 0, 0,
	  "space-separated keys whose numbers are written as integers" },
	{ "type_array_key", DP_OPT_STR, NULL, offsetof(struct lua_cfg, type_array_key), NULL, 0, 0,
	  0, "space-separated keys whose tables are written as arrays (even when empty)" },
	{ "enable_flb_null", DP_OPT_BOOL, "off", offsetof(struct lua_cfg, enable_flb_null), NULL, 0,
	  0, 0, "pass msgpack nil as the global `flb_null` instead of nil (which drops the key)" },
	{ NULL },
};

struct lua_priv {
	char *path;             /* resolved script path, or NULL with code */
	const char *code;
	const char *call;
	bool time_as_table;
	struct flt_lua_conv cv; /* keys (null_ref is per state) */
};

#define LUA_MAX_ITEMS 4096

struct lua_shard {
	const struct lua_priv *p;
	const struct dp_filter *f;        /* its name and Log_Level, for log_error */
	lua_State *L;
	int fn_ref;
	int call_ref;                     /* lua_call_cb as a Lua function */
	struct flt_lua_conv cv;
	struct flt_lua_buf buf;           /* DP_CHUNK_DATA bytes */
	struct flt_lua_item *items;       /* LUA_MAX_ITEMS */
	unsigned nitems;
	uint32_t sec, nsec;               /* time of emitted records */
	struct dp_ratelimit rl;
	uint64_t errors;                  /* script errors: record kept */
	uint64_t bad_code;                /* unknown return code: record kept */
	uint64_t nospace;                 /* result did not fit: record kept */
	uint64_t emit_failed;             /* extra records the emitter refused */
	bool keep[UINT16_MAX];
} dp_cache_aligned;

static void keys_free(struct flt_lua_keys *ks)
{
	for (unsigned i = 0; i < ks->n; i++)
		free(ks->k[i]);
	free(ks->k);
	free(ks->len);
	memset(ks, 0, sizeof(*ks));
}

static int keys_parse(const char *s, struct flt_lua_keys *ks)
{
	if (!s)
		return 0;
	size_t n = strlen(s) / 2 + 1;
	ks->k = calloc(n, sizeof(*ks->k));
	ks->len = calloc(n, sizeof(*ks->len));
	if (!ks->k || !ks->len)
		return -ENOMEM;
	while (*s) {
		s += strspn(s, " \t,");
		size_t l = strcspn(s, " \t,");
		if (!l)
			break;
		if (!(ks->k[ks->n] = strndup(s, l)))
			return -ENOMEM;
		ks->len[ks->n++] = l;
		s += l;
	}
	return 0;
}

static void priv_free(struct lua_priv *p)
{
	if (!p)
		return;
	free(p->path);
	keys_free(&p->cv.int_keys);
	keys_free(&p->cv.array_keys);
	free(p);
}

/* A fresh state with the script run and the function on the registry:
 * NULL and a message in msg when something fails. */
static lua_State *state_new(const struct lua_priv *p, int *fn_ref, int *null_ref, char *msg,
			    size_t msgn)
{
	lua_State *L = luaL_newstate();
	if (!L) {
		snprintf(msg, msgn, "cannot create a Lua state");
		return NULL;
	}
	luaL_openlibs(L);
	lua_pushlightuserdata(L, (void *)&lua_opts);  /* any unique address */
	lua_pushvalue(L, -1);
	lua_setglobal(L, "flb_null");
	*null_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	int rc = p->path ? luaL_loadfile(L, p->path)
			 : luaL_loadbuffer(L, p->code, strlen(p->code), "code");
	if (rc || lua_pcall(L, 0, 0, 0)) {
		snprintf(msg, msgn, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
		lua_close(L);
		return NULL;
	}
	lua_getglobal(L, p->call);
	if (!lua_isfunction(L, -1)) {
		snprintf(msg, msgn, "no function '%s' in the script", p->call);
		lua_close(L);
		return NULL;
	}
	*fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return L;
}

static const struct dp_conf_kv *kv_find(const struct dp_conf_section *s, const char *k)
{
	const struct dp_conf_kv *found = NULL;
	for (unsigned i = 0; i < s->nkv; i++)
		if (!strcasecmp(s->kv[i].key, k))
			found = &s->kv[i];
	return found;
}

static char *script_resolve(const char *path, const char *conf_file)
{
	if (path[0] == '/' || access(path, R_OK) == 0 || !conf_file)
		return strdup(path);
	char *dup = strdup(conf_file);
	if (!dup)
		return NULL;
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s/%s", dirname(dup), path);
	free(dup);
	return strdup(access(buf, R_OK) == 0 ? buf : path);
}

static int lua_setup(struct dp_filter *f, struct dp_err *err)
{
	const struct lua_cfg *cfg = f->cfg;
	const struct dp_conf_section *s = f->sec;
	const struct dp_conf_kv *kscript = kv_find(s, "script"), *kcode = kv_find(s, "code"),
				*kcall = kv_find(s, "call");
	if (!cfg->script == !cfg->code)
		return kscript && kcode
			       ? dp_filter_kv_err(f, kcode, err, -EINVAL,
						  "code: script and code are exclusive")
			       : dp_filter_err(f, err, -EINVAL, "needs script or code");
	struct lua_priv *p = calloc(1, sizeof(*p));
	if (!p)
		return dp_filter_err(f, err, -ENOMEM, "out of memory");
	p->code = cfg->code;
	p->call = cfg->call;
	p->time_as_table = cfg->time_as_table;
	p->cv.flb_null = cfg->enable_flb_null;
	if ((cfg->script && !(p->path = script_resolve(cfg->script, f->file))) ||
	    keys_parse(cfg->type_int_key, &p->cv.int_keys) ||
	    keys_parse(cfg->type_array_key, &p->cv.array_keys)) {
		priv_free(p);
		return dp_filter_err(f, err, -ENOMEM, "out of memory");
	}
	if (p->path && access(p->path, R_OK) != 0) {
		int rc = dp_filter_kv_err(f, kscript, err, -ENOENT, "script: cannot read '%s': %s",
					  cfg->script, strerror(errno));
		priv_free(p);
		return rc;
	}
	char msg[160];
	int fn, nul;
	lua_State *L = state_new(p, &fn, &nul, msg, sizeof(msg));
	if (!L) {
		bool nofn = !strncmp(msg, "no function", 11);
		int rc = dp_filter_kv_err(f, nofn ? kcall : (kscript ? kscript : kcode), err, -EINVAL,
					  "%s: %s", nofn ? "call" : (kscript ? "script" : "code"),
					  msg);
		priv_free(p);
		return rc;
	}
	lua_close(L);
	f->priv = p;
	return 0;
}

static void lua_teardown(struct dp_filter *f)
{
	priv_free(f->priv);
	f->priv = NULL;
}

static int lua_call_cb(lua_State *L);

static void lua_shard_destroy(void *ctx)
{
	struct lua_shard *s = ctx;
	if (!s)
		return;
	if (s->L)
		lua_close(s->L);
	free(s->buf.p);
	free(s->items);
	free(s);
}

static void *lua_shard_create(struct dp_filter *f, unsigned shard)
{
	(void)shard;
	struct lua_shard *s = aligned_alloc(DP_CACHE_LINE, sizeof(*s));
	if (!s)
		return NULL;
	memset(s, 0, offsetof(struct lua_shard, keep));
	s->p = f->priv;
	s->f = f;
	s->cv = s->p->cv;
	s->buf.cap = DP_CHUNK_DATA;
	s->buf.p = malloc(DP_CHUNK_DATA);
	s->items = calloc(LUA_MAX_ITEMS, sizeof(*s->items));
	char msg[160];
	if (!s->buf.p || !s->items ||
	    !(s->L = state_new(s->p, &s->fn_ref, &s->cv.null_ref, msg, sizeof(msg)))) {
		lua_shard_destroy(s);
		return NULL;
	}
	lua_pushcfunction(s->L, lua_call_cb);
	s->call_ref = luaL_ref(s->L, LUA_REGISTRYINDEX);
	return s;
}

static void push_time(struct lua_shard *s, uint32_t sec, uint32_t nsec)
{
	lua_State *L = s->L;
	if (s->p->time_as_table) {
		lua_createtable(L, 0, 2);
		lua_pushnumber(L, sec);
		lua_setfield(L, -2, "sec");
		lua_pushnumber(L, nsec);
		lua_setfield(L, -2, "nsec");
	} else {
		lua_pushnumber(L, (double)sec + (double)nsec / 1e9);
	}
}

/* The returned timestamp at idx: a number or a {sec, nsec} table; false
 * when it is neither. */
static bool get_time(lua_State *L, int idx, uint32_t *sec, uint32_t *nsec)
{
	if (lua_type(L, idx) == LUA_TNUMBER) {
		double d = lua_tonumber(L, idx);
		if (!(d >= 0 && d < 4294967296.0))
			return false;
		double whole = floor(d);
		*sec = (uint32_t)whole;
		uint32_t ns = (uint32_t)llround((d - whole) * 1e9);
		*nsec = ns > 999999999u ? 999999999u : ns;
		return true;
	}
	if (lua_type(L, idx) != LUA_TTABLE)
		return false;
	idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
	lua_getfield(L, idx, "sec");
	lua_getfield(L, idx, "nsec");
	double a = lua_tonumber(L, -2), b = lua_tonumber(L, -1);
	lua_pop(L, 2);
	if (!(a >= 0 && a < 4294967296.0) || !(b >= 0 && b < 1e9))
		return false;
	*sec = (uint32_t)a;
	*nsec = (uint32_t)b;
	return true;
}

static void put_items(struct dp_chunk *c, const struct lua_shard *s)
{
	for (unsigned i = 0; i < s->nitems; i++) {
		const struct flt_lua_item *it = &s->items[i];
		dp_chunk_field_begin(c, (const char *)s->buf.p + it->koff, it->klen);
		dp_chunk_write(c, s->buf.p + it->voff, it->vlen);
		dp_chunk_field_end(c, (enum dp_type)it->type);
	}
}

static int build_emitted(struct dp_chunk *c, void *arg)
{
	put_items(c, arg);
	return 0;
}

/* Encode the record table at idx into the scratch buffer. */
static bool encode(struct lua_shard *s, int idx)
{
	s->buf.len = 0;
	s->buf.full = false;
	int n = flt_lua_encode_record(s->L, &s->cv, idx, &s->buf, s->items, LUA_MAX_ITEMS);
	s->nitems = n < 0 ? 0 : (unsigned)n;
	return n >= 0;
}

/* Replace the tail record's fields with the encoded ones (and its time). */
static bool replace(struct lua_shard *s, struct dp_chunk *c, bool set_time, uint32_t sec,
		    uint32_t nsec)
{
	unsigned n = dp_tail_nfields(c);
	if (!flt_room(c, s->buf.len + 10 * (size_t)s->nitems,
		      s->nitems > n ? s->nitems - n : 0)) {
		s->nospace++;
		return false;
	}
	memset(s->keep, 0, n * sizeof(bool));
	flt_tail_compact(c, s->keep);
	bool r = flt_append_begin(c);
	if (set_time)
		dp_chunk_rec_set_time(c, sec, nsec);
	put_items(c, s);
	flt_append_end(c, r);
	return true;
}

/* At error level, as Fluent Bit's filter_lua/lua.c logs a script error
 * or an unexpected return code (flb_plg_error), under the filter's own
 * Log_Level; at most once per 10 s per shard, with the count so far. */
static void log_error(struct lua_shard *s, struct dp_fx *fx, const char *what)
{
	if (dp_ratelimit_ok(&s->rl, fx->now_ns, 10ull * 1000000000ull))
		dp_plg_error(s->f, "shard %u: %s (%llu errors so far; records kept unchanged)",
			     fx->shard, what, (unsigned long long)(s->errors + s->bad_code));
}

struct lua_call_arg {
	struct lua_shard *s;
	struct dp_fx *fx;
	uint32_t sec, nsec;
};

/* Runs protected: cb(tag, timestamp, record) with its 3 results. */
static int lua_call_cb(lua_State *L)
{
	const struct lua_call_arg *a = lua_touserdata(L, 1);
	lua_settop(L, 0);
	lua_rawgeti(L, LUA_REGISTRYINDEX, a->s->fn_ref);
	lua_pushlstring(L, a->fx->tag, a->fx->tag_len);
	push_time(a->s, a->sec, a->nsec);
	flt_lua_push_record(L, &a->s->cv, a->fx->c);
	lua_call(L, 3, 3);
	return 3;
}

static int lua_record(void *ctx, struct dp_fx *fx)
{
	struct lua_shard *s = ctx;
	lua_State *L = s->L;
	struct dp_chunk *c = fx->c;
	const struct dp_rec *r = dp_tail(c);
	uint32_t sec = r->ts_sec, nsec = r->ts_nsec;
	int top = lua_gettop(L);

	/* The record is made into a table inside the protected call too: a
	 * memory error while building it must not reach Lua's panic
	 * handler (which aborts). */
	struct lua_call_arg a = { s, fx, sec, nsec };
	lua_rawgeti(L, LUA_REGISTRYINDEX, s->call_ref);
	lua_pushlightuserdata(L, &a);
	if (lua_pcall(L, 1, 3, 0)) {
		s->errors++;
		log_error(s, fx, lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
		lua_settop(L, top);
		return DP_FILTER_KEEP;
	}
	int code = lua_type(L, -3) == LUA_TNUMBER ? (int)lua_tonumber(L, -3) : -100;
	int rc = DP_FILTER_KEEP;
	if (code == -1) {
		rc = DP_FILTER_DROP;
	} else if (code == 1 || code == 2) {
		if (code == 1 && !get_time(L, -2, &sec, &nsec)) {
			s->bad_code++;
			log_error(s, fx, "code 1 with a timestamp that is neither a number nor a table");
		} else if (lua_type(L, -1) != LUA_TTABLE) {
			s->bad_code++;
			log_error(s, fx, "the returned record is not a table");
		} else {
			size_t n = flt_lua_array_len(L, -1);
			bool many = false;
			if (n) {
				/* an array of records? (every element a table) */
				many = true;
				for (size_t i = 1; i <= n && many; i++) {
					lua_rawgeti(L, -1, (int)i);
					many = lua_type(L, -1) == LUA_TTABLE;
					lua_pop(L, 1);
				}
			}
			if (!many) {
				if (encode(s, -1))
					replace(s, c, code == 1, sec, nsec);
				else
					s->nospace++;
			} else {
				for (size_t i = 2; i <= n; i++) {
					lua_rawgeti(L, -1, (int)i);
					if (encode(s, -1) &&
					    dp_fx_emit(fx, NULL, 0, sec, nsec, build_emitted, s))
						s->emit_failed++;
					lua_pop(L, 1);
				}
				lua_rawgeti(L, -1, 1);
				if (encode(s, -1))
					replace(s, c, code == 1, sec, nsec);
				else
					s->nospace++;
				lua_pop(L, 1);
			}
		}
	} else if (code != 0) {
		s->bad_code++;
		log_error(s, fx, "the callback returned a code other than -1, 0, 1 or 2");
	}
	lua_settop(L, top);
	return rc;
}

const struct dp_filter_ops flt_lua_ops = {
	.name = "lua",
	.desc = "run a Lua function on every record (Fluent Bit's lua, LuaJIT)",
	.opts = lua_opts,
	.cfg_size = sizeof(struct lua_cfg),
	.setup = lua_setup,
	.shard_ctx_create = lua_shard_create,
	.shard_ctx_destroy = lua_shard_destroy,
	.record = lua_record,
	.teardown = lua_teardown,
	.emits = true,
};
