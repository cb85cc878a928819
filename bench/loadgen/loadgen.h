/*
 * loadgen.h — shared definitions of the load generator: the options and the
 * corpus of pre-generated messages each sender thread sends in a loop.
 *
 * Threads: the options are filled by main() and read-only afterwards. Each
 * sender thread owns one corpus (the --mark digits are patched in place while
 * it sends), so nothing here is shared between threads once sending starts.
 */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum lg_proto { LG_TCP, LG_UDP };
enum lg_format { LG_RFC5424, LG_RFC3164, LG_JSON };

struct lg_opts {
	const char *host;
	const char *port;
	enum lg_proto proto;
	enum lg_format format;
	uint64_t count;          /* events in total, over all connections */
	uint64_t rate;           /* events/s in total; 0 = as fast as possible */
	unsigned conns;          /* TCP connections (UDP: sockets) */
	int octet_counting;      /* RFC 6587 "LEN SP MSG" instead of "MSG LF" */
	uint64_t seed;
	unsigned variety;        /* distinct messages generated */
	int sd;                  /* RFC 5424 structured data on some messages */
	unsigned malformed_every; /* 0 = never; N = events N, 2N, ... are bad */
	int mark;                /* "seq=%010llu" (and "conn=<c>") in every message */
	int tls;                 /* TCP: each connection a TLS client (lg_tls.c) */
};

/*
 * A corpus is `n` framed messages laid end to end in `buf`: message i is
 * buf[off[i] .. off[i + 1]), ready to be written as is (TCP: with its LF or
 * its octet count; UDP: one datagram, no trailer). Sending walks it as a
 * ring. `n` is a multiple of --malformed-every, so the message at ring
 * position i is malformed exactly when event (i + 1) % N == 0, whichever lap
 * the sender is on. With --mark, seq_at[i] is where the ten sequence digits
 * of message i sit; lg_corpus_mark() overwrites them just before a batch is
 * written, which keeps framing lengths unchanged.
 */
struct lg_corpus {
	char *buf;
	size_t *off;             /* n + 1 entries */
	size_t *seq_at;          /* n entries, NULL without --mark */
	uint32_t n;
	uint32_t malformed;      /* malformed messages among the n */
};

#define LG_SEQ_DIGITS 10

int lg_corpus_build(struct lg_corpus *c, const struct lg_opts *o, unsigned conn);
void lg_corpus_fini(struct lg_corpus *c);

/* Write sequence numbers seq, seq + 1, ... into messages pos .. pos + k - 1. */
static inline void lg_corpus_mark(struct lg_corpus *c, uint32_t pos, uint32_t k,
				  uint64_t seq)
{
	for (uint32_t i = 0; i < k; i++, seq++) {
		char *d = c->buf + c->seq_at[pos + i] + LG_SEQ_DIGITS;
		uint64_t v = seq;
		for (int j = 0; j < LG_SEQ_DIGITS; j++) {
			*--d = (char)('0' + v % 10);
			v /= 10;
		}
	}
}

/* --tls (lg_tls.c): a TLS session on the connected socket fd, handshake
 * done (NULL, said on stderr, when it fails); writes as lg_write_all. */
void *lg_tls_connect(int fd, const char *host);
int lg_tls_write_all(void *tls, const char *p, size_t len, size_t *done, atomic_int *stop);
void lg_tls_shutdown(void *tls);
void lg_tls_free(void *tls);

#endif
