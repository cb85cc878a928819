/*
 * dp_route.c — Match / Match_Regex against a tag (semantics in dp_route.h).
 *
 * Control path: called while routes are built at start-up, on the control
 * thread. dp_match_tag never allocates (see dp_match_init), so it could run
 * later too, one thread per struct dp_match.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "dp_route.h"

/*
 * A '*'-only glob with one backtrack point: on a mismatch after a '*', let
 * that '*' swallow one more byte and retry what follows it. Going back to
 * the last '*' only is enough because an earlier '*' could only absorb bytes
 * the last one can absorb as well. O(len * strlen(pattern)) at worst, no
 * recursion (Fluent Bit recurses once per candidate position).
 */
bool dp_tag_wildcard_match(const char *pattern, const char *tag, size_t len)
{
	const char *p = pattern;
	const char *star = NULL; /* pattern just after the last '*' */
	size_t star_t = 0;       /* tag offset where that retry starts */
	size_t t = 0;

	while (t < len) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			if (*p == '\0')
				return true; /* trailing '*' takes the rest */
			star = p;
			star_t = t;
		} else if (*p != '\0' && *p == tag[t]) {
			p++;
			t++;
		} else if (star) {
			/* The byte after the '*' must appear somewhere: jump to
			 * its next occurrence instead of trying every offset. */
			const char *next = memchr(tag + star_t + 1, *star, len - star_t - 1);
			if (!next)
				return false;
			star_t = (size_t)(next - tag);
			p = star;
			t = star_t;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/*
 * Fluent Bit's flb_regex_create accepts "/re/" and "/re/flags" besides a
 * bare regex. If src has that form, narrow [*off, *off + *len) to the body
 * and add the flags' PCRE2 options; otherwise leave everything as it is
 * (so "/a/b", with an unknown flag, is the regex "/a/b", as there).
 */
static void regex_unwrap(const char *src, size_t *off, size_t *len, uint32_t *opts)
{
	const char *last = strrchr(src, '/');
	uint32_t o = 0;

	if (src[0] != '/' || last == src)
		return;
	for (const char *f = last + 1; *f; f++) {
		switch (*f) {
		case 'i':
			o |= PCRE2_CASELESS;
			break;
		case 'm': /* Ruby's multiline: '.' matches newline */
			o |= PCRE2_DOTALL;
			break;
		case 'x':
			o |= PCRE2_EXTENDED;
			break;
		case 'o': /* Ruby's "interpolate once": nothing to do */
			break;
		default:
			return;
		}
	}
	*off = 1;
	*len = (size_t)(last - src) - 1;
	*opts |= o;
}

static int match_regex_init(struct dp_match *m, const char *regex, struct dp_err *err)
{
	size_t off = 0, len = strlen(regex);
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
	PCRE2_SIZE erroff;
	int errcode;

	regex_unwrap(regex, &off, &len, &opts);
	m->re = pcre2_compile((PCRE2_SPTR)regex + off, len, opts, &errcode, &erroff, NULL);
	if (!m->re) {
		PCRE2_UCHAR buf[120];

		if (errcode == PCRE2_ERROR_NOMEMORY)
			return dp_err_set(err, -ENOMEM, "Match_Regex: out of memory");
		pcre2_get_error_message(errcode, buf, sizeof(buf));
		/* offset in the string the user wrote, slashes included */
		return dp_err_set(err, -EINVAL, "Match_Regex '%.40s': %s at offset %zu",
				  regex, (const char *)buf, (size_t)erroff + off);
	}
	return 0;
}

/*
 * The match data of the calling thread. Shards look routes up at once (a
 * chunk's route and filter chain, on the shard that opens it), and PCRE2
 * keeps the ovector and, from 10.41, its backtracking frames in the match
 * data: one shared block would be written by several shards at a time
 * (pcre2api(3), "Multithreading": a match data block must be used by one
 * thread at a time; a concurrent test did not catch it going wrong, which
 * does not make it defined). So
 * each thread has its own, made at its first regex match (one pair is
 * enough: only the end of the overall match is read; the frames, 20 KiB,
 * are allocated by that first match and kept) and freed when the thread
 * ends.
 */
static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_free(void *md)
{
	pcre2_match_data_free(md);
}

static void md_key_make(void)
{
	pthread_key_create(&md_key, md_free);
}

static pcre2_match_data *thread_md(void)
{
	pthread_once(&md_once, md_key_make);
	pcre2_match_data *md = pthread_getspecific(md_key);
	if (!md && (md = pcre2_match_data_create(1, NULL)) && pthread_setspecific(md_key, md)) {
		pcre2_match_data_free(md);
		md = NULL;
	}
	return md;
}

int dp_match_init(struct dp_match *m, const char *wildcard, const char *regex,
		  struct dp_err *err)
{
	int rc;

	memset(m, 0, sizeof(*m));
	if (!wildcard == !regex)
		return dp_err_set(err, -EINVAL, "route: need exactly one of Match and Match_Regex");
	if (wildcard) {
		m->wildcard = strdup(wildcard);
		if (!m->wildcard)
			return dp_err_set(err, -ENOMEM, "Match: out of memory");
		return 0;
	}
	rc = match_regex_init(m, regex, err);
	if (rc)
		dp_match_fini(m);
	return rc;
}

bool dp_match_tag(const struct dp_match *m, const char *tag, size_t len)
{
	PCRE2_SIZE *ov;
	int rc;

	if (m->wildcard)
		return dp_tag_wildcard_match(m->wildcard, tag, len);
	if (!m->re)
		return false;
	/* pcre2_match wants a non-NULL subject even when it is empty. */
	if (!tag)
		tag = "";
	/*
	 * Fluent Bit calls onig_match() at offset 0 and routes when it returns
	 * a length > 0: anchored at the start, a prefix is enough, an empty
	 * match is no match. PCRE2_ANCHORED without NOTEMPTY gives the same
	 * first (leftmost, backtracking-order) match Onigmo returns.
	 */
	pcre2_match_data *md = thread_md();
	if (!md)
		return false; /* out of memory: routed nowhere, counted as dropped */
	rc = pcre2_match(m->re, (PCRE2_SPTR)tag, len, 0, PCRE2_ANCHORED, md, NULL);
	if (rc < 0)
		return false; /* no match, or an error such as the match limit */
	ov = pcre2_get_ovector_pointer(md);
	/* The end of the match, not its length: \K may move the start. */
	return ov[1] > 0;
}

void dp_match_fini(struct dp_match *m)
{
	free(m->wildcard);
	pcre2_code_free(m->re);
	memset(m, 0, sizeof(*m));
}
