/*
 * test_http_auth.c — the http input's token file (in_http_auth.c):
 * comments, blank lines and CRLF skipped, 'TOKEN [TENANT]' read, bad
 * lines refused with file:line; a request's token matched exactly (not
 * a prefix, not a longer one), its tenant given back; the 401 answer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "in_http_auth.h"

static int parse(struct in_http_auth_cfg *a, const char *text, struct dp_err *err)
{
	memset(a, 0, sizeof(*a));
	memset(err, 0, sizeof(*err));
	return in_http_auth_tokens_parse(a, "tok.txt", text, strlen(text), err);
}

/* A request head with Authorization: auth (none when NULL), checked. */
static int check(const struct in_http_auth_cfg *a, const char *auth, char *buf,
		 struct psr_http_str *tenant, const char **why)
{
	static char head[1024];
	struct psr_http_req r;
	snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nHost: x\r\n%s%s%s\r\n", auth ? "Authorization: " : "",
		 auth ? auth : "", auth ? "\r\n" : "");
	assert_int_equal(psr_http_req_parse(head, strlen(head), &r), 0);
	return in_http_auth_check(a, &r, 0, buf, tenant, why);
}

static void test_file(void **state)
{
	(void)state;
	struct in_http_auth_cfg a;
	struct dp_err err;
	assert_int_equal(parse(&a, "# comment\n\n   \t\nabc acme\r\n  x.y/z+==\tglobex  \nnotenant\n"
			       "  # indented comment\nlast", &err), 0);
	assert_int_equal(a.ntokens, 4);
	a.on = true;
	char buf[IN_HTTP_TENANT_MAX];
	struct psr_http_str t;
	const char *why = NULL;
	assert_int_equal(check(&a, "Bearer abc", buf, &t, &why), 0);
	assert_int_equal(t.len, 4);
	assert_memory_equal(t.p, "acme", 4);
	assert_int_equal(check(&a, "bearer   x.y/z+==", buf, &t, &why), 0);
	assert_int_equal(t.len, 6);
	assert_memory_equal(t.p, "globex", 6);
	assert_int_equal(check(&a, "Bearer notenant", buf, &t, &why), 0);
	assert_int_equal(t.len, 0);
	assert_int_equal(check(&a, "Bearer last", buf, &t, &why), 0);
	assert_int_equal(check(&a, "Bearer ab", buf, &t, &why), -EACCES);
	assert_string_equal(why, "invalid token");
	assert_int_equal(check(&a, "Bearer abcd", buf, &t, &why), -EACCES);
	assert_int_equal(check(&a, "Bearer acme", buf, &t, &why), -EACCES);
	assert_int_equal(check(&a, "Bearer abc extra", buf, &t, &why), -EACCES);
	assert_int_equal(check(&a, "Basic abc", buf, &t, &why), -EACCES);
	assert_string_equal(why, "missing bearer token");
	assert_int_equal(check(&a, "Bearer ", buf, &t, &why), -EACCES);
	assert_int_equal(check(&a, NULL, buf, &t, &why), -EACCES);
	assert_string_equal(why, "missing bearer token");
	in_http_auth_teardown(&a);
	/* no auth configured: every request in, no tenant */
	memset(&a, 0, sizeof(a));
	assert_int_equal(check(&a, NULL, buf, &t, &why), 0);
	assert_int_equal(t.len, 0);
}

static void test_bad_lines(void **state)
{
	(void)state;
	static const struct { const char *text, *msg; } cases[] = {
		{ "ok\nthree fields here\n", "tok.txt:2: expected 'TOKEN [TENANT]'" },
		{ "a@b\n", "tok.txt:1: a token is" },
		{ "=abc\n", "tok.txt:1: a token is" },
		{ "abc=d\n", "tok.txt:1: a token is" },
		{ "a t\n\n# c\na u\n", "tok.txt:4: the token is already" },
		{ "# only a comment\n\n", "tok.txt: no token" },
		{ "", "tok.txt: no token" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct in_http_auth_cfg a;
		struct dp_err err;
		assert_int_equal(parse(&a, cases[i].text, &err), -EINVAL);
		if (strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)) != 0)
			fail_msg("case %zu: got '%s', want '%s...'", i, err.msg, cases[i].msg);
		in_http_auth_teardown(&a);
	}
	char long_tenant[400];
	memset(long_tenant, 'x', sizeof(long_tenant));
	memcpy(long_tenant, "tok ", 4);
	long_tenant[sizeof(long_tenant) - 1] = 0;
	struct in_http_auth_cfg a;
	struct dp_err err;
	assert_int_equal(parse(&a, long_tenant, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "longer than 255"));
	in_http_auth_teardown(&a);
}

static void test_answer(void **state)
{
	(void)state;
	char buf[512];
	size_t n = in_http_auth_answer("token expired", false, buf, sizeof(buf));
	buf[n] = 0;
	const char *want = "HTTP/1.1 401 Unauthorized\r\nServer: sluice\r\n"
			   "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n"
			   "Content-Type: application/json\r\nContent-Length: 42\r\n\r\n"
			   "{\"status\":\"error\",\"error\":\"token expired\"}";
	assert_string_equal(buf, want);
	assert_int_equal(strlen("{\"status\":\"error\",\"error\":\"token expired\"}"), 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
