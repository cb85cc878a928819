/*
 * re_keyed.h — regex rules over record values, grouped by the key they
 * read: the mechanism grep and rewrite_tag share. Rules on the same key
 * (record accessor, dp_ra.h) form one group, compiled into one re_set
 * (one Hyperscan database), so one scan of a value answers every rule on
 * that key. Per record, a group is scanned only when a rule first asks
 * about it.
 *
 *   re_keyed_add(k, ra, "/re/i", ...)   one per rule, in rule order: checks
 *                                       the pattern alone (so an error
 *                                       names its own line) and says
 *                                       which group and index it got
 *   re_keyed_compile(k, ...)            the sets, once all rules are in
 *   shard: re_keyed_scan_create(k)
 *   per record: re_keyed_scan_reset(s), then re_keyed_matches(s, c, rule)
 *
 * A missing key, or a value that is not a string, matches no rule.
 *
 * Threads: building on the control thread; a scan belongs to one shard.
 */
#ifndef RE_KEYED_H
#define RE_KEYED_H

#include <stdbool.h>
#include <stdint.h>
#include "dp_chunk.h"
#include "dp_ra.h"
#include "re_set.h"

struct re_keyed;
struct re_keyed_scan;

/* Where a rule's pattern lives. */
struct re_keyed_rule {
	uint16_t group;
	uint16_t idx;   /* pattern index within its group's set */
};

struct re_keyed *re_keyed_create(void);
void re_keyed_destroy(struct re_keyed *k);

/* Add a rule: ra the key, pattern in Fluent Bit's form (bare or /re/opts,
 * re_pattern_from_fb). what names the filter in messages. 0, or -errno
 * with e->msg about the pattern. */
int re_keyed_add(struct re_keyed *k, const struct dp_ra *ra, const char *pattern, const char *what,
		 struct re_keyed_rule *out, struct dp_err *e);

/* Compile one set per group (set_flags: re_set_create_ex's, e.g.
 * RE_SET_CAPTURES). 0, or -errno with e->msg. */
int re_keyed_compile(struct re_keyed *k, const char *what, unsigned set_flags, struct dp_err *e);

/* The set of a group (for captures with re_set_capture). */
const struct re_set *re_keyed_set(const struct re_keyed *k, unsigned group);

struct re_keyed_scan *re_keyed_scan_create(const struct re_keyed *k);
void re_keyed_scan_destroy(struct re_keyed_scan *s);
/* Forget the previous record's scans. */
void re_keyed_scan_reset(struct re_keyed_scan *s);
/* Does rule r match the tail record of c? v (may be NULL) receives the
 * value of r's key when it was a string. */
bool re_keyed_matches(struct re_keyed_scan *s, const struct dp_chunk *c, struct re_keyed_rule r,
		      struct dp_ra_val *v);
/* The scratch of a group, for re_set_capture. */
struct re_scratch *re_keyed_scratch(struct re_keyed_scan *s, unsigned group);

#endif
