/*
 * shard_seq.h — the order in which an input's chunks settle, for inputs
 * that acknowledge their source only once records are delivered (tail:
 * DB offsets; systemd: the journal cursor in its DB).
 *
 * An input numbers each chunk it puts records into (c->in_meta[0] =
 * seq + 1, so a fresh chunk's 0 never matches) and, when chunks come back
 * in whatever order the outputs finish them, learns which prefix of its
 * chunks is settled: every chunk before `head` came back. Whatever the
 * input noted per chunk (a file offset, a cursor) may then be written for
 * the chunks below head, never for one with an older chunk still out.
 *
 * Threads: the shard that owns the input's context.
 */
#ifndef SHARD_SEQ_H
#define SHARD_SEQ_H

#include <stdbool.h>
#include <stdint.h>
#include "dp_chunk.h"

struct shard_seq {
	bool *released;          /* [seq % cap] */
	uint64_t head, tail;     /* chunks [head, tail) are out */
	unsigned cap;            /* more than the input's pool holds */
	struct dp_chunk *open;   /* chunk of seq tail - 1 */
};

/* cap: the input's pool_chunks + 2 (a chunk is numbered at most once
 * while out). 0 or -ENOMEM. */
int shard_seq_init(struct shard_seq *s, unsigned cap);
void shard_seq_fini(struct shard_seq *s);
/* The number of chunk c (the input's open chunk), numbering it when it is
 * new; UINT64_MAX when all numbers are out (cannot happen with cap above
 * the pool). */
uint64_t shard_seq_of(struct shard_seq *s, struct dp_chunk *c);
/* c came back: true when it was numbered; head then moved past every
 * settled chunk (from *old_head, when not NULL). Clears c's number. */
bool shard_seq_release(struct shard_seq *s, struct dp_chunk *c, uint64_t *old_head);

#endif
