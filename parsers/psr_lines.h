/*
 * psr_lines.h — the tail input's line reader: cuts the bytes of a file,
 * read in large blocks, into lines as Fluent Bit's tail does
 * (plugins/in_tail/tail_file.c, process_content):
 *
 *   - a line ends at LF; one CR before it is dropped (CRLF files);
 *   - NUL bytes at the start of a line are skipped (the hole a writer
 *     leaves when it keeps its offset across a copytruncate rotation);
 *   - an empty line is a record ("") unless PSR_LINES_SKIP_EMPTY;
 *   - a line longer than max_line (Buffer_Max_Size) either stops the
 *     file (Fluent Bit's default: -EMSGSIZE, the caller stops following
 *     it) or, with PSR_LINES_SKIP_LONG (Skip_Long_Lines), is dropped up to
 *     its LF, however many reads that takes, and counted;
 *   - the unterminated tail of the buffer is not a line yet: the caller
 *     reads again from its first byte once the file has grown.
 *
 * Lines point into the caller's buffer (no copy). The reader holds only
 * the skipping state, so the caller may re-read the file from the start
 * of any line it returned (e.g. when the memory for records ran out) and
 * get the same lines again.
 *
 * The caller's buffer must hold more than max_line bytes, so that a line
 * of max_line bytes plus its CR LF fits.
 *
 * Threads: a reader belongs to the shard that owns its file.
 */
#ifndef PSR_LINES_H
#define PSR_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PSR_LINES_SKIP_LONG  0x1
#define PSR_LINES_SKIP_EMPTY 0x2

struct psr_lines {
	uint32_t max_line;
	uint8_t flags;
	bool skipping;       /* inside a long line: drop bytes up to its LF */
	uint64_t nlong;      /* long lines skipped */
	uint64_t nempty;     /* empty lines skipped */
};

struct psr_line {
	const char *p;       /* the line, without CR LF */
	uint32_t len;
};

void psr_lines_init(struct psr_lines *lr, uint32_t max_line, unsigned flags);

/*
 * The next line of buf[*pos..len). Returns 1 with *out set (its start is
 * out->p - buf; *pos is past its LF), 0 when buf holds no complete line
 * from *pos (*pos is then at the start of the unterminated tail, or at len
 * when skipping a long line), -EMSGSIZE when the line at *pos is longer
 * than max_line and PSR_LINES_SKIP_LONG is off (*pos at its start).
 * Bytes skipped (NULs, empty lines, a long line) are consumed too.
 */
int psr_lines_next(struct psr_lines *lr, const char *buf, size_t len, size_t *pos,
		   struct psr_line *out);

#endif
