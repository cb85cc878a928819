/*
 * shard.c — the shard thread: its loop, its chunks, its rings.
 *
 * One loop iteration: take back chunks the workers returned, wait on epoll
 * (not at all when connections still have buffered work), dispatch events,
 * serve the ready connections within a budget, and push chunks that are
 * full or older than Flush. When an input's pool is empty the shard stops
 * reading that input's connections (they stay on the ready list, so TCP
 * backpressure reaches the sender) and sleeps until a worker returns a
 * chunk and wakes it through wake_fd.
 *
 * Threads: the shard's own, except shard_request_stop/shard_wake (any).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "dp_log.h"
#include "dp_time.h"
#include "dp_edit.h"
#include "psr_frame.h"
#include "shard.h"
#include "shard_rx.h"
#include "shard_store.h"
#include "shard_tls.h"
#include "dp_store.h"

struct timer_ev {
	uint8_t kind;
	int fd;
	const struct dp_input *in;
};

static uint8_t wake_tag = SHARD_EV_WAKE;

/* ---- chunks ---- */

struct dp_chunk *shard_chunk_open(struct shard *sh, struct shard_in *si)
{
	struct dp_chunk *c = dp_pool_get(&si->pool);
	if (!c && si->rb)
		c = shard_memrb_steal(si);   /* storage.type memrb: the oldest queued goes */
	if (c && sh->store && si->in->storage_type == DP_STORAGE_FILESYSTEM && shard_store_full(sh)) {
		dp_pool_put(&si->pool, c);   /* storage.full_action pause */
		c = NULL;
		if (!si->starved)
			shard_store_count_pause(sh);
	}
	if (!c) {
		si->starved = true;
		return NULL;
	}
	c->opened_ns = sh->now_ns;
	si->open = c;
	si->open_route = si->in->route;
	if (si->want_tag) {
		/* Once per chunk, not per record: see shard_emit_tagged. */
		memcpy(c->tag, si->want_tag, si->want_tag_len);
		c->tag_len = (uint16_t)si->want_tag_len;
		si->open_route = si->in->routable ? dp_pipeline_route(sh->pl, c->tag, c->tag_len) : 0;
		si->open_chain = dp_pipeline_chain(sh->pl, c->tag, c->tag_len, -1);
	}
	return c;
}

/*
 * Waking a sleeping worker is an eventfd write, and on a VM the wake-up
 * behind it costs several microseconds of this thread: with a chunk every
 * ~100 us at full rate, 5-10% of a polling shard. So a worker found asleep
 * is not woken for each chunk: the wake-up waits until WAKE_BATCH chunks
 * are on its ring, WAKE_DELAY_NS have passed, the input's pool is half
 * used, or the shard is about to block (shard_wake_flush) — whichever
 * comes first. A record waits at most WAKE_DELAY_NS longer under load and
 * not at all when the shard goes idle.
 */
#define WAKE_BATCH 4
#define WAKE_DELAY_NS 500000ull

void shard_wake_flush(struct shard *sh)
{
	for (unsigned i = 0; i < sh->nwake_pend; i++) {
		unsigned w = sh->wake_pend[i];
		sh->wake_is_pend[w] = 0;
		dp_bell_ring(sh->chan[w]->worker);
	}
	sh->nwake_pend = 0;
}

static void wake_worker(struct shard *sh, const struct dp_pool *pool, unsigned w)
{
	struct dp_chan *ch = sh->chan[w];
	if (!dp_bell_asleep(ch->worker))
		return;   /* awake: it finds the chunk on its own */
	if (dp_ring_count(ch->out) >= WAKE_BATCH || pool->nfree < pool->total / 2) {
		dp_bell_ring(ch->worker);
		return;
	}
	if (sh->wake_is_pend[w])
		return;
	if (sh->nwake_pend == 0)
		sh->wake_due_ns = sh->now_ns + WAKE_DELAY_NS;
	sh->wake_is_pend[w] = 1;
	sh->wake_pend[sh->nwake_pend++] = w;
}

void shard_chunk_send(struct shard *sh, struct dp_chunk *c, uint64_t route, const struct dp_pool *pool)
{
	c->route = route;
	struct dp_pipeline *pl = sh->pl;
	uint32_t refs = 0;
	for (uint64_t r = route; r; r &= r - 1) {
		const struct dp_output *out = pl->out[__builtin_ctzll(r)];
		refs += out->fanout ? (uint32_t)out->workers : 1;
	}
	atomic_store_explicit(&c->refs, refs, memory_order_relaxed);
	while (route) {
		unsigned o = (unsigned)__builtin_ctzll(route);
		route &= route - 1;
		struct dp_output *out = pl->out[o];
		/* A shard always feeds the same worker of an output, so one
		 * connection's records stay in order; a fanout output's
		 * workers each see every chunk, in the same order. */
		unsigned w = out->worker_base + sh->id % (unsigned)out->workers;
		unsigned wend = w + 1;
		if (out->fanout) {
			w = out->worker_base;
			wend = w + (unsigned)out->workers;
		}
		for (; w < wend; w++) {
			void *obj = c;
			/* A ring holds as many chunks as the shard's pools,
			 * and a chunk is on it at most once: cannot fail. */
			unsigned n = dp_ring_enqueue_burst(sh->chan[w]->out, &obj, 1);
			(void)n;
			wake_worker(sh, pool, w);
		}
	}
}

void shard_chunk_push(struct shard *sh, struct shard_in *si)
{
	struct dp_chunk *c = si->open;
	si->open = NULL;
	if (!c)
		return;
	/* A chunk with nothing to deliver is settled at once: its input may
	 * be waiting for it (tail: the DB offset of the lines in it). */
	if (c->nrecs == 0) {
		if (si->in->ops->chunk_released)
			si->in->ops->chunk_released(si->in, si->ctx, c);
		dp_pool_put(&si->pool, c);
		return;
	}
	uint64_t route = si->open_route;
	if (route == 0) {
		/* Routable off: delivered where it was meant to go (filters,
		 * SQL), not dropped. */
		if (si->in->routable)
			DP_CNT_ADD(si->cnt.dropped, c->nrecs);
		if (si->count_stored)
			DP_CNT_ADD(si->cnt.records, c->nrecs);
		if (si->in->ops->chunk_released)
			si->in->ops->chunk_released(si->in, si->ctx, c);
		dp_pool_put(&si->pool, c);
		return;
	}
	if (si->rb) {
		shard_memrb_push(sh, si, c, route);
		return;
	}
	/* A filesystem input's chunk is in the store before it goes on; it
	 * may wait there while the outputs are behind. */
	if (si->in->storage_type == DP_STORAGE_FILESYSTEM && sh->store && !shard_store_write(sh, si, c)) {
		dp_pool_put(&si->pool, c);
		return;
	}
	shard_chunk_send(sh, c, route, &si->pool);
}

bool shard_reclaim(struct shard *sh)
{
	bool got = false;
	void *objs[DP_BURST];
	for (unsigned w = 0; w < sh->pl->nworkers; w++) {
		unsigned n;
		if (!sh->chan[w])
			continue;
		while ((n = dp_ring_dequeue_burst(sh->chan[w]->back, objs, DP_BURST)) > 0) {
			for (unsigned i = 0; i < n; i++) {
				struct dp_chunk *c = objs[i];
				if (c->st_seq && sh->store && shard_store_released(sh, c))
					continue;   /* read back from the store: its pool */
				struct shard_in *si = &sh->ins[c->input];
				if (si->in->ops->chunk_released && !c->st_acked)
					si->in->ops->chunk_released(si->in, si->ctx, c);
				dp_pool_put(c->pool, c);
				sh->ins[c->input].starved = false;
			}
			got = true;
		}
	}
	return got;
}

#define EMIT_SPLIT 1   /* emit_one: a JSON frame of several objects */

static int emit_one(struct shard *sh, struct shard_in *si, const char *p, size_t len,
		    const char *src, size_t srclen, bool split)
{
	struct dp_chunk *c = si->open;
	if (!c && !(c = shard_chunk_open(sh, si)))
		return -EAGAIN;
	for (;;) {
		dp_chunk_rec_begin(c, sh->now_sec, sh->now_nsec);
		int prc = si->in->ops->parse(c, p, len, si->ctx);
		if (prc < 0) {
			dp_chunk_rec_abort(c);
			if (split && si->in->framing == PSR_FRAME_JSON && psr_frame_json_first(p, len))
				return EMIT_SPLIT;
			DP_CNT_ADD(si->cnt.malformed, 1);
			return 0;
		}
		if (prc == DP_PARSE_UNPARSED)
			DP_CNT_ADD(si->cnt.unparsed, 1);
		if (si->in->src_key && src) {
			/* A record that has the key already (a JSON object
			 * with "src") gets the sender's address in its place:
			 * never a key twice. */
			int dup = c->overflow ? -1 : dp_tail_find(c, si->in->src_key, si->in->src_key_len);
			if (dup >= 0)
				dp_tail_remove(c, (unsigned)dup);
			dp_chunk_put_str(c, si->in->src_key, si->in->src_key_len, src, srclen);
		}
		if (dp_chunk_rec_end(c) == 0) {
			/* A chunk of shard_emit_tagged: its own tag and chain. */
			uint64_t chain = c->tag_len ? si->open_chain : si->in->filters;
			const char *tag = c->tag_len ? c->tag : si->in->tag;
			size_t tag_len = c->tag_len ? c->tag_len : si->in->tag_len;
			if (!chain && !sh->sp) {
				if (!si->count_stored)
					DP_CNT_ADD(si->cnt.records, 1);
				return 0;
			}
			/* Filters may grow the record: give them room, so an
			 * edit that does not fit is rare (it is then counted
			 * as oversize), and a stateful filter never sees a
			 * record twice. */
			if (chain && unlikely(shard_filter_headroom_low(c)) && c->nrecs > 1) {
				dp_tail_drop(c);
				shard_chunk_push(sh, si);
				if (!(c = shard_chunk_open(sh, si)))
					return -EAGAIN;
				continue;
			}
			if (!si->count_stored)
				DP_CNT_ADD(si->cnt.records, 1);
			if (chain && !shard_filter_run(sh, si, c, tag, tag_len, chain, 0))
				return 0;
			if (sh->sp)
				shard_sp_record(sh, si, c, tag, tag_len, -1, 0);
			return 0;
		}
		if (c->nrecs == 0) {
			/* Does not fit even in an empty chunk. */
			DP_CNT_ADD(si->cnt.oversize, 1);
			return 0;
		}
		shard_chunk_push(sh, si);
		if (!(c = shard_chunk_open(sh, si)))
			return -EAGAIN;
	}
}

/* "{..}{..}" (a frame the JSON parser refused): each object a record,
 * as Fluent Bit's JSON stream tokenizer yields them. Only such frames pay
 * for the search; one that runs out of memory part way says how far it
 * got in *used, so the rest is retried and nothing twice. */
static int emit_pieces(struct shard *sh, struct shard_in *si, const char *p, size_t len,
		       const char *src, size_t srclen, size_t *used)
{
	size_t off = 0;
	while (off < len) {
		while (off < len && (p[off] == ' ' || p[off] == '\t' || p[off] == '\r' || p[off] == '\n'))
			off++;
		if (off == len)
			break;
		size_t k = psr_frame_json_first(p + off, len - off);
		if (!k)
			k = len - off;
		if (emit_one(sh, si, p + off, k, src, srclen, false) == -EAGAIN) {
			if (used)
				*used = off;
			return -EAGAIN;
		}
		off += k;
	}
	return 0;
}

int shard_emit_frame(struct shard *sh, struct shard_in *si, const char *p, size_t len,
		     const char *src, size_t srclen, size_t *used)
{
	int rc = emit_one(sh, si, p, len, src, srclen, true);
	if (unlikely(rc == EMIT_SPLIT))
		return emit_pieces(sh, si, p, len, src, srclen, used);
	return rc;
}

static inline void dgram_frame(struct shard *sh, struct shard_in *si, const char *p, size_t len,
			       const char *src, size_t srclen)
{
	/* A datagram cannot wait for memory: it is dropped and counted. */
	if (shard_emit_frame(sh, si, p, len, src, srclen, NULL) == -EAGAIN)
		DP_CNT_ADD(si->cnt.dropped, 1);
}

void shard_emit_dgram(struct shard *sh, struct shard_in *si, const char *p, size_t len,
		      const char *src, size_t srclen)
{
	while (len && (p[len - 1] == '\n' || p[len - 1] == '\0' || p[len - 1] == '\r'))
		len--;
	if (len == 0)
		return;
	const struct dp_input *in = si->in;
	if (!in->dgram_frames) {
		dgram_frame(sh, si, p, len, src, srclen);
		return;
	}
	/* Several records in one datagram: the stream framer over the
	 * datagram alone (a datagram is whole, so its unterminated last
	 * record is one too: the flush). The framer is set up per datagram,
	 * a few stores, so that nothing carries over between senders. */
	struct psr_framer fr;
	struct psr_frame f[DP_BURST];
	unsigned nf, nover;
	psr_framer_init(&fr, in->framing, in->max_frame, in->sep, in->sep_len);
	do {
		size_t used = psr_frame_burst(&fr, p, len, f, DP_BURST, &nf, &nover);
		p += used;
		len -= used;
		if (nover)
			DP_CNT_ADD(si->cnt.oversize, nover);
		for (unsigned i = 0; i < nf; i++)
			dgram_frame(sh, si, f[i].p, f[i].len, src, srclen);
	} while (nf == DP_BURST);
	struct psr_frame last;
	int rc = psr_frame_flush(&fr, p, len, &last);
	if (rc == 1)
		dgram_frame(sh, si, last.p, last.len, src, srclen);
	else if (rc < 0)
		DP_CNT_ADD(si->cnt.oversize, 1);
}

int shard_emit(struct shard *sh, unsigned input, const char *p, size_t len)
{
	return shard_emit_frame(sh, &sh->ins[input], p, len, NULL, 0, NULL);
}

int shard_emit_tagged(struct shard *sh, unsigned input, const char *tag, size_t tag_len,
		      const char *p, size_t len)
{
	struct shard_in *si = &sh->ins[input];
	if (tag_len > DP_TAG_MAX)
		tag_len = DP_TAG_MAX;
	struct dp_chunk *c = si->open;
	if (c && (c->tag_len != tag_len || memcmp(c->tag, tag, tag_len)))
		shard_chunk_push(sh, si);
	si->want_tag = tag;
	si->want_tag_len = tag_len;
	int rc = shard_emit_frame(sh, si, p, len, NULL, 0, NULL);
	si->want_tag = NULL;
	return rc;
}

/* Push chunks older than Flush; returns ms until the next one is due. */
int shard_flush_due(struct shard *sh, bool all)
{
	uint64_t next = UINT64_MAX;
	for (unsigned i = 0; i < sh->nin; i++) {
		struct shard_in *si = &sh->ins[i];
		if (!si->open || si->open->nrecs == 0)
			continue;
		uint64_t due = si->open->opened_ns + sh->flush_ns;
		if (all || due <= sh->now_ns)
			shard_chunk_push(sh, si);
		else if (due < next)
			next = due;
	}
	if (next == UINT64_MAX)
		return -1;
	return (int)((next - sh->now_ns) / 1000000ull) + 1;
}

/* ---- timers (generators) ---- */

static int timer_open(struct shard *sh, struct shard_in *si, struct dp_err *err)
{
	struct timer_ev *t = calloc(1, sizeof(*t));
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!t || fd < 0) {
		free(t);
		return dp_err_set(err, -errno, "%s: timerfd: %s", si->in->name, strerror(errno));
	}
	uint64_t ns = si->in->tick_ns ? si->in->tick_ns : 1000000000ull;
	struct itimerspec its = {
		.it_interval = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) },
		.it_value = { 0, 1 },
	};
	timerfd_settime(fd, 0, &its, NULL);
	t->kind = SHARD_EV_TIMER;
	t->fd = fd;
	t->in = si->in;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = t };
	epoll_ctl(sh->epfd, EPOLL_CTL_ADD, fd, &ev);
	si->fd = fd;
	si->ev = t;
	return 0;
}

static void timer_event(struct shard *sh, struct timer_ev *t)
{
	uint64_t ticks;
	if (read(t->fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	struct shard_in *si = &sh->ins[t->in->id];
	if (si->in->ops->tick)
		si->in->ops->tick(si->in, sh, si->ctx, sh->now_real_ns);
}

/* ---- the loop ---- */

void shard_clocks(struct shard *sh)
{
	sh->now_ns = dp_time_mono_ns();
	sh->now_real_ns = dp_time_real_ns();
	sh->now_sec = (uint32_t)(sh->now_real_ns / 1000000000ull);
	sh->now_nsec = (uint32_t)(sh->now_real_ns % 1000000000ull);
	for (unsigned i = 0; i < sh->nin; i++)
		if (sh->ins[i].in->ops->burst_begin)
			sh->ins[i].in->ops->burst_begin(sh->ins[i].ctx, sh->now_real_ns);
}

static void dispatch(struct shard *sh, struct epoll_event *evs, int n)
{
	for (int i = 0; i < n; i++) {
		uint8_t kind = *(uint8_t *)evs[i].data.ptr;
		if (kind == SHARD_EV_WAKE) {
			dp_bell_clear(&sh->bell);
		} else if (kind == SHARD_EV_TIMER) {
			timer_event(sh, evs[i].data.ptr);
		} else if (kind == SHARD_EV_INPUT) {
			struct shard_ev_input *e = evs[i].data.ptr;
			struct shard_in *si = &sh->ins[e->in->id];
			si->in->ops->tick(si->in, sh, si->ctx, sh->now_real_ns);
		} else {
			shard_net_event(sh, evs[i].data.ptr, evs[i].events);
		}
	}
}

static bool any_starved(struct shard *sh)
{
	for (unsigned i = 0; i < sh->nin; i++)
		if (sh->ins[i].starved)
			return true;
	/* Chunks wait on disk, or in a memrb queue, for memory or room the
	 * workers will give back. */
	return (sh->store && shard_store_pending(sh)) || shard_memrb_waiting(sh);
}

/* Wait for events. `busy`: connections still have work, do not block. */
static void wait_events(struct shard *sh, bool busy, int flush_ms)
{
	struct epoll_event evs[64];
	/* Connections left on the ready list by a pause can go on once their
	 * input has memory again: nothing else would wake us for them. */
	if (!busy)
		busy = shard_net_has_work(sh);
	int timeout = busy ? 0 : flush_ms;
	if (timeout != 0 || (sh->nwake_pend && sh->now_ns >= sh->wake_due_ns))
		shard_wake_flush(sh);
	if (busy && sh->rx_polling) {
		/* A polling receive queue comes back here every few hundred
		 * frames; epoll (timers, returns, TCP next to it) can wait
		 * 50 us rather than cost a system call per burst. */
		if (sh->now_ns - sh->epoll_ns < 50000) {
			shard_clocks(sh);
			return;
		}
		sh->epoll_ns = sh->now_ns;
	}
	if (!busy && (any_starved(sh) || sh->store || sh->acks_owed)) {
		/* Sleep until a worker returns a chunk; re-check after
		 * announcing it so no return slips between the two. (With a
		 * store, a returned chunk may finish a segment, to delete;
		 * with acks owed, it may be the one they wait for.) */
		dp_bell_sleep_begin(&sh->bell);
		if (shard_reclaim(sh) || shard_store_sync_due(sh))
			timeout = 0;
	}
	int n = epoll_wait(sh->epfd, evs, 64, timeout);
	dp_bell_sleep_end(&sh->bell);
	shard_clocks(sh);
	if (n > 0)
		dispatch(sh, evs, n);
}

/* Inputs with a drain op, mask of them (all: ~0): whether one has more. */
bool shard_inputs_drain(struct shard *sh, uint64_t mask)
{
	bool more = false;
	for (unsigned i = 0; i < sh->nin; i++) {
		struct shard_in *si = &sh->ins[i];
		if ((i >= 64 || (mask >> i & 1)) && si->in->ops->drain && si->ctx)
			more |= si->in->ops->drain(si->in, sh, si->ctx);
	}
	return more;
}

static void drain(struct shard *sh)
{
	uint64_t deadline = dp_time_mono_ns() + (uint64_t)(sh->pl->svc.grace * 1e9);
	shard_net_stop_accepting(sh);
	shard_net_mark_all_ready(sh);
	for (;;) {
		shard_reclaim(sh);
		shard_clocks(sh);
		bool busy = shard_net_service_ready(sh, true);
		busy |= shard_inputs_drain(sh, ~0ull);
		shard_flush_due(sh, false);
		if (!busy || sh->now_ns > deadline)
			break;
		wait_events(sh, false, 10);
	}
	shard_filters_tick(sh, true);
	shard_flush_due(sh, true);
	shard_memrb_pump(sh, true);
	shard_wake_flush(sh);
	shard_net_close_all(sh);
}

static void *shard_main(void *arg)
{
	struct shard *sh = arg;
	if (sh->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(sh->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	for (unsigned i = 0; i < sh->nin; i++) {
		struct shard_in *si = &sh->ins[i];
		if (si->in->ops->shard_ctx_create)
			si->ctx = si->in->ops->shard_ctx_create(si->in, sh->id);
	}
	shard_filters_init(sh);
	shard_clocks(sh);
	bool busy = shard_rx_poll(sh);  /* a polling backend: do not block at once */
	/* What is due at once (a tail's first scan of its files, a dummy's
	 * first tick) is served by a first turn of the loop that does not
	 * block, before the shard says it has started: so "started:" (and
	 * systemd's READY=1) means the inputs have looked around, and a line
	 * appended to a followed file after that is read. */
	bool first = true;
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		if (unlikely(atomic_load_explicit(&sh->park, memory_order_acquire))) {
			shard_park_run(sh);
			continue;   /* it took the bell's rings: look at stop again */
		}
		if (shard_reclaim(sh))
			shard_memrb_pump(sh, false);
		if (sh->store) {
			shard_store_tick(sh);
			busy |= shard_store_pump(sh);
		}
		int flush_ms = shard_flush_due(sh, false);
		if (sh->flt_ticks) {
			if (sh->now_ns - sh->flt_tick_ns >= 50000000ull)
				shard_filters_tick(sh, false);
			if (flush_ms < 0 || flush_ms > 50)
				flush_ms = 50;
		}
		if (sh->tls_hs) {
			/* TLS handshakes past their deadline (shard_tls.c). */
			int tls_ms = shard_tls_tick(sh);
			if (tls_ms >= 0 && (flush_ms < 0 || flush_ms > tls_ms))
				flush_ms = tls_ms;
		}
		wait_events(sh, busy || first, flush_ms);
		busy = shard_net_service_ready(sh, false) + shard_rx_poll(sh) > 0;  /* both run */
		if (unlikely(first)) {
			first = false;
			atomic_store_explicit(&sh->started, 1, memory_order_release);
		}
	}
	drain(sh);
	shard_close_chans(sh);
	return NULL;
}

/* ---- control ---- */

struct shard *shard_create(struct dp_pipeline *pl, unsigned id, int cpu, struct dp_err *err)
{
	struct shard *sh;
	if (posix_memalign((void **)&sh, DP_CACHE_LINE, sizeof(*sh))) {
		dp_err_set(err, -ENOMEM, "shard %u: out of memory", id);
		return NULL;
	}
	memset(sh, 0, sizeof(*sh));
	sh->id = id;
	sh->cpu = cpu;
	sh->pl = pl;
	sh->flush_ns = (uint64_t)(pl->svc.flush * 1e9);
	sh->nin = pl->nin;
	sh->epfd = epoll_create1(EPOLL_CLOEXEC);
	int brc = dp_bell_init(&sh->bell);
	sh->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* Room for every input a pipeline may have, so that a reload adds
	 * inputs without moving the ones connections point at. */
	if (posix_memalign((void **)&sh->ins, DP_CACHE_LINE, sizeof(*sh->ins) * DP_MAX_INPUTS) ||
	    sh->epfd < 0 || brc) {
		dp_err_set(err, -ENOMEM, "shard %u: cannot create epoll/eventfd", id);
		return NULL;
	}
	memset(sh->ins, 0, sizeof(*sh->ins) * DP_MAX_INPUTS);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &wake_tag };
	epoll_ctl(sh->epfd, EPOLL_CTL_ADD, sh->bell.fd, &ev);
	for (unsigned i = 0; i < pl->nin; i++)
		if (shard_in_init(sh, i, err))
			return NULL;
	sh->wake_pend = calloc(pl->nworkers ? pl->nworkers : 1, sizeof(*sh->wake_pend));
	sh->wake_is_pend = calloc(pl->nworkers ? pl->nworkers : 1, 1);
	sh->chan = calloc(pl->nworkers ? pl->nworkers : 1, sizeof(*sh->chan));
	/* Here, before the thread starts, so that the control thread reading
	 * the counters never races with their allocation. */
	sh->flt_cnt = calloc(pl->nflt ? pl->nflt : 1, sizeof(*sh->flt_cnt));
	if (!sh->wake_pend || !sh->wake_is_pend || !sh->chan || !sh->flt_cnt) {
		dp_err_set(err, -ENOMEM, "shard %u: out of memory", id);
		return NULL;
	}
	int rc = shard_store_open(sh, err);
	if (rc)
		return NULL;
	for (unsigned i = 0; sh->store && i < pl->nin; i++)
		sh->ins[i].count_stored = pl->in[i]->storage_type == DP_STORAGE_FILESYSTEM;
	sh->ring_cap = shard_ring_cap(pl);
	return sh;
}

unsigned shard_ring_cap(const struct dp_pipeline *pl)
{
	unsigned total = 0;
	for (unsigned i = 0; i < pl->nin; i++)
		total += pl->in[i]->pool_chunks;
	if (pl->store)
		total += pl->store->backlog_chunks;
	return total;
}

int shard_in_init(struct shard *sh, unsigned i, struct dp_err *err)
{
	const struct dp_pipeline *pl = sh->pl;
	struct shard_in *si = &sh->ins[i];
	memset(si, 0, sizeof(*si));
	si->in = pl->in[i];
	si->fd = -1;
	if (dp_pool_init(&si->pool, pl->in[i]->pool_chunks, (uint16_t)sh->id, (uint16_t)i) ||
	    (pl->in[i]->storage_type == DP_STORAGE_MEMRB && shard_memrb_init(si)))
		return dp_err_set(err, -ENOMEM, "%s: cannot allocate %u chunks", pl->in[i]->name,
				  pl->in[i]->pool_chunks);
	return 0;
}

void shard_in_fini(struct shard *sh, struct shard_in *si)
{
	(void)sh;
	if (si->ctx && si->in->ops->shard_ctx_destroy)
		si->in->ops->shard_ctx_destroy(si->ctx);
	si->ctx = NULL;
	if (si->ev && *(uint8_t *)si->ev == SHARD_EV_TIMER) {
		close(si->fd);
		free(si->ev);
		si->ev = NULL;
		si->fd = -1;
	}
	shard_memrb_fini(si);
	dp_pool_fini(&si->pool);
}

int shard_in_open(struct shard *sh, struct shard_in *si, struct dp_err *err)
{
	if (shard_rx_wants(si)) {
		sh->rx_polling = true;
		return shard_rx_open(sh, si, err);
	}
	if (si->in->net == DP_NET_TCP || si->in->net == DP_NET_UDP)
		return shard_net_open(sh, si, err);
	if (dp_net_is_unix(si->in->net) && sh->id == 0)
		return shard_net_open(sh, si, err);   /* a path has one owner */
	if (si->in->net == DP_NET_TIMER && (sh->id == 0 || si->in->tick_all_shards))
		return timer_open(sh, si, err);
	return 0;
}

int shard_start(struct shard *sh, struct dp_err *err)
{
	/* Sockets are opened here, on the control thread, so that a port in
	 * use fails start-up with a clear message before any thread runs. */
	for (unsigned i = 0; i < sh->nin; i++) {
		int rc = shard_in_open(sh, &sh->ins[i], err);
		if (rc)
			return rc;
	}
	int rc = pthread_create(&sh->thread, NULL, shard_main, sh);
	if (rc)
		return dp_err_set(err, -rc, "shard %u: pthread_create: %s", sh->id, strerror(rc));
	return 0;
}

void shard_request_stop(struct shard *sh)
{
	atomic_store(&sh->stop, 1);
	dp_bell_ring_always(&sh->bell);
}

void shard_close_chans(struct shard *sh)
{
	for (unsigned w = 0; sh->chan && w < sh->pl->nworkers; w++)
		if (sh->chan[w])
			dp_chan_close(sh->chan[w]);
}

void shard_join(struct shard *sh)
{
	pthread_join(sh->thread, NULL);
}

void shard_in_timer_in(struct shard *sh, unsigned input, uint64_t ns)
{
	const struct shard_in *si = &sh->ins[input];
	uint64_t every = si->in->tick_ns;
	struct itimerspec its = {
		.it_interval = { (time_t)(every / 1000000000ull), (long)(every % 1000000000ull) },
		.it_value = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) },
	};
	if (!ns)
		its.it_value.tv_nsec = 1;   /* 0 would disarm it */
	timerfd_settime(si->fd, 0, &its, NULL);
}

int shard_in_watch_fd(struct shard *sh, int fd, struct shard_ev_input *tag)
{
	tag->kind = SHARD_EV_INPUT;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };
	return epoll_ctl(sh->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

void shard_destroy(struct shard *sh)
{
	if (!sh)
		return;
	/* The workers have stopped: settle what they gave back since the
	 * thread left, so inputs see every delivered chunk (tail: its DB
	 * offsets) before their contexts go. */
	if (sh->ins && sh->chan)
		shard_reclaim(sh);
	shard_rx_close(sh);
	for (unsigned i = 0; i < sh->nin; i++)
		shard_in_fini(sh, &sh->ins[i]);
	shard_filters_fini(sh);
	shard_store_close(sh);
	free(sh->wake_pend);
	free(sh->wake_is_pend);
	free(sh->chan);   /* the channels are the runtime's */
	free(sh->flt_cnt);
	free(sh->udp);
	free(sh->rbuf);
	free(sh->ins);
	if (sh->epfd >= 0)
		close(sh->epfd);
	dp_bell_fini(&sh->bell);
	if (sh->spare_fd >= 0)
		close(sh->spare_fd);
	free(sh);
}
