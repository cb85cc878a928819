/*
 * dp_ra.c — record accessor parsing (control thread) and lookups (any
 * thread, no allocation). Syntax and rules in dp_ra.h.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include "dp_edit.h"
#include "dp_ra.h"

static int add_part(struct dp_ra *ra, const char *k, size_t n, int32_t index, const char *spec,
		    int speclen, struct dp_err *err)
{
	if (ra->nparts >= DP_RA_MAX_PARTS)
		return dp_err_set(err, -E2BIG, "record accessor '%.*s': more than %d parts", speclen,
				  spec, DP_RA_MAX_PARTS);
	size_t used = ra->nparts ? ra->part[ra->nparts - 1].off + ra->part[ra->nparts - 1].len : 0;
	if (used + n + 1 > DP_RA_MAX_TEXT)
		return dp_err_set(err, -E2BIG, "record accessor '%.*s': keys longer than %d bytes",
				  speclen, spec, DP_RA_MAX_TEXT - 1);
	struct dp_ra_part *p = &ra->part[ra->nparts++];
	p->off = (uint16_t)used;
	p->len = (uint16_t)n;
	p->index = index;
	memcpy(ra->text + used, k, n);
	ra->text[used + n] = '\0';
	return 0;
}

static bool tmpl_name_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '-';
}

/* Parse s[0..len): optional '$', a name, then [..] parts. In template mode
 * the name is [A-Za-z0-9_-]+ and parsing stops after the last bracket;
 * otherwise the whole of s must be consumed. */
static int parse(const char *s, size_t len, bool tmpl, size_t *used, struct dp_ra *ra,
		 struct dp_err *err)
{
	int sl = (int)DP_MIN(len, 200);
	size_t i = 0;
	memset(ra, 0, sizeof(*ra));
	if (i < len && s[i] == '$')
		i++;
	else if (tmpl)
		return dp_err_set(err, -EINVAL, "invalid record accessor '%.*s': no '$'", sl, s);
	size_t k0 = i;
	while (i < len && s[i] != '[' && (!tmpl || tmpl_name_char(s[i])))
		i++;
	if (i == k0)
		return dp_err_set(err, -EINVAL, "invalid record accessor '%.*s': no key name", sl, s);
	int rc = add_part(ra, s + k0, i - k0, -1, s, sl, err);
	if (rc)
		return rc;
	while (i < len && s[i] == '[') {
		i++;
		if (i < len && (s[i] == '\'' || s[i] == '"')) {
			char q = s[i++];
			size_t a = i;
			while (i < len && s[i] != q)
				i++;
			if (i >= len)
				return dp_err_set(err, -EINVAL,
						  "invalid record accessor '%.*s': unterminated quote", sl, s);
			if ((rc = add_part(ra, s + a, i - a, -1, s, sl, err)))
				return rc;
			i++;
		} else {
			size_t a = i;
			int64_t v = 0;
			while (i < len && s[i] >= '0' && s[i] <= '9' && v <= INT32_MAX)
				v = v * 10 + (s[i++] - '0');
			if (i == a || v > INT32_MAX)
				return dp_err_set(err, -EINVAL,
						  "invalid record accessor '%.*s': expected 'key' or an index "
						  "between brackets", sl, s);
			if ((rc = add_part(ra, "", 0, (int32_t)v, s, sl, err)))
				return rc;
		}
		if (i >= len || s[i] != ']')
			return dp_err_set(err, -EINVAL, "invalid record accessor '%.*s': missing ']'",
					  sl, s);
		i++;
	}
	if (!tmpl && i != len)
		return dp_err_set(err, -EINVAL, "invalid record accessor '%.*s': unexpected '%c'", sl,
				  s, s[i]);
	if (used)
		*used = i;
	return 0;
}

int dp_ra_parse(const char *spec, struct dp_ra *ra, struct dp_err *err)
{
	return parse(spec, strlen(spec), false, NULL, ra, err);
}

int dp_ra_parse_prefix(const char *s, size_t len, size_t *used, struct dp_ra *ra,
		       struct dp_err *err)
{
	return parse(s, len, true, used, ra, err);
}

/* ---- lookups ---- */

/* Fill out from the object at o (size sz) inside c->data. */
static bool set_val(const struct dp_chunk *c, const uint8_t *o, size_t sz, struct dp_ra_val *out)
{
	memset(out, 0, sizeof(*out));
	out->type = dp_mp_type(o, sz);
	out->f.type = (uint8_t)out->type;
	size_t hdr, len;
	bool bin;
	if (out->type == DP_T_STR || out->type == DP_T_BIN) {
		if (!dp_mp_strbin(o, sz, &bin, &hdr, &len))
			return false;
		out->str = (const char *)o + hdr;
		out->len = len;
		out->f.val_off = (uint32_t)(o + hdr - c->data);
		out->f.val_len = (uint32_t)len;
	} else {
		out->f.val_off = (uint32_t)(o - c->data);
		out->f.val_len = (uint32_t)sz;
	}
	return true;
}

bool dp_ra_get(const struct dp_ra *ra, const struct dp_chunk *c, const struct dp_field *fields,
	       unsigned nfields, struct dp_ra_val *out)
{
	const char *k0 = ra->text + ra->part[0].off;
	uint16_t k0len = ra->part[0].len;
	const struct dp_field *f = NULL;
	for (unsigned i = 0; i < nfields; i++)
		if (fields[i].key_len == k0len && !memcmp(c->data + fields[i].key_off, k0, k0len)) {
			f = &fields[i];
			break;
		}
	if (!f)
		return false;
	if (ra->nparts == 1) {
		memset(out, 0, sizeof(*out));
		out->type = (enum dp_type)f->type;
		out->f = *f;
		if (f->type == DP_T_STR || f->type == DP_T_BIN) {
			out->str = dp_field_val(c, f);
			out->len = f->val_len;
		}
		return true;
	}
	if (f->type != DP_T_MAP && f->type != DP_T_ARRAY)
		return false;
	/* Nested: walk the msgpack from the field's object. Everything is
	 * bounded by the field's own length, so a malformed value ends the
	 * walk instead of reading past it. */
	const uint8_t *p = c->data + f->val_off;
	size_t n = f->val_len;
	for (unsigned k = 1; k < ra->nparts; k++) {
		const struct dp_ra_part *pt = &ra->part[k];
		uint32_t cnt;
		size_t hdr;
		if (!dp_mp_container(p, n, pt->index < 0, &cnt, &hdr))
			return false;
		const uint8_t *q = p + hdr, *end = p + n;
		bool found = false;
		if (pt->index >= 0) {
			if ((uint32_t)pt->index >= cnt)
				return false;
			for (int32_t e = 0; e < pt->index; e++) {
				size_t sz = dp_mp_object_size(q, (size_t)(end - q));
				if (!sz)
					return false;
				q += sz;
			}
			found = true;
		} else {
			const char *want = ra->text + pt->off;
			for (uint32_t e = 0; e < cnt; e++) {
				size_t ksz = dp_mp_object_size(q, (size_t)(end - q));
				if (!ksz)
					return false;
				size_t kh, kl;
				bool kbin;
				bool match = dp_mp_strbin(q, ksz, &kbin, &kh, &kl) && !kbin && kl == pt->len &&
					     !memcmp(q + kh, want, kl);
				q += ksz;
				if (match) {
					found = true;
					break;
				}
				size_t vsz = dp_mp_object_size(q, (size_t)(end - q));
				if (!vsz)
					return false;
				q += vsz;
			}
		}
		if (!found)
			return false;
		size_t sz = dp_mp_object_size(q, (size_t)(end - q));
		if (!sz)
			return false;
		p = q;
		n = sz;
	}
	return set_val(c, p, n, out);
}

bool dp_ra_get_tail(const struct dp_ra *ra, const struct dp_chunk *c, struct dp_ra_val *out)
{
	unsigned n = dp_tail_nfields(c);
	if (!n)
		return false;
	uint32_t f0 = dp_chunk_rec_is_open(c) ? c->cur_field0 : c->recs[c->nrecs - 1].field0;
	return dp_ra_get(ra, c, c->fields + f0, n, out);
}
