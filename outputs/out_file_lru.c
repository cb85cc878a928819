/*
 * out_file_lru.c — open files by name, bounded, least recently used closed
 * first (out_file_lru.h).
 *
 * A table of `cap` entries and an open-addressed index of twice as many
 * slots (dp_fnv1a of the name, linear probing). Closing an entry rebuilds
 * the index: that happens only when more distinct files are written than
 * the bound, where the open(2) it makes room for costs more anyway.
 *
 * Threads: the output worker that owns the table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dp_common.h"
#include "out_file_lru.h"

struct entry {
	char *name;
	size_t len;
	uint64_t hash;
	int fd;                /* -1: free */
	uint64_t used;         /* the clock when last asked for */
	uint64_t pin;
	bool header_due;
};

struct out_file_lru {
	unsigned cap, n, nslots;
	struct entry *e;
	int32_t *slot;         /* entry index, -1 empty */
	uint64_t clock, evictions;
	out_file_open_fn open_fn;
	void *arg;
};

struct out_file_lru *out_file_lru_create(unsigned cap, out_file_open_fn open_fn, void *arg)
{
	struct out_file_lru *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->cap = cap ? cap : 1;
	l->nslots = 2;
	while (l->nslots < 2 * l->cap)
		l->nslots *= 2;
	l->e = calloc(l->cap, sizeof(*l->e));
	l->slot = malloc(sizeof(*l->slot) * l->nslots);
	if (!l->e || !l->slot) {
		free(l->e);
		free(l->slot);
		free(l);
		return NULL;
	}
	for (unsigned i = 0; i < l->nslots; i++)
		l->slot[i] = -1;
	l->open_fn = open_fn;
	l->arg = arg;
	return l;
}

void out_file_lru_destroy(struct out_file_lru *l)
{
	if (!l)
		return;
	for (unsigned i = 0; i < l->n; i++) {
		if (l->e[i].fd >= 0)
			close(l->e[i].fd);
		free(l->e[i].name);
	}
	free(l->e);
	free(l->slot);
	free(l);
}

static void index_put(struct out_file_lru *l, unsigned idx)
{
	unsigned mask = l->nslots - 1, s = (unsigned)l->e[idx].hash & mask;
	while (l->slot[s] >= 0)
		s = (s + 1) & mask;
	l->slot[s] = (int32_t)idx;
}

/* Close the least recently used entry not pinned now; its index. */
static int evict(struct out_file_lru *l, uint64_t pin)
{
	int victim = -1;
	for (unsigned i = 0; i < l->n; i++)
		if (l->e[i].pin != pin && (victim < 0 || l->e[i].used < l->e[victim].used))
			victim = (int)i;
	if (victim < 0)
		return -EBUSY;
	struct entry *v = &l->e[victim];
	close(v->fd);
	free(v->name);
	v->name = NULL;
	v->fd = -1;
	l->evictions++;
	for (unsigned i = 0; i < l->nslots; i++)
		l->slot[i] = -1;
	for (unsigned i = 0; i < l->n; i++)
		if (l->e[i].fd >= 0)
			index_put(l, i);
	return victim;
}

int out_file_lru_get(struct out_file_lru *l, const char *name, size_t len, uint64_t pin)
{
	uint64_t h = dp_fnv1a(DP_FNV1A_INIT, name, len);
	unsigned mask = l->nslots - 1;
	for (unsigned s = (unsigned)h & mask; l->slot[s] >= 0; s = (s + 1) & mask) {
		struct entry *e = &l->e[l->slot[s]];
		if (e->hash == h && e->len == len && !memcmp(e->name, name, len)) {
			e->used = ++l->clock;
			e->pin = pin;
			return l->slot[s];
		}
	}
	char *copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, name, len);
	copy[len] = 0;
	int idx = l->n < l->cap ? (int)l->n : evict(l, pin);
	if (idx < 0) {
		free(copy);
		return idx;
	}
	bool empty = false;
	int fd = l->open_fn(l->arg, copy, &empty);
	if (fd < 0) {
		free(copy);
		return fd;
	}
	if ((unsigned)idx == l->n)
		l->n++;
	l->e[idx] = (struct entry){ .name = copy, .len = len, .hash = h, .fd = fd, .used = ++l->clock,
				    .pin = pin, .header_due = empty };
	index_put(l, (unsigned)idx);
	return idx;
}

int out_file_lru_fd(const struct out_file_lru *l, int idx)
{
	return l->e[idx].fd;
}

bool *out_file_lru_header(struct out_file_lru *l, int idx)
{
	return &l->e[idx].header_due;
}

uint64_t out_file_lru_evictions(const struct out_file_lru *l)
{
	return l->evictions;
}
