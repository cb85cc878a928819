/*
 * re_onig.h — Fluent Bit's regexes are Onigmo's, in Ruby syntax; sluice's
 * are PCRE2 and Hyperscan. The common syntax is the same, but not all of
 * it. re_onig_translate rewrites what differs, so that a pattern written
 * for Fluent Bit (its stock parsers.conf, a user's [PARSER], a grep Regex)
 * means here what it means there:
 *
 *   (?<name>...) (?'name'...)  named groups are renamed _0, _1, ... in
 *                          order: PCRE2 limits names to 32 code units and
 *                          to [A-Za-z0-9_], Onigmo to neither (Fluent
 *                          Bit's istio-envoy-proxy parser has a 38-byte
 *                          name). names[k] keeps the k-th original name,
 *                          for the record's keys. Two groups of one name
 *                          (Onigmo allows it) keep it both.
 *   \k<name> \g<name>      back-references and calls follow the renaming.
 *   \h \H                  Onigmo: a hex digit / not one; PCRE2: horizontal
 *                          space. Rewritten as classes, inside [...] too.
 *   [a-c[x-z]]             a class in a class is their union in Onigmo;
 *                          PCRE2 has no nesting: flattened to [a-cx-z].
 *   [a-z&&[^aeiou]] [a[^b]] intersection, and union with a negated class,
 *                          become one-character expressions with
 *                          lookaheads: (?:(?=[a-z])[^aeiou]), (?:[a]|[^b])
 *                          (re_onig.c explains why this is exact).
 *   \uHHHH                 a character (its UTF-8 bytes); in a class
 *                          \x{HHHH}, which past U+007F needs PCRE2_UTF
 *                          (`utf`).
 *   (?~abc)                Onigmo's absent operator, for a literal string:
 *                          (?:(?:(?!abc)[\s\S])*[\s\S]{0,2}), exact; for
 *                          anything else it has no PCRE2 form: refused.
 *   (?m) (?m: ...)         Ruby's m is PCRE2's s (dot matches newline);
 *                          Ruby has no multiline flag (^ $ always match at
 *                          lines, which is why every pattern is compiled
 *                          with PCRE2_MULTILINE).
 *
 * Everything else is copied byte for byte. A pattern with none of these is
 * returned unchanged (same bytes). Control thread only (it allocates).
 */
#ifndef RE_ONIG_H
#define RE_ONIG_H

#include <stdbool.h>
#include <stddef.h>

struct re_onig {
	char *pat;        /* the PCRE2 pattern, NUL-terminated */
	size_t len;
	char **names;     /* original name of group _k, k < nnames */
	unsigned nnames;
	bool utf;         /* compile with PCRE2_UTF: a \uHHHH past U+007F in
			     a class (in byte mode it would be a byte) */
	const char *err;  /* after -EINVAL: what is wrong (a static string) */
};

/* Why a pattern with `utf` set is refused where matching is by bytes
 * (re_set, multiline rules). */
#define RE_ONIG_UTF_CLASS_MSG "\\uHHHH past U+007F in a character class needs UTF-8 " \
	"matching, and these regexes match bytes: write it outside the class, as an alternative"

/* 0, or -ENOMEM; -EINVAL for a pattern Onigmo refuses or that PCRE2
 * cannot express exactly (an unterminated group name or class, an empty
 * side of &&, \u without four hex digits, (?~...) of other than a literal
 * string): out->err then says which, and *err_off where it starts. */
int re_onig_translate(const char *pat, size_t len, struct re_onig *out, size_t *err_off);
void re_onig_fini(struct re_onig *o);

/* The original name of a renamed group ("_12" -> names[12]), or NULL when
 * `pcre_name` is not one of ours. */
const char *re_onig_name(const struct re_onig *o, const char *pcre_name);

#endif
