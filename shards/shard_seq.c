/*
 * shard_seq.c — numbering an input's chunks and finding the prefix of
 * them that came back (shard_seq.h says why).
 *
 * Threads: the shard that owns the input's context.
 */
#include <errno.h>
#include <stdlib.h>
#include "shard_seq.h"

int shard_seq_init(struct shard_seq *s, unsigned cap)
{
	*s = (struct shard_seq){ .cap = cap };
	s->released = calloc(cap, sizeof(*s->released));
	return s->released ? 0 : -ENOMEM;
}

void shard_seq_fini(struct shard_seq *s)
{
	free(s->released);
	s->released = NULL;
}

uint64_t shard_seq_of(struct shard_seq *s, struct dp_chunk *c)
{
	if (c == s->open && s->head != s->tail && c->in_meta[0] == s->tail)
		return s->tail - 1;
	if (s->tail - s->head == s->cap)
		return UINT64_MAX;
	s->released[s->tail % s->cap] = false;
	c->in_meta[0] = s->tail + 1;
	s->tail++;
	s->open = c;
	return s->tail - 1;
}

bool shard_seq_release(struct shard_seq *s, struct dp_chunk *c, uint64_t *old_head)
{
	if (old_head)
		*old_head = s->head;
	if (!c->in_meta[0])
		return false;
	uint64_t seq = c->in_meta[0] - 1;
	c->in_meta[0] = 0;
	if (c == s->open)
		s->open = NULL;
	if (seq < s->head || seq >= s->tail)
		return false;
	s->released[seq % s->cap] = true;
	while (s->head < s->tail && s->released[s->head % s->cap])
		s->head++;
	return true;
}
