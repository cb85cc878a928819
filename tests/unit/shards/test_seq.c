/*
 * test_seq.c — shard_seq: chunks numbered as records go into them, head
 * moving only over a prefix of chunks that all came back, whatever order
 * they come back in; chunks never numbered are ignored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "shard_seq.h"

static void test_numbering(void **state)
{
	(void)state;
	struct shard_seq s;
	struct dp_chunk a = { 0 }, b = { 0 };
	assert_int_equal(shard_seq_init(&s, 4), 0);
	assert_int_equal(shard_seq_of(&s, &a), 0);
	assert_int_equal(shard_seq_of(&s, &a), 0);     /* the same open chunk */
	assert_int_equal(shard_seq_of(&s, &b), 1);
	assert_int_equal(shard_seq_of(&s, &a), 2);     /* reused while out: a new number */
	assert_int_equal(s.tail, 3);
	shard_seq_fini(&s);
}

static void test_release_out_of_order(void **state)
{
	(void)state;
	struct shard_seq s;
	struct dp_chunk c[3] = { { 0 } }, never = { 0 };
	uint64_t from;
	assert_int_equal(shard_seq_init(&s, 5), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(shard_seq_of(&s, &c[i]), (uint64_t)i);
	assert_true(shard_seq_release(&s, &c[2], &from));
	assert_int_equal(from, 0);
	assert_int_equal(s.head, 0);                   /* 0 and 1 still out */
	assert_true(shard_seq_release(&s, &c[1], &from));
	assert_int_equal(s.head, 0);
	assert_true(shard_seq_release(&s, &c[0], &from));
	assert_int_equal(from, 0);
	assert_int_equal(s.head, 3);                   /* all three settle at once */
	assert_int_equal(c[0].in_meta[0], 0);          /* numbers cleared */
	assert_false(shard_seq_release(&s, &never, &from));
	assert_false(shard_seq_release(&s, &c[0], &from)); /* twice: ignored */
	/* wraps around the ring */
	for (int round = 0; round < 10; round++) {
		uint64_t n = shard_seq_of(&s, &c[round % 3]);
		assert_int_equal(n, (uint64_t)(3 + round));
		assert_true(shard_seq_release(&s, &c[round % 3], &from));
		assert_int_equal(from, n);
		assert_int_equal(s.head, n + 1);
	}
	shard_seq_fini(&s);
}

static void test_full(void **state)
{
	(void)state;
	struct shard_seq s;
	struct dp_chunk c[3] = { { 0 } };
	assert_int_equal(shard_seq_init(&s, 2), 0);
	assert_int_equal(shard_seq_of(&s, &c[0]), 0);
	assert_int_equal(shard_seq_of(&s, &c[1]), 1);
	assert_int_equal(shard_seq_of(&s, &c[2]), UINT64_MAX);
	shard_seq_fini(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbering),
		cmocka_unit_test(test_release_out_of_order),
		cmocka_unit_test(test_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
