/*
 * flt_test_util.h — building a filter from key/value pairs and checking
 * the records it leaves, for the filter unit tests (header-only; include
 * after cmocka.h and msgpack.h).
 *
 *   struct flt_t t;
 *   flt_t_init(&t, &flt_modify_ops);
 *   flt_kv(&t, "Rename", "Key2 RenamedKey");   // line 2, 3, ... of "test.conf"
 *   assert_int_equal(flt_setup(&t), 0);        // dp_opt_apply + setup + shard ctx
 *   flt_rec(&t, "Key1", "Value1", "Key2", "Value2", NULL);
 *   assert_int_equal(flt_run(&t), DP_FILTER_KEEP);
 *   flt_expect(&t, t.c.nrecs - 1, "Key1", "Value1", "RenamedKey", "Value2", NULL);
 *   flt_t_fini(&t);
 *
 * Expected values are text: strings as they are, integers in decimal,
 * booleans true/false, nil "nil"; anything else "?". flt_expect decodes the
 * record with msgpack-c (an independent reader) and checks the chunk's
 * index says the same.
 */
#ifndef FLT_TEST_UTIL_H
#define FLT_TEST_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dp_filter.h"

struct flt_t {
	const struct dp_filter_ops *ops;
	struct dp_conf *conf;
	struct dp_filter f;
	void *ctx;
	struct dp_err err;
	struct dp_fx fx;
	struct dp_chunk c;
	struct dp_rec *recs;
	struct dp_field *fields;
	uint8_t *data;
	int line;
	bool set_up;
};

static inline void flt_t_init(struct flt_t *t, const struct dp_filter_ops *ops)
{
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->conf = dp_conf_create();
	assert_non_null(t->conf);
	assert_non_null(dp_conf_section_add(t->conf, "FILTER", "test.conf", 1));
	t->line = 2;
	t->recs = calloc(DP_CHUNK_RECS, sizeof(*t->recs));
	t->fields = calloc(DP_CHUNK_FIELDS, sizeof(*t->fields));
	t->data = malloc(DP_CHUNK_DATA);
	assert_true(t->recs && t->fields && t->data);
	dp_chunk_init(&t->c, t->recs, t->fields, t->data);
	t->fx.c = &t->c;
	t->fx.tag = "test";
	t->fx.tag_len = 4;
}

/* Add "key val" as the next line of the section. */
static inline void flt_kv(struct flt_t *t, const char *k, const char *v)
{
	assert_int_equal(dp_conf_kv_add(t->conf, &t->conf->sec[0], k, v, "test.conf", t->line++), 0);
}

/* Apply the option tables, set the filter up and make shard 0's context.
 * 0, or setup's error (t->err.msg says it). */
static inline int flt_setup(struct flt_t *t)
{
	struct dp_filter *f = &t->f;
	f->ops = t->ops;
	snprintf(f->name, sizeof(f->name), "%s.0", t->ops->name);
	f->file = "test.conf";
	f->line = 1;
	f->emitter = -1;
	f->cfg = calloc(1, t->ops->cfg_size ? t->ops->cfg_size : 1);
	assert_non_null(f->cfg);
	const struct dp_opt *const tabs[] = { dp_filter_common_opts, t->ops->opts };
	void *const cfgs[] = { f, f->cfg };
	char what[64];
	snprintf(what, sizeof(what), "[FILTER] %s", t->ops->name);
	const char *const ignore[] = { "Name", NULL };
	int rc = dp_opt_apply(tabs, cfgs, 2, &t->conf->sec[0], what, ignore, &t->err);
	if (rc)
		return rc;
	f->sec = &t->conf->sec[0];
	rc = t->ops->setup(f, &t->err);
	f->sec = NULL;
	if (rc)
		return rc;
	t->set_up = true;
	t->ctx = t->ops->shard_ctx_create(f, 0);
	assert_non_null(t->ctx);
	return 0;
}

/* flt_setup must fail; its message must contain each of the strings. */
static inline void flt_setup_fails(struct flt_t *t, const char *want1, const char *want2)
{
	int rc = flt_setup(t);
	if (rc == 0 || (want1 && !strstr(t->err.msg, want1)) || (want2 && !strstr(t->err.msg, want2)))
		fail_msg("rc %d, message '%s', wanted '%s' and '%s'", rc, t->err.msg,
			 want1 ? want1 : "", want2 ? want2 : "");
}

static inline void flt_t_fini(struct flt_t *t)
{
	if (t->ctx)
		t->ops->shard_ctx_destroy(t->ctx);
	if (t->set_up && t->ops->teardown)
		t->ops->teardown(&t->f);
	if (t->f.cfg) {
		dp_opt_free(t->ops->opts, t->f.cfg);
		dp_opt_free(dp_filter_common_opts, &t->f);
		free(t->f.cfg);
	}
	dp_conf_destroy(t->conf);
	free(t->recs);
	free(t->fields);
	free(t->data);
}

/* Append a closed record of string pairs (key, value, ..., NULL). */
static inline void flt_rec(struct flt_t *t, ...)
{
	va_list ap;
	va_start(ap, t);
	dp_chunk_rec_begin(&t->c, 1700000000u, 5u);
	for (const char *k; (k = va_arg(ap, const char *));) {
		const char *v = va_arg(ap, const char *);
		dp_chunk_put_str(&t->c, k, strlen(k), v, strlen(v));
	}
	va_end(ap);
	assert_int_equal(dp_chunk_rec_end(&t->c), 0);
}

/* Run the filter on the tail record, as the shard does: drop it when
 * asked. */
static inline int flt_run(struct flt_t *t)
{
	int rc = t->ops->record(t->ctx, &t->fx);
	if (rc == DP_FILTER_DROP)
		dp_tail_drop(&t->c);
	return rc;
}

static inline void flt_obj_text(const msgpack_object *o, char *buf, size_t n)
{
	switch (o->type) {
	case MSGPACK_OBJECT_STR:
		snprintf(buf, n, "%.*s", (int)o->via.str.size, o->via.str.ptr);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		snprintf(buf, n, "%llu", (unsigned long long)o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		snprintf(buf, n, "%lld", (long long)o->via.i64);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		snprintf(buf, n, "%s", o->via.boolean ? "true" : "false");
		break;
	case MSGPACK_OBJECT_NIL:
		snprintf(buf, n, "nil");
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		snprintf(buf, n, "%g", o->via.f64);
		break;
	case MSGPACK_OBJECT_MAP:
	case MSGPACK_OBJECT_ARRAY: {
		/* {k=v,k=v} and [a,b], nested as deep as they go */
		bool map = o->type == MSGPACK_OBJECT_MAP;
		uint32_t cnt = map ? o->via.map.size : o->via.array.size;
		size_t w = (size_t)snprintf(buf, n, "%s", map ? "{" : "[");
		for (uint32_t i = 0; i < cnt && w < n; i++) {
			char part[400];
			if (map) {
				char k[200];
				flt_obj_text(&o->via.map.ptr[i].key, k, sizeof(k));
				flt_obj_text(&o->via.map.ptr[i].val, part, sizeof(part) - 1);
				w += (size_t)snprintf(buf + w, n - w, "%s%s=%s", i ? "," : "", k, part);
			} else {
				flt_obj_text(&o->via.array.ptr[i], part, sizeof(part));
				w += (size_t)snprintf(buf + w, n - w, "%s%s", i ? "," : "", part);
			}
		}
		if (w < n)
			snprintf(buf + w, n - w, "%s", map ? "}" : "]");
		break;
	}
	default:
		snprintf(buf, n, "?");
	}
}

/* Record idx must be exactly the pairs given (key, value, ..., NULL), in
 * this order, both as msgpack and in the index. */
static inline void flt_expect(struct flt_t *t, uint32_t idx, ...)
{
	const char *want[512];
	unsigned nw = 0;
	va_list ap;
	va_start(ap, idx);
	for (const char *s; (s = va_arg(ap, const char *)) && nw < 512;)
		want[nw++] = s;
	va_end(ap);

	assert_true(idx < t->c.nrecs);
	const struct dp_rec *r = &t->c.recs[idx];
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	assert_int_equal(msgpack_unpack_next(&u, (const char *)t->c.data + r->off, r->len, &off),
			 MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, r->len);
	assert_int_equal(u.data.type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(u.data.via.array.size, 2);
	const msgpack_object *m = &u.data.via.array.ptr[1];
	assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
	char got[8192] = "", buf[512];
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		char v[400];
		flt_obj_text(&m->via.map.ptr[i].val, v, sizeof(v));
		snprintf(buf, sizeof(buf), "%.*s=%s ", (int)m->via.map.ptr[i].key.via.str.size,
			 m->via.map.ptr[i].key.via.str.ptr, v);
		strncat(got, buf, sizeof(got) - strlen(got) - 1);
	}
	char exp[8192] = "";
	for (unsigned i = 0; i + 1 < nw; i += 2) {
		snprintf(buf, sizeof(buf), "%s=%.399s ", want[i], want[i + 1]);
		strncat(exp, buf, sizeof(exp) - strlen(exp) - 1);
	}
	assert_string_equal(got, exp);
	/* The index agrees with the bytes. */
	assert_int_equal(r->nfields, m->via.map.size);
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const struct dp_field *f = &t->c.fields[r->field0 + i];
		const msgpack_object *k = &m->via.map.ptr[i].key, *v = &m->via.map.ptr[i].val;
		assert_int_equal(f->key_len, k->via.str.size);
		assert_memory_equal(t->c.data + f->key_off, k->via.str.ptr, f->key_len);
		if (v->type == MSGPACK_OBJECT_STR) {
			assert_int_equal(f->type, DP_T_STR);
			assert_int_equal(f->val_len, v->via.str.size);
			assert_memory_equal(t->c.data + f->val_off, v->via.str.ptr, f->val_len);
		}
	}
	/* Records are contiguous: the next one starts where this one ends. */
	if (idx + 1 < t->c.nrecs)
		assert_int_equal(t->c.recs[idx + 1].off, r->off + r->len);
	else
		assert_int_equal(t->c.data_len, r->off + r->len);
	msgpack_unpacked_destroy(&u);
}

#endif
