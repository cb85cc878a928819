/*
 * out_http_rec.c — the http output's body_key / headers_key mode (see
 * out_http.h): a record's request body and headers, read through record
 * accessors (dp_ra.h) straight from the chunk: the body is not copied, the
 * headers are written into the caller's fixed buffer (no allocation).
 *
 * As Fluent Bit's post_all_requests and extract_headers
 * (plugins/out_http/http.c):
 *   - the body is the value of body_key when it is a string or a binary;
 *     any other type, or no such key: the record gives no request;
 *   - the headers are the value of headers_key when it is a map (an empty
 *     one gives no header); anything else: no request;
 *   - of the map, only pairs whose key and value are both strings become
 *     headers; the others are left out.
 * sluice also leaves out what would break the request or the connection
 * (Fluent Bit sends them as they are): a name that is not an HTTP token, a
 * value holding CR, LF or NUL (header injection), and Content-Length and
 * Transfer-Encoding, which libcurl sets from the body.
 *
 * Threads: out_http_rec_setup on the control thread; out_http_rec_get on
 * the http output's worker that owns h.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include "out_http.h"

static bool name_is(const char *n, size_t nl, const char *want)
{
	return strlen(want) == nl && !strncasecmp(n, want, nl);
}

/* A configured header line ("Name: value" or "Name;") named n[0..nl)? */
static bool overridden(const char *n, size_t nl, const char *const *over, unsigned nover)
{
	for (unsigned i = 0; i < nover; i++)
		if (!strncasecmp(over[i], n, nl) && (over[i][nl] == ':' || over[i][nl] == ';'))
			return true;
	return false;
}

/* Append "n: v" (or "n;" for an empty v) to h; false when it is full. */
static bool put(struct out_http_rec_hdrs *h, const char *n, size_t nl, const char *v, size_t vl)
{
	size_t need = nl + (vl ? 2 + vl : 1) + 1;
	if (h->n == OUT_HTTP_REC_MAX_HDRS || need > sizeof(h->buf) - h->len)
		return false;
	char *d = h->buf + h->len;
	memcpy(d, n, nl);
	if (vl) {
		memcpy(d + nl, ": ", 2);
		memcpy(d + nl + 2, v, vl);
		d[nl + 2 + vl] = 0;
	} else {
		d[nl] = ';';
		d[nl + 1] = 0;
	}
	h->line[h->n++] = d;
	h->len += need;
	return true;
}

static enum out_http_rec_result headers(const uint8_t *p, size_t n, const char *const *over, unsigned nover,
					struct out_http_rec_hdrs *h)
{
	uint32_t cnt;
	size_t hdr;
	if (!dp_mp_container(p, n, true, &cnt, &hdr))
		return OUT_HTTP_REC_NO_HEADERS;
	const uint8_t *q = p + hdr, *end = p + n;
	for (uint32_t e = 0; e < cnt; e++) {
		size_t ksz = dp_mp_object_size(q, (size_t)(end - q));
		size_t vsz = ksz ? dp_mp_object_size(q + ksz, (size_t)(end - q - ksz)) : 0;
		if (!vsz)
			return OUT_HTTP_REC_NO_HEADERS;   /* malformed: cannot happen in an indexed chunk */
		size_t kh = 0, kl = 0, vh = 0, vl = 0;
		bool kbin, vbin;
		bool strs = dp_mp_strbin(q, ksz, &kbin, &kh, &kl) && !kbin &&
			    dp_mp_strbin(q + ksz, vsz, &vbin, &vh, &vl) && !vbin;
		const char *k = (const char *)q + kh, *v = (const char *)q + ksz + vh;
		q += ksz + vsz;
		if (!strs || !out_http_field_name_ok(k, kl) || memchr(v, '\r', vl) || memchr(v, '\n', vl) ||
		    memchr(v, 0, vl) || name_is(k, kl, "Content-Length") || name_is(k, kl, "Transfer-Encoding")) {
			h->left_out++;
			continue;
		}
		if (overridden(k, kl, over, nover))
			continue;
		if (!put(h, k, kl, v, vl))
			return OUT_HTTP_REC_HDR_BIG;
		if (name_is(k, kl, "Content-Type"))
			h->has_ctype = true;
	}
	return OUT_HTTP_REC_OK;
}

enum out_http_rec_result out_http_rec_get(const struct dp_ra *body_ra, const struct dp_ra *hdrs_ra,
					  const struct dp_chunk *c, const struct dp_rec *r,
					  const char *const *over, unsigned nover, const char **body,
					  size_t *blen, struct out_http_rec_hdrs *h)
{
	h->n = 0;
	h->len = 0;
	h->has_ctype = false;
	h->left_out = 0;
	const struct dp_field *f = dp_rec_fields(c, r);
	struct dp_ra_val v;
	if (!dp_ra_get(body_ra, c, f, r->nfields, &v) || (v.type != DP_T_STR && v.type != DP_T_BIN))
		return OUT_HTTP_REC_NO_BODY;
	*body = v.str;
	*blen = v.len;
	if (!dp_ra_get(hdrs_ra, c, f, r->nfields, &v) || v.type != DP_T_MAP)
		return OUT_HTTP_REC_NO_HEADERS;
	return headers(c->data + v.f.val_off, v.f.val_len, over, nover, h);
}

int out_http_rec_setup(const char *body_key, const char *headers_key, struct dp_ra *body_ra,
		       struct dp_ra *hdrs_ra, struct dp_err *err)
{
	if (!body_key && !headers_key)
		return 0;
	err->key = body_key ? "body_key" : "headers_key";
	if (!body_key || !headers_key)
		return dp_err_set(err, -EINVAL, "when setting %s, %s is also required", err->key,
				  body_key ? "headers_key" : "body_key");
	const char *keys[2] = { "body_key", "headers_key" };
	const char *vals[2] = { body_key, headers_key };
	struct dp_ra *ras[2] = { body_ra, hdrs_ra };
	for (int i = 0; i < 2; i++) {
		err->key = keys[i];
		if (vals[i][0] != '$')
			return dp_err_set(err, -EINVAL, "%s '%s' must be a record accessor starting with '$' "
					  "(e.g. $%s)", keys[i], vals[i], vals[i]);
		struct dp_err e = { 0 };
		int rc = dp_ra_parse(vals[i], ras[i], &e);
		if (rc)
			return dp_err_set(err, rc, "%s: %s", keys[i], e.msg);
	}
	err->key = NULL;
	return 1;
}
