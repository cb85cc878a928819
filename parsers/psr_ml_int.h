/*
 * psr_ml_int.h — what psr_ml.c (sets, compilation), psr_ml_conf.c
 * (sections), psr_ml_stream.c (streams) and psr_ml_builtin.c (the
 * built-in parsers) share: the compiled form of a
 * multiline parser and the calls that build one. Control thread only,
 * except that shards read the finished structs.
 */
#ifndef PSR_ML_INT_H
#define PSR_ML_INT_H

#include <stdbool.h>
#include <stdint.h>
#include "psr_ml.h"
#include "re_set.h"

struct ml_line_def;
struct psr_parsers;
struct psr_parser;

enum { ML_REGEX = 0, ML_ENDSWITH = 1, ML_EQUAL = 2 };

struct ml_rule {
	uint64_t from;   /* bit s: the rule leaves state s */
	int to;
	bool start;      /* from includes start_state (state 0) */
	char *pat;       /* the regex, Fluent Bit's /.../ slashes stripped */
};

/* Rules to try, in the order they were written. This is the unit a regex
 * engine matches at once (psr_ml.c: psr_ml_list_match). */
struct ml_list {
	uint16_t *idx;
	unsigned n;
	struct re_set *set; /* pattern i is rule idx[i]; NULL when n == 0 */
};

struct psr_ml_parser {
	char *name;
	bool builtin;              /* a [MULTILINE_PARSER] of that name replaces it */
	bool pending;              /* a built-in not compiled yet: psr_ml_set_find compiles it
	                              when a plugin first names it (a pipeline that uses none
	                              pays nothing: reloads and start-up are faster) */
	int type;
	char *key_content;
	char *key_pattern;
	uint64_t flush_ns;
	char *match_str;           /* endswith / equal */
	size_t match_len;
	bool negate;
	struct ml_rule *rules;
	unsigned nrules, cap;
	char *states[PSR_ML_MAX_STATES]; /* states[0] is "start_state" */
	unsigned nstates;
	struct ml_list starts;     /* start rules */
	struct ml_list cont[PSR_ML_MAX_STATES]; /* non-start rules leaving state s */
	/* cont[s] then the start rules, one list: a line in state s is tried
	 * against both in one scan (continuation first, as Fluent Bit); only
	 * for states with continuation rules, the others use starts. */
	struct ml_list next[PSR_ML_MAX_STATES];
	uint64_t ends;             /* states some start rule leaves: reaching one ends the group */
	int bad_rule;              /* psr_ml_parser_finish: the rule at fault, or -1 */
	/* The parser each raw line goes through first (Fluent Bit's
	 * flb_ml_parser->parser). docker, cri: their own, built when first
	 * named (psr_ml_set_find), in a set of its own (lines); a section's
	 * `parser`: the [PARSER] of that name (line_name, at line_file:
	 * line_line, a copy), found by psr_ml_set_resolve once every
	 * [PARSER] is read. key_group: the key whose value keeps messages apart (docker,
	 * cri: "stream"). */
	const struct ml_line_def *line_def;
	struct psr_parsers *lines;
	const struct psr_parser *line;
	char *line_name;
	char *line_file;
	int line_line;
	char *key_group;
};

struct psr_ml_parser *psr_ml_parser_new(const char *name, int type, uint64_t flush_ms);
/* Add a rule; from is "a" or "a, b". 0, or -EINVAL / -ENOMEM with msg. */
int psr_ml_parser_rule(struct psr_ml_parser *p, const char *from, const char *regex, const char *to,
		   char *msg, size_t msglen);
/* Check and index the rules. 0, or -EINVAL with msg. */
int psr_ml_parser_finish(struct psr_ml_parser *p, char *msg, size_t msglen);
void psr_ml_parser_free(struct psr_ml_parser *p);
struct psr_ml_set {
	struct psr_ml_parser **p;
	unsigned n, cap;
};

/* Take p into s; -EEXIST when the name is taken (p is then not taken). */
int psr_ml_set_insert(struct psr_ml_set *s, struct psr_ml_parser *p);
/* The parser of that name as it is (a pending built-in not compiled), or
 * NULL; take p out of s and free it. */
struct psr_ml_parser *psr_ml_set_find_raw(const struct psr_ml_set *s, const char *name);
void psr_ml_set_remove(struct psr_ml_set *s, const struct psr_ml_parser *p);

/* The regex engine, behind these three calls: the first rule of l (in
 * order) whose regex matches s[0..n), or -1. sc is per-thread scratch,
 * one for every rule list of the np parsers (*out NULL when none has a
 * regex rule). psr_ml_scratch_create: 0 or -ENOMEM. */
int psr_ml_list_match(const struct psr_ml_parser *p, const struct ml_list *l, const char *s, size_t n,
		  struct re_scratch *sc);
int psr_ml_scratch_create(const struct psr_ml_parser *const *p, unsigned np, struct re_scratch **out);
void psr_ml_scratch_destroy(struct re_scratch *sc);

/* Built-ins, psr_ml_builtin.c. */
int psr_ml_builtin_add(struct psr_ml_set *s, struct dp_err *err);
/* Build p's line parser (p->line_def set, p->lines not yet): 0 or -errno. */
int psr_ml_builtin_line(struct psr_ml_parser *p, struct dp_err *err);

#endif
