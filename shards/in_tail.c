/*
 * in_tail.c — Fluent Bit's `tail` input: its keys, the record of a line,
 * and when the DB offset moves. The files themselves: in_tail_files.c;
 * the database: in_tail_db.c; which shard follows which file:
 * in_tail_claims.c; multiline.parser: in_tail_ml.c (docker and cri:
 * in_tail_mlc.c).
 *
 * The record of a line, as Fluent Bit's plugins/in_tail/tail_file.c
 * packs it: without Parser {Path_Key: path, Offset_Key: offset, Key: line}
 * (each key only when set; Key defaults to "log"); with Parser
 * {Offset_Key, Path_Key, the parser's fields}, or, when the parser does
 * not match, the raw line under Key. The offset is the line's first byte
 * in its file.
 *
 * Delivery (DB set): a line's offset goes to the DB only once every
 * output took the chunk holding it and all chunks before it. The input
 * numbers its chunks (shard_seq.h, shared with the systemd input) and
 * notes, per file and chunk, the offset after its last line in that chunk
 * (a "mark": one per run of lines of one file in one chunk, not per
 * line). When chunks come back (chunk_released), the marks of the oldest
 * settled chunks give each file its delivered offset, written in one
 * transaction. A crash repeats at most the chunks that were in flight.
 *
 * Threads: setup and teardown on the control thread; the rest on the
 * shard that owns the context.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "dp_pipeline.h"
#include "in_net.h"
#include "in_tail.h"
#include "psr_parser.h"

#define C(f) offsetof(struct tail_cfg, f)
#define TICK_NS 250000000ull   /* periodic work; reading is driven by inotify */

static const struct dp_opt tail_opts[] = {
	{ "Path", DP_OPT_STR, NULL, C(path), NULL, 0, 0, DP_OPT_REQUIRED,
	  "Files to follow: glob patterns (* ? [..] {a,b} ~), several separated by commas." },
	{ "Exclude_Path", DP_OPT_STR, NULL, C(exclude_path), NULL, 0, 0, 0,
	  "Shell patterns, separated by commas, of paths not to follow (*.gz,*.zip)." },
	{ "Path_Key", DP_OPT_STR, NULL, C(path_key), NULL, 0, 0, 0,
	  "Add the file's path to each record under this key." },
	{ "Offset_Key", DP_OPT_STR, NULL, C(offset_key), NULL, 0, 0, 0,
	  "Add the line's offset in its file (its first byte) under this key." },
	{ "Key", DP_OPT_STR, "log", C(key), NULL, 0, 0, 0,
	  "Key of the line in records no parser made." },
	{ "Parser", DP_OPT_STR, NULL, C(parser), NULL, 0, 0, 0,
	  "Name of a [PARSER] applied to each line; a line it does not match is kept under Key "
	  "and counted as unparsed." },
	{ "DB", DP_OPT_STR, NULL, C(db), NULL, 0, 0, 0,
	  "SQLite file keeping each file's offset (Fluent Bit's in_tail_files table, so Fluent "
	  "Bit's DB carries over). An offset moves once every output took the lines before it." },
	{ "DB.sync", DP_OPT_ENUM, "normal", C(db_sync), "extra|full|normal|off", 0, 0, 0,
	  "SQLite's synchronous pragma: full and extra fsync each write (one per returned chunk)." },
	{ "DB.locking", DP_OPT_BOOL, "false", C(db_locking), NULL, 0, 0, 0,
	  "Hold the DB file exclusively (SQLite's locking_mode EXCLUSIVE): faster, but no other "
	  "process may read it meanwhile." },
	{ "DB.journal_mode", DP_OPT_ENUM, "wal", C(db_journal), TAIL_JOURNAL_MODES, 0, 0, 0,
	  "SQLite's journal mode; WAL is fastest but not for network file systems." },
	{ "DB.compare_filename", DP_OPT_BOOL, "false", C(db_compare_filename), NULL, 0, 0, 0,
	  "Find a file's DB row by inode and name, not by inode alone." },
	{ "Read_from_Head", DP_OPT_BOOL, "false", C(read_from_head), NULL, 0, 0, 0,
	  "Files found at start without a DB offset: read from their start, not only what is "
	  "appended. Files found later are always read from their start." },
	{ "Refresh_Interval", DP_OPT_SECONDS, "60", C(refresh_interval), NULL, 0, 86400, 0,
	  "Seconds between two scans of the Path patterns for new files (new files in a directory "
	  "named without wildcards are seen at once through inotify)." },
	{ "Rotate_Wait", DP_OPT_SECONDS, "5", C(rotate_wait), NULL, 0, 86400, 0,
	  "Seconds a rotated (renamed) file is still read, for lines written late, before it is closed." },
	{ "Ignore_Older", DP_OPT_SECONDS, NULL, C(ignore_older), NULL, 0, 0, 0,
	  "Do not follow files last modified longer ago than this: seconds, or with a unit "
	  "s, m, h, d (10m, 2h, 1d). Unset: follow all." },
	{ "ignore_active_older_files", DP_OPT_BOOL, "false", C(ignore_active_older_files), NULL, 0, 0,
	  0, "With Ignore_Older: also let go of files already followed once they were read to "
	  "their end and not modified for Ignore_Older (checked every second); their DB offset "
	  "stays, and a file written again is found by the next scan and read from where it was "
	  "let go." },
	{ "Skip_Long_Lines", DP_OPT_BOOL, "off", C(skip_long_lines), NULL, 0, 0, 0,
	  "Skip (and count) lines longer than Buffer_Max_Size; off: such a line stops the file, as "
	  "in Fluent Bit." },
	{ "Skip_Empty_Lines", DP_OPT_BOOL, "off", C(skip_empty_lines), NULL, 0, 0, 0,
	  "Make no record of empty lines." },
	{ "Buffer_Chunk_Size", DP_OPT_SIZE, "32k", C(buffer_chunk_size), NULL, 1, 64 << 20, 0,
	  "Bytes per read; sluice reads at least 128 KiB at a time." },
	{ "Buffer_Max_Size", DP_OPT_SIZE, "32k", C(buffer_max_size), NULL, 1, 64 << 20, 0,
	  "Longest line (without its LF); see Skip_Long_Lines." },
	{ "Inotify_Watcher", DP_OPT_BOOL, "true", C(inotify_watcher), NULL, 0, 0, 0,
	  "Learn of appends, renames and deletions through inotify; false: stat every file every "
	  "fstat_interval_nsec." },
	{ "file_cache_advise", DP_OPT_BOOL, "on", C(file_cache_advise), NULL, 0, 0, 0,
	  "Tell the kernel the bytes read will not be needed again (posix_fadvise DONTNEED), so "
	  "followed files do not crowd the page cache." },
	{ "fstat_interval_nsec", DP_OPT_STR, "250ms", C(fstat_interval), NULL, 0, 0, 0,
	  "Inotify_Watcher false: how often every file is checked (fstat); nanoseconds, or with a "
	  "unit ns, us, ms, s (500ms)." },
	{ "Exit_On_Eof", DP_OPT_BOOL, "false", C(exit_on_eof), NULL, 0, 0, 0,
	  "Stop sluice (as on SIGTERM: what was read is delivered) once every file found was read to "
	  "its end." },
	{ "Tag_Regex", DP_OPT_STR, NULL, C(tag_regex), NULL, 0, 0, 0,
	  "A regex over each file's path: Tag's <name> parts take its named groups (\"_\" when "
	  "absent). Without it a '*' in Tag is replaced by the path, dots for slashes." },
	{ "multiline.parser", DP_OPT_STR, NULL, C(multiline_parser), NULL, 0, 0, 0,
	  "Multiline parsers (comma list: java, python, go, ruby, nodejs or [MULTILINE_PARSER] "
	  "names) joining each file's lines into one record per message (e.g. a stack trace); "
	  "Parser is then not applied. docker, cri (or both: docker, cri) read container runtimes' "
	  "log files: each line is parsed, and the pieces of a long line are joined per stream; "
	  "they cannot be combined with the others here." },
	{ "unicode.encoding", DP_OPT_STR, NULL, C(unicode_encoding), NULL, 0, 0, 0,
	  "Files are UTF-16: UTF-16LE, UTF-16BE (a byte order mark at the start is skipped) or "
	  "auto (per file, from its BOM or first bytes; UTF-8 files pass unchanged). Records are "
	  "UTF-8; an invalid sequence becomes U+FFFD and is counted as malformed." },
	{ "generic.encoding", DP_OPT_STR, NULL, C(generic_encoding), NULL, 0, 0, 0,
	  "Files are in this legacy encoding, converted to UTF-8: ShiftJIS, UHC, GBK, GB18030, "
	  "Big5, Win866, Win874, Win1250 to Win1258 (or SJIS, CP932, CP949, CP936, CP950, "
	  "CP866...). An invalid sequence becomes U+FFFD and is counted as malformed." },
	{ NULL },
};

#define TAIL_READ_MIN (128 * 1024)

/* "a,b , c" -> {"a","b","c"}; NULL s: none. */
static int split(const char *s, char ***out, unsigned *n)
{
	*out = NULL;
	*n = 0;
	if (!s)
		return 0;
	char *dup = strdup(s);
	if (!dup)
		return -ENOMEM;
	for (char *save = NULL, *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*t))
			t++;
		size_t l = strlen(t);
		while (l && isspace((unsigned char)t[l - 1]))
			t[--l] = '\0';
		if (!l)
			continue;
		char **p = realloc(*out, (*n + 1) * sizeof(*p));
		if (!p || !(p[*n] = strdup(t))) {
			*out = p ? p : *out;
			free(dup);
			return -ENOMEM;
		}
		*out = p;
		(*n)++;
	}
	free(dup);
	return 0;
}

/* fstat_interval_nsec: nanoseconds, or a number with ns, us, ms or s. */
static int parse_ns(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s)
		return -EINVAL;
	uint64_t mul = 1;
	if (!strcasecmp(end, "") || !strcasecmp(end, "ns"))
		mul = 1;
	else if (!strcasecmp(end, "us"))
		mul = 1000;
	else if (!strcasecmp(end, "ms"))
		mul = 1000000;
	else if (!strcasecmp(end, "s"))
		mul = 1000000000;
	else
		return -EINVAL;
	*out = v * mul;
	return *out >= 1000000 ? 0 : -ERANGE;   /* at least 1 ms */
}

static void teardown(struct dp_input *in)
{
	struct tail_cfg *cfg = in->cfg;
	in_tail_db_close(cfg->dbh);
	cfg->dbh = NULL;
	in_tail_claims_destroy(cfg->claims);
	cfg->claims = NULL;
	in_tail_tag_teardown(cfg);
	for (unsigned i = 0; i < cfg->npats; i++)
		free(cfg->pats[i]);
	for (unsigned i = 0; i < cfg->nexcl; i++)
		free(cfg->excl[i]);
	free(cfg->pats);
	free(cfg->excl);
	cfg->pats = cfg->excl = NULL;
	cfg->npats = cfg->nexcl = 0;
}

static int setup(struct dp_input *in, struct dp_err *err)
{
	struct tail_cfg *cfg = in->cfg;
	err->key = "Path";
	if (split(cfg->path, &cfg->pats, &cfg->npats) || split(cfg->exclude_path, &cfg->excl, &cfg->nexcl))
		return dp_err_set(err, -ENOMEM, "out of memory");
	if (!cfg->npats)
		return dp_err_set(err, -EINVAL, "'Path' names no file pattern");
	cfg->ignore_older_s = (uint64_t)cfg->ignore_older;
	if (cfg->ignore_active_older_files && !cfg->ignore_older_s)
		dp_plg_warn(in, "'ignore_active_older_files' has no effect without 'Ignore_Older'");
	if (in_tail_enc_setup(cfg, err))
		return err->code;
	err->key = "fstat_interval_nsec";
	if (parse_ns(cfg->fstat_interval, &cfg->stat_ns))
		return dp_err_set(err, -EINVAL, "invalid value '%s' for 'fstat_interval_nsec': expected "
				  "at least 1ms, in nanoseconds or with ns, us, ms or s", cfg->fstat_interval);
	if (cfg->parser) {
		err->key = "Parser";
		if (!in->pl || !psr_parsers_find(in->pl->parsers, cfg->parser))
			return dp_err_set(err, -EINVAL, "unknown parser '%s' for 'Parser' (define it in a "
					  "[PARSER] section of the Parsers_File)", cfg->parser);
	}
	cfg->read_size = (uint32_t)(cfg->buffer_chunk_size < TAIL_READ_MIN ? TAIL_READ_MIN :
				    cfg->buffer_chunk_size);
	cfg->path_key_len = cfg->path_key ? strlen(cfg->path_key) : 0;
	cfg->offset_key_len = cfg->offset_key ? strlen(cfg->offset_key) : 0;
	cfg->key_len = strlen(cfg->key);
	if (in_tail_tag_setup(in, cfg, err))
		return err->code;
	if (cfg->multiline_parser) {
		int rc = in_tail_ml_setup(in, cfg, err);
		if (rc)
			return rc;
	}
	if (!(cfg->claims = in_tail_claims_create()))
		return dp_err_set(err, -ENOMEM, "out of memory");
	if (cfg->db && !(cfg->dbh = in_tail_db_open(cfg, err)))
		return err->code;
	in->net = DP_NET_TIMER;
	in->tick_all_shards = true;
	in->tick_ns = !cfg->inotify_watcher && cfg->stat_ns < TICK_NS ? cfg->stat_ns : TICK_NS;
	return 0;
}

static void ctx_destroy(void *p)
{
	struct tail_shard *x = p;
	if (!x)
		return;
	/* Rows of rotated files stay: their lines may not all be delivered. */
	x->stopping = true;
	in_tail_files_stop(x);
	/* Files closed with marks still out: their chunks never came back. */
	for (size_t i = x->mhead; i < x->mtail; i++) {
		struct tail_file *f = x->marks[i % x->mcap].f;
		if (--f->marks == 0)
			in_tail_file_release(x, f);
	}
	if (x->pst)
		psr_parser_state_destroy(x->pst);
	in_tail_mlc_shard_free(x);
	free(x->marks);
	shard_seq_fini(&x->seq);
	free(x);
}

static void *ctx_create(struct dp_input *in, unsigned shard)
{
	struct tail_cfg *cfg = in->cfg;
	struct tail_shard *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->in = in;
	x->cfg = cfg;
	x->shard = shard;
	x->ino_fd = -1;
	x->ino_tag.in = in;
	x->mcap = 1024;
	x->marks = malloc(x->mcap * sizeof(*x->marks));
	if (cfg->parser) {
		x->parser = psr_parsers_find(in->pl->parsers, cfg->parser);
		x->pst = psr_parser_state_create(x->parser);
	}
	if (shard_seq_init(&x->seq, in->pool_chunks + 2) || !x->marks || (cfg->parser && !x->pst) ||
	    in_tail_files_start(x)) {
		dp_plg_error(in, "shard %u: out of memory", shard);
		ctx_destroy(x);
		return NULL;
	}
	return x;
}

static int parse(struct dp_chunk *c, const char *p, size_t len, void *ctx)
{
	struct tail_shard *x = ctx;
	const struct tail_cfg *cfg = x->cfg;
	const struct tail_file *f = x->cur;
	if (x->ml_emit && x->ml_timed)
		dp_chunk_rec_set_time(c, x->ml_sec, x->ml_nsec);
	/* Fluent Bit's orders (plugins/in_tail/tail_file.c): a raw line is
	 * {Path_Key, Offset_Key, Key} (flb_tail_file_pack_line); a parsed one
	 * and a multiline record are their fields, then Path_Key, Offset_Key
	 * (flb_tail_pack_line_map, record_append_custom_keys), the multiline
	 * text under "log" or its parser's key_content, not Key. */
	if (!x->parser && !x->ml_emit) {
		if (cfg->path_key)
			dp_chunk_put_str(c, cfg->path_key, cfg->path_key_len, f->name, f->name_len);
		if (cfg->offset_key)
			dp_chunk_put_int(c, cfg->offset_key, cfg->offset_key_len, (int64_t)x->cur_off);
		dp_chunk_put_str(c, cfg->key, cfg->key_len, p, len);
		return 0;
	}
	int rc = 0;
	if (x->mlc_out)
		rc = in_tail_mlc_write(x, c);
	else if (x->ml_emit)
		dp_chunk_put_str(c, cfg->ml_key, cfg->ml_key_len, p, len);
	else
		rc = in_net_parse_with(x->parser, x->pst, c, p, len, cfg->key, cfg->key_len);
	if (rc < 0)
		return rc;
	if (cfg->path_key)
		dp_chunk_put_str(c, cfg->path_key, cfg->path_key_len, f->name, f->name_len);
	if (cfg->offset_key)
		dp_chunk_put_int(c, cfg->offset_key, cfg->offset_key_len, (int64_t)x->cur_off);
	return rc;
}

/* Fire the tick timer in `ns` (at least 1), then every tick_ns again. */
static void timer_in(struct tail_shard *x, uint64_t ns)
{
	if (x->sh)
		shard_in_timer_in(x->sh, x->in->id, ns);
}

static void timer_now(struct tail_shard *x)
{
	timer_in(x, 0);
}

static void tick(struct dp_input *in, struct shard *sh, void *ctx, uint64_t now_real_ns)
{
	(void)now_real_ns;
	struct tail_shard *x = ctx;
	if (!x)
		return;
	if (!x->sh) {
		x->sh = sh;
		if (x->ino_fd >= 0 && shard_in_watch_fd(sh, x->ino_fd, &x->ino_tag))
			dp_plg_warn(in, "shard %u: cannot watch inotify events", x->shard);
	}
	in_tail_files_run(x, sh->now_ns);
	if (x->want_now)
		timer_now(x);
	else if (x->next_scan_ns < sh->now_ns + in->tick_ns)
		timer_in(x, x->next_scan_ns > sh->now_ns ? x->next_scan_ns - sh->now_ns : 0);
}

int in_tail_emit(struct tail_shard *x, const char *p, size_t len)
{
	const struct tail_file *f = x->cur;
	if (f && f->tag)
		return shard_emit_tagged(x->sh, x->in->id, f->tag, f->tag_len, p, len);
	return shard_emit(x->sh, x->in->id, p, len);
}

void in_tail_mark(struct tail_shard *x, struct tail_file *f, uint64_t off)
{
	if (!x->cfg->dbh)
		return;
	struct dp_chunk *c = x->sh->ins[x->in->id].open;
	if (!c)
		return;
	uint64_t seq = shard_seq_of(&x->seq, c);
	if (seq == UINT64_MAX)
		return;   /* cannot happen: cap > the input's pool */
	if (x->mtail > x->mhead) {
		struct tail_mark *m = &x->marks[(x->mtail - 1) % x->mcap];
		if (m->f == f && m->seq == seq) {
			m->off = off;
			return;
		}
	}
	if (x->mtail - x->mhead == x->mcap) {
		/* Grown rarely (a chunk per file run at most), never shrunk. */
		struct tail_mark *nm = malloc(2 * x->mcap * sizeof(*nm));
		if (!nm)
			return;   /* this run's offset waits for the file's next mark */
		size_t n = x->mtail - x->mhead;
		for (size_t i = 0; i < n; i++)
			nm[i] = x->marks[(x->mhead + i) % x->mcap];
		free(x->marks);
		x->marks = nm;
		x->mcap *= 2;
		x->mhead = 0;
		x->mtail = n;
	}
	x->marks[x->mtail % x->mcap] = (struct tail_mark){ f, seq, off };
	x->mtail++;
	f->marks++;
}

static void chunk_released(struct dp_input *in, void *ctx, struct dp_chunk *c)
{
	(void)in;
	struct tail_shard *x = ctx;
	if (!x)
		return;
	if (x->paused) {
		x->paused = false;
		timer_now(x);
	}
	if (!shard_seq_release(&x->seq, c, NULL))
		return;
	struct tail_file *dirty = NULL;
	while (x->mhead < x->mtail && x->marks[x->mhead % x->mcap].seq < x->seq.head) {
		struct tail_mark *m = &x->marks[x->mhead % x->mcap];
		m->f->acked = m->off;
		m->f->marks--;
		if (!m->f->db_dirty) {
			m->f->db_dirty = true;
			m->f->dnext = dirty;
			dirty = m->f;
		}
		x->mhead++;
	}
	if (!dirty)
		return;
	in_tail_db_offsets(x->cfg->dbh, dirty);
	while (dirty) {
		struct tail_file *f = dirty;
		dirty = f->dnext;
		f->db_dirty = false;
		in_tail_file_release(x, f);
	}
}

const struct dp_input_ops in_tail_ops = {
	.name = "tail",
	.desc = "Follows files as tail -F does: globs, rotation, offsets kept in a SQLite DB",
	.opts = tail_opts,
	.cfg_size = sizeof(struct tail_cfg),
	.setup = setup,
	.shard_ctx_create = ctx_create,
	.shard_ctx_destroy = ctx_destroy,
	.parse = parse,
	.tick = tick,
	.chunk_released = chunk_released,
	.teardown = teardown,
};
