/*
 * test_conf_yaml.c — the YAML reader (dp_conf_yaml.c): the sections, keys,
 * values and lines it makes from service and pipeline, env and ${VAR}
 * precedence, includes (relative, missing, cycles, depth), and every error
 * with its exact file:line. Files are written under a fresh mkdtemp
 * directory per test.
 */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "dp_conf.h"
#include "conf_tmp.h"


/* Load tdir/name (written from text unless text is NULL) and expect
 * failure with msg, in which every "{D}" stands for the test directory. */
static void expect_err(const char *name, const char *text, int code, const char *msg)
{
	struct dp_err err = { 0 };
	char want[512];
	texpand(msg, want, sizeof(want));
	if (text)
		twrite(name, text);
	struct dp_conf *c = dp_conf_load(tp(name), &err);
	assert_null(c);
	assert_string_equal(err.msg, want);
	assert_int_equal(err.code, code);
}

static struct dp_conf *load_ok(const char *name, const char *text)
{
	struct dp_err err = { 0 };
	if (text)
		twrite(name, text);
	struct dp_conf *c = dp_conf_load(tp(name), &err);
	if (!c)
		fail_msg("%s", err.msg);
	return c;
}

static void assert_kv(const struct dp_conf_section *s, unsigned i, const char *key,
		      const char *val, int line)
{
	assert_true(i < s->nkv);
	assert_string_equal(s->kv[i].key, key);
	assert_string_equal(s->kv[i].val, val);
	assert_int_equal(s->kv[i].line, line);
	assert_ptr_equal(s->kv[i].file, s->file);
}

static void test_full_example(void **state)
{
	(void)state;
	setenv("SLUICE_Y_PORT", "9999", 1);
	struct dp_conf *c = load_ok("sluice.yaml",
		"# a comment\n"                         /* 1 */
		"env:\n"                                /* 2 */
		"  SLUICE_Y_PORT: 5140\n"               /* 3 */
		"service:\n"                            /* 4 */
		"  flush: 1\n"                          /* 5 */
		"  Log_Level: info\n"                   /* 6 */
		"  http_server: on\n"                   /* 7 */
		"pipeline:\n"                           /* 8 */
		"  inputs:\n"                           /* 9 */
		"    - name: syslog\n"                  /* 10 */
		"      mode: tcp\n"                     /* 11 */
		"      port: ${SLUICE_Y_PORT}\n"        /* 12 */
		"      tag: syslog.tcp\n"               /* 13 */
		"\n"                                    /* 14 */
		"    - name: tcp\n"                     /* 15 */
		"      port: \"5170\"\n"                /* 16 */
		"  filters:\n"                          /* 17 */
		"    - name: grep\n"                    /* 18 */
		"      match: '*'\n"                    /* 19 */
		"  outputs:\n"                          /* 20 */
		"    - name: stdout\n"                  /* 21 */
		"      match: '*'\n"                    /* 22 */
		"      format: json_lines\n");          /* 23 */
	assert_int_equal(c->nsec, 5);

	const struct dp_conf_section *s = &c->sec[0];
	assert_string_equal(s->name, "SERVICE");
	assert_string_equal(s->file, tp("sluice.yaml"));
	assert_int_equal(s->line, 4);
	assert_int_equal(s->nkv, 3);
	assert_kv(s, 0, "flush", "1", 5);
	assert_kv(s, 1, "Log_Level", "info", 6);
	assert_kv(s, 2, "http_server", "on", 7);
	assert_string_equal(dp_conf_kv_get(s, "log_level")->val, "info");

	s = &c->sec[1];
	assert_string_equal(s->name, "INPUT");
	assert_int_equal(s->line, 10);
	assert_int_equal(s->nkv, 4);
	assert_kv(s, 0, "name", "syslog", 10);
	assert_kv(s, 1, "mode", "tcp", 11);
	assert_kv(s, 2, "port", "5140", 12);    /* env beats the environment */
	assert_kv(s, 3, "tag", "syslog.tcp", 13);

	s = &c->sec[2];
	assert_string_equal(s->name, "INPUT");
	assert_int_equal(s->line, 15);
	assert_int_equal(s->nkv, 2);
	assert_kv(s, 1, "port", "5170", 16);

	s = &c->sec[3];
	assert_string_equal(s->name, "FILTER");
	assert_int_equal(s->line, 18);
	assert_kv(s, 0, "name", "grep", 18);
	assert_kv(s, 1, "match", "*", 19);

	s = &c->sec[4];
	assert_string_equal(s->name, "OUTPUT");
	assert_int_equal(s->line, 21);
	assert_int_equal(s->nkv, 3);
	assert_kv(s, 2, "format", "json_lines", 23);
	assert_int_equal(c->nundef, 0);
	dp_conf_destroy(c);
	unsetenv("SLUICE_Y_PORT");
}

/* Flow style, anchors, quoting, CRLF and empty sections. */
static void test_yaml_forms(void **state)
{
	(void)state;
	struct dp_conf *c = load_ok("forms.YML",
		"service:\r\n"
		"pipeline:\r\n"
		"  inputs: [ {name: dummy, tag: &t \"a b\"}, {name: dummy, tag: *t} ]\r\n"
		"  filters:\r\n"
		"  outputs:\r\n"
		"    - name: stdout\r\n"
		"      match: |\r\n"
		"        x\r\n"
		"      retry_limit: false\r\n");
	assert_int_equal(c->nsec, 3);
	assert_string_equal(c->sec[0].name, "INPUT");
	assert_int_equal(c->sec[0].line, 3);
	assert_string_equal(dp_conf_kv_get(&c->sec[0], "tag")->val, "a b");
	assert_string_equal(dp_conf_kv_get(&c->sec[1], "tag")->val, "a b");
	assert_string_equal(c->sec[2].name, "OUTPUT");
	assert_int_equal(c->sec[2].line, 6);
	assert_kv(&c->sec[2], 1, "match", "x\n", 7);
	assert_kv(&c->sec[2], 2, "retry_limit", "false", 9);
	dp_conf_destroy(c);

	/* empty and comment-only files are empty configurations */
	c = load_ok("empty.yaml", "");
	assert_int_equal(c->nsec, 0);
	dp_conf_destroy(c);
	c = load_ok("comment.yaml", "# nothing\n---\n");
	assert_int_equal(c->nsec, 0);
	dp_conf_destroy(c);
}

static void test_env_precedence(void **state)
{
	(void)state;
	setenv("SLUICE_Y_ENV", "from-environ", 1);
	setenv("SLUICE_Y_BOTH", "environ-loses", 1);
	unsetenv("SLUICE_Y_UNDEF");
	struct dp_conf *c = load_ok("env.yaml",
		"service:\n"
		"  a: ${SLUICE_Y_ENV}\n"
		"  b: x${SLUICE_Y_BOTH}y\n"
		"  c: <${SLUICE_Y_UNDEF}>\n"
		"  d: ${SLUICE_Y_RAW}\n"
		"  e: $notavar ${SLUICE_Y_EMPTY}.\n"
		"env:\n"                 /* after its use: still applies */
		"  SLUICE_Y_BOTH: yaml-wins\n"
		"  SLUICE_Y_RAW: ${SLUICE_Y_ENV}\n"
		"  SLUICE_Y_EMPTY:\n");
	const struct dp_conf_section *s = &c->sec[0];
	assert_string_equal(s->kv[0].val, "from-environ");
	assert_string_equal(s->kv[1].val, "xyaml-winsy");
	assert_string_equal(s->kv[2].val, "<>");
	assert_string_equal(s->kv[3].val, "${SLUICE_Y_ENV}");  /* not rescanned */
	assert_string_equal(s->kv[4].val, "$notavar .");
	assert_int_equal(c->nundef, 1);
	assert_string_equal(c->undef[0].name, "SLUICE_Y_UNDEF");
	assert_string_equal(c->undef[0].file, tp("env.yaml"));
	assert_int_equal(c->undef[0].line, 4);
	dp_conf_destroy(c);
	unsetenv("SLUICE_Y_ENV");
	unsetenv("SLUICE_Y_BOTH");

	expect_err("bad-var.yaml", "service:\n  flush: 1\n  grace: ${OOPS\n", -EINVAL,
		   "{D}/bad-var.yaml:3: unterminated '${' in '${OOPS'");
}

static void test_includes(void **state)
{
	(void)state;
	assert_int_equal(mkdir(tp("sub"), 0700), 0);
	twrite("sub/in.yaml",
		"env:\n"
		"  SLUICE_Y_TAG: from-include\n"
		"includes:\n"
		"  - deeper.yaml\n"      /* relative to sub/, not to the top */
		"pipeline:\n"
		"  inputs:\n"
		"    - name: dummy\n"
		"      tag: ${SLUICE_Y_TAG}\n");
	twrite("sub/deeper.yaml",
		"pipeline:\n"
		"  filters:\n"
		"    - name: grep\n");
	struct dp_conf *c = load_ok("top.yaml",
		"service:\n"
		"  flush: 1\n"
		"includes:\n"
		"  - sub/in.yaml\n"
		"  - sub/deeper.yaml\n"  /* twice side by side is no cycle */
		"pipeline:\n"
		"  outputs:\n"
		"    - name: stdout\n");
	assert_int_equal(c->nsec, 5);
	assert_string_equal(c->sec[0].name, "SERVICE");
	assert_string_equal(c->sec[1].name, "FILTER");
	assert_string_equal(c->sec[1].file, tp("sub/deeper.yaml"));
	assert_int_equal(c->sec[1].line, 3);
	assert_string_equal(c->sec[2].name, "INPUT");
	assert_string_equal(c->sec[2].file, tp("sub/in.yaml"));
	assert_kv(&c->sec[2], 1, "tag", "from-include", 8);
	assert_string_equal(c->sec[3].name, "FILTER");
	assert_string_equal(c->sec[4].name, "OUTPUT");
	assert_string_equal(c->sec[4].file, tp("top.yaml"));
	dp_conf_destroy(c);

	expect_err("missing.yaml", "includes:\n  - sub/in.yaml\n  - nope.yaml\n", -ENOENT,
		   "{D}/missing.yaml:3: cannot open '{D}/nope.yaml': No such file or directory");
	expect_err("nope.yaml", NULL, -ENOENT,
		   "cannot open '{D}/nope.yaml': No such file or directory");

	twrite("a.yaml", "includes:\n  - b.yaml\n");
	twrite("b.yaml", "service:\n  flush: 1\nincludes: [a.yaml]\n");
	expect_err("a.yaml", NULL, -ELOOP,
		   "{D}/b.yaml:3: includes cycle: '{D}/a.yaml' is already being read");
	expect_err("self.yaml", "includes:\n  - self.yaml\n", -ELOOP,
		   "{D}/self.yaml:2: includes cycle: '{D}/self.yaml' is already being read");

	/* a chain deeper than the limit, each file one level deeper */
	for (int i = 0; i < 20; i++) {
		char name[32], text[64];
		snprintf(name, sizeof(name), "d%d.yaml", i);
		snprintf(text, sizeof(text), "includes:\n  - d%d.yaml\n", i + 1);
		twrite(name, text);
	}
	expect_err("d0.yaml", NULL, -ELOOP, "{D}/d15.yaml:2: includes nested deeper than 16 files");

	assert_int_equal(mkdir(tp("dir.yaml"), 0700), 0);
	expect_err("incdir.yaml", "includes:\n  - dir.yaml\n", -EINVAL,
		   "{D}/incdir.yaml:2: '{D}/dir.yaml' is not a regular file");
}

/* parsers, multiline_parsers and stream_processor: the shapes on
 * docs.fluentbit.io/manual/administration/configuring-fluent-bit/yaml/
 * parsers-section, .../multiline-parsers-section (rules: state, regex,
 * next_state) and Fluent Bit's flb_sp.c (stream_processor items: name,
 * exec), read into the classic sections. */
static void test_parsers_sp_sections(void **state)
{
	(void)state;
	struct dp_conf *c = load_ok("p.yaml",
		"parsers:\n"                                   /* 1 */
		"  - name: custom_parser1\n"
		"    format: json\n"
		"    time_key: time\n"
		"multiline_parsers:\n"                         /* 5 */
		"  - name: multiline-regex-test\n"
		"    type: regex\n"
		"    flush_timeout: 1000\n"
		"    rules:\n"
		"      - state: start_state\n"                 /* 10 */
		"        regex: '/([a-zA-Z]+ \\d+)\"q\"(.*)/'\n"
		"        next_state: cont\n"
		"      - state: cont\n"
		"        regex: '/^\\s+at.*/'\n"
		"        next_state: cont\n"                   /* 15 */
		"stream_processor:\n"
		"  - name: t1\n"
		"    exec: \"SELECT * FROM TAG:'a*';\"\n"
		"parsers:\n"
		"  - name: second\n"                           /* 20 */
		"    format: logfmt\n");
	assert_int_equal(c->nsec, 4);
	assert_string_equal(c->sec[0].name, "PARSER");
	assert_int_equal(c->sec[0].line, 2);
	assert_kv(&c->sec[0], 0, "name", "custom_parser1", 2);
	assert_kv(&c->sec[0], 1, "format", "json", 3);
	assert_string_equal(c->sec[1].name, "MULTILINE_PARSER");
	assert_kv(&c->sec[1], 0, "name", "multiline-regex-test", 6);
	assert_kv(&c->sec[1], 2, "flush_timeout", "1000", 8);
	/* each rule item is one classic rule key; '"' escaped as \" */
	assert_kv(&c->sec[1], 3, "rule", "\"start_state\" \"/([a-zA-Z]+ \\d+)\\\"q\\\"(.*)/\" \"cont\"", 10);
	assert_kv(&c->sec[1], 4, "rule", "\"cont\" \"/^\\s+at.*/\" \"cont\"", 13);
	assert_int_equal(c->sec[1].nkv, 5);
	assert_string_equal(c->sec[2].name, "STREAM_TASK");
	assert_kv(&c->sec[2], 0, "name", "t1", 17);
	assert_kv(&c->sec[2], 1, "exec", "SELECT * FROM TAG:'a*';", 18);
	assert_string_equal(c->sec[3].name, "PARSER");
	dp_conf_destroy(c);

	expect_err("e.yaml", "multiline_parsers:\n  - name: m\n    rules:\n      - state: a\n        regex: x\n",
		   -EINVAL, "{D}/e.yaml:4: rule without 'next_state'");
	expect_err("e.yaml", "multiline_parsers:\n  - name: m\n    rules:\n      - stat: a\n",
		   -EINVAL, "{D}/e.yaml:4: unknown key 'stat' in a rule: expected state, regex and next_state");
	expect_err("e.yaml", "multiline_parsers:\n  - name: m\n    rules:\n      - x\n", -EINVAL,
		   "{D}/e.yaml:4: each item of 'rules' must be a map of state, regex and next_state");
	expect_err("e.yaml", "stream_processor:\n  name: t\n", -EINVAL,
		   "{D}/e.yaml:1: 'stream_processor' must be a list of maps");
	/* external plugins (docs .../yaml/plugins-section): one [PLUGINS] Path
	 * each, loaded by the runtime */
	c = load_ok("p.yaml", "plugins:\n  - /path/to/out_gstdout.so\n  - b.so\n");
	assert_int_equal(c->nsec, 2);
	assert_string_equal(c->sec[1].name, "PLUGINS");
	assert_string_equal(c->sec[1].kv[0].key, "Path");
	assert_string_equal(c->sec[1].kv[0].val, "b.so");
	assert_int_equal(c->sec[1].kv[0].line, 3);
	dp_conf_destroy(c);
	expect_err("e.yaml", "plugins:\n  x: y\n", -EINVAL,
		   "{D}/e.yaml:2: 'plugins' must be a list of shared object paths");
	c = load_ok("empty.yaml", "plugins:\nparsers:\n");
	assert_int_equal(c->nsec, 0);
	dp_conf_destroy(c);
	expect_err("e.yaml", "parser:\n  - name: x\n", -EINVAL,
		   "{D}/e.yaml:1: unknown section 'parser' (did you mean 'parsers'?)");
	expect_err("e.yaml", "pipeline:\n  ouputs: []\n", -EINVAL,
		   "{D}/e.yaml:2: unknown pipeline section 'ouputs' (did you mean 'outputs'?)");
}

static void test_errors(void **state)
{
	(void)state;
	expect_err("e.yaml", "service:\n  flush: 1\n  bad: [1, 2]\n", -EINVAL,
		   "{D}/e.yaml:3: 'bad' is a list: nested values are not supported yet");
	expect_err("e.yaml",
		   "pipeline:\n"
		   "  inputs:\n"
		   "    - name: dummy\n"
		   "      processors:\n"
		   "        logs:\n"
		   "          - name: content_modifier\n", -EINVAL,
		   "{D}/e.yaml:4: 'processors' is a map: nested values are not supported yet");
	expect_err("e.yaml", "service:\n  flush: 1\n\nupstream_servers:\n  - name: x\n", -ENOTSUP,
		   "{D}/e.yaml:4: section 'upstream_servers' is not supported yet");
	expect_err("e.yaml", "customs: []\n", -ENOTSUP,
		   "{D}/e.yaml:1: section 'customs' is not supported yet");
	expect_err("e.yaml", "service: {}\nfoo:\n  a: 1\n", -EINVAL,
		   "{D}/e.yaml:2: unknown section 'foo'");
	expect_err("e.yaml", "Service:\n  a: 1\n", -EINVAL,
		   "{D}/e.yaml:1: unknown section 'Service' (did you mean 'service'?)");
	expect_err("e.yaml", "pipeline:\n  inputs: []\n  routes: []\n", -EINVAL,
		   "{D}/e.yaml:3: unknown pipeline section 'routes'");
	expect_err("e.yaml", "service:\n  flush:\n", -EINVAL,
		   "{D}/e.yaml:2: key 'flush' has no value");
	expect_err("e.yaml", "service:\n  flush: ''\n", -EINVAL,
		   "{D}/e.yaml:2: key 'flush' has no value");
	expect_err("e.yaml", "service: 5\n", -EINVAL,
		   "{D}/e.yaml:1: [SERVICE] must be a map of key: value");
	expect_err("e.yaml", "pipeline:\n  inputs:\n    name: dummy\n", -EINVAL,
		   "{D}/e.yaml:2: 'inputs' must be a list of maps");
	expect_err("e.yaml", "pipeline:\n  outputs:\n    - stdout\n", -EINVAL,
		   "{D}/e.yaml:3: each item of 'outputs' must be a map");
	expect_err("e.yaml", "pipeline: [inputs]\n", -EINVAL,
		   "{D}/e.yaml:1: 'pipeline' must be a map of inputs, filters and outputs");
	expect_err("e.yaml", "- service\n", -EINVAL,
		   "{D}/e.yaml:1: the top level must be a map of sections");
	expect_err("e.yaml", "service:\n  ? [a, b]\n  : c\n", -EINVAL,
		   "{D}/e.yaml:2: keys must be non-empty scalars");
	expect_err("e.yaml", "env:\n  - name: X\n    value: y\n", -EINVAL,
		   "{D}/e.yaml:2: 'env' must be a map of NAME: value");
	expect_err("e.yaml", "env:\n  X: {a: 1}\n", -EINVAL,
		   "{D}/e.yaml:2: env 'X' is a map, not a scalar");
	expect_err("e.yaml", "includes: x.yaml\n", -EINVAL,
		   "{D}/e.yaml:1: 'includes' must be a list of file names");
	expect_err("e.yaml", "includes:\n  - [x.yaml]\n", -EINVAL,
		   "{D}/e.yaml:2: each item of 'includes' must be a file name");
	expect_err("e.yaml", "service:\n  flush: 1\n---\nservice:\n  grace: 2\n", -EINVAL,
		   "{D}/e.yaml:3: only one YAML document per file is supported");
}

/* libyaml's own complaints, at the line it names. */
static void test_syntax_errors(void **state)
{
	(void)state;
	expect_err("s.yaml", "service:\n  flush: 1\n   grace: 2\n", -EINVAL,
		   "{D}/s.yaml:3: mapping values are not allowed in this context");
	expect_err("s.yaml", "service:\n  flush: 1\n\tgrace: 2\n", -EINVAL,
		   "{D}/s.yaml:3: found a tab character that violates indentation");
	expect_err("s.yaml", "pipeline:\n  inputs:\n    - name: x\n  - name: y\n", -EINVAL,
		   "{D}/s.yaml:4: did not find expected key "
		   "(while parsing a block mapping at line 2)");
	expect_err("s.yaml", "service:\n  flush: *nowhere\n", -EINVAL,
		   "{D}/s.yaml:2: found undefined alias");
	expect_err("s.yaml", "service:\n  a: 1\n  b: \"open\n", -EINVAL,
		   "{D}/s.yaml:4: found unexpected end of stream "
		   "(while scanning a quoted scalar at line 3)");
	expect_err("s.yaml", "service:\n  a: 1\n  b: \xff\xfe\n", -EINVAL,
		   "{D}/s.yaml:3: invalid leading UTF-8 octet");
	expect_err("s.yaml", "service:\n  a: [1, 2\n  b: 3\n", -EINVAL,
		   "{D}/s.yaml:3: did not find expected ',' or ']' "
		   "(while parsing a flow sequence at line 2)");
	/* a syntax error in a second document is still an error */
	expect_err("s.yaml", "service: {}\n---\n]\n", -EINVAL,
		   "{D}/s.yaml:3: did not find expected node content");
}

/* The classic reader still reads what is not .yaml/.yml. */
static void test_dispatch(void **state)
{
	(void)state;
	struct dp_conf *c = load_ok("classic.conf", "[SERVICE]\n    Flush 1\n");
	assert_string_equal(c->sec[0].name, "SERVICE");
	dp_conf_destroy(c);
	expect_err("yaml.conf", "service:\n  flush: 1\n", -EINVAL,
		   "{D}/yaml.conf:1: key 'service:' before any [SECTION]");
	c = dp_conf_load_yaml(tp("yaml.conf"), NULL);
	assert_non_null(c);
	assert_string_equal(c->sec[0].name, "SERVICE");
	dp_conf_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_example, setup, teardown),
		cmocka_unit_test_setup_teardown(test_yaml_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_includes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parsers_sp_sections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
