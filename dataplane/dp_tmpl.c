/*
 * dp_tmpl.c — templates over a record and its tag (dp_tmpl.h).
 * Threads: see dp_tmpl.h.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dp_tmpl.h"

static int add_piece(struct dp_tmpl *t, uint8_t kind, uint16_t n, uint32_t off, uint32_t len)
{
	if (kind == DP_TMPL_LIT && t->npieces && t->piece[t->npieces - 1].kind == DP_TMPL_LIT &&
	    t->piece[t->npieces - 1].off + t->piece[t->npieces - 1].len == off) {
		t->piece[t->npieces - 1].len += len;
		return 0;
	}
	if (t->npieces >= DP_TMPL_MAX_PIECES)
		return -E2BIG;
	t->piece[t->npieces++] = (struct dp_tmpl_piece){ kind, n, off, len };
	return 0;
}

int dp_tmpl_parse(struct dp_tmpl *t, const char *text, unsigned flags, const char *what, struct dp_err *e)
{
	memset(t, 0, sizeof(*t));
	if (!(t->text = strdup(text)))
		return dp_err_set(e, -ENOMEM, "out of memory");
	const char *s = t->text;
	size_t len = strlen(s), i = 0;
	while (i < len) {
		int rc = 0;
		if (s[i] != '$') {
			rc = add_piece(t, DP_TMPL_LIT, 0, (uint32_t)i, 1);
			i++;
		} else if ((flags & DP_TMPL_CAPS) && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9') {
			rc = add_piece(t, DP_TMPL_CAP, (uint16_t)(s[i + 1] - '0'), 0, 0);
			t->uses_caps = true;
			i += 2;
		} else if (!strncmp(s + i, "$TAG", 4) && s[i + 4] == '[') {
			size_t j = i + 5;
			unsigned v = 0;
			while (j < len && s[j] >= '0' && s[j] <= '9' && v < 1000)
				v = v * 10 + (unsigned)(s[j++] - '0');
			if (j == i + 5 || j >= len || s[j] != ']')
				return dp_err_set(e, -EINVAL, "%s '%s': bad $TAG[n]", what, s);
			rc = add_piece(t, DP_TMPL_TAG_PART, (uint16_t)v, 0, 0);
			t->uses_tag = true;
			i = j + 1;
		} else if (!strncmp(s + i, "$TAG", 4) &&
			   !(s[i + 4] && (isalnum((unsigned char)s[i + 4]) || s[i + 4] == '_' || s[i + 4] == '-'))) {
			rc = add_piece(t, DP_TMPL_TAG, 0, 0, 0);
			t->uses_tag = true;
			i += 4;
		} else {
			size_t used;
			struct dp_err ignore;
			if (t->nra < DP_TMPL_MAX_RA &&
			    !dp_ra_parse_prefix(s + i, len - i, &used, &t->ra[t->nra], &ignore)) {
				rc = add_piece(t, DP_TMPL_RA, (uint16_t)t->nra++, 0, 0);
				t->uses_record = true;
				i += used;
			} else if (t->nra >= DP_TMPL_MAX_RA) {
				return dp_err_set(e, -E2BIG, "%s '%s': more than %d record keys", what, s,
						  DP_TMPL_MAX_RA);
			} else {
				rc = add_piece(t, DP_TMPL_LIT, 0, (uint32_t)i, 1);
				i++;
			}
		}
		if (rc)
			return dp_err_set(e, rc, "%s '%s': more than %d parts", what, s, DP_TMPL_MAX_PIECES);
	}
	return 0;
}

void dp_tmpl_free(struct dp_tmpl *t)
{
	free(t->text);
	t->text = NULL;
}

struct obuf {
	char *p;
	size_t n, cap;
	bool over;
};

static void put(struct obuf *b, const char *p, size_t n)
{
	if (b->n + n > b->cap) {
		n = b->cap - b->n;
		b->over = true;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

/* A tag or record value: as put, or made safe for a path. */
static void put_val(struct obuf *b, const char *p, size_t n, bool safe)
{
	if (!safe) {
		put(b, p, n);
		return;
	}
	if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
		put(b, "__", n);
		return;
	}
	for (size_t i = 0; i < n && !b->over; i++)
		put(b, p[i] == '/' || p[i] == 0 ? "_" : p + i, 1);
}

/* Part n of tag split on '.'. */
static void tag_part(struct obuf *b, const char *tag, size_t len, unsigned n, bool safe)
{
	size_t a = 0;
	for (unsigned k = 0; k < n; k++) {
		const char *dot = memchr(tag + a, '.', len - a);
		if (!dot)
			return;
		a = (size_t)(dot - tag) + 1;
	}
	const char *dot = memchr(tag + a, '.', len - a);
	put_val(b, tag + a, dot ? (size_t)(dot - tag) - a : len - a, safe);
}

static void put_ra(struct obuf *b, const struct dp_ra *ra, const struct dp_chunk *c, const struct dp_field *f,
		   unsigned nf, bool safe)
{
	struct dp_ra_val v;
	char num[32];
	if (!c || !dp_ra_get(ra, c, f, nf, &v))
		return;
	switch (v.type) {
	case DP_T_STR:
		put_val(b, v.str, v.len, safe);
		break;
	case DP_T_INT:
		put(b, num, (size_t)snprintf(num, sizeof(num), "%" PRId64, dp_field_int(c, &v.f)));
		break;
	case DP_T_UINT:
		put(b, num, (size_t)snprintf(num, sizeof(num), "%" PRIu64, (uint64_t)dp_field_int(c, &v.f)));
		break;
	case DP_T_BOOL:
		if (dp_field_bool(c, &v.f))
			put(b, "true", 4);
		else
			put(b, "false", 5);
		break;
	default:
		break;
	}
}

ssize_t dp_tmpl_expand(const struct dp_tmpl *t, char *out, size_t cap, const char *tag, size_t tag_len,
		       const struct dp_chunk *c, const struct dp_field *fields, unsigned nfields,
		       const struct dp_tmpl_caps *caps)
{
	struct obuf b = { out, 0, cap, false };
	for (unsigned i = 0; i < t->npieces && !b.over; i++) {
		const struct dp_tmpl_piece *p = &t->piece[i];
		switch (p->kind) {
		case DP_TMPL_LIT:
			put(&b, t->text + p->off, p->len);
			break;
		case DP_TMPL_TAG:
			put_val(&b, tag, tag_len, t->path_safe);
			break;
		case DP_TMPL_TAG_PART:
			tag_part(&b, tag, tag_len, p->n, t->path_safe);
			break;
		case DP_TMPL_CAP:
			if (caps && (int)p->n < caps->n && caps->ov[2 * p->n] != SIZE_MAX)
				put(&b, caps->subj + caps->ov[2 * p->n],
				    caps->ov[2 * p->n + 1] - caps->ov[2 * p->n]);
			break;
		case DP_TMPL_RA:
			put_ra(&b, &t->ra[p->n], c, fields, nfields, t->path_safe);
			break;
		}
	}
	return b.over ? -1 : (ssize_t)b.n;
}
