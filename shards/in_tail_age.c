/*
 * in_tail_age.c — the tail input's ignore_active_older_files: letting go
 * of followed files that went quiet for Ignore_Older, and where to resume
 * such a file if it is written again.
 *
 * Threads: the owning shard only.
 */
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "dp_log.h"
#include "in_tail.h"

/* ignore_active_older_files: where a file let go stopped, so that it
 * resumes there if written again (its lines would otherwise be read again
 * from its start: a file found after the first scan is read from 0). The
 * oldest is forgotten past 64 (its DB offset, if any, still holds). */
static void aged_add(struct tail_shard *x, const struct tail_file *f)
{
	unsigned n = sizeof(x->aged) / sizeof(x->aged[0]);
	if (x->naged == n) {
		memmove(&x->aged[0], &x->aged[1], (n - 1) * sizeof(x->aged[0]));
		x->naged--;
	}
	x->aged[x->naged].dev = f->dev;
	x->aged[x->naged].ino = f->ino;
	x->aged[x->naged].off = f->off;
	x->naged++;
}

bool in_tail_aged_take(struct tail_shard *x, dev_t dev, ino_t ino, uint64_t *off)
{
	for (unsigned i = 0; i < x->naged; i++)
		if (x->aged[i].dev == dev && x->aged[i].ino == ino) {
			*off = x->aged[i].off;
			x->aged[i] = x->aged[--x->naged];
			return true;
		}
	return false;
}

/*
 * ignore_active_older_files (Fluent Bit's flb_tail_file_purge): files
 * followed whose mtime is older than Ignore_Older are let go. Unlike
 * Fluent Bit, only once read to their end: bytes written before the file
 * went quiet are not lost. The DB row stays (as Fluent Bit's
 * flb_tail_file_remove leaves it); a later write makes the file fresh
 * again, and the next scan follows it from where it was let go.
 */
void in_tail_age_check(struct tail_shard *x)
{
	const struct tail_cfg *cfg = x->cfg;
	time_t now = time(NULL);
	for (struct tail_file *f = x->files, *next; f; f = next) {
		next = f->next;
		struct stat st;
		if (f->rotated || f->deleted || f->queued || (!f->at_eof && !f->stopped) ||
		    fstat(f->fd, &st))
			continue;
		if (st.st_mtime + (time_t)cfg->ignore_older_s >= now ||
		    ((uint64_t)st.st_size > f->off && !f->stopped))
			continue;
		dp_plg_debug(x->in, "%s: not modified for Ignore_Older, let go "
			     "(ignore_active_older_files) at offset %llu", f->name,
			     (unsigned long long)f->off);
		aged_add(x, f);
		in_tail_file_close(x, f);
	}
}
