/*
 * lg_text.h — one realistic event (host, application, level, text and the
 * numbers in it) drawn from a seeded random state; lg_corpus.c renders it as
 * RFC 5424, RFC 3164 or JSON.
 *
 * Threads: pure functions of the caller's random state; any thread.
 */
#ifndef LG_TEXT_H
#define LG_TEXT_H

#include <stdint.h>

enum { LG_DEBUG, LG_INFO, LG_WARN, LG_ERROR, LG_LEVELS };

extern const char *const lg_level_names[LG_LEVELS];

struct lg_event {
	char host[24];
	const char *app;
	const char *msgid;       /* RFC 5424 MSGID, "-" when none */
	unsigned pid;            /* 0: the app logs no PID (kernel) */
	unsigned pri;            /* facility * 8 + severity of the level */
	int level;               /* LG_DEBUG .. LG_ERROR; ERROR on ~20% */
	unsigned status;         /* HTTP status, 0 when not a request */
	unsigned latency_ms;     /* 0 when the event has none */
	unsigned bytes;
	unsigned user_id;        /* 0 when the event has none */
	char path[96];           /* "" when not a request */
	char sd[256];            /* RFC 5424 STRUCTURED-DATA, "-" when none */
	char text[320];          /* free text, no level, no newline */
};

uint64_t lg_rand(uint64_t *state);
void lg_event_gen(struct lg_event *e, uint64_t *state, int with_sd);

#endif
