/*
 * loadgen.c — load generator for sluice: syslog (RFC 5424, RFC 3164) or JSON
 * lines over TCP or UDP on loopback, from pre-generated messages, as fast as
 * possible or at a fixed rate. Prints one JSON line of results on stdout.
 *
 * Threads: main parses options, connects every socket and builds every
 * corpus before the clock starts; then one sender thread per connection
 * (--conns) sends its share of --count, and main joins them and reports.
 * Sender threads share nothing but a start barrier and the stop flag.
 *
 * SIGINT/SIGTERM stop the run early and still print the result (with
 * "interrupted":true): main takes them with sigtimedwait, sets lg_stop and
 * pokes each sender with SIGUSR1, whose handler is installed without
 * SA_RESTART so that a send() blocked on a full socket returns.
 *
 * It must never be the bottleneck: messages are generated before timing,
 * TCP goes out in writes of up to 256 KiB of whole messages, UDP in
 * sendmmsg() batches, and --mark only rewrites ten digits per message.
 * --tls makes each TCP connection a TLS client (lg_tls.c). Sockets are blocking, so a receiver that stops reading stalls the sender
 * (TCP backpressure is what some tests look for).
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "loadgen.h"

#define LG_WRITE_BYTES (256u << 10)
#define LG_UDP_BATCH 256

struct lg_sender {
	pthread_t tid;
	const struct lg_opts *o;
	pthread_barrier_t *start;
	struct lg_corpus corpus;
	int fd;
	void *tls;               /* --tls: its session (lg_tls.c) */
	unsigned conn;
	uint64_t count;          /* events this connection sends */
	uint64_t sent;
	uint64_t bytes;
	uint64_t malformed;
	double t_start, t_end;
	int err;                 /* -errno of the send that failed */
} __attribute__((aligned(64)));

static atomic_int lg_stop;       /* set by main on SIGINT/SIGTERM */
static atomic_uint lg_running;   /* senders that have not finished */

static void lg_on_poke(int sig)
{
	(void)sig;               /* only here to make a blocked send() return EINTR */
}

static double lg_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* With --rate, wait until event `seq` of this sender is due. */
static void lg_pace(const struct lg_sender *s, double rate, uint64_t seq)
{
	double due = s->t_start + (double)seq / rate;
	struct timespec ts;
	if (lg_now() >= due)
		return;
	ts.tv_sec = (time_t)due;
	ts.tv_nsec = (long)((due - (double)ts.tv_sec) * 1e9);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR &&
	       !atomic_load_explicit(&lg_stop, memory_order_relaxed))
		;
}

/* How many whole messages from ring position pos fit in `max_bytes`, at
 * least one, at most `limit`, never past the end of the ring. */
static uint32_t lg_batch(const struct lg_corpus *c, uint32_t pos, uint64_t limit,
			 size_t max_bytes)
{
	uint32_t k = 1;
	size_t start = c->off[pos];
	while (k < limit && pos + k < c->n && c->off[pos + k + 1] - start <= max_bytes)
		k++;
	return k;
}

/* Write all of p[0..len), riding out partial writes, EINTR and EAGAIN.
 * Returns 0 or -errno; *done says how much went out either way. */
static int lg_write_all(int fd, const char *p, size_t len, size_t *done)
{
	*done = 0;
	while (*done < len) {
		ssize_t n = send(fd, p + *done, len - *done, MSG_NOSIGNAL);
		if (n > 0) {
			*done += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			if (atomic_load_explicit(&lg_stop, memory_order_relaxed))
				return -EINTR;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			poll(&pfd, 1, -1);
		} else {
			return n < 0 ? -errno : -EIO;
		}
	}
	return 0;
}

static uint64_t lg_malformed_in(uint64_t first, uint64_t k, unsigned every)
{
	/* events first .. first + k - 1; event i is malformed when (i+1) % every == 0 */
	return every ? (first + k) / every - first / every : 0;
}

static void lg_send_tcp(struct lg_sender *s, double rate)
{
	struct lg_corpus *c = &s->corpus;
	uint64_t step = rate > 0 ? (uint64_t)(rate / 1000) + 1 : UINT64_MAX;
	uint32_t pos = 0;

	while (s->sent < s->count && !atomic_load_explicit(&lg_stop, memory_order_relaxed)) {
		uint64_t left = s->count - s->sent;
		uint32_t k = lg_batch(c, pos, left < step ? left : step, LG_WRITE_BYTES);
		size_t len = c->off[pos + k] - c->off[pos], done;

		if (rate > 0)
			lg_pace(s, rate, s->sent);
		if (c->seq_at)
			lg_corpus_mark(c, pos, k, s->sent);
		int rc = s->tls ? lg_tls_write_all(s->tls, c->buf + c->off[pos], len, &done, &lg_stop)
				: lg_write_all(s->fd, c->buf + c->off[pos], len, &done);
		s->bytes += done;
		if (rc < 0) {
			uint32_t whole = 0;
			while (whole < k && c->off[pos + whole + 1] - c->off[pos] <= done)
				whole++;
			s->malformed += lg_malformed_in(s->sent, whole, s->o->malformed_every);
			s->sent += whole;
			if (rc != -EINTR)
				s->err = rc;
			return;
		}
		s->malformed += lg_malformed_in(s->sent, k, s->o->malformed_every);
		s->sent += k;
		pos += k;
		if (pos == c->n)
			pos = 0;
	}
	/* FIN after the last byte; close() then keeps queued data flowing. */
	if (s->tls)
		lg_tls_shutdown(s->tls);
	shutdown(s->fd, SHUT_WR);
}

static void lg_send_udp(struct lg_sender *s, double rate)
{
	struct lg_corpus *c = &s->corpus;
	struct mmsghdr mm[LG_UDP_BATCH];
	struct iovec iov[LG_UDP_BATCH];
	uint64_t step = rate > 0 ? (uint64_t)(rate / 1000) + 1 : LG_UDP_BATCH;
	uint32_t pos = 0;

	if (step > LG_UDP_BATCH)
		step = LG_UDP_BATCH;
	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < LG_UDP_BATCH; i++) {
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	while (s->sent < s->count && !atomic_load_explicit(&lg_stop, memory_order_relaxed)) {
		uint64_t left = s->count - s->sent;
		uint32_t k = lg_batch(c, pos, left < step ? left : step, SIZE_MAX);

		if (rate > 0)
			lg_pace(s, rate, s->sent);
		if (c->seq_at)
			lg_corpus_mark(c, pos, k, s->sent);
		for (uint32_t i = 0; i < k; i++) {
			iov[i].iov_base = c->buf + c->off[pos + i];
			iov[i].iov_len = c->off[pos + i + 1] - c->off[pos + i];
		}
		for (uint32_t i = 0; i < k;) {
			int n = sendmmsg(s->fd, mm + i, k - i, 0);
			if (n > 0) {
				i += (uint32_t)n;
				continue;
			}
			if (n < 0 && errno == EINTR &&
			    !atomic_load_explicit(&lg_stop, memory_order_relaxed))
				continue;
			if (n < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
				struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
				poll(&pfd, 1, 1);
				continue;
			}
			/* ECONNREFUSED: nothing listens on the port */
			s->bytes += c->off[pos + i] - c->off[pos];
			s->malformed += lg_malformed_in(s->sent, i, s->o->malformed_every);
			s->sent += i;
			if (!(n < 0 && errno == EINTR))
				s->err = n < 0 ? -errno : -EIO;
			return;
		}
		s->bytes += c->off[pos + k] - c->off[pos];
		s->malformed += lg_malformed_in(s->sent, k, s->o->malformed_every);
		s->sent += k;
		pos += k;
		if (pos == c->n)
			pos = 0;
	}
}

static void *lg_sender_main(void *arg)
{
	struct lg_sender *s = arg;
	double rate = s->o->rate ? (double)s->o->rate / s->o->conns : 0;

	pthread_barrier_wait(s->start);
	s->t_start = lg_now();
	if (s->o->proto == LG_TCP)
		lg_send_tcp(s, rate);
	else
		lg_send_udp(s, rate);
	s->t_end = lg_now();
	atomic_fetch_sub(&lg_running, 1);
	return NULL;
}

static int lg_connect(const struct lg_opts *o)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC }, *res, *ai;
	int fd = -1, rc, err = 0;

	hints.ai_socktype = o->proto == LG_TCP ? SOCK_STREAM : SOCK_DGRAM;
	rc = getaddrinfo(o->host, o->port, &hints, &res);
	if (rc) {
		fprintf(stderr, "loadgen: %s:%s: %s\n", o->host, o->port, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "loadgen: cannot connect to %s:%s (%s): %s\n", o->host, o->port,
			o->proto == LG_TCP ? "tcp" : "udp", strerror(err));
	return fd;
}

static const char *const proto_names[] = { "tcp", "udp" };
static const char *const format_names[] = { "rfc5424", "rfc3164", "json" };

static void lg_usage(FILE *f)
{
	fprintf(f,
"usage: loadgen [options]\n"
"  --host H              destination (default 127.0.0.1)\n"
"  --port P              destination port (default 5140)\n"
"  --proto tcp|udp       (default tcp)\n"
"  --format rfc5424|rfc3164|json   (default rfc5424)\n"
"  --count N             events in total (default 1000000)\n"
"  --rate N              events/s in total, 0 = as fast as possible (default 0)\n"
"  --conns N             TCP connections or UDP sockets, one thread each (default 1)\n"
"  --octet-counting      RFC 6587 'LEN SP MSG' framing instead of 'MSG LF' (TCP)\n"
"  --tls                 TCP over TLS (server certificate not checked)\n"
"  --seed N              content seed (default 1)\n"
"  --variety N           distinct messages per connection (default 4096)\n"
"  --sd                  RFC 5424 structured data on ~40%% of messages\n"
"  --malformed-every N   events N, 2N, 3N... of each connection are malformed\n"
"  --mark                ' seq=%%010llu' (0-based, per connection) at the end of\n"
"                        each message text; with --conns > 1 ' conn=<c> seq=...'\n"
"Prints {\"sent\":..,\"bytes\":..,\"seconds\":..,\"eps\":..,...} on stdout.\n");
}

static int lg_opts_parse_num(const char *name, const char *arg, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-') {
		fprintf(stderr, "loadgen: --%s: not a number: '%s'\n", name, arg);
		return -EINVAL;
	}
	*v = x;
	return 0;
}

static int lg_opts_parse(struct lg_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, 0, 'h' },
		{ "port", required_argument, 0, 'p' },
		{ "proto", required_argument, 0, 'P' },
		{ "format", required_argument, 0, 'f' },
		{ "count", required_argument, 0, 'n' },
		{ "rate", required_argument, 0, 'r' },
		{ "conns", required_argument, 0, 'c' },
		{ "octet-counting", no_argument, 0, 'o' },
		{ "seed", required_argument, 0, 's' },
		{ "variety", required_argument, 0, 'v' },
		{ "sd", no_argument, 0, 'd' },
		{ "malformed-every", required_argument, 0, 'm' },
		{ "mark", no_argument, 0, 'k' },
		{ "tls", no_argument, 0, 't' },
		{ "help", no_argument, 0, 'H' },
		{ 0, 0, 0, 0 },
	};
	uint64_t v;
	int ch, idx;

	*o = (struct lg_opts){ .host = "127.0.0.1", .port = "5140", .count = 1000000,
			       .conns = 1, .seed = 1, .variety = 4096 };
	while ((ch = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
		const char *name = ch == '?' ? "" : longopts[idx].name;
		switch (ch) {
		case 'h': o->host = optarg; break;
		case 'p': o->port = optarg; break;
		case 'P':
			if (!strcmp(optarg, "tcp"))
				o->proto = LG_TCP;
			else if (!strcmp(optarg, "udp"))
				o->proto = LG_UDP;
			else
				goto bad_value;
			break;
		case 'f':
			if (!strcmp(optarg, "rfc5424"))
				o->format = LG_RFC5424;
			else if (!strcmp(optarg, "rfc3164"))
				o->format = LG_RFC3164;
			else if (!strcmp(optarg, "json"))
				o->format = LG_JSON;
			else
				goto bad_value;
			break;
		case 'o': o->octet_counting = 1; break;
		case 'd': o->sd = 1; break;
		case 'k': o->mark = 1; break;
		case 't': o->tls = 1; break;
		case 'H': lg_usage(stdout); exit(0);
		case 'n': case 'r': case 'c': case 's': case 'v': case 'm':
			if (lg_opts_parse_num(name, optarg, &v))
				return -EINVAL;
			if (ch == 'n') o->count = v;
			if (ch == 'r') o->rate = v;
			if (ch == 's') o->seed = v;
			if ((ch == 'c' && (v < 1 || v > 1024)) ||
			    (ch == 'v' && (v < 1 || v > 1000000)) ||
			    (ch == 'm' && v > 1000000000)) {
				fprintf(stderr, "loadgen: --%s: out of range: %s\n", name, optarg);
				return -EINVAL;
			}
			if (ch == 'c') o->conns = (unsigned)v;
			if (ch == 'v') o->variety = (unsigned)v;
			if (ch == 'm') o->malformed_every = (unsigned)v;
			break;
		default:
			lg_usage(stderr);
			return -EINVAL;
		}
		continue;
bad_value:
		fprintf(stderr, "loadgen: --%s: unknown value '%s'\n", name, optarg);
		return -EINVAL;
	}
	if (optind < argc) {
		fprintf(stderr, "loadgen: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct lg_opts o;
	pthread_barrier_t start;
	struct lg_sender *s;
	uint64_t sent = 0, bytes = 0, malformed = 0;
	double t0 = 0, t1 = 0;
	int failed = 0;

	if (lg_opts_parse(&o, argc, argv))
		return 2;
	s = aligned_alloc(64, sizeof(*s) * o.conns);
	if (!s)
		return 1;
	memset(s, 0, sizeof(*s) * o.conns);
	for (unsigned i = 0; i < o.conns; i++) {
		s[i].o = &o;
		s[i].conn = i;
		s[i].start = &start;
		s[i].count = o.count / o.conns + (i < o.count % o.conns);
		s[i].fd = lg_connect(&o);
		if (s[i].fd < 0)
			return 1;
		if (o.tls && o.proto == LG_TCP && !(s[i].tls = lg_tls_connect(s[i].fd, o.host)))
			return 1;
		if (lg_corpus_build(&s[i].corpus, &o, i)) {
			fprintf(stderr, "loadgen: out of memory building messages\n");
			return 1;
		}
	}
	/* SIGINT/SIGTERM blocked everywhere (threads inherit the mask) and
	 * taken by main below; SIGUSR1 stays deliverable to the senders. */
	sigset_t stopset;
	struct sigaction poke = { .sa_handler = lg_on_poke };	/* no SA_RESTART */
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGINT);
	sigaddset(&stopset, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stopset, NULL);
	sigaction(SIGUSR1, &poke, NULL);

	atomic_store(&lg_running, o.conns);
	pthread_barrier_init(&start, NULL, o.conns);
	for (unsigned i = 0; i < o.conns; i++) {
		if (pthread_create(&s[i].tid, NULL, lg_sender_main, &s[i])) {
			fprintf(stderr, "loadgen: cannot start thread\n");
			return 1;
		}
	}
	while (atomic_load(&lg_running)) {
		struct timespec tick = { 0, 20 * 1000 * 1000 };
		if (sigtimedwait(&stopset, NULL, &tick) > 0)
			atomic_store(&lg_stop, 1);
		/* again every tick: a poke that lands just before send() is lost */
		for (unsigned i = 0; atomic_load(&lg_stop) && i < o.conns; i++)
			pthread_kill(s[i].tid, SIGUSR1);
	}
	for (unsigned i = 0; i < o.conns; i++) {
		pthread_join(s[i].tid, NULL);
		if (s[i].tls)
			lg_tls_free(s[i].tls);
		close(s[i].fd);
		sent += s[i].sent;
		bytes += s[i].bytes;
		malformed += s[i].malformed;
		if (i == 0 || s[i].t_start < t0)
			t0 = s[i].t_start;
		if (s[i].t_end > t1)
			t1 = s[i].t_end;
		if (s[i].err) {
			fprintf(stderr, "loadgen: connection %u: send failed after %llu events: %s%s\n",
				i, (unsigned long long)s[i].sent, strerror(-s[i].err),
				s[i].err == -ECONNREFUSED ? " (nothing listens on that port?)" : "");
			failed = 1;
		}
		lg_corpus_fini(&s[i].corpus);
	}
	double secs = t1 - t0;
	printf("{\"sent\":%llu,\"bytes\":%llu,\"seconds\":%.6f,\"eps\":%.0f,\"proto\":\"%s\","
	       "\"format\":\"%s\",\"conns\":%u,\"framing\":\"%s\",\"malformed\":%llu,\"rate\":%llu%s}\n",
	       (unsigned long long)sent, (unsigned long long)bytes, secs,
	       secs > 0 ? (double)sent / secs : 0.0, proto_names[o.proto], format_names[o.format],
	       o.conns, o.proto == LG_UDP ? "datagram" : o.octet_counting ? "octet-counting" : "lf",
	       (unsigned long long)malformed, (unsigned long long)o.rate,
	       atomic_load(&lg_stop) ? ",\"interrupted\":true" : "");
	if (atomic_load(&lg_stop)) {
		fprintf(stderr, "loadgen: interrupted after %llu of %llu events\n",
			(unsigned long long)sent, (unsigned long long)o.count);
		failed = 1;
	}
	pthread_barrier_destroy(&start);
	free(s);
	return failed;
}
