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
 *                          (A negated inner class and && intersection have
 *                          no PCRE2 form and stay as written.)
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

#include <stddef.h>

struct re_onig {
	char *pat;        /* the PCRE2 pattern, NUL-terminated */
	size_t len;
	char **names;     /* original name of group _k, k < nnames */
	unsigned nnames;
};

/* 0, or -ENOMEM; -EINVAL for an unterminated group name (err_off then
 * says where it starts). */
int re_onig_translate(const char *pat, size_t len, struct re_onig *out, size_t *err_off);
void re_onig_fini(struct re_onig *o);

/* The original name of a renamed group ("_12" -> names[12]), or NULL when
 * `pcre_name` is not one of ours. */
const char *re_onig_name(const struct re_onig *o, const char *pcre_name);

#endif
