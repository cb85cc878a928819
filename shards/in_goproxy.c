/*
 * in_goproxy.c — Fluent Bit's Go input plugin interface: an object built
 * with fluent-bit-go's input package (or anything exporting the same
 * functions) becomes a sluice input, unchanged. What the object sees is
 * what Fluent Bit's proxy gives it (src/flb_plugin_proxy.c,
 * src/proxy/go/go.c; structs in dp_goproxy.h):
 *
 *   FLBPluginRegister(def)        once, when loaded: type 1 (input);
 *   FLBPluginInit(plugin)         per [INPUT], at start-up: FLB_OK or it
 *       fails; keys through plugin->api->input_get_property(key,
 *       plugin->i_ins), for the instance's life;
 *   FLBPluginInputCallback(&data, &size)   again and again: data, size a
 *       buffer of msgpack events [time, map] one after another (time an
 *       EventTime, ext type 0, or an integer or a float); the call may
 *       block (fluent-bit-go's example sleeps 1 s in it). As in Fluent
 *       Bit, the buffer is taken when size > 0 and the answer is not -1,
 *       whatever else it answers (FLB_OK, FLB_ERROR, FLB_RETRY); then
 *   FLBPluginInputCleanupCallback(data) when exported (the plugin frees),
 *       else free(data), as Fluent Bit does;
 *   FLBPluginExit() (else FLBPluginExitCtx(ctx)) at the teardown of the
 *       object's last instance (a reload may make a new instance before
 *       the old one goes: the plugin's globals are the new one's).
 *
 * Fluent Bit calls the callback from a collector timer of 1 s
 * (PROXY_CALLBACK_TIME) in the input's own thread; here each instance has
 * a collector thread of its own that calls it every Collect_Interval
 * (default 1 s, as Fluent Bit; 0: again as soon as it returned a buffer,
 * 10 ms after an empty answer), so a
 * blocking plugin never holds a shard. Buffers go to shard 0 through a
 * lock-free SPSC ring (full) and come back through another (done) to be
 * released on the collector thread, where they were made: at most
 * GOIN_BUFS are out at a time. When none is free the collector waits for
 * one to come back (on its doorbell, dp_chan.h, in 100 ms slices so a stop
 * is seen), then calls the plugin again: nothing is dropped, the plugin
 * is slowed down. Shard 0 is woken through an eventfd it watches, takes
 * the events buffer by buffer into its chunks (psr_fwd_next_loose, and
 * psr_fwd_record for the map, as the forward and http inputs do), and
 * when its memory is exhausted stops until a chunk comes back. What is
 * not an event is counted malformed and skipped.
 *
 * Threads: create, setup and teardown on the control thread; the
 * collector thread calls the plugin; tick, parse, chunk_released and the
 * context on shard 0. Teardown joins the collector (a call in progress
 * runs to its end).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "dp_chan.h"
#include "dp_ring.h"
#include "dp_time.h"
#include "in_goproxy.h"
#include "psr_forward.h"
#include "shard.h"

#define GOIN_BUFS 4
#define TICK_NS 100000000ull      /* a look at the ring should a wake-up be missed */
#define WAIT_MS 100
#define EMPTY_MS 10               /* Collect_Interval 0: after an empty answer */

typedef int (*go_collect_fn)(void **, size_t *);
typedef int (*go_cleanup_fn)(void *);

/* One loaded Go object; ops first, so an instance finds it from in->ops. */
struct goin {
	struct dp_input_ops ops;
	dp_goproxy_init_fn init;
	go_collect_fn collect;
	go_cleanup_fn cleanup;
	dp_goproxy_exit_fn exit;
	dp_goproxy_exit_ctx_fn exit_ctx;
	struct flb_plugin_proxy_def def;
	/* What FLBPluginInit is given, one per object: the callback has no
	 * instance context, so a plugin keeps Init's pointer in its globals
	 * and reads keys through it later; a reload sets an instance up again
	 * (FLBPluginInit anew) and may then drop the new copy, keeping the
	 * running one, so that pointer must outlive any instance. */
	struct dp_goproxy_inst gi;
	unsigned users;           /* instances inited; FLBPluginExit at the last one's end */
};

struct goin_buf {
	void *data;
	size_t len;
};

/* An instance: its in->cfg (cfg_size), so the core allocates it. */
struct goin_cfg {
	double interval;          /* Collect_Interval, seconds */
	struct goin *g;
	bool inited;              /* counted in g->users */
	struct dp_ring *full;     /* collector -> shard 0 */
	struct dp_ring *done;     /* shard 0 -> collector */
	struct goin_buf bufs[GOIN_BUFS];
	struct dp_bell bell;      /* the collector's: a buffer came back, or stop */
	int efd;                  /* shard 0's: a buffer is in full */
	bool bell_ok;
	bool started;
	pthread_t thread;
	_Atomic int stop;
	_Atomic bool exited;      /* the collector returned: it hands over no more */
};

/* Shard 0's side. */
struct goin_shard {
	struct goin_cfg *cfg;
	struct dp_input *in;
	struct shard *sh;
	struct shard_ev_input ev;
	struct goin_buf *cur;     /* the buffer being taken, or NULL */
	const uint8_t *p, *end;
	struct psr_fwd_entry e;   /* the event parse writes */
	bool pending;             /* e is read but not yet in a chunk */
	bool paused;              /* memory exhausted: until a chunk comes back */
};

#define C(f) offsetof(struct goin_cfg, f)

static const struct dp_opt goin_opts[] = {
	{ "Collect_Interval", DP_OPT_SECONDS, "1", C(interval), NULL, 0, 3600, 0,
	  "How often the plugin's FLBPluginInputCallback is called (Fluent Bit: every second); "
	  "0: again as soon as it returned a buffer (10 ms after an empty answer). sluice's own key." },
	{ NULL },
};

/* ---- the collector thread ---- */

static void release(const struct goin *g, struct goin_buf *b)
{
	if (g->cleanup)
		g->cleanup(b->data);
	else
		free(b->data);
	b->data = NULL;
	b->len = 0;
}

/* Sleep on the bell up to ms, unless a buffer came back or stop is set. */
static void bell_wait(struct goin_cfg *x, int ms)
{
	dp_bell_sleep_begin(&x->bell);
	if (!dp_ring_count(x->done) && !atomic_load(&x->stop)) {
		struct pollfd pfd = { .fd = x->bell.fd, .events = POLLIN };
		if (poll(&pfd, 1, ms) > 0)
			dp_bell_clear(&x->bell);
	}
	dp_bell_sleep_end(&x->bell);
}

static void *collector(void *arg)
{
	struct goin_cfg *x = arg;
	const struct goin *g = x->g;
	struct goin_buf *spare[GOIN_BUFS];
	unsigned nspare = 0;
	for (unsigned i = 0; i < GOIN_BUFS; i++)
		spare[nspare++] = &x->bufs[i];
	uint64_t every = (uint64_t)(x->interval * 1e9), next = dp_time_mono_ns() + every;
	while (!atomic_load(&x->stop)) {
		void *back[GOIN_BUFS];
		unsigned n = dp_ring_dequeue_burst(x->done, back, GOIN_BUFS);
		for (unsigned i = 0; i < n; i++) {
			release(g, back[i]);
			spare[nspare++] = back[i];
		}
		if (!nspare) {            /* backpressure: wait for shard 0 */
			bell_wait(x, WAIT_MS);
			continue;
		}
		uint64_t now = dp_time_mono_ns();
		if (every && now < next) {
			uint64_t ms = (next - now + 999999) / 1000000;
			bell_wait(x, ms > WAIT_MS ? WAIT_MS : (int)ms);
			continue;
		}
		next = (every && now < next + every ? next : now) + every;
		void *data = NULL;
		size_t len = 0;
		int rc = g->collect(&data, &len);
		if (!len || rc == -1) {   /* as Fluent Bit: nothing taken */
			if (!every)       /* a plugin with nothing to say must not spin */
				bell_wait(x, EMPTY_MS);
			continue;
		}
		struct goin_buf *b = spare[--nspare];
		b->data = data;
		b->len = len;
		void *o = b;
		dp_ring_enqueue_burst(x->full, &o, 1);   /* never full: GOIN_BUFS slots */
		uint64_t one = 1;
		if (write(x->efd, &one, sizeof(one)) < 0) {
			/* the counter is far from overflowing; shard 0 also ticks */
		}
	}
	atomic_store(&x->exited, true);
	return NULL;
}

/* ---- control thread ---- */

static int setup(struct dp_input *in, struct dp_err *err)
{
	struct goin_cfg *x = in->cfg;
	struct goin *g = (struct goin *)in->ops;
	x->g = g;
	x->efd = -1;
	x->full = dp_ring_create(GOIN_BUFS);
	x->done = dp_ring_create(GOIN_BUFS);
	if (!x->full || !x->done || dp_bell_init(&x->bell))
		return dp_err_set(err, -ENOMEM, "out of memory");
	x->bell_ok = true;
	x->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (x->efd < 0)
		return dp_err_set(err, -errno, "eventfd: %s", strerror(errno));
	in->net = DP_NET_TIMER;
	in->tick_ns = TICK_NS;
	int rc = dp_goproxy_init(&g->gi, g->init, g->def.name, in->sec, in->log_level, err);
	if (!rc) {
		x->inited = true;
		g->users++;
	}
	return rc;
}

static void teardown(struct dp_input *in)
{
	struct goin_cfg *x = in->cfg;
	if (!x || !x->g)
		return;
	if (x->started) {
		atomic_store(&x->stop, 1);
		dp_bell_ring_always(&x->bell);
		pthread_join(x->thread, NULL);
		x->started = false;
	}
	/* What the shard had not taken, and what it gave back: released here,
	 * the collector being gone. */
	void *b;
	while (x->full && dp_ring_dequeue_burst(x->full, &b, 1))
		release(x->g, b);
	while (x->done && dp_ring_dequeue_burst(x->done, &b, 1))
		release(x->g, b);
	if (x->inited && !--x->g->users)
		dp_goproxy_fini(&x->g->gi, x->g->exit, x->g->exit ? NULL : x->g->exit_ctx);
	x->inited = false;
	dp_ring_destroy(x->full);
	dp_ring_destroy(x->done);
	x->full = x->done = NULL;
	if (x->bell_ok)
		dp_bell_fini(&x->bell);
	x->bell_ok = false;
	if (x->efd >= 0)
		close(x->efd);
	x->efd = -1;
}

/* ---- shard 0 ---- */

static void *ctx_create(struct dp_input *in, unsigned shard)
{
	if (shard != 0)
		return NULL;   /* only shard 0 ticks (tick_all_shards false) */
	struct goin_shard *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = in->cfg;
	s->in = in;
	s->ev.in = in;
	return s;
}

/* The buffer being taken goes back (the collector releases it). */
static void give_back(struct goin_shard *s)
{
	void *o = s->cur;
	dp_ring_enqueue_burst(s->cfg->done, &o, 1);   /* never full: GOIN_BUFS slots */
	if (dp_bell_asleep(&s->cfg->bell))
		dp_bell_ring(&s->cfg->bell);
	s->cur = NULL;
	s->pending = false;
}

static void ctx_destroy(void *ctx)
{
	struct goin_shard *s = ctx;
	if (!s)
		return;
	if (s->cur)
		give_back(s);
	/* A reload may let the input go while the shard goes on: its epoll
	 * must not keep a tag in this context. */
	if (s->sh)
		epoll_ctl(s->sh->epfd, EPOLL_CTL_DEL, s->cfg->efd, NULL);
	free(s);
}

/* One event: its map (psr_fwd_record) with its time. */
static int parse(struct dp_chunk *c, const char *p, size_t len, void *ctx)
{
	struct goin_shard *s = ctx;
	dp_chunk_rec_set_time(c, s->e.sec, s->e.nsec);
	return psr_fwd_record(c, p, len);
}

/* Collector thread, once at shard 0's first tick: a thread of its own,
 * not pinned to shard 0's core (the process's CPU set). */
static void collector_start(struct goin_shard *s)
{
	struct goin_cfg *x = s->cfg;
	pthread_attr_t attr;
	cpu_set_t cpus;
	pthread_attr_init(&attr);
	if (!sched_getaffinity(getpid(), sizeof(cpus), &cpus))
		pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
	int rc = pthread_create(&x->thread, &attr, collector, x);
	pthread_attr_destroy(&attr);
	if (rc)
		dp_plg_error(s->in, "cannot start its collector thread: %s", strerror(rc));
	else
		x->started = true;
}

static void take(struct goin_shard *s, struct shard *sh)
{
	struct shard_in *si = &sh->ins[s->in->id];
	for (;;) {
		if (!s->cur) {
			void *o;
			if (!dp_ring_dequeue_burst(s->cfg->full, &o, 1))
				return;
			s->cur = o;
			s->p = s->cur->data;
			s->end = s->p + s->cur->len;
			DP_CNT_ADD(si->cnt.bytes, s->cur->len);
		}
		while (s->pending || s->p < s->end) {
			if (!s->pending) {
				bool timed;
				int rc = psr_fwd_next_loose(&s->p, s->end, &s->e, &timed);
				if (rc == 0)
					break;
				if (rc < 0 || !timed) {
					/* not an event [time, map]: skipped; a broken
					 * rest ends the buffer (p is at its end) */
					DP_CNT_ADD(si->cnt.malformed, 1);
					continue;
				}
				s->pending = true;
			}
			if (shard_emit(sh, s->in->id, (const char *)s->e.rec, s->e.rec_len) == -EAGAIN) {
				s->paused = true;   /* the event stays pending */
				return;
			}
			s->pending = false;
		}
		give_back(s);
	}
}

static void tick(struct dp_input *in, struct shard *sh, void *ctx, uint64_t now_real_ns)
{
	(void)now_real_ns;
	struct goin_shard *s = ctx;
	if (!s)
		return;
	if (!s->sh) {
		s->sh = sh;
		if (shard_in_watch_fd(sh, s->cfg->efd, &s->ev))
			dp_plg_warn(in, "cannot watch its collector's wake-ups: looking every %llu ms",
				    TICK_NS / 1000000ull);
		collector_start(s);
	}
	uint64_t v;
	if (read(s->cfg->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: a timer tick, nothing signalled */
	}
	if (!s->paused)
		take(s, sh);
}

/* Stop (or a reload that lets the input go): the collector is told to
 * stop, and what the plugin handed over until it did, a call in progress
 * included, is taken in before the shard's last flush. */
static bool drain(struct dp_input *in, struct shard *sh, void *ctx)
{
	(void)in;
	struct goin_shard *s = ctx;
	struct goin_cfg *x = s->cfg;
	if (!x->started)
		return false;
	if (!atomic_load(&x->stop)) {
		atomic_store(&x->stop, 1);
		dp_bell_ring_always(&x->bell);
	}
	if (!s->paused)
		take(s, sh);
	return !atomic_load(&x->exited) || s->cur || dp_ring_count(x->full);
}

static void chunk_released(struct dp_input *in, void *ctx, struct dp_chunk *c)
{
	(void)c;
	struct goin_shard *s = ctx;
	if (s && s->paused && s->sh) {
		s->paused = false;
		shard_in_timer_in(s->sh, in->id, 0);
	}
}

const struct dp_input_ops *in_goproxy_create(void *dl, const struct flb_plugin_proxy_def *def,
					     struct dp_err *err)
{
	struct goin *g = calloc(1, sizeof(*g));
	if (!g) {
		dp_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	g->def = *def;
	g->init = (dp_goproxy_init_fn)dp_goproxy_sym(dl, "FLBPluginInit");
	g->collect = (go_collect_fn)dp_goproxy_sym(dl, "FLBPluginInputCallback");
	g->cleanup = (go_cleanup_fn)dp_goproxy_sym(dl, "FLBPluginInputCleanupCallback");
	g->exit = (dp_goproxy_exit_fn)dp_goproxy_sym(dl, "FLBPluginExit");
	g->exit_ctx = (dp_goproxy_exit_ctx_fn)dp_goproxy_sym(dl, "FLBPluginExitCtx");
	if (!g->collect) {
		dp_err_set(err, -EINVAL, "it registers an input but does not export FLBPluginInputCallback");
		free(g);
		return NULL;
	}
	g->ops = (struct dp_input_ops){
		.name = g->def.name,
		.desc = g->def.description ? g->def.description : "Go input plugin",
		.opts = goin_opts,
		.cfg_size = sizeof(struct goin_cfg),
		.setup = setup,
		.shard_ctx_create = ctx_create,
		.shard_ctx_destroy = ctx_destroy,
		.parse = parse,
		.tick = tick,
		.chunk_released = chunk_released,
		.drain = drain,
		.teardown = teardown,
		.key_prefix = "",
	};
	return &g->ops;
}
