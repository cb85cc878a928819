/*
 * test_chunk.c — the record model: what the builder writes must be valid
 * msgpack in Fluent Bit's event layout (decoded here by msgpack-c, an
 * independent reader), the index must agree with it, and a full chunk
 * must roll back cleanly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <sys/uio.h>
#include <cmocka.h>
#include <msgpack.h>
#include "dp_chunk.h"

static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA];

static struct dp_chunk *fresh(void)
{
	static struct dp_chunk c;
	dp_chunk_init(&c, recs, fields, data);
	return &c;
}

/* Decode event i with msgpack-c and return its map, checking the layout. */
static msgpack_object decode(struct dp_chunk *c, uint32_t i, msgpack_unpacked *u, uint32_t *sec, uint32_t *nsec)
{
	size_t off = 0;
	msgpack_unpacked_init(u);
	int rc = msgpack_unpack_next(u, (const char *)c->data + c->recs[i].off, c->recs[i].len, &off);
	assert_int_equal(rc, MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, c->recs[i].len);
	msgpack_object ev = u->data;
	assert_int_equal(ev.type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(ev.via.array.size, 2);
	msgpack_object t = ev.via.array.ptr[0];
	assert_int_equal(t.type, MSGPACK_OBJECT_EXT);
	assert_int_equal(t.via.ext.type, 0);
	assert_int_equal(t.via.ext.size, 8);
	const uint8_t *p = (const uint8_t *)t.via.ext.ptr;
	*sec = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	*nsec = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	assert_int_equal(ev.via.array.ptr[1].type, MSGPACK_OBJECT_MAP);
	return ev.via.array.ptr[1];
}

static void test_scalars(void **state)
{
	(void)state;
	struct dp_chunk *c = fresh();
	dp_chunk_rec_begin(c, 1700000000, 123456789);
	dp_chunk_put_str(c, "msg", 3, "hello", 5);
	dp_chunk_put_int(c, "neg", 3, -5);
	dp_chunk_put_int(c, "big", 3, 1ll << 40);
	dp_chunk_put_int(c, "min", 3, INT64_MIN);
	dp_chunk_put_double(c, "pi", 2, 3.25);
	dp_chunk_put_bool(c, "ok", 2, true);
	dp_chunk_put_nil(c, "none", 4);
	assert_int_equal(dp_chunk_rec_end(c), 0);
	assert_int_equal(c->nrecs, 1);
	assert_int_equal(c->recs[0].nfields, 7);
	assert_int_equal(c->recs[0].ts_sec, 1700000000);
	assert_int_equal(c->recs[0].ts_nsec, 123456789);

	msgpack_unpacked u;
	uint32_t sec, nsec;
	msgpack_object m = decode(c, 0, &u, &sec, &nsec);
	assert_int_equal(sec, 1700000000);
	assert_int_equal(nsec, 123456789);
	assert_int_equal(m.via.map.size, 7);
	assert_memory_equal(m.via.map.ptr[0].key.via.str.ptr, "msg", 3);
	assert_memory_equal(m.via.map.ptr[0].val.via.str.ptr, "hello", 5);
	assert_int_equal(m.via.map.ptr[1].val.via.i64, -5);
	assert_int_equal(m.via.map.ptr[2].val.via.u64, 1ull << 40);
	assert_true(m.via.map.ptr[3].val.via.i64 == INT64_MIN);
	assert_true(m.via.map.ptr[4].val.via.f64 == 3.25);
	assert_true(m.via.map.ptr[5].val.via.boolean);
	assert_int_equal(m.via.map.ptr[6].val.type, MSGPACK_OBJECT_NIL);
	msgpack_unpacked_destroy(&u);

	/* The index reads the same values without msgpack-c. */
	const struct dp_rec *r = &c->recs[0];
	const struct dp_field *f = dp_rec_field_get(c, r, "msg", 3);
	assert_non_null(f);
	assert_int_equal(f->type, DP_T_STR);
	assert_memory_equal(dp_field_val(c, f), "hello", 5);
	assert_int_equal(dp_field_int(c, dp_rec_field_get(c, r, "neg", 3)), -5);
	assert_int_equal(dp_rec_field_get(c, r, "neg", 3)->type, DP_T_INT);
	assert_int_equal(dp_field_int(c, dp_rec_field_get(c, r, "big", 3)), 1ll << 40);
	assert_int_equal(dp_rec_field_get(c, r, "big", 3)->type, DP_T_UINT);
	assert_true(dp_field_double(c, dp_rec_field_get(c, r, "pi", 2)) == 3.25);
	assert_true(dp_field_bool(c, dp_rec_field_get(c, r, "ok", 2)));
	assert_int_equal(dp_rec_field_get(c, r, "none", 4)->type, DP_T_NIL);
	assert_null(dp_rec_field_get(c, r, "nope", 4));
	/* The whole data is a sequence of complete objects. */
	assert_int_equal(dp_mp_object_size(c->data, c->data_len), c->data_len);
}

static void test_string_sizes(void **state)
{
	(void)state;
	static char big[70000];
	memset(big, 'x', sizeof(big));
	size_t sizes[] = { 0, 1, 31, 32, 255, 256, 65535, 65536, 70000 };
	for (unsigned i = 0; i < DP_ARRAY_SIZE(sizes); i++) {
		/* Every header width: fixstr, str8, str16, str32. */
		struct dp_chunk *c = fresh();
		dp_chunk_rec_begin(c, 0, 0);
		dp_chunk_put_str(c, "k", 1, big, sizes[i]);
		assert_int_equal(dp_chunk_rec_end(c), 0);
		msgpack_unpacked u;
		uint32_t s, ns;
		msgpack_object m = decode(c, 0, &u, &s, &ns);
		assert_int_equal(m.via.map.ptr[0].val.via.str.size, sizes[i]);
		assert_int_equal(c->fields[c->recs[0].field0].val_len, sizes[i]);
		msgpack_unpacked_destroy(&u);
	}
}

static void test_nested_and_patch(void **state)
{
	(void)state;
	struct dp_chunk *c = fresh();
	dp_chunk_rec_begin(c, 5, 6);
	dp_chunk_field_begin(c, "obj", 3);
	uint32_t m = dp_mp_map_open(c);
	dp_mp_str(c, "a", 1);
	dp_mp_int(c, 1);
	dp_mp_str(c, "arr", 3);
	uint32_t a = dp_mp_array_open(c);
	dp_mp_bool(c, false);
	dp_mp_double(c, -0.5);
	dp_mp_nil(c);
	dp_mp_container_patch(c, a, 3);
	dp_mp_container_patch(c, m, 2);
	dp_chunk_field_end(c, DP_T_MAP);
	dp_chunk_field_begin(c, "esc", 3);
	uint32_t h = dp_mp_str_open(c, 40);
	dp_chunk_write(c, "short", 5);
	dp_mp_str_patch(c, h, 5);
	dp_chunk_field_end(c, DP_T_STR);
	dp_chunk_rec_set_time(c, 7, 8);
	assert_int_equal(dp_chunk_rec_end(c), 0);
	assert_int_equal(c->recs[0].ts_sec, 7);
	assert_int_equal(c->recs[0].ts_nsec, 8);

	msgpack_unpacked u;
	uint32_t s, ns;
	msgpack_object map = decode(c, 0, &u, &s, &ns);
	assert_int_equal(s, 7);
	msgpack_object obj = map.via.map.ptr[0].val;
	assert_int_equal(obj.type, MSGPACK_OBJECT_MAP);
	assert_int_equal(obj.via.map.size, 2);
	msgpack_object arr = obj.via.map.ptr[1].val;
	assert_int_equal(arr.via.array.size, 3);
	assert_true(arr.via.array.ptr[1].via.f64 == -0.5);
	assert_int_equal(map.via.map.ptr[1].val.via.str.size, 5);
	msgpack_unpacked_destroy(&u);

	const struct dp_field *f = dp_rec_field_get(c, &c->recs[0], "obj", 3);
	assert_int_equal(f->type, DP_T_MAP);
	assert_int_equal(dp_mp_object_size(c->data + f->val_off, f->val_len), f->val_len);
	f = dp_rec_field_get(c, &c->recs[0], "esc", 3);
	assert_int_equal(f->val_len, 5);
	assert_memory_equal(dp_field_val(c, f), "short", 5);
}

static void test_abort_and_overflow(void **state)
{
	(void)state;
	struct dp_chunk *c = fresh();
	dp_chunk_rec_begin(c, 1, 1);
	dp_chunk_put_str(c, "a", 1, "b", 1);
	assert_int_equal(dp_chunk_rec_end(c), 0);
	uint32_t len = c->data_len, nf = c->nfields;

	/* Abort leaves the chunk as it was. */
	dp_chunk_rec_begin(c, 2, 2);
	dp_chunk_put_str(c, "x", 1, "y", 1);
	dp_chunk_rec_abort(c);
	assert_int_equal(c->data_len, len);
	assert_int_equal(c->nfields, nf);
	assert_int_equal(c->nrecs, 1);

	/* Fill until the data runs out: the failing record leaves no trace. */
	static char v[1000];
	memset(v, 'v', sizeof(v));
	int rc;
	unsigned n = 1;
	for (;;) {
		uint32_t before = c->data_len, fbefore = c->nfields;
		dp_chunk_rec_begin(c, 3, 3);
		dp_chunk_put_str(c, "k", 1, v, sizeof(v));
		rc = dp_chunk_rec_end(c);
		if (rc) {
			assert_int_equal(rc, -ENOSPC);
			assert_int_equal(c->data_len, before);
			assert_int_equal(c->nfields, fbefore);
			break;
		}
		n++;
	}
	assert_int_equal(c->nrecs, n);
	assert_true(n > DP_CHUNK_DATA / 1100);
	/* The data is exactly the records, back to back. */
	size_t off = 0;
	for (uint32_t i = 0; i < c->nrecs; i++) {
		assert_int_equal(c->recs[i].off, off);
		off += dp_mp_object_size(c->data + off, c->data_len - off);
	}
	assert_int_equal(off, c->data_len);

	/* Fill the index (many small fields) instead of the data. */
	c = fresh();
	for (;;) {
		dp_chunk_rec_begin(c, 0, 0);
		for (int i = 0; i < 100; i++)
			dp_chunk_put_int(c, "i", 1, i);
		if (dp_chunk_rec_end(c))
			break;
	}
	assert_int_equal(c->nrecs, DP_CHUNK_FIELDS / 100);
	assert_int_equal(c->nfields, c->nrecs * 100);

	/* Reset forgets everything. */
	dp_chunk_reset(c);
	assert_true(dp_chunk_is_empty(c));
	assert_int_equal(c->data_len, 0);
}

static void test_object_size_rejects_truncation(void **state)
{
	(void)state;
	struct dp_chunk *c = fresh();
	dp_chunk_rec_begin(c, 0, 0);
	dp_chunk_put_str(c, "key", 3, "value", 5);
	dp_chunk_put_int(c, "n", 1, 100000);
	assert_int_equal(dp_chunk_rec_end(c), 0);
	for (uint32_t cut = 0; cut < c->data_len; cut++)
		assert_int_equal(dp_mp_object_size(c->data, cut), 0);
	assert_int_equal(dp_mp_object_size(c->data, c->data_len), c->data_len);
	const uint8_t never_used = 0xc1;
	assert_int_equal(dp_mp_object_size(&never_used, 1), 0);
}

/* dp_copy of every length 0..200 with the source's last byte and the
 * destination's last byte against an unmapped page: a read or write past
 * either end faults. The bytes before the destination stay untouched and
 * the copy equals memcpy's. */
static void test_copy_page_end(void **state)
{
	(void)state;
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *a = mmap(NULL, (size_t)pg * 4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(a != MAP_FAILED);
	assert_int_equal(mprotect(a + pg, (size_t)pg, PROT_NONE), 0);
	assert_int_equal(mprotect(a + 3 * pg, (size_t)pg, PROT_NONE), 0);
	uint8_t *src_end = a + pg, *dst_end = a + 3 * pg;
	for (size_t i = 0; i < (size_t)pg; i++)
		a[i] = (uint8_t)(i * 7 + 3);
	for (size_t n = 0; n <= 200; n++) {
		memset(a + 2 * pg, 0xee, (size_t)pg);
		dp_copy(dst_end - n, src_end - n, n);
		assert_memory_equal(dst_end - n, src_end - n, n);
		for (size_t i = 0; i < (size_t)pg - n; i++)
			if (a[2 * pg + i] != 0xee)
				fail_msg("n %zu: byte %zu before the destination written", n, i);
		/* and from the page's start: nothing read or written before */
		memset(a + 2 * pg, 0xee, (size_t)pg);
		dp_copy(a + 2 * pg, a, n);
		assert_memory_equal(a + 2 * pg, a, n);
		if (n < (size_t)pg)
			assert_int_equal(a[2 * pg + n], 0xee);
	}
	munmap(a, (size_t)pg * 4);
}

/* The same string fields through dp_chunk_put_str, through dp_puts with
 * its per-field checks, and after dp_puts_room without them (with and
 * without v_end slack) give the same bytes and the same index, at value
 * lengths around each header and copy size boundary. */
static void test_puts_same_bytes(void **state)
{
	(void)state;
	static const size_t lens[] = { 0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 300 };
	enum { NL = sizeof(lens) / sizeof(lens[0]) };
	static char src[400];
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (char)('a' + i % 26);
	static uint8_t ref[DP_CHUNK_DATA];
	static struct dp_field ref_f[DP_CHUNK_FIELDS];
	for (int mode = 0; mode < 4; mode++) {
		struct dp_chunk *c = fresh();
		dp_chunk_rec_begin(c, 1, 2);
		if (mode == 0) {
			for (int i = 0; i < NL; i++)
				dp_chunk_put_str(c, "keyxy", 3 + (size_t)(i % 3), src + i, lens[i]);
		} else {
			struct dp_puts w;
			dp_chunk_puts_begin(c, &w);
			size_t bytes = 0;
			for (int i = 0; i < NL; i++)
				bytes += 3 + (size_t)(i % 3) + lens[i];
			assert_true(dp_puts_room(&w, bytes, NL));
			for (int i = 0; i < NL; i++) {
				const char *k = "keyxy", *v = src + i;
				size_t kl = 3 + (size_t)(i % 3);
				if (mode == 1)
					dp_puts_str(&w, k, kl, v, lens[i]);
				else
					dp_puts_str_nocheck(&w, k, kl, v, lens[i], mode == 3 ? src + sizeof(src) : NULL);
			}
			dp_chunk_puts_end(c, &w);
		}
		assert_int_equal(dp_chunk_rec_end(c), 0);
		assert_int_equal(c->nrecs, 1);
		assert_int_equal(c->recs[0].nfields, NL);
		if (mode == 0) {
			memcpy(ref, c->data, c->data_len);
			memcpy(ref_f, c->fields, sizeof(ref_f[0]) * NL);
			msgpack_unpacked u;
			uint32_t sec, nsec;
			msgpack_object m = decode(c, 0, &u, &sec, &nsec);
			assert_int_equal(m.via.map.size, NL);
			for (int i = 0; i < NL; i++) {
				assert_int_equal(m.via.map.ptr[i].val.via.str.size, lens[i]);
				assert_memory_equal(m.via.map.ptr[i].val.via.str.ptr, src + i, lens[i]);
			}
			msgpack_unpacked_destroy(&u);
		} else {
			assert_memory_equal(c->data, ref, c->data_len);
			assert_memory_equal(c->fields, ref_f, sizeof(ref_f[0]) * NL);
		}
	}
}

/* Near the chunk's end dp_puts_room says no exactly when the fields and
 * the slack do not fit, and the checked writer then overflows exactly as
 * dp_chunk_put_str does. */
static void test_puts_room_edge(void **state)
{
	(void)state;
	const char *v = "0123456789012345678901234567890123456789";
	for (size_t left = 0; left < 120; left++) {
		struct dp_chunk *c = fresh();
		c->data_len = (uint32_t)(DP_CHUNK_DATA - left);
		struct dp_puts w;
		dp_chunk_puts_begin(c, &w);
		bool room = dp_puts_room(&w, 3 + 20 + 3 + 5, 2);
		assert_int_equal(room, left >= 3 + 20 + 3 + 5 + 20 + DP_PUTS_SLACK);
		dp_puts_str(&w, "abc", 3, v, 20);
		dp_puts_str(&w, "def", 3, v, 5);
		dp_chunk_puts_end(c, &w);
		bool ovf = c->overflow;
		uint32_t len = c->data_len, nf = c->nfields;

		c = fresh();
		c->data_len = (uint32_t)(DP_CHUNK_DATA - left);
		dp_chunk_put_str(c, "abc", 3, v, 20);
		dp_chunk_put_str(c, "def", 3, v, 5);
		assert_int_equal(c->overflow, ovf);
		assert_int_equal(c->data_len, len);
		assert_int_equal(c->nfields, nf);
	}
}

/* The filesystem store keeps events only: an index rebuilt from the bytes
 * (dp_chunk_reindex) must equal the one the builder made. */
static struct dp_rec recs2[DP_CHUNK_RECS];
static struct dp_field fields2[DP_CHUNK_FIELDS];
static uint8_t data2[DP_CHUNK_DATA];

static void test_reindex_matches_builder(void **state)
{
	(void)state;
	struct dp_chunk *c = fresh();
	for (uint32_t i = 0; i < 50; i++) {
		dp_chunk_rec_begin(c, 1700000000 + i, 123456789);
		dp_chunk_put_str(c, "msg", 3, "hello world", 11 - i % 5);
		dp_chunk_put_int(c, "n", 1, (int64_t)i - 25);
		dp_chunk_put_double(c, "d", 1, 0.5 * i);
		dp_chunk_put_bool(c, "b", 1, i & 1);
		dp_chunk_put_nil(c, "z", 1);
		dp_chunk_field_begin(c, "obj", 3);
		uint32_t m = dp_mp_map_open(c);
		dp_mp_str(c, "k", 1);
		dp_mp_int(c, i);
		dp_mp_container_patch(c, m, 1);
		dp_chunk_field_end(c, DP_T_MAP);
		assert_int_equal(dp_chunk_rec_end(c), 0);
	}
	struct dp_chunk d;
	dp_chunk_init(&d, recs2, fields2, data2);
	memcpy(d.data, c->data, c->data_len);
	assert_int_equal(dp_chunk_reindex(&d, c->data_len), 0);
	assert_int_equal(d.nrecs, c->nrecs);
	assert_int_equal(d.nfields, c->nfields);
	for (uint32_t i = 0; i < c->nrecs; i++) {
		assert_int_equal(d.recs[i].off, c->recs[i].off);
		assert_int_equal(d.recs[i].len, c->recs[i].len);
		assert_int_equal(d.recs[i].field0, c->recs[i].field0);
		assert_int_equal(d.recs[i].nfields, c->recs[i].nfields);
		assert_int_equal(d.recs[i].ts_sec, c->recs[i].ts_sec);
		assert_int_equal(d.recs[i].ts_nsec, c->recs[i].ts_nsec);
	}
	for (uint32_t i = 0; i < c->nfields; i++) {
		assert_int_equal(d.fields[i].key_off, c->fields[i].key_off);
		assert_int_equal(d.fields[i].key_len, c->fields[i].key_len);
		assert_int_equal(d.fields[i].val_off, c->fields[i].val_off);
		assert_int_equal(d.fields[i].val_len, c->fields[i].val_len);
		assert_int_equal(d.fields[i].type, c->fields[i].type);
	}
	/* Cut short, or not events at all: refused, never read past len. */
	assert_int_equal(dp_chunk_reindex(&d, c->data_len - 3), -EINVAL);
	d.data[0] = 0xc1;
	assert_int_equal(dp_chunk_reindex(&d, c->data_len), -EINVAL);
}

/* The kept events as runs of bytes (the store and the dead-letter queue
 * write chunks with it): dropped records leave gaps, adjacent ones merge,
 * a small iovec array continues where it stopped. */
static void test_kept_runs(void **state)
{
	(void)state;
	struct dp_chunk *c = fresh();
	for (uint32_t i = 0; i < 10; i++) {
		dp_chunk_rec_begin(c, 1, 0);
		dp_chunk_put_int(c, "i", 1, i);
		assert_int_equal(dp_chunk_rec_end(c), 0);
	}
	c->recs[2].flags |= DP_REC_DROPPED;
	c->recs[3].flags |= DP_REC_DROPPED;
	c->recs[7].flags |= DP_REC_DROPPED;
	struct iovec iov[8];
	uint32_t rec = 0, n = 0, len = 0;
	assert_int_equal(dp_chunk_kept_runs(c, &rec, iov, 8, &n, &len), 3);
	assert_int_equal(rec, 10);
	assert_int_equal(n, 7);
	assert_ptr_equal(iov[0].iov_base, c->data + c->recs[0].off);
	assert_int_equal(iov[0].iov_len, c->recs[0].len + c->recs[1].len);
	assert_ptr_equal(iov[1].iov_base, c->data + c->recs[4].off);
	assert_int_equal(iov[1].iov_len, c->recs[4].len + c->recs[5].len + c->recs[6].len);
	assert_int_equal(iov[2].iov_len, c->recs[8].len + c->recs[9].len);
	assert_int_equal(len, iov[0].iov_len + iov[1].iov_len + iov[2].iov_len);
	/* one run at a time */
	rec = 0, n = 0, len = 0;
	unsigned runs = 0;
	while (rec < c->nrecs)
		runs += dp_chunk_kept_runs(c, &rec, iov, 1, &n, &len);
	assert_int_equal(runs, 3);
	assert_int_equal(n, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_string_sizes),
		cmocka_unit_test(test_nested_and_patch),
		cmocka_unit_test(test_abort_and_overflow),
		cmocka_unit_test(test_object_size_rejects_truncation),
		cmocka_unit_test(test_copy_page_end),
		cmocka_unit_test(test_puts_same_bytes),
		cmocka_unit_test(test_puts_room_edge),
		cmocka_unit_test(test_reindex_matches_builder),
		cmocka_unit_test(test_kept_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
