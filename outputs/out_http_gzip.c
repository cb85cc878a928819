/*
 * out_http_gzip.c — `compress gzip` of the http output: a request body
 * into a gzip member (RFC 1952) with zlib, as Fluent Bit's flb_gzip_compress
 * does. The worker sizes dst with deflateBound for its largest body, so
 * compressing never allocates. Output worker threads, each with its own
 * buffers.
 */
#include <errno.h>
#include <zlib.h>
#include "out_http.h"

int out_http_gzip(const char *src, size_t len, struct out_buf *dst)
{
	z_stream z = { 0 };
	dst->len = 0;
	/* 15 + 16: a gzip header and trailer instead of zlib's. Level 1:
	 * log text compresses well at the fastest level, and the worker's
	 * CPU is the cost that matters here. */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)src;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)dst->p;
	z.avail_out = (uInt)dst->cap;
	int rc = deflate(&z, Z_FINISH);
	dst->len = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		dst->len = 0;
		return -ENOBUFS;
	}
	return 0;
}

size_t out_http_gzip_bound(size_t len)
{
	z_stream z = { 0 };
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return len + len / 2 + 1024;
	size_t n = deflateBound(&z, (uLong)len);
	deflateEnd(&z);
	return n;
}
