/*
 * test_sigv4.c — AWS Signature Version 4 (outputs/out_sigv4.c) against
 * AWS's published test suite ("aws-sig-v4-test-suite", AKIDEXAMPLE,
 * 20150830T123600Z, us-east-1, service "service"): get-vanilla (its
 * canonical request, string to sign and Authorization), post-vanilla,
 * get-vanilla-query-order-key-case, get-utf8, get-header-value-trim and
 * post-x-www-form-urlencoded; the signing-key cache across days and
 * secrets; and the credential sources of out_aws_creds.c: the shared files
 * with a profile, STS AssumeRole's XML answer and the ECS / EC2 metadata
 * JSON document.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "out_aws.h"
#include "out_sigv4.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define DATE "20150830T123600Z"
#define HOST "example.amazonaws.com"
#define PREFIX "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static char scratch[8192], auth[1024];

static void sign(const char *method, const char *path, const char *query, const struct out_sigv4_hdr *h, unsigned n,
		 const char *body, const char *want)
{
	struct out_sigv4 s = { .region = "us-east-1", .service = "service" };
	char sha[65];
	out_sigv4_sha256_hex(body, strlen(body), sha);
	struct out_sigv4_req r = { method, path, query, h, n, sha };
	assert_int_equal(out_sigv4_sign(&s, &r, DATE, AKID, SECRET, scratch, sizeof(scratch), auth, sizeof(auth)), 0);
	assert_string_equal(auth, want);
}

static void test_get_vanilla(void **st)
{
	(void)st;
	struct out_sigv4_hdr h[] = { { "Host", HOST }, { "X-Amz-Date", DATE } };
	char sha[65], creq[1024], signed_hdrs[128], sts[512];
	out_sigv4_sha256_hex("", 0, sha);
	assert_string_equal(sha, EMPTY_SHA);
	struct out_sigv4_req r = { "GET", "/", NULL, h, 2, sha };
	long n = out_sigv4_canonical(&r, creq, sizeof(creq), signed_hdrs, sizeof(signed_hdrs));
	assert_true(n > 0);
	assert_string_equal(creq, "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
			    "host;x-amz-date\n" EMPTY_SHA);
	assert_string_equal(signed_hdrs, "host;x-amz-date");
	struct out_sigv4 s = { .region = "us-east-1", .service = "service" };
	assert_true(out_sigv4_string_to_sign(&s, DATE, creq, (size_t)n, sts, sizeof(sts)) > 0);
	assert_string_equal(sts, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
			    "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
	sign("GET", "/", NULL, h, 2, "", PREFIX "SignedHeaders=host;x-amz-date, "
	     "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	/* too small a buffer is an error, not a cut request */
	assert_int_equal(out_sigv4_canonical(&r, creq, 40, signed_hdrs, sizeof(signed_hdrs)), -ENOSPC);
}

static void test_suite(void **st)
{
	(void)st;
	struct out_sigv4_hdr h[] = { { "Host", HOST }, { "X-Amz-Date", DATE } };
	sign("POST", "/", NULL, h, 2, "", PREFIX "SignedHeaders=host;x-amz-date, "
	     "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
	sign("GET", "/", "Param2=value2&Param1=value1", h, 2, "", PREFIX "SignedHeaders=host;x-amz-date, "
	     "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
	sign("GET", "/\xe1\x88\xb4", NULL, h, 2, "", PREFIX "SignedHeaders=host;x-amz-date, "
	     "Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
	struct out_sigv4_hdr trim[] = { { "Host", HOST }, { "My-Header1", " value1" },
					{ "My-Header2", " \"a   b   c\"" }, { "X-Amz-Date", DATE } };
	sign("GET", "/", NULL, trim, 4, "", PREFIX "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
	     "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
	/* headers in any order: sorted by name */
	struct out_sigv4_hdr form[] = { { "X-Amz-Date", DATE }, { "Host", HOST },
					{ "Content-Type", "application/x-www-form-urlencoded" } };
	sign("POST", "/", NULL, form, 3, "Param1=value1", PREFIX "SignedHeaders=content-type;host;x-amz-date, "
	     "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

static void test_canonical_query_path(void **st)
{
	(void)st;
	struct out_sigv4_hdr h[] = { { "host", "h" } };
	char creq[512], sh[64];
	struct out_sigv4_req r = { "POST", "/a b/_bulk", "pipeline=p%20q&a=2&a=1&b", h, 1, EMPTY_SHA };
	assert_true(out_sigv4_canonical(&r, creq, sizeof(creq), sh, sizeof(sh)) > 0);
	assert_string_equal(creq, "POST\n/a%20b/_bulk\na=1&a=2&b=&pipeline=p%20q\nhost:h\n\nhost\n" EMPTY_SHA);
}

/* The key is derived again when the day or the secret changes. */
static void test_key_cache(void **st)
{
	(void)st;
	struct out_sigv4 s = { .region = "us-east-1", .service = "service" };
	struct out_sigv4_hdr h[] = { { "host", HOST }, { "x-amz-date", DATE } };
	struct out_sigv4_req r = { "GET", "/", NULL, h, 2, EMPTY_SHA };
	char a1[512], a2[512];
	assert_int_equal(out_sigv4_sign(&s, &r, DATE, AKID, "other", scratch, sizeof(scratch), a1, sizeof(a1)), 0);
	assert_int_equal(out_sigv4_sign(&s, &r, DATE, AKID, SECRET, scratch, sizeof(scratch), a2, sizeof(a2)), 0);
	assert_string_not_equal(a1, a2);
	assert_non_null(strstr(a2, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
	uint8_t k[32];
	out_sigv4_signing_key(SECRET, "20150831", "us-east-1", "service", k);
	assert_int_equal(out_sigv4_sign(&s, &r, "20150831T000000Z", AKID, SECRET, scratch, sizeof(scratch), a1,
					sizeof(a1)), 0);
	assert_memory_equal(s.key, k, 32);
	assert_string_equal(s.key_date, "20150831");
}

static void test_sts_parse(void **st)
{
	(void)st;
	const char *xml =
		"<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>"
		"<AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn></AssumedRoleUser><Credentials>"
		"<AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>sek/ret</SecretAccessKey>"
		"<SessionToken>tok+en=</SessionToken><Expiration>2026-12-05T01:00:00Z</Expiration>"
		"</Credentials></AssumeRoleResult></AssumeRoleResponse>";
	struct out_aws_creds c;
	assert_int_equal(out_aws_sts_parse(xml, &c), 0);
	assert_string_equal(c.akid, "ASIAEXAMPLE");
	assert_string_equal(c.secret, "sek/ret");
	assert_string_equal(c.token, "tok+en=");
	assert_int_equal(c.expires, 1796432400);
	assert_int_equal(out_aws_sts_parse("<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>", &c),
			 -EINVAL);
	assert_int_equal(out_aws_sts_parse("<Credentials><AccessKeyId>A</AccessKeyId></Credentials>", &c), -EINVAL);
}

/* ECS and EC2 instance metadata's JSON document */
static void test_json_creds(void **st)
{
	(void)st;
	struct out_aws_creds c;
	assert_int_equal(out_aws_json_creds("{\n  \"Code\" : \"Success\",\n  \"AccessKeyId\" : \"ASIAX\",\n"
					    "  \"SecretAccessKey\" : \"s/k\",\n  \"Token\" : \"t+o=\",\n"
					    "  \"Expiration\" : \"2026-12-05T01:00:00Z\"\n}", &c), 0);
	assert_string_equal(c.akid, "ASIAX");
	assert_string_equal(c.secret, "s/k");
	assert_string_equal(c.token, "t+o=");
	assert_int_equal(c.expires, 1796432400);
	assert_int_equal(out_aws_json_creds("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}", &c), -EINVAL);
	assert_int_equal(out_aws_json_creds("{\"AccessKeyId\":1}", &c), -EINVAL);
}

static void test_creds_files(void **st)
{
	(void)st;
	char cred[] = "/tmp/sluice_test_credsXXXXXX", conf[] = "/tmp/sluice_test_confXXXXXX";
	int fd1 = mkstemp(cred), fd2 = mkstemp(conf);
	assert_true(fd1 >= 0 && fd2 >= 0);
	const char *c1 = "[default]\naws_access_key_id = AKDEF\naws_secret_access_key = SDEF\n\n"
			 "# a comment\n[prod]\naws_access_key_id=AKPROD\naws_secret_access_key=SPROD\n"
			 "aws_session_token = TPROD\n";
	const char *c2 = "[profile cfgonly]\naws_access_key_id = AKCFG\naws_secret_access_key = SCFG\n";
	assert_int_equal(write(fd1, c1, strlen(c1)), (ssize_t)strlen(c1));
	assert_int_equal(write(fd2, c2, strlen(c2)), (ssize_t)strlen(c2));
	close(fd1);
	close(fd2);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_PROFILE");
	setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
	setenv("AWS_CONFIG_FILE", conf, 1);
	struct out_aws_creds c;
	struct dp_err err = { 0 };
	assert_int_equal(out_aws_creds_base(NULL, &c, &err), 0);
	assert_string_equal(c.akid, "AKDEF");
	assert_string_equal(c.token, "");
	assert_int_equal(out_aws_creds_base("prod", &c, &err), 0);
	assert_string_equal(c.akid, "AKPROD");
	assert_string_equal(c.secret, "SPROD");
	assert_string_equal(c.token, "TPROD");
	setenv("AWS_PROFILE", "cfgonly", 1);
	assert_int_equal(out_aws_creds_base(NULL, &c, &err), 0);
	assert_string_equal(c.akid, "AKCFG");
	assert_int_equal(out_aws_creds_base("nope", &c, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "'nope'"));
	/* the environment comes first */
	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "SENV", 1);
	setenv("AWS_SESSION_TOKEN", "TENV", 1);
	assert_int_equal(out_aws_creds_base("prod", &c, &err), 0);
	assert_string_equal(c.akid, "AKENV");
	assert_string_equal(c.token, "TENV");
	unlink(cred);
	unlink(conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_vanilla),
		cmocka_unit_test(test_suite),
		cmocka_unit_test(test_canonical_query_path),
		cmocka_unit_test(test_key_cache),
		cmocka_unit_test(test_sts_parse),
		cmocka_unit_test(test_json_creds),
		cmocka_unit_test(test_creds_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
