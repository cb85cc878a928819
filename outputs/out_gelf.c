/*
 * out_gelf.c — GELF 1.1 messages from records (format in out_gelf.h).
 * Fields are read through the chunk's index; nested values go through
 * out_json. Stateless, any thread.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "out_gelf.h"
#include "out_json.h"

struct gw {
	char *d;
	size_t n, cap;
	bool full;
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

/* A JSON string body (RFC 8259 escapes), quotes around it. */
static void put_qstr(struct gw *w, const char *pre, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	put(w, "\"", 1);
	if (pre)
		put(w, pre, strlen(pre));
	for (size_t i = 0; i < n && !w->full; i++) {
		unsigned char ch = (unsigned char)s[i];
		char e[6] = { '\\', 0 };
		switch (ch) {
		case '"': e[1] = '"'; put(w, e, 2); continue;
		case '\\': e[1] = '\\'; put(w, e, 2); continue;
		case '\b': e[1] = 'b'; put(w, e, 2); continue;
		case '\f': e[1] = 'f'; put(w, e, 2); continue;
		case '\n': e[1] = 'n'; put(w, e, 2); continue;
		case '\r': e[1] = 'r'; put(w, e, 2); continue;
		case '\t': e[1] = 't'; put(w, e, 2); continue;
		default:
			if (ch < 0x20) {
				char u[6] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15] };
				put(w, u, 6);
			} else {
				put(w, (const char *)&s[i], 1);
			}
		}
	}
	put(w, "\"", 1);
}

static bool key_is(const struct dp_chunk *c, const struct dp_field *f, const char *k)
{
	size_t n = strlen(k);
	return f->key_len == n && memcmp(dp_field_key(c, f), k, n) == 0;
}

/* level as GELF wants it: a number when it can be one. */
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
	put_qstr(w, NULL, v, f->val_len);
	return true;
}

static void put_value(struct gw *w, const struct dp_chunk *c, const struct dp_field *f)
{
	char b[64];
	switch (f->type) {
	case DP_T_BOOL:
		put_qstr(w, NULL, dp_field_bool(c, f) ? "true" : "false", dp_field_bool(c, f) ? 4 : 5);
		return;
	case DP_T_UINT:
		put(w, b, (size_t)snprintf(b, sizeof(b), "%llu", (unsigned long long)dp_field_int(c, f)));
		return;
	case DP_T_INT:
		put(w, b, (size_t)snprintf(b, sizeof(b), "%lld", (long long)dp_field_int(c, f)));
		return;
	case DP_T_FLOAT:
		put(w, b, (size_t)snprintf(b, sizeof(b), "%f", dp_field_double(c, f)));
		return;
	case DP_T_STR:
	case DP_T_BIN:
	case DP_T_EXT:
		put_qstr(w, NULL, dp_field_val(c, f), f->val_len);
		return;
	default: {
		/* map, array: their JSON text as a string (see out_gelf.h).
		 * The text is made at the end of the buffer and escaped from
		 * there forwards; escaping grows a byte to at most 6, so with
		 * 7 times its length free the writer never reaches it. */
		size_t room = w->cap - w->n;
		size_t n = out_json_value(c, f, w->d + w->n, room);
		if (!n || room < 7 * n + 2) {
			w->full = true;
			return;
		}
		char *src = w->d + w->cap - n;
		memmove(src, w->d + w->n, n);
		put_qstr(w, NULL, src, n);
		return;
	}
	}
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
	struct gw w = { dst, 0, cap, false };
	put(&w, "{\"version\":\"1.1\"", 16);
	const struct dp_field *f = dp_rec_fields(c, r);
	for (unsigned i = 0; i < r->nfields && !w.full; i++) {
		int which = -1;
		for (int j = 0; j < 5 && which < 0; j++)
			if (key_is(c, &f[i], names[j]))
				which = j;
		if (which >= 0 && seen[which])
			continue;
		if (which < 0 && key_is(c, &f[i], "id"))
			continue;
		if (f[i].type == DP_T_NIL)
			continue;
		put(&w, ",", 1);
		if (which >= 0) {
			seen[which] = true;
			put_qstr(&w, NULL, gelf[which], strlen(gelf[which]));
		} else {
			put_qstr(&w, "_", dp_field_key(c, &f[i]), f[i].key_len);
		}
		put(&w, ":", 1);
		if (which == 3) {
			if (!put_level(&w, c, &f[i]))
				return 0;
		} else {
			put_value(&w, c, &f[i]);
		}
	}
	if (!seen[1])
		return 0;
	if (!seen[2]) {
		char b[48];
		put(&w, b, (size_t)snprintf(b, sizeof(b), ",\"timestamp\":%u.%03u", r->ts_sec,
					    r->ts_nsec / 1000000));
	}
	put(&w, "}", 1);
	return w.full ? 0 : w.n;
}
