/*
 * flt_multiline_int.h — what flt_multiline.c (setup, streams, records)
 * and flt_multiline_line.c (line mode) share: the filter's compiled
 * configuration and its per-shard context. Internal to filters/.
 *
 * Threads: the configuration is written by the control thread, then read
 * by every shard; a context belongs to one shard.
 */
#ifndef FLT_MULTILINE_INT_H
#define FLT_MULTILINE_INT_H

#include "dp_filter.h"
#include "flt_multiline.h"
#include "psr_ml.h"

/* What setup compiled: shared, read-only, by every shard. */
struct flt_ml {
	const struct psr_ml_parser *p[PSR_ML_MAX_PARSERS];
	unsigned np;
	char *key;
	size_t klen;
	const char *pkey;      /* the first parser's key_pattern, or NULL */
	size_t pklen;
	const char *gkey;      /* the first parser's key_group, or NULL */
	size_t gklen;
	uint64_t flush_ns;
	bool partial;          /* mode partial_message (flt_multiline_partial.c) */
	/* some parser has `parser`: one stream per parser, each parser's own
	 * line parser (or NULL: the record as it is), key_pattern, key_group */
	bool line;
	const struct psr_parser *lp[PSR_ML_MAX_PARSERS];
	bool as_is[PSR_ML_MAX_PARSERS]; /* docker, cri: a record their parser does not
	                                   take is taken as already parsed */
	const char *pk[PSR_ML_MAX_PARSERS], *gk[PSR_ML_MAX_PARSERS];
	size_t pkl[PSR_ML_MAX_PARSERS], gkl[PSR_ML_MAX_PARSERS];
};

/* What a parser takes of a record: its content, pattern and group, in
 * the record itself or in the record its line parser made. */
struct ml_piece {
	struct dp_chunk *c;    /* the record the joined one is made from */
	int content;           /* its key_content field */
	const char *text, *pat, *grp;
	size_t tlen, plen, glen;
	uint32_t sec, nsec;
};

/* Line mode's scratch, per shard: the record a line parser makes. */
struct ml_line {
	struct dp_chunk sc;
	struct psr_parser_state *pst[PSR_ML_MAX_PARSERS];
	struct dp_rec recs[DP_CHUNK_RECS];
	struct dp_field fields[DP_CHUNK_FIELDS];
	uint8_t data[DP_CHUNK_DATA];
};

/* A field of the first record, kept for the joined record. */
struct ml_slot {
	bool used;
	int8_t pi;                 /* line mode: its parser; else -1 */
	uint16_t input;
	uint16_t tag_len;
	char tag[DP_TAG_MAX];
	bool has_grp;              /* key_group's value (its first FLT_ML_GROUP_MAX bytes) */
	uint8_t grp_len;
	char grp[FLT_ML_GROUP_MAX];
	uint64_t last_used;
	struct flt_ml_ctx *ctx;
	struct psr_ml_kept kept;   /* the group's first record but its content */
	struct psr_ml_stream st;   /* last: its buffer is most of the slot */
};

struct flt_ml_ctx {
	const struct flt_ml *ml;
	struct dp_fx *fx;          /* of the running record() or tick() */
	const struct ml_piece *pc; /* the line being pushed */
	int lru;                   /* line mode: the parser of the last record */
	struct ml_line *ln;        /* line mode */
	struct flt_ml_partial *pm; /* mode partial_message */
	struct flt_ml_stats stats;
	struct ml_slot slot[FLT_ML_STREAMS];
};

/* The stream of (input, tag, parser pi (-1: all), key_group value). */
struct ml_slot *flt_ml_slot_get(struct flt_ml_ctx *x, const struct dp_fx *fx, int pi,
				const char *grp, size_t glen);
/* The record goes on unchanged (through the emitter). */
int flt_ml_pass_on(struct flt_ml_ctx *x, struct dp_fx *fx);
/* flt_multiline_line.c */
struct ml_line *flt_ml_line_create(const struct flt_ml *ml);
void flt_ml_line_free(struct ml_line *ln);
/* A record whose key_content (field content) is a string, in line mode. */
int flt_ml_record_line(struct flt_ml_ctx *x, struct dp_fx *fx, int content);

#endif
