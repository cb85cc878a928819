/*
 * re_onig.c — Onigmo (Ruby syntax) patterns rewritten for PCRE2 and
 * Hyperscan (re_onig.h says what and why). One pass, left to right,
 * knowing only what it must: escapes, character classes (read as Onigmo
 * reads them, nested classes and && included, then written out for
 * PCRE2, which has neither), and the "(?" group forms. Control thread
 * only.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "re_onig.h"

#define HEX_CLASS     "0-9a-fA-F"
/* Every byte but a hex digit, for \H inside a class. */
#define NON_HEX_CLASS "\\x00-\\x2f\\x3a-\\x40\\x47-\\x60\\x67-\\xff"
/* Exactly one character (one byte in byte mode), newline included: what
 * a class matches, and Onigmo's \O. */
#define ANY_CHAR      "[\\s\\S]"
/* Deeper nesting of classes is refused (the writer recurses). */
#define CLASS_DEPTH_MAX 32
/* Onigmo's own limit for "[:" ... ":]" to be read as a POSIX bracket
 * (POSIX_BRACKET_CHECK_LIMIT_LENGTH in regparse.c). */
#define POSIX_SCAN_MAX 20

/* The output grows as needed: a class rewritten with lookaheads is longer
 * than its input by a bound that is easy to get wrong. */
struct w {
	char *p;
	size_t n, cap;
	bool oom;
};

static void put(struct w *w, const char *s, size_t n)
{
	if (w->oom)
		return;
	if (w->n + n + 1 > w->cap) {
		size_t cap = (w->n + n + 1) * 2;
		char *p = realloc(w->p, cap);
		if (!p) {
			w->oom = true;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
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
	char b[16];
	put(w, b, (size_t)snprintf(b, sizeof(b), "_%u", k));
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

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Onigmo's \uHHHH at pat[i]: exactly four hex digits (regparse.c scans
 * 4..4 and fails on fewer). The code point, or -1 with o->err set. */
static long uni_read(const char *pat, size_t i, size_t len, struct re_onig *o)
{
	long cp = 0;
	for (size_t k = 0; k < 4; k++) {
		int v = i + 2 + k < len ? hexval(pat[i + 2 + k]) : -1;
		if (v < 0) {
			o->err = "\\u needs four hex digits (Onigmo's \\uHHHH)";
			return -1;
		}
		cp = cp * 16 + v;
	}
	if (cp >= 0xd800 && cp <= 0xdfff) {
		o->err = "\\uD800 to \\uDFFF are UTF-16 surrogates, not characters";
		return -1;
	}
	return cp;
}

/* \uHHHH inside a class: one character. PCRE2's \x{...} is a character
 * only in UTF mode (in byte mode it is a byte, or an error above \xff):
 * past ASCII the pattern then needs PCRE2_UTF, which o->utf tells. */
static void uni_put_class(struct w *w, long cp, struct re_onig *o)
{
	char b[16];
	put(w, b, (size_t)snprintf(b, sizeof(b), "\\x{%lx}", cp));
	if (cp >= 0x80)
		o->utf = true;
}

/* \uHHHH outside a class: Onigmo (Fluent Bit compiles for UTF-8) matches
 * the character's UTF-8 bytes. Written as those bytes, which PCRE2 reads
 * as that character in UTF mode and as that byte sequence in byte mode:
 * the same match either way. The group keeps a quantifier after it on the
 * whole character; -x keeps extended mode from taking a continuation byte
 * (0x85, 0xa0) for white space in byte mode. */
static void uni_put(struct w *w, long cp)
{
	if (cp < 0x80) {
		char b[8];
		put(w, b, (size_t)snprintf(b, sizeof(b), "\\x{%lx}", cp));
		return;
	}
	unsigned char u[4];
	size_t n;
	if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else {
		u[0] = (unsigned char)(0xe0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	}
	puts_(w, "(?-x:");
	put(w, (const char *)u, n);
	puts_(w, ")");
}

/*
 * Character classes. Onigmo (Ruby syntax, doc/RE section 6) reads
 *     [a-w&&[^c-g]z]  as  [a-w] AND ([^c-g] OR z)
 * a '[' in a class opens a nested class (their union), "&&" intersects
 * (lower precedence than union, higher than the leading '^', which
 * negates the whole), and "[:name:]" is a POSIX bracket. PCRE2 has none
 * of the nesting: a '[' there is a character, "&&" two of them. A class
 * is therefore read as Onigmo reads it and written out as:
 *   - itself, when it has no nested class and no "&&" (the same bytes:
 *     most classes);
 *   - one flat PCRE2 class, when nesting is only union (no "&&", no
 *     negated class inside): [a-c[x-z]] -> [a-cx-z], [^a[bc]] -> [^abc];
 *   - otherwise an expression that matches one character the way the
 *     class does: union as alternation, intersection as lookaheads at the
 *     same character, negation as a negative lookahead before one
 *     character:
 *       [a-z&&[^aeiou]]  ->  (?:(?=[a-z])[^aeiou])
 *       [a[^bc]]         ->  (?:[a]|[^bc])
 *       [^a[^bc]]        ->  (?:(?!(?:[a]|[^bc]))[\s\S])
 *     Each side matches exactly one character at the same place, so this
 *     is exact, in byte mode (one byte, as every class there) and in UTF
 *     mode. Hyperscan has no lookaround: such a pattern goes to PCRE2
 *     (re_set.h).
 * Characters that PCRE2 would read specially once brought together from
 * several places ('-' between what were two classes, a ']' or '^' that
 * opened a nested class) are escaped when a class is rewritten.
 */
enum ctok_kind {
	CT_EOF,    /* the pattern ended inside the class */
	CT_CLOSE,  /* ] */
	CT_AND,    /* && */
	CT_OPEN,   /* [ or [^ of a nested class */
	CT_POSIX,  /* [:name:] or [:^name:] */
	CT_HEX,    /* \h \H */
	CT_UNI,    /* \uHHHH */
	CT_ESC,    /* any other \x */
	CT_CHAR,   /* one byte, itself ('[' when not a POSIX bracket) */
	CT_ERR,    /* o->err says why */
};

struct ctok {
	enum ctok_kind k;
	size_t n;   /* bytes of the pattern */
	bool neg;   /* CT_OPEN: [^ */
	long cp;    /* CT_UNI */
};

/* Does "s" (two bytes) come before an unescaped ']' from pat[j]? Onigmo's
 * str_exist_check_with_esc, which decides whether "[:" is a POSIX
 * bracket or a nested class. */
static bool exists_before_close(const char *pat, size_t j, size_t len, const char *s)
{
	for (; j < len; j++) {
		if (pat[j] == '\\') {
			j++;
			continue;
		}
		if (pat[j] == s[0] && j + 1 < len && pat[j + 1] == s[1])
			return true;
		if (pat[j] == ']')
			return false;
	}
	return false;
}

/* The token at pat[j], inside a class; `first` when it is the first of its
 * class (a ']' there is a character, as "[]a]" in both engines). */
static struct ctok ctok_read(const char *pat, size_t j, size_t len, bool first,
			     struct re_onig *o)
{
	struct ctok t = { CT_CHAR, 1, false, 0 };
	if (j >= len)
		return (struct ctok){ CT_EOF, 0, false, 0 };
	char c = pat[j];
	if (c == '\\') {
		if (j + 1 >= len)
			return (struct ctok){ CT_EOF, 0, false, 0 };
		char d = pat[j + 1];
		t.n = 2;
		t.k = d == 'h' || d == 'H' ? CT_HEX : CT_ESC;
		if ((d == 'p' || d == 'P' || d == 'x') && j + 2 < len && pat[j + 2] == '{') {
			/* \p{^Alpha}, \x{7f}: one item, braces and all (a '^'
			 * in them is no class's) */
			const char *e = memchr(pat + j + 2, '}', len - j - 2);
			if (e)
				t.n = (size_t)(e - pat) + 1 - j;
		}
		if (d == 'u') {
			if ((t.cp = uni_read(pat, j, len, o)) < 0)
				t.k = CT_ERR;
			else
				t.k = CT_UNI, t.n = 6;
		}
		return t;
	}
	if (c == ']' && !first)
		t.k = CT_CLOSE;
	else if (c == '&' && j + 1 < len && pat[j + 1] == '&')
		t.k = CT_AND, t.n = 2;
	else if (c == '[' && j + 1 < len && pat[j + 1] == ':' &&
		 exists_before_close(pat, j + 2, len, ":]")) {
		/* regparse.c parse_posix_bracket: letters then ":]" is a
		 * bracket (PCRE2 knows Onigmo's names and refuses others,
		 * as Onigmo does); otherwise an error when the first ':'
		 * or ']' within 20 bytes is ":]", else a literal '['. */
		size_t q = j + 2 + (j + 2 < len && pat[j + 2] == '^');
		size_t e = q;
		while (e < len && ((pat[e] | 0x20) >= 'a' && (pat[e] | 0x20) <= 'z'))
			e++;
		if (e > q && e + 1 < len && pat[e] == ':' && pat[e + 1] == ']') {
			t.k = CT_POSIX;
			t.n = e + 2 - j;
			return t;
		}
		for (e = q; e < len && e - q <= POSIX_SCAN_MAX && pat[e] != ':' && pat[e] != ']'; e++)
			;
		if (e + 1 < len && e - q <= POSIX_SCAN_MAX && pat[e] == ':' && pat[e + 1] == ']') {
			o->err = "invalid POSIX bracket type in a class";
			t.k = CT_ERR;
		}
	} else if (c == '[') {
		t.k = CT_OPEN;
		t.neg = j + 1 < len && pat[j + 1] == '^';
		t.n = 1 + t.neg;
	}
	return t;
}

static bool ctok_is_atom(enum ctok_kind k)
{
	return k == CT_CHAR || k == CT_ESC || k == CT_UNI;
}

/* What a class holds, from its '[' on. */
struct cscan {
	size_t body;      /* first byte after "[" or "[^" */
	size_t end;       /* first byte after its ']' */
	bool neg;
	bool and_;        /* "&&" in this class or any nested in it */
	bool neg_inside;  /* a negated class nested in it, at any depth */
	bool nested;      /* any nested class */
	bool lbracket;    /* a literal '[' (a "[:" that is not a bracket) */
};

/* Read the class at pat[at] == '['. 0, or -EINVAL with o->err and
 * *err_off set: not terminated, an empty side of "&&", too deep, a bad
 * escape or POSIX bracket. */
static int cls_scan(const char *pat, size_t len, size_t at, unsigned depth, struct cscan *sc,
		    struct re_onig *o, size_t *err_off)
{
	memset(sc, 0, sizeof(*sc));
	if (depth >= CLASS_DEPTH_MAX) {
		o->err = "character classes nested too deep";
		*err_off = at;
		return -EINVAL;
	}
	sc->neg = at + 1 < len && pat[at + 1] == '^';
	sc->body = at + 1 + sc->neg;
	size_t j = sc->body;
	unsigned in_operand = 0;  /* items since the last "&&" */
	for (;;) {
		struct ctok t = ctok_read(pat, j, len, j == sc->body, o);
		switch (t.k) {
		case CT_EOF:
			o->err = "character class not terminated (premature end of char-class)";
			*err_off = at;
			return -EINVAL;
		case CT_ERR:
			*err_off = j;
			return -EINVAL;
		case CT_CLOSE:
		case CT_AND:
			if (!in_operand && (t.k == CT_AND || sc->and_)) {
				o->err = "an empty side of && in a character class";
				*err_off = j;
				return -EINVAL;
			}
			if (t.k == CT_CLOSE) {
				sc->end = j + 1;
				return 0;
			}
			sc->and_ = true;
			in_operand = 0;
			j += t.n;
			continue;
		case CT_OPEN: {
			struct cscan in;
			int rc = cls_scan(pat, len, j, depth + 1, &in, o, err_off);
			if (rc)
				return rc;
			sc->nested = true;
			sc->and_ |= in.and_;
			sc->neg_inside |= in.neg || in.neg_inside;
			sc->lbracket |= in.lbracket;
			in_operand++;
			j = in.end;
			continue;
		}
		case CT_CHAR:
			sc->lbracket |= pat[j] == '[';
			break;
		default:
			break;
		}
		in_operand++;
		j += t.n;
	}
}

/* A class only flattens when nesting is union alone. */
static bool cls_is_flat(const struct cscan *sc)
{
	return !sc->and_ && !sc->neg_inside;
}

/* One item of a class as PCRE2 reads it in a class it did not open
 * itself: characters it would read specially are escaped. `range` says a
 * '-' stands between two characters (a range) rather than for itself. */
static void item_put(struct w *w, const char *pat, size_t j, const struct ctok *t, bool range,
		     struct re_onig *o)
{
	switch (t->k) {
	case CT_HEX:
		puts_(w, pat[j + 1] == 'h' ? HEX_CLASS : NON_HEX_CLASS);
		return;
	case CT_UNI:
		uni_put_class(w, t->cp, o);
		return;
	case CT_CHAR:
		if ((pat[j] && strchr("]^[:.=", pat[j])) || (pat[j] == '-' && !range)) {
			/* ':' '.' '=' first in a class would make PCRE2 look
			 * for a POSIX bracket ([:x:] at the top level is an
			 * error); escaped punctuation is always itself */
			char e[2] = { '\\', pat[j] };
			put(w, e, 2);
			return;
		}
		break;
	default:
		break;
	}
	put(w, pat + j, t->n);
}

/* The items of a class body [from, the ']' or "&&" that ends it) into the
 * current PCRE2 class, positive nested classes that flatten flattened into
 * it; other nested classes are left out (union_put writes them as
 * alternatives; a class that flattens holds none). `body`: from is where
 * the class opened (a ']' there is a character). How many items were
 * written; *stop is the ']' or "&&". */
static unsigned items_put(struct w *w, const char *pat, size_t len, size_t from, bool body,
			  struct re_onig *o, size_t *stop)
{
	unsigned n = 0;
	bool prev_atom = false;
	size_t j = from;
	for (;;) {
		struct ctok t = ctok_read(pat, j, len, body && j == from, o);
		if (t.k == CT_CLOSE || t.k == CT_AND || t.k == CT_EOF || t.k == CT_ERR) {
			*stop = j;
			return n;
		}
		if (t.k == CT_OPEN) {
			struct cscan in;
			size_t eo, s;
			cls_scan(pat, len, j, 0, &in, o, &eo);  /* read before: no error */
			if (!in.neg && cls_is_flat(&in))
				n += items_put(w, pat, len, in.body, true, o, &s);
			prev_atom = false;
			j = in.end;
			continue;
		}
		bool range = false;
		if (t.k == CT_CHAR && pat[j] == '-' && prev_atom) {
			struct ctok nx = ctok_read(pat, j + 1, len, false, o);
			range = ctok_is_atom(nx.k);
		}
		item_put(w, pat, j, &t, range, o);
		n++;
		prev_atom = ctok_is_atom(t.k) && !(t.k == CT_CHAR && pat[j] == '-' && !range);
		j += t.n;
	}
}

static void cls_put(struct w *w, const char *pat, size_t len, size_t at, unsigned depth,
		    struct re_onig *o);

/* Nested classes of one side that do not flatten (written as
 * alternatives), from `from` to its end. */
static unsigned alts_count(const char *pat, size_t len, size_t from, bool body, struct re_onig *o)
{
	unsigned n = 0;
	for (size_t j = from;;) {
		struct ctok t = ctok_read(pat, j, len, body && j == from, o);
		if (t.k == CT_CLOSE || t.k == CT_AND || t.k == CT_EOF || t.k == CT_ERR)
			return n;
		if (t.k != CT_OPEN) {
			j += t.n;
			continue;
		}
		struct cscan in;
		size_t eo;
		cls_scan(pat, len, j, 0, &in, o, &eo);
		n += in.neg || !cls_is_flat(&in);
		j = in.end;
	}
}

/* One side of "&&": its items (and nested classes that flatten) as one
 * PCRE2 class, other nested classes as alternatives beside it. Where the
 * side ends (its "&&" or ']'). */
static size_t union_put(struct w *w, const char *pat, size_t len, size_t from, bool body,
			unsigned depth, struct re_onig *o)
{
	unsigned alts = alts_count(pat, len, from, body, o);
	size_t open = w->n, stop;
	if (alts)
		puts_(w, "(?:");
	size_t mark = w->n;
	puts_(w, "[");
	unsigned n = items_put(w, pat, len, from, body, o, &stop);
	puts_(w, "]");
	if (!n)
		w->n = mark;  /* only nested classes on this side */
	bool sep = n > 0;
	for (size_t j = from; j < stop;) {
		struct ctok t = ctok_read(pat, j, len, body && j == from, o);
		if (t.k != CT_OPEN) {
			j += t.n;
			continue;
		}
		struct cscan in;
		size_t eo;
		cls_scan(pat, len, j, 0, &in, o, &eo);
		if (in.neg || !cls_is_flat(&in)) {
			if (sep)
				puts_(w, "|");
			cls_put(w, pat, len, j, depth + 1, o);
			sep = true;
		}
		j = in.end;
	}
	if (alts == 1 && !n && !w->oom) {
		/* a side that is one nested class needs no group of its own */
		memmove(w->p + open, w->p + open + 3, w->n - open - 3);
		w->n -= 3;
	} else if (alts == 1 && !n) {
		return stop;  /* out of memory: the result is dropped */
	} else if (alts) {
		puts_(w, ")");
	}
	return stop;
}

/* The class at pat[at] as an expression that matches one character as
 * Onigmo's class does. The class was read by cls_scan without error. */
static void cls_put(struct w *w, const char *pat, size_t len, size_t at, unsigned depth,
		    struct re_onig *o)
{
	struct cscan sc;
	size_t eo, stop;
	cls_scan(pat, len, at, depth, &sc, o, &eo);
	if (cls_is_flat(&sc)) {
		puts_(w, sc.neg ? "[^" : "[");
		items_put(w, pat, len, sc.body, true, o, &stop);
		puts_(w, "]");
		return;
	}
	/* the sides of "&&" at this level */
	size_t j = sc.body;
	unsigned sides = 1;
	for (;;) {
		struct ctok t = ctok_read(pat, j, len, j == sc.body, o);
		if (t.k == CT_CLOSE)
			break;
		if (t.k == CT_OPEN) {
			struct cscan in;
			cls_scan(pat, len, j, 0, &in, o, &eo);
			j = in.end;
			continue;
		}
		sides += t.k == CT_AND;
		j += t.n;
	}
	if (sc.neg)
		puts_(w, "(?:(?!");
	else if (sides > 1)
		puts_(w, "(?:");
	j = sc.body;
	for (unsigned s = 0; s < sides; s++) {
		if (s + 1 < sides)
			puts_(w, "(?=");
		j = union_put(w, pat, len, j, s == 0, depth, o);
		if (s + 1 < sides) {
			puts_(w, ")");
			j += 2;  /* the "&&" */
		}
	}
	if (sc.neg)
		puts_(w, ")" ANY_CHAR ")");
	else if (sides > 1)
		puts_(w, ")");
}

/* A class at the top level: its own bytes when it has no nesting and no
 * "&&" (only \h \H \uHHHH rewritten), else cls_put. The index after it,
 * or 0 with o->err set. */
static size_t cls_top(struct w *w, const char *pat, size_t len, size_t at, struct re_onig *o,
		      size_t *err_off, int *rc)
{
	struct cscan sc;
	if ((*rc = cls_scan(pat, len, at, 0, &sc, o, err_off)))
		return 0;
	if (sc.nested || sc.and_ || sc.lbracket) {
		cls_put(w, pat, len, at, 0, o);
		return sc.end;
	}
	put(w, pat + at, sc.body - at);
	for (size_t j = sc.body; j < sc.end;) {
		struct ctok t = ctok_read(pat, j, len, j == sc.body, o);
		if (t.k == CT_HEX || t.k == CT_UNI)
			item_put(w, pat, j, &t, false, o);
		else
			put(w, pat + j, t.n);
		j += t.n;
	}
	return sc.end;
}

/*
 * Onigmo's absent operator (?~X) (doc/RE section 7): the longest string
 * (like .*, newline included, then shorter ones) that has no substring
 * matching X; "(?~) never matches". PCRE2 has no such operator, and the
 * usual stand-in (?:(?!X).)* is not the same: it stops before X starts
 * even where X would run past the end of the match ("(?~abc)c" matches
 * "abc", doc/RE; "(?:(?!abc).)*c" does not).
 *
 * For X a literal string of n characters the complement is exact as
 *     (?:(?:(?!X)[\s\S])*[\s\S]{0,n-1})
 * A string has no X inside exactly when every position at least n before
 * its end does not start X: the first part is the positions where X does
 * not start at all, the second the last n-1 characters, which cannot hold
 * a whole X. Greedy on both parts, the lengths are tried longest first,
 * as Onigmo tries them. For X that is not a literal (classes,
 * alternatives, quantifiers: their matches have no one length) no PCRE2
 * form is exact, and the pattern is refused. Literal here: ASCII
 * characters that are not metacharacters, escaped punctuation, \t \n \r,
 * \xHH below 0x80; a space must be written "\ " (under (?x) Onigmo drops
 * it and the length would differ). Case-insensitive (?i) is ASCII case,
 * the same in both.
 */
static size_t absent_put(struct w *w, const char *pat, size_t len, size_t i, struct re_onig *o,
			 size_t *err_off, int *rc)
{
	size_t j = i + 3, n = 0;
	for (; j < len && pat[j] != ')'; n++) {
		unsigned char c = (unsigned char)pat[j];
		if (c == '\\' && j + 1 < len) {
			unsigned char d = (unsigned char)pat[j + 1];
			if (d == 'x' && j + 3 < len && hexval(pat[j + 2]) >= 0 &&
			    hexval(pat[j + 2]) < 8 && hexval(pat[j + 3]) >= 0) {
				j += 4;
				continue;
			}
			if (d && d < 0x80 && (strchr("tnr", d) || (!(d >= '0' && d <= '9') &&
			     !((d | 0x20) >= 'a' && (d | 0x20) <= 'z') && d > ' '))) {
				j += 2;
				continue;
			}
			if (d == ' ') {
				j += 2;
				continue;
			}
		} else if (c > ' ' && c < 0x7f && c != '#' && !strchr("\\^$.|?*+()[]{}", c)) {
			j++;
			continue;
		}
		o->err = "absent operator (?~...) of anything but a literal string (no exact PCRE2 "
			 "form; a space is written '\\ ')";
		*err_off = i;
		*rc = -EINVAL;
		return 0;
	}
	if (j >= len) {
		o->err = "absent operator (?~... not closed";
		*err_off = i;
		*rc = -EINVAL;
		return 0;
	}
	if (n == 0) {
		puts_(w, "(?!)");
		return j + 1;
	}
	puts_(w, "(?:(?:(?!");
	put(w, pat + i + 3, j - i - 3);
	puts_(w, ")" ANY_CHAR ")*");
	if (n > 1) {
		char b[24];
		puts_(w, ANY_CHAR);
		put(w, b, (size_t)snprintf(b, sizeof(b), "{0,%zu}", n - 1));
	}
	puts_(w, ")");
	return j + 1;
}

int re_onig_translate(const char *pat, size_t len, struct re_onig *o, size_t *err_off)
{
	memset(o, 0, sizeof(*o));
	struct w w = { malloc(len + 64), 0, len + 64, false };
	if (!w.p)
		return -ENOMEM;
	int rc = 0;
	const char *why = NULL;
	for (size_t i = 0; i < len && !rc && !w.oom;) {
		char c = pat[i];
		if (c == '\\' && i + 1 < len) {
			char d = pat[i + 1];
			if (d == 'h' || d == 'H') {
				puts_(&w, d == 'h' ? "[" HEX_CLASS "]" : "[^" HEX_CLASS "]");
				i += 2;
				continue;
			}
			if (d == 'u') {
				long cp = uni_read(pat, i, len, o);
				if (cp < 0) {
					*err_off = i;
					rc = -EINVAL;
					break;
				}
				uni_put(&w, cp);
				i += 6;
				continue;
			}
			if ((d == 'k' || d == 'g') && i + 2 < len &&
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
		if (c == '[') {
			size_t e = cls_top(&w, pat, len, i, o, err_off, &rc);
			if (!rc)
				i = e;
			continue;
		}
		if (c == '(' && i + 2 < len && pat[i + 1] == '?' && pat[i + 2] == '#') {
			/* a comment, to its first ')' as PCRE2 ends it: a '['
			 * in it opens no class */
			const char *e = memchr(pat + i, ')', len - i);
			size_t n = e ? (size_t)(e - pat) + 1 - i : len - i;
			put(&w, pat + i, n);
			i += n;
			continue;
		}
		if (c == '(' && i + 2 < len && pat[i + 1] == '?' && pat[i + 2] == '~') {
			size_t e = absent_put(&w, pat, len, i, o, err_off, &rc);
			if (!rc)
				i = e;
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
				o->err = "unterminated group name";
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
	if (!rc && w.oom)
		rc = -ENOMEM;
	if (rc) {
		why = rc == -EINVAL ? o->err : NULL;
		free(w.p);
		re_onig_fini(o);
		o->err = why;
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
