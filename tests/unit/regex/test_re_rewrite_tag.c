/*
 * test_re_rewrite_tag.c — rewrite_tag through its dp_filter_ops with a fake
 * emitter that builds each emitted record into a chunk of its own and
 * keeps its tag: Fluent Bit's documented examples ($TAG, $TAG[n], $0..$9,
 * nested record keys), first rule wins, KEEP, what happens when the
 * emitter refuses, and setup errors with their line. Single-threaded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>
#include "dp_filter.h"
#include "dp_plugin.h"
#include "dp_ra.h"
#include "psr_json.h"

extern const struct dp_filter_ops re_rewrite_tag_ops;

static struct dp_rec recs[DP_CHUNK_RECS], erecs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS], efields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA], edata[DP_CHUNK_DATA];
static struct dp_chunk ch, ech;     /* input, emitted */
static char etags[8][DP_TAG_MAX + 1];
static unsigned nemit;
static int emit_rc;                 /* what the fake emitter returns */

static int fake_emit(struct dp_fx *fx, const char *tag, size_t tag_len, uint32_t sec,
		     uint32_t nsec, dp_build_fn build, void *arg)
{
	(void)fx;
	if (emit_rc)
		return emit_rc;
	assert_true(nemit < 8);
	memcpy(etags[nemit], tag, tag_len);
	etags[nemit][tag_len] = 0;
	nemit++;
	/* build twice into a scratch record first: it must not consume state */
	dp_chunk_rec_begin(&ech, sec, nsec);
	assert_int_equal(build(&ech, arg), 0);
	dp_chunk_rec_abort(&ech);
	dp_chunk_rec_begin(&ech, sec, nsec);
	assert_int_equal(build(&ech, arg), 0);
	return dp_chunk_rec_end(&ech);
}

struct flt {
	struct dp_conf *conf;
	struct dp_filter f;
	void *ctx;
};

static int flt_make(struct flt *t, const char *const *kv, struct dp_err *err)
{
	memset(t, 0, sizeof(*t));
	t->conf = dp_conf_create();
	struct dp_conf_section *s = dp_conf_section_add(t->conf, "FILTER", "t.conf", 1);
	dp_conf_kv_add(t->conf, s, "Name", "rewrite_tag", "t.conf", 2);
	dp_conf_kv_add(t->conf, s, "Match", "*", "t.conf", 3);
	for (int i = 0; kv[i]; i += 2)
		dp_conf_kv_add(t->conf, s, kv[i], kv[i + 1], "t.conf", 4 + i / 2);
	t->f.ops = &re_rewrite_tag_ops;
	t->f.sec = s;
	t->f.file = "t.conf";
	t->f.line = 1;
	strcpy(t->f.name, "rewrite_tag.0");
	t->f.cfg = calloc(1, re_rewrite_tag_ops.cfg_size);
	const struct dp_opt *const tabs[] = { dp_filter_common_opts, re_rewrite_tag_ops.opts };
	void *const cfgs[] = { &t->f, t->f.cfg };
	const char *const ignore[] = { "Name", NULL };
	int rc = dp_opt_apply(tabs, cfgs, 2, s, "[FILTER] rewrite_tag", ignore, err);
	if (!rc)
		rc = re_rewrite_tag_ops.setup(&t->f, err);
	if (!rc) {
		t->ctx = re_rewrite_tag_ops.shard_ctx_create(&t->f, 0);
		assert_non_null(t->ctx);
	}
	return rc;
}

static void flt_free(struct flt *t)
{
	if (t->ctx)
		re_rewrite_tag_ops.shard_ctx_destroy(t->ctx);
	if (t->f.priv)
		re_rewrite_tag_ops.teardown(&t->f);
	dp_opt_free(dp_filter_common_opts, &t->f);
	dp_opt_free(re_rewrite_tag_ops.opts, t->f.cfg);
	free(t->f.cfg);
	dp_conf_destroy(t->conf);
}

static void flt_ok(struct flt *t, const char *const *kv)
{
	struct dp_err err = { 0 };
	if (flt_make(t, kv, &err))
		fail_msg("setup: %s", err.msg);
}

/* Run one JSON record with this tag: the filter's verdict. */
static int run(struct flt *t, const char *tag, const char *json)
{
	dp_chunk_reset(&ch);
	dp_chunk_rec_begin(&ch, 1580436933, 50569);
	assert_int_equal(psr_json_parse(&ch, json, strlen(json)), 0);
	assert_int_equal(dp_chunk_rec_end(&ch), 0);
	struct dp_fx fx = { .c = &ch, .tag = tag, .tag_len = strlen(tag), .emit = fake_emit };
	return re_rewrite_tag_ops.record(t->ctx, &fx);
}

static int setup(void **state)
{
	(void)state;
	dp_chunk_init(&ch, recs, fields, data);
	dp_chunk_init(&ech, erecs, efields, edata);
	nemit = 0;
	emit_rc = 0;
	return 0;
}

/* Fluent Bit's configuration example: the record is re-emitted whole. */
static void test_doc_example(void **state)
{
	(void)state;
	struct flt t;
	flt_ok(&t, (const char *[]){ "Rule", "$tool ^(fluent)$  from.$TAG.new.$tool.$sub['s1']['s2'].out false",
				     "Emitter_Name", "re_emitted", NULL });
	const char *rec = "{\"tool\": \"fluent\", \"sub\": {\"s1\": {\"s2\": \"bit\"}}}";
	assert_int_equal(run(&t, "test_tag", rec), DP_FILTER_DROP);
	assert_int_equal(nemit, 1);
	assert_string_equal(etags[0], "from.test_tag.new.fluent.bit.out");
	/* the emitted record: same time, same fields, same bytes */
	assert_int_equal(ech.nrecs, 1);
	assert_int_equal(ech.recs[0].ts_sec, 1580436933);
	assert_int_equal(ech.recs[0].ts_nsec, 50569);
	assert_int_equal(ech.recs[0].nfields, 2);
	struct dp_ra ra;
	struct dp_ra_val v;
	assert_int_equal(dp_ra_parse("$sub['s1']['s2']", &ra, NULL), 0);
	assert_true(dp_ra_get_tail(&ra, &ech, &v));
	assert_memory_equal(v.str, "bit", 3);
	msgpack_unpacked up;
	msgpack_unpacked_init(&up);
	size_t off = 0;
	assert_int_equal(msgpack_unpack_next(&up, (const char *)edata + ech.recs[0].off,
					     ech.recs[0].len, &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(up.data.via.array.ptr[1].via.map.size, 2);
	msgpack_unpacked_destroy(&up);
	/* no match: nothing emitted, record kept */
	assert_int_equal(run(&t, "test_tag", "{\"tool\": \"fluentd\"}"), DP_FILTER_KEEP);
	assert_int_equal(nemit, 1);
	flt_free(&t);
}

/* The Rules section: tag aa.bb.cc, {"name": "abc-123", "ss": {...}}. */
static void test_doc_placeholders(void **state)
{
	(void)state;
	struct flt t;
	flt_ok(&t, (const char *[]){ "Rule", "$name ^([a-z]+)-([0-9]+)$ newtag.$TAG.$TAG[1].$1.$ss['s1']['s2'].out.fluent true",
				     NULL });
	const char *rec = "{\"name\": \"abc-123\", \"ss\": {\"s1\": {\"s2\": \"flb\"}}}";
	assert_int_equal(run(&t, "aa.bb.cc", rec), DP_FILTER_KEEP);
	assert_int_equal(nemit, 1);
	assert_string_equal(etags[0], "newtag.aa.bb.cc.bb.abc.flb.out.fluent");
	flt_free(&t);
	flt_ok(&t, (const char *[]){ "Rule", "$name ^([a-z]+)-([0-9]+)(x)?$ $0:$2:$3:$TAG[0]:$TAG[7]:$n:$b:$nokey:$ true",
				     NULL });
	assert_int_equal(run(&t, "aa.bb", "{\"name\": \"abc-123\", \"n\": -4, \"b\": false}"),
			 DP_FILTER_KEEP);
	assert_string_equal(etags[1], "abc-123:123::aa::-4:false::$");
	flt_free(&t);
}

static void test_first_rule_wins(void **state)
{
	(void)state;
	struct flt t;
	flt_ok(&t, (const char *[]){ "Rule", "$level ^err error.$TAG false", "Rule",
				     "$msg timeout timeout true", "Rule", "$level . other true", NULL });
	assert_int_equal(run(&t, "app", "{\"level\": \"error\", \"msg\": \"timeout\"}"),
			 DP_FILTER_DROP);
	assert_string_equal(etags[0], "error.app");
	assert_int_equal(run(&t, "app", "{\"level\": \"info\", \"msg\": \"timeout\"}"),
			 DP_FILTER_KEEP);
	assert_string_equal(etags[1], "timeout");
	assert_int_equal(run(&t, "app", "{\"level\": \"info\", \"msg\": \"ok\"}"), DP_FILTER_KEEP);
	assert_string_equal(etags[2], "other");
	/* a number never matches; missing keys neither */
	assert_int_equal(run(&t, "app", "{\"level\": 5}"), DP_FILTER_KEEP);
	assert_int_equal(nemit, 3);
	flt_free(&t);
}

/* The emitter is full, or the tag cannot be made: the original stays. */
static void test_emit_failures(void **state)
{
	(void)state;
	struct flt t;
	flt_ok(&t, (const char *[]){ "Rule", "$a x $a false", NULL });
	emit_rc = -EAGAIN;
	assert_int_equal(run(&t, "t", "{\"a\": \"x\"}"), DP_FILTER_KEEP);
	emit_rc = 0;
	char big[600] = "{\"a\": \"x";
	memset(big + 8, 'y', 400);
	strcpy(big + 408, "\"}");
	assert_int_equal(run(&t, "t", big), DP_FILTER_KEEP);
	assert_int_equal(nemit, 0);
	assert_int_equal(run(&t, "t", "{\"a\": \"xx\"}"), DP_FILTER_DROP);
	assert_string_equal(etags[0], "xx");
	flt_free(&t);
	/* a quoted regex with a space */
	flt_ok(&t, (const char *[]){ "Rule", "$a \"^a b$\" ab false", NULL });
	assert_int_equal(run(&t, "t", "{\"a\": \"a b\"}"), DP_FILTER_DROP);
	assert_string_equal(etags[1], "ab");
	flt_free(&t);
}

static void assert_setup_err(const char *const *kv, const char *want1, const char *want2)
{
	struct flt t;
	struct dp_err err = { 0 };
	assert_int_not_equal(flt_make(&t, kv, &err), 0);
	if (!strstr(err.msg, want1) || (want2 && !strstr(err.msg, want2)))
		fail_msg("error '%s' lacks '%s' / '%s'", err.msg, want1, want2 ? want2 : "");
	flt_free(&t);
}

/* Emitter_Storage.type filesystem: the emitter input is a filesystem
 * one (the pipeline reads f->emitter_storage), and the store's errors
 * name the key. */
static void test_emitter_storage(void **state)
{
	(void)state;
	struct flt t;
	struct dp_err err = { 0 };
	assert_int_equal(flt_make(&t, (const char *[]){ "Rule", "$a x y true",
							"Emitter_Storage.type", "filesystem", NULL },
				  &err), 0);
	assert_int_equal(t.f.emitter_storage, DP_STORAGE_FILESYSTEM);
	assert_string_equal(t.f.emitter_storage_file, "t.conf");
	assert_int_equal(t.f.emitter_storage_line, 5);
	flt_free(&t);
	assert_int_equal(flt_make(&t, (const char *[]){ "Rule", "$a x y true", NULL }, &err), 0);
	assert_int_equal(t.f.emitter_storage, DP_STORAGE_MEMORY);
	flt_free(&t);
}

static void test_setup_errors(void **state)
{
	(void)state;
	assert_setup_err((const char *[]){ "Rule", "$a x y", NULL }, "t.conf:4: [FILTER] rewrite_tag",
			 "expected '$KEY REGEX NEW_TAG KEEP'");
	assert_setup_err((const char *[]){ "Rule", "$a x y z w", NULL }, "t.conf:4:", NULL);
	assert_setup_err((const char *[]){ "Rule", "$a x y true", "Rule", "$a x( y true", NULL },
			 "t.conf:5:", "'x('");
	assert_setup_err((const char *[]){ "Rule", "$a x y maybe", NULL }, "t.conf:4:", "KEEP");
	assert_setup_err((const char *[]){ "Rule", "$a[ x y true", NULL }, "t.conf:4:",
			 "record accessor");
	assert_setup_err((const char *[]){ "Rule", "$a x $TAG[x] true", NULL }, "t.conf:4:",
			 "$TAG[n]");
	assert_setup_err((const char *[]){ "Rule", "$a x y true", "Emitter_Storage.type",
					   "disk", NULL },
			 "t.conf:5:", "Emitter_Storage.type");
	assert_setup_err((const char *[]){ "Emitter_Name", "e", NULL }, "missing required key 'Rule'",
			 NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_doc_example, setup),
		cmocka_unit_test_setup(test_doc_placeholders, setup),
		cmocka_unit_test_setup(test_first_rule_wins, setup),
		cmocka_unit_test_setup(test_emit_failures, setup),
		cmocka_unit_test_setup(test_setup_errors, setup),
		cmocka_unit_test_setup(test_emitter_storage, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
