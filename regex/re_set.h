/*
 * re_set.h — a set of regular expressions asked one question at a time:
 * which of them match this string? All patterns Hyperscan accepts are
 * compiled into ONE block-mode database, so one pass over the subject
 * answers for all of them; the few Hyperscan cannot compile (back
 * references, lookaround, conditionals, ...) fall back to PCRE2 (JIT), one
 * by one, with a warning at start-up naming each.
 *
 * Semantics follow PCRE2 with default options (which is what the fallback
 * uses, so both engines agree):
 *   - bytes, not UTF-8: '.' is one byte, caseless is ASCII-only. Log lines
 *     carry invalid UTF-8 often enough that Hyperscan's UTF-8 mode (whose
 *     behaviour on invalid input is undefined) is not an option;
 *   - '.' does not match '\n' unless RE_DOTALL; '^'/'$' are the start and
 *     end of the subject ('$' also before a final '\n') unless RE_MULTILINE;
 *   - a pattern that can match the empty string (".*", "x?") matches every
 *     subject, the empty one included (HS_FLAG_ALLOWEMPTY);
 *   - a match is reported once per pattern (HS_FLAG_SINGLEMATCH): the set
 *     only tells which patterns matched, never where. Captures are asked
 *     separately (re_set_capture), through PCRE2.
 * Fluent Bit's grep uses Onigmo (Ruby syntax), where '^' and '$' are
 * always line anchors; on one-line log messages both agree.
 *
 * Threads: create/destroy on the control thread; a set is then read-only
 * and shared; each shard matches with its own scratch.
 */
#ifndef RE_SET_H
#define RE_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dp_common.h"

/* Per-pattern flags. */
#define RE_CASELESS  0x1   /* (?i) */
#define RE_DOTALL    0x2   /* (?s): '.' matches '\n' */
#define RE_MULTILINE 0x4   /* (?m): '^' and '$' at line boundaries */
#define RE_EXTENDED  0x8   /* (?x): whitespace and # comments ignored */

/* Set flags (the `flags` argument of re_set_create_ex). */
#define RE_SET_PCRE_ONLY 0x1  /* no Hyperscan: every pattern through PCRE2
                                 (benchmarks, comparisons) */
#define RE_SET_CAPTURES  0x2  /* also compile every pattern with PCRE2 so
                                 re_set_capture works for all of them */

struct re_set;
struct re_scratch;

/* Compile n patterns (NUL-terminated). flags may be NULL (all 0). what
 * names the set in messages ("grep.0"). NULL on error with err->msg naming
 * the pattern that neither engine accepts, e.g.
 * "grep.0: invalid regex 'a(b': missing closing parenthesis at 3". */
struct re_set *re_set_create(const char *const *patterns, const unsigned *flags, unsigned n,
			     const char *what, struct dp_err *err);
struct re_set *re_set_create_ex(const char *const *patterns, const unsigned *flags, unsigned n,
				const char *what, unsigned set_flags, struct dp_err *err);
void re_set_destroy(struct re_set *s);

unsigned re_set_count(const struct re_set *s);
/* How many patterns went to PCRE2, and is pattern i one of them. */
unsigned re_set_fallbacks(const struct re_set *s);
bool re_set_is_fallback(const struct re_set *s, unsigned i);

/* Per shard: Hyperscan scratch and PCRE2 match data, so matching never
 * allocates. NULL on allocation failure. */
struct re_scratch *re_scratch_create(const struct re_set *s);
void re_scratch_destroy(struct re_scratch *sc);
/* Make sc serve s too (one scratch for several sets, as for the rule lists
 * of a multiline stream). Control thread / set-up only. 0 or -ENOMEM. */
int re_scratch_grow(struct re_scratch *sc, const struct re_set *s);

/* Set bit i of bits (sized (n + 63) / 64 words, cleared here) for each
 * pattern i that matches p[0..len); returns how many matched. */
unsigned re_set_match(const struct re_set *s, struct re_scratch *sc, const char *p, size_t len,
		      uint64_t *bits);
/* Does any pattern match? Stops at the first match. */
bool re_set_any(const struct re_set *s, struct re_scratch *sc, const char *p, size_t len);
/* Index of the lowest-numbered pattern that matches, or -1. */
int re_set_first(const struct re_set *s, struct re_scratch *sc, const char *p, size_t len);

/* Captures of pattern i (needs RE_SET_CAPTURES, or i a fallback):
 * ov[2k], ov[2k+1] are the offsets of group k (k = 0 the whole match;
 * both SIZE_MAX for an unset group), for k < nov. Returns the number of
 * pairs set (at most nov), 0 when the pattern does not match, -1 when the
 * set has no PCRE2 code for i. */
int re_set_capture(const struct re_set *s, struct re_scratch *sc, unsigned i, const char *p,
		   size_t len, size_t *ov, unsigned nov);

/* Fluent Bit writes regexes bare ("^aa") or between slashes with Ruby
 * options ("/^aa/i", "/x.y/m"). Copy the pattern part of s into buf and
 * add its options to *flags (i: RE_CASELESS, m: RE_DOTALL as in Ruby,
 * x: RE_EXTENDED). 0, or -ENAMETOOLONG. */
int re_pattern_from_fb(const char *s, char *buf, size_t bufsz, unsigned *flags);

#endif
