/*
 * test_psr_parser.c — [PARSER] definitions (psr_parser.h) against Fluent
 * Bit's own parsers.conf entries and documented examples: apache, apache2,
 * apache_error, nginx, docker (JSON), syslog-rfc5424 / rfc3164, logfmt,
 * LTSV; Types, Time_Keep / Time_Offset, no-match rollback, decoders and
 * configuration errors. Each record is decoded with msgpack-c and checked
 * against the expected pairs; the chunk's index must agree with it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <msgpack.h>
#include "psr_parser.h"

#define RECV_SEC  1718452800u  /* 2024-06-15T12:00:00Z */
#define RECV_NSEC 7u

static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA];
static struct dp_chunk chunk;
static struct psr_parsers *set;
static struct dp_conf *conf;
static int next_line;

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = s };
	return (int64_t)timegm(&tm);
}

static int setup(void **state)
{
	(void)state;
	dp_chunk_init(&chunk, recs, fields, data);
	set = psr_parsers_create();
	conf = dp_conf_create();
	next_line = 1;
	return set && conf ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	psr_parsers_destroy(set);
	dp_conf_destroy(conf);
	return 0;
}

/* A [PARSER] section from key, value, ... NULL, one key per line as in a
 * parsers.conf; returns psr_parsers_add's result. */
static int add(struct dp_err *err, ...)
{
	va_list ap;
	struct dp_conf_section *s = dp_conf_section_add(conf, "PARSER", "parsers.conf", next_line++);
	assert_non_null(s);
	va_start(ap, err);
	const char *k;
	while ((k = va_arg(ap, const char *))) {
		const char *v = va_arg(ap, const char *);
		assert_int_equal(dp_conf_kv_add(conf, s, k, v, "parsers.conf", next_line++), 0);
	}
	va_end(ap);
	next_line++;
	return psr_parsers_add(set, s, err);
}

/* Fluent Bit's conf/parsers.conf entries used below. */
static void add_fluent_bit_parsers(void)
{
	struct dp_err e = { 0 };
	int rc = add(&e, "Name", "apache", "Format", "regex",
		     "Regex", "^(?<host>[^ ]*) [^ ]* (?<user>[^ ]*) \\[(?<time>[^\\]]*)\\] \"(?<method>\\S+)(?: +(?<path>[^\\\"]*?)(?: +\\S*)?)?\" (?<code>[^ ]*) (?<size>[^ ]*)(?: \"(?<referer>[^\\\"]*)\" \"(?<agent>[^\\\"]*)\")?$",
		     "Time_Key", "time", "Time_Format", "%d/%b/%Y:%H:%M:%S %z", NULL);
	rc |= add(&e, "Name", "apache2", "Format", "regex",
		  "Regex", "^(?<host>[^ ]*) [^ ]* (?<user>[^ ]*) \\[(?<time>[^\\]]*)\\] \"(?<method>\\S+)(?: +(?<path>[^ ]*) +\\S*)?\" (?<code>[^ ]*) (?<size>[^ ]*)(?: \"(?<referer>[^\\\"]*)\" \"(?<agent>.*)\")?$",
		  "Time_Key", "time", "Time_Format", "%d/%b/%Y:%H:%M:%S %z", NULL);
	rc |= add(&e, "Name", "apache_error", "Format", "regex",
		  "Regex", "^\\[[^ ]* (?<time>[^\\]]*)\\] \\[(?<level>[^\\]]*)\\](?: \\[pid (?<pid>[^\\]]*)\\])?( \\[client (?<client>[^\\]]*)\\])? (?<message>.*)$",
		  NULL);
	rc |= add(&e, "Name", "nginx", "Format", "regex",
		  "Regex", "^(?<remote>[^ ]*) (?<host>[^ ]*) (?<user>[^ ]*) \\[(?<time>[^\\]]*)\\] \"(?<method>\\S+)(?: +(?<path>[^\\\"]*?)(?: +\\S*)?)?\" (?<code>[^ ]*) (?<size>[^ ]*)(?: \"(?<referer>[^\\\"]*)\" \"(?<agent>[^\\\"]*)\")?$",
		  "Time_Key", "time", "Time_Format", "%d/%b/%Y:%H:%M:%S %z", NULL);
	rc |= add(&e, "Name", "docker", "Format", "json", "Time_Key", "time",
		  "Time_Format", "%Y-%m-%dT%H:%M:%S.%L", "Time_Keep", "On", NULL);
	rc |= add(&e, "Name", "syslog-rfc5424", "Format", "regex",
		  "Regex", "^\\<(?<pri>[0-9]{1,5})\\>1 (?<time>[^ ]+) (?<host>[^ ]+) (?<ident>[^ ]+) (?<pid>[-0-9]+) (?<msgid>[^ ]+) (?<extradata>(\\[(.*)\\]|-)) (?<message>.+)$",
		  "Time_Key", "time", "Time_Format", "%Y-%m-%dT%H:%M:%S.%L", "Time_Keep", "On", NULL);
	/* as shipped: /.../ delimiters and two Time_Format lines */
	rc |= add(&e, "Name", "syslog-rfc3164", "Format", "regex",
		  "Regex", "/^\\<(?<pri>[0-9]+)\\>(?<time>[^ ]* {1,2}[^ ]* [^ ]*) (?<host>[^ ]*) (?<ident>[a-zA-Z0-9_\\/\\.\\-]*)(?:\\[(?<pid>[0-9]+)\\])?(?:[^\\:]*\\:)? *(?<message>.*)$/",
		  "Time_Key", "time", "Time_Format", "%b %d %H:%M:%S",
		  "Time_Format", "%Y-%m-%dT%H:%M:%S.%L", "Time_Keep", "On", NULL);
	if (rc)
		fail_msg("%s", e.msg);
}

/* Parse one text as an input would. On -EINVAL nothing may be left. */
static int run(const char *parser, const char *text, size_t len)
{
	const struct psr_parser *p = psr_parsers_find(set, parser);
	assert_non_null(p);
	struct psr_parser_state *st = psr_parser_state_create(p);
	assert_non_null(st);
	dp_chunk_reset(&chunk);
	dp_chunk_rec_begin(&chunk, RECV_SEC, RECV_NSEC);
	uint32_t before = chunk.data_len, nf = chunk.nfields;
	int rc = psr_parser_exec(p, st, &chunk, text, len);
	if (rc) {
		assert_int_equal(rc, -EINVAL);
		assert_int_equal(chunk.data_len, before);
		assert_int_equal(chunk.nfields, nf);
		assert_int_equal(chunk.cur_nfields, 0);
		dp_chunk_rec_abort(&chunk);
	} else {
		assert_int_equal(dp_chunk_rec_end(&chunk), 0);
	}
	psr_parser_state_destroy(st);
	return rc;
}

static int runs(const char *parser, const char *text)
{
	return run(parser, text, strlen(text));
}

/* A value as text: strings as they are, other types tagged:
 * #int  ~float  ?bool  {map:k=v,...}  [array n]  nil */
static void render(const msgpack_object *v, char *buf, size_t n)
{
	switch (v->type) {
	case MSGPACK_OBJECT_STR:
		snprintf(buf, n, "%.*s", (int)v->via.str.size, v->via.str.ptr);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		snprintf(buf, n, "#%llu", (unsigned long long)v->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		snprintf(buf, n, "#%lld", (long long)v->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		snprintf(buf, n, "~%g", v->via.f64);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		snprintf(buf, n, "?%s", v->via.boolean ? "true" : "false");
		break;
	case MSGPACK_OBJECT_MAP: {
		size_t o = (size_t)snprintf(buf, n, "{");
		for (uint32_t i = 0; i < v->via.map.size && o < n; i++) {
			char kb[128], vb[256];
			render(&v->via.map.ptr[i].key, kb, sizeof(kb));
			render(&v->via.map.ptr[i].val, vb, sizeof(vb));
			o += (size_t)snprintf(buf + o, n - o, "%s%s=%s", i ? "," : "", kb, vb);
		}
		if (o < n)
			snprintf(buf + o, n - o, "}");
		break;
	}
	case MSGPACK_OBJECT_ARRAY:
		snprintf(buf, n, "[array %u]", v->via.array.size);
		break;
	default:
		snprintf(buf, n, "nil");
	}
}

struct kv {
	const char *k, *v;
};

/* Record 0 must be [time, map] with exactly these pairs, in order. */
static void check(const struct kv *want, unsigned nwant, int64_t sec, uint32_t nsec)
{
	assert_int_equal(chunk.nrecs, 1);
	const struct dp_rec *r = &chunk.recs[0];
	if (r->ts_sec != (uint32_t)sec || r->ts_nsec != nsec)
		fail_msg("time %u.%09u want %lld.%09u", r->ts_sec, r->ts_nsec, (long long)sec, nsec);
	assert_int_equal(dp_mp_object_size(chunk.data + r->off, r->len), r->len);
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	assert_int_equal(msgpack_unpack_next(&u, (const char *)chunk.data + r->off, r->len, &off),
			 MSGPACK_UNPACK_SUCCESS);
	msgpack_object m = u.data.via.array.ptr[1];
	assert_int_equal(m.type, MSGPACK_OBJECT_MAP);
	char got[1024] = "";
	size_t o = 0;
	for (uint32_t i = 0; i < m.via.map.size; i++) {
		char kb[128], vb[512];
		render(&m.via.map.ptr[i].key, kb, sizeof(kb));
		render(&m.via.map.ptr[i].val, vb, sizeof(vb));
		o += (size_t)snprintf(got + o, sizeof(got) - o, " %s=%s", kb, vb);
	}
	if (m.via.map.size != nwant)
		fail_msg("%u pairs, want %u:%s", m.via.map.size, nwant, got);
	assert_int_equal(r->nfields, nwant);
	const struct dp_field *f = dp_rec_fields(&chunk, r);
	for (unsigned i = 0; i < nwant; i++) {
		char kb[128], vb[512];
		render(&m.via.map.ptr[i].key, kb, sizeof(kb));
		render(&m.via.map.ptr[i].val, vb, sizeof(vb));
		if (strcmp(kb, want[i].k) || strcmp(vb, want[i].v))
			fail_msg("pair %u: %s=%s want %s=%s; record:%s", i, kb, vb, want[i].k, want[i].v,
				 got);
		/* the index agrees */
		assert_int_equal(f[i].key_len, strlen(want[i].k));
		assert_memory_equal(dp_field_key(&chunk, &f[i]), want[i].k, f[i].key_len);
		if (m.via.map.ptr[i].val.type == MSGPACK_OBJECT_STR) {
			assert_int_equal(f[i].type, DP_T_STR);
			assert_int_equal(f[i].val_len, strlen(want[i].v));
		}
	}
	msgpack_unpacked_destroy(&u);
}

#define CHECK(t, sec, nsec, ...) do { \
	const struct kv w_[] = { __VA_ARGS__ }; \
	check(w_, DP_ARRAY_SIZE(w_), sec, nsec); \
} while (0)

static void test_apache(void **state)
{
	(void)state;
	add_fluent_bit_parsers();
	/* Fluent Bit's regular-expression documentation example */
	assert_int_equal(runs("apache", "192.168.2.20 - - [28/Jul/2006:10:27:10 -0300] \"GET /cgi-bin/try/ HTTP/1.0\" 200 3395"), 0);
	CHECK(0, 1154093230, 0,
	      { "host", "192.168.2.20" }, { "user", "-" }, { "method", "GET" },
	      { "path", "/cgi-bin/try/" }, { "code", "200" }, { "size", "3395" });
	/* combined: referer and agent */
	assert_int_equal(runs("apache", "10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326 \"http://www.example.com/start.html\" \"Mozilla/4.08 [en] (Win98; I ;Nav)\""), 0);
	CHECK(0, utc(2000, 10, 10, 20, 55, 36), 0,
	      { "host", "10.0.0.1" }, { "user", "frank" }, { "method", "GET" },
	      { "path", "/apache_pb.gif" }, { "code", "200" }, { "size", "2326" },
	      { "referer", "http://www.example.com/start.html" },
	      { "agent", "Mozilla/4.08 [en] (Win98; I ;Nav)" });
	/* apache2: the agent may hold quotes */
	assert_int_equal(runs("apache2", "::1 - - [01/Jan/2020:00:00:00 +0000] \"OPTIONS * HTTP/1.0\" 200 126 \"-\" \"Apache (internal \"dummy\" connection)\""), 0);
	CHECK(0, utc(2020, 1, 1, 0, 0, 0), 0,
	      { "host", "::1" }, { "user", "-" }, { "method", "OPTIONS" }, { "path", "*" },
	      { "code", "200" }, { "size", "126" }, { "referer", "-" },
	      { "agent", "Apache (internal \"dummy\" connection)" });
	assert_int_equal(runs("apache", "not an access log line"), -EINVAL);
}

static void test_apache_error_nginx(void **state)
{
	(void)state;
	add_fluent_bit_parsers();
	/* no Time_Format: time stays a field; the unmatched pid is skipped */
	assert_int_equal(runs("apache_error", "[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] client denied by server configuration: /export/home/live/ap/htdocs/test"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC,
	      { "time", "Oct 11 14:32:52 2000" }, { "level", "error" }, { "client", "127.0.0.1" },
	      { "message", "client denied by server configuration: /export/home/live/ap/htdocs/test" });
	assert_int_equal(runs("nginx", "172.17.0.1 - - [21/Jun/2024:08:15:30 +0200] \"POST /api/v1/items?id=3 HTTP/1.1\" 201 57 \"-\" \"curl/8.5.0\""), 0);
	CHECK(0, utc(2024, 6, 21, 6, 15, 30), 0,
	      { "remote", "172.17.0.1" }, { "host", "-" }, { "user", "-" }, { "method", "POST" },
	      { "path", "/api/v1/items?id=3" }, { "code", "201" }, { "size", "57" },
	      { "referer", "-" }, { "agent", "curl/8.5.0" });
}

static void test_docker_json(void **state)
{
	(void)state;
	add_fluent_bit_parsers();
	assert_int_equal(runs("docker", "{\"log\":\"hello world\\n\",\"stream\":\"stdout\",\"time\":\"2018-08-01T18:12:34.123456789Z\"}"), 0);
	CHECK(0, utc(2018, 8, 1, 18, 12, 34), 123456789,
	      { "log", "hello world\n" }, { "stream", "stdout" },
	      { "time", "2018-08-01T18:12:34.123456789Z" });
	/* a time that does not parse stays, the record keeps its time */
	assert_int_equal(runs("docker", "{\"time\":\"yesterday\",\"n\":5}"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "time", "yesterday" }, { "n", "#5" });
	assert_int_equal(runs("docker", "[1,2]"), -EINVAL);
	assert_int_equal(runs("docker", "{\"a\":"), -EINVAL);
}

static void test_syslog(void **state)
{
	(void)state;
	add_fluent_bit_parsers();
	/* RFC 5424 section 6.5 example 3 */
	assert_int_equal(runs("syslog-rfc5424", "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] An application event log entry..."), 0);
	CHECK(0, utc(2003, 10, 11, 22, 14, 15), 3000000,
	      { "pri", "165" }, { "time", "2003-10-11T22:14:15.003Z" },
	      { "host", "mymachine.example.com" }, { "ident", "evntslog" }, { "pid", "-" },
	      { "msgid", "ID47" },
	      { "extradata", "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]" },
	      { "message", "An application event log entry..." });
	/* RFC 3164: no year → the receive time's year (2024); the first
	 * Time_Format reads it */
	assert_int_equal(runs("syslog-rfc3164", "<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8"), 0);
	CHECK(0, utc(2024, 10, 11, 22, 14, 15), 0,
	      { "pri", "34" }, { "time", "Oct 11 22:14:15" }, { "host", "mymachine" },
	      { "ident", "su" }, { "pid", "123" },
	      { "message", "'su root' failed for lonvick on /dev/pts/8" });
}

static void test_logfmt(void **state)
{
	(void)state;
	struct dp_err e = { 0 };
	assert_int_equal(add(&e, "Name", "lf", "Format", "logfmt", "Time_Key", "ts",
			     "Time_Format", "%Y-%m-%dT%H:%M:%S%z", "Types", "n:integer", NULL), 0);
	assert_int_equal(runs("lf", "level=info ts=2020-02-03T04:05:06Z msg=\"quoted \\\" value\" flag n=42 empty= q=\"\" path=/a/b\nnext=line"), 0);
	CHECK(0, utc(2020, 2, 3, 4, 5, 6), 0,
	      { "level", "info" }, { "msg", "quoted \" value" }, { "flag", "?true" },
	      { "n", "#42" }, { "empty", "?true" }, { "q", "" }, { "path", "/a/b" });
	/* a time that does not parse fails the line (Fluent Bit) */
	assert_int_equal(runs("lf", "a=1 ts=never b=2"), -EINVAL);
	assert_int_equal(runs("lf", "   "), -EINVAL);
	assert_int_equal(runs("lf", ""), -EINVAL);
}

/* https://docs.fluentbit.io/manual/5.0/data-pipeline/parsers/logfmt: with
 * Logfmt_No_Bare_Keys a line where a key has no value (key3 of the
 * page's example) is not parsed; without it key3 is true. */
static void test_logfmt_no_bare_keys(void **state)
{
	(void)state;
	struct dp_err e = { 0 };
	const char *line = "key1=val1 key2=val2 key3";
	assert_int_equal(add(&e, "Name", "lf_strict", "Format", "logfmt", "Logfmt_No_Bare_Keys", "true",
			     NULL), 0);
	assert_int_equal(add(&e, "Name", "lf_loose", "Format", "logfmt", NULL), 0);
	assert_int_equal(runs("lf_loose", line), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "key1", "val1" }, { "key2", "val2" }, { "key3", "?true" });
	assert_int_equal(runs("lf_strict", line), -EINVAL);
	assert_int_equal(runs("lf_strict", "key1=val1 key2="), -EINVAL);
	assert_int_equal(runs("lf_strict", "key1=val1 key2=\"\""), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "key1", "val1" }, { "key2", "" });
}

static void test_ltsv(void **state)
{
	(void)state;
	struct dp_err e = { 0 };
	/* Fluent Bit's LTSV documentation example */
	assert_int_equal(add(&e, "Name", "access_log_ltsv", "Format", "ltsv", "Time_Key", "time",
			     "Time_Format", "[%d/%b/%Y:%H:%M:%S %z]",
			     "Types", "status:integer size:integer reqtime:float", NULL), 0);
	assert_int_equal(runs("access_log_ltsv", "host:127.0.0.1\tident:-\tuser:-\ttime:[10/Jul/2018:13:27:05 +0200]\treq:GET / HTTP/1.1\tstatus:200\tsize:16218\treferer:http://127.0.0.1/\tua:Mozilla/5.0\treqtime:0.087\n"), 0);
	CHECK(0, utc(2018, 7, 10, 11, 27, 5), 0,
	      { "host", "127.0.0.1" }, { "ident", "-" }, { "user", "-" },
	      { "req", "GET / HTTP/1.1" }, { "status", "#200" }, { "size", "#16218" },
	      { "referer", "http://127.0.0.1/" }, { "ua", "Mozilla/5.0" }, { "reqtime", "~0.087" });
	assert_int_equal(runs("access_log_ltsv", "no colon here"), -EINVAL);
	assert_int_equal(runs("access_log_ltsv", "a:1\tb@d:2"), -EINVAL);
	/* empty values are skipped */
	assert_int_equal(runs("access_log_ltsv", "a:\tb:x"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "b", "x" });
}

static void test_types(void **state)
{
	(void)state;
	struct dp_err e = { 0 };
	/* the parser filter documentation's dummy_test, typed */
	assert_int_equal(add(&e, "Name", "dummy_test", "Format", "regex",
			     "Regex", "^(?<INT>[^ ]+) (?<FLOAT>[^ ]+) (?<BOOL>[^ ]+) (?<STRING>.+)$",
			     "Types", "INT:integer FLOAT:float BOOL:bool STRING:string", NULL), 0);
	assert_int_equal(runs("dummy_test", "100 0.5 true This is example"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "INT", "#100" }, { "FLOAT", "~0.5" }, { "BOOL", "?true" },
	      { "STRING", "This is example" });
	/* values that do not convert stay strings */
	assert_int_equal(runs("dummy_test", "12x 1.5.6 yes ok"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "INT", "12x" }, { "FLOAT", "1.5.6" }, { "BOOL", "yes" },
	      { "STRING", "ok" });
	assert_int_equal(runs("dummy_test", "-9223372036854775808 -1e3 FALSE x"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "INT", "#-9223372036854775808" }, { "FLOAT", "~-1000" },
	      { "BOOL", "?false" }, { "STRING", "x" });
	assert_int_equal(runs("dummy_test", "9223372036854775808 1 1 x"), 0);  /* overflow */
	CHECK(0, RECV_SEC, RECV_NSEC, { "INT", "9223372036854775808" }, { "FLOAT", "~1" },
	      { "BOOL", "1" }, { "STRING", "x" });
	assert_int_equal(add(&e, "Name", "hex", "Format", "regex", "Regex", "^(?<id>\\S+)",
			     "Types", "id:hex", NULL), 0);
	assert_int_equal(runs("hex", "0xff"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "id", "#255" });
	assert_int_equal(runs("hex", "ffffffffffffffff"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "id", "#18446744073709551615" });
	assert_int_equal(runs("hex", "xyz"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "id", "xyz" });
}

static void test_time_keep_offset(void **state)
{
	(void)state;
	struct dp_err e = { 0 };
	assert_int_equal(add(&e, "Name", "local", "Format", "regex",
			     "Regex", "^(?<t>[^|]+)\\|(?<msg>.*)$", "Time_Key", "t",
			     "Time_Format", "%Y-%m-%d %H:%M:%S", "Time_Offset", "+0200", NULL), 0);
	assert_int_equal(runs("local", "2020-01-01 02:00:00|hi"), 0);
	CHECK(0, utc(2020, 1, 1, 0, 0, 0), 0, { "msg", "hi" });
	/* a time that does not parse: the field is dropped (Fluent Bit's regex) */
	assert_int_equal(runs("local", "soon|hi"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "msg", "hi" });
	assert_int_equal(add(&e, "Name", "keep", "Format", "regex",
			     "Regex", "^(?<time>\\S+) (?<msg>.*)$", "Time_Format", "%s.%L",
			     "Time_Keep", "on", NULL), 0);
	assert_int_equal(runs("keep", "1600000000.5 x"), 0);
	CHECK(0, 1600000000, 500000000, { "time", "1600000000.5" }, { "msg", "x" });
	/* Skip_Empty_Values off: an unmatched group is an empty string */
	assert_int_equal(add(&e, "Name", "noskip", "Format", "regex",
			     "Regex", "^(?<a>x)?(?<b>.*)$", "Skip_Empty_Values", "off", NULL), 0);
	assert_int_equal(runs("noskip", "yz"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "a", "" }, { "b", "yz" });
}

static void test_no_match_leaves_nothing(void **state)
{
	(void)state;
	add_fluent_bit_parsers();
	/* run() asserts the chunk is back where it was */
	assert_int_equal(runs("nginx", ""), -EINVAL);
	assert_int_equal(runs("syslog-rfc5424", "<165>1 2003-10-11T22:14:15.003Z"), -EINVAL);
	assert_int_equal(run("apache", NULL, 0), -EINVAL);
	/* invalid UTF-8 is matched bytewise, never a crash */
	assert_int_equal(runs("apache_error", "[x \xff\xfe] [e\xc3] \xc3\x28"), 0);
	assert_int_equal(chunk.nrecs, 1);
	/* a pattern that needs UTF-8: invalid input matches no character
	 * (PCRE2's MATCH_INVALID_UTF), never a crash */
	struct dp_err e = { 0 };
	assert_int_equal(add(&e, "Name", "u", "Format", "regex", "Regex", "^(?<w>\\p{L}+) (?<r>.*)$",
			     NULL), 0);
	assert_int_equal(runs("u", "h\xc3\xa9llo w\xc3\xb6rld"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "w", "h\xc3\xa9llo" }, { "r", "w\xc3\xb6rld" });
	assert_int_equal(runs("u", "h\xc3\xa9llo w\xffrld"), -EINVAL);
	assert_int_equal(runs("u", "\xff\xfe x"), -EINVAL);
}

static void test_decode(void **state)
{
	(void)state;
	struct dp_err e = { 0 };
	assert_int_equal(add(&e, "Name", "dj", "Format", "json", "Decode_Field_As", "json log",
			     NULL), 0);
	assert_int_equal(runs("dj", "{\"log\":\"{\\\"a\\\":1,\\\"b\\\":\\\"x\\\"}\",\"stream\":\"stdout\"}"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "stream", "stdout" }, { "log", "{a=#1,b=x}" });
	/* not an object: stays a string */
	assert_int_equal(runs("dj", "{\"log\":\"plain text\"}"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "log", "plain text" });

	assert_int_equal(add(&e, "Name", "rj", "Format", "regex", "Regex", "^(?<lvl>\\w+) (?<payload>.*)$",
			     "Decode_Field_As", "escaped payload do_next",
			     "Decode_Field_As", "json payload", NULL), 0);
	assert_int_equal(runs("rj", "INFO {\\\"user\\\":\\\"ann\\\",\\\"n\\\":[1,2]}"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "lvl", "INFO" }, { "payload", "{user=ann,n=[array 2]}" });
	assert_int_equal(runs("rj", "WARN line\\tone"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "lvl", "WARN" }, { "payload", "line\tone" });

	assert_int_equal(add(&e, "Name", "df", "Format", "regex", "Regex", "^(?<data>.*)$",
			     "Decode_Field", "json data", NULL), 0);
	assert_int_equal(runs("df", "{\"k\":\"v\",\"z\":true}"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "data", "{\"k\":\"v\",\"z\":true}" }, { "k", "v" },
	      { "z", "?true" });
}

/* Onigmo syntax that PCRE2 reads otherwise (regex/re_onig.h). Fluent
 * Bit's stock conf/parsers.conf has istio-envoy-proxy, whose group
 * upstream_transport_failure_reason is 33 bytes long: PCRE2 alone refuses
 * names over 32 ("subpattern name is too long"). Its Regex as shipped: */
static const char ISTIO_RE[] =
	"^\\[(?<start_time>[^\\]]*)\\] \"(?<method>\\S+)(?: +(?<path>[^\\\"]*?)(?: +\\S*)?)? "
	"(?<protocol>\\S+)\" (?<response_code>[^ ]*) (?<response_flags>[^ ]*) "
	"(?<response_code_details>[^ ]*) (?<connection_termination_details>[^ ]*) "
	"(?<upstream_transport_failure_reason>[^ ]*) (?<bytes_received>[^ ]*) (?<bytes_sent>[^ ]*) "
	"(?<duration>[^ ]*) (?<x_envoy_upstream_service_time>[^ ]*) \"(?<x_forwarded_for>[^ ]*)\" "
	"\"(?<user_agent>[^\\\"]*)\" \"(?<x_request_id>[^\\\"]*)\" (?<authority>[^ ]*)\" "
	"\"(?<upstream_host>[^ ]*)\" (?<upstream_cluster>[^ ]*) (?<upstream_local_address>[^ ]*) "
	"(?<downstream_local_address>[^ ]*) (?<downstream_remote_address>[^ ]*) "
	"(?<requested_server_name>[^ ]*) (?<route_name>[^  ]*)";

static void test_onigmo_syntax(void **state)
{
	(void)state;
	struct dp_err e = { 0 };
	assert_int_equal(add(&e, "Name", "istio-envoy-proxy", "Format", "regex", "Regex", ISTIO_RE,
			     "Time_Format", "%Y-%m-%dT%H:%M:%S.%L%z", "Time_Keep", "On", "Time_Key",
			     "start_time", NULL), 0);
	assert_int_equal(runs("istio-envoy-proxy",
			      "[2024-06-15T10:00:00.250Z] \"GET /api/items HTTP/1.1\" 503 UF "
			      "upstream_reset_before_response_started{connection_failure} - "
			      "delayed_connect_error:_111 0 91 3 - \"10.1.0.7\" \"curl/8.5.0\" "
			      "\"5f2c\" \"api.example.com\" \"10.2.0.9:8080\" "
			      "outbound|8080||api.svc.cluster.local - 10.2.0.9:8080 10.1.0.7:40000 - "
			      "default"), 0);
	CHECK(0, utc(2024, 6, 15, 10, 0, 0), 250000000,
	      { "start_time", "2024-06-15T10:00:00.250Z" }, { "method", "GET" },
	      { "path", "/api/items" }, { "protocol", "HTTP/1.1" }, { "response_code", "503" },
	      { "response_flags", "UF" },
	      { "response_code_details", "upstream_reset_before_response_started{connection_failure}" },
	      { "connection_termination_details", "-" },
	      { "upstream_transport_failure_reason", "delayed_connect_error:_111" },
	      { "bytes_received", "0" }, { "bytes_sent", "91" }, { "duration", "3" },
	      { "x_envoy_upstream_service_time", "-" }, { "x_forwarded_for", "10.1.0.7" },
	      { "user_agent", "curl/8.5.0" }, { "x_request_id", "5f2c" },
	      { "authority", "\"api.example.com" }, { "upstream_host", "10.2.0.9:8080" },
	      { "upstream_cluster", "outbound|8080||api.svc.cluster.local" },
	      { "upstream_local_address", "-" }, { "downstream_local_address", "10.2.0.9:8080" },
	      { "downstream_remote_address", "10.1.0.7:40000" }, { "requested_server_name", "-" },
	      { "route_name", "default" });

	/* \h is a hex digit; two groups of one name give one field, from
	 * whichever matched. */
	assert_int_equal(add(&e, "Name", "hex", "Format", "regex", "Regex",
			     "^(?:id=(?<id>\\h+)|ref=(?<id>\\w+)) (?<rest>.*)$", NULL), 0);
	assert_int_equal(runs("hex", "id=00ff rest of it"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "id", "00ff" }, { "rest", "rest of it" });
	assert_int_equal(runs("hex", "ref=abc_9 x"), 0);
	CHECK(0, RECV_SEC, RECV_NSEC, { "id", "abc_9" }, { "rest", "x" });
	assert_int_equal(runs("hex", "id=\t x"), -EINVAL);   /* PCRE2's \h would take the tab */
}

static void expect_err(const char *want, struct dp_err *e, int rc)
{
	assert_true(rc < 0);
	if (!strstr(e->msg, want))
		fail_msg("error '%s' does not contain '%s'", e->msg, want);
}

static void test_config_errors(void **state)
{
	(void)state;
	struct dp_err e = { 0 };
	next_line = 10;
	expect_err("parsers.conf:13: [PARSER] a: unknown key 'Regexx'", &e,
		   add(&e, "Name", "a", "Format", "regex", "Regexx", "x", NULL));
	expect_err("parsers.conf:18: [PARSER] b: invalid Regex", &e,
		   add(&e, "Name", "b", "Format", "regex", "Regex", "(?<x>[a-", NULL));
	expect_err("[PARSER] c: Format regex needs a 'Regex' key", &e,
		   add(&e, "Name", "c", "Format", "regex", NULL));
	expect_err("missing required key 'Format'", &e, add(&e, "Name", "d", NULL));
	expect_err("invalid value 'xml' for 'Format'", &e, add(&e, "Name", "d", "Format", "xml", NULL));
	expect_err("unsupported conversion '%Q'", &e,
		   add(&e, "Name", "f", "Format", "json", "Time_Format", "%Q", NULL));
	expect_err("invalid Time_Offset '+25'", &e,
		   add(&e, "Name", "g", "Format", "json", "Time_Offset", "+25", NULL));
	expect_err("unknown type 'int' in Types", &e,
		   add(&e, "Name", "h", "Format", "logfmt", "Types", "a:int", NULL));
	expect_err("invalid Decode_Field_As 'yaml log'", &e,
		   add(&e, "Name", "i", "Format", "json", "Decode_Field_As", "yaml log", NULL));
	assert_int_equal(add(&e, "Name", "ok", "Format", "json", NULL), 0);
	int line = next_line + 1;
	char want[96];
	snprintf(want, sizeof(want), "parsers.conf:%d: [PARSER] ok: a parser named 'ok' is already",
		 line);
	expect_err(want, &e, add(&e, "Name", "ok", "Format", "json", NULL));
	assert_non_null(psr_parsers_find(set, "ok"));
	assert_null(psr_parsers_find(set, "b"));
	assert_string_equal(psr_parser_name(psr_parsers_find(set, "ok")), "ok");
	/* every option has a description (docs/CONFIG.md is made from them) */
	for (const struct dp_opt *o = psr_parser_opts; o->name; o++)
		assert_true(o->desc && *o->desc);
}

static void test_time_cache_used(void **state)
{
	(void)state;
	add_fluent_bit_parsers();
	const struct psr_parser *p = psr_parsers_find(set, "apache");
	struct psr_parser_state *st = psr_parser_state_create(p);
	const char *l = "1.2.3.4 - - [28/Jul/2006:10:27:10 -0300] \"GET / HTTP/1.0\" 200 1";
	for (int i = 0; i < 3; i++) {
		dp_chunk_reset(&chunk);
		dp_chunk_rec_begin(&chunk, RECV_SEC, 0);
		assert_int_equal(psr_parser_exec(p, st, &chunk, l, strlen(l)), 0);
		assert_int_equal(dp_chunk_rec_end(&chunk), 0);
		assert_int_equal(chunk.recs[0].ts_sec, 1154093230);
	}
	uint64_t hits, misses;
	psr_parser_state_time_stats(st, &hits, &misses);
	assert_int_equal(hits, 2);
	assert_int_equal(misses, 1);
	psr_parser_state_destroy(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apache_error_nginx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_docker_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syslog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logfmt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logfmt_no_bare_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ltsv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_keep_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_match_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_onigmo_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_cache_used, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
