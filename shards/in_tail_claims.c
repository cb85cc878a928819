/*
 * in_tail_claims.c — the files a tail input follows, across its shards:
 * an open-addressing set of (device, inode) under a mutex. Taken only when
 * a shard is about to open a file or closes one (never per line), so one
 * lock is cheap enough and keeps "each file followed once" simple when
 * every shard scans the same patterns.
 *
 * Threads: any shard of the input; created and destroyed on the control
 * thread.
 */
#include <pthread.h>
#include <stdlib.h>
#include "in_tail.h"

struct slot {
	dev_t dev;
	ino_t ino;
	uint8_t state;   /* 0 empty, 1 used, 2 deleted */
};

struct tail_claims {
	pthread_mutex_t mu;
	struct slot *s;
	size_t cap, used;   /* used: live and deleted slots */
};

struct tail_claims *in_tail_claims_create(void)
{
	struct tail_claims *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cap = 1024;
	if (!(c->s = calloc(c->cap, sizeof(*c->s)))) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->mu, NULL);
	return c;
}

void in_tail_claims_destroy(struct tail_claims *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->mu);
	free(c->s);
	free(c);
}

static size_t hash(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ull) ^ (uint64_t)ino;
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return (size_t)(h ^ (h >> 29));
}

/* The slot of (dev, ino), or the first free one on its probe path. */
static struct slot *find(struct tail_claims *c, dev_t dev, ino_t ino, struct slot **free_slot)
{
	*free_slot = NULL;
	for (size_t i = hash(dev, ino) & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
		struct slot *s = &c->s[i];
		if (s->state == 0) {
			if (!*free_slot)
				*free_slot = s;
			return NULL;
		}
		if (s->state == 2 && !*free_slot)
			*free_slot = s;
		if (s->state == 1 && s->dev == dev && s->ino == ino)
			return s;
	}
}

static void grow(struct tail_claims *c)
{
	struct slot *old = c->s;
	size_t n = c->cap;
	struct slot *ns = calloc(n * 2, sizeof(*ns));
	if (!ns)
		return;
	c->s = ns;
	c->cap = n * 2;
	c->used = 0;
	for (size_t i = 0; i < n; i++)
		if (old[i].state == 1) {
			struct slot *f;
			find(c, old[i].dev, old[i].ino, &f);
			*f = old[i];
			c->used++;
		}
	free(old);
}

bool in_tail_claim(struct tail_claims *c, dev_t dev, ino_t ino)
{
	pthread_mutex_lock(&c->mu);
	if (2 * (c->used + 1) > c->cap)
		grow(c);
	struct slot *f;
	bool ok = !find(c, dev, ino, &f) && f && 2 * (c->used + 1) <= c->cap;
	if (ok) {
		if (f->state == 0)
			c->used++;
		*f = (struct slot){ dev, ino, 1 };
	}
	pthread_mutex_unlock(&c->mu);
	return ok;
}

void in_tail_unclaim(struct tail_claims *c, dev_t dev, ino_t ino)
{
	pthread_mutex_lock(&c->mu);
	struct slot *f;
	struct slot *s = find(c, dev, ino, &f);
	if (s)
		s->state = 2;
	pthread_mutex_unlock(&c->mu);
}
