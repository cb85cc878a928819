/*
 * out_es_bulk.c — one record into the NDJSON body of a _bulk request (see
 * out_es.h), written straight into the request buffer: the action line,
 * then the document, whose record members are written by the shared JSON
 * encoder (out_json.c) from the chunk's field index. No per-record copy or
 * allocation.
 *
 * Layout, as Fluent Bit's es and opensearch outputs write it
 * (plugins/out_opensearch/opensearch.c opensearch_format, opensearch.h
 * OS_BULK_INDEX_FMT*):
 *
 *   {"create":{"_index":"logstash-2024.01.31","_type":"_doc","_id":"..."}}
 *   {"@timestamp":"2024-01-31T10:00:00.123Z","flb-key":"tag","k":"v",...}
 *
 * _type only without Suppress_Type_Name, _id only with Generate_ID or
 * Id_Key; the tag member only with Include_Tag_Key. Write_Operation update
 * sends {"update":...} and {"doc":{...}}, upsert {"update":...} and
 * {"doc_as_upsert":true,"doc":{...}}.
 *
 * Threads: stateless but for the caller's memo; any output worker.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "out_es.h"
#include "out_json.h"

struct wr {
	char *p, *end;
	bool full;
};

static void put(struct wr *w, const void *s, size_t n)
{
	if (w->full || (size_t)(w->end - w->p) < n) {
		w->full = true;
		return;
	}
	memcpy(w->p, s, n);
	w->p += n;
}

static void puts_(struct wr *w, const char *s)
{
	put(w, s, strlen(s));
}

/* s[0..n) as the inside of a JSON string. */
static void put_esc(struct wr *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n && !w->full; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			char e[2] = { '\\', (char)ch };
			put(w, e, 2);
		} else if (ch < 0x20) {
			char e[6] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15] };
			put(w, e, 6);
		} else {
			put(w, &s[i], 1);
		}
	}
}

static const struct dp_field *field(const struct dp_chunk *c, const struct dp_rec *r, const char *k)
{
	size_t kl = strlen(k);
	const struct dp_field *f = &c->fields[r->field0];
	for (unsigned i = 0; i < r->nfields; i++, f++)
		if (f->key_len == kl && !memcmp(c->data + f->key_off, k, kl))
			return f;
	return NULL;
}

/* ".mmmZ", or ".nnnnnnnnnZ" with Time_Key_Nanos: the fraction of the
 * second, by hand (snprintf was a visible part of each record's cost). */
static size_t fmt_frac(char *out, uint32_t nsec, bool nanos)
{
	unsigned digits = nanos ? 9 : 3;
	uint32_t v = nanos ? nsec % 1000000000u : nsec % 1000000000u / 1000000u;
	out[0] = '.';
	for (unsigned i = digits; i > 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
	out[digits + 1] = 'Z';
	return digits + 2;
}

/* strftime of sec, memoised per second. */
static size_t fmt_time(char *dst, size_t cap, const char *fmt, int64_t sec, int64_t *memo_sec, bool *ok,
		       size_t *len)
{
	if (!*ok || *memo_sec != sec) {
		time_t t = (time_t)sec;
		struct tm tm;
		*len = gmtime_r(&t, &tm) ? strftime(dst, cap, fmt, &tm) : 0;
		*memo_sec = sec;
		*ok = true;
	}
	return *len;
}

void out_es_bulk_gen_id(const struct dp_chunk *c, const struct dp_rec *r, const char *tag, size_t taglen,
			char out[37])
{
	/* Two FNV-1a streams with different bases, each finished by
	 * splitmix64's mixer: 128 bits, stable for the same record. */
	uint64_t h1 = 0xcbf29ce484222325ull, h2 = 0x84222325cbf29ce4ull;
	const unsigned char *ps[2] = { (const unsigned char *)tag, c->data + r->off };
	size_t ns[2] = { taglen, r->len };
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < ns[k]; i++) {
			h1 = (h1 ^ ps[k][i]) * 0x100000001b3ull;
			h2 = (h2 ^ ps[k][i]) * 0x100000001b3ull ^ (h2 >> 29);
		}
	uint64_t h[2] = { h1, h2 ^ ((uint64_t)r->ts_sec << 32 | r->ts_nsec) };
	for (int k = 0; k < 2; k++) {
		uint64_t z = h[k] + 0x9e3779b97f4a7c15ull;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		h[k] = z ^ (z >> 31);
	}
	snprintf(out, 37, "%08X-%04X-%04X-%04X-%04X%08X", (unsigned)(h[0] >> 32), (unsigned)(h[0] >> 16) & 0xffff,
		 (unsigned)h[0] & 0xffff, (unsigned)(h[1] >> 48), (unsigned)(h[1] >> 32) & 0xffff, (unsigned)h[1]);
}

/* Replace_Dots: '.' to '_' in the member names of the JSON text
 * p[0..n) (well-formed: written by out_json.c), at every depth. */
static void replace_dots(char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (p[i] != '"') {
			i++;
			continue;
		}
		size_t b = ++i;
		while (i < n && p[i] != '"')
			i += p[i] == '\\' ? 2 : 1;
		size_t e = i++;
		if (i < n && p[i] == ':')
			for (size_t k = b; k < e; k++)
				if (p[k] == '.')
					p[k] = '_';
	}
}

size_t out_es_bulk_rec(struct out_buf *b, const struct out_es_bulk_opts *o, struct out_es_bulk_memo *m,
		       const struct dp_chunk *c, const struct dp_rec *r, const char *tag, size_t taglen,
		       int64_t now_sec)
{
	struct wr w = { b->p + b->len, b->p + b->cap, false };
	static const char *const ops[] = { "create", "index", "update", "update" };
	/* action line */
	puts_(&w, "{\"");
	puts_(&w, ops[o->op]);
	puts_(&w, "\":{\"_index\":\"");
	if (o->logstash) {
		const struct dp_field *pf = o->prefix_key ? field(c, r, o->prefix_key) : NULL;
		if (pf && pf->type == DP_T_STR)
			/* Fluent Bit keeps the first 128 bytes of the value */
			put_esc(&w, (const char *)c->data + pf->val_off, pf->val_len > 128 ? 128 : pf->val_len);
		else
			put_esc(&w, o->prefix, strlen(o->prefix));
		put_esc(&w, o->separator, strlen(o->separator));
		int64_t sec = o->current_time_index ? now_sec : (int64_t)r->ts_sec;
		size_t n = fmt_time(m->ix, sizeof(m->ix), o->dateformat, sec, &m->ix_sec, &m->ix_ok, &m->ix_len);
		put_esc(&w, m->ix, n);
	} else {
		put_esc(&w, o->index, strlen(o->index));
	}
	put(&w, "\"", 1);
	if (o->type) {
		puts_(&w, ",\"_type\":\"");
		put_esc(&w, o->type, strlen(o->type));
		put(&w, "\"", 1);
	}
	const struct dp_field *idf = o->id_key ? field(c, r, o->id_key) : NULL;
	if (idf && idf->type == DP_T_STR) {
		puts_(&w, ",\"_id\":\"");
		put_esc(&w, (const char *)c->data + idf->val_off, idf->val_len);
		put(&w, "\"", 1);
	} else if (o->generate_id) {
		char id[37];
		out_es_bulk_gen_id(c, r, tag, taglen, id);
		puts_(&w, ",\"_id\":\"");
		put(&w, id, 36);
		put(&w, "\"", 1);
	}
	puts_(&w, "}}\n");
	/* document */
	if (o->op == OUT_ES_UPDATE)
		puts_(&w, "{\"doc\":");
	else if (o->op == OUT_ES_UPSERT)
		puts_(&w, "{\"doc_as_upsert\":true,\"doc\":");
	puts_(&w, "{\"");
	put_esc(&w, o->time_key, strlen(o->time_key));
	puts_(&w, "\":\"");
	size_t n = fmt_time(m->ts, sizeof(m->ts), o->time_key_format, (int64_t)r->ts_sec, &m->ts_sec, &m->ts_ok,
			    &m->ts_len);
	put_esc(&w, m->ts, n);
	char frac[16];
	put(&w, frac, fmt_frac(frac, r->ts_nsec, o->time_key_nanos));
	put(&w, "\"", 1);
	if (o->tag_key) {
		puts_(&w, ",\"");
		put_esc(&w, o->tag_key, strlen(o->tag_key));
		puts_(&w, "\":\"");
		put_esc(&w, tag, taglen);
		put(&w, "\"", 1);
	}
	if (w.full)
		return 0;
	/* The record's members, written as an object over a ',' slot: its
	 * '{' becomes the ',' after our members, or "{}" becomes "}". */
	size_t room = (size_t)(w.end - w.p);
	struct out_json_opts jo = { NULL, 0 };
	size_t jn = room > 1 ? out_json_rec(c, r, &jo, w.p, room) : 0;
	if (jn < 2)
		return 0;
	if (o->replace_dots)
		replace_dots(w.p, jn);
	if (jn == 2) {
		w.p[0] = '}';
		w.p += 1;
	} else {
		w.p[0] = ',';
		w.p += jn;
	}
	if (o->op == OUT_ES_UPDATE || o->op == OUT_ES_UPSERT)
		put(&w, "}", 1);
	put(&w, "\n", 1);
	if (w.full)
		return 0;
	size_t added = (size_t)(w.p - (b->p + b->len));
	b->len += added;
	return added;
}
