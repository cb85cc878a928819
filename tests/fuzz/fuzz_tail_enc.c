/*
 * fuzz_tail_enc.c — libFuzzer target for the tail input's encodings
 * (shards/in_tail_enc.c): a block of raw bytes in UTF-16LE, UTF-16BE or a
 * legacy encoding is converted once, cut into lines (psr_lines.h) and
 * each line's end mapped back to a raw position, as in_tail_files.c does.
 * Checked: raw positions never go back nor past what was converted; the
 * raw bytes up to each line's end hold as many LFs (code units 0x000A in
 * UTF-16) as the UTF-8 up to it; and the raw bytes of each line, converted
 * on their own, give exactly that line's UTF-8 (a read that starts at a
 * line, as every read does, converts it the same).
 *
 * Input: byte 0 picks the encoding, byte 1 max_line and flags, then the
 * block.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "in_tail.h"

static const char *const generic[] = { "WINDOWS-31J", "GBK", "BIG5", "CP949", "GB18030",
				       "CP1252", "CP874", "CP866" };
#define NGEN (sizeof(generic) / sizeof(generic[0]))

struct blk {
	struct tail_cfg cfg;
	struct tail_shard x;
	struct tail_file f;
};

static int blk_init(struct blk *b, uint8_t sel, const uint8_t *d, size_t n)
{
	memset(b, 0, sizeof(*b));
	b->cfg.enc = sel == 0 ? TAIL_ENC_U16LE : sel == 1 ? TAIL_ENC_U16BE : TAIL_ENC_GENERIC;
	b->cfg.enc_iconv = sel >= 2 ? generic[sel - 2] : NULL;
	b->x.cfg = &b->cfg;
	b->x.buf_cap = n ? n : 1;
	b->x.buf = malloc(b->x.buf_cap);
	if (!b->x.buf)
		return -1;
	memcpy(b->x.buf, d, n);
	b->f.enc = b->cfg.enc;
	return in_tail_enc_shard_init(&b->x);
}

static void blk_fini(struct blk *b)
{
	in_tail_enc_shard_fini(&b->x);
	free(b->x.buf);
}

static size_t raw_lfs(const struct blk *b, size_t end)
{
	size_t k = 0;
	const unsigned char *r = (const unsigned char *)b->x.buf;
	for (size_t i = 0; i < end; i++) {
		if (b->cfg.enc == TAIL_ENC_GENERIC)
			k += r[i] == '\n';
		else if (!(i & 1) && i + 1 < end)
			k += b->cfg.enc == TAIL_ENC_U16LE ? r[i] == '\n' && !r[i + 1] :
							  !r[i] && r[i + 1] == '\n';
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t sel = data[0] % (2 + NGEN);
	uint32_t max_line = 1 + (data[1] & 0x3f);
	unsigned flags = data[1] >> 6;
	struct blk b;
	if (blk_init(&b, sel, data + 2, size - 2)) {
		blk_fini(&b);
		return 0;
	}
	const char *dec;
	size_t dlen = in_tail_enc_decode(&b.x, &b.f, size - 2, &dec);
	char *whole = malloc(dlen + 1);
	if (!whole)
		abort();
	memcpy(whole, dec, dlen);
	struct psr_lines lr;
	psr_lines_init(&lr, max_line, flags);
	size_t pos = 0, start = 0, rstart = 0;
	struct psr_line ln;
	while (psr_lines_next(&lr, whole, dlen, &pos, &ln) == 1) {
		size_t r = in_tail_enc_raw(&b.x, pos);
		if (r < rstart || r > size - 2)
			abort();
		size_t dk = 0;
		for (size_t i = 0; i < pos; i++)
			dk += whole[i] == '\n';
		if (dk != raw_lfs(&b, r))
			abort();
		/* The line's raw bytes alone convert to the same UTF-8. */
		struct blk one;
		if (blk_init(&one, sel, data + 2 + rstart, r - rstart) == 0) {
			const char *d1;
			size_t l1 = in_tail_enc_decode(&one.x, &one.f, r - rstart, &d1);
			if (l1 != pos - start || memcmp(d1, whole + start, l1))
				abort();
		}
		blk_fini(&one);
		start = pos;
		rstart = r;
	}
	free(whole);
	blk_fini(&b);
	return 0;
}
