/*
 * dp_tmpl.h — a text template over a record and its tag, as Fluent Bit's
 * rewrite_tag writes NEW_TAG, and as sluice's file output takes File and
 * Path ("$tenant.log"): parsed once at start-up, expanded per record into
 * a caller's buffer without allocating.
 *
 *   $TAG        the record's tag
 *   $TAG[n]     part n of the tag split on '.' (empty when there is none)
 *   $0 .. $9    a regex's captures (DP_TMPL_CAPS only; empty when unset)
 *   $key['a']   a value of the record (dp_ra.h): strings as they are,
 *               integers in decimal, booleans true/false; anything else,
 *               or a missing key, empty (as Fluent Bit's record accessor)
 *   anything else is literal; a '$' followed by none of these too.
 *
 * Threads: parse and free on the control thread; a parsed template is
 * read-only and expanded from any thread.
 */
#ifndef DP_TMPL_H
#define DP_TMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "dp_chunk.h"
#include "dp_ra.h"

#define DP_TMPL_MAX_PIECES 32
#define DP_TMPL_MAX_RA     8
#define DP_TMPL_CAPS       1   /* parse: $0..$9 are captures */

enum dp_tmpl_kind { DP_TMPL_LIT, DP_TMPL_TAG, DP_TMPL_TAG_PART, DP_TMPL_CAP, DP_TMPL_RA };

struct dp_tmpl_piece {
	uint8_t kind;
	uint16_t n;            /* TAG_PART / CAP index; RA: index in ra[] */
	uint32_t off, len;     /* LIT: bytes of text */
};

struct dp_tmpl {
	char *text;
	bool uses_caps;        /* some piece is a capture */
	bool uses_record;      /* some piece reads the record */
	bool uses_tag;
	/* Set by the caller after parse: the expansion names a file, so a tag
	 * or record value cannot climb out of its directory: '/' and NUL in
	 * them become '_', and a value "." or ".." becomes "_" / "__". */
	bool path_safe;
	unsigned npieces, nra;
	struct dp_tmpl_piece piece[DP_TMPL_MAX_PIECES];
	struct dp_ra ra[DP_TMPL_MAX_RA];
};

/* Regex captures for DP_TMPL_CAP pieces: ov[2k], ov[2k+1] the bounds of
 * capture k in subj (SIZE_MAX when unset), n of them. */
struct dp_tmpl_caps {
	const char *subj;
	const size_t *ov;
	int n;
};

/* Parse text (copied). 0, or -EINVAL / -E2BIG with err->msg naming `what`
 * ("NEW_TAG '...': bad $TAG[n]"). */
int dp_tmpl_parse(struct dp_tmpl *t, const char *text, unsigned flags, const char *what, struct dp_err *err);
void dp_tmpl_free(struct dp_tmpl *t);

/* Expand for one record (fields[0..nfields) of c; c may be NULL when the
 * template reads no record) into out[0..cap): its length, or -1 when it
 * does not fit (out then holds a cut expansion). */
ssize_t dp_tmpl_expand(const struct dp_tmpl *t, char *out, size_t cap, const char *tag, size_t tag_len,
		       const struct dp_chunk *c, const struct dp_field *fields, unsigned nfields,
		       const struct dp_tmpl_caps *caps);

#endif
