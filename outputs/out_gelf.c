/*
 * out_gelf.c — GELF 1.1 messages from records, byte for byte as Fluent
 * Bit's flb_msgpack_to_gelf (src/flb_pack_gelf.c) writes them where that
 * is valid JSON (format and the few differences in out_gelf.h). Fields are
 * read through the chunk's index, nested values walked from their msgpack
 * bytes with a path of key slices on the stack: no allocation. Stateless,
 * any thread.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "out_gelf.h"

/* Deepest nesting below a field, as out_json's limit; deeper fails. */
#define GELF_MAX_DEPTH 128

struct gw {
	char *d;
	size_t n, cap;
	bool full;   /* cap reached */
	bool bad;    /* cannot be encoded: the record fails */
};

static void put(struct gw *w, const char *s, size_t n)
{
	if (w->full || w->cap - w->n < n) {
		w->full = true;
		return;
	}
	memcpy(w->d + w->n, s, n);
	w->n += n;
}

static void putc1(struct gw *w, char ch)
{
	put(w, &ch, 1);
}

static const char hex[] = "0123456789abcdef";

/* Fluent Bit's json_escape_table (src/flb_utils.c): the short escapes,
 * \u00xx in lower case for the other control characters and DEL. */
static bool put_esc_ascii(struct gw *w, unsigned char ch)
{
	char e[6] = { '\\', 0 };
	switch (ch) {
	case '"': e[1] = '"'; break;
	case '\\': e[1] = '\\'; break;
	case '\b': e[1] = 'b'; break;
	case '\f': e[1] = 'f'; break;
	case '\n': e[1] = 'n'; break;
	case '\r': e[1] = 'r'; break;
	case '\t': e[1] = 't'; break;
	default:
		if (ch >= 0x20 && ch != 0x7f)
			return false;
		e[1] = 'u';
		e[2] = e[3] = '0';
		e[4] = hex[ch >> 4];
		e[5] = hex[ch & 15];
		put(w, e, 6);
		return true;
	}
	put(w, e, 2);
	return true;
}

/* Length of the valid UTF-8 sequence at s (2..4), or 0 (overlong,
 * surrogate, beyond U+10FFFF, bad or missing continuation), and its code
 * point. */
static unsigned utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	unsigned len;
	uint32_t v;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (unsigned i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
	    (len == 4 && (v < 0x10000 || v > 0x10ffff)))
		return 0;
	*cp = v;
	return len;
}

/* A string value as Fluent Bit's flb_sds_cat_utf8 writes it: JSON escapes,
 * every valid UTF-8 character as \uXXXX (a surrogate pair above U+FFFF),
 * a byte of invalid UTF-8 as the private-use character U+E0XX in UTF-8
 * (src/flb_utils.c, FLB_UTILS_FRAGMENT_PRIVATE_BLOCK_DESCRIPTOR). */
static void put_str_fb(struct gw *w, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	putc1(w, '"');
	for (size_t i = 0; i < n && !w->full; i++) {
		if (s[i] < 0x80) {
			if (!put_esc_ascii(w, s[i]))
				putc1(w, (char)s[i]);
			continue;
		}
		uint32_t cp;
		unsigned len = utf8_seq(s + i, n - i, &cp);
		if (!len) {
			char u[3] = { (char)0xee, (char)(0x80 | (s[i] >> 6)), (char)(0x80 | (s[i] & 0x3f)) };
			put(w, u, 3);
			continue;
		}
		char b[13];
		if (cp > 0xffff) {
			uint32_t hi = 0xd800 + ((cp - 0x10000) >> 10), lo = 0xdc00 + ((cp - 0x10000) & 0x3ff);
			put(w, b, (size_t)snprintf(b, sizeof(b), "\\u%04x\\u%04x", hi, lo));
		} else {
			put(w, b, (size_t)snprintf(b, sizeof(b), "\\u%04x", cp));
		}
		i += len - 1;
	}
	putc1(w, '"');
}

/* Text inside an array's string: Fluent Bit copies it unescaped, which is
 * broken JSON when it holds a quote, a backslash or a control character;
 * those (only) are escaped here. */
static void put_str_raw(struct gw *w, const char *s, size_t n)
{
	for (size_t i = 0; i < n && !w->full; i++)
		if ((unsigned char)s[i] >= 0x80 || !put_esc_ascii(w, (unsigned char)s[i]))
			putc1(w, s[i]);
}

/* ext payload as Fluent Bit's "\xHH" per byte; its backslash is escaped
 * here, as Fluent Bit's bare \x is not valid JSON. */
static void put_ext(struct gw *w, const uint8_t *s, size_t n, bool quote)
{
	if (quote)
		putc1(w, '"');
	for (size_t i = 0; i < n && !w->full; i++) {
		char e[5] = { '\\', '\\', 'x', hex[s[i] >> 4], hex[s[i] & 15] };
		put(w, e, 5);
	}
	if (quote)
		putc1(w, '"');
}

/* GELF field names are [A-Za-z0-9_.-]: Fluent Bit writes '_' for any
 * other byte (flb_msgpack_gelf_key's valid_char). */
static void put_name(struct gw *w, const char *s, size_t n)
{
	for (size_t i = 0; i < n && !w->full; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_' || c == '.' || c == '-';
		putc1(w, ok ? (char)c : '_');
	}
}

/* ---- nested values ---- */

/* The keys of the maps above a value: Fluent Bit's prefix, "a_b_c", is
 * s[base..top) of one stack shared by the whole walk (a value's own path
 * starts empty at the top of it). lead: it starts at a member of the
 * record, written "_a". */
struct seg {
	const char *p;
	uint32_t n;
};

struct path {
	const struct seg *s;
	unsigned base, top;
	bool lead;
};

/* flb_msgpack_gelf_key: `, "prefix_key":` for a member, `prefix_key=`
 * for a map's member written inside an array's text. */
static void put_key(struct gw *w, bool in_array, struct path pa, const char *k, size_t kn)
{
	if (!in_array)
		put(w, ", \"", 3);
	for (unsigned i = pa.base; i < pa.top; i++) {
		if (i > pa.base || pa.lead)
			putc1(w, '_');
		put_name(w, pa.s[i].p, pa.s[i].n);
	}
	if (!in_array || pa.top > pa.base)
		putc1(w, '_');
	put_name(w, k, kn);
	if (in_array)
		putc1(w, '=');
	else
		put(w, "\":", 2);
}

enum mk { M_NIL, M_BOOL, M_UINT, M_INT, M_F32, M_F64, M_STR, M_EXT, M_ARR, M_MAP, M_BAD };

struct mh {
	enum mk k;
	uint32_t hdr;   /* header bytes (ext: with the type byte) */
	uint64_t len;   /* payload bytes, items of an array, pairs of a map */
};

static uint64_t rd(const uint8_t *p, unsigned w)
{
	return w == 1 ? p[0] : w == 2 ? dp_mp_rd16(p) : w == 4 ? dp_mp_rd32(p) : dp_mp_rd64(p);
}

static struct mh mp_head(const uint8_t *p, size_t n)
{
	uint8_t h = p[0];
	if (h <= 0x7f || h >= 0xe0)
		return (struct mh){ h <= 0x7f ? M_UINT : M_INT, 1, 0 };
	if (h >= 0xa0 && h <= 0xbf)
		return (struct mh){ M_STR, 1, h & 0x1fu };
	if (h >= 0x90 && h <= 0x9f)
		return (struct mh){ M_ARR, 1, h & 0x0fu };
	if (h <= 0x8f)
		return (struct mh){ M_MAP, 1, h & 0x0fu };
	static const uint8_t lw[256] = {
		[0xc4] = 1, [0xc5] = 2, [0xc6] = 4, [0xc7] = 1, [0xc8] = 2, [0xc9] = 4,
		[0xd9] = 1, [0xda] = 2, [0xdb] = 4, [0xdc] = 2, [0xdd] = 4, [0xde] = 2, [0xdf] = 4,
	};
	uint64_t len = 0;
	if (lw[h]) {
		if (n < 1u + lw[h])
			return (struct mh){ M_BAD, 0, 0 };
		len = rd(p + 1, lw[h]);
	}
	switch (h) {
	case 0xc0: return (struct mh){ M_NIL, 1, 0 };
	case 0xc2: case 0xc3: return (struct mh){ M_BOOL, 1, 0 };
	case 0xc4: case 0xd9: return (struct mh){ M_STR, 2, len };
	case 0xc5: case 0xda: return (struct mh){ M_STR, 3, len };
	case 0xc6: case 0xdb: return (struct mh){ M_STR, 5, len };
	case 0xc7: return (struct mh){ M_EXT, 3, len };
	case 0xc8: return (struct mh){ M_EXT, 4, len };
	case 0xc9: return (struct mh){ M_EXT, 6, len };
	case 0xca: return (struct mh){ M_F32, 1, 4 };
	case 0xcb: return (struct mh){ M_F64, 1, 8 };
	case 0xcc: case 0xcd: case 0xce: case 0xcf:
		return (struct mh){ M_UINT, 1, 1u << (h - 0xcc) };
	case 0xd0: case 0xd1: case 0xd2: case 0xd3:
		return (struct mh){ M_INT, 1, 1u << (h - 0xd0) };
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
		return (struct mh){ M_EXT, 2, 1u << (h - 0xd4) };
	case 0xdc: return (struct mh){ M_ARR, 3, len };
	case 0xdd: return (struct mh){ M_ARR, 5, len };
	case 0xde: return (struct mh){ M_MAP, 3, len };
	case 0xdf: return (struct mh){ M_MAP, 5, len };
	default: return (struct mh){ M_BAD, 0, 0 };
	}
}

/* A number as Fluent Bit prints it ("%lu", "%ld", "%f"). */
static void put_num(struct gw *w, const uint8_t *p, struct mh h)
{
	char b[352];   /* "%f" of DBL_MAX is 316 bytes */
	const uint8_t *v = p + h.hdr;
	int len;
	if (h.k == M_UINT) {
		len = snprintf(b, sizeof(b), "%llu", (unsigned long long)(h.len ? rd(v, (unsigned)h.len) : p[0]));
	} else if (h.k == M_INT) {
		int64_t x = !h.len ? (int8_t)p[0] : h.len == 1 ? (int8_t)v[0] : h.len == 2 ? (int16_t)dp_mp_rd16(v) :
			    h.len == 4 ? (int32_t)dp_mp_rd32(v) : (int64_t)dp_mp_rd64(v);
		len = snprintf(b, sizeof(b), "%lld", (long long)x);
	} else if (h.k == M_F32) {
		uint32_t u = dp_mp_rd32(v);
		float f;
		memcpy(&f, &u, 4);
		len = snprintf(b, sizeof(b), "%f", (double)f);
	} else {
		uint64_t u = dp_mp_rd64(v);
		double d;
		memcpy(&d, &u, 8);
		len = snprintf(b, sizeof(b), "%f", d);
	}
	put(w, b, (size_t)len);
}

/* flb_msgpack_gelf_flatten: the object at p (n bytes) under path pa
 * (stk: its storage, GELF_MAX_DEPTH slots; lvl: nesting so far);
 * in_array: inside an array's text (no quotes, maps as "k=v k=v").
 * Returns the bytes it took, or 0 with w->bad set. */
static size_t flatten(struct gw *w, const uint8_t *p, size_t n, struct seg *stk, struct path pa,
		      unsigned lvl, bool in_array)
{
	if (!n || lvl >= GELF_MAX_DEPTH)
		goto bad;
	struct mh h = mp_head(p, n);
	if (h.k == M_BAD || h.hdr > n)
		goto bad;
	size_t i = h.hdr;
	switch (h.k) {
	case M_NIL:
		put(w, "null", 4);
		return i;
	case M_BOOL:
		if (in_array)
			put(w, p[0] == 0xc3 ? "true" : "false", p[0] == 0xc3 ? 4 : 5);
		else
			put(w, p[0] == 0xc3 ? "\"true\"" : "\"false\"", p[0] == 0xc3 ? 6 : 7);
		return i;
	case M_UINT: case M_INT: case M_F32: case M_F64:
		if (h.len > n - i)
			goto bad;
		put_num(w, p, h);
		return i + h.len;
	case M_STR:
	case M_EXT:
		if (h.len > n - i)
			goto bad;
		if (h.k == M_EXT)
			put_ext(w, p + i, (size_t)h.len, !in_array);
		else if (in_array)
			put_str_raw(w, (const char *)p + i, (size_t)h.len);
		else
			put_str_fb(w, (const char *)p + i, (size_t)h.len);
		return i + h.len;
	case M_ARR:
		/* An array's elements keep its path (maps in it use it). */
		if (h.len > n - i)
			goto bad;
		if (!in_array)
			putc1(w, '"');
		for (uint64_t e = 0; e < h.len; e++) {
			if (e)
				put(w, ", ", 2);
			size_t k = flatten(w, p + i, n - i, stk, pa, lvl + 1, true);
			if (!k)
				goto bad;
			i += k;
		}
		if (!in_array)
			putc1(w, '"');
		return i;
	case M_MAP:
		if (h.len > n - i)
			goto bad;
		for (uint64_t e = 0; e < h.len; e++) {
			size_t ksz = i < n ? dp_mp_object_size(p + i, n - i) : 0;
			if (!ksz || ksz >= n - i)
				goto bad;
			struct mh kh = mp_head(p + i, n - i);
			const char *key = (const char *)p + i + kh.hdr;
			bool str_key = kh.k == M_STR && p[i] != 0xc4 && p[i] != 0xc5 && p[i] != 0xc6;
			i += ksz;
			bool sub = (p[i] >= 0x80 && p[i] <= 0x8f) || p[i] == 0xde || p[i] == 0xdf;
			size_t k;
			if (!str_key) {
				/* Fluent Bit skips members whose key is not a string */
				k = dp_mp_object_size(p + i, n - i);
			} else if (sub) {
				if (pa.top == GELF_MAX_DEPTH)
					goto bad;
				stk[pa.top] = (struct seg){ key, (uint32_t)kh.len };
				struct path in = { stk, pa.base, pa.top + 1, pa.lead };
				k = flatten(w, p + i, n - i, stk, in, lvl + 1, in_array);
			} else {
				/* Fluent Bit's separator counts every member
				 * before, nested maps and skipped keys too. */
				if (in_array && e > 0)
					putc1(w, ' ');
				put_key(w, in_array, pa, key, (size_t)kh.len);
				struct path none = { stk, pa.top, pa.top, false };
				k = flatten(w, p + i, n - i, stk, none, lvl + 1, in_array);
			}
			if (!k)
				goto bad;
			i += k;
		}
		return i;
	default:
		goto bad;
	}
bad:
	w->bad = true;
	return 0;
}

/* ---- records ---- */

static bool key_is(const struct dp_chunk *c, const struct dp_field *f, const char *k)
{
	size_t n = strlen(k);
	return f->key_len == n && memcmp(dp_field_key(c, f), k, n) == 0;
}

/* level as Fluent Bit writes it: a non-negative integer as it is, "0".."7"
 * or a syslog keyword as its number, another string as a string; any
 * other type fails the record (nil included). */
static bool put_level(struct gw *w, const struct dp_chunk *c, const struct dp_field *f)
{
	static const char *const names[] = { "emerg", "alert", "crit", "err", "warning", "notice",
					     "info", "debug" };
	char b[32];
	if (f->type == DP_T_UINT) {
		put(w, b, (size_t)snprintf(b, sizeof(b), "%llu", (unsigned long long)dp_field_int(c, f)));
		return true;
	}
	if (f->type != DP_T_STR)
		return false;
	const char *v = dp_field_val(c, f);
	if (f->val_len == 1 && v[0] >= '0' && v[0] <= '7') {
		put(w, v, 1);
		return true;
	}
	for (unsigned i = 0; i < 8; i++)
		if (strlen(names[i]) == f->val_len && strncasecmp(v, names[i], f->val_len) == 0) {
			b[0] = (char)('0' + i);
			put(w, b, 1);
			return true;
		}
	put_str_fb(w, v, f->val_len);
	return true;
}

size_t out_gelf_rec(const struct dp_chunk *c, const struct dp_rec *r, const struct out_gelf_keys *k,
		    char *dst, size_t cap)
{
	const char *names[5] = {
		k && k->host ? k->host : "host",
		k && k->short_message ? k->short_message : "short_message",
		k && k->timestamp ? k->timestamp : "timestamp",
		k && k->level ? k->level : "level",
		k && k->full_message ? k->full_message : "full_message",
	};
	static const char *const gelf[5] = { "host", "short_message", "timestamp", "level",
					     "full_message" };
	bool seen[5] = { false };
	struct gw w = { dst, 0, cap, false, false };
	struct seg stk[GELF_MAX_DEPTH];
	put(&w, "{\"version\":\"1.1\"", 16);
	const struct dp_field *f = dp_rec_fields(c, r);
	for (unsigned i = 0; i < r->nfields && !w.full && !w.bad; i++) {
		int which = -1;
		for (int j = 0; j < 5 && which < 0; j++)
			if (key_is(c, &f[i], names[j]))
				which = j;
		if (which >= 0 && seen[which])
			continue;
		if (which < 0 && key_is(c, &f[i], "id"))
			continue;   /* GELF forbids "_id" */
		if (which >= 0)
			seen[which] = true;
		const char *key = which >= 0 ? gelf[which] : dp_field_key(c, &f[i]);
		size_t kn = which >= 0 ? strlen(key) : f[i].key_len;
		if (which == 3 && (f[i].type == DP_T_MAP || f[i].type == DP_T_ARRAY ||
				   !(f[i].type == DP_T_UINT || f[i].type == DP_T_STR)))
			return 0;
		const uint8_t *v = (const uint8_t *)dp_field_val(c, &f[i]);
		if (f[i].type == DP_T_MAP) {
			/* members "_key_a", "_key_a_b": a GELF key's map too */
			stk[0] = (struct seg){ key, (uint32_t)kn };
			flatten(&w, v, f[i].val_len, stk, (struct path){ stk, 0, 1, true }, 0, false);
			continue;
		}
		if (f[i].type == DP_T_NIL)
			continue;
		put(&w, ", \"", 3);
		if (which < 0)
			putc1(&w, '_');
		put_name(&w, key, kn);
		put(&w, "\":", 2);
		if (which == 3)
			put_level(&w, c, &f[i]);
		else if (f[i].type == DP_T_STR || f[i].type == DP_T_BIN)
			put_str_fb(&w, (const char *)v, f[i].val_len);
		else
			flatten(&w, v, f[i].val_len, stk, (struct path){ stk, 0, 0, false }, 0, false);
	}
	if (w.bad || !seen[1])
		return 0;
	if (!seen[2]) {
		char b[48];
		put(&w, b, (size_t)snprintf(b, sizeof(b), ", \"timestamp\":%u.%03u", r->ts_sec,
					    r->ts_nsec / 1000000));
	}
	putc1(&w, '}');
	return w.full ? 0 : w.n;
}
