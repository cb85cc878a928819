/*
 * test_flt_record_modifier.c — the record_modifier filter
 * (filters/flt_record_modifier.c) against Fluent Bit's documented
 * examples, the semantics of its filter_modifier.c and the config errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <msgpack.h>
#include "flt_test_util.h"

extern const struct dp_filter_ops flt_record_modifier_ops;

static void make(struct flt_t *t, ...)
{
	flt_t_init(t, &flt_record_modifier_ops);
	va_list ap;
	va_start(ap, t);
	for (const char *k; (k = va_arg(ap, const char *));)
		flt_kv(t, k, va_arg(ap, const char *));
	va_end(ap);
	if (flt_setup(t))
		fail_msg("setup: %s", t->err.msg);
}

/* The docs' in_mem sample record. */
static void mem_rec(struct flt_t *t)
{
	static const char *const k[] = { "Mem.total", "Mem.used", "Mem.free",
					 "Swap.total", "Swap.used", "Swap.free" };
	static const int64_t v[] = { 1016024, 716672, 299352, 2064380, 32656, 2031724 };
	dp_chunk_rec_begin(&t->c, 1492436882u, 0);
	for (int i = 0; i < 6; i++)
		dp_chunk_put_int(&t->c, k[i], strlen(k[i]), v[i]);
	assert_int_equal(dp_chunk_rec_end(&t->c), 0);
}

#define MEM_FIELDS "Mem.total", "1016024", "Mem.used", "716672", "Mem.free", "299352"
#define SWAP_FIELDS "Swap.total", "2064380", "Swap.used", "32656", "Swap.free", "2031724"

/* Docs, "Append fields" (${HOSTNAME} is substituted by the reader). */
static void test_doc_append(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Record", "hostname localhost.localdomain", "Record", "product Awesome_Tool", NULL);
	mem_rec(&t);
	flt_run(&t);
	flt_expect(&t, 0, MEM_FIELDS, SWAP_FIELDS, "hostname", "localhost.localdomain", "product",
		   "Awesome_Tool", NULL);
	flt_t_fini(&t);
}

/* Docs, "Remove fields with Remove_key" and "Retain fields with
 * Allowlist_key" (and its old name). */
static void test_doc_remove_allow(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Remove_key", "Swap.total", "Remove_key", "Swap.used", "Remove_key", "Swap.free",
	     NULL);
	mem_rec(&t);
	flt_run(&t);
	flt_expect(&t, 0, MEM_FIELDS, NULL);
	flt_t_fini(&t);

	make(&t, "Allowlist_key", "Mem.total", "Allowlist_key", "Mem.used", "Whitelist_key",
	     "Mem.free", NULL);
	mem_rec(&t);
	flt_run(&t);
	flt_expect(&t, 0, MEM_FIELDS, NULL);
	flt_t_fini(&t);
}

/* Case-insensitive keys, trailing '*' as a prefix. */
static void test_match_rules(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Remove_key", "swap.*", "Remove_key", "MEM.TOTAL", "Remove_key", "Mem", NULL);
	mem_rec(&t);
	flt_run(&t);
	flt_expect(&t, 0, "Mem.used", "716672", "Mem.free", "299352", NULL);
	flt_t_fini(&t);

	make(&t, "Allowlist_key", "mem.*", NULL);
	mem_rec(&t);
	flt_run(&t);
	flt_expect(&t, 0, MEM_FIELDS, NULL);
	flt_t_fini(&t);
}

/* Records go after the kept fields, in order; the value is the rest of
 * the line. A Record whose key the record already has replaces it: the
 * old pair goes, the new one is appended (Fluent Bit's filter_modifier.c
 * appends a duplicate key instead; docs/OPERATIONS.md, "Differences from
 * Fluent Bit"), and of two Records of one key the last wins, so no map
 * ever holds a key twice. Keys compare case-sensitively here. */
static void test_record_values(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Record", "msg hello big  world ", "Record", "a \"quoted value\"", "Record", "a 2",
	     "Remove_key", "x", NULL);
	flt_rec(&t, "a", "1", "x", "gone", "A", "upper", NULL);
	flt_run(&t);
	flt_expect(&t, 0, "A", "upper", "msg", "hello big  world", "a", "2", NULL);
	flt_t_fini(&t);

	/* Replace with nothing else configured, several keys at once, and
	 * Uuid_key over an existing key and over a Record of its name. */
	make(&t, "Record", "host new", "Record", "env prod", "Record", "id rec", "Uuid_key", "id",
	     NULL);
	flt_rec(&t, "host", "old", "m", "x", "env", "dev", "id", "7", NULL);
	flt_run(&t);
	const struct dp_rec *r = &t.c.recs[0];
	assert_int_equal(r->nfields, 4);
	const struct dp_field *f = &t.c.fields[r->field0 + 3];
	assert_memory_equal(t.c.data + f->key_off, "id", 2);
	char u[37];
	memcpy(u, dp_field_val(&t.c, f), 36);
	u[36] = 0;
	flt_expect(&t, 0, "m", "x", "host", "new", "env", "prod", "id", u, NULL);
	flt_t_fini(&t);
}

static bool is_uuid_v4(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash != (s[i] == '-'))
			return false;
		if (!dash && !strchr("0123456789abcdef", s[i]))
			return false;
	}
	return s[14] == '4' && strchr("89ab", s[19]);
}

static void test_uuid(void **state)
{
	(void)state;
	struct flt_t t;
	make(&t, "Uuid_key", "uuid", "Record", "r 1", NULL);
	char seen[64][37];
	for (int i = 0; i < 64; i++) {
		flt_rec(&t, "k", "v", NULL);
		flt_run(&t);
		const struct dp_rec *r = &t.c.recs[i];
		assert_int_equal(r->nfields, 3);
		const struct dp_field *f = &t.c.fields[r->field0 + 2];
		assert_int_equal(f->key_len, 4);
		assert_memory_equal(t.c.data + f->key_off, "uuid", 4);
		assert_true(is_uuid_v4(dp_field_val(&t.c, f), f->val_len));
		memcpy(seen[i], dp_field_val(&t.c, f), 36);
		seen[i][36] = 0;
		for (int j = 0; j < i; j++)
			assert_string_not_equal(seen[i], seen[j]);
		flt_expect(&t, (uint32_t)i, "k", "v", "r", "1", "uuid", seen[i], NULL);
	}
	flt_t_fini(&t);
}

/* A chunk too full for the appends: the record stays as it was. */
static void test_chunk_full(void **state)
{
	(void)state;
	struct flt_t t;
	static char big[DP_CHUNK_DATA - 60];
	memset(big, 'z', sizeof(big) - 1);
	make(&t, "Record", "a_long_key_that_will_not_fit some_long_value_too", "Uuid_key", "id",
	     "Remove_key", "gone", NULL);
	flt_rec(&t, "big", big, "gone", "x", NULL);
	flt_run(&t);
	flt_expect(&t, 0, "big", big, NULL);
	flt_t_fini(&t);

	/* The key to replace stays with its old value when the new one
	 * cannot be appended: the edit is lost, never the field. */
	static char big2[DP_CHUNK_DATA - 80];
	memset(big2, 'z', sizeof(big2) - 1);
	make(&t, "Record", "id a_new_value_that_will_not_fit_in_what_is_left_of_the_chunk", NULL);
	flt_rec(&t, "big", big2, "id", "old", NULL);
	flt_run(&t);
	flt_expect(&t, 0, "big", big2, "id", "old", NULL);
	flt_t_fini(&t);
}

static void test_config_errors(void **state)
{
	(void)state;
	struct flt_t t;
	flt_t_init(&t, &flt_record_modifier_ops);
	flt_kv(&t, "Record", "lonely");
	flt_setup_fails(&t, "test.conf:2: [FILTER] record_modifier", "Record: expects KEY VALUE");
	flt_t_fini(&t);

	flt_t_init(&t, &flt_record_modifier_ops);
	flt_kv(&t, "Remove_key", "a");
	flt_kv(&t, "Whitelist_key", "b");
	flt_setup_fails(&t, "test.conf:3:", "exclusive");
	flt_t_fini(&t);

	flt_t_init(&t, &flt_record_modifier_ops);
	flt_kv(&t, "Allowlist_key", "b");
	flt_kv(&t, "Remove_key", "a");
	flt_setup_fails(&t, "test.conf:3:", "exclusive");
	flt_t_fini(&t);

	flt_t_init(&t, &flt_record_modifier_ops);
	flt_kv(&t, "Uuid_key", "");
	flt_setup_fails(&t, "test.conf:2:", "Uuid_key: empty key");
	flt_t_fini(&t);

	flt_t_init(&t, &flt_record_modifier_ops);
	flt_kv(&t, "Remove_keys", "a");
	flt_setup_fails(&t, "test.conf:2:", "unknown key 'Remove_keys'");
	flt_t_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_append),
		cmocka_unit_test(test_doc_remove_allow),
		cmocka_unit_test(test_match_rules),
		cmocka_unit_test(test_record_values),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_chunk_full),
		cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
