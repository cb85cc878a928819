/*
 * out_file_tmpl.c — Format template of the file output, as Fluent Bit's
 * plugins/out_file/file.c (template_output) writes it:
 *
 *   - {time}: the event time as "%f" of a double (seconds, 6 digits);
 *     as in Fluent Bit (strncmp(key, "time", size)), so do {}, {t}, {ti}
 *     and {tim};
 *   - {key}: the top-level key of the record: a string as its bytes,
 *     other values as msgpack-c's msgpack_object_print shows them
 *     (integers, true/false, nil, floats with "%f"); maps and arrays are
 *     written as JSON here (Fluent Bit prints {"k"=>v});
 *   - a key the record lacks: the placeholder itself, "{key}";
 *   - "{a{b}": the first brace is literal ("{a" then {b});
 *   - an unclosed "{abc" at the end: literal.
 *
 * Threads: out_file_tmpl_init/fini on the control thread; the output
 * workers read the template.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "out_file_tmpl.h"
#include "out_json.h"

static int add(struct out_file_tmpl *t, size_t off, size_t len, bool key)
{
	if (!key && len == 0)
		return 0;
	if (!key && t->n && !t->p[t->n - 1].key && t->p[t->n - 1].off + t->p[t->n - 1].len == off) {
		t->p[t->n - 1].len += (uint32_t)len;   /* join adjacent literals */
		return 0;
	}
	struct out_file_tmpl_piece *p = realloc(t->p, sizeof(*p) * (t->n + 1));
	if (!p)
		return -ENOMEM;
	t->p = p;
	p[t->n++] = (struct out_file_tmpl_piece){ (uint32_t)off, (uint32_t)len, key };
	return 0;
}

int out_file_tmpl_init(struct out_file_tmpl *t, const char *text)
{
	memset(t, 0, sizeof(*t));
	if (!(t->text = strdup(text)))
		return -ENOMEM;
	size_t len = strlen(text), lit = 0;
	const char *in = NULL;   /* the last open brace */
	int rc = 0;
	for (size_t i = 0; i < len && !rc; i++) {
		if (text[i] == '{') {
			/* what came before, with a brace left open ("{a{b}") */
			rc = add(t, lit, i - lit, false);
			in = text + i;
			lit = i;
		} else if (text[i] == '}' && in) {
			size_t k = (size_t)(in - text) + 1;
			rc = add(t, k, i - k, true);
			in = NULL;
			lit = i + 1;
		}
	}
	if (!rc)
		rc = add(t, lit, len - lit, false);   /* the tail, with an unclosed brace */
	if (rc)
		out_file_tmpl_fini(t);
	return rc;
}

void out_file_tmpl_fini(struct out_file_tmpl *t)
{
	free(t->text);
	free(t->p);
	memset(t, 0, sizeof(*t));
}

static size_t put(char *d, size_t cap, const void *s, size_t n)
{
	if (n > cap)
		return SIZE_MAX;
	memcpy(d, s, n);
	return n;
}

static size_t put_time(char *d, size_t cap, const struct dp_rec *r)
{
	char b[40];
	double v = (double)r->ts_sec + (double)r->ts_nsec / 1e9;   /* flb_time_to_double */
	int n = snprintf(b, sizeof(b), "%f", v);
	return put(d, cap, b, (size_t)n);
}

static size_t put_field(const struct dp_chunk *c, const struct dp_field *f, char *d, size_t cap)
{
	char b[400];
	int n;
	switch (f->type) {
	case DP_T_STR:
	case DP_T_BIN:
		return put(d, cap, dp_field_val(c, f), f->val_len);
	case DP_T_NIL:
		return put(d, cap, "nil", 3);
	case DP_T_FLOAT:
		n = snprintf(b, sizeof(b), "%f", dp_field_double(c, f));
		return put(d, cap, b, n > 0 && (size_t)n < sizeof(b) ? (size_t)n : 0);
	default: {
		/* integers, booleans: as JSON writes them; maps, arrays: JSON */
		size_t m = out_json_value(c, f, d, cap);
		return m ? m : SIZE_MAX;
	}
	}
}

size_t out_file_tmpl_rec(const struct out_file_tmpl *t, const struct dp_chunk *c, const struct dp_rec *r,
			 char *dst, size_t cap)
{
	const struct dp_field *f = dp_rec_fields(c, r);
	size_t n = 0;
	for (unsigned i = 0; i < t->n; i++) {
		const struct out_file_tmpl_piece *p = &t->p[i];
		const char *s = t->text + p->off;
		size_t w = SIZE_MAX;
		if (!p->key) {
			w = put(dst + n, cap - n, s, p->len);
		} else if (p->len <= 4 && !memcmp(s, "time", p->len)) {
			w = put_time(dst + n, cap - n, r);
		} else {
			unsigned j = 0;
			while (j < r->nfields && (f[j].key_len != p->len || memcmp(dp_field_key(c, &f[j]), s, p->len)))
				j++;
			if (j < r->nfields) {
				w = put_field(c, &f[j], dst + n, cap - n);
			} else if (p->len + 2 <= cap - n) {   /* no such key: "{key}" */
				dst[n] = '{';
				memcpy(dst + n + 1, s, p->len);
				dst[n + 1 + p->len] = '}';
				w = p->len + 2;
			}
		}
		if (w == SIZE_MAX)
			return 0;
		n += w;
	}
	return n;
}
