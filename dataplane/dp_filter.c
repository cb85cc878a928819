/*
 * dp_filter.c — what every filter shares: its common keys and the error
 * messages that name its section (dp_filter.h). Control thread only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include "dp_filter.h"

const struct dp_opt dp_filter_common_opts[] = {
	{ "Match", DP_OPT_STR, NULL, offsetof(struct dp_filter, match_opt), NULL, 0, 0, 0,
	  "tags whose records this filter sees (wildcard '*')" },
	{ "Match_Regex", DP_OPT_STR, NULL, offsetof(struct dp_filter, match_regex_opt), NULL, 0, 0, 0,
	  "tags whose records this filter sees, as a regular expression" },
	{ "Alias", DP_OPT_STR, NULL, offsetof(struct dp_filter, alias), NULL, 0, 0, 0,
	  "name of this instance in logs and metrics" },
	{ "Emitter_Mem_Buf_Limit", DP_OPT_SIZE, "10M", offsetof(struct dp_filter, emitter_mem_buf_limit),
	  NULL, 0, 0, 0,
	  "memory for the records this filter emits (rewrite_tag, multiline), per shard; past it they are "
	  "counted as dropped by the emitter" },
	{ "Log_Level", DP_OPT_ENUM, NULL, offsetof(struct dp_filter, log_level),
	  "off|error|warn|info|debug|trace", 0, 0,
	  0, "verbosity of this instance's own log lines; default: the [SERVICE] Log_Level. Checked and "
	  "stored; the log itself still filters on the service level" },
	{ "Log_Suppress_Interval", DP_OPT_SECONDS, "0", offsetof(struct dp_filter, log_supp.interval), NULL,
	  0, 0, 0,
	  "identical log lines of this instance within this many seconds are written once (Fluent "
	  "Bit's log_suppress_interval); 0: all are written" },
	{ NULL },
};

static int verr(const struct dp_filter *f, const char *file, int line, struct dp_err *err, int code,
		const char *fmt, va_list ap)
{
	char msg[sizeof(err->msg)];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	return dp_err_set(err, code, "%s:%d: [FILTER] %s: %s", file ? file : "?", line,
			  f->ops ? f->ops->name : "?", msg);
}

int dp_filter_err(const struct dp_filter *f, struct dp_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = verr(f, f->file, f->line, err, code, fmt, ap);
	va_end(ap);
	return rc;
}

void dp_filter_emitter_storage_set(struct dp_filter *f, int type, const struct dp_conf_kv *kv)
{
	f->emitter_storage = type;
	f->emitter_storage_file = kv ? kv->file : f->file;
	f->emitter_storage_line = kv ? kv->line : f->line;
}

int dp_filter_kv_err(const struct dp_filter *f, const struct dp_conf_kv *kv, struct dp_err *err,
		     int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = verr(f, kv ? kv->file : f->file, kv ? kv->line : f->line, err, code, fmt, ap);
	va_end(ap);
	return rc;
}
