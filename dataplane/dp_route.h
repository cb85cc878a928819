/*
 * dp_route.h — tag matching for routing: an output's (or filter's) `Match`
 * wildcard or `Match_Regex` against an input's tag, with Fluent Bit's
 * semantics so that an existing fluent-bit.conf routes the same way.
 *
 * Routing is decided once per tag at start-up (the result is a bitmap of
 * outputs per input), so nothing here is on the per-event path. Still,
 * dp_match_tag allocates only on a thread's first regex match (its match
 * data, kept for the thread's life).
 *
 * Threads: dp_match_init/fini on the control thread. dp_match_tag from any
 * thread, several at once (each thread matches with match data of its own);
 * dp_tag_wildcard_match is pure and safe anywhere.
 *
 * Match (wildcard), as Fluent Bit's router_match (src/flb_router.c):
 *   - '*' matches any sequence of bytes, including the empty one and
 *     including dots; several '*' may appear anywhere ("a*b*c").
 *   - every other byte matches itself, case-sensitively; '.' is literal,
 *     there is no '?', no character class and no escape.
 *   - the whole tag must be matched: "app" does not match "app.x";
 *     "*" matches every tag, the empty one too.
 *
 * Match_Regex, as Fluent Bit (onig_match() at offset 0 in router_match,
 * pattern compiled by flb_regex_create()):
 *   - the regex is anchored at the START of the tag but not at its end: it
 *     must match a prefix of the tag. "app" matches "app.x" and "apple" but
 *     not "my.app"; add '$' (or \z) to require the whole tag.
 *   - the match must be non-empty: Fluent Bit tests onig_match() > 0, so
 *     ".*" does not match the empty tag and "x*" does not match "abc".
 *   - "/re/" is the same as "re", and "/re/flags" with flags from 'i'
 *     (caseless), 'm' (dot matches newline, Ruby's meaning), 'x'
 *     (extended) and 'o' (ignored) applies them, as flb_regex_create does.
 *   - syntax is PCRE2 (UTF-8 mode) where Fluent Bit uses Onigmo's Ruby
 *     syntax; they agree on everything a tag pattern normally uses
 *     (classes, groups, alternation, quantifiers, \d \w \s, \A \z, named
 *     groups). Tags hold no newlines, so Ruby's line-based '^'/'$' make no
 *     difference. A tag that is not valid UTF-8 is not an error: its
 *     invalid bytes just never match anything ('.' included).
 *   - Fluent Bit lets an output set both Match and Match_Regex and routes
 *     when either matches; a struct dp_match holds one of them, so a caller
 *     wanting that keeps two and ORs them.
 */
#ifndef DP_ROUTE_H
#define DP_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include "dp_common.h"

struct dp_match {
	char *wildcard; /* Match, NUL-terminated copy; NULL for a regex */
	void *re;       /* Match_Regex: pcre2_code (8-bit); NULL otherwise */
};

/*
 * Exactly one of wildcard and regex is non-NULL. Returns 0, -EINVAL (both
 * or neither given, or a regex that does not compile: err->msg holds
 * PCRE2's message and the offset in the pattern) or -ENOMEM.
 * On failure *m is left empty, and dp_match_fini on it is harmless.
 */
int dp_match_init(struct dp_match *m, const char *wildcard, const char *regex,
		  struct dp_err *err);

/* Does tag[0..len) match? tag need not be NUL-terminated. */
bool dp_match_tag(const struct dp_match *m, const char *tag, size_t len);

/* Frees what init allocated; safe on a zeroed or already finished match. */
void dp_match_fini(struct dp_match *m);

/* Fluent Bit's Match wildcard on its own (semantics above). pattern is
 * NUL-terminated, tag is tag[0..len). */
bool dp_tag_wildcard_match(const char *pattern, const char *tag, size_t len);

#endif
