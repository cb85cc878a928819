/*
 * in_tail.h — what the parts of the tail input share: the options and
 * the plugin (in_tail.c), the files a shard follows (in_tail_files.c:
 * discovery, reading, rotation; in_tail_age.c: ignore_active_older_files),
 * the encodings (in_tail_enc.c) and the offsets database (in_tail_db.c).
 *
 * Threads: struct tail_cfg is written by the control thread in setup and
 * read-only afterwards (its DB handle locks itself); a struct tail_shard
 * and its files belong to one shard.
 */
#ifndef IN_TAIL_H
#define IN_TAIL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "dp_plugin.h"
#include "psr_lines.h"
#include "psr_ml.h"
#include "shard.h"
#include "shard_seq.h"

struct tail_db;
struct psr_parser;
struct psr_parser_state;

struct tail_cfg {
	char *path;
	char *exclude_path;
	char *path_key;
	char *offset_key;
	char *key;
	char *parser;
	char *db;
	int db_sync;             /* index in "extra|full|normal|off" */
	bool db_locking;
	int db_journal;          /* index in TAIL_JOURNAL_MODES */
	bool db_compare_filename;
	bool read_from_head;
	double refresh_interval;
	double rotate_wait;
	double ignore_older;    /* Ignore_Older, seconds; 0: unset */
	bool skip_long_lines;
	bool skip_empty_lines;
	int64_t buffer_chunk_size;
	int64_t buffer_max_size;
	bool inotify_watcher;
	bool exit_on_eof;
	bool file_cache_advise;
	char *fstat_interval;
	char *multiline_parser;
	char *tag_regex;
	bool ignore_active_older_files;
	char *unicode_encoding;
	char *generic_encoding;
	/* filled by setup */
	char **pats;             /* Path, split at commas */
	unsigned npats;
	char **excl;             /* Exclude_Path, split */
	unsigned nexcl;
	uint64_t ignore_older_s; /* 0: read all */
	uint64_t stat_ns;        /* fstat_interval_nsec */
	uint32_t read_size;      /* bytes per read(2) */
	size_t path_key_len, offset_key_len, key_len;
	struct tail_db *dbh;
	struct tail_claims *claims;  /* which files are followed, by any shard */
	_Atomic unsigned eof_shards; /* Exit_On_Eof: shards whose files are all read */
	void *tag_re;                /* Tag_Regex compiled (pcre2_code), or NULL */
	const struct psr_ml_parser *ml[PSR_ML_MAX_PARSERS]; /* multiline.parser */
	const char *ml_key;                /* their records' text key: key_content or "log" */
	size_t ml_key_len;
	unsigned nml;
	bool ml_container;                 /* they are docker / cri: in_tail_mlc.c */
	uint8_t enc;                       /* TAIL_ENC_*: the encodings' keys (in_tail_enc.c) */
	const char *enc_iconv;             /* generic.encoding: iconv's name for it */
};

/* A file's encoding (cfg->enc: what the keys ask; tail_file.enc: what
 * the file is, once auto decided). */
#define TAIL_ENC_NONE    0   /* bytes taken as they are: the plain path */
#define TAIL_ENC_U16LE   1
#define TAIL_ENC_U16BE   2
#define TAIL_ENC_GENERIC 3   /* generic.encoding, through iconv */
#define TAIL_ENC_AUTO    4   /* unicode.encoding auto, not decided yet */
#define TAIL_ENC_UTF8    5   /* auto found UTF-8: the plain path, its BOM skipped */

#define TAIL_JOURNAL_MODES "wal|delete|truncate|persist|memory|off"

struct tail_file {
	char *name;              /* as found (Path_Key, the DB's name column) */
	size_t name_len;
	int fd;
	dev_t dev;
	ino_t ino;
	uint64_t off;            /* next byte to read: after the last line handed on */
	uint64_t acked;          /* after the last line every output took (the DB's) */
	int64_t db_id;           /* its row in in_tail_files, 0: none */
	int wd;                  /* inotify watch, -1: none */
	struct psr_lines lr;
	bool queued;             /* on the ready queue */
	bool at_eof;             /* the last read reached the end */
	bool rotated;            /* its name now points elsewhere */
	bool deleted;            /* no name left */
	bool stopped;            /* a line over Buffer_Max_Size: not read further */
	bool db_dirty;           /* acked moved since the DB was written */
	bool gone;               /* closed; freed once no mark refers to it */
	uint64_t rotated_ns;     /* when its rotation was seen (Rotate_Wait) */
	unsigned marks;          /* marks (in_tail.c) that still refer to it */
	uint64_t nlong_seen;     /* lr.nlong already counted */
	uint8_t enc;             /* TAIL_ENC_*, NONE unless an encoding key is set */
	struct tail_ml *ml;      /* multiline.parser stream, or NULL */
	char *tag;               /* Tag with '*': its own (in_tail_tag), else NULL */
	size_t tag_len;
	struct tail_file *next;  /* every file of the shard */
	struct tail_file *qnext; /* ready queue */
	struct tail_file *dnext; /* DB write list */
};

/* Where a file's lines went: chunk `seq` holds its lines up to `off`. */
struct tail_mark {
	struct tail_file *f;
	uint64_t seq;
	uint64_t off;
};

struct tail_shard {
	struct dp_input *in;
	struct tail_cfg *cfg;
	unsigned shard;
	struct shard *sh;
	const struct psr_parser *parser;
	struct psr_parser_state *pst;
	struct tail_file *files;
	unsigned nfiles;
	struct tail_file *qhead, *qtail;   /* files with bytes to read, round robin */
	char *buf;                         /* read buffer: read_size + Buffer_Max_Size */
	size_t buf_cap;
	int ino_fd;                        /* inotify, -1: stat polling */
	struct shard_ev_input ino_tag;
	struct tail_file **by_wd;          /* [wd] */
	unsigned nwd;
	int *dir_wd;                       /* directories of the Path patterns */
	unsigned ndir;
	bool first_scan_done;
	bool eof_said;               /* Exit_On_Eof: counted in cfg->eof_shards */
	struct { char *name; uint64_t until_ns; } succ[8]; /* names of files rotated here:
	                                      their successors are ours */
	unsigned nsucc;
	uint64_t next_scan_ns, next_stat_ns, last_scan_ns;
	bool want_now;                     /* re-arm the timer at once (more to read) */
	bool paused;                       /* out of memory: wait for a chunk back */
	bool stopping;                     /* shutting down: leave the DB rows */
	/* the line being emitted (parse reads it) */
	struct tail_file *cur;
	uint64_t cur_off;
	bool ml_emit;                      /* a multiline record: raw text, no Parser */
	bool ml_timed;                     /* ... with the time of its first line */
	bool ml_pushing;                   /* inside psr_ml_stream_push */
	uint32_t ml_sec, ml_nsec;
	const struct tail_mlc_out *mlc_out; /* a docker / cri record (in_tail_mlc_write) */
	struct tail_mlc_shard *mlcs;       /* their per-shard parse scratch, or NULL */
	struct shard_seq seq;              /* this input's chunks, in the order they settle */
	struct tail_mark *marks;           /* ring, [mhead, mtail) */
	size_t mcap, mhead, mtail;
	uint64_t long_logged;
	struct tail_enc *enc;              /* encoding keys set: in_tail_enc.c's state */
	struct { dev_t dev; ino_t ino; uint64_t off; } aged[64]; /* ignore_active_older_files:
	                                      files let go, where to resume if written again */
	unsigned naged;
	uint64_t next_age_ns;
};

/* in_tail_files.c */
int in_tail_files_start(struct tail_shard *x);
void in_tail_files_stop(struct tail_shard *x);
/* Timers, inotify events, rotation and reading, within a budget. */
void in_tail_files_run(struct tail_shard *x, uint64_t now_ns);
/* Stop following f (closed; freed once no mark refers to it). */
void in_tail_file_close(struct tail_shard *x, struct tail_file *f);
/* in_tail_read.c: read one block of f and hand on its lines (budget:
 * bytes this tick may still read, lowered). 0, or -EAGAIN: out of memory,
 * f->off at the line that did not fit. */
int in_tail_file_read(struct tail_shard *x, struct tail_file *f, size_t *budget);
/* in_tail_age.c: ignore_active_older_files. Let go of quiet files (every
 * second); where a file let go resumes (false: it was not). */
void in_tail_age_check(struct tail_shard *x);
bool in_tail_aged_take(struct tail_shard *x, dev_t dev, ino_t ino, uint64_t *off);
/* Free a closed file once no mark refers to it. */
void in_tail_file_release(struct tail_shard *x, struct tail_file *f);
/* Note that f's lines up to off went into the open chunk (in_tail.c). */
void in_tail_mark(struct tail_shard *x, struct tail_file *f, uint64_t off);
/* One record of x->cur (set by the caller) into the open chunk: the
 * file's own tag when it has one. shard_emit's answers. */
int in_tail_emit(struct tail_shard *x, const char *p, size_t len);
/* A file's own tag (in_tail_tag.c), for a Tag with '*' or with Tag_Regex:
 * out holds DP_TAG_MAX bytes; the length. Setup/teardown: Tag_Regex. */
size_t in_tail_tag(const struct dp_input *in, const struct tail_cfg *cfg, const char *path, char *out);
int in_tail_tag_setup(struct dp_input *in, struct tail_cfg *cfg, struct dp_err *err);
void in_tail_tag_teardown(struct tail_cfg *cfg);

/* in_tail_enc.c: unicode.encoding, generic.encoding (see there). */
struct tail_enc;
int in_tail_enc_setup(struct tail_cfg *cfg, struct dp_err *err);
int in_tail_enc_shard_init(struct tail_shard *x);   /* after x->buf_cap is set */
void in_tail_enc_shard_fini(struct tail_shard *x);
/* Before a read of f: decide auto, skip a BOM at offset 0. 1: nothing to
 * read yet (auto, fewer than 2 bytes). */
int in_tail_enc_begin(struct tail_shard *x, struct tail_file *f);
/* The n raw bytes in x->buf as UTF-8 in *out: their length. */
size_t in_tail_enc_decode(struct tail_shard *x, struct tail_file *f, size_t n, const char **out);
/* A position of the UTF-8 block at a line's start or end (or its end):
 * the raw one in x->buf. Called with positions that do not go back. */
size_t in_tail_enc_raw(struct tail_shard *x, size_t dpos);
/* The block was consumed up to dpos: count its invalid sequences there. */
void in_tail_enc_done(struct tail_shard *x, struct tail_file *f, size_t dpos);

/* in_tail_ml.c: multiline.parser (see there). */
struct tail_ml;
int in_tail_ml_setup(struct dp_input *in, struct tail_cfg *cfg, struct dp_err *err);
int in_tail_ml_open(struct tail_shard *x, struct tail_file *f);
/* emit_open: hand on the open group (a file closed while running). */
void in_tail_ml_close(struct tail_shard *x, struct tail_file *f, bool emit_open);
/* A line of f: 0 taken, 1 taken but out of memory now (stop reading),
 * -EAGAIN not taken (read it again later). */
int in_tail_ml_line(struct tail_shard *x, struct tail_file *f, const char *p, size_t len, uint64_t off,
		 uint64_t end);
/* Emit f's pending group, if any: 0 or -EAGAIN. */
int in_tail_ml_pending(struct tail_shard *x, struct tail_file *f);
/* Flush groups idle for their timeout; sets x->paused when out of memory. */
void in_tail_ml_tick(struct tail_shard *x, uint64_t now_ns);

/* in_tail_mlc.c: multiline.parser docker / cri (see there), through the
 * in_tail_ml_* calls above, which take the same return values. */
struct tail_mlc;
struct tail_mlc_out;
struct tail_mlc *in_tail_mlc_open(struct tail_shard *x, struct tail_file *f);
void in_tail_mlc_close(struct tail_shard *x, struct tail_mlc *m, bool emit_open);
int in_tail_mlc_line(struct tail_shard *x, struct tail_mlc *m, const char *p, size_t len, uint64_t off,
		     uint64_t end);
int in_tail_mlc_pending(struct tail_shard *x, struct tail_mlc *m);
/* Flush idle groups: -EAGAIN when out of memory. */
int in_tail_mlc_tick(struct tail_shard *x, struct tail_mlc *m, uint64_t now_ns);
/* parse(): the fields of x->mlc_out into c's open record: 0, or
 * DP_PARSE_UNPARSED for a line no parser took. */
int in_tail_mlc_write(struct tail_shard *x, struct dp_chunk *c);
void in_tail_mlc_shard_free(struct tail_shard *x);

/* in_tail_claims.c: the (device, inode) pairs some shard follows, so that
 * a file is followed once although every shard scans (a rotated file's
 * successor goes to its predecessor's shard, whatever its hash). */
struct tail_claims *in_tail_claims_create(void);
void in_tail_claims_destroy(struct tail_claims *c);
bool in_tail_claim(struct tail_claims *c, dev_t dev, ino_t ino);   /* false: taken */
void in_tail_unclaim(struct tail_claims *c, dev_t dev, ino_t ino);

/* in_tail_db.c: one connection shared by the shards, locked per call. */
struct tail_db *in_tail_db_open(const struct tail_cfg *cfg, struct dp_err *err);
void in_tail_db_close(struct tail_db *db);
/* The row of (ino[, name]): 1 and *id, *off; 0 none; -EIO. */
int in_tail_db_get(struct tail_db *db, const char *name, uint64_t ino, int64_t *id, uint64_t *off);
int64_t in_tail_db_insert(struct tail_db *db, const char *name, uint64_t ino, uint64_t off);
/* Write the offsets (acked) of the files on the list, in one transaction. */
int in_tail_db_offsets(struct tail_db *db, struct tail_file *list);
int in_tail_db_rotate(struct tail_db *db, int64_t id, const char *new_name);
int in_tail_db_delete(struct tail_db *db, int64_t id);

#endif
