/*
 * out_sigv4.h — AWS Signature Version 4 over one HTTP request, as the es,
 * opensearch and http outputs send it (Fluent Bit's src/flb_signv4.c;
 * AWS's "Create a signed AWS API request"):
 *
 *   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n
 *                      name:value \n ... \n (headers sorted, lowercase,
 *                      values trimmed, inner blanks folded) \n
 *                      SignedHeaders (names joined by ';') \n hex(sha256(payload))
 *   StringToSign     = "AWS4-HMAC-SHA256" \n YYYYMMDDTHHMMSSZ \n
 *                      YYYYMMDD/region/service/aws4_request \n hex(sha256(CanonicalRequest))
 *   SigningKey       = HMAC(HMAC(HMAC(HMAC("AWS4" secret, YYYYMMDD), region), service), "aws4_request")
 *   Authorization    = AWS4-HMAC-SHA256 Credential=AKID/scope, SignedHeaders=..., Signature=hex(HMAC(key, StringToSign))
 *
 * CanonicalURI is the path as sent with every byte but the unreserved ones
 * and '/' percent-encoded (so an already encoded path is encoded twice, as
 * AWS wants for every service but S3); CanonicalQuery is each name=value
 * decoded then encoded again, sorted by name then value.
 *
 * Everything is built in caller buffers: no allocation. The signing key
 * is derived once per (day, secret) and kept in struct out_sigv4.
 *
 * Threads: a struct out_sigv4 belongs to one output worker.
 */
#ifndef OUT_SIGV4_H
#define OUT_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define OUT_SIGV4_SECRET_MAX 128
#define OUT_SIGV4_HDRS_MAX 16

struct out_sigv4_hdr {
	const char *name;    /* any case; lowered in the canonical request */
	const char *value;
};

struct out_sigv4_req {
	const char *method;  /* "POST" */
	const char *path;    /* as sent, without the query: "/_bulk" */
	const char *query;   /* after '?', or NULL */
	const struct out_sigv4_hdr *hdrs;   /* the headers to sign, host included */
	unsigned nhdrs;
	const char *payload_sha256;         /* 64 hex digits */
};

/* A worker's signer: region, service and the cached signing key. */
struct out_sigv4 {
	const char *region;
	const char *service;
	char key_date[9];                   /* YYYYMMDD the key is for, "" none */
	char key_secret[OUT_SIGV4_SECRET_MAX];
	uint8_t key[32];
};

/* hex(sha256(p[0..len))) into hex[65]. */
void out_sigv4_sha256_hex(const void *p, size_t len, char hex[65]);

/* "YYYYMMDDTHHMMSSZ" of t (UTC) into amzdate[17]. */
void out_sigv4_amzdate(time_t t, char amzdate[17]);

/* The canonical request into buf (NUL-terminated) and the signed header
 * names into signed_hdrs: its length, or -ENOSPC / -EINVAL (too many
 * headers). */
long out_sigv4_canonical(const struct out_sigv4_req *r, char *buf, size_t cap, char *signed_hdrs, size_t shcap);

/* The string to sign of a canonical request into buf: its length or -ENOSPC. */
long out_sigv4_string_to_sign(const struct out_sigv4 *s, const char *amzdate, const char *creq, size_t creq_len,
			      char *buf, size_t cap);

/* The signing key of (secret, date YYYYMMDD, region, service). */
void out_sigv4_signing_key(const char *secret, const char *date, const char *region, const char *service,
			   uint8_t key[32]);

/* Sign r at amzdate (whose x-amz-date header must be among r's headers)
 * with (akid, secret): the Authorization header's value into auth. 0, or
 * -ENOSPC / -EINVAL. scratch holds the canonical request and the string to
 * sign (a few hundred bytes plus the headers and query). */
int out_sigv4_sign(struct out_sigv4 *s, const struct out_sigv4_req *r, const char *amzdate, const char *akid,
		   const char *secret, char *scratch, size_t scratch_cap, char *auth, size_t auth_cap);

#endif
