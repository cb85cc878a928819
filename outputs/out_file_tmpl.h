/*
 * out_file_tmpl.h — the file output's Format template (Fluent Bit's
 * out_file `template`): a line per record from a text with {key}
 * placeholders. The text is cut into pieces once, at setup; a record is
 * then written piece by piece. Built on the control thread, read (never
 * written) by the output workers.
 */
#ifndef OUT_FILE_TMPL_H
#define OUT_FILE_TMPL_H

#include <stddef.h>
#include <stdint.h>
#include "dp_chunk.h"

/* A literal run of the text, or a placeholder {key} (key: the bytes
 * between the braces; written as "{key}" when the record lacks it). */
struct out_file_tmpl_piece {
	uint32_t off, len;   /* in text: the literal, or the key */
	bool key;
};

struct out_file_tmpl {
	char *text;
	unsigned n;
	struct out_file_tmpl_piece *p;
};

/* Cut text into pieces; 0 or -ENOMEM. */
int out_file_tmpl_init(struct out_file_tmpl *t, const char *text);
void out_file_tmpl_fini(struct out_file_tmpl *t);

/* Record r of c through the template, without the newline: the bytes
 * written, or 0 when it does not fit in cap. */
size_t out_file_tmpl_rec(const struct out_file_tmpl *t, const struct dp_chunk *c, const struct dp_rec *r,
			 char *dst, size_t cap);

#endif
