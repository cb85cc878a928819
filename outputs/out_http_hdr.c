/*
 * out_http_hdr.c — the http output's Header lines and what a response
 * status means (see out_http.h). Control path (headers, read once at
 * worker start) and a pure function (the status); any thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "out_http.h"

/* RFC 9110 5.6.2: a field name is a token. */
static bool is_tchar(unsigned char ch)
{
	if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
		return true;
	return ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

bool out_http_field_name_ok(const char *n, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_tchar((unsigned char)n[i]))
			return false;
	return true;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

int out_http_header_parse(const char *s, const char **name, size_t *nlen, const char **val,
			  size_t *vlen)
{
	if (strpbrk(s, "\r\n"))
		return -EINVAL;
	while (is_blank(*s))
		s++;
	const char *n = s;
	while (*s && !is_blank(*s))
		s++;
	size_t nl = (size_t)(s - n);
	/* "Name: value" is a common way to write it; Fluent Bit would send a
	 * name ending in ':' and the server would refuse it. */
	if (nl && n[nl - 1] == ':')
		nl--;
	if (!out_http_field_name_ok(n, nl))
		return -EINVAL;
	while (is_blank(*s))
		s++;
	const char *v = s;
	size_t vl = strlen(v);
	while (vl && is_blank(v[vl - 1]))
		vl--;
	*name = n;
	*nlen = nl;
	*val = v;
	*vlen = vl;
	return 0;
}

int out_http_header_lines(const char *const *values, unsigned n, bool allow_dup, char **lines,
			  unsigned max)
{
	unsigned cnt = 0;
	for (unsigned i = 0; i < n; i++) {
		const char *name, *val;
		size_t nl, vl;
		int rc = out_http_header_parse(values[i], &name, &nl, &val, &vl);
		if (rc)
			goto fail;
		/* "Name;" is curl's way to send a header with an empty value
		 * ("Name:" would remove it). */
		char *line;
		if (vl ? asprintf(&line, "%.*s: %.*s", (int)nl, name, (int)vl, val) < 0
		       : asprintf(&line, "%.*s;", (int)nl, name) < 0) {
			rc = -ENOMEM;
			goto fail;
		}
		unsigned at = cnt;
		for (unsigned j = 0; !allow_dup && j < cnt; j++) {
			if (!strncasecmp(lines[j], name, nl) && (lines[j][nl] == ':' || lines[j][nl] == ';')) {
				at = j;
				break;
			}
		}
		if (at == cnt && cnt == max) {
			free(line);
			rc = -E2BIG;
			goto fail;
		}
		if (at < cnt)
			free(lines[at]);
		else
			cnt++;
		lines[at] = line;
		continue;
	fail:
		for (unsigned j = 0; j < cnt; j++)
			free(lines[j]);
		return rc;
	}
	return (int)cnt;
}

/* Fluent Bit (plugins/out_http/http.c, http_post): 200-205 succeed; a 4xx
 * other than 408 and 429 is not retried ("chunk will not be retried");
 * anything else is retried. sluice takes every 2xx as success (issue 14:
 * "2xx releases a batch"): a 206-299 from an HTTP API still means it took
 * the body, and retrying it would duplicate records. */
enum out_http_verdict out_http_status_verdict(long status)
{
	if (status >= 200 && status <= 299)
		return OUT_HTTP_OK;
	if (status >= 400 && status <= 499 && status != 408 && status != 429)
		return OUT_HTTP_REJECTED;
	return OUT_HTTP_RETRY;
}
