/*
 * psr_lines.c — the tail input's line reader (see psr_lines.h). One
 * memchr per line (glibc's is vectorised), nothing else per byte.
 *
 * Threads: the shard that reads the file.
 */
#include <errno.h>
#include <string.h>
#include "psr_lines.h"

void psr_lines_init(struct psr_lines *lr, uint32_t max_line, unsigned flags)
{
	memset(lr, 0, sizeof(*lr));
	lr->max_line = max_line;
	lr->flags = (uint8_t)flags;
}

int psr_lines_next(struct psr_lines *lr, const char *buf, size_t len, size_t *pos,
		   struct psr_line *out)
{
	size_t i = *pos;
	for (;;) {
		if (lr->skipping) {
			const char *lf = memchr(buf + i, '\n', len - i);
			if (!lf) {
				*pos = len;
				return 0;
			}
			i = (size_t)(lf - buf) + 1;
			lr->skipping = false;
		}
		while (i < len && buf[i] == '\0')
			i++;
		*pos = i;
		if (i == len)
			return 0;
		const char *s = buf + i;
		const char *lf = memchr(s, '\n', len - i);
		if (!lf) {
			/* No LF yet: wait for more, unless it is already too
			 * long (a CR LF may still follow max_line bytes). */
			if (len - i <= (size_t)lr->max_line + 1)
				return 0;
			if (!(lr->flags & PSR_LINES_SKIP_LONG))
				return -EMSGSIZE;
			lr->nlong++;
			lr->skipping = true;
			i = len;
			continue;
		}
		size_t n = (size_t)(lf - s);
		size_t next = i + n + 1;
		if (n && s[n - 1] == '\r')
			n--;
		if (n > lr->max_line) {
			if (!(lr->flags & PSR_LINES_SKIP_LONG))
				return -EMSGSIZE;
			lr->nlong++;
			i = next;
			continue;
		}
		if (n == 0 && (lr->flags & PSR_LINES_SKIP_EMPTY)) {
			lr->nempty++;
			i = next;
			continue;
		}
		*pos = next;
		out->p = s;
		out->len = (uint32_t)n;
		return 1;
	}
}
