/*
 * psr_syslog.h — native RFC 5424 and RFC 3164 parsers that produce the
 * same records as Fluent Bit's regex parsers "syslog-rfc5424" and
 * "syslog-rfc3164" from its parsers.conf, without a regex engine.
 *
 * Threads: a struct psr_syslog_ctx belongs to one shard (its time cache is
 * not shared); the parsers write into a chunk that shard owns.
 *
 * ---- syslog-rfc5424 -------------------------------------------------
 *
 * Fluent Bit: ^\<(?<pri>[0-9]{1,5})\>1 (?<time>[^ ]+) (?<host>[^ ]+)
 *   (?<ident>[^ ]+) (?<pid>[-0-9]+) (?<msgid>[^ ]+)
 *   (?<extradata>(\[(.*?)\]|-)) (?<message>.+)$
 *   Time_Key time, Time_Format %Y-%m-%dT%H:%M:%S.%L%z, Time_Keep On.
 *
 * Record: string fields pri, time, host, ident, pid, msgid, extradata and
 * message, in that order, each exactly the bytes of the line ("-" stays
 * "-"). The record time is the TIMESTAMP (the time field is kept too).
 * Each header field is one or more non-space bytes between single spaces.
 *
 * Where we deliberately differ from the regex:
 *   - PRI is 1 to 3 digits with a value of at most 191 (RFC 5424 6.2.1);
 *     the regex takes up to 5 digits of any value.
 *   - PROCID (pid) may be any non-space token, as RFC 5424 6.2.6 allows
 *     ("worker-3", "sshd.service"); the regex only takes [-0-9]+ and drops
 *     the whole line otherwise.
 *   - Structured data is read per RFC 5424 6.3: one or more [SD-ID
 *     name="value" ...] elements, '"' opening a value in which \" \\ and
 *     \] are escapes, so a ']' (or "] ") inside a value does not end the
 *     SD early as the regex's lazy \[(.*?)\] would. The whole SD text,
 *     unmodified, is the extradata string. When the SD is not well formed
 *     (an unclosed quote, text glued after ']'), we fall back to the
 *     regex's rule: extradata ends at the first "] " followed by a message.
 *   - The message is the rest of the line after the SD and one space; a
 *     UTF-8 BOM (EF BB BF) at its start is stripped (RFC 5424 6.4). An
 *     empty or absent MSG is accepted and the message field is omitted;
 *     the regex needs .+ and would drop the line. A frame may contain LF
 *     (octet counting): it stays in the message, where the regex's $ would
 *     stop at it.
 *   - The timestamp may come without fraction ("...T22:14:15Z") and with
 *     1 to 9 fraction digits; it must be valid RFC 3339, else the line is
 *     -EINVAL. Fluent Bit instead keeps such a line without its time field
 *     and with the receive time.
 *   - A NILVALUE timestamp "-" keeps the record time the caller gave to
 *     dp_chunk_rec_begin (the receive time) and the time field "-" (Fluent
 *     Bit would drop the time field).
 *   - Times before 1970 or after 2106 (outside the 32-bit EventTime) are
 *     -EINVAL.
 *
 * ---- syslog-rfc3164 -------------------------------------------------
 *
 * Fluent Bit: ^\<(?<pri>[0-9]+)\>(?<time>[^ ]* {1,2}[^ ]* [^ ]*)
 *   (?<host>[^ ]*) (?<ident>[a-zA-Z0-9_\/\.\-]*)(?:\[(?<pid>[0-9]+)\])?
 *   (?:[^\:]*\:)? *(?<message>.*)$
 *   Time_Key time, Time_Format %b %d %H:%M:%S, Time_Keep On.
 *
 * Record: pri, time, host, ident, pid, message, in that order; as Fluent
 * Bit does (Skip_Empty_Values defaults to on), an empty capture is omitted,
 * and pid only appears when "[digits]" follows the ident. The regex is
 * reproduced step by step, quirks included: ident is the longest run of
 * [A-Za-z0-9_/.-] after the host; then everything up to and including the
 * first ':' after it is skipped if there is a ':' at all; then spaces; the
 * rest is the message. So "host su: failed" gives ident "su" and message
 * "failed", and "host a b: c" gives ident "a" and message "c".
 *
 * Deliberate differences: PRI as for 5424 (1-3 digits, <= 191); the time
 * must be "Mmm dd hh:mm:ss" (see psr_time_rfc3164; an optional fraction
 * is used, not ignored) or the line is -EINVAL where Fluent Bit keeps the
 * line without its time field, timed at receipt; the year comes from psr_time_year_pick (so a
 * December line read in January is last year's) where Fluent Bit always
 * takes the current year. The time is read as UTC, as Fluent Bit does
 * without Time_Offset. An LF inside the frame stays in the message (the
 * regex's .*$ would stop at it).
 *
 * ---- both -----------------------------------------------------------
 *
 * The caller has opened the record (dp_chunk_rec_begin with the receive
 * time). The parser validates the whole line first and writes nothing when
 * it returns -EINVAL (the caller still aborts the record, which is then a
 * no-op beyond the header). On 0 the fields are written, the record time
 * set, and the record is still open for the caller to end. When the chunk
 * fills up the writers' sticky overflow makes dp_chunk_rec_end return
 * -ENOSPC: the caller flushes the chunk and parses the line again.
 *
 * dp_parse_fn takes a void *ctx: inputs wrap these in a one-line adapter,
 * and call psr_syslog_ctx_set_now from their burst_begin.
 */
#ifndef PSR_SYSLOG_H
#define PSR_SYSLOG_H

#include <stddef.h>
#include <stdint.h>
#include "dp_chunk.h"
#include "psr_time.h"

struct psr_syslog_ctx {
	struct psr_time_cache tc;
	uint32_t now_sec;  /* receive time, UTC; set once per burst */
	int year;          /* calendar year and month of now_sec */
	int mon;
};

void psr_syslog_ctx_init(struct psr_syslog_ctx *ctx, uint32_t now_sec);
/* Once per burst: refresh now_sec, year and mon (cheap when unchanged). */
void psr_syslog_ctx_set_now(struct psr_syslog_ctx *ctx, uint32_t now_sec);

int psr_syslog5424_parse(struct dp_chunk *c, const char *line, size_t len,
			 struct psr_syslog_ctx *ctx);
int psr_syslog3164_parse(struct dp_chunk *c, const char *line, size_t len,
			 struct psr_syslog_ctx *ctx);
/* syslog-rfc3164-local, what a local syslog(3) writes to /dev/log: the
 * same without the host field (Fluent Bit's regex of that name:
 * ^\<(?<pri>[0-9]+)\>(?<time>[^ ]* {1,2}[^ ]* [^ ]*) (?<ident>...)...). */
int psr_syslog3164_local_parse(struct dp_chunk *c, const char *line, size_t len,
			       struct psr_syslog_ctx *ctx);

#endif
