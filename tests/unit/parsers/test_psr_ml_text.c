/*
 * test_psr_ml_text.c — multiline streams over raw text (the tail input's
 * lines, psr_ml_stream_set_text): the bytes of each record as Fluent Bit
 * makes them. Its src/multiline/flb_ml.c calls breakline_prepare, for a
 * parser instance without key_content, before appending an endswith /
 * equal line and at every flush (flb_ml_flush_stream_group), and flushes a
 * line that matches nothing through the first parser's group
 * (flb_ml_append_text): so every record ends with "\n". The vectors are
 * Fluent Bit's tests/internal/multiline.c (endswith_input/_output,
 * go_input/_output: raw lines fed to flb_ml_append_text) and its docs page
 * "Multiline parsing" (administration/configuring-fluent-bit/
 * multiline-parsing.md: tail + multiline-regex-test, whose output shows
 * "single line...\n" and the trace ending with "\n").
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

struct out {
	char *text[64];
	size_t len[64];
	unsigned n;
};

static void on_begin(void *arg)
{
	(void)arg;
}

static void on_flush(void *arg, const struct psr_ml_group *g)
{
	struct out *o = arg;
	assert_true(o->n < 64);
	o->text[o->n] = strndup(g->text, g->len);
	o->len[o->n] = g->len;
	o->n++;
}

static struct psr_ml_set *set;
static struct psr_ml_stream *st;

static int setup(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	set = psr_ml_set_create(&err);
	assert_non_null(set);
	st = malloc(sizeof(*st));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	psr_ml_set_destroy(set);
	free(st);
	return 0;
}

static void add_text(const char *text)
{
	struct dp_err err = { 0 };
	struct dp_conf *c = dp_conf_load_buffer(text, strlen(text), "ml.conf", &err);
	assert_non_null(c);
	for (unsigned i = 0; i < c->nsec; i++)
		assert_int_equal(psr_ml_set_add(set, &c->sec[i], &err), 0);
	dp_conf_destroy(c);
}

/* Push every line as tail does (raw text, without its "\n") and collect
 * the records in the order tail emits them: completed groups, and a line
 * passed through alone with "\n" when psr_ml_stream_pass_nl says so. The
 * stream is flushed at the end (flush_timeout or shutdown). */
static void run(const char *name, bool text, const char *const *in, unsigned n, struct out *o)
{
	const struct psr_ml_parser *p = psr_ml_set_find(set, name);
	assert_non_null(p);
	memset(o, 0, sizeof(*o));
	assert_int_equal(psr_ml_stream_init(st, &p, 1, 0, on_begin, on_flush, o), 0);
	psr_ml_stream_set_text(st, text);
	for (unsigned i = 0; i < n; i++)
		if (psr_ml_stream_push(st, in[i], strlen(in[i]), 1, 0, i) == PSR_ML_PASS) {
			assert_true(o->n < 64);
			size_t l = strlen(in[i]);
			bool nl = psr_ml_stream_pass_nl(st);
			o->text[o->n] = calloc(1, l + 2);
			memcpy(o->text[o->n], in[i], l);
			if (nl)
				o->text[o->n][l++] = '\n';
			o->len[o->n++] = l;
		}
	psr_ml_stream_flush(st);
	psr_ml_stream_fini(st);
}

static void expect(struct out *o, const char *const *want, unsigned n)
{
	for (unsigned i = 0; i < o->n && i < n; i++)
		if (o->len[i] != strlen(want[i]) || memcmp(o->text[i], want[i], o->len[i]))
			fail_msg("record %u: got\n'%s'\nwant\n'%s'", i, o->text[i], want[i]);
	assert_int_equal(o->n, n);
	for (unsigned i = 0; i < o->n; i++)
		free(o->text[i]);
}

static const char *const docs_log[] = {
	"single line...",
	"Dec 14 06:41:08 Exception in thread \"main\" java.lang.RuntimeException: Something has gone wrong, aborting!",
	"    at com.myproject.module.MyProject.badMethod(MyProject.java:22)",
	"    at com.myproject.module.MyProject.oneMoreMethod(MyProject.java:18)",
	"    at com.myproject.module.MyProject.anotherMethod(MyProject.java:14)",
	"    at com.myproject.module.MyProject.someMethod(MyProject.java:10)",
	"    at com.myproject.module.MyProject.main(MyProject.java:6)",
	"another line...",
};

/* The docs' example: every record ends with "\n", the plain lines too. */
static void test_docs_regex(void **state)
{
	(void)state;
	add_text("[MULTILINE_PARSER]\n name multiline-regex-test\n type regex\n flush_timeout 1000\n"
		 " rule \"start_state\" \"/([a-zA-Z]+ \\d+ \\d+\\:\\d+\\:\\d+)(.*)/\" \"cont\"\n"
		 " rule \"cont\" \"/^\\s+at.*/\" \"cont\"\n");
	const char *want[] = {
		"single line...\n",
		"Dec 14 06:41:08 Exception in thread \"main\" java.lang.RuntimeException: Something has gone wrong, aborting!\n"
		"    at com.myproject.module.MyProject.badMethod(MyProject.java:22)\n"
		"    at com.myproject.module.MyProject.oneMoreMethod(MyProject.java:18)\n"
		"    at com.myproject.module.MyProject.anotherMethod(MyProject.java:14)\n"
		"    at com.myproject.module.MyProject.someMethod(MyProject.java:10)\n"
		"    at com.myproject.module.MyProject.main(MyProject.java:6)\n",
		"another line...\n",
	};
	struct out o;
	run("multiline-regex-test", true, docs_log, 8, &o);
	expect(&o, want, 3);
	/* Not raw text (a record's key_content, the multiline filter): no
	 * final "\n" (breakline_prepare returns at once with key_content,
	 * which the filter's instance always has). */
	char trace[2048];
	size_t tl = strlen(want[1]) - 1;
	memcpy(trace, want[1], tl);
	trace[tl] = 0;
	const char *want_rec[] = { "single line...", trace, "another line..." };
	run("multiline-regex-test", false, docs_log, 8, &o);
	expect(&o, want_rec, 3);
}

/* Fluent Bit's test_endswith: match_string "\", negate, no key_content,
 * raw text: lines joined with "\n", every record ending with "\n". */
static void test_fb_endswith(void **state)
{
	(void)state;
	add_text("[MULTILINE_PARSER]\n name endswith\n type endswith\n match_string \\\n negate on\n"
		 " flush_timeout 1000\n");
	const char *in[] = {
		"1a. some multiline log \\",
		"1b. some multiline log",
		"2a. another multiline log\\",
		"2b. another multiline log",
		"3a. non multiline 1",
		"4a. non multiline 2",
	};
	const char *want[] = {
		"1a. some multiline log \\\n1b. some multiline log\n",
		"2a. another multiline log\\\n2b. another multiline log\n",
		"3a. non multiline 1\n",
		"4a. non multiline 2\n",
	};
	struct out o;
	run("endswith", true, in, 6, &o);
	expect(&o, want, 4);
	/* equal: the same separators */
	add_text("[MULTILINE_PARSER]\n name eq\n type equal\n match_string END\n");
	const char *eq_in[] = { "a", "b", "END", "c", "END" };
	const char *eq_want[] = { "a\nb\nEND\n", "c\nEND\n" };
	run("eq", true, eq_in, 5, &o);
	expect(&o, eq_want, 2);
}

/* A [MULTILINE_PARSER] with key_content read by tail: Fluent Bit's
 * instance has that key_content, so breakline_prepare does nothing:
 * regex lines still joined with "\n" (flb_ml_rule_process), endswith
 * lines with nothing, no final "\n", nor on a line passed through. */
static void test_key_content_on_text(void **state)
{
	(void)state;
	add_text("[MULTILINE_PARSER]\n name kc\n type regex\n key_content msg\n"
		 " rule \"start_state\" \"/^start/\" \"cont\"\n rule \"cont\" \"/^ /\" \"cont\"\n"
		 "[MULTILINE_PARSER]\n name kce\n type endswith\n key_content msg\n match_string +\n"
		 " negate on\n");
	const char *in[] = { "plain", "start", " one", "", "tail" };
	const char *want[] = { "plain", "start\n one", "", "tail" };
	struct out o;
	run("kc", true, in, 5, &o);
	expect(&o, want, 4);
	const char *e_in[] = { "a+", "b" };
	const char *e_want[] = { "a+b" };
	run("kce", true, e_in, 2, &o);
	expect(&o, e_want, 1);
}

/* Fluent Bit's go_input / go_output (test_parser_go), lines without their
 * "\n" as tail reads them: empty lines inside the trace add "\n" each,
 * the trace and the last, unterminated line end with "\n". */
static void test_fb_go(void **state)
{
	(void)state;
	const char *in[] = {
		"panic: my panic",
		"",
		"goroutine 4 [running]:",
		"panic(0x45cb40, 0x47ad70)",
		"\t/usr/local/go/src/runtime/panic.go:542 +0x46c fp=0xc42003f7b8 sp=0xc42003f710 pc=0x422f7c",
		"main.main.func1(0xc420024120)",
		"\tfoo.go:6 +0x39 fp=0xc42003f7d8 sp=0xc42003f7b8 pc=0x451339",
		"created by main.main",
		"\tfoo.go:5 +0x58",
		"",
		"goroutine 1 [chan receive]:",
		"main.main()",
		"\tfoo.go:9 +0x6f fp=0xc420053f80 sp=0xc420053f50 pc=0x4512ef",
		"one more line, no multiline",
	};
	const char *want[] = {
		"panic: my panic\n"
		"\n"
		"goroutine 4 [running]:\n"
		"panic(0x45cb40, 0x47ad70)\n"
		"\t/usr/local/go/src/runtime/panic.go:542 +0x46c fp=0xc42003f7b8 sp=0xc42003f710 pc=0x422f7c\n"
		"main.main.func1(0xc420024120)\n"
		"\tfoo.go:6 +0x39 fp=0xc42003f7d8 sp=0xc42003f7b8 pc=0x451339\n"
		"created by main.main\n"
		"\tfoo.go:5 +0x58\n"
		"\n"
		"goroutine 1 [chan receive]:\n"
		"main.main()\n"
		"\tfoo.go:9 +0x6f fp=0xc420053f80 sp=0xc420053f50 pc=0x4512ef\n",
		"one more line, no multiline\n",
	};
	struct out o;
	run("go", true, in, 14, &o);
	expect(&o, want, 2);
}

/* A group cut at PSR_ML_GROUP_MAX still gets its final "\n". */
static void test_bound_newline(void **state)
{
	(void)state;
	size_t bl = PSR_ML_GROUP_MAX + 9;
	char *big = malloc(bl + 1);
	memset(big, 'x', bl);
	memcpy(big, "  File ", 7);
	big[bl] = 0;
	const char *first = "Traceback (most recent call last):";
	const struct psr_ml_parser *p = psr_ml_set_find(set, "python");
	struct out o = { 0 };
	assert_int_equal(psr_ml_stream_init(st, &p, 1, 0, on_begin, on_flush, &o), 0);
	psr_ml_stream_set_text(st, true);
	assert_int_equal(psr_ml_stream_push(st, first, strlen(first), 1, 0, 0), PSR_ML_START);
	assert_int_equal(psr_ml_stream_push(st, big, bl, 1, 0, 1), PSR_ML_CONT);
	psr_ml_stream_fini(st);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.len[0], PSR_ML_GROUP_MAX + 1);
	assert_int_equal(o.text[0][PSR_ML_GROUP_MAX], '\n');
	free(o.text[0]);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_docs_regex, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fb_endswith, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_content_on_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fb_go, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound_newline, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
