/*
 * lg_corpus.c — renders loadgen's events as RFC 5424, RFC 3164 or JSON lines,
 * frames them for the wire and lays them end to end in one buffer (the
 * corpus, see loadgen.h), all before the clock starts.
 *
 * Threads: called by main() once per connection before the sender threads
 * start; each corpus then belongs to one sender thread.
 *
 * Wire framing:
 *   TCP, default          MSG LF                  (RFC 6587 non-transparent)
 *   TCP, --octet-counting MSG-LEN SP MSG          (RFC 6587 octet counting)
 *   UDP                   one MSG per datagram, no trailer (RFC 5426)
 * The --mark field is fixed-width (" seq=%010llu"), so patching it while
 * sending never changes a length.
 *
 * Malformed events (--malformed-every): syslog gets a PRI that is not a
 * number ("<abc>", "<>", "<1a5>"); JSON is either cut off inside the "msg"
 * string (no closing quote or brace) or has an unquoted string value. Every
 * one of them still carries its --mark field.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "loadgen.h"
#include "lg_text.h"

/* Smallest ring: large enough that one 256 KiB write never wraps often,
 * whatever --variety is. */
#define LG_RING_MIN_BYTES (4u << 20)

struct lg_body {
	char b[2048];
	size_t len;
	size_t seq;              /* offset of the seq digits in b */
};

static void body_add(struct lg_body *y, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void body_add(struct lg_body *y, const char *fmt, ...)
{
	size_t room = sizeof(y->b) - y->len;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(y->b + y->len, room, fmt, ap);
	va_end(ap);
	y->len += n < 0 ? 0 : (size_t)n < room ? (size_t)n : room - 1;
}

static void body_add_json_str(struct lg_body *y, const char *s)
{
	for (; *s && y->len + 2 < sizeof(y->b); s++) {
		if (*s == '"' || *s == '\\')
			y->b[y->len++] = '\\';
		y->b[y->len++] = *s;
	}
	y->b[y->len] = '\0';
}

static void body_mark(struct lg_body *y, const struct lg_opts *o, unsigned conn)
{
	if (!o->mark)
		return;
	if (o->conns > 1)
		body_add(y, " conn=%u", conn);
	body_add(y, " seq=");
	y->seq = y->len;
	body_add(y, "%0*u", LG_SEQ_DIGITS, 0u);
}

static const char *const bad_pri[] = { "<abc>", "<>", "<1a5>" };

static void render_5424(struct lg_body *y, const struct lg_event *e, const char *iso,
			int bad, const struct lg_opts *o, unsigned conn)
{
	if (bad)
		body_add(y, "%s1 ", bad_pri[(unsigned)bad % 3]);
	else
		body_add(y, "<%u>1 ", e->pri);
	body_add(y, "%s %s %s ", iso, e->host, e->app);
	if (e->pid)
		body_add(y, "%u ", e->pid);
	else
		body_add(y, "- ");
	body_add(y, "%s %s %s level=%s", e->msgid, e->sd, e->text, lg_level_names[e->level]);
	body_mark(y, o, conn);
}

static void render_3164(struct lg_body *y, const struct lg_event *e, const struct tm *tm,
			int bad, const struct lg_opts *o, unsigned conn)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	if (bad)
		body_add(y, "%s", bad_pri[(unsigned)bad % 3]);
	else
		body_add(y, "<%u>", e->pri);
	body_add(y, "%s %2d %02d:%02d:%02d %s %s", mon[tm->tm_mon], tm->tm_mday,
		 tm->tm_hour, tm->tm_min, tm->tm_sec, e->host, e->app);
	if (e->pid)
		body_add(y, "[%u]", e->pid);
	body_add(y, ": %s level=%s", e->text, lg_level_names[e->level]);
	body_mark(y, o, conn);
}

static void render_json(struct lg_body *y, const struct lg_event *e, const char *iso,
			int bad, const struct lg_opts *o, unsigned conn)
{
	if (bad && bad % 2 == 0) {
		/* unquoted string value */
		body_add(y, "{\"time\":\"%s\",\"host\":%s,\"app\":\"%s\",\"level\":\"%s\",\"msg\":\"",
			 iso, e->host, e->app, lg_level_names[e->level]);
		body_add_json_str(y, e->text);
		body_mark(y, o, conn);
		body_add(y, "\"}");
		return;
	}
	body_add(y, "{\"time\":\"%s\",\"host\":\"%s\",\"app\":\"%s\",", iso, e->host, e->app);
	if (e->pid)
		body_add(y, "\"pid\":%u,", e->pid);
	body_add(y, "\"level\":\"%s\",", lg_level_names[e->level]);
	if (e->status)
		body_add(y, "\"status\":%u,\"bytes\":%u,", e->status, e->bytes);
	if (e->latency_ms)
		body_add(y, "\"latency_ms\":%u,", e->latency_ms);
	if (e->user_id)
		body_add(y, "\"user_id\":\"u%u\",", e->user_id);
	if (e->path[0]) {
		body_add(y, "\"path\":\"");
		body_add_json_str(y, e->path);
		body_add(y, "\",");
	}
	body_add(y, "\"msg\":\"");
	body_add_json_str(y, e->text);
	body_mark(y, o, conn);
	if (!bad)	/* bad: cut off inside the string */
		body_add(y, "\"}");
}

static void render(struct lg_body *y, const struct lg_event *e, uint64_t t_us, int bad,
		   const struct lg_opts *o, unsigned conn)
{
	time_t sec = (time_t)(t_us / 1000000);
	struct tm tm;
	char iso[128];

	gmtime_r(&sec, &tm);
	snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, (unsigned)(t_us % 1000000));
	y->len = 0;
	y->seq = 0;
	y->b[0] = '\0';
	switch (o->format) {
	case LG_RFC5424: render_5424(y, e, iso, bad, o, conn); break;
	case LG_RFC3164: render_3164(y, e, &tm, bad, o, conn); break;
	default: render_json(y, e, iso, bad, o, conn); break;
	}
}

void lg_corpus_fini(struct lg_corpus *c)
{
	free(c->buf);
	free(c->off);
	free(c->seq_at);
	memset(c, 0, sizeof(*c));
}

static int grow(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap * 2 > need ? *cap * 2 : need;
	char *p = realloc(*buf, ncap);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = ncap;
	return 0;
}

int lg_corpus_build(struct lg_corpus *c, const struct lg_opts *o, unsigned conn)
{
	unsigned every = o->malformed_every;
	uint32_t v = o->variety ? o->variety : 1;
	uint64_t rng = o->seed * 0x9e3779b97f4a7c15ULL + conn;
	struct timespec now;
	struct lg_event e;
	struct lg_body y;
	size_t cap, len = 0;
	char *one;
	size_t *off, *seq = NULL;
	int rc = -ENOMEM;

	memset(c, 0, sizeof(*c));
	if (every)
		v = (v + every - 1) / every * every;
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t base_us = (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000;

	cap = (size_t)v * 320;
	one = malloc(cap);
	off = malloc(((size_t)v + 1) * sizeof(*off));
	if (o->mark)
		seq = malloc((size_t)v * sizeof(*seq));
	if (!one || !off || (o->mark && !seq))
		goto out;

	for (uint32_t i = 0; i < v; i++) {
		int bad = every && (i + 1) % every == 0 ? 1 + (int)((i + 1) / every % 6) : 0;
		char hdr[24];
		int hl = 0;

		lg_event_gen(&e, &rng, o->sd && o->format == LG_RFC5424);
		render(&y, &e, base_us + (uint64_t)i * 250, bad, o, conn);
		if (o->proto == LG_TCP && o->octet_counting)
			hl = snprintf(hdr, sizeof(hdr), "%zu ", y.len);
		if (grow(&one, &cap, len + (size_t)hl + y.len + 1))
			goto out;
		off[i] = len;
		memcpy(one + len, hdr, (size_t)hl);
		memcpy(one + len + hl, y.b, y.len);
		if (seq)
			seq[i] = len + (size_t)hl + y.seq;
		len += (size_t)hl + y.len;
		if (o->proto == LG_TCP && !o->octet_counting)
			one[len++] = '\n';
		c->malformed += bad != 0;
	}
	off[v] = len;

	/* Repeat the v messages until the ring is big enough for large writes;
	 * a multiple of v keeps the every-Nth-is-malformed pattern across laps. */
	uint32_t laps = len >= LG_RING_MIN_BYTES ? 1 : (uint32_t)(LG_RING_MIN_BYTES / len + 1);
	c->n = v * laps;
	c->malformed *= laps;
	c->buf = malloc(len * laps);
	c->off = malloc(((size_t)c->n + 1) * sizeof(*c->off));
	if (o->mark)
		c->seq_at = malloc((size_t)c->n * sizeof(*c->seq_at));
	if (!c->buf || !c->off || (o->mark && !c->seq_at)) {
		lg_corpus_fini(c);
		goto out;
	}
	for (uint32_t l = 0; l < laps; l++) {
		memcpy(c->buf + (size_t)l * len, one, len);
		for (uint32_t i = 0; i < v; i++) {
			c->off[(size_t)l * v + i] = (size_t)l * len + off[i];
			if (seq)
				c->seq_at[(size_t)l * v + i] = (size_t)l * len + seq[i];
		}
	}
	c->off[c->n] = len * laps;
	rc = 0;
out:
	free(one);
	free(off);
	free(seq);
	return rc;
}
