/*
 * fuzz_frame.c — libFuzzer target for psr_frame: a stream fed in one
 * piece and the same stream cut at points chosen from the input must give
 * the same frames, oversize count, malformed count and flush result, and
 * the framer must never ask for more room than max_frame +
 * PSR_FRAME_HEADROOM.
 *
 * Input: byte 0 picks the mode and max_frame, byte 1 the separator length
 * (PSR_FRAME_SEP), bytes 2..3 seed the cut points, then the separator,
 * then the stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "psr_frame.h"

struct result {
	uint8_t *bytes;    /* frames, concatenated */
	size_t blen;
	uint32_t *lens;
	size_t n;
	unsigned nover;
	int flush;
	uint64_t malformed;
};

static void add(struct result *r, const struct psr_frame *fr, size_t stream_len)
{
	if (fr->len == 0 || r->blen + fr->len > stream_len || r->n >= stream_len)
		abort(); /* frames are non-empty and never more than the stream */
	memcpy(r->bytes + r->blen, fr->p, fr->len);
	r->blen += fr->len;
	r->lens[r->n++] = fr->len;
}

static void run(int mode, uint32_t max_frame, const char *sep, size_t seplen, unsigned max_out,
		const char *s, size_t len, const size_t *cuts, size_t ncuts, struct result *r)
{
	struct psr_framer f;
	if (psr_framer_init(&f, mode, max_frame, sep, seplen) != 0)
		abort();
	size_t cap = (size_t)max_frame + PSR_FRAME_HEADROOM;
	char *buf = malloc(cap);
	struct psr_frame out[8];
	size_t have = 0, pos = 0;
	memset(r, 0, sizeof(*r));
	r->bytes = malloc(len + 1);
	r->lens = malloc((len + 1) * sizeof(uint32_t));
	for (size_t c = 0; c < ncuts; c++) {
		while (pos < cuts[c]) {
			if (have >= cap)
				abort(); /* the framer left no room: the caller would stall */
			size_t k = cuts[c] - pos;
			if (k > cap - have)
				k = cap - have;
			memcpy(buf + have, s + pos, k);
			have += k;
			pos += k;
			unsigned nf, nover;
			do {
				size_t used = psr_frame_burst(&f, buf, have, out, max_out, &nf, &nover);
				if (used > have || nf > max_out)
					abort();
				for (unsigned i = 0; i < nf; i++) {
					if (out[i].p < buf || out[i].p + out[i].len > buf + used)
						abort();
					add(r, &out[i], len);
				}
				r->nover += nover;
				memmove(buf, buf + used, have - used);
				have -= used;
			} while (nf == max_out);
		}
	}
	struct psr_frame last;
	r->malformed = f.malformed;
	r->flush = psr_frame_flush(&f, buf, have, &last);
	if (r->flush == 1)
		add(r, &last, len);
	free(buf);
}

static void same(const struct result *a, const struct result *b)
{
	if (a->n != b->n || a->blen != b->blen || a->nover != b->nover || a->flush != b->flush ||
	    a->malformed != b->malformed || memcmp(a->bytes, b->bytes, a->blen) != 0 ||
	    memcmp(a->lens, b->lens, a->n * sizeof(uint32_t)) != 0)
		abort();
}

static void result_free(struct result *r)
{
	free(r->bytes);
	free(r->lens);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	static const uint32_t maxes[] = { 1, 2, 3, 5, 8, 16, 40, 100 };
	/* modes 0..3 from byte 0; byte 1's high bit selects PSR_FRAME_JSON,
	 * the next one PSR_FRAME_MSGPACK */
	int mode = data[1] & 0x80 ? PSR_FRAME_JSON : data[1] & 0x40 ? PSR_FRAME_MSGPACK : data[0] & 3;
	uint32_t max_frame = maxes[(data[0] >> 2) & 7];
	unsigned max_out = 1 + ((data[0] >> 5) & 7);
	size_t seplen = 0;
	const char *sep = NULL;
	uint32_t seed = (uint32_t)data[2] << 8 | data[3];
	data += 4;
	size -= 4;
	if (mode == PSR_FRAME_SEP) {
		seplen = 1 + data[-3] % 4;
		if (size < seplen)
			return 0;
		sep = (const char *)data;
		data += seplen;
		size -= seplen;
	}
	const char *s = (const char *)data;

	struct result whole, part;
	size_t one[1] = { size };
	run(mode, max_frame, sep, seplen, 8, s, size, one, 1, &whole);

	/* a few random cut sets, from one cut to a cut every few bytes */
	for (int round = 0; round < 4; round++) {
		size_t cuts[64];
		size_t ncuts = 0, pos = 0;
		while (ncuts < 63) {
			seed = seed * 1103515245u + 12345u;
			size_t step = 1 + (seed >> 16) % (round == 0 ? size + 1 : (size_t)(8 << round));
			pos += step;
			if (pos >= size)
				break;
			cuts[ncuts++] = pos;
		}
		cuts[ncuts++] = size;
		run(mode, max_frame, sep, seplen, round & 1 ? 1 : max_out, s, size, cuts, ncuts, &part);
		same(&whole, &part);
		result_free(&part);
	}
	result_free(&whole);
	return 0;
}
