/*
 * mb_parser.c — the timed loops of bench_parser.cc (contract in
 * mb_parser.h): Apache combined lines made here (deterministic, varied
 * hosts, users, paths, codes, sizes, referers and agents), parsed by
 * Fluent Bit's apache2 [PARSER] as the parser filter runs it.
 * Threads: the benchmark thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mb_parser.h"
#include "dp_chunk.h"
#include "dp_conf.h"
#include "psr_parser.h"
#include "psr_strptime.h"

static const char *const methods[] = { "GET", "GET", "GET", "POST", "PUT", "HEAD", "DELETE" };
static const char *const paths[] = {
	"/", "/index.html", "/api/v1/items", "/static/js/app.4f3a9c.js", "/images/logo.png",
	"/search?q=log+pipeline&page=2", "/api/v2/users/12345/orders?status=open", "/favicon.ico",
};
static const char *const refs[] = {
	"-", "https://www.example.com/", "https://www.google.com/search?q=sluice",
	"http://intranet.local/dashboard",
};
static const char *const agents[] = {
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
	"curl/8.5.0", "Go-http-client/1.1",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
	"kube-probe/1.29",
};
static const char *const users[] = { "-", "-", "-", "frank", "alice" };
static const int codes[] = { 200, 200, 200, 200, 304, 404, 500, 201, 302 };
static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
/* One day's log: the date is the same on every line, the time advances. */

int mb_apache_lines(struct mb_lines *l, unsigned n, unsigned per_sec)
{
	size_t cap = (size_t)n * 400;
	l->buf = malloc(cap);
	if (!l->buf)
		return -1;
	l->len = 0;
	l->n = n;
	uint32_t x = 42;
	for (unsigned i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		unsigned r = x >> 8;
		unsigned t = 13 * 3600 + 55 * 60 + i / (per_sec ? per_sec : 1);
		l->len += (size_t)snprintf(l->buf + l->len, cap - l->len,
			"10.%u.%u.%u - %s [%02u/%s/2024:%02u:%02u:%02u +0200] \"%s %s HTTP/1.1\" %d %u \"%s\" \"%s\"\n",
			r % 256, (r >> 8) % 256, i % 256, users[r % 5], 15u, mon[5],
			(t / 3600) % 24, (t / 60) % 60, t % 60, methods[r % 7], paths[(r >> 3) % 8],
			codes[(r >> 5) % 9], (r >> 7) % 100000, refs[(r >> 2) % 4], agents[(r >> 9) % 5]);
	}
	return 0;
}

void mb_lines_free(struct mb_lines *l)
{
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

struct mb_rx {
	struct dp_conf *conf;
	struct psr_parsers *set;
	const struct psr_parser *p;
	struct psr_parser_state *st;
	struct dp_chunk c;
	struct dp_rec *recs;
	struct dp_field *fields;
	uint8_t *data;
};

struct mb_rx *mb_rx_create(int with_time)
{
	struct mb_rx *r = calloc(1, sizeof(*r));
	struct dp_err err = { 0 };
	r->conf = dp_conf_create();
	r->set = psr_parsers_create();
	struct dp_conf_section *s = dp_conf_section_add(r->conf, "PARSER", "bench", 1);
	dp_conf_kv_add(r->conf, s, "Name", "apache2", "bench", 2);
	dp_conf_kv_add(r->conf, s, "Format", "regex", "bench", 3);
	dp_conf_kv_add(r->conf, s, "Regex",
		"^(?<host>[^ ]*) [^ ]* (?<user>[^ ]*) \\[(?<time>[^\\]]*)\\] \"(?<method>\\S+)(?: +(?<path>[^ ]*) +\\S*)?\" (?<code>[^ ]*) (?<size>[^ ]*)(?: \"(?<referer>[^\\\"]*)\" \"(?<agent>.*)\")?$",
		"bench", 4);
	if (with_time) {
		dp_conf_kv_add(r->conf, s, "Time_Key", "time", "bench", 5);
		dp_conf_kv_add(r->conf, s, "Time_Format", "%d/%b/%Y:%H:%M:%S %z", "bench", 6);
	}
	if (psr_parsers_add(r->set, s, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		abort();
	}
	r->p = psr_parsers_find(r->set, "apache2");
	r->st = psr_parser_state_create(r->p);
	r->recs = calloc(DP_CHUNK_RECS, sizeof(*r->recs));
	r->fields = calloc(DP_CHUNK_FIELDS, sizeof(*r->fields));
	r->data = malloc(DP_CHUNK_DATA);
	dp_chunk_init(&r->c, r->recs, r->fields, r->data);
	return r;
}

void mb_rx_destroy(struct mb_rx *r)
{
	psr_parser_state_destroy(r->st);
	psr_parsers_destroy(r->set);
	dp_conf_destroy(r->conf);
	free(r->recs);
	free(r->fields);
	free(r->data);
	free(r);
}

uint64_t mb_rx_pass(struct mb_rx *r, const char *buf, size_t len, uint64_t *bad)
{
	uint64_t recs = 0;
	const char *p = buf, *end = buf + len;
	*bad = 0;
	dp_chunk_reset(&r->c);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		for (int tries = 0; tries < 2; tries++) {
			dp_chunk_rec_begin(&r->c, 1718452800, 0);
			if (psr_parser_exec(r->p, r->st, &r->c, p, n)) {
				dp_chunk_rec_abort(&r->c);
				(*bad)++;
				break;
			}
			if (dp_chunk_rec_end(&r->c) == 0) {
				recs++;
				break;
			}
			dp_chunk_reset(&r->c);  /* full: "flush" and parse again */
		}
		p += n + 1;
	}
	return recs;
}

uint64_t mb_strptime_pass(const char *buf, size_t len, int cached, uint64_t *bad)
{
	static struct psr_tfmt f;
	static int ready;
	struct psr_tcache tc;
	struct dp_err err = { 0 };
	if (!ready) {
		psr_tfmt_compile(&f, "%d/%b/%Y:%H:%M:%S %z", &err);
		ready = 1;
	}
	psr_tcache_init(&tc);
	uint64_t n = 0;
	*bad = 0;
	const char *p = buf, *end = buf + len;
	while (p < end) {
		const char *lb = memchr(p, '[', (size_t)(end - p));
		if (!lb)
			break;
		const char *rb = memchr(lb, ']', (size_t)(end - lb));
		int64_t sec;
		uint32_t nsec;
		if (psr_strptime(&f, cached ? &tc : NULL, lb + 1, (size_t)(rb - lb - 1), 1718452800, 0,
				 0, &sec, &nsec))
			(*bad)++;
		else
			n++;
		p = memchr(rb, '\n', (size_t)(end - rb));
		if (!p)
			break;
		p++;
	}
	return n;
}
