/*
 * mb_ml.c — the timed loop of the multiline benchmark (mb_ml.h): lines
 * pushed one by one through a psr_ml stream, as flt_multiline does per
 * record. Threads: the benchmark thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mb_ml.h"
#include "psr_ml.h"

static const char *const trace[] = {
	"Exception in thread \"main\" java.lang.IllegalStateException: ..null property",
	"     at com.example.myproject.Author.getBookIds(xx.java:38)",
	"     at com.example.myproject.Bootstrap.main(Bootstrap.java:14)",
	"Caused by: java.lang.NullPointerException",
	"     at com.example.myproject.Book.getId(Book.java:22)",
	"     at com.example.myproject.Author.getBookIds(Author.java:35)",
	"     ... 1 more",
};

struct mb_ml {
	struct psr_ml_set *set;
	struct psr_ml_stream *st;
	char **line;
	uint32_t *len;
	unsigned n;
	uint64_t bytes, groups;
};

static void on_begin(void *arg)
{
	(void)arg;
}

static void on_flush(void *arg, const struct psr_ml_group *g)
{
	(void)g;
	((struct mb_ml *)arg)->groups++;
}

struct mb_ml *mb_ml_create(const char *parser, unsigned n, unsigned plain_per_trace)
{
	struct dp_err err = { 0 };
	struct mb_ml *m = calloc(1, sizeof(*m));
	if (!m || !(m->set = psr_ml_set_create(&err)))
		goto fail;
	const struct psr_ml_parser *p = psr_ml_set_find(m->set, parser);
	m->st = malloc(sizeof(*m->st));
	m->line = calloc(n, sizeof(*m->line));
	m->len = calloc(n, sizeof(*m->len));
	if (!p || !m->st || !m->line || !m->len ||
	    psr_ml_stream_init(m->st, &p, 1, 0, on_begin, on_flush, m))
		goto fail;
	unsigned period = plain_per_trace + 7;
	char buf[256];
	for (unsigned i = 0; i < n; i++) {
		unsigned k = i % period;
		if (k < 7) {
			snprintf(buf, sizeof(buf), "%s", trace[k]);
		} else {
			snprintf(buf, sizeof(buf),
				 "2024-05-01T12:%02u:%02u.%03uZ INFO  [worker-%u] com.example.orders.Service - "
				 "order %u processed in %u ms",
				 i / 60 % 60, i % 60, i % 1000, i % 16, i * 7919u, i % 250);
		}
		m->len[i] = (uint32_t)strlen(buf);
		m->line[i] = strdup(buf);
		m->bytes += m->len[i];
		if (!m->line[i])
			goto fail;
		m->n++;
	}
	return m;
fail:
	mb_ml_destroy(m);
	return NULL;
}

uint64_t mb_ml_pass(struct mb_ml *m)
{
	uint64_t before = m->groups;
	for (unsigned i = 0; i < m->n; i++)
		psr_ml_stream_push(m->st, m->line[i], m->len[i], 1, 0, i);
	psr_ml_stream_flush(m->st);
	return m->groups - before;
}

uint64_t mb_ml_lines(const struct mb_ml *m)
{
	return m->n;
}

uint64_t mb_ml_bytes(const struct mb_ml *m)
{
	return m->bytes;
}

void mb_ml_destroy(struct mb_ml *m)
{
	if (!m)
		return;
	if (m->st && m->st->sc)
		psr_ml_stream_fini(m->st);
	free(m->st);
	for (unsigned i = 0; m->line && i < m->n; i++)
		free(m->line[i]);
	free(m->line);
	free(m->len);
	psr_ml_set_destroy(m->set);
	free(m);
}
