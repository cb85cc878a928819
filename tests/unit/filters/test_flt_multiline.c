/*
 * test_flt_multiline.c — the `multiline` filter (flt_multiline.c) driven as
 * a shard would: records written into a chunk one at a time, record()
 * called on each tail (a dropped one is rolled back), chunks cut between
 * batches, tick() with a monotonic clock, and a fake emitter that appends
 * what the filter emits to an output chunk, which is then checked field by
 * field and decoded with msgpack-c. The pipeline's [MULTILINE_PARSER]
 * reading does not exist yet: the set is built here and handed over in a
 * fake struct dp_pipeline.
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
#include "dp_filter.h"
#include "dp_plugin.h"
#include "dp_pipeline.h"
#include "flt_multiline.h"
#include "psr_ml.h"
#include "psr_parser.h"

#define MS 1000000ull

static struct dp_rec recs[2][DP_CHUNK_RECS];
static struct dp_field fields[2][DP_CHUNK_FIELDS];
static uint8_t data[2][DP_CHUNK_DATA];
static struct dp_chunk in, out;
static char out_tag[DP_CHUNK_RECS][32];
static int emit_fail;

static struct psr_ml_set *set;
static struct dp_pipeline pl;
static struct dp_conf *conf;
static struct dp_filter flt;
static void *ctx;
static struct dp_fx fx;

static int fake_emit(struct dp_fx *x, const char *tag, size_t tag_len, uint32_t sec, uint32_t nsec,
		     dp_build_fn build, void *arg)
{
	if (emit_fail)
		return -EAGAIN;
	if (!tag) {
		tag = x->tag;
		tag_len = x->tag_len;
	}
	snprintf(out_tag[out.nrecs], sizeof(out_tag[0]), "%.*s", (int)tag_len, tag);
	dp_chunk_rec_begin(&out, sec, nsec);
	if (build(&out, arg)) {
		dp_chunk_rec_abort(&out);
		return -EINVAL;
	}
	return dp_chunk_rec_end(&out) ? -EINVAL : 0;
}

static int setup(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	dp_chunk_init(&in, recs[0], fields[0], data[0]);
	dp_chunk_init(&out, recs[1], fields[1], data[1]);
	set = psr_ml_set_create(&err);
	assert_non_null(set);
	memset(&pl, 0, sizeof(pl));
	pl.ml_parsers = set;
	emit_fail = 0;
	memset(&fx, 0, sizeof(fx));
	fx.c = &in;
	fx.tag = "app";
	fx.tag_len = 3;
	fx.emit = fake_emit;
	return 0;
}

static void filter_fini(void)
{
	if (ctx)
		flt.ops->shard_ctx_destroy(ctx);
	ctx = NULL;
	if (flt.ops) {
		flt.ops->teardown(&flt);
		dp_opt_free(flt.ops->opts, flt.cfg);
		dp_opt_free(dp_filter_common_opts, &flt);
		free(flt.cfg);
	}
	memset(&flt, 0, sizeof(flt));
	dp_conf_destroy(conf);
	conf = NULL;
}

static int teardown(void **state)
{
	(void)state;
	filter_fini();
	psr_ml_set_destroy(set);
	return 0;
}

/* Configure the filter from a classic [FILTER] section, as the pipeline
 * will: common and plugin options applied, then setup. */
static int filter_init(const char *text, struct dp_err *err)
{
	static const char *const ignore[] = { "name", NULL };
	conf = dp_conf_load_buffer(text, strlen(text), "f.conf", err);
	assert_non_null(conf);
	const struct dp_conf_section *sec = &conf->sec[conf->nsec - 1];
	memset(&flt, 0, sizeof(flt));
	flt.ops = &flt_multiline_ops;
	flt.cfg = calloc(1, flt.ops->cfg_size);
	flt.sec = sec;
	flt.file = sec->file;
	flt.line = sec->line;
	flt.pl = &pl;
	const struct dp_opt *const tabs[] = { flt.ops->opts, dp_filter_common_opts };
	void *const cfgs[] = { flt.cfg, &flt };
	int rc = dp_opt_apply(tabs, cfgs, 2, sec, "[FILTER] multiline", ignore, err);
	if (!rc)
		rc = flt.ops->setup(&flt, err);
	if (!rc) {
		ctx = flt.ops->shard_ctx_create(&flt, 0);
		assert_non_null(ctx);
	}
	return rc;
}

/* One record {log, stream, n} through the filter; true when it stayed. */
static bool feed_rec(const char *tag, const char *line, uint32_t sec, int n, uint64_t now)
{
	dp_chunk_rec_begin(&in, sec, 7);
	dp_chunk_put_str(&in, "stream", 6, "stdout", 6);
	dp_chunk_put_str(&in, "log", 3, line, strlen(line));
	dp_chunk_put_int(&in, "n", 1, n);
	assert_int_equal(dp_chunk_rec_end(&in), 0);
	fx.tag = tag;
	fx.tag_len = strlen(tag);
	fx.now_ns = now;
	int v = flt.ops->record(ctx, &fx);
	if (v == DP_FILTER_DROP)
		dp_tail_drop(&in);
	return v == DP_FILTER_KEEP;
}

static void tick(uint64_t now, bool final)
{
	struct dp_fx t = fx;
	t.c = NULL;
	t.now_ns = now;
	flt.ops->tick(ctx, &t, final);
}

/* Record i of out: its log text, n and time, checked to be valid msgpack
 * with the same three fields. */
static const char *out_rec(unsigned i, int64_t *n, uint32_t *sec)
{
	static char text[PSR_ML_GROUP_MAX + 1];
	assert_true(i < out.nrecs);
	const struct dp_rec *r = &out.recs[i];
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	assert_int_equal(msgpack_unpack_next(&u, (const char *)out.data + r->off, r->len, &off),
			 MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, r->len);
	assert_int_equal(u.data.type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(u.data.via.array.ptr[1].via.map.size, r->nfields);
	msgpack_unpacked_destroy(&u);
	assert_int_equal(r->nfields, 3);
	const struct dp_field *f = dp_rec_field_get(&out, r, "log", 3);
	assert_non_null(f);
	snprintf(text, sizeof(text), "%.*s", (int)f->val_len, dp_field_val(&out, f));
	const struct dp_field *s = dp_rec_field_get(&out, r, "stream", 6);
	assert_non_null(s);
	assert_memory_equal(dp_field_val(&out, s), "stdout", 6);
	/* fields keep the first record's order: stream, log, n */
	assert_ptr_equal(dp_rec_fields(&out, r) + 1, f);
	*n = dp_field_int(&out, dp_rec_field_get(&out, r, "n", 1));
	*sec = r->ts_sec;
	return text;
}

static const char *const java_lines[] = {
	"Exception in thread \"main\" java.lang.IllegalStateException: ..null property",
	"     at com.example.myproject.Author.getBookIds(xx.java:38)",
	"     at com.example.myproject.Bootstrap.main(Bootstrap.java:14)",
	"Caused by: java.lang.NullPointerException",
	"     at com.example.myproject.Book.getId(Book.java:22)",
	"     at com.example.myproject.Author.getBookIds(Author.java:35)",
	"     ... 1 more",
};
#define JAVA_JOINED                                                                              \
	"Exception in thread \"main\" java.lang.IllegalStateException: ..null property\n"        \
	"     at com.example.myproject.Author.getBookIds(xx.java:38)\n"                         \
	"     at com.example.myproject.Bootstrap.main(Bootstrap.java:14)\n"                     \
	"Caused by: java.lang.NullPointerException\n"                                           \
	"     at com.example.myproject.Book.getId(Book.java:22)\n"                              \
	"     at com.example.myproject.Author.getBookIds(Author.java:35)\n"                     \
	"     ... 1 more"

/* Lines split over chunks (the input chunk is cut every 3 records), single
 * lines around the trace: everything with the key goes out through the
 * emitter, in order, the trace as one record carrying its first line's
 * fields and time. */
static void test_java_batches(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	assert_int_equal(filter_init("[FILTER]\n name multiline\n match *\n multiline.key_content log\n"
				     " multiline.parser java\n", &err), 0);
	unsigned k = 0;
	assert_false(feed_rec("app", "starting up", 10, 0, 0));
	for (unsigned i = 0; i < 7; i++) {
		if (++k % 3 == 0)
			dp_chunk_reset(&in);
		assert_false(feed_rec("app", java_lines[i], 20 + i, 100 + (int)i, i * MS));
	}
	assert_int_equal(out.nrecs, 1);   /* only "starting up" so far */
	assert_false(feed_rec("app", "single line", 40, 200, 10 * MS));
	assert_int_equal(in.nrecs, 0);
	assert_int_equal(out.nrecs, 3);
	int64_t n;
	uint32_t sec;
	assert_string_equal(out_rec(0, &n, &sec), "starting up");
	assert_string_equal(out_rec(1, &n, &sec), JAVA_JOINED);
	assert_int_equal(n, 100);
	assert_int_equal(sec, 20);
	assert_int_equal(out.recs[1].ts_nsec, 7);
	assert_string_equal(out_rec(2, &n, &sec), "single line");
	assert_int_equal(n, 200);
	for (unsigned i = 0; i < 3; i++)
		assert_string_equal(out_tag[i], "app");
	const struct flt_ml_stats *s = flt_ml_ctx_stats(ctx);
	assert_int_equal(s->groups, 1);
	assert_int_equal(s->passed, 2);
}

/* Two tags interleaved record by record: one stream each. */
static void test_interleaved_tags(void **state)
{
	(void)state;
	static const char *const py[] = {
		"Traceback (most recent call last):",
		"  File \"/app/main.py\", line 5, in <module>",
		"    main()",
		"ZeroDivisionError: division by zero",
	};
	struct dp_err err = { 0 };
	assert_int_equal(filter_init("[FILTER]\n name multiline\n match *\n multiline.parser java, python\n",
				     &err), 0);
	for (unsigned i = 0; i < 7; i++) {
		feed_rec("java.app", java_lines[i], 1, 1, 0);
		if (i < 4)
			feed_rec("py.app", py[i], 2, 2, 0);
	}
	/* python's last line ended its trace; java's is pending */
	assert_int_equal(out.nrecs, 1);
	int64_t n;
	uint32_t sec;
	assert_string_equal(out_rec(0, &n, &sec),
			    "Traceback (most recent call last):\n  File \"/app/main.py\", line 5, in "
			    "<module>\n    main()\nZeroDivisionError: division by zero");
	assert_string_equal(out_tag[0], "py.app");
	tick(0, true);
	assert_int_equal(out.nrecs, 2);
	assert_string_equal(out_rec(1, &n, &sec), JAVA_JOINED);
	assert_string_equal(out_tag[1], "java.app");
}

/* Records without the key, or with a non-string value, pass unchanged. */
static void test_no_key(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	assert_int_equal(filter_init("[FILTER]\n name multiline\n match *\n multiline.parser go\n", &err), 0);
	dp_chunk_rec_begin(&in, 1, 0);
	dp_chunk_put_str(&in, "message", 7, "panic: boom", 11);
	assert_int_equal(dp_chunk_rec_end(&in), 0);
	assert_int_equal(flt.ops->record(ctx, &fx), DP_FILTER_KEEP);
	dp_chunk_rec_begin(&in, 1, 0);
	dp_chunk_put_int(&in, "log", 3, 5);
	assert_int_equal(dp_chunk_rec_end(&in), 0);
	assert_int_equal(flt.ops->record(ctx, &fx), DP_FILTER_KEEP);
	assert_int_equal(out.nrecs, 0);
	assert_int_equal(in.nrecs, 2);
}

/* flush_ms: a pending trace goes out once no line continued it for that
 * long; the final tick flushes the rest. Custom parser from Fluent Bit's
 * docs, key from the filter's multiline.key_content. */
static void test_flush_ms(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	static const char ml[] =
		"[MULTILINE_PARSER]\n name multiline-regex-test\n type regex\n flush_timeout 1000\n"
		" rule \"start_state\" \"/([a-zA-Z]+ \\d+ \\d+\\:\\d+\\:\\d+)(.*)/\" \"cont\"\n"
		" rule \"cont\" \"/^\\s+at.*/\" \"cont\"\n";
	struct dp_conf *c = dp_conf_load_buffer(ml, strlen(ml), "p.conf", &err);
	assert_non_null(c);
	assert_int_equal(psr_ml_set_add(set, &c->sec[0], &err), 0);
	dp_conf_destroy(c);
	assert_int_equal(filter_init("[FILTER]\n name multiline\n match *\n"
				     " multiline.parser multiline-regex-test\n flush_ms 500\n", &err), 0);
	feed_rec("app", "Dec 14 06:41:08 Exception in thread \"main\" java.lang.RuntimeException: "
		 "Something has gone wrong, aborting!", 1, 1, 1000 * MS);
	feed_rec("app", "    at com.myproject.module.MyProject.badMethod(MyProject.java:22)", 2, 2,
		 1200 * MS);
	tick(1600 * MS, false);
	assert_int_equal(out.nrecs, 0);
	tick(1700 * MS, false);
	assert_int_equal(out.nrecs, 1);
	int64_t n;
	uint32_t sec;
	assert_string_equal(out_rec(0, &n, &sec),
			    "Dec 14 06:41:08 Exception in thread \"main\" java.lang.RuntimeException: "
			    "Something has gone wrong, aborting!\n"
			    "    at com.myproject.module.MyProject.badMethod(MyProject.java:22)");
	assert_int_equal(sec, 1);
	feed_rec("app", "Dec 14 06:41:09 again", 3, 3, 2000 * MS);
	tick(2001 * MS, true);
	assert_int_equal(out.nrecs, 2);
	assert_string_equal(out_rec(1, &n, &sec), "Dec 14 06:41:09 again");
}

/* One record {log, stream} of the given stream. */
static void feed_stream(const char *stream, const char *line, uint64_t now)
{
	dp_chunk_rec_begin(&in, 1, 0);
	dp_chunk_put_str(&in, "log", 3, line, strlen(line));
	if (stream)
		dp_chunk_put_str(&in, "stream", 6, stream, strlen(stream));
	assert_int_equal(dp_chunk_rec_end(&in), 0);
	fx.now_ns = now;
	if (flt.ops->record(ctx, &fx) == DP_FILTER_DROP)
		dp_tail_drop(&in);
}

static const char *out_log(unsigned i, const char **stream)
{
	static char text[256], st[32];
	const struct dp_rec *r = &out.recs[i];
	const struct dp_field *f = dp_rec_field_get(&out, r, "log", 3);
	assert_non_null(f);
	snprintf(text, sizeof(text), "%.*s", (int)f->val_len, dp_field_val(&out, f));
	const struct dp_field *s = dp_rec_field_get(&out, r, "stream", 6);
	snprintf(st, sizeof(st), "%.*s", s ? (int)s->val_len : 0, s ? dp_field_val(&out, s) : "");
	*stream = st;
	return text;
}

/* key_group (Fluent Bit's flb_ml.c, process_append: val_group picks the
 * stream group): interleaved traces of stdout and stderr join apart, a
 * record without the key is a group of its own; without key_group one
 * trace at a time. */
static void test_key_group(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	static const char ml[] =
		"[MULTILINE_PARSER]\n name g\n type regex\n key_content log\n key_group stream\n"
		" rule \"start_state\" \"/^E/\" \"c\"\n rule \"c\" \"/^ /\" \"c\"\n"
		"[MULTILINE_PARSER]\n name one\n type regex\n key_content log\n"
		" rule \"start_state\" \"/^E/\" \"c\"\n rule \"c\" \"/^ /\" \"c\"\n";
	struct dp_conf *c = dp_conf_load_buffer(ml, strlen(ml), "p.conf", &err);
	assert_non_null(c);
	assert_int_equal(psr_ml_set_add(set, &c->sec[0], &err), 0);
	assert_int_equal(psr_ml_set_add(set, &c->sec[1], &err), 0);
	dp_conf_destroy(c);
	assert_int_equal(filter_init("[FILTER]\n name multiline\n match *\n multiline.parser g\n",
				     &err), 0);
	feed_stream("stdout", "E out", 1);
	feed_stream("stderr", "E err", 2);
	feed_stream("stdout", " o1", 3);
	feed_stream(NULL, "E none", 4);
	feed_stream("stderr", " e1", 5);
	feed_stream(NULL, " n1", 6);
	assert_int_equal(out.nrecs, 0);
	tick(7, true);
	assert_int_equal(out.nrecs, 3);
	const char *want[][2] = { { "E out\n o1", "stdout" }, { "E err\n e1", "stderr" },
				  { "E none\n n1", "" } };
	for (unsigned i = 0; i < 3; i++) {
		const char *st;
		assert_string_equal(out_log(i, &st), want[i][0]);
		assert_string_equal(st, want[i][1]);
	}
	filter_fini();
	dp_chunk_reset(&out);
	assert_int_equal(filter_init("[FILTER]\n name multiline\n match *\n multiline.parser one\n",
				     &err), 0);
	feed_stream("stdout", "E out", 1);
	feed_stream("stderr", "E err", 2);   /* ends the stdout trace */
	feed_stream("stdout", " o1", 3);
	tick(4, true);
	assert_int_equal(out.nrecs, 2);
	const char *st;
	assert_string_equal(out_log(0, &st), "E out");
	assert_string_equal(out_log(1, &st), "E err\n o1");
}

/* A [MULTILINE_PARSER] with `parser` parses each record's key_content
 * first (Fluent Bit's src/multiline/flb_ml.c, ml_append_try_parser_type_map
 * then process_append; docs: administration/configuring-fluent-bit/
 * multiline-parsing, "parser: Name of a pre-defined parser that must be
 * applied to the incoming content before applying the regex rule"): the
 * joined record is the first line's PARSED map with key_content joined,
 * timed by its Time_Key (else the record's time); a record whose content
 * does not parse, or whose parsed map has no string key_content, ends the
 * open message (flb_ml_append_object flushes the last parser's streams)
 * and passes on unchanged. */
static void test_line_parser(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	static const char ml[] = "[PARSER]\n Name js\n Format json\n Time_Key ts\n Time_Format %s\n"
				 "[MULTILINE_PARSER]\n name p\n type regex\n key_content log\n"
				 " parser js\n rule \"start_state\" \"/^E/\" \"c\"\n"
				 " rule \"c\" \"/^ /\" \"c\"\n";
	struct dp_conf *c = dp_conf_load_buffer(ml, strlen(ml), "p.conf", &err);
	assert_non_null(c);
	struct psr_parsers *ps = psr_parsers_create();
	assert_non_null(ps);
	assert_int_equal(psr_parsers_add(ps, &c->sec[0], &err), 0);
	assert_int_equal(psr_ml_set_add(set, &c->sec[1], &err), 0);
	dp_conf_destroy(c);
	assert_int_equal(psr_ml_set_resolve(set, ps, &err), 0);
	assert_int_equal(filter_init("[FILTER]\n name multiline\n match *\n multiline.parser p\n",
				     &err), 0);
	feed_stream("stdout", "{\"log\":\"E boom\",\"lvl\":\"error\",\"ts\":\"1700000000\"}", 1);
	feed_stream("stdout", "{\"log\":\" at a\",\"lvl\":\"x\"}", 2);
	assert_int_equal(out.nrecs, 0);
	feed_stream("stdout", "plain text", 3);         /* does not parse */
	feed_stream("stdout", "{\"log\":\"E two\"}", 4);
	feed_stream("stdout", "{\"log\":5}", 5);       /* no string log once parsed */
	feed_stream("stdout", "{\"log\":\"E three\"}", 6);
	tick(7, true);
	assert_int_equal(out.nrecs, 5);
	const char *st;
	/* the parsed map: log joined, lvl of the first line; ts read */
	assert_string_equal(out_log(0, &st), "E boom\n at a");
	assert_string_equal(st, "");
	assert_int_equal(out.recs[0].nfields, 2);
	const struct dp_field *lvl = dp_rec_field_get(&out, &out.recs[0], "lvl", 3);
	assert_non_null(lvl);
	assert_memory_equal(dp_field_val(&out, lvl), "error", 5);
	assert_int_equal(out.recs[0].ts_sec, 1700000000);
	/* the unparsed record, unchanged (log, stream) */
	assert_string_equal(out_log(1, &st), "plain text");
	assert_string_equal(st, "stdout");
	assert_int_equal(out.recs[1].nfields, 2);
	/* no Time_Key: the record's time */
	assert_string_equal(out_log(2, &st), "E two");
	assert_int_equal(out.recs[2].nfields, 1);
	assert_int_equal(out.recs[2].ts_sec, 1);
	assert_string_equal(out_log(3, &st), "{\"log\":5}");
	assert_string_equal(st, "stdout");
	assert_string_equal(out_log(4, &st), "E three");
	filter_fini();
	psr_ml_set_destroy(set);   /* before the [PARSER]s its parsers point to */
	set = NULL;
	psr_parsers_destroy(ps);
}

/* When the emitter refuses a single line, it stays in place (not lost). */
static void test_emitter_full(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	assert_int_equal(filter_init("[FILTER]\n name multiline\n match *\n multiline.parser java\n", &err), 0);
	emit_fail = 1;
	assert_true(feed_rec("app", "hello", 1, 1, 0));
	assert_false(feed_rec("app", java_lines[0], 1, 1, 0));
	tick(0, true);
	const struct flt_ml_stats *s = flt_ml_ctx_stats(ctx);
	assert_int_equal(s->pass_kept, 1);
	assert_int_equal(s->emit_failed, 1);
	assert_int_equal(in.nrecs, 1);
}

/* More (input, tag) pairs than streams: the least recently used one is
 * flushed and reused. */
static void test_eviction(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	char tag[16];
	assert_int_equal(filter_init("[FILTER]\n name multiline\n match *\n multiline.parser java\n", &err), 0);
	for (unsigned i = 0; i <= FLT_ML_STREAMS; i++) {
		snprintf(tag, sizeof(tag), "t%u", i);
		feed_rec(tag, java_lines[0], 1, (int)i, i);
	}
	assert_int_equal(flt_ml_ctx_stats(ctx)->evictions, 1);
	assert_int_equal(out.nrecs, 1);
	assert_string_equal(out_tag[0], "t0");
	tick(FLT_ML_STREAMS + 1, true);
	assert_int_equal(out.nrecs, FLT_ML_STREAMS + 1);
}

/* The first record's other fields are kept up to FLT_ML_CTX_FIELDS. */
static void test_ctx_bound(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	char k[8];
	assert_int_equal(filter_init("[FILTER]\n name multiline\n match *\n multiline.parser java\n", &err), 0);
	dp_chunk_rec_begin(&in, 1, 0);
	for (unsigned i = 0; i < FLT_ML_CTX_FIELDS + 5; i++) {
		snprintf(k, sizeof(k), "k%u", i);
		if (i == 3)
			dp_chunk_put_str(&in, "log", 3, java_lines[0], strlen(java_lines[0]));
		dp_chunk_put_int(&in, k, strlen(k), i);
	}
	assert_int_equal(dp_chunk_rec_end(&in), 0);
	assert_int_equal(flt.ops->record(ctx, &fx), DP_FILTER_DROP);
	tick(0, true);
	assert_int_equal(out.nrecs, 1);
	assert_int_equal(out.recs[0].nfields, FLT_ML_CTX_FIELDS + 1);
	const struct dp_field *f = dp_rec_fields(&out, &out.recs[0]);
	assert_memory_equal(dp_field_key(&out, &f[3]), "log", 3);
	assert_int_equal(dp_field_int(&out, &f[4]), 3);
	assert_int_equal(flt_ml_ctx_stats(ctx)->ctx_fields_dropped, 5);
}

/* Built-in docker: pieces of one line (the json-file driver cuts at 16
 * KiB) are joined without a separator until a "log" that ends with "\n"
 * (fluent-bit src/multiline/flb_ml_parser_docker.c: type endswith "\n" on
 * key log; docs.fluentbit.io/manual/data-pipeline/filters/multiline-
 * stacktrace, "multiline.parser docker"). A whole line passes alone. */
static void test_builtin_docker(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	assert_int_equal(filter_init("[FILTER]\n name multiline\n match *\n multiline.parser docker\n",
				     &err), 0);
	uint64_t now = 1000 * MS;
	assert_false(feed_rec("app", "first part, ", 100, 1, now));
	assert_false(feed_rec("app", "second part, ", 100, 2, now));
	assert_false(feed_rec("app", "the end\n", 101, 3, now));
	assert_false(feed_rec("app", "a whole line\n", 102, 4, now));
	assert_int_equal(out.nrecs, 2);
	int64_t n;
	uint32_t sec;
	assert_string_equal(out_rec(0, &n, &sec), "first part, second part, the end\n");
	assert_int_equal(n, 1);
	assert_int_equal(sec, 100);
	assert_string_equal(out_rec(1, &n, &sec), "a whole line\n");
	assert_int_equal(n, 4);
}

/* docker and cri on raw container log lines in "log" (a tail input
 * without a parser): each is parsed by the built-in's own parser first, as
 * Fluent Bit's filter does (flb_ml_parser_docker.c / flb_ml_parser_cri.c
 * give the ml parser a line parser; flb_ml.c, ml_append_try_parser_type_map
 * parses key_content with it): the pieces of a line join per "stream",
 * the record is the first piece's parsed map timed by its "time". */
static void test_builtin_raw_lines(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	assert_int_equal(filter_init("[FILTER]\n name multiline\n match *\n multiline.parser docker, cri\n",
				     &err), 0);
	feed_stream(NULL, "{\"log\":\"part one, \",\"stream\":\"stdout\",\"time\":\"2021-02-01T01:40:03.53413Z\"}", 1);
	feed_stream(NULL, "{\"log\":\"err line\\n\",\"stream\":\"stderr\",\"time\":\"2021-02-01T01:40:04.5Z\"}", 2);
	feed_stream(NULL, "{\"log\":\"the end\\n\",\"stream\":\"stdout\",\"time\":\"2021-02-01T01:40:05.5Z\"}", 3);
	feed_stream(NULL, "2019-05-07T18:57:50.904275087+00:00 stdout P cri one, ", 4);
	feed_stream(NULL, "2019-05-07T18:57:51.904275087+00:00 stdout F cri two", 5);
	tick(6, true);
	assert_int_equal(out.nrecs, 3);
	const char *st;
	assert_string_equal(out_log(0, &st), "err line\n");
	assert_string_equal(st, "stderr");
	assert_int_equal(out.recs[0].ts_sec, 1612143604);
	assert_string_equal(out_log(1, &st), "part one, the end\n");
	assert_string_equal(st, "stdout");
	assert_int_equal(out.recs[1].ts_sec, 1612143603);
	assert_int_equal(out.recs[1].ts_nsec, 534130000);
	assert_non_null(dp_rec_field_get(&out, &out.recs[1], "time", 4));
	assert_string_equal(out_log(2, &st), "cri one, cri two");
	assert_int_equal(out.recs[2].ts_sec, 1557255470);
	assert_non_null(dp_rec_field_get(&out, &out.recs[2], "_p", 2));
}

/* One piece from Docker's fluentd log driver: {"source", "log",
 * partial_message, partial_id, partial_ordinal, partial_last, "n"}. */
static int feed_piece(const char *tag, const char *id, const char *log, int ord, bool last,
		      uint32_t sec, uint64_t now)
{
	char o[8];
	snprintf(o, sizeof(o), "%d", ord);
	dp_chunk_rec_begin(&in, sec, 5);
	dp_chunk_put_str(&in, "source", 6, "stdout", 6);
	dp_chunk_put_str(&in, "log", 3, log, strlen(log));
	if (id) {
		dp_chunk_put_str(&in, "partial_message", 15, "true", 4);
		dp_chunk_put_str(&in, "partial_id", 10, id, strlen(id));
		dp_chunk_put_str(&in, "partial_ordinal", 15, o, strlen(o));
		dp_chunk_put_str(&in, "partial_last", 12, last ? "true" : "false", last ? 4 : 5);
	}
	dp_chunk_put_int(&in, "n", 1, ord);
	assert_int_equal(dp_chunk_rec_end(&in), 0);
	fx.tag = tag;
	fx.tag_len = strlen(tag);
	fx.now_ns = now;
	int v = flt.ops->record(ctx, &fx);
	if (v == DP_FILTER_DROP)
		dp_tail_drop(&in);
	return v;
}

/* The tail record of in as "source,log,n" keys and its log text. */
static const char *in_rec(unsigned i, char *keys, size_t cap)
{
	static char text[256];
	const struct dp_rec *r = &in.recs[i];
	keys[0] = '\0';
	for (unsigned k = 0; k < r->nfields; k++) {
		const struct dp_field *f = dp_rec_fields(&in, r) + k;
		snprintf(keys + strlen(keys), cap - strlen(keys), "%s%.*s", k ? "," : "", (int)f->key_len,
			 dp_field_key(&in, f));
	}
	const struct dp_field *f = dp_rec_field_get(&in, r, "log", 3);
	snprintf(text, sizeof(text), "%.*s", f ? (int)f->val_len : 0, f ? dp_field_val(&in, f) : "");
	return text;
}

/* mode partial_message (Fluent Bit's plugins/filter_multiline/ml.c,
 * ml_filter_partial; ml_concat.c; docs pipeline/filters/multiline-
 * stacktrace, "mode partial_message"): pieces join per partial_id into
 * the first piece's record, partial_* keys left out and key_content
 * last, in place of the last piece; other records go on in place; an
 * unfinished message goes out through the emitter after flush_ms. */
static void test_partial_message(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	char keys[128];
	assert_int_equal(filter_init("[FILTER]\n name multiline\n match *\n mode partial_message\n"
				     " multiline.key_content log\n flush_ms 500\n", &err), 0);
	uint64_t now = 1000 * MS;
	assert_int_equal(feed_piece("app", "id1", "first 16k, ", 1, false, 100, now), DP_FILTER_DROP);
	assert_int_equal(feed_piece("app", NULL, "a whole line", 0, false, 101, now), DP_FILTER_KEEP);
	assert_int_equal(feed_piece("app", "id2", "other ", 1, false, 102, now), DP_FILTER_DROP);
	assert_int_equal(feed_piece("app", "id1", "second, ", 2, false, 103, now), DP_FILTER_DROP);
	assert_int_equal(feed_piece("app", "id1", "end", 3, true, 104, now), DP_FILTER_KEEP);
	assert_int_equal(in.nrecs, 2);
	assert_string_equal(in_rec(0, keys, sizeof(keys)), "a whole line");
	assert_string_equal(keys, "source,log,n");
	assert_string_equal(in_rec(1, keys, sizeof(keys)), "first 16k, second, end");
	assert_string_equal(keys, "source,n,log");
	assert_int_equal(in.recs[1].ts_sec, 100);
	assert_int_equal(dp_field_int(&in, dp_rec_field_get(&in, &in.recs[1], "n", 1)), 1);
	assert_int_equal(out.nrecs, 0);
	tick(now + 400 * MS, false);
	assert_int_equal(out.nrecs, 0);
	tick(now + 600 * MS, false);   /* id2: no piece for flush_ms */
	assert_int_equal(out.nrecs, 1);
	const char *st;
	assert_string_equal(out_log(0, &st), "other ");
	assert_int_equal(out.recs[0].ts_sec, 102);
	assert_int_equal(flt_ml_ctx_stats(ctx)->groups, 2);
}

/* Built-in cri: "_p" says P (partial) or F (full, the last piece); "log"
 * is joined (flb_ml_parser_cri.c: type equal "F", key_content log,
 * key_pattern _p). */
static void test_builtin_cri(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	assert_int_equal(filter_init("[FILTER]\n name multiline\n match *\n multiline.parser cri\n",
				     &err), 0);
	static const struct { const char *p, *log; } recs_in[] = {
		{ "P", "one " }, { "P", "two " }, { "F", "three" }, { "F", "alone" },
	};
	for (unsigned i = 0; i < 4; i++) {
		dp_chunk_rec_begin(&in, 200 + i, 0);
		dp_chunk_put_str(&in, "stream", 6, "stdout", 6);
		dp_chunk_put_str(&in, "log", 3, recs_in[i].log, strlen(recs_in[i].log));
		dp_chunk_put_str(&in, "_p", 2, recs_in[i].p, 1);
		assert_int_equal(dp_chunk_rec_end(&in), 0);
		fx.now_ns = 1000 * MS;
		assert_int_equal(flt.ops->record(ctx, &fx), DP_FILTER_DROP);
		dp_tail_drop(&in);
	}
	assert_int_equal(out.nrecs, 2);
	const struct dp_field *f = dp_rec_field_get(&out, &out.recs[0], "log", 3);
	assert_non_null(f);
	assert_int_equal(f->val_len, 13);
	assert_memory_equal(dp_field_val(&out, f), "one two three", 13);
	f = dp_rec_field_get(&out, &out.recs[1], "log", 3);
	assert_memory_equal(dp_field_val(&out, f), "alone", 5);
	assert_int_equal(out.recs[0].ts_sec, 200);
}

static void expect_err(const char *text, const char *msg)
{
	struct dp_err err = { 0 };
	assert_int_not_equal(filter_init(text, &err), 0);
	print_message("%s\n", err.msg);
	if (!strstr(err.msg, msg))
		fail_msg("got '%s', want '%s'", err.msg, msg);
	filter_fini();
}

static void test_errors(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	expect_err("[FILTER]\n name multiline\n match *\n multiline.parser java\n mode partial_message\n",
		   "f.conf:5: [FILTER] multiline: 'mode' partial_message requires 'multiline.key_content'");
	expect_err("[FILTER]\n name multiline\n match *\n multiline.parser java\n mode other\n",
		   "f.conf:5: [FILTER] multiline: invalid value 'other' for 'mode'");
	assert_int_equal(filter_init("[FILTER]\n name multiline\n match *\n multiline.parser java\n buffer off\n",
				     &err), 0);   /* accepted; sluice buffers in both cases */
	filter_fini();
	expect_err("[FILTER]\n name multiline\n match *\n multiline.parser java\n emitter_storage.type disk\n",
		   "f.conf:5: [FILTER] multiline: invalid value 'disk' for 'emitter_storage.type'");
	/* filesystem: the emitter is a filesystem input (the pipeline reads
	 * it), the key's place kept for the store's errors */
	assert_int_equal(filter_init("[FILTER]\n name multiline\n match *\n multiline.parser java\n"
				     " emitter_storage.type filesystem\n", &err), 0);
	assert_int_equal(flt.emitter_storage, DP_STORAGE_FILESYSTEM);
	assert_int_equal(flt.emitter_storage_line, 5);
	filter_fini();
	expect_err("[FILTER]\n name multiline\n match *\n multiline.parser java, cobol\n",
		   "f.conf:4: [FILTER] multiline: 'multiline.parser': unknown multiline parser 'cobol'");
	expect_err("[FILTER]\n name multiline\n match *\n multiline.parser java,,go\n",
		   "f.conf:4: [FILTER] multiline: invalid 'multiline.parser': empty");
	expect_err("[FILTER]\n name multiline\n match *\n multiline.parser java\n multiline.parser "
		   "go,go,go,go,go,go,go,go\n",
		   "f.conf:5: [FILTER] multiline: 'multiline.parser': at most 8 parsers");
	expect_err("[FILTER]\n name multiline\n match *\n", "f.conf:1: [FILTER] multiline: missing required key 'multiline.parser'");
	expect_err("[FILTER]\n name multiline\n match *\n multiline.parser java\n flush_ms 0\n",
		   "f.conf:5: [FILTER] multiline: invalid value '0' for 'flush_ms'");
	expect_err("[FILTER]\n name multiline\n match *\n multiline.parser java\n multiline.flavour x\n",
		   "f.conf:5: [FILTER] multiline: unknown key 'multiline.flavour'");
	/* no set at all (the pipeline did not make one) */
	pl.ml_parsers = NULL;
	expect_err("[FILTER]\n name multiline\n match *\n multiline.parser java\n",
		   "unknown multiline parser 'java'");
	pl.ml_parsers = set;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_java_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interleaved_tags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_ms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emitter_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eviction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctx_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_builtin_docker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_builtin_cri, setup, teardown),
		cmocka_unit_test_setup_teardown(test_builtin_raw_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_line_parser, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
