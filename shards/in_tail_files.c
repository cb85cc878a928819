/*
 * in_tail_files.c — the files one shard follows for a tail input: finding
 * them (Path globs, Exclude_Path, Ignore_Older, Refresh_Interval scans,
 * inotify on the patterns' directories), reading them in bounded bursts,
 * and following them through rotation, truncation and deletion.
 *
 * Ownership: every shard scans the patterns, and takes the files whose
 * (device, inode) hashes to it, so a file belongs to one shard for its
 * life, through renames too (a rotated name that the glob still matches
 * is the same inode, already followed).
 *
 * Reading: in_tail_read.c; files with bytes to read wait on a ready
 * queue; each visit reads one block and goes to the back, and a tick
 * stops after BURST_BYTES, so neither one big file nor a thousand small
 * ones keep the shard from its sockets; the timer is then re-armed to
 * fire at once.
 *
 * Rotation, as Fluent Bit (plugins/in_tail/tail_file.c):
 *  - rename: inotify IN_MOVE_SELF (or a stat of the name, in stat mode
 *    and at each scan) shows the name now leads elsewhere; the open file
 *    is read on under its new name (from /proc/self/fd; the DB row is
 *    renamed, rotated=1) for Rotate_Wait seconds and to its end, then
 *    closed; the new file at the old name is found at once (a scan).
 *  - copytruncate: the size drops below the offset: read again from 0.
 *  - deleted (no link left): read to the end, closed, its DB row deleted.
 * Files found after the first scan are read from their start (Fluent
 * Bit's read_newly_discovered_files_from_head), those of the first scan
 * from their DB offset, else from the end unless Read_from_Head.
 *
 * Threads: the owning shard only.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "dp_log.h"
#include "in_tail.h"

#define BURST_BYTES (4u << 20)       /* read per tick, all files together */
#define SCAN_MIN_GAP_NS 20000000ull  /* directory events: at most 50 scans a second */
#define WATCH_MASK (IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB)

static void enqueue(struct tail_shard *x, struct tail_file *f)
{
	if (f->queued || f->gone)
		return;
	f->queued = true;
	f->qnext = NULL;
	if (x->qtail)
		x->qtail->qnext = f;
	else
		x->qhead = f;
	x->qtail = f;
}

static struct tail_file *dequeue(struct tail_shard *x)
{
	struct tail_file *f = x->qhead;
	if (!f)
		return NULL;
	x->qhead = f->qnext;
	if (!x->qhead)
		x->qtail = NULL;
	f->queued = false;
	return f;
}

static unsigned owner(unsigned nshards, dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ull) ^ (uint64_t)ino;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (unsigned)(h % nshards);
}

static bool excluded(const struct tail_cfg *cfg, const char *path)
{
	for (unsigned i = 0; i < cfg->nexcl; i++)
		if (fnmatch(cfg->excl[i], path, 0) == 0)
			return true;
	return false;
}

static struct tail_file *find(struct tail_shard *x, dev_t dev, ino_t ino)
{
	for (struct tail_file *f = x->files; f; f = f->next)
		if (f->ino == ino && f->dev == dev)
			return f;
	return NULL;
}

static void watch_set(struct tail_shard *x, struct tail_file *f)
{
	if (x->ino_fd < 0)
		return;
	char proc[64];
	/* The open file, not whatever the name leads to by now. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
	int wd = inotify_add_watch(x->ino_fd, proc, WATCH_MASK);
	if (wd < 0)   /* no /proc: the name, just opened */
		wd = inotify_add_watch(x->ino_fd, f->name, WATCH_MASK);
	if (wd < 0)
		return;   /* stat checks at each scan still see it */
	if ((unsigned)wd >= x->nwd) {
		unsigned n = x->nwd ? x->nwd : 64;
		while (n <= (unsigned)wd)
			n *= 2;
		struct tail_file **p = realloc(x->by_wd, n * sizeof(*p));
		if (!p) {
			inotify_rm_watch(x->ino_fd, wd);
			return;
		}
		memset(p + x->nwd, 0, (n - x->nwd) * sizeof(*p));
		x->by_wd = p;
		x->nwd = n;
	}
	x->by_wd[wd] = f;
	f->wd = wd;
}

static void file_open(struct tail_shard *x, const char *path, const struct stat *st)
{
	const struct tail_cfg *cfg = x->cfg;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat fst;
	if (fd < 0 || fstat(fd, &fst) || fst.st_ino != st->st_ino || fst.st_dev != st->st_dev) {
		if (fd >= 0)
			close(fd);
		return;   /* gone or replaced since the glob: the next scan sees it */
	}
	if (!in_tail_claim(cfg->claims, fst.st_dev, fst.st_ino)) {
		close(fd);   /* another shard follows it */
		return;
	}
	struct tail_file *f = calloc(1, sizeof(*f));
	if (!f || !(f->name = strdup(path))) {
		free(f);
		close(fd);
		in_tail_unclaim(cfg->claims, fst.st_dev, fst.st_ino);
		return;
	}
	f->name_len = strlen(path);
	if (cfg->tag_re || strchr(x->in->tag, '*')) {
		char tag[DP_TAG_MAX];
		f->tag_len = in_tail_tag(x->in, cfg, path, tag);
		if ((f->tag = malloc(f->tag_len + 1))) {
			memcpy(f->tag, tag, f->tag_len);
			f->tag[f->tag_len] = 0;
		} else {
			dp_plg_error(x->in, "%s: no memory for its tag: its records take '%s'", path,
				     x->in->tag);
		}
	}
	f->fd = fd;
	f->dev = fst.st_dev;
	f->ino = fst.st_ino;
	f->wd = -1;
	uint64_t size = (uint64_t)fst.st_size;
	/* First scan: from the end unless Read_from_Head; later: from the
	 * start (the file is new). A DB offset wins over both. */
	uint64_t off = (!x->first_scan_done && !cfg->read_from_head) ? size : 0;
	if (cfg->dbh) {
		int64_t id = 0;
		uint64_t dboff = 0;
		int rc = in_tail_db_get(cfg->dbh, cfg->db_compare_filename ? path : NULL,
				     (uint64_t)f->ino, &id, &dboff);
		if (rc == 1) {
			f->db_id = id;
			/* Shorter than the offset: truncated while sluice was
			 * away, or another file on a reused inode. */
			off = dboff <= size ? dboff : 0;
		} else {
			f->db_id = in_tail_db_insert(cfg->dbh, path, (uint64_t)f->ino, off);
		}
	}
	uint64_t aged_off;
	if (x->naged && in_tail_aged_take(x, f->dev, f->ino, &aged_off))
		off = aged_off <= size ? aged_off : 0;   /* let go, written again: resume */
	f->off = f->acked = off;
	f->enc = cfg->enc;
	psr_lines_init(&f->lr, (uint32_t)cfg->buffer_max_size,
		       (cfg->skip_long_lines ? PSR_LINES_SKIP_LONG : 0) |
		       (cfg->skip_empty_lines ? PSR_LINES_SKIP_EMPTY : 0));
	if (cfg->nml && in_tail_ml_open(x, f))
		dp_plg_error(x->in, "%s: no memory for its multiline stream: lines pass alone",
			 path);
	f->next = x->files;
	x->files = f;
	x->nfiles++;
	watch_set(x, f);
	dp_plg_debug(x->in, "shard %u: following %s (inode %llu) from offset %llu", x->shard,
		 path, (unsigned long long)f->ino, (unsigned long long)off);
	enqueue(x, f);
}

static void check_name(struct tail_shard *x, struct tail_file *f, uint64_t now_ns);

/* Is p the name of a file rotated on this shard (its successor then
 * stays here, keeping the name's lines on one shard)? Forgets names whose
 * time is up. */
static bool successor(struct tail_shard *x, const char *p, uint64_t now_ns)
{
	bool hit = false;
	for (unsigned i = 0; i < x->nsucc;) {
		if (x->succ[i].until_ns < now_ns) {
			free(x->succ[i].name);
			x->succ[i] = x->succ[--x->nsucc];
			continue;
		}
		if (!strcmp(x->succ[i].name, p))
			hit = true;
		i++;
	}
	return hit;
}

static void successor_add(struct tail_shard *x, const char *name, uint64_t now_ns)
{
	unsigned i = x->nsucc;
	if (i == 8) {
		free(x->succ[0].name);   /* full: forget the oldest */
		i = 0;
	} else {
		x->nsucc++;
	}
	x->succ[i].name = strdup(name);
	x->succ[i].until_ns = now_ns + 2000000000ull + (uint64_t)(x->cfg->rotate_wait * 1e9);
	if (!x->succ[i].name)
		x->succ[i] = x->succ[--x->nsucc];
}

static void scan(struct tail_shard *x, uint64_t now_ns)
{
	const struct tail_cfg *cfg = x->cfg;
	time_t now = time(NULL);
	/* First what inotify may have missed: names that lead elsewhere now
	 * (so the glob below finds their successors), bytes not announced. */
	for (struct tail_file *f = x->files; f; f = f->next) {
		check_name(x, f, now_ns);
		enqueue(x, f);
	}
	for (unsigned i = 0; i < cfg->npats; i++) {
		glob_t g;
		if (glob(cfg->pats[i], GLOB_TILDE | GLOB_BRACE | GLOB_NOSORT, NULL, &g))
			continue;
		for (size_t k = 0; k < g.gl_pathc; k++) {
			const char *p = g.gl_pathv[k];
			struct stat st;
			if (stat(p, &st) || !S_ISREG(st.st_mode) || excluded(cfg, p))
				continue;
			if ((owner(x->in->pl->nshards, st.st_dev, st.st_ino) != x->shard && !successor(x, p, now_ns)) ||
			    find(x, st.st_dev, st.st_ino))
				continue;
			if (cfg->ignore_older_s && st.st_mtime + (time_t)cfg->ignore_older_s < now)
				continue;
			file_open(x, p, &st);
		}
		globfree(&g);
	}
	x->first_scan_done = true;
	x->next_scan_ns = now_ns + (uint64_t)(cfg->refresh_interval * 1e9);
	x->last_scan_ns = now_ns;
}

/* Does the name still lead to f? If not: rotated (renamed) or deleted. */
static void check_name(struct tail_shard *x, struct tail_file *f, uint64_t now_ns)
{
	if (f->rotated || f->deleted)
		return;
	struct stat st, fst;
	if (stat(f->name, &st) == 0 && st.st_ino == f->ino && st.st_dev == f->dev)
		return;
	if (fstat(f->fd, &fst) == 0 && fst.st_nlink == 0) {
		f->deleted = true;
		return;
	}
	char proc[64], now_name[PATH_MAX];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
	ssize_t n = readlink(proc, now_name, sizeof(now_name) - 1);
	f->rotated = true;
	f->rotated_ns = now_ns;
	successor_add(x, f->name, now_ns);
	if (n > 0) {
		now_name[n] = '\0';
		char *nn = strdup(now_name);
		if (nn) {
			dp_plg_debug(x->in, "%s rotated to %s", f->name, nn);
			free(f->name);
	free(f->tag);
			f->name = nn;
			f->name_len = (size_t)n;
			if (x->cfg->dbh && f->db_id)
				in_tail_db_rotate(x->cfg->dbh, f->db_id, nn);
		}
	}
	/* The new file at the old name: look now, not at the next refresh. */
	x->next_scan_ns = now_ns;
}

void in_tail_file_close(struct tail_shard *x, struct tail_file *f)
{
	for (struct tail_file **pp = &x->files; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	x->nfiles--;
	if (f->wd >= 0 && x->ino_fd >= 0) {
		inotify_rm_watch(x->ino_fd, f->wd);
		if ((unsigned)f->wd < x->nwd && x->by_wd[f->wd] == f)
			x->by_wd[f->wd] = NULL;
	}
	/* Its last group goes now (not at shutdown: the workers are gone;
	 * with a DB its lines are read again on the next start). */
	in_tail_ml_close(x, f, !x->stopping);
	close(f->fd);
	f->fd = -1;
	in_tail_unclaim(x->cfg->claims, f->dev, f->ino);
	f->gone = true;
	in_tail_file_release(x, f);
}

void in_tail_file_release(struct tail_shard *x, struct tail_file *f)
{
	if (!f->gone || f->marks)
		return;
	/* Its lines are all delivered: a rotated or deleted file's row goes,
	 * as Fluent Bit drops the rows of rotated files it let go. */
	if (x->cfg->dbh && f->db_id && (f->rotated || f->deleted) && !x->stopping)
		in_tail_db_delete(x->cfg->dbh, f->db_id);
	free(f->name);
	free(f->tag);
	free(f);
}

static void drain_inotify(struct tail_shard *x, uint64_t now_ns)
{
	char ev[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(x->ino_fd, ev, sizeof(ev));
		if (n <= 0)
			return;
		for (char *p = ev; p < ev + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			p += sizeof(*e) + e->len;
			if (e->mask & IN_Q_OVERFLOW) {
				for (struct tail_file *f = x->files; f; f = f->next)
					enqueue(x, f);
				x->next_scan_ns = now_ns;
				continue;
			}
			bool dir = false;
			for (unsigned i = 0; i < x->ndir; i++)
				if (x->dir_wd[i] == e->wd)
					dir = true;
			if (dir) {
				uint64_t t = x->last_scan_ns + SCAN_MIN_GAP_NS;
				if (t < x->next_scan_ns)
					x->next_scan_ns = t;
				continue;
			}
			if (e->wd < 0 || (unsigned)e->wd >= x->nwd || !x->by_wd[e->wd])
				continue;
			struct tail_file *f = x->by_wd[e->wd];
			if (e->mask & IN_IGNORED) {
				x->by_wd[e->wd] = NULL;
				f->wd = -1;
			}
			if (e->mask & (IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB))
				check_name(x, f, now_ns);
			enqueue(x, f);
		}
	}
}

int in_tail_files_start(struct tail_shard *x)
{
	const struct tail_cfg *cfg = x->cfg;
	/* UTF-16: a line of Buffer_Max_Size characters takes twice the bytes. */
	bool u16 = cfg->enc && cfg->enc != TAIL_ENC_GENERIC;
	x->buf_cap = cfg->read_size + (size_t)cfg->buffer_max_size * (u16 ? 2 : 1) + (u16 ? 4 : 2);
	x->buf = malloc(x->buf_cap);
	if (!x->buf || in_tail_enc_shard_init(x))
		return -ENOMEM;
	x->ino_fd = -1;
	if (cfg->inotify_watcher) {
		x->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (x->ino_fd < 0)
			dp_plg_warn(x->in, "inotify: %s: falling back to stat polling",
				strerror(errno));
	}
	if (x->ino_fd >= 0) {
		/* New files show up at once in directories named literally. */
		x->dir_wd = calloc(cfg->npats ? cfg->npats : 1, sizeof(int));
		for (unsigned i = 0; x->dir_wd && i < cfg->npats; i++) {
			char *d = strdup(cfg->pats[i]);
			char *slash = d ? strrchr(d, '/') : NULL;
			if (slash && slash != d)
				*slash = '\0';
			if (slash && slash != d && !strpbrk(d, "*?[{~")) {
				int wd = inotify_add_watch(x->ino_fd, d, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
				if (wd >= 0)
					x->dir_wd[x->ndir++] = wd;
			}
			free(d);
		}
	}
	return 0;
}

void in_tail_files_stop(struct tail_shard *x)
{
	while (x->files)
		in_tail_file_close(x, x->files);
	if (x->ino_fd >= 0)
		close(x->ino_fd);
	x->ino_fd = -1;
	free(x->by_wd);
	free(x->dir_wd);
	free(x->buf);
	in_tail_enc_shard_fini(x);
	for (unsigned i = 0; i < x->nsucc; i++)
		free(x->succ[i].name);
	x->nsucc = 0;
}

/* Exit_On_Eof (Fluent Bit stops once its file is read to the end): once
 * every shard found all its files at their end after the first scan,
 * sluice stops as on SIGTERM (what was read is delivered within Grace).
 * Lines appended meanwhile are read if they come before the stop. */
static void eof_check(struct tail_shard *x)
{
	for (struct tail_file *f = x->files; f; f = f->next)
		if (!f->at_eof && !f->stopped)
			return;
	x->eof_said = true;
	struct tail_cfg *cfg = (struct tail_cfg *)x->cfg;   /* only eof_shards changes */
	if (atomic_fetch_add(&cfg->eof_shards, 1) + 1 == x->sh->pl->nshards) {
		dp_plg_info(x->in, "Exit_On_Eof: every file read to its end, stopping");
		kill(getpid(), SIGTERM);
	}
}

void in_tail_files_run(struct tail_shard *x, uint64_t now_ns)
{
	const struct tail_cfg *cfg = x->cfg;
	x->want_now = false;   /* paused: chunk_released re-arms the timer */
	if (x->ino_fd >= 0)
		drain_inotify(x, now_ns);
	if (now_ns >= x->next_scan_ns)
		scan(x, now_ns);
	if (now_ns >= x->next_stat_ns) {
		/* Stat mode: every file, as Fluent Bit's stat watcher
		 * (fstat_interval_nsec). inotify: only rotated files, whose
		 * Rotate_Wait may be over. */
		for (struct tail_file *f = x->files; f; f = f->next)
			if (x->ino_fd < 0 || f->rotated)
				enqueue(x, f);
		x->next_stat_ns = now_ns + (x->ino_fd < 0 ? cfg->stat_ns : 250000000ull);
	}
	if (x->paused)
		return;
	if (cfg->nml) {
		in_tail_ml_tick(x, now_ns);
		if (x->paused)
			return;
	}
	size_t budget = BURST_BYTES;
	struct tail_file *f;
	while (budget && (f = dequeue(x))) {
		if (x->ino_fd < 0)
			check_name(x, f, now_ns);
		if (f->stopped) {
			/* Not read further; let go once its name moved on. */
			if (f->rotated || f->deleted)
				in_tail_file_close(x, f);
			continue;
		}
		if (in_tail_file_read(x, f, &budget) == -EAGAIN) {
			/* First in line when memory is back. */
			f->queued = true;
			f->qnext = x->qhead;
			x->qhead = f;
			if (!x->qtail)
				x->qtail = f;
			x->paused = true;
			return;
		}
		if (!f->at_eof) {
			enqueue(x, f);
			continue;
		}
		bool waited = f->rotated && now_ns - f->rotated_ns >= (uint64_t)(cfg->rotate_wait * 1e9);
		if (f->deleted || waited) {
			dp_plg_debug(x->in, "%s: %s, closed", f->name,
				 f->deleted ? "deleted" : "rotated and Rotate_Wait over");
			in_tail_file_close(x, f);
		}
	}
	/* After reading: files read to their end are off the queue now (a
	 * scan queues every file). */
	if (cfg->ignore_active_older_files && cfg->ignore_older_s && now_ns >= x->next_age_ns) {
		in_tail_age_check(x);
		x->next_age_ns = now_ns + 1000000000ull;
	}
	x->want_now = x->qhead != NULL;
	if (cfg->exit_on_eof && !x->eof_said && x->first_scan_done && !x->qhead)
		eof_check(x);
}
