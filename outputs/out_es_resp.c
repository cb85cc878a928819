/*
 * out_es_resp.c — reading an Elasticsearch / OpenSearch _bulk response (see
 * out_es.h): whether it says "errors", and the status of each item in the
 * order of the request's actions.
 *
 * Written by hand rather than with a JSON library because only three
 * things are wanted from a body that can be megabytes (the "errors" flag,
 * each item's "status", the first error's type and reason), the body may
 * be cut at Buffer_Size, and what comes from the network must be read in
 * bounded time and memory: a scanner over the bytes with a depth counter,
 * no tree, no allocation, no recursion. Values that are not wanted are
 * skipped by counting brackets outside strings.
 *
 * Threads: stateless; the output worker calls it on its response buffer.
 */
#include <string.h>
#include "out_es.h"

struct rd {
	const char *p, *end;
};

static void ws(struct rd *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static bool eat(struct rd *r, char c)
{
	ws(r);
	if (r->p < r->end && *r->p == c) {
		r->p++;
		return true;
	}
	return false;
}

/* A string at r->p (after blanks): its raw bytes (escapes kept) in
 * [*s, *s + *n). false when there is none or it is cut. */
static bool str(struct rd *r, const char **s, size_t *n)
{
	ws(r);
	if (r->p >= r->end || *r->p != '"')
		return false;
	const char *b = ++r->p;
	while (r->p < r->end && *r->p != '"') {
		if (*r->p == '\\' && r->p + 1 < r->end)
			r->p++;
		r->p++;
	}
	if (r->p >= r->end)
		return false;
	*s = b;
	*n = (size_t)(r->p - b);
	r->p++;
	return true;
}

/* Skip one value of any kind. false when it is cut or malformed. */
static bool skip(struct rd *r)
{
	ws(r);
	if (r->p >= r->end)
		return false;
	const char *s;
	size_t n;
	if (*r->p == '"')
		return str(r, &s, &n);
	if (*r->p == '{' || *r->p == '[') {
		/* Brackets counted outside strings; a mismatch ('{' closed by
		 * ']') is not checked: the value is skipped either way. */
		unsigned long depth = 0;
		while (r->p < r->end) {
			char c = *r->p;
			if (c == '"') {
				if (!str(r, &s, &n))
					return false;
				continue;
			}
			r->p++;
			if (c == '{' || c == '[')
				depth++;
			else if ((c == '}' || c == ']') && --depth == 0)
				return true;
		}
		return false;
	}
	/* number, true, false, null */
	const char *b = r->p;
	while (r->p < r->end && *r->p != ',' && *r->p != '}' && *r->p != ']' && *r->p != ' ' && *r->p != '\n' &&
	       *r->p != '\r' && *r->p != '\t')
		r->p++;
	return r->p > b && r->p < r->end;
}

static bool key_is(const char *s, size_t n, const char *k)
{
	return n == strlen(k) && !memcmp(s, k, n);
}

static void copy_cut(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = 0;
}

/* {"type":"...","reason":"...", ...} or a plain string: into out. */
static bool error_value(struct rd *r, struct out_es_resp *out, bool keep)
{
	ws(r);
	const char *s;
	size_t n;
	if (r->p < r->end && *r->p == '"') {
		if (!str(r, &s, &n))
			return false;
		if (keep)
			copy_cut(out->err_reason, sizeof(out->err_reason), s, n);
		return true;
	}
	if (!eat(r, '{'))
		return skip(r);
	if (eat(r, '}'))
		return true;
	do {
		if (!str(r, &s, &n) || !eat(r, ':'))
			return false;
		const char *v;
		size_t vn;
		bool t = key_is(s, n, "type"), re = key_is(s, n, "reason");
		ws(r);
		if ((t || re) && r->p < r->end && *r->p == '"') {
			if (!str(r, &v, &vn))
				return false;
			if (keep && t)
				copy_cut(out->err_type, sizeof(out->err_type), v, vn);
			if (keep && re)
				copy_cut(out->err_reason, sizeof(out->err_reason), v, vn);
		} else if (!skip(r)) {
			return false;
		}
	} while (eat(r, ','));
	return eat(r, '}');
}

/* The action object of an item: {"_index":..., "status":N, "error":...}. */
static bool action_body(struct rd *r, unsigned *status, struct out_es_resp *out)
{
	if (!eat(r, '{'))
		return false;
	if (eat(r, '}'))
		return true;
	/* The error may come before the status: keep it aside until the
	 * status says whether this is the first failed item. */
	struct out_es_resp tmp;
	tmp.err_type[0] = tmp.err_reason[0] = 0;
	bool had_err = false;
	do {
		const char *s;
		size_t n;
		if (!str(r, &s, &n) || !eat(r, ':'))
			return false;
		if (key_is(s, n, "status")) {
			ws(r);
			unsigned v = 0, digits = 0;
			while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
				if (v < 100000)
					v = v * 10 + (unsigned)(*r->p - '0');
				r->p++;
				digits++;
			}
			if (!digits) {
				if (!skip(r))
					return false;
			} else {
				*status = v > 999 ? 0 : v;
			}
		} else if (key_is(s, n, "error")) {
			if (!error_value(r, &tmp, true))
				return false;
			had_err = true;
		} else if (!skip(r)) {
			return false;
		}
	} while (eat(r, ','));
	if (!eat(r, '}'))
		return false;
	/* The first refused item, or the first one refused for good when
	 * the first was only to be retried: the one worth reading. */
	enum out_es_item v = out_es_item_verdict(*status, OUT_ES_CREATE);
	bool first_bad = v != OUT_ES_ITEM_OK &&
			 (!out->err_status ||
			  (v == OUT_ES_ITEM_FAILED && out_es_item_verdict(out->err_status, OUT_ES_CREATE) != v));
	if (first_bad) {
		out->err_status = (uint16_t)*status;
		out->err_type[0] = out->err_reason[0] = 0;
		if (had_err) {
			memcpy(out->err_type, tmp.err_type, sizeof(tmp.err_type));
			memcpy(out->err_reason, tmp.err_reason, sizeof(tmp.err_reason));
		}
	}
	return true;
}

/* "items":[ {"create":{...}}, ... ] from after the ':'. */
static void items(struct rd *r, uint16_t *status, uint32_t max, struct out_es_resp *out)
{
	if (!eat(r, '[')) {
		out->bad = true;
		return;
	}
	if (eat(r, ']')) {
		out->items_done = true;
		return;
	}
	do {
		unsigned st = 0;
		if (!eat(r, '{'))
			return;   /* cut here, or garbled: the items so far stand */
		const char *s;
		size_t n;
		if (!eat(r, '}')) {
			do {
				if (!str(r, &s, &n) || !eat(r, ':'))
					return;
				/* One member, the action ("create", "index",
				 * "update", "delete"); more are read alike. */
				if (!action_body(r, &st, out))
					return;
			} while (eat(r, ','));
			if (!eat(r, '}'))
				return;
		}
		if (out->nitems >= max) {
			out->bad = true;   /* more items than actions sent */
			return;
		}
		status[out->nitems++] = (uint16_t)st;
	} while (eat(r, ','));
	if (eat(r, ']'))
		out->items_done = true;
}

void out_es_resp_parse(const char *p, size_t len, uint16_t *status, uint32_t max, struct out_es_resp *out)
{
	memset(out, 0, sizeof(*out));
	out->errors = -1;
	struct rd r = { p, p + len };
	if (!eat(&r, '{')) {
		out->bad = true;
		return;
	}
	if (eat(&r, '}'))
		return;
	do {
		const char *s;
		size_t n;
		if (!str(&r, &s, &n) || !eat(&r, ':'))
			return;
		if (key_is(s, n, "errors")) {
			ws(&r);
			if (r.end - r.p >= 4 && !memcmp(r.p, "true", 4)) {
				out->errors = 1;
				r.p += 4;
			} else if (r.end - r.p >= 5 && !memcmp(r.p, "false", 5)) {
				out->errors = 0;
				r.p += 5;
			} else {
				out->bad = true;
				return;
			}
		} else if (key_is(s, n, "items")) {
			items(&r, status, max, out);
			if (!out->items_done)
				return;
		} else if (!skip(&r)) {
			return;
		}
	} while (eat(&r, ','));
}

enum out_es_item out_es_item_verdict(unsigned status, int op)
{
	if (status >= 200 && status < 300)
		return OUT_ES_ITEM_OK;
	/* create of a document that exists: it is there (a retry of one sent
	 * with Generate_ID or Id_Key), as Fluent Bit counts it
	 * (plugins/out_es/es.c elasticsearch_error_check: 409 is not an
	 * error) */
	if (status == 409 && op == OUT_ES_CREATE)
		return OUT_ES_ITEM_OK;
	if (status == 429 || status >= 500 || status == 0 || status == 408)
		return OUT_ES_ITEM_RETRY;
	return OUT_ES_ITEM_FAILED;
}
