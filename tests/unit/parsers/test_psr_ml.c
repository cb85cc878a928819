/*
 * test_psr_ml.c — multiline parsers and streams (psr_ml.h): the built-in
 * java, python, go, ruby and nodejs parsers over real stack traces (the
 * inputs of Fluent Bit's tests/internal/multiline.c and its docs), the
 * docs' custom "multiline-regex-test" parser read from a classic
 * [MULTILINE_PARSER] section, interleaved streams, several parsers on one
 * stream, flush_timeout through ticks, the 64 KiB bound, endswith,
 * whole inputs against the records Fluent Bit makes of them (its test
 * vectors and realistic traces), and every configuration error with its
 * file:line.
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
#include "psr_ml.h"

#define MS 1000000ull

/* What a stream handed out. */
struct out {
	char *text[64];
	uint32_t sec[64];
	bool trunc[64];
	unsigned n, begins;
};

static void on_begin(void *arg)
{
	((struct out *)arg)->begins++;
}

static void on_flush(void *arg, const struct psr_ml_group *g)
{
	struct out *o = arg;
	assert_true(o->n < 64);
	o->text[o->n] = strndup(g->text, g->len);
	o->sec[o->n] = g->sec;
	o->trunc[o->n] = g->truncated;
	o->n++;
}

static void out_free(struct out *o)
{
	for (unsigned i = 0; i < o->n; i++)
		free(o->text[i]);
	memset(o, 0, sizeof(*o));
}

static struct psr_ml_set *set;
static struct psr_ml_stream *st, *st2;

static int setup(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	set = psr_ml_set_create(&err);
	assert_non_null(set);
	st = malloc(sizeof(*st));
	st2 = malloc(sizeof(*st2));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	psr_ml_set_destroy(set);
	free(st);
	free(st2);
	return 0;
}

static void open_stream(struct psr_ml_stream *s, const char *names, uint64_t timeout_ns, struct out *o)
{
	const struct psr_ml_parser *p[PSR_ML_MAX_PARSERS];
	unsigned n = 0;
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", names);
	for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		p[n] = psr_ml_set_find(set, t);
		assert_non_null(p[n]);
		n++;
	}
	memset(o, 0, sizeof(*o));
	assert_int_equal(psr_ml_stream_init(s, p, n, timeout_ns, on_begin, on_flush, o), 0);
}

/* Join lines[a..b) with "\n", as a group should read. */
static char *join(const char *const *lines, unsigned a, unsigned b)
{
	size_t n = 0;
	for (unsigned i = a; i < b; i++)
		n += strlen(lines[i]) + 1;
	char *s = calloc(1, n + 1), *w = s;
	for (unsigned i = a; i < b; i++)
		w += sprintf(w, "%s%s", i > a ? "\n" : "", lines[i]);
	return s;
}

static int push(struct psr_ml_stream *s, const char *line, uint32_t sec, uint64_t now)
{
	return psr_ml_stream_push(s, line, strlen(line), sec, 0, now);
}

/* ---- built-ins over Fluent Bit's test traces ---- */

static const char *const java_lines[] = {
	"Exception in thread \"main\" java.lang.IllegalStateException: ..null property",
	"     at com.example.myproject.Author.getBookIds(xx.java:38)",
	"     at com.example.myproject.Bootstrap.main(Bootstrap.java:14)",
	"Caused by: java.lang.NullPointerException",
	"     at com.example.myproject.Book.getId(Book.java:22)",
	"     at com.example.myproject.Author.getBookIds(Author.java:35)",
	"     ... 1 more",
	"single line",
};

static void test_java(void **state)
{
	(void)state;
	struct out o;
	open_stream(st, "java", 0, &o);
	assert_int_equal(push(st, "before the trace", 99, 0), PSR_ML_PASS);
	assert_int_equal(push(st, java_lines[0], 100, 1), PSR_ML_START);
	for (unsigned i = 1; i < 7; i++)
		assert_int_equal(push(st, java_lines[i], 100 + i, 1 + i), PSR_ML_CONT);
	assert_int_equal(o.n, 0);
	assert_int_equal(push(st, java_lines[7], 200, 10), PSR_ML_PASS);
	assert_int_equal(o.n, 1);
	char *want = join(java_lines, 0, 7);
	assert_string_equal(o.text[0], want);
	assert_int_equal(o.sec[0], 100);  /* the first line's time */
	assert_int_equal(o.begins, 1);
	assert_false(psr_ml_stream_is_open(st));
	free(want);
	out_free(&o);
	psr_ml_stream_fini(st);
}

static const char *const python_lines[] = {
	"Traceback (most recent call last):",
	"  File \"/base/data/home/runtimes/python27/python27_lib/versions/third_party/webapp2-2.5.2/webapp2.py\", line 1535, in __call__",
	"    rv = self.handle_exception(request, response, e)",
	"  File \"/base/data/home/apps/s~nearfieldspy/1.378705245900539993/nearfieldspy.py\", line 17, in start",
	"    return get()",
	"  File \"/base/data/home/apps/s~nearfieldspy/1.378705245900539993/nearfieldspy.py\", line 5, in get",
	"    raise Exception('spam', 'eggs')",
	"Exception: ('spam', 'eggs')",
	"hello world, not multiline",
};

static void test_python(void **state)
{
	(void)state;
	struct out o;
	open_stream(st, "python", 0, &o);
	assert_int_equal(push(st, python_lines[0], 1, 0), PSR_ML_START);
	for (unsigned i = 1; i < 8; i++)
		assert_int_equal(push(st, python_lines[i], 1, 0), PSR_ML_CONT);
	/* The exception line ends the trace at once, without waiting. */
	assert_int_equal(o.n, 1);
	char *want = join(python_lines, 0, 8);
	assert_string_equal(o.text[0], want);
	assert_int_equal(push(st, python_lines[8], 1, 0), PSR_ML_PASS);
	assert_int_equal(o.n, 1);
	free(want);
	out_free(&o);
	psr_ml_stream_fini(st);
}

static const char *const go_lines[] = {
	"panic: my panic",
	"",
	"goroutine 4 [running]:",
	"panic(0x45cb40, 0x47ad70)",
	"\t/usr/local/go/src/runtime/panic.go:542 +0x46c fp=0xc42003f7b8 sp=0xc42003f710 pc=0x422f7c",
	"main.main.func1(0xc420024120)",
	"\tfoo.go:6 +0x39 fp=0xc42003f7d8 sp=0xc42003f7b8 pc=0x451339",
	"runtime.goexit()",
	"\t/usr/local/go/src/runtime/asm_amd64.s:2337 +0x1 fp=0xc42003f7e0 sp=0xc42003f7d8 pc=0x44b4d1",
	"created by main.main",
	"\tfoo.go:5 +0x58",
	"",
	"goroutine 1 [chan receive]:",
	"runtime.gopark(0x4739b8, 0xc420024178, 0x46fcd7, 0xc, 0xc420028e17, 0x3)",
	"\t/usr/local/go/src/runtime/proc.go:280 +0x12c fp=0xc420053e30 sp=0xc420053e00 pc=0x42503c",
	"main.main()",
	"\tfoo.go:9 +0x6f fp=0xc420053f80 sp=0xc420053f50 pc=0x4512ef",
	"",
	"goroutine 3 [GC sweep wait]:",
	"runtime.gopark(0x4739b8, 0x4ad7e0, 0x46fdd2, 0xd, 0x419914, 0x1)",
	"\t/usr/local/go/src/runtime/proc.go:280 +0x12c fp=0xc42003ef60 sp=0xc42003ef30 pc=0x42503c",
	"created by runtime.gcenable",
	"\t/usr/local/go/src/runtime/mgc.go:216 +0x58",
	"one more line, no multiline",
};
#define GO_N (sizeof(go_lines) / sizeof(go_lines[0]))

static void test_go(void **state)
{
	(void)state;
	struct out o;
	open_stream(st, "go", 0, &o);
	assert_int_equal(push(st, go_lines[0], 7, 0), PSR_ML_START);
	for (unsigned i = 1; i < GO_N - 1; i++)
		assert_int_equal(push(st, go_lines[i], 7, 0), PSR_ML_CONT);
	assert_int_equal(push(st, go_lines[GO_N - 1], 7, 0), PSR_ML_PASS);
	assert_int_equal(o.n, 1);
	char *want = join(go_lines, 0, GO_N - 1);
	assert_string_equal(o.text[0], want);
	/* empty lines keep their place: "panic: my panic\n\ngoroutine 4" */
	assert_memory_equal(o.text[0], "panic: my panic\n\ngoroutine 4", 28);
	free(want);
	out_free(&o);
	psr_ml_stream_fini(st);
}

/* Lines that already end with "\n" (Docker's log field) get no second
 * one; an empty continuation line still counts. */
static void test_go_newlines(void **state)
{
	(void)state;
	struct out o;
	open_stream(st, "go", 0, &o);
	assert_int_equal(push(st, "panic: my panic\n", 1, 0), PSR_ML_START);
	assert_int_equal(push(st, "\n", 1, 0), PSR_ML_CONT);
	assert_int_equal(push(st, "goroutine 4 [running]:\n", 1, 0), PSR_ML_CONT);
	assert_int_equal(push(st, "main.main.func1(0xc420024120)\n", 1, 0), PSR_ML_CONT);
	psr_ml_stream_flush(st);
	assert_int_equal(o.n, 1);
	assert_string_equal(o.text[0],
			    "panic: my panic\n\ngoroutine 4 [running]:\nmain.main.func1(0xc420024120)\n");
	out_free(&o);
	psr_ml_stream_fini(st);
}

static const char *const node_lines[] = {
	"TypeError: Cannot read properties of undefined (reading 'id')",
	"    at getUser (/app/src/users.js:12:21)",
	"    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)",
	"    at next (/app/node_modules/express/lib/router/route.js:144:13)",
	"    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
};

static void test_nodejs(void **state)
{
	(void)state;
	struct out o;
	open_stream(st, "nodejs", 0, &o);
	assert_int_equal(push(st, "server listening on 8080", 1, 0), PSR_ML_PASS);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(push(st, node_lines[i], 1, 0), i ? PSR_ML_CONT : PSR_ML_START);
	/* a plain "Error:" starts the next trace and flushes this one */
	assert_int_equal(push(st, "Error: connect ECONNREFUSED 127.0.0.1:5432", 2, 0), PSR_ML_START);
	assert_int_equal(push(st, "    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)", 2, 0),
			 PSR_ML_CONT);
	assert_int_equal(o.n, 1);
	char *want = join(node_lines, 0, 5);
	assert_string_equal(o.text[0], want);
	psr_ml_stream_flush(st);
	assert_string_equal(o.text[1], "Error: connect ECONNREFUSED 127.0.0.1:5432\n"
			    "    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)");
	free(want);
	out_free(&o);
	psr_ml_stream_fini(st);
}

static void test_ruby(void **state)
{
	(void)state;
	struct out o;
	open_stream(st, "ruby", 0, &o);
	assert_int_equal(push(st, "/app/models/user.rb:12:in `name': undefined method `x' for nil (NoMethodError)", 1, 0),
			 PSR_ML_START);
	assert_int_equal(push(st, "\tfrom /app/main.rb:5:in `<main>'", 1, 0), PSR_ML_CONT);
	assert_int_equal(push(st, "done", 1, 0), PSR_ML_PASS);
	assert_int_equal(o.n, 1);
	assert_string_equal(o.text[0], "/app/models/user.rb:12:in `name': undefined method `x' for nil "
			    "(NoMethodError)\n\tfrom /app/main.rb:5:in `<main>'");
	out_free(&o);
	psr_ml_stream_fini(st);
}

/* Two sources interleaved line by line: each stream keeps its own group. */
static void test_interleaved(void **state)
{
	(void)state;
	struct out a, b;
	open_stream(st, "java", 0, &a);
	open_stream(st2, "python", 0, &b);
	for (unsigned i = 0; i < 9; i++) {
		if (i < 8)
			push(st, java_lines[i], 1, 0);
		push(st2, python_lines[i], 2, 0);
	}
	assert_int_equal(a.n, 1);
	assert_int_equal(b.n, 1);
	char *want = join(java_lines, 0, 7);
	assert_string_equal(a.text[0], want);
	free(want);
	want = join(python_lines, 0, 8);
	assert_string_equal(b.text[0], want);
	free(want);
	out_free(&a);
	out_free(&b);
	psr_ml_stream_fini(st);
	psr_ml_stream_fini(st2);
}

/* A comma list: the parser of the open group goes first, the others in
 * order when it does not take the line. */
static void test_several_parsers(void **state)
{
	(void)state;
	struct out o;
	open_stream(st, "java,python,go", 0, &o);
	assert_int_equal(push(st, "plain", 1, 0), PSR_ML_PASS);
	for (unsigned i = 0; i < 7; i++)
		push(st, java_lines[i], 1, 0);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(push(st, python_lines[i], 2, 0), i ? PSR_ML_CONT : PSR_ML_START);
	assert_int_equal(o.n, 2);   /* java flushed by the traceback, python by its last line */
	assert_int_equal(push(st, go_lines[0], 3, 0), PSR_ML_START);
	assert_int_equal(push(st, go_lines[1], 3, 0), PSR_ML_CONT);
	assert_int_equal(push(st, go_lines[2], 3, 0), PSR_ML_CONT);
	assert_int_equal(push(st, "plain again", 4, 0), PSR_ML_PASS);
	assert_int_equal(o.n, 3);
	char *w0 = join(java_lines, 0, 7), *w1 = join(python_lines, 0, 8), *w2 = join(go_lines, 0, 3);
	assert_string_equal(o.text[0], w0);
	assert_string_equal(o.text[1], w1);
	assert_string_equal(o.text[2], w2);
	free(w0);
	free(w1);
	free(w2);
	out_free(&o);
	psr_ml_stream_fini(st);
}

/* ---- custom parsers from sections ---- */

static int add_text(const char *text, struct dp_err *err)
{
	struct dp_conf *c = dp_conf_load_buffer(text, strlen(text), "ml.conf", err);
	assert_non_null(c);
	int rc = 0;
	for (unsigned i = 0; i < c->nsec && !rc; i++)
		rc = psr_ml_set_add(set, &c->sec[i], err);
	dp_conf_destroy(c);
	return rc;
}

/* Fluent Bit's docs example, parsers_multiline.conf + test.log. */
static const char regex_test_conf[] =
	"[MULTILINE_PARSER]\n"
	"    name          multiline-regex-test\n"
	"    type          regex\n"
	"    flush_timeout 1000\n"
	"    # rules |   state name  | regex pattern                  | next state\n"
	"    rule      \"start_state\"   \"/([a-zA-Z]+ \\d+ \\d+\\:\\d+\\:\\d+)(.*)/\"  \"cont\"\n"
	"    rule      \"cont\"          \"/^\\s+at.*/\"                     \"cont\"\n";

static const char *const test_log[] = {
	"single line...",
	"Dec 14 06:41:08 Exception in thread \"main\" java.lang.RuntimeException: Something has gone wrong, aborting!",
	"    at com.myproject.module.MyProject.badMethod(MyProject.java:22)",
	"    at com.myproject.module.MyProject.oneMoreMethod(MyProject.java:18)",
	"    at com.myproject.module.MyProject.anotherMethod(MyProject.java:14)",
	"    at com.myproject.module.MyProject.someMethod(MyProject.java:10)",
	"    at com.myproject.module.MyProject.main(MyProject.java:6)",
	"another line...",
};

static void test_custom_regex(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	assert_int_equal(add_text(regex_test_conf, &err), 0);
	const struct psr_ml_parser *p = psr_ml_set_find(set, "multiline-regex-test");
	assert_non_null(p);
	assert_int_equal(psr_ml_parser_flush_timeout_ns(p), 1000 * MS);
	struct out o;
	open_stream(st, "multiline-regex-test", 0, &o);
	assert_int_equal(push(st, test_log[0], 1, 0), PSR_ML_PASS);
	for (unsigned i = 1; i < 7; i++)
		assert_int_equal(push(st, test_log[i], 1, 0), i > 1 ? PSR_ML_CONT : PSR_ML_START);
	assert_int_equal(push(st, test_log[7], 1, 0), PSR_ML_PASS);
	assert_int_equal(o.n, 1);
	char *want = join(test_log, 1, 7);
	assert_string_equal(o.text[0], want);
	free(want);
	out_free(&o);
	psr_ml_stream_fini(st);
}

/* flush_timeout: the parser's (custom 1000 ms, built-in 4000 ms) or the
 * stream's own; counted from the last line appended. */
static void test_flush_timeout(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	assert_int_equal(add_text(regex_test_conf, &err), 0);
	struct out o;
	open_stream(st, "multiline-regex-test", 0, &o);
	push(st, test_log[1], 5, 1000 * MS);
	push(st, test_log[2], 5, 1500 * MS);
	psr_ml_stream_tick(st, 2400 * MS);
	assert_int_equal(o.n, 0);
	psr_ml_stream_tick(st, 2500 * MS);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.sec[0], 5);
	out_free(&o);
	psr_ml_stream_fini(st);

	open_stream(st, "java", 0, &o);
	push(st, java_lines[0], 1, 0);
	psr_ml_stream_tick(st, 3999 * MS);
	assert_int_equal(o.n, 0);
	psr_ml_stream_tick(st, 4000 * MS);
	assert_int_equal(o.n, 1);
	psr_ml_stream_tick(st, 9000 * MS);   /* nothing open: nothing more */
	assert_int_equal(o.n, 1);
	out_free(&o);
	psr_ml_stream_fini(st);

	open_stream(st, "java", 50 * MS, &o);
	push(st, java_lines[0], 1, 0);
	psr_ml_stream_tick(st, 50 * MS);
	assert_int_equal(o.n, 1);
	out_free(&o);
	psr_ml_stream_fini(st);
}

/* A group never exceeds PSR_ML_GROUP_MAX: it goes out cut and marked, and
 * the rest of the trace passes through line by line. */
static void test_bound(void **state)
{
	(void)state;
	struct out o;
	open_stream(st, "java", 0, &o);
	char *frame = malloc(1001);
	memset(frame, 'x', 1000);
	memcpy(frame, "\tat ", 4);
	frame[1000] = '\0';
	assert_int_equal(push(st, java_lines[0], 1, 0), PSR_ML_START);
	unsigned i = 0;
	while (o.n == 0) {
		assert_int_equal(push(st, frame, 1, 0), PSR_ML_CONT);
		assert_true(++i < 100);
	}
	assert_true(o.trunc[0]);
	assert_int_equal(strlen(o.text[0]), PSR_ML_GROUP_MAX);
	assert_int_equal(st->truncations, 1);
	assert_int_equal(push(st, frame, 1, 0), PSR_ML_PASS);
	/* one line over the bound on its own */
	char *big = malloc(PSR_ML_GROUP_MAX + 10);
	memset(big, 'E', PSR_ML_GROUP_MAX + 9);
	memcpy(big, "xException: ", 12);
	big[PSR_ML_GROUP_MAX + 9] = '\0';
	assert_int_equal(push(st, big, 1, 0), PSR_ML_START);
	assert_int_equal(o.n, 2);
	assert_true(o.trunc[1]);
	free(big);
	free(frame);
	out_free(&o);
	psr_ml_stream_fini(st);
}

/* endswith (Fluent Bit's test: a trailing backslash continues the line,
 * negate on): pieces are joined without a separator. */
static void test_endswith(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	assert_int_equal(add_text("[MULTILINE_PARSER]\n name bs\n type endswith\n match_string \\\n"
				  " negate on\n", &err), 0);
	struct out o;
	open_stream(st, "bs", 0, &o);
	assert_int_equal(push(st, "1a. some multiline log \\", 1, 0), PSR_ML_START);
	assert_int_equal(push(st, "1b. some multiline log", 1, 0), PSR_ML_CONT);
	assert_int_equal(push(st, "3a. non multiline 1", 1, 0), PSR_ML_START);
	assert_int_equal(push(st, "", 1, 0), PSR_ML_PASS);  /* shorter than match_string */
	assert_int_equal(o.n, 2);
	assert_string_equal(o.text[0], "1a. some multiline log \\1b. some multiline log");
	assert_string_equal(o.text[1], "3a. non multiline 1");
	out_free(&o);
	psr_ml_stream_fini(st);

	assert_int_equal(add_text("[MULTILINE_PARSER]\n name eq\n type equal\n match_string END\n", &err), 0);
	open_stream(st, "eq", 0, &o);
	assert_int_equal(push(st, "a", 1, 0), PSR_ML_START);
	assert_int_equal(push(st, "b", 1, 0), PSR_ML_CONT);
	assert_int_equal(push(st, "END", 1, 0), PSR_ML_CONT);
	assert_int_equal(o.n, 1);
	assert_string_equal(o.text[0], "abEND");
	out_free(&o);
	psr_ml_stream_fini(st);
}

/* ---- record vectors: what Fluent Bit makes of a whole input ----
 *
 * run() pushes every line and collects the records in the order a caller
 * emits them: each completed group, and each line the stream passes
 * through alone (after the group that line flushed). The stream is
 * flushed at the end, as at a flush_timeout or shutdown. */

static void run(const char *names, const char *const *in, unsigned n, struct out *o)
{
	open_stream(st, names, 0, o);
	for (unsigned i = 0; i < n; i++)
		if (push(st, in[i], 1, i) == PSR_ML_PASS) {
			assert_true(o->n < 64);
			o->text[o->n++] = strdup(in[i]);
		}
	psr_ml_stream_flush(st);
	psr_ml_stream_fini(st);
}

static void expect_records(struct out *o, const char *const *want, unsigned n)
{
	for (unsigned i = 0; i < o->n && i < n; i++)
		if (strcmp(o->text[i], want[i]))
			fail_msg("record %u: got\n'%s'\nwant\n'%s'", i, o->text[i], want[i]);
	assert_int_equal(o->n, n);
	out_free(o);
}

/* Fluent Bit's tests/internal/multiline.c, inputs and expected records as
 * they are there: lines ending with "\n" (so no separator is added) fed to
 * the python (raw text) and java (key_content "log") built-ins. */
static void test_fb_vectors_builtin(void **state)
{
	(void)state;
	struct out o;
	const char *py_in[] = {
		"Traceback (most recent call last):\n",
		"  File \"/base/data/home/runtimes/python27/python27_lib/versions/third_party/webapp2-2.5.2/webapp2.py\", line 1535, in __call__\n",
		"    rv = self.handle_exception(request, response, e)\n",
		"  File \"/base/data/home/apps/s~nearfieldspy/1.378705245900539993/nearfieldspy.py\", line 17, in start\n",
		"    return get()\n",
		"  File \"/base/data/home/apps/s~nearfieldspy/1.378705245900539993/nearfieldspy.py\", line 5, in get\n",
		"    raise Exception('spam', 'eggs')\n",
		"Exception: ('spam', 'eggs')\n",
		"hello world, not multiline\n",
	};
	const char *py_out[] = {
		"Traceback (most recent call last):\n"
		"  File \"/base/data/home/runtimes/python27/python27_lib/versions/third_party/webapp2-2.5.2/webapp2.py\", line 1535, in __call__\n"
		"    rv = self.handle_exception(request, response, e)\n"
		"  File \"/base/data/home/apps/s~nearfieldspy/1.378705245900539993/nearfieldspy.py\", line 17, in start\n"
		"    return get()\n"
		"  File \"/base/data/home/apps/s~nearfieldspy/1.378705245900539993/nearfieldspy.py\", line 5, in get\n"
		"    raise Exception('spam', 'eggs')\n"
		"Exception: ('spam', 'eggs')\n",
		"hello world, not multiline\n",
	};
	run("python", py_in, 9, &o);
	expect_records(&o, py_out, 2);

	const char *java_in[] = {
		"Exception in thread \"main\" java.lang.IllegalStateException: ..null property\n",
		"     at com.example.myproject.Author.getBookIds(xx.java:38)\n",
		"     at com.example.myproject.Bootstrap.main(Bootstrap.java:14)\n",
		"Caused by: java.lang.NullPointerException\n",
		"     at com.example.myproject.Book.getId(Book.java:22)\n",
		"     at com.example.myproject.Author.getBookIds(Author.java:35)\n",
		"     ... 1 more\n",
		"single line\n",
	};
	const char *java_out[] = {
		"Exception in thread \"main\" java.lang.IllegalStateException: ..null property\n"
		"     at com.example.myproject.Author.getBookIds(xx.java:38)\n"
		"     at com.example.myproject.Bootstrap.main(Bootstrap.java:14)\n"
		"Caused by: java.lang.NullPointerException\n"
		"     at com.example.myproject.Book.getId(Book.java:22)\n"
		"     at com.example.myproject.Author.getBookIds(Author.java:35)\n"
		"     ... 1 more\n",
		"single line\n",
	};
	run("java", java_in, 8, &o);
	expect_records(&o, java_out, 2);
}

/* Fluent Bit's custom-rule tests in tests/internal/multiline.c:
 * parser_elastic, and issue_3817_1 ("two consecutive multiline messages
 * within the same stream"): a line that continues nothing but matches a
 * start rule ends the open group and begins the next one. */
static void test_fb_vectors_custom(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	struct out o;
	assert_int_equal(add_text("[MULTILINE_PARSER]\n name elastic\n type regex\n flush_timeout 1000\n"
				  " key_content log\n"
				  " rule \"start_state\" \"/^\\[/\" \"elastic_cont\"\n"
				  " rule \"elastic_cont\" \"/^\\s+/\" \"elastic_cont\"\n"
				  "[MULTILINE_PARSER]\n name parser_3817\n type regex\n flush_timeout 1000\n"
				  " key_content log\n"
				  " rule \"start_state\" \"/- $/\" \"cont\"\n"
				  " rule \"cont\" \"/^([1-9]).*$/\" \"cont\"\n", &err), 0);
	const char *el_in[] = {
		"[some weird test] IndexNotFoundException[no such index]\n",
		"    at org.elasticsearch.cluster.metadata.IndexNameExpressionResolver....\n",
		"    at org.elasticsearch.cluster.metadata.IndexNameExpressionResolver.java:133)\n",
		"    at org.elasticsearch.action.admin.indices.delete.java:75)\n",
		"another separate log line\n",
	};
	const char *el_out[] = {
		"[some weird test] IndexNotFoundException[no such index]\n"
		"    at org.elasticsearch.cluster.metadata.IndexNameExpressionResolver....\n"
		"    at org.elasticsearch.cluster.metadata.IndexNameExpressionResolver.java:133)\n"
		"    at org.elasticsearch.action.admin.indices.delete.java:75)\n",
		"another separate log line\n",
	};
	run("elastic", el_in, 5, &o);
	expect_records(&o, el_out, 2);

	/* the "log" values after Fluent Bit's cri parser */
	const char *is_in[] = {
		"[DEBUG] 1 start multiline - ",
		"1 cont A",
		"[DEBUG] 2 start multiline - ",
		"2 cont B",
		"another isolated line",
	};
	const char *is_out[] = {
		"[DEBUG] 1 start multiline - \n1 cont A",
		"[DEBUG] 2 start multiline - \n2 cont B",
		"another isolated line",
	};
	run("parser_3817", is_in, 5, &o);
	expect_records(&o, is_out, 3);
}

/* Realistic inputs for java, python, go and ruby; the expected records
 * follow from Fluent Bit's rules (src/multiline/flb_ml_parser_*.c) and
 * flb_ml_rule_process (src/multiline/flb_ml_rule.c): continuation rules of
 * the parser's state first, then start rules, else the line alone. */
static void test_realistic(void **state)
{
	(void)state;
	struct out o;

	/* java: a trace cut by another thread's line. The parser stays in
	 * state "java", so the frames after the cut make a group of their
	 * own (Fluent Bit keeps rule_to_state after the flush). */
	const char *j_in[] = {
		"2024-05-01 10:00:00 INFO starting",
		"java.lang.IllegalStateException: boom",
		"\tat com.example.A.run(A.java:10)",
		"2024-05-01 10:00:01 INFO other thread",
		"\tat com.example.B.run(B.java:20)",
		"\tat java.base/java.lang.Thread.run(Thread.java:829)",
		"2024-05-01 10:00:02 INFO done",
	};
	const char *j_out[] = {
		"2024-05-01 10:00:00 INFO starting",
		"java.lang.IllegalStateException: boom\n\tat com.example.A.run(A.java:10)",
		"2024-05-01 10:00:01 INFO other thread",
		"\tat com.example.B.run(B.java:20)\n\tat java.base/java.lang.Thread.run(Thread.java:829)",
		"2024-05-01 10:00:02 INFO done",
	};
	run("java", j_in, 7, &o);
	expect_records(&o, j_out, 5);

	/* java: two traces back to back, the second header ends the first;
	 * "nested exception is:" ends a group by itself (java_start_exception
	 * is a state of the start rule). */
	const char *j2_in[] = {
		"Exception in thread \"main\" java.lang.RuntimeException: first",
		"\tat Main.main(Main.java:3)",
		"Exception in thread \"worker\" java.lang.Error: second",
		"\tat Worker.run(Worker.java:7)",
		"\t... 3 more",
		"org.springframework.BeanCreationException: creating bean",
		"\tnested exception is: java.io.IOException: disk",
		"\tat Spring.load(Spring.java:1)",
	};
	const char *j2_out[] = {
		"Exception in thread \"main\" java.lang.RuntimeException: first\n\tat Main.main(Main.java:3)",
		"Exception in thread \"worker\" java.lang.Error: second\n\tat Worker.run(Worker.java:7)\n\t... 3 more",
		"org.springframework.BeanCreationException: creating bean\n\tnested exception is: java.io.IOException: disk",
		"\tat Spring.load(Spring.java:1)",
	};
	run("java", j2_in, 8, &o);
	expect_records(&o, j2_out, 4);

	/* python: two tracebacks back to back (the exception line ends each),
	 * a traceback cut before its exception line by a line that continues
	 * nothing, and one still open at the end of the stream. */
	const char *p_in[] = {
		"Traceback (most recent call last):",
		"  File \"a.py\", line 1, in <module>",
		"    f()",
		"ValueError: one",
		"Traceback (most recent call last):",
		"  File \"b.py\", line 2, in <module>",
		"    g()",
		"KeyError: 'two'",
		"plain line",
		"Traceback (most recent call last):",
		"  File \"c.py\", line 3, in <module>",
		"    h()",
		"log line without a colon",
		"Traceback (most recent call last):",
		"  File \"d.py\", line 4, in <module>",
	};
	const char *p_out[] = {
		"Traceback (most recent call last):\n  File \"a.py\", line 1, in <module>\n    f()\nValueError: one",
		"Traceback (most recent call last):\n  File \"b.py\", line 2, in <module>\n    g()\nKeyError: 'two'",
		"plain line",
		"Traceback (most recent call last):\n  File \"c.py\", line 3, in <module>\n    h()",
		"log line without a colon",
		"Traceback (most recent call last):\n  File \"d.py\", line 4, in <module>",
	};
	run("python", p_in, 15, &o);
	expect_records(&o, p_out, 6);

	/* go: two panics back to back, then an ordinary line. */
	const char *g_in[] = {
		"panic: first",
		"",
		"goroutine 1 [running]:",
		"main.main()",
		"\t/app/main.go:5 +0x1d",
		"panic: second",
		"",
		"goroutine 7 [running]:",
		"main.worker(0xc000010000)",
		"\t/app/worker.go:9 +0x2a",
		"created by main.main",
		"\t/app/main.go:8 +0x3b",
		"exit status 2",
	};
	const char *g_out[] = {
		"panic: first\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x1d",
		("panic: second\n\ngoroutine 7 [running]:\nmain.worker(0xc000010000)\n\t/app/worker.go:9 +0x2a\n"
		 "created by main.main\n\t/app/main.go:8 +0x3b"),
		"exit status 2",
	};
	run("go", g_in, 13, &o);
	expect_records(&o, g_out, 3);

	/* ruby: two exceptions back to back between ordinary lines. */
	const char *r_in[] = {
		"I, [2024-05-01T10:00:00] INFO -- : request",
		"app.rb:12:in `call': undefined method `x' for nil (NoMethodError)",
		"\tfrom lib/rack.rb:5:in `run'",
		"worker.rb:3:in `perform': boom (RuntimeError)",
		"\tfrom worker.rb:1:in `<main>'",
		"I, [2024-05-01T10:00:01] INFO -- : next",
	};
	const char *r_out[] = {
		"I, [2024-05-01T10:00:00] INFO -- : request",
		"app.rb:12:in `call': undefined method `x' for nil (NoMethodError)\n\tfrom lib/rack.rb:5:in `run'",
		"worker.rb:3:in `perform': boom (RuntimeError)\n\tfrom worker.rb:1:in `<main>'",
		"I, [2024-05-01T10:00:01] INFO -- : next",
	};
	run("ruby", r_in, 6, &o);
	expect_records(&o, r_out, 4);
}

/* A trace flushed by flush_timeout keeps its parser's state: a frame that
 * comes later begins a group of its own (Fluent Bit's timer flush does
 * not reset rule_to_state either); its time is that line's. */
static void test_after_timeout(void **state)
{
	(void)state;
	struct out o;
	open_stream(st, "java", 0, &o);
	assert_int_equal(push(st, java_lines[0], 1, 0), PSR_ML_START);
	assert_int_equal(push(st, java_lines[1], 1, 1 * MS), PSR_ML_CONT);
	psr_ml_stream_tick(st, 4001 * MS);
	assert_int_equal(o.n, 1);
	assert_int_equal(push(st, java_lines[2], 9, 5000 * MS), PSR_ML_START);
	assert_int_equal(push(st, "     ... 1 more", 9, 5001 * MS), PSR_ML_CONT);
	assert_int_equal(o.begins, 2);
	assert_int_equal(push(st, "single line", 10, 5002 * MS), PSR_ML_PASS);
	assert_int_equal(o.n, 2);
	assert_string_equal(o.text[1], "     at com.example.myproject.Bootstrap.main(Bootstrap.java:14)\n"
			    "     ... 1 more");
	assert_int_equal(o.sec[1], 9);
	out_free(&o);
	psr_ml_stream_fini(st);
}

/* ---- configuration errors ---- */

static void expect_err(const char *text, const char *msg)
{
	struct dp_err err = { 0 };
	assert_int_not_equal(add_text(text, &err), 0);
	assert_true(err.code < 0);
	print_message("%s\n", err.msg);
	if (!strstr(err.msg, msg))
		fail_msg("got '%s', want '%s'", err.msg, msg);
}

static void test_errors(void **state)
{
	(void)state;
	expect_err("[MULTILINE_PARSER]\n name a\n type regex\n rule \"start_state\" \"/(/\" \"cont\"\n",
		   "ml.conf:4: [MULTILINE_PARSER] a: 'rule': invalid regex");
	expect_err("[MULTILINE_PARSER]\n name a\n type regex\n rule \"cont\" \"/x/\" \"cont\"\n",
		   "ml.conf:1: [MULTILINE_PARSER] a: 'rule': no rule for \"start_state\"");
	expect_err("[MULTILINE_PARSER]\n name a\n type regex\n rule \"start_state\" \"/x/\" \"cont\"\n"
		   " rule \"start_state\" \"/y/\" \"nowhere\"\n rule \"cont\" \"/z/\" \"cont\"\n",
		   "ml.conf:5: [MULTILINE_PARSER] a: 'rule': rule 2: next state \"nowhere\"");
	/* A definition named like a built-in replaces it (Fluent Bit users
	 * define their own `nodejs`, which sluice also has built in). */
	assert_int_equal(add_text("[MULTILINE_PARSER]\n name java\n type regex\n"
				  " rule \"start_state\" \"/x/\" \"start_state\"\n", &(struct dp_err){ 0 }), 0);
	assert_int_equal(add_text("[MULTILINE_PARSER]\n name twice\n type regex\n"
				  " rule \"start_state\" \"/x/\" \"start_state\"\n", &(struct dp_err){ 0 }), 0);
	expect_err("[MULTILINE_PARSER]\n name twice\n type regex\n rule \"start_state\" \"/x/\" \"start_state\"\n",
		   "ml.conf:2: [MULTILINE_PARSER] twice: 'name': a multiline parser 'twice' is already defined");
	expect_err("[MULTILINE_PARSER]\n type regex\n rule \"start_state\" \"/x/\" \"start_state\"\n",
		   "ml.conf:1: [MULTILINE_PARSER]: missing required key 'name'");
	expect_err("[MULTILINE_PARSER]\n name a\n rule \"start_state\" \"/x/\" \"start_state\"\n",
		   "missing required key 'type'");
	expect_err("[MULTILINE_PARSER]\n name a\n type sometimes\n", "ml.conf:3: [MULTILINE_PARSER] a: ");
	expect_err("[MULTILINE_PARSER]\n name a\n type regex\n", "ml.conf:1: [MULTILINE_PARSER] a: type regex needs at least one 'rule'");
	expect_err("[MULTILINE_PARSER]\n name a\n type regex\n rule \"start_state\" \"/x/\"\n",
		   "ml.conf:4: [MULTILINE_PARSER] a: invalid 'rule': expected");
	expect_err("[MULTILINE_PARSER]\n name a\n type regex\n rule \"start_state\" \"/x/ \"b\" \"c\"\n",
		   "ml.conf:4: [MULTILINE_PARSER] a: invalid 'rule'");
	expect_err("[MULTILINE_PARSER]\n name a\n type regex\n rule \"start_state\" \"/x/\" \"\"\n",
		   "ml.conf:4: [MULTILINE_PARSER] a: 'rule': empty next state");
	expect_err("[MULTILINE_PARSER]\n name a\n type regex\n rule \"start_state,\" \"/x/\" \"start_state\"\n",
		   "ml.conf:4: [MULTILINE_PARSER] a: 'rule': empty state name");
	expect_err("[MULTILINE_PARSER]\n name a\n type endswith\n", "ml.conf:1: [MULTILINE_PARSER] a: type endswith needs 'match_string'");
	expect_err("[MULTILINE_PARSER]\n name a\n type endswith\n match_string x\n rule \"start_state\" \"/x/\" \"start_state\"\n",
		   "ml.conf:5: [MULTILINE_PARSER] a: 'rule' needs type regex");
	expect_err("[MULTILINE_PARSER]\n name a\n type regex\n parser json\n rule \"start_state\" \"/x/\" \"start_state\"\n",
		   "ml.conf:4: [MULTILINE_PARSER] a: ");
	expect_err("[MULTILINE_PARSER]\n name a\n type regex\n flush_timeout soon\n rule \"start_state\" \"/x/\" \"start_state\"\n",
		   "ml.conf:4: [MULTILINE_PARSER] a: ");
	expect_err("[MULTILINE_PARSER]\n name a\n type regex\n colour red\n", "ml.conf:4: [MULTILINE_PARSER] a: unknown key 'colour'");
	/* none of the failed ones was added */
	assert_null(psr_ml_set_find(set, "a"));
}

/* Quotes and escapes in rules; several states per rule. */
static void test_rule_syntax(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	assert_int_equal(add_text("[MULTILINE_PARSER]\n name q\n type regex\n"
				  " rule \"start_state, again\" \"/^say \\\"hi\\\"$/\" \"more\"\n"
				  " rule \"more\" \"/^\\s/\" \"more\"\n"
				  " rule \"more\" \"/^again$/\" \"again\"\n", &err), 0);
	struct out o;
	open_stream(st, "q", 0, &o);
	assert_int_equal(push(st, "say \"hi\"", 1, 0), PSR_ML_START);
	assert_int_equal(push(st, "  indented", 1, 0), PSR_ML_CONT);
	/* "again" is a state a start rule lists: the group ends here */
	assert_int_equal(push(st, "again", 1, 0), PSR_ML_CONT);
	assert_int_equal(o.n, 1);
	assert_string_equal(o.text[0], "say \"hi\"\n  indented\nagain");
	out_free(&o);
	psr_ml_stream_fini(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_java, setup, teardown),
		cmocka_unit_test_setup_teardown(test_python, setup, teardown),
		cmocka_unit_test_setup_teardown(test_go, setup, teardown),
		cmocka_unit_test_setup_teardown(test_go_newlines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nodejs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ruby, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interleaved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_several_parsers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_custom_regex, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_endswith, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fb_vectors_builtin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fb_vectors_custom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_realistic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_after_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_syntax, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
