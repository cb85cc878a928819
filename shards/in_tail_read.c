/*
 * in_tail_read.c — reading one block of a followed file (in_tail_files.c
 * decides which file and when): pread(2) of up to read_size +
 * Buffer_Max_Size bytes into the shard's buffer at the file's offset
 * (converted to UTF-8 first with an encoding key: in_tail_enc.c), cut
 * into lines there (psr_lines.h), one record per line (or each line to
 * the multiline paths, in_tail_ml.c). The unterminated tail is read again
 * next time, from its first byte, so nothing is carried between reads and
 * a file needs no buffer of its own. When the input's memory runs out,
 * the file's offset stays at the line that did not fit and reading waits
 * for a chunk to come back (in_tail.c). A copytruncate (the size below
 * the offset) starts the file over.
 *
 * Threads: the owning shard only.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dp_log.h"
#include "in_tail.h"

/*
 * The lines of one block b[0..blen) of f, read at f->off (n raw bytes).
 * enc: b is x->buf converted (in_tail_enc.c), whose positions RAW() turns
 * into x->buf's; a constant at both calls, so that the compiler makes two
 * loops and the plain one has no encoding branch at all.
 */
#define RAW(pos) (enc ? (uint64_t)in_tail_enc_raw(x, (size_t)(pos)) : (uint64_t)(pos))
static inline __attribute__((always_inline)) int
read_lines(struct tail_shard *x, struct tail_file *f, const char *b, size_t blen, size_t n,
	   const bool enc)
{
	size_t pos = 0;
	struct psr_line ln;
	int rc;
	while ((rc = psr_lines_next(&f->lr, b, blen, &pos, &ln)) == 1) {
		if (f->ml) {
			uint64_t loff = f->off + RAW(ln.p - b);
			int r = in_tail_ml_line(x, f, ln.p, ln.len, loff, f->off + RAW(pos));
			if (r == 0)
				continue;
			uint64_t stop = r < 0 ? loff : f->off + RAW(pos);
			if (enc)
				in_tail_enc_done(x, f, r < 0 ? (size_t)(ln.p - b) : pos);
			DP_CNT_ADD(x->sh->ins[x->in->id].cnt.bytes, stop - f->off);
			f->off = stop;
			return -EAGAIN;
		}
		x->cur = f;
		x->cur_off = f->off + RAW(ln.p - b);
		if (in_tail_emit(x, ln.p, ln.len) == -EAGAIN) {
			if (enc)
				in_tail_enc_done(x, f, (size_t)(ln.p - b));
			DP_CNT_ADD(x->sh->ins[x->in->id].cnt.bytes, x->cur_off - f->off);
			f->off = x->cur_off;
			x->cur = NULL;
			return -EAGAIN;
		}
		in_tail_mark(x, f, f->off + RAW(pos));
	}
	x->cur = NULL;
	if (enc)
		in_tail_enc_done(x, f, pos);
	size_t rpos = (size_t)RAW(pos);
	/* Consumed bytes are not read again (a partial line's are). */
	if (x->cfg->file_cache_advise && rpos)
		posix_fadvise(f->fd, (off_t)f->off, (off_t)rpos, POSIX_FADV_DONTNEED);
	f->off += rpos;
	struct shard_in_counters *cnt = &x->sh->ins[x->in->id].cnt;
	DP_CNT_ADD(cnt->bytes, rpos);
	if (f->lr.nlong != f->nlong_seen) {
		/* Skip_Long_Lines: counted as oversize, as frames over a limit are. */
		DP_CNT_ADD(cnt->oversize, f->lr.nlong - f->nlong_seen);
		f->nlong_seen = f->lr.nlong;
	}
	if (rc == -EMSGSIZE) {
		dp_plg_error(x->in, "%s: a line at offset %llu is longer than Buffer_Max_Size (%lld bytes): "
			 "the file is no longer followed (Skip_Long_Lines On skips such lines)",
			     f->name, (unsigned long long)f->off,
			 (long long)x->cfg->buffer_max_size);
		f->stopped = true;
		return 0;
	}
	/* A short read reached the end (as far as it was written). */
	f->at_eof = n < x->buf_cap;
	return 0;
}
#undef RAW

/* Read one block of f and hand on its lines. -EAGAIN: out of memory. */
int in_tail_file_read(struct tail_shard *x, struct tail_file *f, size_t *budget)
{
	struct stat st;
	if (fstat(f->fd, &st))
		return 0;
	if ((uint64_t)st.st_size < f->off) {
		/* copytruncate: start over; lines already read stay read. */
		dp_plg_debug(x->in, "%s truncated (%lld < %llu): reading from its start",
			 f->name, (long long)st.st_size, (unsigned long long)f->off);
		f->off = 0;
		f->lr.skipping = false;
	}
	if (st.st_nlink == 0)
		f->deleted = true;
	f->at_eof = false;
	if (f->enc && in_tail_enc_begin(x, f)) {
		f->at_eof = true;   /* auto: too short yet to tell its encoding */
		return 0;
	}
	ssize_t n = pread(f->fd, x->buf, x->buf_cap, (off_t)f->off);
	if (n <= 0) {
		f->at_eof = true;
		return 0;
	}
	*budget = (size_t)n < *budget ? *budget - (size_t)n : 0;
	if (f->enc == TAIL_ENC_NONE || f->enc == TAIL_ENC_UTF8)
		return read_lines(x, f, x->buf, (size_t)n, (size_t)n, false);
	const char *dec;
	size_t dlen = in_tail_enc_decode(x, f, (size_t)n, &dec);
	return read_lines(x, f, dec, dlen, (size_t)n, true);
}
