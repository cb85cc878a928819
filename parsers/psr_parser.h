/*
 * psr_parser.h — Fluent Bit's [PARSER] sections: one definition (Format
 * regex, json, logfmt or ltsv, with Time_*, Types, Decode_Field*,
 * Skip_Empty_Values), compiled once, and the named set of them that the
 * parser filter (and inputs with a Parser key) look up.
 *
 * Semantics follow Fluent Bit's parsers (flb_parser_*.c):
 *   - regex: PCRE2 with JIT over Ruby-style patterns: named groups
 *     (?<name>...) become fields in the order of the groups; "/re/imx"
 *     delimiters and flags are understood; ^ and $ match at line breaks
 *     (Ruby always does). Patterns are matched byte by byte unless they
 *     hold non-ASCII text or \p/\P/\X (then UTF-8, invalid input allowed). A group that did not take part is empty, and
 *     empty values are skipped unless Skip_Empty_Values is off.
 *   - json: the text is one JSON object; its members become fields.
 *   - logfmt, ltsv: psr_kv.h.
 *   - Time_Key (default "time") is read with Time_Format when Time_Format
 *     is set; the record's time becomes it, and the field is removed
 *     unless Time_Keep. A time that does not parse: regex and ltsv drop
 *     the field (Fluent Bit does), json keeps it, logfmt fails the line.
 *   - Types applies to regex, logfmt and ltsv values; a value that does
 *     not convert stays a string (Fluent Bit would write 0 for integers).
 *   - Decode_Field_As json|escaped|escaped_utf8 FIELD [try_next|do_next]
 *     replaces the field's string value; Decode_Field json FIELD adds
 *     the members of the decoded object to the record (right after FIELD;
 *     Fluent Bit puts them at the end). json decoding needs an object
 *     ('{'), as Fluent Bit's; escaped also decodes \uXXXX (Fluent Bit
 *     leaves that to escaped_utf8). With Format json a decoded field
 *     moves to the end of the record.
 *
 * Threads: create/add/find on the control thread; a parser is read-only
 * afterwards and shared by every shard; a psr_parser_state belongs to one
 * shard.
 */
#ifndef PSR_PARSER_H
#define PSR_PARSER_H

#include <stddef.h>
#include "dp_chunk.h"
#include "dp_conf.h"
#include "dp_opt.h"

struct psr_parsers;                 /* a set of named parsers */
struct psr_parser;
struct psr_parser_state;            /* per-shard scratch (PCRE2 match data, time cache) */

struct psr_parsers *psr_parsers_create(void);
void psr_parsers_destroy(struct psr_parsers *set);
/* Add one [PARSER] section: checks every key against psr_parser_opts,
 * errors "FILE:LINE: [PARSER] NAME: ..." pointing at the key's line;
 * duplicate Name is an error. 0 or -errno. */
int psr_parsers_add(struct psr_parsers *set, const struct dp_conf_section *s, struct dp_err *err);
const struct psr_parser *psr_parsers_find(const struct psr_parsers *set, const char *name);
const char *psr_parser_name(const struct psr_parser *p);
/* Format regex in byte mode: its pattern (Ruby's /.../ stripped) and RE_*
 * flags (re_set.h) for a re_set that preselects candidates; NULL for other
 * formats and UTF-mode patterns (those must always be tried). */
const char *psr_parser_regex(const struct psr_parser *p, unsigned *flags);

struct psr_parser_state *psr_parser_state_create(const struct psr_parser *p);
void psr_parser_state_destroy(struct psr_parser_state *st);

/* Parse text into fields appended to the OPEN record of c (dp_chunk_rec_begin
 * or dp_tail_reopen already called); sets the record time
 * (dp_chunk_rec_set_time) when Time_Key is found and parses; 0, or -EINVAL
 * when the text does not match / is malformed, with nothing left written.
 * text may point into c->data itself: only appends. The record's current
 * time is "now" for formats without a year. When the chunk fills up, 0
 * is returned and dp_chunk_rec_end / dp_tail_close report -ENOSPC. */
int psr_parser_exec(const struct psr_parser *p, struct psr_parser_state *st, struct dp_chunk *c,
		    const char *text, size_t len);

/* Time cache counters of a state (tests, benchmarks). */
void psr_parser_state_time_stats(const struct psr_parser_state *st, uint64_t *hits,
				 uint64_t *misses);

extern const struct dp_opt psr_parser_opts[];   /* every [PARSER] key, for docs */

#endif
