/*
 * dp_log.h — the log: Fluent Bit's line layout
 *   [2026/11/21 12:00:00] [ info] [sluice] message
 * on stderr or Log_File. Control path only: the data path counts and never
 * logs per event (dp_log_ratelimited is for the rare per-cause message).
 * Any thread may log; one write(2) per line keeps lines whole.
 */
#ifndef DP_LOG_H
#define DP_LOG_H

#include <stdint.h>

enum dp_log_level { DP_LOG_OFF, DP_LOG_ERROR, DP_LOG_WARN, DP_LOG_INFO, DP_LOG_DEBUG, DP_LOG_TRACE };

/* Read by every thread, set by the control thread (start-up, reload). */
extern _Atomic int dp_log_level;

void dp_log_set_fd(int fd);
void dp_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define dp_log(lvl, ...) do { if ((lvl) <= dp_log_level) dp_log_write((lvl), __VA_ARGS__); } while (0)
#define dp_error(...) dp_log(DP_LOG_ERROR, __VA_ARGS__)
#define dp_warn(...)  dp_log(DP_LOG_WARN, __VA_ARGS__)
#define dp_info(...)  dp_log(DP_LOG_INFO, __VA_ARGS__)
#define dp_debug(...) dp_log(DP_LOG_DEBUG, __VA_ARGS__)

/*
 * Log_Suppress_Interval of a plugin instance (Fluent Bit's
 * log_suppress_interval: include/fluent-bit/flb_log.h,
 * flb_log_suppress_check; src/flb_log.c, flb_log_cache_check_suppress):
 * a message identical to one the instance logged less than `interval`
 * seconds ago is not written; the first one after that is, and starts a
 * new interval. Fluent Bit logs no count of what it left out, nor does
 * sluice. The instance remembers its last DP_LOG_SUPP_SLOTS distinct
 * messages, each slot a hash of the text and the time it was written,
 * packed in one atomic word: shard threads, output workers and the
 * control thread may log for the same instance at once without a lock.
 * Only the log path reads it; interval 0 (the default) skips it.
 */
#define DP_LOG_SUPP_SLOTS 8
struct dp_log_supp {
	double interval;                           /* seconds; 0: off */
	_Atomic uint64_t slot[DP_LOG_SUPP_SLOTS];  /* hash << 32 | ms when written; 0: free */
};
void dp_log_write_supp(struct dp_log_supp *s, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The decision alone, for a formatted message: 1 write it, 0 leave it out
 * (now_ms: a millisecond clock; wraps after 49 days, intervals up to half
 * of that). Exposed for the unit test. */
int dp_log_supp_check(struct dp_log_supp *s, const char *msg, size_t len, uint32_t now_ms);

/* A plugin instance's message ("[name] ..."), filtered by the instance's
 * own Log_Level as Fluent Bit's flb_plg_* are: `inst` is a struct
 * dp_input, dp_output or dp_filter, whose log_level is -1 when its section
 * does not set one (then the service's level decides), and whose
 * log_supp holds its Log_Suppress_Interval. */
#define dp_plog(inst, lvl, fmt, ...) do { \
	int l_ = (inst)->log_level; \
	if ((lvl) <= (l_ < 0 ? dp_log_level : l_)) { \
		if ((inst)->log_supp.interval > 0) \
			dp_log_write_supp((struct dp_log_supp *)&(inst)->log_supp, (lvl), "[%s] " fmt, \
					  (inst)->name, ##__VA_ARGS__); \
		else \
			dp_log_write((lvl), "[%s] " fmt, (inst)->name, ##__VA_ARGS__); \
	} \
} while (0)
#define dp_plg_error(inst, ...) dp_plog(inst, DP_LOG_ERROR, __VA_ARGS__)
#define dp_plg_warn(inst, ...)  dp_plog(inst, DP_LOG_WARN, __VA_ARGS__)
#define dp_plg_info(inst, ...)  dp_plog(inst, DP_LOG_INFO, __VA_ARGS__)
#define dp_plg_debug(inst, ...) dp_plog(inst, DP_LOG_DEBUG, __VA_ARGS__)

/* Log at most once per `every_s` seconds per call site's state. */
struct dp_ratelimit {
	uint64_t last_ns;
	uint64_t suppressed;
};
int dp_ratelimit_ok(struct dp_ratelimit *rl, uint64_t now_ns, uint64_t every_ns);

#endif
