/*
 * lg_text.c — the content of loadgen's events: hosts, applications and the
 * free text each would log at each level, with the numbers a real fleet puts
 * in its logs (latencies, status codes, ids, byte counts, paths, addresses).
 *
 * Threads: pure functions of the caller's random state; any thread.
 *
 * The word ERROR (upper case) appears only in events whose level is ERROR
 * (through "level=ERROR" or "level":"ERROR"), and no other event carries
 * "error" in any case, so a grep for ERROR counts exactly the error events.
 */
#include <stdio.h>
#include <string.h>
#include "lg_text.h"

static const struct { const char *name; unsigned n; } host_groups[] = {
	{ "web", 40 }, { "db", 8 }, { "cache", 6 }, { "k8s-node", 24 },
	{ "lb", 4 }, { "batch", 10 },
};

/* facility, relative weight, whether it logs a PID, its MSGID */
static const struct {
	const char *name; unsigned facility; unsigned weight; int has_pid;
	const char *msgid;
} apps[] = {
	{ "nginx",        23, 30, 1, "ACCESS" },
	{ "app-payments", 16, 15, 1, "ID47" },
	{ "haproxy",      18, 15, 1, "-" },
	{ "sshd",          4, 10, 1, "-" },
	{ "postgres",     17, 10, 1, "-" },
	{ "app-auth",     16, 10, 1, "AUTH" },
	{ "kernel",        0,  5, 0, "-" },
	{ "cron",          9,  5, 1, "-" },
};

static const char *const users[] = {
	"alice", "bob", "carol", "dave", "erin", "frank", "deploy",
	"svc-backup", "admin", "oracle", "grace", "mallory",
};

static const char *const methods[] = { "GET", "GET", "GET", "POST", "PUT", "DELETE" };

const char *const lg_level_names[LG_LEVELS] = { "DEBUG", "INFO", "WARN", "ERROR" };
static const unsigned level_severity[LG_LEVELS] = { 7, 6, 4, 3 };

uint64_t lg_rand(uint64_t *s)
{
	/* splitmix64: fast, good enough, and reproducible from --seed */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned rnd(uint64_t *s, unsigned n)
{
	return (unsigned)(lg_rand(s) % n);
}

static const char *pick_user(uint64_t *s)
{
	return users[rnd(s, sizeof(users) / sizeof(users[0]))];
}

static void pick_ip(uint64_t *s, char *dst, size_t cap)
{
	snprintf(dst, cap, "10.%u.%u.%u", rnd(s, 8), rnd(s, 256), 1 + rnd(s, 254));
}

static void pick_path(uint64_t *s, char *dst, size_t cap)
{
	switch (rnd(s, 8)) {
	case 0: snprintf(dst, cap, "/api/v1/users/%u", rnd(s, 100000)); break;
	case 1: snprintf(dst, cap, "/api/v1/orders/%u", 1000000 + rnd(s, 900000)); break;
	case 2: snprintf(dst, cap, "/api/v1/cart/%u/items", rnd(s, 100000)); break;
	case 3: snprintf(dst, cap, "/static/js/app.%08x.js", (unsigned)lg_rand(s)); break;
	case 4: snprintf(dst, cap, "/healthz"); break;
	case 5: snprintf(dst, cap, "/api/v2/search?q=shoes&page=%u", 1 + rnd(s, 20)); break;
	case 6: snprintf(dst, cap, "/login"); break;
	default: snprintf(dst, cap, "/checkout/%u", rnd(s, 100000)); break;
	}
}

static unsigned pick_status(uint64_t *s, int level)
{
	static const unsigned ok[] = { 200, 200, 200, 201, 204, 301, 304 };
	static const unsigned warn[] = { 404, 404, 429, 499 };
	static const unsigned bad[] = { 500, 502, 503, 504 };
	if (level == LG_ERROR)
		return bad[rnd(s, 4)];
	if (level == LG_WARN)
		return warn[rnd(s, 4)];
	return ok[rnd(s, 7)];
}

static int pick_level(uint64_t *s)
{
	unsigned r = rnd(s, 100);
	if (r < 20)
		return LG_ERROR;
	if (r < 35)
		return LG_WARN;
	if (r < 45)
		return LG_DEBUG;
	return LG_INFO;
}

static void text_web(struct lg_event *e, uint64_t *s, int haproxy)
{
	char ip[20];
	pick_path(s, e->path, sizeof(e->path));
	e->status = pick_status(s, e->level);
	e->bytes = e->status == 304 || e->status == 204 ? 0 : 120 + rnd(s, 60000);
	e->latency_ms = e->level == LG_ERROR ? 1000 + rnd(s, 29000) : rnd(s, 250);
	e->user_id = 1 + rnd(s, 99999);
	const char *m = methods[rnd(s, 6)];
	if (!haproxy) {
		snprintf(e->text, sizeof(e->text),
			 "%s %s HTTP/1.1 %u bytes=%u latency_ms=%u user_id=u%u",
			 m, e->path, e->status, e->bytes, e->latency_ms, e->user_id);
		return;
	}
	pick_ip(s, ip, sizeof(ip));
	if (e->level == LG_ERROR && rnd(s, 2)) {
		snprintf(e->text, sizeof(e->text),
			 "Server be_api/srv%u is DOWN, reason: Layer4 timeout, check duration: %ums.",
			 1 + rnd(s, 12), e->latency_ms);
		return;
	}
	snprintf(e->text, sizeof(e->text),
		 "%s:%u [21/Nov/2026:12:00:%02u.%03u] fe_https be_api/srv%u 0/0/%u/%u/%u %u %u - - ---- %u/%u/12/3/0 0/0 \"%s %s HTTP/1.1\"",
		 ip, 1024 + rnd(s, 60000), rnd(s, 60), rnd(s, 1000), 1 + rnd(s, 12),
		 rnd(s, 5), e->latency_ms, e->latency_ms + 1, e->status, e->bytes,
		 300 + rnd(s, 200), 200 + rnd(s, 100), m, e->path);
}

static void text_sshd(struct lg_event *e, uint64_t *s)
{
	char ip[20];
	pick_ip(s, ip, sizeof(ip));
	const char *u = pick_user(s);
	unsigned port = 1024 + rnd(s, 60000);
	switch (e->level) {
	case LG_INFO:
		snprintf(e->text, sizeof(e->text),
			 "Accepted publickey for %s from %s port %u ssh2: ED25519 SHA256:%016llx",
			 u, ip, port, (unsigned long long)lg_rand(s));
		break;
	case LG_WARN:
		snprintf(e->text, sizeof(e->text), "Invalid user %s from %s port %u", u, ip, port);
		break;
	case LG_ERROR:
		snprintf(e->text, sizeof(e->text),
			 "error: maximum authentication attempts exceeded for %s from %s port %u ssh2 [preauth]",
			 u, ip, port);
		break;
	default:
		snprintf(e->text, sizeof(e->text),
			 "pam_unix(sshd:session): session opened for user %s(uid=%u) by (uid=0)",
			 u, 1000 + rnd(s, 500));
	}
}

static void text_payments(struct lg_event *e, uint64_t *s)
{
	unsigned order = 1000000 + rnd(s, 9000000);
	e->user_id = 1 + rnd(s, 99999);
	e->latency_ms = e->level == LG_ERROR ? 500 + rnd(s, 5000) : 5 + rnd(s, 400);
	switch (e->level) {
	case LG_INFO:
		snprintf(e->text, sizeof(e->text),
			 "payment captured order_id=%u user_id=u%u amount_cents=%u currency=EUR latency_ms=%u",
			 order, e->user_id, 99 + rnd(s, 50000), e->latency_ms);
		break;
	case LG_WARN:
		snprintf(e->text, sizeof(e->text),
			 "payment retry order_id=%u attempt=%u gateway=stripe latency_ms=%u",
			 order, 2 + rnd(s, 3), e->latency_ms);
		break;
	case LG_ERROR:
		snprintf(e->text, sizeof(e->text),
			 "payment failed order_id=%u user_id=u%u reason=card_declined gateway=adyen latency_ms=%u",
			 order, e->user_id, e->latency_ms);
		break;
	default:
		snprintf(e->text, sizeof(e->text), "fraud score order_id=%u score=0.%03u model=v%u",
			 order, rnd(s, 1000), 1 + rnd(s, 4));
	}
}

static void text_postgres(struct lg_event *e, uint64_t *s)
{
	switch (e->level) {
	case LG_INFO:
		snprintf(e->text, sizeof(e->text),
			 "connection authorized: user=%s database=orders application_name=api",
			 pick_user(s));
		break;
	case LG_WARN:
		e->latency_ms = 1000 + rnd(s, 9000);
		e->user_id = 1 + rnd(s, 99999);
		snprintf(e->text, sizeof(e->text),
			 "duration: %u.%03u ms statement: SELECT id, total FROM orders WHERE user_id = %u",
			 e->latency_ms, rnd(s, 1000), e->user_id);
		break;
	case LG_ERROR:
		snprintf(e->text, sizeof(e->text),
			 "deadlock detected: process %u waits for ShareLock on transaction %u; blocked by process %u",
			 1000 + rnd(s, 60000), 100000 + rnd(s, 900000), 1000 + rnd(s, 60000));
		break;
	default:
		snprintf(e->text, sizeof(e->text),
			 "checkpoint complete: wrote %u buffers (%u.%u%%); %u WAL file(s) added",
			 rnd(s, 20000), rnd(s, 100), rnd(s, 10), rnd(s, 4));
	}
}

static void text_auth(struct lg_event *e, uint64_t *s)
{
	const char *u = pick_user(s);
	e->user_id = 1 + rnd(s, 99999);
	e->latency_ms = 3 + rnd(s, 200);
	switch (e->level) {
	case LG_INFO:
		snprintf(e->text, sizeof(e->text),
			 "login ok user=%s user_id=u%u method=password mfa=true latency_ms=%u",
			 u, e->user_id, e->latency_ms);
		break;
	case LG_WARN:
		snprintf(e->text, sizeof(e->text), "token near expiry user_id=u%u ttl_s=%u",
			 e->user_id, rnd(s, 300));
		break;
	case LG_ERROR:
		snprintf(e->text, sizeof(e->text),
			 "login failed user=%s user_id=u%u reason=bad_password attempts=%u latency_ms=%u",
			 u, e->user_id, 1 + rnd(s, 5), e->latency_ms);
		break;
	default:
		snprintf(e->text, sizeof(e->text), "session refreshed sid=%016llx user_id=u%u",
			 (unsigned long long)lg_rand(s), e->user_id);
	}
}

static void text_kernel(struct lg_event *e, uint64_t *s)
{
	switch (e->level) {
	case LG_INFO:
		snprintf(e->text, sizeof(e->text),
			 "eth%u: link up, 10000 Mbps, full duplex, flow control rx/tx", rnd(s, 4));
		break;
	case LG_WARN:
		snprintf(e->text, sizeof(e->text),
			 "TCP: request_sock_TCP: possible SYN flooding on port %u. Sending cookies.",
			 1 + rnd(s, 65535));
		break;
	case LG_ERROR:
		snprintf(e->text, sizeof(e->text),
			 "Out of memory: Killed process %u (java) total-vm:%ukB, anon-rss:%ukB, oom_score_adj:0",
			 1000 + rnd(s, 60000), 1000000 + rnd(s, 9000000), 500000 + rnd(s, 4000000));
		break;
	default:
		snprintf(e->text, sizeof(e->text), "nf_conntrack: table usage %u of 262144",
			 rnd(s, 262144));
	}
}

static void text_cron(struct lg_event *e, uint64_t *s)
{
	const char *u = pick_user(s);
	switch (e->level) {
	case LG_INFO:
		snprintf(e->text, sizeof(e->text),
			 "(%s) CMD (/usr/local/bin/backup.sh --incremental --target s3://backups/%s)", u, u);
		break;
	case LG_WARN:
		snprintf(e->text, sizeof(e->text),
			 "(%s) MAIL (mailed %u bytes of output but got status 0x004b)", u, rnd(s, 4096));
		break;
	case LG_ERROR:
		snprintf(e->text, sizeof(e->text),
			 "(%s) job /usr/local/bin/report.sh exited status=%u after %us",
			 u, 1 + rnd(s, 127), rnd(s, 3600));
		break;
	default:
		snprintf(e->text, sizeof(e->text), "(%s) RELOAD (/var/spool/cron/crontabs/%s)", u, u);
	}
}

void lg_event_gen(struct lg_event *e, uint64_t *s, int sd)
{
	unsigned total = 0, i, r;

	memset(e, 0, sizeof(*e));
	for (i = 0; i < sizeof(host_groups) / sizeof(host_groups[0]); i++)
		total += host_groups[i].n;
	r = rnd(s, total);
	for (i = 0; r >= host_groups[i].n; i++)
		r -= host_groups[i].n;
	snprintf(e->host, sizeof(e->host), "%s-%02u", host_groups[i].name, r + 1);

	total = 0;
	for (i = 0; i < sizeof(apps) / sizeof(apps[0]); i++)
		total += apps[i].weight;
	r = rnd(s, total);
	for (i = 0; r >= apps[i].weight; i++)
		r -= apps[i].weight;
	e->app = apps[i].name;
	e->msgid = apps[i].msgid;
	/* the same host and app keep the same PID, as a real process would */
	if (apps[i].has_pid) {
		uint64_t h = 1469598103934665603ULL + i;
		for (const char *c = e->host; *c; c++)
			h = (h ^ (unsigned char)*c) * 1099511628211ULL;
		e->pid = 300 + (unsigned)(lg_rand(&h) % 60000);
	}
	e->level = pick_level(s);
	e->pri = apps[i].facility * 8 + level_severity[e->level];

	switch (i) {
	case 0: text_web(e, s, 0); break;
	case 1: text_payments(e, s); break;
	case 2: text_web(e, s, 1); break;
	case 3: text_sshd(e, s); break;
	case 4: text_postgres(e, s); break;
	case 5: text_auth(e, s); break;
	case 6: text_kernel(e, s); break;
	default: text_cron(e, s); break;
	}

	/* RFC 5424 structured data on about 40% of events, with the escapes
	 * (\" \] \\) a parser must get right on some of them */
	strcpy(e->sd, "-");
	if (!sd || rnd(s, 5) >= 2)
		return;
	char ip[20];
	pick_ip(s, ip, sizeof(ip));
	int n = snprintf(e->sd, sizeof(e->sd),
			 "[exampleSDID@32473 iut=\"%u\" eventSource=\"%s\" eventID=\"%u\"]",
			 1 + rnd(s, 9), rnd(s, 2) ? "App" : "Application", 1000 + rnd(s, 100));
	r = rnd(s, 10);
	if (r < 4)
		snprintf(e->sd + n, sizeof(e->sd) - (size_t)n,
			 "[origin ip=\"%s\" software=\"loadgen\" swVersion=\"1.0\"]", ip);
	else if (r == 4)
		snprintf(e->sd + n, sizeof(e->sd) - (size_t)n,
			 "[meta sequenceId=\"%u\" note=\"say \\\"hi\\\" \\] c:\\\\tmp\"]",
			 rnd(s, 1000000));
}
