/*
 * psr_kv.c — logfmt and LTSV tokenizers (grammar in psr_kv.h). No state,
 * no allocation; called on the shard that parses.
 */
#include <stdint.h>
#include <string.h>
#include "psr_kv.h"

/* logfmt key and unquoted value bytes: above ' ', not '=' or '"' (DEL
 * and bytes >= 0x80 included, as Fluent Bit's table has them). */
static inline bool lf_ident(unsigned char c)
{
	return c > ' ' && c != '=' && c != '"';
}

static inline bool ltsv_label(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '_' ||
	       c == '.' || c == '-';
}

int psr_logfmt_next(const char *s, size_t len, size_t *pos, struct psr_kv_tok *t)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t p = *pos;
	for (;;) {
		while (p < len && !lf_ident(u[p]) && u[p] != '\n')
			p++;
		if (p >= len || u[p] == '\n') {
			*pos = len;
			return 0;
		}
		t->key = s + p;
		while (p < len && lf_ident(u[p]))
			p++;
		t->klen = (size_t)(s + p - t->key);
		t->kind = PSR_KV_TRUE;
		t->val = s + p;
		t->vlen = 0;
		if (p < len && u[p] == '=') {
			p++;
			if (p < len && u[p] == '"') {
				bool esc = false;
				t->val = s + ++p;
				while (p < len && u[p] != '"') {
					if (u[p] == '\\') {
						esc = true;
						if (++p == len)
							break;
					}
					p++;
				}
				t->vlen = (size_t)(s + p - t->val);
				if (p < len)
					p++;  /* closing quote */
				t->kind = esc ? PSR_KV_ESCAPED : PSR_KV_PLAIN;
			} else {
				t->val = s + p;
				while (p < len && lf_ident(u[p]))
					p++;
				t->vlen = (size_t)(s + p - t->val);
				if (t->vlen)
					t->kind = PSR_KV_PLAIN;
			}
		}
		*pos = p;
		return 1;
	}
}

int psr_ltsv_next(const char *s, size_t len, size_t *pos, struct psr_kv_tok *t)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t p = *pos;
	if (p >= len || u[p] == '\r' || u[p] == '\n')
		return 0;
	t->key = s + p;
	while (p < len && ltsv_label(u[p]))
		p++;
	t->klen = (size_t)(s + p - t->key);
	if (!t->klen || p >= len || u[p] != ':')
		return -1;
	t->val = s + ++p;
	while (p < len && u[p] != '\t' && u[p] != '\r' && u[p] != '\n')
		p++;
	t->vlen = (size_t)(s + p - t->val);
	t->kind = PSR_KV_PLAIN;
	if (p < len && u[p] == '\t')
		p++;
	*pos = p;
	return 1;
}

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

size_t psr_kv_unescape(const char *s, size_t n, char *w)
{
	char *w0 = w;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\' || i + 1 == n) {
			*w++ = s[i];
			continue;
		}
		char c = s[++i];
		switch (c) {
		case 'n': *w++ = '\n'; break;
		case 't': *w++ = '\t'; break;
		case 'r': *w++ = '\r'; break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'v': *w++ = '\v'; break;
		case 'a': *w++ = '\a'; break;
		case 'u': {
			/* \uXXXX: 6 bytes in, at most 3 out */
			uint32_t cp = 0;
			int k;
			for (k = 0; k < 4 && i + 1 + k < n && hexv(s[i + 1 + k]) >= 0; k++)
				cp = cp << 4 | (uint32_t)hexv(s[i + 1 + k]);
			if (k < 4) {
				*w++ = 'u';
				break;
			}
			i += 4;
			if (cp < 0x80) {
				*w++ = (char)cp;
			} else if (cp < 0x800) {
				*w++ = (char)(0xc0 | cp >> 6);
				*w++ = (char)(0x80 | (cp & 0x3f));
			} else {
				*w++ = (char)(0xe0 | cp >> 12);
				*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
				*w++ = (char)(0x80 | (cp & 0x3f));
			}
			break;
		}
		default: *w++ = c; break;  /* \" \\ \/ \' and unknown ones */
		}
	}
	return (size_t)(w - w0);
}
