/*
 * psr_ml.h — multiline parsers: Fluent Bit's [MULTILINE_PARSER] state
 * machines (and its built-ins java, python, go, ruby, nodejs, docker, cri) that decide, line by
 * line, where a stack trace or any other multi-line message starts and
 * which lines continue it, and the streams that join such lines into one
 * text.
 *
 * A parser of type regex is a list of rules `rule "FROM" "/REGEX/" "TO"`:
 * FROM is one state name or several separated by commas, TO one state.
 * The semantics are Fluent Bit's (src/multiline/flb_ml_rule.c):
 *   - a line that matches a rule listing "start_state" (a start rule; rules
 *     are tried in the order they were written) begins a group; a group
 *     already open in the stream is flushed first;
 *   - each parser of a stream keeps the state its last rule led to (Fluent
 *     Bit's rule_to_state, src/multiline/flb_ml_rule.c), across the flush
 *     of a group too. A line is tried first against the non-start rules
 *     that list that state, in order; the first match appends the line and
 *     moves to that rule's TO. When none matches, the line is tried as a
 *     start (which flushes the open group: two traces back to back are two
 *     groups, Fluent Bit's test issue_3817_1 in tests/internal/multiline.c);
 *     when that fails too the open group is flushed and the line passes
 *     through alone, and the state is kept;
 *   - so a line that continues the kept state after its group was flushed
 *     (a trace cut by a line of another thread, then more frames) begins a
 *     group of its own, as in Fluent Bit, whose later lines join it. Fluent
 *     Bit's record for such a group has only the content key and the time
 *     of the previous group; here it is the record of its first line, like
 *     any group;
 *   - when the TO of the rule that matched is a state some start rule also
 *     lists (e.g. python's "python" -> "start_state" on the exception line,
 *     java's "nested exception is:" -> java_start_exception), the group ends
 *     with that line (the state stays: for a state that non-start rules
 *     also list, lines continuing it begin a group as above);
 *   - lines are joined with "\n" unless the group already ends with one; an
 *     empty line adds "\n" (flb_ml_rule.c, flb_ml_rule_process).
 * Types endswith and equal: every line is appended (without a separator)
 * and the group is flushed when the line ends with / equals match_string
 * (negate inverts the test); an endswith line shorter than match_string is
 * not processed (passes through), as in Fluent Bit.
 * Raw text (psr_ml_stream_set_text: the tail input's lines, which have no
 * record yet): for a parser without key_content, Fluent Bit's
 * breakline_prepare (src/multiline/flb_ml.c) ends every group with "\n"
 * (unless it already ends with one) and joins endswith / equal lines with
 * "\n" too; a parser with key_content joins as above, no final "\n". A
 * record's key_content (the multiline filter) never gets the final "\n":
 * there Fluent Bit's instance always has a key_content.
 *
 * Regex dialect: PCRE2 with PCRE2_MULTILINE (Fluent Bit uses Onigmo's Ruby
 * syntax, where ^ and $ always match at line boundaries); "/.../" slashes
 * are stripped. Ruby-only syntax (\h as a hex digit, (?<name>) is shared)
 * may differ. Matching goes through one internal function in psr_ml.c
 * (first rule of a list that matches a line); a state's continuation
 * rules and the start rules are one list (one Hyperscan database), so a
 * line costs one scan whatever the state.
 *
 * Bounds: a group holds at most PSR_ML_GROUP_MAX bytes of text (and raw
 * text's final "\n": PSR_ML_GROUP_MAX + 1 bytes handed out). A line
 * that would make it longer is cut at the bound, the group is flushed at
 * once marked truncated (counted in the stream), and the following lines of
 * the same message then pass through alone (Fluent Bit does the same with
 * its multiline_buffer_limit).
 *
 * Threads: a set is built on the control thread and then only read, by any
 * number of shards at once. A stream belongs to one shard.
 */
#ifndef PSR_ML_H
#define PSR_ML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dp_common.h"
#include "dp_conf.h"
#include "dp_opt.h"

struct re_scratch;

#define PSR_ML_GROUP_MAX    (64 * 1024)  /* bytes of joined text in one group */
#define PSR_ML_MAX_PARSERS  8            /* parsers one stream tries */
#define PSR_ML_MAX_STATES   64           /* distinct state names in one parser */
#define PSR_ML_FLUSH_TIMEOUT_MS 4000     /* Fluent Bit's FLB_ML_FLUSH_TIMEOUT */

struct psr_ml_set;
struct psr_ml_parser;

/* The built-ins java, python, go, ruby; NULL with err on failure. */
struct psr_ml_set *psr_ml_set_create(struct dp_err *err);
void psr_ml_set_destroy(struct psr_ml_set *s);
/* Add one [MULTILINE_PARSER] section (keys in psr_ml_opts, `rule` repeated
 * in order). 0, or -EINVAL with "FILE:LINE: [MULTILINE_PARSER] NAME: ..."
 * naming the key at fault. */
int psr_ml_set_add(struct psr_ml_set *s, const struct dp_conf_section *sec, struct dp_err *err);
const struct psr_ml_parser *psr_ml_set_find(const struct psr_ml_set *s, const char *name);
/* Find the [PARSER] each section's `parser` names, once all are read
 * (parsers lives as long as s). 0, or -EINVAL with
 * "FILE:LINE: [MULTILINE_PARSER] NAME: 'parser': no [PARSER] named 'x'". */
struct psr_parsers;
int psr_ml_set_resolve(struct psr_ml_set *s, const struct psr_parsers *parsers, struct dp_err *err);
extern const struct dp_opt psr_ml_opts[];

const char *psr_ml_parser_name(const struct psr_ml_parser *p);
/* key_content of the section, or NULL. */
const char *psr_ml_parser_key_content(const struct psr_ml_parser *p);
/* key_pattern of the section (the key whose value the rules test), or
 * NULL: key_content's. */
const char *psr_ml_parser_key_pattern(const struct psr_ml_parser *p);
uint64_t psr_ml_parser_flush_timeout_ns(const struct psr_ml_parser *p);
/* The parser every raw line goes through before its key_content is
 * tested and joined (Fluent Bit's flb_ml_parser->parser, applied in
 * flb_ml.c's ml_append_try_parser_type_text): a section's `parser`, or
 * for docker and cri, the built-ins that read container runtimes' log
 * files (flb_ml_parser_{docker,cri}.c), their own (docker: JSON; cri: the
 * regex "^(?<time>.+?) (?<stream>stdout|stderr) (?<_p>F|P) (?<log>.*)$";
 * both keep "time", read with Fluent Bit's Time_Format); NULL otherwise.
 * key_group: the key whose values are joined apart (a section's
 * `key_group`; docker, cri: "stream", stdout and stderr), or NULL. */
struct psr_parser;
const struct psr_parser *psr_ml_parser_line(const struct psr_ml_parser *p);
const char *psr_ml_parser_key_group(const struct psr_ml_parser *p);
/* The [PARSER] name a section's `parser` gave, or NULL (built-ins too). */
const char *psr_ml_parser_line_name(const struct psr_ml_parser *p);
/* Types endswith and equal: whether text t (key_pattern's value, else
 * key_content's) ends a message (1) or is continued (0); -1 when the
 * parser does not take it (endswith: shorter than match_string). */
int psr_ml_parser_match(const struct psr_ml_parser *p, const char *t, size_t tl);
/* Type regex (rules), not endswith / equal. */
bool psr_ml_parser_is_regex(const struct psr_ml_parser *p);

/* ---- streams ---- */

/* A completed group: the joined text and the time of its first line. */
struct psr_ml_group {
	const char *text;
	size_t len;
	uint32_t sec, nsec;
	unsigned lines;
	bool truncated;    /* cut at PSR_ML_GROUP_MAX */
	bool has_line;     /* flushed from a push, and the line pushed is in it */
};

/* Called from inside psr_ml_stream_push when the line being pushed begins
 * a group (after the previous group, if any, was flushed): the caller keeps
 * what it needs of that line's record for the flush. */
typedef void (*psr_ml_begin_fn)(void *arg);
/* Called when a group completes (from push, tick or flush). text is valid
 * only during the call. */
typedef void (*psr_ml_flush_fn)(void *arg, const struct psr_ml_group *g);

enum {
	PSR_ML_PASS = 0,   /* not part of any group: the caller handles it alone */
	PSR_ML_START = 1,  /* began a group (it may already have been flushed) */
	PSR_ML_CONT = 2,   /* appended to the open group */
};

struct psr_ml_stream {
	const struct psr_ml_parser *p[PSR_ML_MAX_PARSERS];
	unsigned np;
	int cur;              /* parser of the open group, or -1 */
	int lru;              /* parser that took the last line: tried first */
	int16_t state[PSR_ML_MAX_PARSERS]; /* parser i's state (see above), -1: none yet */
	uint64_t timeout_ns;  /* 0: the open group's parser's flush_timeout */
	uint64_t last_ns;     /* monotonic time of the last line appended */
	uint32_t sec, nsec;   /* time of the group's first line */
	uint32_t len, lines;
	bool truncated;
	psr_ml_begin_fn begin;
	psr_ml_flush_fn flush;
	void *arg;
	struct re_scratch *sc; /* regex scratch: per stream, so per thread */
	bool text;            /* lines are raw text (see "Raw text" above) */
	bool line_in;         /* the line being pushed was appended to the open group */
	/* counters, read by the owner */
	uint64_t groups, truncations;
	char buf[PSR_ML_GROUP_MAX + 1]; /* + the final "\n" of raw text */
};

/* p: np (1..PSR_ML_MAX_PARSERS) parsers tried in order, as Fluent Bit's
 * comma list (the parser of the last group is tried first). 0 or -errno. */
int psr_ml_stream_init(struct psr_ml_stream *st, const struct psr_ml_parser *const *p, unsigned np,
		       uint64_t timeout_ns, psr_ml_begin_fn begin, psr_ml_flush_fn flush, void *arg);
void psr_ml_stream_fini(struct psr_ml_stream *st);
/* Make a stream that is not open try parser p only, from its initial
 * state; p must be one of those it was made with (its regex scratch fits
 * them all). The multiline filter's streams of parsers that parse the
 * content first: one parser per stream, as Fluent Bit's parser instances. */
void psr_ml_stream_only(struct psr_ml_stream *st, const struct psr_ml_parser *p);
/* One line (without its newline), its record time and the monotonic time
 * now: PSR_ML_PASS, PSR_ML_START or PSR_ML_CONT. */
int psr_ml_stream_push(struct psr_ml_stream *st, const char *line, size_t len, uint32_t sec,
		       uint32_t nsec, uint64_t now_ns);
/* The same with the text the rules / match_string test apart from the
 * text joined (a parser's key_pattern: cri's "_p" decides, "log" is
 * joined); pat NULL: the line itself. */
int psr_ml_stream_push_kp(struct psr_ml_stream *st, const char *line, size_t len, const char *pat,
			  size_t plen, uint32_t sec, uint32_t nsec, uint64_t now_ns);
/* Lines pushed are raw text, not a record's key_content: Fluent Bit's
 * newlines for such text (see "Raw text" above). Call after init. */
void psr_ml_stream_set_text(struct psr_ml_stream *st, bool text);
/* Raw text only: whether a line that passes through (PSR_ML_PASS) ends
 * with "\n" in its record, as Fluent Bit flushes such a line through the
 * first parser's group (flb_ml.c, flb_ml_append_text). */
bool psr_ml_stream_pass_nl(const struct psr_ml_stream *st);
/* Flush the open group when no line continued it for the timeout. */
void psr_ml_stream_tick(struct psr_ml_stream *st, uint64_t now_ns);
/* Flush the open group now (shutdown, eviction). */
void psr_ml_stream_flush(struct psr_ml_stream *st);

static inline bool psr_ml_stream_is_open(const struct psr_ml_stream *st)
{
	return st->cur >= 0;
}

/* A multiline group's first record kept aside (psr_ml_kept.c): its fields
 * but the content, to be written again around the joined text. */
#define PSR_ML_KEPT_FIELDS 32    /* fields kept of a group's first record */
#define PSR_ML_KEPT_BYTES  4096  /* bytes of keys and values kept of it */
struct psr_ml_fcopy {
	uint16_t koff, klen, voff, vlen;
	uint8_t type;
};
struct psr_ml_kept {
	uint16_t nf, content_pos, len;
	struct psr_ml_fcopy f[PSR_ML_KEPT_FIELDS];
	uint8_t buf[PSR_ML_KEPT_BYTES];
};
struct dp_chunk;
/* Keep the open record of c but its field number `content` (-1: none):
 * how many fields did not fit and were left out. */
unsigned psr_ml_keep(struct psr_ml_kept *k, struct dp_chunk *c, int content);
/* Write k into c's open record, key = text at the content's place. */
void psr_ml_put_kept(const struct psr_ml_kept *k, struct dp_chunk *c, const char *key, size_t klen,
		     const char *text, size_t len);

#endif
