/*
 * fuzz_lines.c — libFuzzer target for the tail input's line reader
 * (psr_lines.h): a stream read whole and the same stream read through a
 * buffer of a size chosen from the input (the way in_tail_files.c reads
 * a file: at an offset, up to cap bytes, again from the first unconsumed
 * byte) must give the same lines, the same long-line count and stop at
 * the same offset; lines never hold an LF, never exceed max_line, and a
 * full buffer always makes progress.
 *
 * Input: byte 0 picks the flags and max_line (1..64), byte 1 the buffer
 * slack, then the stream.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "psr_lines.h"

struct result {
	uint8_t *bytes;
	size_t blen;
	size_t n;
	long stop;
	uint64_t nlong;
};

static void run(const uint8_t *s, size_t len, uint32_t max_line, unsigned flags, size_t cap,
		struct result *r)
{
	struct psr_lines lr;
	psr_lines_init(&lr, max_line, flags);
	char *buf = malloc(cap ? cap : 1);
	size_t off = 0;
	r->stop = -1;
	for (;;) {
		size_t n = len - off < cap ? len - off : cap;
		if (n == 0)
			break;
		memcpy(buf, s + off, n);
		size_t pos = 0;
		struct psr_line ln;
		int rc;
		while ((rc = psr_lines_next(&lr, buf, n, &pos, &ln)) == 1) {
			if (ln.len > max_line || memchr(ln.p, '\n', ln.len) || ln.p < buf ||
			    ln.p + ln.len > buf + n || pos > n)
				abort();
			memcpy(r->bytes + r->blen, ln.p, ln.len);
			r->blen += ln.len;
			r->bytes[r->blen++] = '\n';
			r->n++;
		}
		if (rc == -EMSGSIZE) {
			r->stop = (long)(off + pos);
			break;
		}
		if (rc != 0 || pos > n)
			abort();
		off += pos;
		if (n < cap)
			break;
		if (pos == 0)
			abort();   /* a full buffer must make progress */
	}
	r->nlong = lr.nlong;
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned flags = data[0] & 3;
	uint32_t max_line = (uint32_t)(data[0] >> 2) + 1;
	const uint8_t *s = data + 2;
	size_t len = size - 2;
	struct result a = { .bytes = malloc(2 * len + 1) }, b = { .bytes = malloc(2 * len + 1) };
	/* whole: a buffer larger than the stream */
	run(s, len, max_line, flags, len + max_line + 2, &a);
	run(s, len, max_line, flags, max_line + 2 + data[1] % 64, &b);
	if (a.blen != b.blen || memcmp(a.bytes, b.bytes, a.blen) || a.n != b.n || a.stop != b.stop ||
	    a.nlong != b.nlong)
		abort();
	free(a.bytes);
	free(b.bytes);
	return 0;
}
