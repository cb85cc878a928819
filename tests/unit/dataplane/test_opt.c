/*
 * test_opt.c — option tables (dp_opt.c): value parsers of every type,
 * ranges, enums, NOT_YET, defaults, dp_opt_apply over several tables with
 * its exact "FILE:LINE: [SECTION] name: ..." errors, the ignore list,
 * freeing, and the help and Markdown renderings.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "dp_opt.h"

struct tcfg {
	char *listen;
	int64_t port;
	int64_t buf;
	int64_t chunk;
	bool tls;
	double flush;
	int mode;
	char *path;
	bool http;
	int64_t secret;
	char *nodef;
};

static const struct dp_opt ttab[] = {
	{ "Listen", DP_OPT_STR, "0.0.0.0", offsetof(struct tcfg, listen), .desc = "Address" },
	{ "Port", DP_OPT_INT, "5140", offsetof(struct tcfg, port), .min = 1, .max = 65535,
	  .desc = "Port to listen on" },
	{ "Buffer_Size", DP_OPT_SIZE, "32k", offsetof(struct tcfg, buf), .min = 1000,
	  .max = 1000000000, .desc = "Bytes" },
	{ "Chunk_Size", DP_OPT_SIZE_KB, "32", offsetof(struct tcfg, chunk), .min = 1,
	  .max = 1024, .desc = "KiB per read" },
	{ "TLS", DP_OPT_BOOL, "off", offsetof(struct tcfg, tls), .desc = "Use TLS" },
	{ "Flush", DP_OPT_SECONDS, "1", offsetof(struct tcfg, flush), .desc = "Interval" },
	{ "Mode", DP_OPT_ENUM, "udp", offsetof(struct tcfg, mode), .choices = "udp|tcp|unix_udp",
	  .desc = "Transport" },
	{ "Path", DP_OPT_STR, NULL, offsetof(struct tcfg, path), .flags = DP_OPT_REQUIRED,
	  .desc = "Where | to write" },
	{ "HTTP_Server", DP_OPT_BOOL, "off", offsetof(struct tcfg, http),
	  .flags = DP_OPT_NOT_YET, .desc = "Monitoring server" },
	{ "Secret", DP_OPT_INT, "7", offsetof(struct tcfg, secret), .flags = DP_OPT_HIDDEN },
	{ "No_Default", DP_OPT_STR, NULL, offsetof(struct tcfg, nodef), .desc = "Optional" },
	{ NULL }
};

struct tcore {
	char *tag;
	double wait;
	char *name2;
};

static const struct dp_opt tcore_tab[] = {
	{ "Tag", DP_OPT_STR, NULL, offsetof(struct tcore, tag), .flags = DP_OPT_REQUIRED },
	{ "Wait", DP_OPT_SECONDS, "0.5", offsetof(struct tcore, wait), .min = 0, .max = 60 },
	/* Port is also in ttab: the first table that has a key takes it */
	{ "Port", DP_OPT_STR, NULL, offsetof(struct tcore, name2) },
	{ NULL }
};

static void test_parse_size(void **state)
{
	static const struct { const char *s; int64_t v; } ok[] = {
		{ "0", 0 }, { "32000", 32000 }, { "32k", 32000 }, { "32K", 32000 },
		{ "32KB", 32000 }, { "32kb", 32000 }, { "32Kb", 32000 }, { "5M", 5000000 },
		{ "5mb", 5000000 }, { "1G", 1000000000 }, { "2gb", 2000000000 },
		{ "1.5M", 1500000 }, { "0.001k", 1 }, { ".5k", 500 }, { "9223372036854775807", INT64_MAX },
		{ "9223372036854775k", 9223372036854775000 },
	};
	static const char *const bad[] = {
		"", "k", "-1", "+1", "5x", "5kbb", "5 k", " 5", "5 ", "1.5", ".k", "5b",
		"99999999999999999999", "9223372036854775808", "9223372036854776k", "1e3", "0x10",
	};
	int64_t v;
	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = -1;
		assert_int_equal(dp_opt_parse_size(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 42;
		assert_int_equal(dp_opt_parse_size(bad[i], &v), -EINVAL);
		assert_int_equal(v, 42);
	}
}

static void test_parse_bool(void **state)
{
	static const char *const t[] = { "on", "On", "ON", "true", "TRUE", "yes", "Yes", "1" };
	static const char *const f[] = { "off", "OFF", "false", "False", "no", "NO", "0" };
	static const char *const bad[] = { "", "2", "onn", "of", "y", "n", " on", "-1" };
	bool b;
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		b = false;
		assert_int_equal(dp_opt_parse_bool(t[i], &b), 0);
		assert_true(b);
	}
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		b = true;
		assert_int_equal(dp_opt_parse_bool(f[i], &b), 0);
		assert_false(b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dp_opt_parse_bool(bad[i], &b), -EINVAL);
}

static void test_parse_seconds(void **state)
{
	static const struct { const char *s; double v; } ok[] = {
		{ "1", 1 }, { "0", 0 }, { "0.25", 0.25 }, { ".5", 0.5 }, { "5s", 5 },
		{ "5S", 5 }, { "100ms", 0.1 }, { "2m", 120 }, { "1h", 3600 }, { "1.5h", 5400 },
		{ "1d", 86400 },
	};
	static const char *const bad[] = {
		"", "-1", "5x", "s", "ms", "1.2.3", "inf", "nan", "1e3", " 1", "1 s", "5sec", ".", "1.",
	};
	double d;
	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		d = -1;
		assert_int_equal(dp_opt_parse_seconds(ok[i].s, &d), 0);
		assert_float_equal(d, ok[i].v, 1e-9);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dp_opt_parse_seconds(bad[i], &d), -EINVAL);
}

static void test_defaults(void **state)
{
	struct tcfg c;
	struct dp_err err = { 0 };
	(void)state;
	memset(&c, 0xa5, sizeof(c));   /* defaults must not read or free old fields */
	assert_int_equal(dp_opt_defaults(ttab, &c, &err), 0);
	assert_string_equal(c.listen, "0.0.0.0");
	assert_ptr_not_equal(c.listen, ttab[0].def);
	assert_int_equal(c.port, 5140);
	assert_int_equal(c.buf, 32000);
	assert_int_equal(c.chunk, 32768);
	assert_false(c.tls);
	assert_float_equal(c.flush, 1.0, 0);
	assert_int_equal(c.mode, 0);
	assert_null(c.path);
	assert_null(c.nodef);
	assert_int_equal(c.secret, 7);
	dp_opt_free(ttab, &c);
	assert_null(c.listen);

	static const struct dp_opt broken[] = {
		{ "Port", DP_OPT_INT, "http", 0, .min = 1, .max = 10 }, { NULL }
	};
	int64_t v;
	assert_int_equal(dp_opt_defaults(broken, &v, &err), -EINVAL);
	assert_string_equal(err.msg, "bad default 'http' for 'Port': expected an integer in 1..10");
}

/* dp_opt_set on a defaulted struct; returns the error text or "" */
static const char *set(struct tcfg *c, const char *key, const char *val)
{
	static struct dp_err err;
	memset(&err, 0, sizeof(err));
	int ret = dp_opt_set(ttab, c, key, val, &err);
	assert_true(ret == 0 ? err.msg[0] == '\0' : err.code == ret);
	return err.msg;
}

static void test_set_types(void **state)
{
	struct tcfg c = { 0 };
	(void)state;
	assert_int_equal(dp_opt_defaults(ttab, &c, NULL), 0);

	assert_string_equal(set(&c, "port", "65535"), "");
	assert_int_equal(c.port, 65535);
	assert_string_equal(set(&c, "Port", "1"), "");
	assert_int_equal(c.port, 1);
	assert_string_equal(set(&c, "Port", "abc"),
			    "invalid value 'abc' for 'Port': expected an integer in 1..65535");
	assert_string_equal(set(&c, "Port", "0"),
			    "invalid value '0' for 'Port': expected an integer in 1..65535");
	assert_string_equal(set(&c, "Port", "65536"),
			    "invalid value '65536' for 'Port': expected an integer in 1..65535");
	assert_string_equal(set(&c, "Port", "12 "),
			    "invalid value '12 ' for 'Port': expected an integer in 1..65535");
	assert_int_equal(c.port, 1);   /* a failed set leaves the value alone */

	assert_string_equal(set(&c, "Buffer_Size", "5M"), "");
	assert_int_equal(c.buf, 5000000);
	assert_string_equal(set(&c, "Buffer_Size", "999"),
			    "invalid value '999' for 'Buffer_Size': expected a size like 32000, "
			    "32k or 5M in 1000..1000000000");
	assert_string_equal(set(&c, "Buffer_Size", "2G"),
			    "invalid value '2G' for 'Buffer_Size': expected a size like 32000, "
			    "32k or 5M in 1000..1000000000");

	assert_string_equal(set(&c, "Chunk_Size", "64"), "");
	assert_int_equal(c.chunk, 65536);
	assert_string_equal(set(&c, "Chunk_Size", "16KB"), "");
	assert_int_equal(c.chunk, 16384);
	assert_string_equal(set(&c, "Chunk_Size", "1024k"), "");
	assert_int_equal(c.chunk, 1024 * 1024);
	assert_string_equal(set(&c, "Chunk_Size", "1025"),
			    "invalid value '1025' for 'Chunk_Size': expected a count of KiB in 1..1024");
	assert_string_equal(set(&c, "Chunk_Size", "1M"),
			    "invalid value '1M' for 'Chunk_Size': expected a count of KiB in 1..1024");

	assert_string_equal(set(&c, "tls", "On"), "");
	assert_true(c.tls);
	assert_string_equal(set(&c, "TLS", "maybe"),
			    "invalid value 'maybe' for 'TLS': expected on/off, true/false, yes/no or 1/0");

	assert_string_equal(set(&c, "Flush", "250ms"), "");
	assert_float_equal(c.flush, 0.25, 1e-12);
	assert_string_equal(set(&c, "Flush", "soon"),
			    "invalid value 'soon' for 'Flush': expected seconds like 5, 0.5, 500ms, "
			    "2m or 1h");

	assert_string_equal(set(&c, "mode", "TCP"), "");
	assert_int_equal(c.mode, 1);
	assert_string_equal(set(&c, "Mode", "unix_udp"), "");
	assert_int_equal(c.mode, 2);
	assert_string_equal(set(&c, "Mode", "unix"),
			    "invalid value 'unix' for 'Mode': expected one of udp/tcp/unix_udp");
	assert_string_equal(set(&c, "Mode", "udp|tcp"),
			    "invalid value 'udp|tcp' for 'Mode': expected one of udp/tcp/unix_udp");

	/* strings: last wins, the old copy is freed (ASan would see a leak) */
	assert_string_equal(set(&c, "Path", "/a"), "");
	assert_string_equal(set(&c, "PATH", "/b"), "");
	assert_string_equal(c.path, "/b");
	assert_string_equal(set(&c, "Listen", "127.0.0.1"), "");
	assert_string_equal(c.listen, "127.0.0.1");

	/* long values are cut in the message */
	char longv[200];
	memset(longv, 'x', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	const char *m = set(&c, "Port", longv);
	assert_non_null(strstr(m, "xxx...' for 'Port'"));

	assert_string_equal(set(&c, "Foo", "1"), "unknown key 'Foo'");
	struct dp_err err;
	assert_int_equal(dp_opt_set(ttab, &c, "Foo", "1", &err), -ENOENT);
	assert_int_equal(dp_opt_set(ttab, &c, "Port", "x", &err), -EINVAL);
	dp_opt_free(ttab, &c);
	assert_null(c.path);
	dp_opt_free(ttab, &c);   /* twice is harmless */
}

static void test_not_yet(void **state)
{
	struct tcfg c = { 0 };
	(void)state;
	assert_int_equal(dp_opt_defaults(ttab, &c, NULL), 0);
	assert_string_equal(set(&c, "HTTP_Server", "off"), "");
	assert_string_equal(set(&c, "http_server", "False"), "");
	assert_string_equal(set(&c, "HTTP_Server", "On"), "'HTTP_Server On' is not supported yet");
	assert_string_equal(set(&c, "http_server", "1"), "'http_server 1' is not supported yet");
	assert_false(c.http);
	assert_string_equal(set(&c, "HTTP_Server", "bogus"),
			    "invalid value 'bogus' for 'HTTP_Server': expected on/off, true/false, "
			    "yes/no or 1/0");
	dp_opt_free(ttab, &c);

	/* NOT_YET without a default accepts nothing; strings compare without case */
	char *s = NULL;
	static const struct dp_opt t2[] = {
		{ "Storage", DP_OPT_STR, NULL, 0, .flags = DP_OPT_NOT_YET },
		{ "Format", DP_OPT_STR, "json", 0, .flags = DP_OPT_NOT_YET },
		{ NULL }
	};
	struct dp_err err;
	assert_int_equal(dp_opt_set(t2, &s, "Storage", "mem", &err), -EINVAL);
	assert_string_equal(err.msg, "'Storage mem' is not supported yet");
	assert_int_equal(dp_opt_set(t2, &s, "Format", "JSON", &err), 0);
	assert_string_equal(s, "JSON");
	assert_int_equal(dp_opt_set(t2, &s, "Format", "msgpack", &err), -EINVAL);
	free(s);
}

/* A section as the reader would build it, lines 10.. in sluice.conf */
static struct dp_conf *mk(const char *const *kv)
{
	struct dp_conf *c = dp_conf_create();
	struct dp_conf_section *s = dp_conf_section_add(c, "INPUT", "sluice.conf", 9);
	for (int i = 0; kv[i]; i += 2)
		assert_int_equal(dp_conf_kv_add(c, s, kv[i], kv[i + 1], "sluice.conf", 10 + i / 2), 0);
	return c;
}

static int apply(const char *const *kv, struct tcfg *a, struct tcore *b, struct dp_err *err)
{
	static const char *const ignore[] = { "Name", "match", NULL };
	const struct dp_opt *const tabs[] = { ttab, tcore_tab };
	void *const cfgs[] = { a, b };
	struct dp_conf *c = mk(kv);
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	memset(err, 0, sizeof(*err));
	int ret = dp_opt_apply(tabs, cfgs, 2, &c->sec[0], "[INPUT] syslog", ignore, err);
	dp_conf_destroy(c);
	return ret;
}

static void test_apply(void **state)
{
	struct tcfg a;
	struct tcore b;
	struct dp_err err;
	(void)state;

	const char *const good[] = { "Name", "syslog", "Path", "/var/x", "Tag", "t.*",
				     "Port", "514", "wait", "2s", "MATCH", "*", NULL };
	assert_int_equal(apply(good, &a, &b, &err), 0);
	assert_string_equal(a.path, "/var/x");
	assert_int_equal(a.port, 514);
	assert_null(b.name2);               /* Port went to the first table */
	assert_string_equal(b.tag, "t.*");
	assert_float_equal(b.wait, 2.0, 0);
	assert_string_equal(a.listen, "0.0.0.0");   /* defaults of both tables */
	assert_int_equal(a.buf, 32000);
	dp_opt_free(ttab, &a);
	dp_opt_free(tcore_tab, &b);

	const char *const unknown[] = { "Path", "/x", "Tag", "t", "Foo", "1", NULL };
	assert_int_equal(apply(unknown, &a, &b, &err), -ENOENT);
	assert_string_equal(err.msg, "sluice.conf:12: [INPUT] syslog: unknown key 'Foo'");
	assert_null(a.path);                /* freed on failure */
	assert_null(a.listen);
	assert_null(b.tag);

	const char *const badval[] = { "Path", "/x", "Port", "abc", "Tag", "t", NULL };
	assert_int_equal(apply(badval, &a, &b, &err), -EINVAL);
	assert_string_equal(err.msg, "sluice.conf:11: [INPUT] syslog: invalid value 'abc' for "
			    "'Port': expected an integer in 1..65535");

	const char *const badwait[] = { "Path", "/x", "Tag", "t", "Wait", "2m", NULL };
	assert_int_equal(apply(badwait, &a, &b, &err), -EINVAL);
	assert_string_equal(err.msg, "sluice.conf:12: [INPUT] syslog: invalid value '2m' for "
			    "'Wait': expected seconds like 5, 0.5, 500ms, 2m or 1h in 0..60");

	const char *const nopath[] = { "Tag", "t", "Port", "1", NULL };
	assert_int_equal(apply(nopath, &a, &b, &err), -EINVAL);
	assert_string_equal(err.msg, "sluice.conf:9: [INPUT] syslog: missing required key 'Path'");
	assert_null(a.listen);

	const char *const notag[] = { "Path", "/x", NULL };
	assert_int_equal(apply(notag, &a, &b, &err), -EINVAL);
	assert_string_equal(err.msg, "sluice.conf:9: [INPUT] syslog: missing required key 'Tag'");

	const char *const notyet[] = { "Path", "/x", "Tag", "t", "Http_Server", "On", NULL };
	assert_int_equal(apply(notyet, &a, &b, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "sluice.conf:12: [INPUT] syslog: 'Http_Server On' is not supported yet");

	/* last wins for a key given twice */
	const char *const twice[] = { "Path", "/1", "Tag", "t", "path", "/2", NULL };
	assert_int_equal(apply(twice, &a, &b, &err), 0);
	assert_string_equal(a.path, "/2");
	dp_opt_free(ttab, &a);
	dp_opt_free(tcore_tab, &b);
}

static void test_apply_plain(void **state)
{
	struct dp_err err;
	int64_t v = 0;
	(void)state;
	static const struct dp_opt t[] = { { "N", DP_OPT_INT, "3", 0 }, { NULL } };
	const struct dp_opt *const tabs[] = { t };
	void *const cfgs[] = { &v };
	struct dp_conf *c = dp_conf_create();
	struct dp_conf_section *s = dp_conf_section_add(c, "SERVICE", "x.conf", 1);
	assert_int_equal(dp_opt_apply(tabs, cfgs, 1, s, NULL, NULL, &err), 0);
	assert_int_equal(v, 3);
	dp_conf_kv_add(c, s, "Name", "x", "x.conf", 2);
	assert_int_equal(dp_opt_apply(tabs, cfgs, 1, s, NULL, NULL, &err), -ENOENT);
	assert_string_equal(err.msg, "x.conf:2: [SERVICE]: unknown key 'Name'");
	dp_conf_destroy(c);
}

static char *capture(void (*fn)(FILE *, const struct dp_opt *), const struct dp_opt *tab)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	fn(f, tab);
	fclose(f);
	return buf;
}

static void test_help(void **state)
{
	(void)state;
	char *out = capture(dp_opt_print_help, ttab);
	assert_null(strstr(out, "Secret"));
	char *line = strtok(out, "\n");
	const char *hdr_type = strstr(line, "Type");
	const char *hdr_def = strstr(line, "Default");
	const char *hdr_desc = strstr(line, "Description");
	assert_non_null(hdr_type);
	int col_t = hdr_type - line, col_d = hdr_def - line, col_x = hdr_desc - line;
	int rows = 0;
	while ((line = strtok(NULL, "\n"))) {
		rows++;
		/* every column starts where its header does */
		assert_true(line[col_t - 1] == ' ' && line[col_t] != ' ');
		assert_true(line[col_d - 1] == ' ' && line[col_d] != ' ');
		assert_true(line[col_x - 1] == ' ');
		if (!strncmp(line, "Port ", 5)) {
			assert_non_null(strstr(line + col_t, "integer 1..65535"));
			assert_int_equal(strncmp(line + col_d, "5140 ", 5), 0);
			assert_string_equal(line + col_x, "Port to listen on");
		}
		if (!strncmp(line, "Path ", 5))
			assert_int_equal(strncmp(line + col_d, "(required)", 10), 0);
		if (!strncmp(line, "Mode ", 5))
			assert_int_equal(strncmp(line + col_t, "udp|tcp|unix_udp", 16), 0);
		if (!strncmp(line, "HTTP_Server ", 12))
			assert_string_equal(line + col_x, "(not supported yet) Monitoring server");
	}
	assert_int_equal(rows, 10);
	free(out);
}

static void test_markdown(void **state)
{
	(void)state;
	static const struct dp_opt t[] = {
		{ "Mode", DP_OPT_ENUM, "udp", 0, .choices = "udp|tcp", .desc = "Transport" },
		{ "Path", DP_OPT_STR, NULL, 0, .flags = DP_OPT_REQUIRED, .desc = "a|b" },
		{ "Port", DP_OPT_INT, "5140", 0, .min = 1, .max = 65535, .desc = "Port" },
		{ "Hidden", DP_OPT_INT, "1", 0, .flags = DP_OPT_HIDDEN },
		{ "Srv", DP_OPT_BOOL, "off", 0, .flags = DP_OPT_NOT_YET, .desc = "HTTP" },
		{ "Opt", DP_OPT_SIZE, NULL, 0 },
		{ NULL }
	};
	char *out = capture(dp_opt_print_markdown, t);
	assert_string_equal(out,
		"| Key | Type | Default | Description |\n"
		"| --- | --- | --- | --- |\n"
		"| `Mode` | udp\\|tcp | `udp` | Transport |\n"
		"| `Path` | string | *required* | a\\|b |\n"
		"| `Port` | integer 1..65535 | `5140` | Port |\n"
		"| `Srv` | bool | `off` | *Not supported yet: only the default is accepted.* HTTP |\n"
		"| `Opt` | size |  |  |\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_parse_seconds),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_set_types),
		cmocka_unit_test(test_not_yet),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_apply_plain),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_markdown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
