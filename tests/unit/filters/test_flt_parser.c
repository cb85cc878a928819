/*
 * test_flt_parser.c — the `parser` filter (flt_parser.c), driven through
 * its operations with a hand-built struct dp_fx and a fake pipeline that
 * carries the [PARSER] set, as the shard will. Expectations are Fluent
 * Bit's documented examples (Key_Name data, Parser dummy_test, Reserve_Data,
 * Preserve_Key); records are decoded with msgpack-c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>
#include "dp_registry.h"
#include "dp_filter.h"
#include "dp_pipeline.h"
#include "flt_parser.h"
#include "psr_parser.h"

#define T0 1700000000u

static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA];
static struct dp_chunk chunk;

struct env {
	struct dp_conf *conf;
	struct psr_parsers *set;
	struct dp_pipeline pl;
	struct dp_filter f;
	void *ctx;
};

static void add_parsers(struct env *e)
{
	struct dp_err err = { 0 };
	struct dp_conf_section *s = dp_conf_section_add(e->conf, "PARSER", "parsers.conf", 1);
	dp_conf_kv_add(e->conf, s, "Name", "dummy_test", "parsers.conf", 2);
	dp_conf_kv_add(e->conf, s, "Format", "regex", "parsers.conf", 3);
	dp_conf_kv_add(e->conf, s, "Regex", "^(?<INT>[^ ]+) (?<FLOAT>[^ ]+) (?<BOOL>[^ ]+) (?<STRING>.+)$",
		       "parsers.conf", 4);
	assert_int_equal(psr_parsers_add(e->set, s, &err), 0);
	s = dp_conf_section_add(e->conf, "PARSER", "parsers.conf", 6);
	dp_conf_kv_add(e->conf, s, "Name", "json_t", "parsers.conf", 7);
	dp_conf_kv_add(e->conf, s, "Format", "json", "parsers.conf", 8);
	dp_conf_kv_add(e->conf, s, "Time_Key", "ts", "parsers.conf", 9);
	dp_conf_kv_add(e->conf, s, "Time_Format", "%s", "parsers.conf", 10);
	assert_int_equal(psr_parsers_add(e->set, s, &err), 0);
}

/* A [FILTER] from key, value, ... NULL (lines 21..), set up as the
 * pipeline will: common keys and the plugin's table applied, then setup. */
static int make_filter(struct env *e, struct dp_err *err, ...)
{
	struct dp_conf_section *s = dp_conf_section_add(e->conf, "FILTER", "sluice.conf", 20);
	va_list ap;
	va_start(ap, err);
	const char *k;
	int line = 21;
	dp_conf_kv_add(e->conf, s, "Name", "parser", "sluice.conf", line++);
	while ((k = va_arg(ap, const char *)))
		dp_conf_kv_add(e->conf, s, k, va_arg(ap, const char *), "sluice.conf", line++);
	va_end(ap);
	memset(&e->f, 0, sizeof(e->f));
	e->f.ops = dp_registry_filter("parser");
	assert_ptr_equal(e->f.ops, &flt_parser_ops);
	e->f.cfg = calloc(1, e->f.ops->cfg_size);
	e->f.sec = s;
	e->f.file = s->file;
	e->f.line = s->line;
	e->f.pl = &e->pl;
	const struct dp_opt *tabs[] = { dp_filter_common_opts, e->f.ops->opts };
	void *cfgs[] = { &e->f, e->f.cfg };
	const char *const ignore[] = { "Name", NULL };
	int rc = dp_opt_apply(tabs, cfgs, 2, s, "[FILTER] parser", ignore, err);
	if (!rc)
		rc = e->f.ops->setup(&e->f, err);
	if (!rc) {
		e->ctx = e->f.ops->shard_ctx_create(&e->f, 0);
		assert_non_null(e->ctx);
	}
	return rc;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	e->conf = dp_conf_create();
	e->set = psr_parsers_create();
	e->pl.parsers = e->set;
	add_parsers(e);
	dp_chunk_init(&chunk, recs, fields, data);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	if (e->ctx)
		e->f.ops->shard_ctx_destroy(e->ctx);
	if (e->f.ops && e->f.priv)
		e->f.ops->teardown(&e->f);
	if (e->f.ops) {
		dp_opt_free(dp_filter_common_opts, &e->f);
		dp_opt_free(e->f.ops->opts, e->f.cfg);
	}
	free(e->f.cfg);
	psr_parsers_destroy(e->set);
	dp_conf_destroy(e->conf);
	free(e);
	return 0;
}

/* A record of string pairs k, v, ... NULL at the tail of the chunk, then
 * the filter over it. */
static int filter(struct env *e, ...)
{
	dp_chunk_reset(&chunk);
	dp_chunk_rec_begin(&chunk, T0, 0);
	va_list ap;
	va_start(ap, e);
	const char *k;
	while ((k = va_arg(ap, const char *))) {
		const char *v = va_arg(ap, const char *);
		if (!strcmp(v, "#7"))
			dp_chunk_put_int(&chunk, k, strlen(k), 7);
		else
			dp_chunk_put_str(&chunk, k, strlen(k), v, strlen(v));
	}
	va_end(ap);
	assert_int_equal(dp_chunk_rec_end(&chunk), 0);
	struct dp_fx fx = { .c = &chunk, .tag = "dummy.data", .tag_len = 10 };
	return e->f.ops->record(e->ctx, &fx);
}

static void render(const msgpack_object *v, char *buf, size_t n)
{
	if (v->type == MSGPACK_OBJECT_STR)
		snprintf(buf, n, "%.*s", (int)v->via.str.size, v->via.str.ptr);
	else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		snprintf(buf, n, "#%llu", (unsigned long long)v->via.u64);
	else
		snprintf(buf, n, "(type %d)", v->type);
}

/* The tail record as " k=v k=v", checked to be valid msgpack whose map
 * agrees with the index. */
static const char *rec_text(uint32_t *sec)
{
	static char out[1024];
	assert_int_equal(chunk.nrecs, 1);
	const struct dp_rec *r = &chunk.recs[0];
	assert_int_equal(dp_mp_object_size(chunk.data + r->off, r->len), r->len);
	assert_int_equal(r->off + r->len, chunk.data_len);
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	assert_int_equal(msgpack_unpack_next(&u, (const char *)chunk.data + r->off, r->len, &off),
			 MSGPACK_UNPACK_SUCCESS);
	msgpack_object m = u.data.via.array.ptr[1];
	assert_int_equal(m.via.map.size, r->nfields);
	size_t o = 0;
	out[0] = '\0';
	const struct dp_field *f = dp_rec_fields(&chunk, r);
	for (uint32_t i = 0; i < m.via.map.size; i++) {
		char kb[128], vb[256];
		render(&m.via.map.ptr[i].key, kb, sizeof(kb));
		render(&m.via.map.ptr[i].val, vb, sizeof(vb));
		assert_int_equal(f[i].key_len, strlen(kb));
		assert_memory_equal(dp_field_key(&chunk, &f[i]), kb, f[i].key_len);
		o += (size_t)snprintf(out + o, sizeof(out) - o, " %s=%s", kb, vb);
	}
	msgpack_unpacked_destroy(&u);
	*sec = r->ts_sec;
	return out;
}

static void stats(struct env *e, struct flt_parser_stats *s)
{
	flt_parser_stats_get(e->ctx, s);
}

static void test_doc_example(void **state)
{
	struct env *e = *state;
	struct dp_err err = { 0 };
	uint32_t sec;
	assert_int_equal(make_filter(e, &err, "Match", "dummy.*", "Key_Name", "data", "Parser",
				     "dummy_test", NULL), 0);
	assert_int_equal(filter(e, "data", "100 0.5 true This is example", NULL), DP_FILTER_KEEP);
	assert_string_equal(rec_text(&sec), " INT=100 FLOAT=0.5 BOOL=true STRING=This is example");
	assert_int_equal(sec, T0);
	/* Reserve_Data off (default): the other fields go too */
	assert_int_equal(filter(e, "key1", "value1", "data", "1 2 3 4", "key2", "value2", NULL),
			 DP_FILTER_KEEP);
	assert_string_equal(rec_text(&sec), " INT=1 FLOAT=2 BOOL=3 STRING=4");
	struct flt_parser_stats s;
	stats(e, &s);
	assert_int_equal(s.parsed, 2);
}

static void test_reserve_preserve(void **state)
{
	struct env *e = *state;
	struct dp_err err = { 0 };
	uint32_t sec;
	assert_int_equal(make_filter(e, &err, "Key_Name", "data", "Parser", "dummy_test",
				     "Reserve_Data", "On", "Preserve_Key", "On", NULL), 0);
	assert_int_equal(filter(e, "key1", "value1", "data", "100 0.5 true This is example", "key2",
				"value2", NULL), DP_FILTER_KEEP);
	assert_string_equal(rec_text(&sec), " key1=value1 data=100 0.5 true This is example "
			    "key2=value2 INT=100 FLOAT=0.5 BOOL=true STRING=This is example");
}

/* The parsed field of Key_Name's own name wins over the preserved one. */
static void test_parsed_key_wins(void **state)
{
	struct env *e = *state;
	struct dp_err err = { 0 };
	uint32_t sec;
	assert_int_equal(make_filter(e, &err, "Key_Name", "STRING", "Parser", "dummy_test",
				     "Preserve_Key", "On", NULL), 0);
	assert_int_equal(filter(e, "STRING", "1 2 3 four", NULL), DP_FILTER_KEEP);
	assert_string_equal(rec_text(&sec), " INT=1 FLOAT=2 BOOL=3 STRING=four");
}

static void test_reserve_only(void **state)
{
	struct env *e = *state;
	struct dp_err err = { 0 };
	uint32_t sec;
	assert_int_equal(make_filter(e, &err, "Key_Name", "data", "Parser", "dummy_test",
				     "Reserve_Data", "On", NULL), 0);
	assert_int_equal(filter(e, "data", "1 2 3 4", "n", "#7", NULL), DP_FILTER_KEEP);
	assert_string_equal(rec_text(&sec), " n=#7 INT=1 FLOAT=2 BOOL=3 STRING=4");
	/* A kept field whose key the parser yields too is replaced by the
	 * parsed value, wherever it stood: no key twice in the map. */
	assert_int_equal(filter(e, "INT", "old", "data", "5 6 7 8", "STRING", "x", "z", "y", NULL),
			 DP_FILTER_KEEP);
	assert_string_equal(rec_text(&sec), " z=y INT=5 FLOAT=6 BOOL=7 STRING=8");
}

static void test_parsers_in_order(void **state)
{
	struct env *e = *state;
	struct dp_err err = { 0 };
	uint32_t sec;
	assert_int_equal(make_filter(e, &err, "Key_Name", "log", "Parser", "json_t", "Parser",
				     "dummy_test", NULL), 0);
	/* JSON first: it matches, and its time becomes the record's */
	assert_int_equal(filter(e, "log", "{\"a\":\"b\",\"ts\":\"1600000000\"}", NULL), DP_FILTER_KEEP);
	assert_string_equal(rec_text(&sec), " a=b");
	assert_int_equal(sec, 1600000000);
	/* not JSON: the regex */
	assert_int_equal(filter(e, "log", "w x y z", NULL), DP_FILTER_KEEP);
	assert_string_equal(rec_text(&sec), " INT=w FLOAT=x BOOL=y STRING=z");
	assert_int_equal(sec, T0);
	/* neither: unchanged, counted */
	assert_int_equal(filter(e, "log", "nope", "x", "y", NULL), DP_FILTER_KEEP);
	assert_string_equal(rec_text(&sec), " log=nope x=y");
	/* missing key, non-string value: unchanged, counted */
	assert_int_equal(filter(e, "other", "1 2 3 4", NULL), DP_FILTER_KEEP);
	assert_string_equal(rec_text(&sec), " other=1 2 3 4");
	assert_int_equal(filter(e, "log", "#7", NULL), DP_FILTER_KEEP);
	assert_string_equal(rec_text(&sec), " log=#7");
	struct flt_parser_stats s;
	stats(e, &s);
	assert_int_equal(s.parsed, 2);
	assert_int_equal(s.no_match, 1);
	assert_int_equal(s.no_field, 2);
}

static void test_unescape_key(void **state)
{
	struct env *e = *state;
	struct dp_err err = { 0 };
	uint32_t sec;
	assert_int_equal(make_filter(e, &err, "Key_Name", "log", "Parser", "json_t", "Unescape_Key",
				     "on", NULL), 0);
	assert_int_equal(filter(e, "log", "{\\\"k\\\":\\\"v\\\"}", NULL), DP_FILTER_KEEP);
	assert_string_equal(rec_text(&sec), " k=v");
}

/* Forget a filter whose setup failed (its options were applied). */
static void drop_filter(struct env *e)
{
	dp_opt_free(dp_filter_common_opts, &e->f);
	dp_opt_free(e->f.ops->opts, e->f.cfg);
	free(e->f.cfg);
	e->f.cfg = NULL;
}

static void test_setup_errors(void **state)
{
	struct env *e = *state;
	struct dp_err err = { 0 };
	assert_int_equal(make_filter(e, &err, "Key_Name", "data", "Parser", "dummy_test", "Parser",
				     "nope", NULL), -EINVAL);
	assert_string_equal(err.msg, "sluice.conf:24: [FILTER] parser: unknown parser 'nope'");
	drop_filter(e);
	/* no [PARSER] loaded at all */
	e->pl.parsers = NULL;
	assert_int_equal(make_filter(e, &err, "Key_Name", "data", "Parser", "dummy_test", NULL),
			 -EINVAL);
	assert_string_equal(err.msg, "sluice.conf:23: [FILTER] parser: unknown parser 'dummy_test' "
			    "(no [PARSER] is defined)");
	drop_filter(e);
	e->pl.parsers = e->set;
	assert_int_equal(make_filter(e, &err, "Parser", "dummy_test", NULL), -EINVAL);
	assert_non_null(strstr(err.msg, "missing required key 'Key_Name'"));
	for (const struct dp_opt *o = flt_parser_ops.opts; o->name; o++)
		assert_true(o->desc && *o->desc);
}

static void add_regex(struct env *e, const char *name, const char *re, int line)
{
	struct dp_err err = { 0 };
	struct dp_conf_section *s = dp_conf_section_add(e->conf, "PARSER", "parsers.conf", line);
	dp_conf_kv_add(e->conf, s, "Name", name, "parsers.conf", line + 1);
	dp_conf_kv_add(e->conf, s, "Format", "regex", "parsers.conf", line + 2);
	dp_conf_kv_add(e->conf, s, "Regex", re, "parsers.conf", line + 3);
	assert_int_equal(psr_parsers_add(e->set, s, &err), 0);
}

/* Three regex parsers that overlap (one set, one Hyperscan pass picks the
 * candidates): the first in configuration order that matches wins, even
 * when a later one matches earlier in the line; a back reference (PCRE2
 * fallback in the set), a /.../i pattern, a UTF-8 one (never prefiltered)
 * and a json parser in between keep their places. */
static void test_competing_regex(void **state)
{
	struct env *e = *state;
	struct dp_err err = { 0 };
	uint32_t sec;
	add_regex(e, "kv", "/^(?<k>[a-z]+)=(?<v>\\w+)$/i", 20);
	add_regex(e, "twice", "(?<w>\\w+) \\k<w>", 30);
	add_regex(e, "tail", "(?<last>\\w+)$", 40);
	add_regex(e, "utf", "^(?<u>\xc3\xa9.*)$", 50);
	assert_int_equal(make_filter(e, &err, "Key_Name", "log", "Parser", "utf", "Parser", "kv",
				     "Parser", "json_t", "Parser", "twice", "Parser", "tail", NULL), 0);
	assert_int_equal(filter(e, "log", "\xc3\xa9t\xc3\xa9 a=b", NULL), DP_FILTER_KEEP);
	assert_string_equal(rec_text(&sec), " u=\xc3\xa9t\xc3\xa9 a=b");
	/* kv and tail both match: kv is first */
	assert_int_equal(filter(e, "log", "KEY=val", NULL), DP_FILTER_KEEP);
	assert_string_equal(rec_text(&sec), " k=KEY v=val");
	/* json before twice */
	assert_int_equal(filter(e, "log", "{\"a\":\"go go\"}", NULL), DP_FILTER_KEEP);
	assert_string_equal(rec_text(&sec), " a=go go");
	/* twice matches late in the line, tail at its end: twice is first */
	assert_int_equal(filter(e, "log", "x y go go", NULL), DP_FILTER_KEEP);
	assert_string_equal(rec_text(&sec), " w=go");
	assert_int_equal(filter(e, "log", "a b c", NULL), DP_FILTER_KEEP);
	assert_string_equal(rec_text(&sec), " last=c");
	/* none */
	assert_int_equal(filter(e, "log", "a b c.", NULL), DP_FILTER_KEEP);
	assert_string_equal(rec_text(&sec), " log=a b c.");
	struct flt_parser_stats st;
	stats(e, &st);
	assert_int_equal(st.parsed, 5);
	assert_int_equal(st.no_match, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_doc_example, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_preserve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parsed_key_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parsers_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unescape_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setup_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_competing_regex, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
