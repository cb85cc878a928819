/*
 * re_set.c — one Hyperscan database per set of patterns, PCRE2 for the
 * patterns Hyperscan rejects and for captures (re_set.h). Compiling is
 * control-thread work; matching runs on shards with their own scratch and
 * never allocates.
 *
 * How a set is built: each pattern is first checked alone with
 * hs_expression_info (cheap, and it reports unsupported constructs by
 * name); those it rejects are compiled with PCRE2 and, when PCRE2 accepts
 * them, kept as fallbacks with a warning. The rest are compiled together
 * with hs_compile_multi; should that still refuse one (a pattern too large
 * for the database, say), that one becomes a fallback too and the
 * compilation is retried without it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <hs/hs.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "dp_log.h"
#include "re_onig.h"
#include "re_set.h"

struct re_set {
	unsigned n;
	unsigned nfb;            /* patterns matched by PCRE2 alone */
	unsigned *fb;            /* their indexes, ascending */
	bool *is_fb;
	hs_database_t *db;       /* NULL when every pattern is a fallback */
	pcre2_code **re;         /* per pattern; NULL unless fallback or captures */
	uint32_t max_pairs;      /* largest ovector any code needs */
	char what[64];
};

struct re_scratch {
	hs_scratch_t *hs;
	pcre2_match_data *md;
};

static unsigned hs_flags_of(unsigned f)
{
	unsigned h = HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;
	if (f & RE_CASELESS)
		h |= HS_FLAG_CASELESS;
	if (f & RE_DOTALL)
		h |= HS_FLAG_DOTALL;
	if (f & RE_MULTILINE)
		h |= HS_FLAG_MULTILINE;
	return h;
}

static uint32_t pcre_flags_of(unsigned f)
{
	uint32_t o = 0;
	if (f & RE_CASELESS)
		o |= PCRE2_CASELESS;
	if (f & RE_DOTALL)
		o |= PCRE2_DOTALL;
	if (f & RE_MULTILINE)
		o |= PCRE2_MULTILINE;
	if (f & RE_EXTENDED)
		o |= PCRE2_EXTENDED;
	return o;
}

/* PCRE2 code for pattern i, JIT-compiled where the platform allows (the
 * interpreter still works when JIT is unavailable). */
static pcre2_code *pcre_compile(struct re_set *s, const char *pat, unsigned f, struct dp_err *err)
{
	int ec;
	PCRE2_SIZE eo;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, pcre_flags_of(f), &ec,
				       &eo, NULL);
	if (!re) {
		PCRE2_UCHAR msg[120];
		pcre2_get_error_message(ec, msg, sizeof(msg));
		dp_err_set(err, -EINVAL, "%s: invalid regex '%s': %s at %zu", s->what, pat,
			   (const char *)msg, (size_t)eo);
		return NULL;
	}
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	uint32_t groups = 0;
	pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &groups);
	if (groups + 1 > s->max_pairs)
		s->max_pairs = groups + 1;
	return re;
}

/* Hyperscan's view of one pattern alone: NULL when it compiles, else
 * its message (to be freed with hs_free_compile_error via *ce). */
static const char *hs_check(const char *pat, unsigned f, hs_compile_error_t **ce)
{
	hs_expr_info_t *info = NULL;
	*ce = NULL;
	if (f & RE_EXTENDED)
		/* Hyperscan has no flag for it; let PCRE2 handle the syntax. */
		return "extended syntax (x) is left to PCRE2";
	if (hs_expression_info(pat, hs_flags_of(f), &info, ce) != HS_SUCCESS)
		return *ce ? (*ce)->message : "rejected";
	free(info);
	return NULL;
}

static int build_db(struct re_set *s, const char *const *pats, const unsigned *flags,
		    struct dp_err *err)
{
	const char **ex = calloc(s->n, sizeof(*ex));
	unsigned *fl = calloc(s->n, sizeof(*fl)), *ids = calloc(s->n, sizeof(*ids));
	int rc = 0;
	if (!ex || !fl || !ids) {
		rc = dp_err_set(err, -ENOMEM, "%s: out of memory", s->what);
		goto out;
	}
	for (;;) {
		unsigned m = 0;
		for (unsigned i = 0; i < s->n; i++) {
			if (s->is_fb[i])
				continue;
			ex[m] = pats[i];
			fl[m] = hs_flags_of(flags ? flags[i] : 0);
			ids[m] = i;
			m++;
		}
		if (m == 0)
			break;
		hs_compile_error_t *ce = NULL;
		if (hs_compile_multi(ex, fl, ids, m, HS_MODE_BLOCK, NULL, &s->db, &ce) == HS_SUCCESS)
			break;
		s->db = NULL;
		if (!ce || ce->expression < 0 || (unsigned)ce->expression >= m) {
			rc = dp_err_set(err, -EINVAL, "%s: Hyperscan: %s", s->what,
					ce ? ce->message : "compile failed");
			hs_free_compile_error(ce);
			goto out;
		}
		unsigned i = ids[ce->expression];
		dp_warn("%s: regex '%s' is matched with PCRE2, not Hyperscan (%s)", s->what, pats[i],
			ce->message);
		hs_free_compile_error(ce);
		if (!s->re[i] && !(s->re[i] = pcre_compile(s, pats[i], flags ? flags[i] : 0, err))) {
			rc = err ? err->code : -EINVAL;
			goto out;
		}
		s->is_fb[i] = true;
	}
out:
	free(ex);
	free(fl);
	free(ids);
	return rc;
}

struct re_set *re_set_create(const char *const *patterns, const unsigned *flags, unsigned n,
			     const char *what, struct dp_err *err)
{
	return re_set_create_ex(patterns, flags, n, what, 0, err);
}

static struct re_set *create(const char *const *patterns, const unsigned *flags, unsigned n,
			     const char *what, unsigned set_flags, struct dp_err *err);

/* Patterns are written in Fluent Bit's Onigmo syntax: each is rewritten
 * for PCRE2 and Hyperscan first (re_onig.h; a pattern that needs nothing
 * is passed as it is). Group numbers do not change, so captures $1.. of a
 * rewrite_tag rule still mean what they say. */
struct re_set *re_set_create_ex(const char *const *patterns, const unsigned *flags, unsigned n,
				const char *what, unsigned set_flags, struct dp_err *err)
{
	struct re_onig *tr = calloc(n ? n : 1, sizeof(*tr));
	const char **pats = calloc(n ? n : 1, sizeof(*pats));
	struct re_set *s = NULL;
	if (!tr || !pats) {
		dp_err_set(err, -ENOMEM, "%s: out of memory", what ? what : "regex");
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		size_t bad;
		int rc = re_onig_translate(patterns[i], strlen(patterns[i]), &tr[i], &bad);
		if (rc == -ENOMEM) {
			dp_err_set(err, -ENOMEM, "%s: out of memory", what ? what : "regex");
			goto out;
		}
		/* refused rather than passed as written: PCRE2 would read
		 * what Onigmo refuses or means otherwise ("&&", "(?~") as
		 * something else, without an error */
		if (rc || tr[i].utf) {
			dp_err_set(err, -EINVAL, "%s: invalid regex '%s': %s at %zu",
				   what ? what : "regex", patterns[i],
				   rc ? tr[i].err : RE_ONIG_UTF_CLASS_MSG, rc ? bad : 0);
			goto out;
		}
		pats[i] = tr[i].pat;
	}
	s = create(pats, flags, n, what, set_flags, err);
out:
	for (unsigned i = 0; tr && i < n; i++)
		re_onig_fini(&tr[i]);
	free(tr);
	free(pats);
	return s;
}

static struct re_set *create(const char *const *patterns, const unsigned *flags, unsigned n,
			     const char *what, unsigned set_flags, struct dp_err *err)
{
	struct re_set *s = calloc(1, sizeof(*s));
	if (!s || !(s->re = calloc(n ? n : 1, sizeof(*s->re))) ||
	    !(s->is_fb = calloc(n ? n : 1, sizeof(*s->is_fb))) ||
	    !(s->fb = calloc(n ? n : 1, sizeof(*s->fb)))) {
		dp_err_set(err, -ENOMEM, "%s: out of memory", what ? what : "regex");
		re_set_destroy(s);
		return NULL;
	}
	s->n = n;
	s->max_pairs = 1;
	snprintf(s->what, sizeof(s->what), "%s", what ? what : "regex");
	bool hs_ok = !(set_flags & RE_SET_PCRE_ONLY) && hs_valid_platform() == HS_SUCCESS;

	for (unsigned i = 0; i < n; i++) {
		unsigned f = flags ? flags[i] : 0;
		const char *why = "Hyperscan not used";
		hs_compile_error_t *ce = NULL;
		if (hs_ok && !(why = hs_check(patterns[i], f, &ce))) {
			if ((set_flags & RE_SET_CAPTURES) &&
			    !(s->re[i] = pcre_compile(s, patterns[i], f, err)))
				goto fail;
			continue;
		}
		/* Hyperscan said no (or is not used): PCRE2 decides whether
		 * the pattern is valid at all. */
		s->re[i] = pcre_compile(s, patterns[i], f, err);
		if (!s->re[i]) {
			hs_free_compile_error(ce);
			goto fail;
		}
		if (hs_ok)
			dp_warn("%s: regex '%s' is matched with PCRE2, not Hyperscan (%s)", s->what,
				patterns[i], why);
		hs_free_compile_error(ce);
		s->is_fb[i] = true;
	}
	if (hs_ok && build_db(s, patterns, flags, err))
		goto fail;
	for (unsigned i = 0; i < n; i++)
		if (s->is_fb[i])
			s->fb[s->nfb++] = i;
	return s;
fail:
	re_set_destroy(s);
	return NULL;
}

void re_set_destroy(struct re_set *s)
{
	if (!s)
		return;
	if (s->re)
		for (unsigned i = 0; i < s->n; i++)
			pcre2_code_free(s->re[i]);
	hs_free_database(s->db);
	free(s->re);
	free(s->is_fb);
	free(s->fb);
	free(s);
}

unsigned re_set_count(const struct re_set *s)
{
	return s->n;
}

unsigned re_set_fallbacks(const struct re_set *s)
{
	return s->nfb;
}

bool re_set_is_fallback(const struct re_set *s, unsigned i)
{
	return i < s->n && s->is_fb[i];
}

struct re_scratch *re_scratch_create(const struct re_set *s)
{
	struct re_scratch *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return NULL;
	if (s->db && hs_alloc_scratch(s->db, &sc->hs) != HS_SUCCESS)
		goto fail;
	if (!(sc->md = pcre2_match_data_create(s->max_pairs, NULL)))
		goto fail;
	return sc;
fail:
	re_scratch_destroy(sc);
	return NULL;
}

int re_scratch_grow(struct re_scratch *sc, const struct re_set *s)
{
	/* hs_alloc_scratch on an existing scratch enlarges it in place so it
	 * serves every database it was allocated for. */
	if (s->db && hs_alloc_scratch(s->db, &sc->hs) != HS_SUCCESS)
		return -ENOMEM;
	if (s->max_pairs > pcre2_get_ovector_count(sc->md)) {
		pcre2_match_data *md = pcre2_match_data_create(s->max_pairs, NULL);
		if (!md)
			return -ENOMEM;
		pcre2_match_data_free(sc->md);
		sc->md = md;
	}
	return 0;
}

void re_scratch_destroy(struct re_scratch *sc)
{
	if (!sc)
		return;
	hs_free_scratch(sc->hs);
	pcre2_match_data_free(sc->md);
	free(sc);
}

/* ---- matching (shard threads) ---- */

struct scan_ctx {
	uint64_t *bits;
	unsigned count;
};

static int on_match_bits(unsigned id, unsigned long long from, unsigned long long to,
			 unsigned flags, void *arg)
{
	(void)from, (void)to, (void)flags;
	struct scan_ctx *x = arg;
	x->bits[id / 64] |= 1ull << (id % 64);
	x->count++;
	return 0;
}

static int on_match_first(unsigned id, unsigned long long from, unsigned long long to,
			  unsigned flags, void *arg)
{
	(void)from, (void)to, (void)flags;
	int *best = arg;
	if (*best < 0 || (int)id < *best)
		*best = (int)id;
	return id == 0;  /* nothing can beat pattern 0 */
}

static int on_match_stop(unsigned id, unsigned long long from, unsigned long long to,
			 unsigned flags, void *arg)
{
	(void)from, (void)to, (void)flags;
	*(int *)arg = (int)id;
	return 1;  /* stop the scan */
}

/* pcre2_match wants a non-NULL subject even when it is empty. */
static inline bool pcre_hit(const pcre2_code *re, struct re_scratch *sc, const char *p, size_t len)
{
	return pcre2_match(re, (PCRE2_SPTR)(p ? p : ""), len, 0, 0, sc->md, NULL) >= 0;
}

static inline bool hs_run(const struct re_set *s, struct re_scratch *sc, const char *p,
			  size_t len, match_event_handler cb, void *arg)
{
	if (!s->db)
		return false;
	/* Hyperscan's length is 32 bits; chunks hold records far smaller. */
	if (len > UINT32_MAX)
		len = UINT32_MAX;
	return hs_scan(s->db, p ? p : "", (unsigned)len, 0, sc->hs, cb, arg) == HS_SCAN_TERMINATED;
}

unsigned re_set_match(const struct re_set *s, struct re_scratch *sc, const char *p, size_t len,
		      uint64_t *bits)
{
	memset(bits, 0, (s->n + 63) / 64 * sizeof(*bits));
	struct scan_ctx x = { bits, 0 };
	hs_run(s, sc, p, len, on_match_bits, &x);
	for (unsigned k = 0; k < s->nfb; k++) {
		unsigned i = s->fb[k];
		if (pcre_hit(s->re[i], sc, p, len)) {
			bits[i / 64] |= 1ull << (i % 64);
			x.count++;
		}
	}
	return x.count;
}

bool re_set_any(const struct re_set *s, struct re_scratch *sc, const char *p, size_t len)
{
	int id = -1;
	if (hs_run(s, sc, p, len, on_match_stop, &id))
		return true;
	for (unsigned k = 0; k < s->nfb; k++)
		if (pcre_hit(s->re[s->fb[k]], sc, p, len))
			return true;
	return false;
}

int re_set_first(const struct re_set *s, struct re_scratch *sc, const char *p, size_t len)
{
	/* Hyperscan reports in order of position, not of pattern, so the
	 * scan goes on until pattern 0 is seen or the subject ends; the
	 * fallbacks are tried only below the best index found so far. */
	int best = -1;
	hs_run(s, sc, p, len, on_match_first, &best);
	for (unsigned k = 0; k < s->nfb; k++) {
		unsigned i = s->fb[k];
		if (best >= 0 && (int)i > best)
			break;
		if (pcre_hit(s->re[i], sc, p, len))
			return (int)i;
	}
	return best;
}

int re_set_capture(const struct re_set *s, struct re_scratch *sc, unsigned i, const char *p,
		   size_t len, size_t *ov, unsigned nov)
{
	if (i >= s->n || !s->re[i])
		return -1;
	int rc = pcre2_match(s->re[i], (PCRE2_SPTR)(p ? p : ""), len, 0, 0, sc->md, NULL);
	if (rc < 0)
		return 0;
	uint32_t have = pcre2_get_ovector_count(sc->md);
	PCRE2_SIZE *o = pcre2_get_ovector_pointer(sc->md);
	unsigned k;
	for (k = 0; k < nov && k < have; k++) {
		bool set = o[2 * k] != PCRE2_UNSET && k < (unsigned)(rc ? rc : (int)have);
		ov[2 * k] = set ? o[2 * k] : SIZE_MAX;
		ov[2 * k + 1] = set ? o[2 * k + 1] : SIZE_MAX;
	}
	return (int)k;
}

int re_pattern_from_fb(const char *s, char *buf, size_t bufsz, unsigned *flags)
{
	size_t len = strlen(s), a = 0, b = len;
	if (len >= 2 && s[0] == '/') {
		/* "/re/" or "/re/opts" where opts are only i, m, x. */
		size_t e = len;
		while (e > 1 && strchr("imx", s[e - 1]))
			e--;
		if (e > 1 && s[e - 1] == '/') {
			for (size_t k = e; k < len; k++)
				*flags |= s[k] == 'i' ? RE_CASELESS : s[k] == 'm' ? RE_DOTALL : RE_EXTENDED;
			a = 1;
			b = e - 1;
		}
	}
	if (b - a + 1 > bufsz)
		return -ENAMETOOLONG;
	memcpy(buf, s + a, b - a);
	buf[b - a] = '\0';
	return 0;
}
