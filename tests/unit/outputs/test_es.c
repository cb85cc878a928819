/*
 * test_es.c — the es/opensearch output's pure parts (outputs/out_es.h):
 * the action and document lines of a record (Fluent Bit's layout,
 * plugins/out_opensearch/opensearch.c opensearch_format and opensearch.h
 * OS_BULK_*), Generate_ID stability, and the _bulk response reader on
 * well-formed, cut and garbled bodies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "dp_chunk.h"
#include "out_es.h"
#include "psr_json.h"

struct tchunk {
	struct dp_rec recs[DP_CHUNK_RECS];
	struct dp_field fields[DP_CHUNK_FIELDS];
	uint8_t data[DP_CHUNK_DATA];
	struct dp_chunk c;
};

/* 2024-01-31T10:00:00.123456789Z */
static struct tchunk *mk(const char *json)
{
	struct tchunk *t = calloc(1, sizeof(*t));
	dp_chunk_init(&t->c, t->recs, t->fields, t->data);
	dp_chunk_rec_begin(&t->c, 1706695200, 123456789);
	assert_int_equal(psr_json_parse(&t->c, json, strlen(json)), 0);
	assert_int_equal(dp_chunk_rec_end(&t->c), 0);
	return t;
}

static char *line(const struct out_es_bulk_opts *o, struct tchunk *t, size_t cap)
{
	struct out_buf b;
	assert_int_equal(out_buf_init(&b, cap), 0);
	struct out_es_bulk_memo m = { 0 };
	size_t n = out_es_bulk_rec(&b, o, &m, &t->c, &t->c.recs[0], "app.x", 5, 1800000000);
	char *s = n ? strndup(b.p, b.len) : NULL;
	assert_int_equal(b.len, n);
	out_buf_fini(&b);
	return s;
}

static struct out_es_bulk_opts defaults(void)
{
	return (struct out_es_bulk_opts){ .op = OUT_ES_CREATE, .index = "fluent-bit", .type = "_doc",
					 .prefix = "logstash", .separator = "-", .dateformat = "%Y.%m.%d",
					 .time_key = "@timestamp", .time_key_format = "%Y-%m-%dT%H:%M:%S" };
}

static void test_bulk_default(void **state)
{
	(void)state;
	struct tchunk *t = mk("{\"a.b\":1,\"s\":\"q\\\"x\"}");
	struct out_es_bulk_opts o = defaults();
	char *s = line(&o, t, 4096);
	assert_string_equal(s, "{\"create\":{\"_index\":\"fluent-bit\",\"_type\":\"_doc\"}}\n"
			       "{\"@timestamp\":\"2024-01-31T10:00:00.123Z\",\"a.b\":1,\"s\":\"q\\\"x\"}\n");
	free(s);
	free(t);
}

static void test_bulk_options(void **state)
{
	(void)state;
	struct tchunk *t = mk("{\"pfx\":\"my\\\"app\",\"id\":\"X1\",\"n\":{\"c.d\":[{\"e.f\":2}]}}");
	struct out_es_bulk_opts o = defaults();
	o.op = OUT_ES_UPSERT;
	o.type = NULL;
	o.logstash = true;
	o.prefix_key = "pfx";
	o.separator = "_";
	o.dateformat = "%Y-%m";
	o.time_key = "ts";
	o.time_key_nanos = true;
	o.tag_key = "tag";
	o.id_key = "id";
	o.replace_dots = true;
	char *s = line(&o, t, 4096);
	assert_string_equal(s, "{\"update\":{\"_index\":\"my\\\"app_2024-01\",\"_id\":\"X1\"}}\n"
			       "{\"doc_as_upsert\":true,\"doc\":{\"ts\":\"2024-01-31T10:00:00.123456789Z\","
			       "\"tag\":\"app.x\",\"pfx\":\"my\\\"app\",\"id\":\"X1\",\"n\":{\"c_d\":[{\"e_f\":2}]}}}\n");
	free(s);
	/* no prefix key in the record: Logstash_Prefix; Current_Time_Index */
	o.prefix_key = "nope";
	o.current_time_index = true;
	o.op = OUT_ES_INDEX;
	o.tag_key = NULL;
	s = line(&o, t, 4096);
	assert_non_null(strstr(s, "{\"index\":{\"_index\":\"logstash_2027-01\",\"_id\":\"X1\"}}\n{\"ts\""));
	free(s);
	/* does not fit: nothing written */
	assert_null(line(&o, t, 40));
	free(t);
}

static void test_bulk_empty_and_id(void **state)
{
	(void)state;
	struct tchunk *t = mk("{}");
	struct out_es_bulk_opts o = defaults();
	o.generate_id = true;
	char *s = line(&o, t, 4096);
	char id[37];
	out_es_bulk_gen_id(&t->c, &t->c.recs[0], "app.x", 5, id);
	char want[256];
	snprintf(want, sizeof(want), "{\"create\":{\"_index\":\"fluent-bit\",\"_type\":\"_doc\",\"_id\":\"%s\"}}\n"
		 "{\"@timestamp\":\"2024-01-31T10:00:00.123Z\"}\n", id);
	assert_string_equal(s, want);
	assert_int_equal(strlen(id), 36);
	char id2[37];
	out_es_bulk_gen_id(&t->c, &t->c.recs[0], "app.y", 5, id2);
	assert_string_not_equal(id, id2);
	free(s);
	free(t);
}

static void parse(const char *s, uint32_t max, uint16_t *st, struct out_es_resp *r)
{
	out_es_resp_parse(s, strlen(s), st, max, r);
}

static void test_resp(void **state)
{
	(void)state;
	uint16_t st[8];
	struct out_es_resp r;
	parse("{\"took\":3,\"errors\":false,\"items\":[{\"create\":{\"status\":201}},{\"create\":{\"status\":201}}]}", 8,
	      st, &r);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.nitems, 2);
	assert_true(r.items_done);
	assert_false(r.bad);
	parse("{\"took\":3,\"errors\":true,\"items\":[{\"create\":{\"_index\":\"i\",\"status\":201}},"
	      "{\"create\":{\"status\":429,\"error\":{\"type\":\"es_rejected_execution_exception\",\"reason\":\"q\"}}},"
	      "{\"index\":{\"error\":{\"type\":\"mapper_parsing_exception\",\"reason\":\"bad [seq]\",\"caused_by\":"
	      "{\"type\":\"x\"}},\"status\":400}}]}", 8, st, &r);
	assert_int_equal(r.errors, 1);
	assert_int_equal(r.nitems, 3);
	assert_int_equal(st[0], 201);
	assert_int_equal(st[1], 429);
	assert_int_equal(st[2], 400);
	/* the first refused for good is reported, not the first refused */
	assert_int_equal(r.err_status, 400);
	assert_string_equal(r.err_type, "mapper_parsing_exception");
	assert_string_equal(r.err_reason, "bad [seq]");
	/* cut: the items before the cut stand */
	parse("{\"errors\":true,\"items\":[{\"create\":{\"status\":201}},{\"create\":{\"sta", 8, st, &r);
	assert_int_equal(r.errors, 1);
	assert_int_equal(r.nitems, 1);
	assert_false(r.items_done);
	/* more items than actions */
	parse("{\"errors\":true,\"items\":[{\"a\":{\"status\":201}},{\"a\":{\"status\":201}}]}", 1, st, &r);
	assert_true(r.bad);
	assert_int_equal(r.nitems, 1);
	/* not a bulk response */
	parse("<html>502</html>", 8, st, &r);
	assert_true(r.bad);
	assert_int_equal(r.errors, -1);
	parse("{\"error\":{\"type\":\"x\"},\"status\":400}", 8, st, &r);
	assert_int_equal(r.errors, -1);
	parse("", 8, st, &r);
	assert_true(r.bad);
}

static void test_item_verdict(void **state)
{
	(void)state;
	assert_int_equal(out_es_item_verdict(201, OUT_ES_CREATE), OUT_ES_ITEM_OK);
	assert_int_equal(out_es_item_verdict(409, OUT_ES_CREATE), OUT_ES_ITEM_OK);
	assert_int_equal(out_es_item_verdict(409, OUT_ES_INDEX), OUT_ES_ITEM_FAILED);
	assert_int_equal(out_es_item_verdict(429, OUT_ES_CREATE), OUT_ES_ITEM_RETRY);
	assert_int_equal(out_es_item_verdict(503, OUT_ES_CREATE), OUT_ES_ITEM_RETRY);
	assert_int_equal(out_es_item_verdict(400, OUT_ES_CREATE), OUT_ES_ITEM_FAILED);
	assert_int_equal(out_es_item_verdict(0, OUT_ES_CREATE), OUT_ES_ITEM_RETRY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bulk_default),
		cmocka_unit_test(test_bulk_options),
		cmocka_unit_test(test_bulk_empty_and_id),
		cmocka_unit_test(test_resp),
		cmocka_unit_test(test_item_verdict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
