/*
 * in_systemd.c — Fluent Bit's `systemd` input: reads the systemd journal
 * through libsystemd's sd-journal (a directory of journal files, `Path`,
 * or the local machine's journal), on one shard. The cursor database:
 * in_systemd_db.c.
 *
 * The record of an entry, as Fluent Bit's plugins/in_systemd/systemd.c
 * makes it: its time is the entry's realtime timestamp, and every field
 * of the entry is a key with a string value ("MESSAGE": "...",
 * "_PID": "42"). Strip_Underscores drops one leading '_' of a key,
 * Lowercase then lowercases it. A key the entry holds more than once
 * becomes an array of its values, in the order of the entry (Fluent Bit
 * 2.2 and later; the array keeps the key's first place here). At most
 * Max_Fields fields are taken from an entry. With a '*' in Tag, the '*'
 * is replaced by the entry's _SYSTEMD_UNIT ("unknown" when it has none),
 * so each record has its own tag: a chunk holds records of one tag
 * (shard_emit_tagged), and entries of interleaved units make small chunks.
 *
 * Reading: the journal's inotify descriptor (sd_journal_get_fd) is in the
 * shard's epoll, so appended entries are read at once; a one-second timer
 * catches the rest (Fluent Bit's pending-records timer). A turn reads at
 * most Max_Entries entries, then hands the shard back and comes again at
 * once. When the input's memory is exhausted the entry that did not fit
 * stays current and reading pauses until one of its chunks comes back.
 * No allocation per entry: libsystemd hands out pointers into its mapped
 * files; only entries with a key twice go through a scratch buffer kept
 * across entries.
 *
 * Delivery (DB set): the cursor written to the DB moves only once every
 * output took the chunk holding its entry and all chunks before it,
 * through the same chunk numbering as the tail input (shard_seq.h). Per
 * chunk the input keeps the cursor of its last entry, fetched when the
 * next entry lands in another chunk (a step back in the journal, once per
 * chunk) or at the end of a turn, never per entry. After a restart,
 * reading resumes after the DB's cursor: a crash repeats at most the
 * chunks that were in flight. (A chunk settled as it is closed, all its
 * records filtered out or unrouted, leaves the DB where it was until the
 * next chunk settles.)
 *
 * Threads: setup and teardown on the control thread; the journal, its
 * context and the DB writes on shard 0.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include "dp_edit.h"
#include "dp_log.h"
#include "in_systemd.h"
#include "shard.h"
#include "shard_seq.h"

#define TICK_NS 1000000000ull   /* Fluent Bit's timer for pending records */
#define UNIT_FIELD "_SYSTEMD_UNIT="
#define UNKNOWN_UNIT "unknown"

struct sd_cfg {
	char *path;
	char *filter_doc;          /* Systemd_Filter: read from the section, all of them */
	int filter_type;           /* 0 and, 1 or */
	char *db;
	int db_sync;               /* index in "extra|full|normal|off" */
	bool read_from_tail;
	int64_t since_min;         /* Read_Since_Minutes_Ago */
	bool lowercase;
	bool strip_underscores;
	int64_t max_fields;
	int64_t max_entries;
	/* filled by setup */
	char **filters;
	unsigned nfilters;
	struct systemd_db *dbh;
	char cursor[SYSTEMD_CURSOR_MAX];   /* the DB's at start, "" none */
};

#define C(f) offsetof(struct sd_cfg, f)

static const struct dp_opt sd_opts[] = {
	{ "Path", DP_OPT_STR, NULL, C(path), NULL, 0, 0, 0,
	  "Directory of journal files to read; unset: the local machine's journal "
	  "(/run/log/journal, /var/log/journal)." },
	{ "Systemd_Filter", DP_OPT_STR, NULL, C(filter_doc), NULL, 0, 0, 0,
	  "FIELD=VALUE: read only entries whose FIELD is VALUE (_SYSTEMD_UNIT=ssh.service). May be "
	  "given several times; see Systemd_Filter_Type." },
	{ "Systemd_Filter_Type", DP_OPT_ENUM, "Or", C(filter_type), "And|Or", 0, 0, 0,
	  "With several Systemd_Filter: And, an entry must match all; Or, any. Filters on the same "
	  "field always combine as Or (sd_journal_add_match)." },
	{ "DB", DP_OPT_STR, NULL, C(db), NULL, 0, 0, 0,
	  "SQLite file keeping the journal cursor (Fluent Bit's in_systemd_cursor table, so Fluent "
	  "Bit's DB carries over). The cursor moves once every output took the entries before it; "
	  "a restart reads on after it." },
	{ "DB.Sync", DP_OPT_ENUM, "full", C(db_sync), "extra|full|normal|off", 0, 0, 0,
	  "SQLite's synchronous pragma for the DB (full: an fsync per returned chunk)." },
	{ "Read_From_Tail", DP_OPT_BOOL, "false", C(read_from_tail), NULL, 0, 0, 0,
	  "Without a DB cursor: read only entries written after the start, not the whole journal." },
	{ "Read_Since_Minutes_Ago", DP_OPT_INT, "0", C(since_min), NULL, 0, 52560000, 0,
	  "Without a DB cursor and Read_From_Tail: start at entries of the last so many minutes; "
	  "0: from the journal's start." },
	{ "Lowercase", DP_OPT_BOOL, "false", C(lowercase), NULL, 0, 0, 0,
	  "Lowercase the field names (after Strip_Underscores)." },
	{ "Strip_Underscores", DP_OPT_BOOL, "false", C(strip_underscores), NULL, 0, 0, 0,
	  "Drop the leading underscore of trusted fields (_PID becomes PID)." },
	{ "Max_Fields", DP_OPT_INT, "8000", C(max_fields), NULL, 1, 65535, 0,
	  "Most fields taken from an entry; the rest are left out." },
	{ "Max_Entries", DP_OPT_INT, "5000", C(max_entries), NULL, 1, 10000000, 0,
	  "Most entries read per turn; more are read in the next turn, at once." },
	{ NULL },
};

/* A field copied aside (entries with a key twice), as offsets in scr. */
struct sd_kv {
	uint32_t koff, klen, voff, vlen;
};

struct sd_ctx {
	struct dp_input *in;
	struct sd_cfg *cfg;
	struct shard *sh;
	sd_journal *j;
	int fd;                    /* inotify, -1: timer only */
	struct shard_ev_input ev;
	const char *star;          /* the '*' in the input's tag, or NULL */
	bool pending;              /* the current entry is not emitted yet (memory) */
	bool paused;               /* out of memory: wait for a chunk back */
	uint32_t sec, nsec;        /* the current entry's time */
	char tag[DP_TAG_MAX];
	size_t tag_len;
	/* delivery: the cursor of the last entry of each chunk out */
	struct shard_seq seq;
	char (*cur)[SYSTEMD_CURSOR_MAX]; /* [seq % cap] */
	bool *has;                 /* [seq % cap]: cur holds that chunk's cursor */
	uint64_t last_seq;         /* chunk of the last entry emitted */
	bool have_last;
	bool last_dirty;           /* its cursor is not in cur[] yet */
	/* entries with a key twice */
	char *scr;
	size_t scr_cap, scr_len;
	struct sd_kv *kv;
	unsigned kv_cap, nkv;
	uint64_t errors;
};

static void cfg_free_filters(struct sd_cfg *cfg)
{
	for (unsigned i = 0; i < cfg->nfilters; i++)
		free(cfg->filters[i]);
	free(cfg->filters);
	cfg->filters = NULL;
	cfg->nfilters = 0;
}

static void teardown(struct dp_input *in)
{
	struct sd_cfg *cfg = in->cfg;
	in_systemd_db_close(cfg->dbh);
	cfg->dbh = NULL;
	cfg_free_filters(cfg);
}

/* Open the journal with the input's filters. 0, or -errno with err filled
 * (err->key the key at fault). */
static int journal_open(const struct sd_cfg *cfg, sd_journal **jp, struct dp_err *err)
{
	sd_journal *j = NULL;
	int rc = cfg->path ? sd_journal_open_directory(&j, cfg->path, 0) :
			     sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
	if (rc < 0) {
		err->key = "Path";
		return dp_err_set(err, rc, "cannot open the journal %s: %s",
				  cfg->path ? cfg->path : "of this machine", strerror(-rc));
	}
	for (unsigned i = 0; i < cfg->nfilters; i++) {
		rc = sd_journal_add_match(j, cfg->filters[i], 0);
		if (rc >= 0)
			rc = cfg->filter_type == 0 ? sd_journal_add_conjunction(j) :
						     sd_journal_add_disjunction(j);
		if (rc < 0) {
			sd_journal_close(j);
			err->key = "Systemd_Filter";
			return dp_err_set(err, rc, "invalid value '%s' for 'Systemd_Filter': expected "
					  "FIELD=VALUE (FIELD in capitals, digits and '_')", cfg->filters[i]);
		}
	}
	*jp = j;
	return 0;
}

static int setup(struct dp_input *in, struct dp_err *err)
{
	struct sd_cfg *cfg = in->cfg;
	cfg_free_filters(cfg);
	if (cfg->path) {
		struct stat st;
		err->key = "Path";
		if (stat(cfg->path, &st))
			return dp_err_set(err, -errno, "invalid value '%s' for 'Path': %s", cfg->path,
					  strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return dp_err_set(err, -ENOTDIR, "invalid value '%s' for 'Path': not a directory",
					  cfg->path);
	}
	/* Systemd_Filter may be repeated: the option table keeps the last,
	 * the section has them all. */
	for (unsigned i = 0; in->sec && i < in->sec->nkv; i++) {
		if (strcasecmp(in->sec->kv[i].key, "Systemd_Filter"))
			continue;
		char **f = realloc(cfg->filters, (cfg->nfilters + 1) * sizeof(*f));
		if (!f)
			return dp_err_set(err, -ENOMEM, "out of memory");
		cfg->filters = f;
		if (!(f[cfg->nfilters] = strdup(in->sec->kv[i].val)))
			return dp_err_set(err, -ENOMEM, "out of memory");
		cfg->nfilters++;
	}
	/* Open it once here, so that a bad Path or filter is a configuration
	 * error; the shard opens its own. */
	sd_journal *j;
	int rc = journal_open(cfg, &j, err);
	if (rc)
		return rc;
	sd_journal_close(j);
	if (cfg->db) {
		if (!(cfg->dbh = in_systemd_db_open(cfg->db, cfg->db_sync, err)))
			return err->code;
		if (in_systemd_db_get(cfg->dbh, cfg->cursor, sizeof(cfg->cursor)) <= 0)
			cfg->cursor[0] = '\0';
	}
	err->key = NULL;
	in->net = DP_NET_TIMER;
	in->tick_all_shards = false;   /* one journal, one reader: shard 0 */
	in->tick_ns = TICK_NS;
	in->tag_per_record = strchr(in->tag, '*') != NULL;
	return 0;
}

/* Where reading starts: after the DB's cursor, else as the keys say. */
static void journal_seek(struct sd_ctx *x)
{
	const struct sd_cfg *cfg = x->cfg;
	if (cfg->read_from_tail) {
		/* On the last entry: the first next() gives what comes after. */
		sd_journal_seek_tail(x->j);
		sd_journal_previous(x->j);
	} else if (cfg->since_min > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t now_us = (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
		uint64_t back = (uint64_t)cfg->since_min * 60000000ull;
		sd_journal_seek_realtime_usec(x->j, now_us > back ? now_us - back : 0);
	} else {
		sd_journal_seek_head(x->j);
	}
	if (!cfg->cursor[0])
		return;
	if (sd_journal_seek_cursor(x->j, cfg->cursor) < 0) {
		dp_plg_warn(x->in, "DB cursor '%.40s...' is not valid: reading as if there were none",
			    cfg->cursor);
		return;
	}
	/* seek_cursor lands before the cursor's entry, or before the next
	 * one when it is gone (vacuumed): step onto it only if it is the
	 * entry delivered last, so that no other entry is skipped. */
	if (sd_journal_next(x->j) > 0 && sd_journal_test_cursor(x->j, cfg->cursor) <= 0)
		sd_journal_previous(x->j);
	dp_plg_info(x->in, "reading on after the DB cursor %.40s...", cfg->cursor);
}

static void ctx_destroy(void *p)
{
	struct sd_ctx *x = p;
	if (!x)
		return;
	if (x->j)
		sd_journal_close(x->j);
	shard_seq_fini(&x->seq);
	free(x->cur);
	free(x->has);
	free(x->scr);
	free(x->kv);
	free(x);
}

static void *ctx_create(struct dp_input *in, unsigned shard)
{
	if (shard != 0)
		return NULL;   /* only shard 0 reads (tick_all_shards false) */
	struct sd_cfg *cfg = in->cfg;
	struct sd_ctx *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->in = in;
	x->cfg = cfg;
	x->fd = -1;
	x->ev.in = in;
	x->star = strchr(in->tag, '*');
	unsigned cap = in->pool_chunks + 2;
	x->cur = malloc(cap * sizeof(*x->cur));
	x->has = calloc(cap, sizeof(*x->has));
	struct dp_err err = { 0 };
	if (!x->cur || !x->has || shard_seq_init(&x->seq, cap) || journal_open(cfg, &x->j, &err)) {
		dp_plg_error(in, "%s", err.msg[0] ? err.msg : "out of memory");
		ctx_destroy(x);
		return NULL;
	}
	x->fd = sd_journal_get_fd(x->j);
	if (x->fd < 0)
		dp_plg_warn(in, "no journal change notification (%s): reading every second",
			strerror(-x->fd));
	journal_seek(x);
	return x;
}

/* Fire the tick timer now (more to read), then every tick_ns again. */
static void timer_now(struct sd_ctx *x)
{
	if (x->sh)
		shard_in_timer_in(x->sh, x->in->id, 0);
}

/* The field of the enumeration (KEY=VALUE) as the record names it; kbuf
 * holds a lowercased key. false: not KEY=VALUE. */
static bool field_split(const struct sd_cfg *cfg, const void *d, size_t l, char *kbuf,
			const char **k, size_t *kl, const char **v, size_t *vl)
{
	const char *p = d;
	const char *eq = memchr(p, '=', l);
	if (!eq)
		return false;
	*k = p;
	*kl = (size_t)(eq - p);
	*v = eq + 1;
	*vl = l - *kl - 1;
	if (cfg->strip_underscores && *kl && p[0] == '_') {
		(*k)++;
		(*kl)--;
	}
	if (cfg->lowercase) {
		if (*kl > 255)
			*kl = 255;   /* journal field names have at most 64 */
		for (size_t i = 0; i < *kl; i++)
			kbuf[i] = (char)tolower((unsigned char)(*k)[i]);
		*k = kbuf;
	}
	return true;
}

static int scr_add(struct sd_ctx *x, const char *p, size_t n, uint32_t *off)
{
	if (x->scr_len + n > x->scr_cap) {
		size_t cap = x->scr_cap ? x->scr_cap : 4096;
		while (cap < x->scr_len + n)
			cap *= 2;
		char *s = realloc(x->scr, cap);
		if (!s)
			return -ENOMEM;
		x->scr = s;
		x->scr_cap = cap;
	}
	memcpy(x->scr + x->scr_len, p, n);
	*off = (uint32_t)x->scr_len;
	x->scr_len += n;
	return 0;
}

static bool kv_same_key(const struct sd_ctx *x, const struct sd_kv *a, const struct sd_kv *b)
{
	return a->klen == b->klen && !memcmp(x->scr + a->koff, x->scr + b->koff, a->klen);
}

/* An entry with a key twice: its fields copied aside (the scratch grows
 * to the largest such entry and stays), then written with each repeated
 * key once, its values as an array. Rare; quadratic in the fields. */
static int parse_dups(struct dp_chunk *c, struct sd_ctx *x)
{
	const struct sd_cfg *cfg = x->cfg;
	/* Start the record over: what the fast path wrote goes. */
	dp_chunk_rec_abort(c);
	dp_chunk_rec_begin(c, x->sec, x->nsec);
	x->scr_len = 0;
	x->nkv = 0;
	const void *d;
	size_t l;
	char kbuf[256];
	sd_journal_restart_data(x->j);
	while ((int64_t)x->nkv < cfg->max_fields && sd_journal_enumerate_data(x->j, &d, &l) > 0) {
		const char *k, *v;
		size_t kl, vl;
		if (!field_split(cfg, d, l, kbuf, &k, &kl, &v, &vl))
			continue;
		if (x->nkv == x->kv_cap) {
			unsigned cap = x->kv_cap ? 2 * x->kv_cap : 64;
			struct sd_kv *kv = realloc(x->kv, cap * sizeof(*kv));
			if (!kv)
				return -ENOMEM;
			x->kv = kv;
			x->kv_cap = cap;
		}
		struct sd_kv *e = &x->kv[x->nkv];
		if (scr_add(x, k, kl, &e->koff) || scr_add(x, v, vl, &e->voff))
			return -ENOMEM;
		e->klen = (uint32_t)kl;
		e->vlen = (uint32_t)vl;
		x->nkv++;
	}
	for (unsigned i = 0; i < x->nkv; i++) {
		const struct sd_kv *e = &x->kv[i];
		bool seen = false;
		for (unsigned j = 0; j < i && !seen; j++)
			seen = kv_same_key(x, &x->kv[j], e);
		if (seen)
			continue;
		uint32_t n = 1;
		for (unsigned j = i + 1; j < x->nkv; j++)
			n += kv_same_key(x, &x->kv[j], e);
		if (n == 1) {
			dp_chunk_put_str(c, x->scr + e->koff, e->klen, x->scr + e->voff, e->vlen);
			continue;
		}
		dp_chunk_field_begin(c, x->scr + e->koff, e->klen);
		uint32_t hdr = dp_mp_array_open(c);
		for (unsigned j = i; j < x->nkv; j++)
			if (kv_same_key(x, &x->kv[j], e))
				dp_mp_str(c, x->scr + x->kv[j].voff, x->kv[j].vlen);
		dp_mp_container_patch(c, hdr, n);
		dp_chunk_field_end(c, DP_T_ARRAY);
	}
	return 0;
}

/* The record of the current entry (shard_emit calls it; again, from the
 * start, when the entry did not fit the chunk). */
static int parse(struct dp_chunk *c, const char *p, size_t len, void *ctx)
{
	(void)p;
	(void)len;
	struct sd_ctx *x = ctx;
	const struct sd_cfg *cfg = x->cfg;
	dp_chunk_rec_set_time(c, x->sec, x->nsec);
	const void *d;
	size_t l;
	char kbuf[256];
	int64_t n = 0;
	uint64_t seen = 0;   /* a bit per key hash: dp_tail_find only on a hit */
	sd_journal_restart_data(x->j);
	while (n < cfg->max_fields && sd_journal_enumerate_data(x->j, &d, &l) > 0) {
		const char *k, *v;
		size_t kl, vl;
		if (!field_split(cfg, d, l, kbuf, &k, &kl, &v, &vl))
			continue;   /* not KEY=VALUE: Fluent Bit skips it too */
		uint64_t bit = 1ull << ((kl * 7 + (kl ? (unsigned char)k[0] * 3u +
					(unsigned char)k[kl - 1] : 0u)) & 63);
		if ((seen & bit) && !c->overflow && dp_tail_find(c, k, kl) >= 0)
			return parse_dups(c, x);
		seen |= bit;
		dp_chunk_put_str(c, k, kl, v, vl);
		n++;
	}
	return 0;
}

/* The current entry's tag: Tag with its '*' replaced by the unit. */
static void tag_compose(struct sd_ctx *x)
{
	const char *tag = x->in->tag;
	const void *d;
	size_t l;
	const char *unit = UNKNOWN_UNIT;
	size_t ulen = sizeof(UNKNOWN_UNIT) - 1;
	if (sd_journal_get_data(x->j, "_SYSTEMD_UNIT", &d, &l) >= 0 && l >= sizeof(UNIT_FIELD) - 1) {
		unit = (const char *)d + sizeof(UNIT_FIELD) - 1;
		ulen = l - (sizeof(UNIT_FIELD) - 1);
	}
	size_t pre = (size_t)(x->star - tag);
	size_t suf = x->in->tag_len - pre - 1;
	size_t n = 0;
	memcpy(x->tag, tag, pre);
	n = pre;
	if (ulen > DP_TAG_MAX - n)
		ulen = DP_TAG_MAX - n;
	memcpy(x->tag + n, unit, ulen);
	n += ulen;
	if (suf > DP_TAG_MAX - n)
		suf = DP_TAG_MAX - n;
	memcpy(x->tag + n, x->star + 1, suf);
	x->tag_len = n + suf;
}

/* Put the current entry's cursor, or (back) the one before it, in the
 * slot of chunk seq, if that chunk is still out. */
static void cursor_note(struct sd_ctx *x, uint64_t seq, bool back)
{
	if (seq < x->seq.head || seq >= x->seq.tail)
		return;   /* settled already (nothing to deliver in it) */
	if (back && sd_journal_previous(x->j) <= 0)
		return;
	char *cur = NULL;
	int rc = sd_journal_get_cursor(x->j, &cur);
	if (back)
		sd_journal_next(x->j);
	if (rc < 0 || !cur)
		return;
	size_t n = strlen(cur);
	if (n < SYSTEMD_CURSOR_MAX) {
		unsigned i = (unsigned)(seq % x->seq.cap);
		memcpy(x->cur[i], cur, n + 1);
		x->has[i] = true;
	}
	free(cur);
}

/* The entry just emitted went into chunk c. */
static void track(struct sd_ctx *x, struct dp_chunk *c)
{
	if (!x->cfg->dbh || !c)
		return;
	uint64_t tail = x->seq.tail;
	uint64_t seq = shard_seq_of(&x->seq, c);
	if (seq == UINT64_MAX)
		return;   /* cannot happen: cap > the input's pool */
	if (x->seq.tail != tail)
		x->has[seq % x->seq.cap] = false;   /* a new chunk */
	if (x->have_last && seq != x->last_seq && x->last_dirty)
		cursor_note(x, x->last_seq, true);   /* the entry before closed its chunk */
	x->last_seq = seq;
	x->have_last = true;
	x->last_dirty = true;
}

static void read_turn(struct sd_ctx *x, struct shard *sh)
{
	const struct sd_cfg *cfg = x->cfg;
	struct dp_input *in = x->in;
	struct shard_in *si = &sh->ins[in->id];
	int64_t n = 0;
	while (n < cfg->max_entries) {
		if (!x->pending) {
			int r = sd_journal_next(x->j);
			if (r == 0)
				break;
			if (r < 0) {
				/* A file removed under us (vacuumed) or a read error:
				 * try again next turn rather than start over. */
				if (x->errors++ % 1000 == 0)
					dp_plg_error(in, "reading the journal: %s", strerror(-r));
				break;
			}
			x->pending = true;
		}
		uint64_t usec;
		if (sd_journal_get_realtime_usec(x->j, &usec) < 0) {
			DP_CNT_ADD(si->cnt.malformed, 1);
			x->pending = false;
			continue;
		}
		x->sec = (uint32_t)(usec / 1000000ull);
		x->nsec = (uint32_t)(usec % 1000000ull) * 1000u;
		int rc;
		if (x->star) {
			tag_compose(x);
			rc = shard_emit_tagged(sh, in->id, x->tag, x->tag_len, "", 0);
		} else {
			rc = shard_emit(sh, in->id, "", 0);
		}
		if (rc == -EAGAIN) {
			x->paused = true;   /* the entry stays current */
			break;
		}
		x->pending = false;
		n++;
		track(x, si->open);
	}
	if (x->have_last && x->last_dirty) {
		cursor_note(x, x->last_seq, x->pending);
		x->last_dirty = false;
	}
	if (n == cfg->max_entries && !x->paused)
		timer_now(x);   /* more to read: after the shard's other work */
}

static void tick(struct dp_input *in, struct shard *sh, void *ctx, uint64_t now_real_ns)
{
	(void)now_real_ns;
	struct sd_ctx *x = ctx;
	if (!x)
		return;
	if (!x->sh) {
		x->sh = sh;
		if (x->fd >= 0 && shard_in_watch_fd(sh, x->fd, &x->ev))
			dp_plg_warn(in, "cannot watch the journal for changes: reading every second");
	}
	/* Drains the inotify descriptor (it would stay readable) and notes
	 * new and removed journal files; does not move the read position. */
	sd_journal_process(x->j);
	if (!x->paused)
		read_turn(x, sh);
}

static void chunk_released(struct dp_input *in, void *ctx, struct dp_chunk *c)
{
	(void)in;
	struct sd_ctx *x = ctx;
	if (!x)
		return;
	if (x->paused) {
		x->paused = false;
		timer_now(x);
	}
	uint64_t from;
	if (!shard_seq_release(&x->seq, c, &from))
		return;
	const char *cur = NULL;
	for (uint64_t s = from; s < x->seq.head; s++) {
		unsigned i = (unsigned)(s % x->seq.cap);
		if (x->has[i])
			cur = x->cur[i];
	}
	if (cur)
		in_systemd_db_set(x->cfg->dbh, cur);
	for (uint64_t s = from; s < x->seq.head; s++)
		x->has[s % x->seq.cap] = false;
}

const struct dp_input_ops in_systemd_ops = {
	.name = "systemd",
	.desc = "Reads the systemd journal (sd-journal); cursor kept in a SQLite DB after delivery",
	.opts = sd_opts,
	.cfg_size = sizeof(struct sd_cfg),
	.setup = setup,
	.shard_ctx_create = ctx_create,
	.shard_ctx_destroy = ctx_destroy,
	.parse = parse,
	.tick = tick,
	.chunk_released = chunk_released,
	.teardown = teardown,
};
