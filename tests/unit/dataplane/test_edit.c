/*
 * test_edit.c — editing the tail record (dp_edit.h): after every edit the
 * record must still be one valid msgpack event (decoded by msgpack-c, an
 * independent reader), its index must agree with it key by key, and the
 * records before it must be untouched.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <msgpack.h>
#include "dp_edit.h"

static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA];

static struct dp_chunk *fresh(void)
{
	static struct dp_chunk c;
	dp_chunk_init(&c, recs, fields, data);
	return &c;
}

/* Record i as "k=v,k=v" (ints as numbers), checking msgpack against the
 * index on the way. */
static void render(struct dp_chunk *c, uint32_t i, char *out, size_t cap)
{
	msgpack_unpacked u;
	size_t off = 0;
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, (const char *)c->data + c->recs[i].off, c->recs[i].len, &off),
			 MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, c->recs[i].len);
	msgpack_object m = u.data.via.array.ptr[1];
	assert_int_equal(m.type, MSGPACK_OBJECT_MAP);
	assert_int_equal(m.via.map.size, c->recs[i].nfields);
	size_t n = 0;
	out[0] = 0;
	for (uint32_t j = 0; j < m.via.map.size; j++) {
		msgpack_object_kv *kv = &m.via.map.ptr[j];
		const struct dp_field *f = &c->fields[c->recs[i].field0 + j];
		assert_int_equal(kv->key.via.str.size, f->key_len);
		assert_memory_equal(kv->key.via.str.ptr, c->data + f->key_off, f->key_len);
		if (kv->val.type == MSGPACK_OBJECT_STR) {
			assert_int_equal(f->type, DP_T_STR);
			assert_int_equal(kv->val.via.str.size, f->val_len);
			assert_ptr_equal(kv->val.via.str.ptr, (const char *)c->data + f->val_off);
			n += (size_t)snprintf(out + n, cap - n, "%s%.*s=%.*s", j ? "," : "", (int)f->key_len,
					      (const char *)c->data + f->key_off, (int)f->val_len,
					      (const char *)c->data + f->val_off);
		} else {
			assert_int_equal(kv->val.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
			assert_int_equal(dp_field_int(c, f), (int64_t)kv->val.via.u64);
			n += (size_t)snprintf(out + n, cap - n, "%s%.*s=#%llu", j ? "," : "", (int)f->key_len,
					      (const char *)c->data + f->key_off, (unsigned long long)kv->val.via.u64);
		}
	}
	msgpack_unpacked_destroy(&u);
}

static void add_rec(struct dp_chunk *c, const char *tag)
{
	dp_chunk_rec_begin(c, 10, 20);
	dp_chunk_put_str(c, "tag", 3, tag, strlen(tag));
	dp_chunk_put_str(c, "log", 3, "hello world", 11);
	dp_chunk_put_int(c, "code", 4, 500);
	dp_chunk_put_str(c, "host", 4, "web-1", 5);
	assert_int_equal(dp_chunk_rec_end(c), 0);
}

static void expect(struct dp_chunk *c, uint32_t i, const char *want)
{
	char buf[512];
	render(c, i, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void test_remove(void **state)
{
	(void)state;
	struct dp_chunk *c = fresh();
	add_rec(c, "a");
	add_rec(c, "b");
	dp_tail_remove(c, 1);
	expect(c, 1, "tag=b,code=#500,host=web-1");
	dp_tail_remove(c, 2);
	expect(c, 1, "tag=b,code=#500");
	dp_tail_remove(c, 0);
	expect(c, 1, "code=#500");
	expect(c, 0, "tag=a,log=hello world,code=#500,host=web-1");
	assert_int_equal(c->nfields, 5);
	assert_int_equal(c->data_len, c->recs[1].off + c->recs[1].len);
}

static void test_rename_and_set(void **state)
{
	(void)state;
	struct dp_chunk *c = fresh();
	add_rec(c, "a");
	assert_int_equal(dp_tail_rename(c, 1, "message_with_a_much_longer_key_name_over_32", 43), 0);
	expect(c, 0, "tag=a,message_with_a_much_longer_key_name_over_32=hello world,code=#500,host=web-1");
	assert_int_equal(dp_tail_rename(c, 1, "m", 1), 0);
	expect(c, 0, "tag=a,m=hello world,code=#500,host=web-1");
	assert_int_equal(dp_tail_set_str(c, 2, "five hundred", 12), 0);
	expect(c, 0, "tag=a,m=hello world,code=five hundred,host=web-1");
	/* A value copied from another field of the same record. */
	const struct dp_field *h = dp_tail_field(c, 3);
	assert_int_equal(dp_tail_set_str(c, 0, (const char *)c->data + h->val_off, h->val_len), 0);
	expect(c, 0, "tag=web-1,m=hello world,code=five hundred,host=web-1");
	assert_int_equal(dp_tail_find(c, "code", 4), 2);
	assert_int_equal(dp_tail_find(c, "nope", 4), -1);
}

static void test_reopen_append_copy(void **state)
{
	(void)state;
	struct dp_chunk *c = fresh();
	add_rec(c, "a");
	add_rec(c, "b");
	dp_tail_reopen(c);
	assert_true(dp_chunk_rec_is_open(c));
	dp_chunk_put_str(c, "added", 5, "x", 1);
	dp_chunk_put_copy(c, "code2", 5, c, dp_tail_field(c, 2));
	dp_chunk_put_copy(c, "log2", 4, c, dp_tail_field(c, 1));
	/* Removing while open works on the builder's view. */
	dp_tail_remove(c, 0);
	assert_int_equal(dp_tail_close(c), 0);
	expect(c, 1, "log=hello world,code=#500,host=web-1,added=x,code2=#500,log2=hello world");
	assert_int_equal(c->recs[1].ts_sec, 10);
	assert_int_equal(c->recs[1].ts_nsec, 20);
	expect(c, 0, "tag=a,log=hello world,code=#500,host=web-1");
}

static void test_drop(void **state)
{
	(void)state;
	struct dp_chunk *c = fresh();
	add_rec(c, "a");
	uint32_t len = c->data_len, nf = c->nfields;
	add_rec(c, "b");
	dp_tail_drop(c);
	assert_int_equal(c->nrecs, 1);
	assert_int_equal(c->data_len, len);
	assert_int_equal(c->nfields, nf);
	add_rec(c, "c");
	expect(c, 1, "tag=c,log=hello world,code=#500,host=web-1");
	/* An open record is dropped as an abort. */
	dp_chunk_rec_begin(c, 1, 1);
	dp_chunk_put_str(c, "x", 1, "y", 1);
	dp_tail_drop(c);
	assert_false(dp_chunk_rec_is_open(c));
	assert_int_equal(c->nrecs, 2);
}

static void test_full(void **state)
{
	(void)state;
	struct dp_chunk *c = fresh();
	/* Fill the chunk nearly to the end, then grow the tail past it. */
	static char big[DP_CHUNK_DATA];
	memset(big, 'z', sizeof(big));
	dp_chunk_rec_begin(c, 1, 1);
	dp_chunk_put_str(c, "big", 3, big, DP_CHUNK_DATA - 200);
	assert_int_equal(dp_chunk_rec_end(c), 0);
	add_rec(c, "t");
	assert_int_equal(dp_tail_set_str(c, 1, big, 300), -ENOSPC);
	expect(c, 1, "tag=t,log=hello world,code=#500,host=web-1");
	dp_tail_reopen(c);
	dp_chunk_put_str(c, "more", 4, big, 500);
	assert_int_equal(dp_tail_close(c), -ENOSPC);
	assert_int_equal(c->nrecs, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_rename_and_set),
		cmocka_unit_test(test_reopen_append_copy),
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
