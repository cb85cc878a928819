/*
 * dp_prom.h — the pipeline's counters as Prometheus text (exposition
 * format 0.0.4) and as cmetrics' text (Fluent Bit's /api/v2/metrics),
 * written from dp_stats.h's tables: Fluent Bit's families first, under
 * its names and labels, then sluice's own (sluice_*). Also the Markdown
 * list of every metric (sluice --doc-metrics). The HTTP server's thread
 * and the control thread; reads counters only.
 */
#ifndef DP_PROM_H
#define DP_PROM_H

#include <stdint.h>
#include <stdio.h>
#include "dp_pipeline.h"

enum dp_prom_fmt {
	DP_PROM_TEXT,  /* Prometheus: # HELP, # TYPE, name{labels} value */
	DP_PROM_CMT,   /* cmetrics text: <RFC 3339 time> name{labels} = value */
};

/* start_unix: when the process started (seconds since the epoch). */
void dp_prom_write(const struct dp_pipeline *pl, FILE *f, enum dp_prom_fmt fmt, uint64_t start_unix);
/* A label value with \, " and newline escaped as the format requires. */
void dp_prom_label_escape(FILE *f, const char *s);
/* Markdown: every metric, its type, labels, Fluent Bit name and meaning. */
void dp_prom_doc(FILE *f);

#endif
