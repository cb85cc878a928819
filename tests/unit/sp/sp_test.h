/*
 * sp_test.h — helpers shared by the stream processor's unit tests: an
 * engine from [STREAM_TASK] sections built in memory, records written
 * into a chunk, a fake dp_fx emit that appends results to a chunk (and
 * remembers their tags), and msgpack-c to read results back.
 */
#ifndef SP_TEST_H
#define SP_TEST_H

#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>
#include "dp_conf.h"
#include "sp.h"

#define T_MAXTASK 8

/* Build an engine from (name, exec) pairs; NULL with err on failure. */
static inline struct sp_engine *t_engine(const char *const *names, const char *const *execs,
					 unsigned n, unsigned nshards, struct dp_err *err)
{
	struct dp_conf *conf = dp_conf_create();
	for (unsigned i = 0; i < n; i++) {
		struct dp_conf_section *s = dp_conf_section_add(conf, "STREAM_TASK", "streams.conf",
								 (int)(1 + 4 * i));
		dp_conf_kv_add(conf, s, "Name", names[i], "streams.conf", (int)(2 + 4 * i));
		dp_conf_kv_add(conf, s, "Exec", execs[i], "streams.conf", (int)(3 + 4 * i));
	}
	const struct dp_conf_section *secs[T_MAXTASK];
	for (unsigned i = 0; i < n; i++)
		secs[i] = &conf->sec[i];
	memset(err, 0, sizeof(*err));
	struct sp_engine *e = sp_engine_create(secs, n, nshards, err);
	dp_conf_destroy(conf);
	return e;
}

/* ---- results ---- */

struct t_out {
	struct dp_chunk c;
	char tags[DP_CHUNK_RECS][64];
};

static struct dp_rec t_out_recs[DP_CHUNK_RECS];
static struct dp_field t_out_fields[DP_CHUNK_FIELDS];
static uint8_t t_out_data[DP_CHUNK_DATA];
static struct t_out t_out;

static inline void t_out_reset(void)
{
	dp_chunk_init(&t_out.c, t_out_recs, t_out_fields, t_out_data);
}

static inline int t_emit(struct dp_fx *fx, const char *tag, size_t tag_len, uint32_t sec,
			 uint32_t nsec, dp_build_fn build, void *arg)
{
	(void)fx;
	dp_chunk_rec_begin(&t_out.c, sec, nsec);
	if (build(&t_out.c, arg)) {
		dp_chunk_rec_abort(&t_out.c);
		return -EINVAL;
	}
	if (dp_chunk_rec_end(&t_out.c))
		return -EINVAL;
	snprintf(t_out.tags[t_out.c.nrecs - 1], 64, "%.*s", (int)tag_len, tag);
	return 0;
}

/* Decode result i with msgpack-c: the [time, map] event. */
static inline msgpack_object t_result(msgpack_unpacked *u, unsigned i)
{
	const struct dp_rec *r = &t_out.c.recs[i];
	msgpack_unpacked_init(u);
	size_t off = 0;
	msgpack_unpack_return rc = msgpack_unpack_next(u, (const char *)t_out.c.data + r->off, r->len,
						       &off);
	if (rc != MSGPACK_UNPACK_SUCCESS || u->data.type != MSGPACK_OBJECT_ARRAY ||
	    u->data.via.array.size != 2 || u->data.via.array.ptr[1].type != MSGPACK_OBJECT_MAP) {
		msgpack_object nil = { .type = MSGPACK_OBJECT_NIL };
		return nil;
	}
	return u->data.via.array.ptr[1];
}

static inline const msgpack_object *t_get(const msgpack_object *map, const char *k)
{
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object_kv *kv = &map->via.map.ptr[i];
		if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(k) &&
		    memcmp(kv->key.via.str.ptr, k, kv->key.via.str.size) == 0)
			return &kv->val;
	}
	return NULL;
}

static inline double t_num(const msgpack_object *o)
{
	if (!o)
		return -1e300;
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER: return (double)o->via.u64;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return (double)o->via.i64;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: return o->via.f64;
	default: return -1e300;
	}
}

static inline bool t_str_eq(const msgpack_object *o, const char *s)
{
	return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
	       memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

#endif
