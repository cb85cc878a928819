/*
 * in_tail_enc.c — the tail input's `unicode.encoding` and
 * `generic.encoding`: files written in UTF-16 or in a legacy encoding
 * (ShiftJIS, GBK, Big5, Windows code pages...) become UTF-8 records, as
 * Fluent Bit's plugins/in_tail/tail_file.c (process_content) converts them
 * (src/flb_unicode.c through simdutf for UTF-16, src/unicode/flb_conv.c
 * for the others). Here glibc's iconv does both, once per read block.
 *
 * How a block is read (in_tail_files.c, file_read): the raw bytes at the
 * file's offset are read into x->buf as always, converted at once into
 * x->dec (up to an incomplete character at the block's end, which is read
 * again with the rest of its line next time), and cut into lines there.
 * Offsets (the file's offset, the DB's, Offset_Key) stay raw file offsets:
 * a conversion keeps every LF and makes none, so the k-th LF of x->dec is
 * the k-th LF of x->buf (in UTF-16 the code unit 0x000A at an even
 * offset; in the legacy encodings the byte 0x0A, which none of them uses
 * inside a character). in_tail_enc_raw walks both buffers forward
 * together to turn a position after a line into its raw one. Everything
 * here runs only for files with an encoding: the plain path is untouched.
 *
 * Byte order marks, as Fluent Bit: `unicode.encoding` UTF-16LE/BE skips
 * its BOM at the file's start; `auto` decides per file from its first
 * bytes (FF FE: UTF-16LE, FE FF: UTF-16BE, EF BB BF: UTF-8 with its BOM
 * skipped, else UTF-16LE/BE when every other byte of the first pair is
 * 0, else UTF-8 unchanged), as simdutf's detect_encodings would.
 *
 * Invalid input: Fluent Bit logs an error and either stops converting at
 * the bad character (generic.encoding: the rest of that read is lost) or
 * hands on the read unconverted (unicode.encoding: UTF-16 bytes in the
 * records). sluice replaces each invalid sequence with U+FFFD, keeps the
 * rest of the line and the block, counts it under `malformed` and logs
 * (at most every 10 s) the file and offset.
 *
 * Threads: setup on the control thread; the rest on the shard that owns
 * the file (one set of iconv descriptors per shard).
 */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "dp_log.h"
#include "in_tail.h"

/* unicode.encoding's values, as Fluent Bit's tail_config.c spells them. */
static const struct { const char *name; uint8_t enc; } unicode_names[] = {
	{ "auto", TAIL_ENC_AUTO },
	{ "UTF-16LE", TAIL_ENC_U16LE }, { "UTF16-LE", TAIL_ENC_U16LE },
	{ "UTF-16BE", TAIL_ENC_U16BE }, { "UTF16-BE", TAIL_ENC_U16BE },
};

/* generic.encoding's names and aliases (Fluent Bit's src/unicode/
 * flb_utf8_and_*.c converters), and glibc's iconv name for each. */
static const struct { const char *name; const char *iconv; } generic_names[] = {
	{ "ShiftJIS", "WINDOWS-31J" }, { "SJIS", "WINDOWS-31J" }, { "CP932", "WINDOWS-31J" },
	{ "Windows-31J", "WINDOWS-31J" },
	{ "UHC", "CP949" }, { "CP949", "CP949" }, { "Windows-949", "CP949" },
	{ "GBK", "GBK" }, { "CP936", "GBK" },
	{ "GB18030", "GB18030" },
	{ "Big5", "BIG5" }, { "CP950", "BIG5" },
	{ "Win866", "CP866" }, { "CP866", "CP866" },
	{ "Win874", "CP874" }, { "CP874", "CP874" },
	{ "Win1250", "CP1250" }, { "CP1250", "CP1250" },
	{ "Win1251", "CP1251" }, { "CP1251", "CP1251" },
	{ "Win1252", "CP1252" }, { "CP1252", "CP1252" },
	{ "Win1253", "CP1253" }, { "CP1253", "CP1253" },
	{ "Win1254", "CP1254" }, { "CP1254", "CP1254" },
	{ "Win1255", "CP1255" }, { "CP1255", "CP1255" },
	{ "Win1256", "CP1256" }, { "CP1256", "CP1256" },
	{ "Win1257", "CP1257" }, { "CP1257", "CP1257" },
	{ "Win1258", "CP1258" }, { "CP1258", "CP1258" },
};

#define NBAD_MAX 256   /* invalid sequences remembered per block (counted once) */

struct tail_enc {
	iconv_t cd[3];          /* [TAIL_ENC_U16LE - 1], [U16BE - 1], [GENERIC - 1] */
	char *dec;              /* the block in UTF-8 */
	size_t cap;
	size_t dlen;            /* bytes in dec */
	size_t rend;            /* raw bytes converted (dec's end, in x->buf) */
	size_t dcur, rcur;      /* a pair of positions known to match */
	unsigned unit;          /* raw bytes per code unit: 2 for UTF-16 */
	uint8_t kind;           /* the block's file's encoding */
	const char *raw;
	size_t rlen;
	size_t bad[NBAD_MAX];   /* dec positions of U+FFFD written for bad input */
	unsigned nbad;
	uint64_t nbad_over;     /* past NBAD_MAX: counted whatever happens */
	struct dp_ratelimit rl;
};

int in_tail_enc_setup(struct tail_cfg *cfg, struct dp_err *err)
{
	cfg->enc = TAIL_ENC_NONE;
	if (cfg->unicode_encoding && cfg->generic_encoding) {
		err->key = "generic.encoding";
		return dp_err_set(err, -EINVAL, "'unicode.encoding' and 'generic.encoding' cannot "
				  "both be set (as in Fluent Bit)");
	}
	if (cfg->unicode_encoding) {
		err->key = "unicode.encoding";
		for (size_t i = 0; i < sizeof(unicode_names) / sizeof(unicode_names[0]); i++)
			if (!strcasecmp(cfg->unicode_encoding, unicode_names[i].name))
				cfg->enc = unicode_names[i].enc;
		if (!cfg->enc)
			return dp_err_set(err, -EINVAL, "invalid value '%s' for 'unicode.encoding': "
					  "expected UTF-16LE, UTF-16BE or auto", cfg->unicode_encoding);
	}
	if (cfg->generic_encoding) {
		err->key = "generic.encoding";
		for (size_t i = 0; i < sizeof(generic_names) / sizeof(generic_names[0]); i++)
			if (!strcasecmp(cfg->generic_encoding, generic_names[i].name)) {
				cfg->enc = TAIL_ENC_GENERIC;
				cfg->enc_iconv = generic_names[i].iconv;
			}
		if (!cfg->enc)
			return dp_err_set(err, -EINVAL, "invalid value '%s' for 'generic.encoding': "
					  "expected ShiftJIS, UHC, GBK, GB18030, Big5, Win866, Win874 or "
					  "Win1250 to Win1258", cfg->generic_encoding);
		iconv_t cd = iconv_open("UTF-8", cfg->enc_iconv);
		if (cd == (iconv_t)-1)
			return dp_err_set(err, -EINVAL, "'generic.encoding' %s: this system's iconv "
					  "cannot convert %s (glibc's gconv modules missing?)",
					  cfg->generic_encoding, cfg->enc_iconv);
		iconv_close(cd);
	}
	return 0;
}

int in_tail_enc_shard_init(struct tail_shard *x)
{
	const struct tail_cfg *cfg = x->cfg;
	if (!cfg->enc)
		return 0;
	struct tail_enc *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	x->enc = e;
	for (int i = 0; i < 3; i++)
		e->cd[i] = (iconv_t)-1;
	if (cfg->enc == TAIL_ENC_GENERIC) {
		e->cd[TAIL_ENC_GENERIC - 1] = iconv_open("UTF-8", cfg->enc_iconv);
	} else {
		e->cd[TAIL_ENC_U16LE - 1] = iconv_open("UTF-8", "UTF-16LE");
		e->cd[TAIL_ENC_U16BE - 1] = iconv_open("UTF-8", "UTF-16BE");
	}
	/* A character grows at most threefold into UTF-8 (a Win874 byte, a
	 * U+FFFD for one bad byte); UTF-16 at most 3/2. */
	e->cap = 3 * x->buf_cap + 8;
	e->dec = malloc(e->cap);
	bool ok = e->dec && (cfg->enc == TAIL_ENC_GENERIC ? e->cd[2] != (iconv_t)-1 :
			     e->cd[0] != (iconv_t)-1 && e->cd[1] != (iconv_t)-1);
	return ok ? 0 : -ENOMEM;
}

void in_tail_enc_shard_fini(struct tail_shard *x)
{
	struct tail_enc *e = x->enc;
	if (!e)
		return;
	for (int i = 0; i < 3; i++)
		if (e->cd[i] != (iconv_t)-1)
			iconv_close(e->cd[i]);
	free(e->dec);
	free(e);
	x->enc = NULL;
}

/* auto: what the file's first bytes say; TAIL_ENC_AUTO while it has fewer
 * than two. *bom: its length. */
static uint8_t detect(const unsigned char *b, ssize_t n, unsigned *bom)
{
	*bom = 0;
	if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
		*bom = 3;
		return TAIL_ENC_UTF8;
	}
	if (n < 2)
		return n == 1 && b[0] ? TAIL_ENC_UTF8 : TAIL_ENC_AUTO;
	if (b[0] == 0xFF && b[1] == 0xFE) {
		*bom = 2;
		return TAIL_ENC_U16LE;
	}
	if (b[0] == 0xFE && b[1] == 0xFF) {
		*bom = 2;
		return TAIL_ENC_U16BE;
	}
	if (b[0] && !b[1])
		return TAIL_ENC_U16LE;
	if (!b[0] && b[1])
		return TAIL_ENC_U16BE;
	return TAIL_ENC_UTF8;
}

int in_tail_enc_begin(struct tail_shard *x, struct tail_file *f)
{
	unsigned char b[4];
	unsigned bom = 0;
	if (f->enc == TAIL_ENC_GENERIC)
		return 0;   /* no BOM there */
	if (f->enc == TAIL_ENC_AUTO || f->off == 0) {
		ssize_t n = pread(f->fd, b, sizeof(b), 0);
		if (f->enc == TAIL_ENC_AUTO) {
			f->enc = detect(b, n, &bom);
			if (f->enc == TAIL_ENC_AUTO)
				return 1;   /* too short to tell yet */
			dp_plg_debug(x->in, "%s: unicode.encoding auto: %s", f->name,
				     f->enc == TAIL_ENC_U16LE ? "UTF-16LE" :
				     f->enc == TAIL_ENC_U16BE ? "UTF-16BE" : "UTF-8");
		} else if (n >= 2 && ((f->enc == TAIL_ENC_U16LE && b[0] == 0xFF && b[1] == 0xFE) ||
				      (f->enc == TAIL_ENC_U16BE && b[0] == 0xFE && b[1] == 0xFF))) {
			bom = 2;
		} else if (n >= 3 && f->enc == TAIL_ENC_UTF8 && b[0] == 0xEF && b[1] == 0xBB &&
			   b[2] == 0xBF) {
			bom = 3;
		}
	}
	if (f->off == 0 && bom) {
		f->off = bom;
		if (f->acked < bom)
			f->acked = bom;
	}
	return 0;
}

size_t in_tail_enc_decode(struct tail_shard *x, struct tail_file *f, size_t n, const char **out)
{
	struct tail_enc *e = x->enc;
	iconv_t cd = e->cd[f->enc - 1];
	e->kind = f->enc;
	e->unit = f->enc == TAIL_ENC_GENERIC ? 1 : 2;
	e->raw = x->buf;
	e->rlen = n;
	e->nbad = 0;
	e->dcur = e->rcur = 0;
	iconv(cd, NULL, NULL, NULL, NULL);
	char *in = x->buf, *o = e->dec;
	size_t inleft = n, oleft = e->cap;
	while (inleft) {
		if (iconv(cd, &in, &inleft, &o, &oleft) != (size_t)-1)
			break;
		/* EINVAL: a character cut by the block's end, read again with
		 * the rest of its line; but in a legacy encoding an LF after
		 * it (never inside a character) says it is invalid, not cut.
		 * (In UTF-16 a whole LF unit after it would be EILSEQ.) */
		bool cut = errno == EINVAL && (e->unit == 2 || !memchr(in, '\n', inleft));
		if ((errno != EILSEQ && errno != EINVAL) || cut || oleft < 3)
			break;
		if (inleft < e->unit)
			break;
		/* One code unit (UTF-16) or byte that no character starts
		 * with: U+FFFD, and on with the next. Never an LF. */
		if (e->nbad < NBAD_MAX)
			e->bad[e->nbad++] = (size_t)(o - e->dec);
		else
			e->nbad_over++;
		memcpy(o, "\xEF\xBF\xBD", 3);
		o += 3;
		oleft -= 3;
		in += e->unit;
		inleft -= e->unit;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	e->rend = (size_t)(in - x->buf);
	e->dlen = (size_t)(o - e->dec);
	*out = e->dec;
	return e->dlen;
}

/* After the next raw LF from r: its position. */
static size_t raw_next_lf(const struct tail_enc *e, size_t r)
{
	const char *b = e->raw;
	while (r < e->rend) {
		const char *lf = memchr(b + r, '\n', e->rend - r);
		if (!lf)
			return e->rend;
		size_t i = (size_t)(lf - b);
		if (e->unit == 1)
			return i + 1;
		/* UTF-16: the unit 0x000A, at an even offset from the block's
		 * start (which is a line's start, so even in the file too). */
		if (e->kind == TAIL_ENC_U16LE && !(i & 1) && i + 1 < e->rend && !b[i + 1])
			return i + 2;
		if (e->kind == TAIL_ENC_U16BE && (i & 1) && !b[i - 1])
			return i + 1;
		r = i + 1;
	}
	return e->rend;
}

size_t in_tail_enc_raw(struct tail_shard *x, size_t dpos)
{
	struct tail_enc *e = x->enc;
	if (dpos >= e->dlen)
		return e->rend;
	if (dpos < e->dcur) {   /* not expected: walk again from the start */
		e->dcur = 0;
		e->rcur = 0;
	}
	while (e->dcur < dpos) {
		const char *lf = memchr(e->dec + e->dcur, '\n', dpos - e->dcur);
		if (!lf) {
			/* NULs skipped at a line's start (psr_lines.h): one byte
			 * each here, one code unit each in the file. */
			e->rcur += (dpos - e->dcur) * e->unit;
			e->dcur = dpos;
			break;
		}
		e->dcur = (size_t)(lf - e->dec) + 1;
		e->rcur = raw_next_lf(e, e->rcur);
	}
	return e->rcur;
}

void in_tail_enc_done(struct tail_shard *x, struct tail_file *f, size_t dpos)
{
	struct tail_enc *e = x->enc;
	uint64_t n = e->nbad_over;
	unsigned i = 0;
	while (i < e->nbad && e->bad[i] < dpos)
		i++;
	n += i;
	e->nbad_over = 0;
	if (!n)
		return;
	DP_CNT_ADD(x->sh->ins[x->in->id].cnt.malformed, n);
	if (dp_ratelimit_ok(&e->rl, x->sh->now_ns, 10000000000ull))
		dp_plg_warn(x->in, "%s: %llu invalid %s sequence(s) before offset %llu, each replaced "
			    "with U+FFFD (counted as malformed)", f->name, (unsigned long long)n,
			    x->cfg->generic_encoding ? x->cfg->generic_encoding : "UTF-16",
			    (unsigned long long)(f->off + in_tail_enc_raw(x, dpos)));
}
