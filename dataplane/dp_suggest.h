/*
 * dp_suggest.h — "did you mean ...?" for configuration errors: the valid
 * name nearest to a misspelt key, plugin, section or value. Control thread
 * only (no state; callers pass the candidates).
 *
 * Two names are compared twice: as written (case-insensitive Levenshtein)
 * and folded (lower case, with '_', '.', '-' and ' ' dropped), so
 * "MessageKey" finds "Message_Key" at distance 0 folded; a swap of two
 * neighbours ("kafak") counts as one edit. A candidate is
 * near when its folded distance is 0, or its distance (the smaller of the
 * two) is at most 2 and at most a third of the longer name's length: "ab"
 * does not suggest "xy", "Brokerz" suggests "Brokers".
 */
#ifndef DP_SUGGEST_H
#define DP_SUGGEST_H

#include <stddef.h>

/* Collects the best candidate seen so far for one misspelt name. */
struct dp_suggest {
	const char *name;   /* what the user wrote */
	const char *best;   /* nearest candidate so far, or NULL */
	unsigned dist;
};

void dp_suggest_init(struct dp_suggest *s, const char *name);
/* Offer one valid name; it is kept when nearer than the best so far (ties:
 * the first offered wins). cand must outlive s. */
void dp_suggest_add(struct dp_suggest *s, const char *cand);
/* Offer every choice of "a|b|c" (ENUM choices); the kept pointer is into
 * buf, a copy of the winning choice (buf must outlive s). */
void dp_suggest_add_choices(struct dp_suggest *s, const char *choices, char *buf, size_t n);

/* " (did you mean 'X'?)" into buf, or "" when nothing is near. Returns buf,
 * for use as a "%s" argument. */
const char *dp_suggest_hint(const struct dp_suggest *s, char *buf, size_t n);

/* The edit distance as dp_suggest uses it (see the top); exposed for tests. */
unsigned dp_suggest_distance(const char *a, const char *b);

/* Hints over the classic format's section names (the plugins' names:
 * dp_suggest_plugin_hint, runtime/dp_registry.h). */
const char *dp_suggest_section_hint(const char *name, char *buf, size_t n);

#endif
