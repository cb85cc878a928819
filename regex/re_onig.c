/*
 * re_onig.c — Onigmo (Ruby syntax) patterns rewritten for PCRE2 and
 * Hyperscan (re_onig.h says what and why). One pass, left to right,
 * knowing only what it must: escapes, character classes (a POSIX
 * "[:name:]" inside one is copied; a class nested in one, Onigmo's union,
 * is flattened; a negated nested class stays as written), and the "(?"
 * group forms. Control thread only.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "re_onig.h"

#define HEX_CLASS     "0-9a-fA-F"
/* Every byte but a hex digit, for \H inside a class. */
#define NON_HEX_CLASS "\\x00-\\x2f\\x3a-\\x40\\x47-\\x60\\x67-\\xff"

struct w {
	char *p;
	size_t n;
};

static void put(struct w *w, const char *s, size_t n)
{
	memcpy(w->p + w->n, s, n);
	w->n += n;
}

static void puts_(struct w *w, const char *s)
{
	put(w, s, strlen(s));
}

/* "_k" for group k. */
static void put_group(struct w *w, unsigned k)
{
	w->n += (size_t)sprintf(w->p + w->n, "_%u", k);
}

static int add_name(struct re_onig *o, const char *s, size_t n)
{
	char **nn = realloc(o->names, (o->nnames + 1) * sizeof(*nn));
	if (!nn)
		return -ENOMEM;
	o->names = nn;
	if (!(nn[o->nnames] = strndup(s, n)))
		return -ENOMEM;
	o->nnames++;
	return 0;
}

static int find_name(const struct re_onig *o, const char *s, size_t n)
{
	for (unsigned k = 0; k < o->nnames; k++)
		if (strlen(o->names[k]) == n && !memcmp(o->names[k], s, n))
			return (int)k;
	return -1;
}

/* At pat[i] == '(' and pat[i + 1] == '?': the length of the group's name
 * opener ("(?<", "(?'" or "(?P<") and its closing character, or 0 when this
 * is another kind of group ("(?<=", "(?<!", "(?:", ...). */
static size_t named_open(const char *pat, size_t i, size_t len, char *close)
{
	if (i + 3 < len && pat[i + 2] == '<' && pat[i + 3] != '=' && pat[i + 3] != '!') {
		*close = '>';
		return 3;
	}
	if (i + 2 < len && pat[i + 2] == '\'') {
		*close = '\'';
		return 3;
	}
	if (i + 4 < len && pat[i + 2] == 'P' && pat[i + 3] == '<') {
		*close = '>';
		return 4;
	}
	return 0;
}

int re_onig_translate(const char *pat, size_t len, struct re_onig *o, size_t *err_off)
{
	memset(o, 0, sizeof(*o));
	/* Worst growth: "\H" in a class becomes 36 bytes; a 1-byte name
	 * "_k" a few. */
	struct w w = { malloc(len * 20 + 64), 0 };
	if (!w.p)
		return -ENOMEM;
	bool cls = false;
	unsigned depth = 0;  /* classes nested in the open class */
	int rc = 0;
	for (size_t i = 0; i < len && !rc;) {
		char c = pat[i];
		if (c == '\\' && i + 1 < len) {
			char d = pat[i + 1];
			if (d == 'h' || d == 'H') {
				if (cls)
					puts_(&w, d == 'h' ? HEX_CLASS : NON_HEX_CLASS);
				else
					puts_(&w, d == 'h' ? "[" HEX_CLASS "]" : "[^" HEX_CLASS "]");
				i += 2;
				continue;
			}
			if (!cls && (d == 'k' || d == 'g') && i + 2 < len &&
			    (pat[i + 2] == '<' || pat[i + 2] == '\'')) {
				char close = pat[i + 2] == '<' ? '>' : '\'';
				const char *e = memchr(pat + i + 3, close, len - i - 3);
				int k = e ? find_name(o, pat + i + 3, (size_t)(e - pat - i - 3)) : -1;
				if (k >= 0) {
					put(&w, pat + i, 3);
					put_group(&w, (unsigned)k);
					put(&w, &close, 1);
					i = (size_t)(e - pat) + 1;
					continue;
				}
			}
			put(&w, pat + i, 2);
			i += 2;
			continue;
		}
		if (cls) {
			if (c == '[' && i + 1 < len && pat[i + 1] == ':') {
				/* "[:^?name:]", name letters only, within pat[0..len)
				 * (no NUL needed); anything else is a literal '[' for
				 * PCRE2 too, so the class's end is where PCRE2 sees it */
				size_t j = i + 2 + (i + 2 < len && pat[i + 2] == '^');
				while (j < len && ((pat[j] | 0x20) >= 'a' && (pat[j] | 0x20) <= 'z'))
					j++;
				size_t n = j + 1 < len && pat[j] == ':' && pat[j + 1] == ']' ? j + 2 - i : 1;
				put(&w, pat + i, n);
				i += n;
				continue;
			}
			/* Onigmo (Ruby syntax) reads a class inside a class as
			 * their union, [a-c[x-z]]; PCRE2 has no nesting and would
			 * end the class early, so the inner brackets go. A negated
			 * inner class [^...] has no such form and is left as
			 * written (PCRE2 then reads its '[' as a character). */
			if (c == '[' && !(i + 1 < len && pat[i + 1] == '^')) {
				depth++;
				i++;
				continue;
			}
			if (c == ']' && depth) {
				depth--;
				i++;
				continue;
			}
			if (c == ']')
				cls = false;
			put(&w, &c, 1);
			i++;
			continue;
		}
		if (c == '[') {
			/* "[]...]" and "[^]...]": that first ']' is literal. */
			size_t n = 1;
			if (i + n < len && pat[i + n] == '^')
				n++;
			if (i + n < len && pat[i + n] == ']')
				n++;
			put(&w, pat + i, n);
			i += n;
			cls = true;
			continue;
		}
		char close;
		size_t open;
		if (c == '(' && i + 1 < len && pat[i + 1] == '?' &&
		    (open = named_open(pat, i, len, &close)) != 0) {
			const char *name = pat + i + open;
			const char *e = memchr(name, close, len - i - open);
			if (!e || e == name) {
				*err_off = i;
				rc = -EINVAL;
				break;
			}
			put(&w, "(?<", 3);
			put_group(&w, o->nnames);
			put(&w, ">", 1);
			rc = add_name(o, name, (size_t)(e - name));
			i = (size_t)(e - pat) + 1;
			continue;
		}
		if (c == '(' && i + 1 < len && pat[i + 1] == '?') {
			/* (?imx-imx) or (?imx-imx:...): Ruby's m is dot-all. */
			size_t j = i + 2;
			while (j < len && strchr("imx-", pat[j]) && pat[j])
				j++;
			if (j > i + 2 && j < len && (pat[j] == ')' || pat[j] == ':')) {
				for (size_t q = i; q < j; q++)
					put(&w, pat[q] == 'm' && q > i + 1 ? "s" : pat + q, 1);
				i = j;
				continue;
			}
		}
		put(&w, &c, 1);
		i++;
	}
	if (rc) {
		free(w.p);
		re_onig_fini(o);
		return rc;
	}
	w.p[w.n] = '\0';
	o->pat = w.p;
	o->len = w.n;
	return 0;
}

void re_onig_fini(struct re_onig *o)
{
	for (unsigned k = 0; k < o->nnames; k++)
		free(o->names[k]);
	free(o->names);
	free(o->pat);
	memset(o, 0, sizeof(*o));
}

const char *re_onig_name(const struct re_onig *o, const char *pcre_name)
{
	if (pcre_name[0] != '_' || pcre_name[1] < '0' || pcre_name[1] > '9')
		return NULL;
	char *end;
	unsigned long k = strtoul(pcre_name + 1, &end, 10);
	return *end == '\0' && k < o->nnames ? o->names[k] : NULL;
}
