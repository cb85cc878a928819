/*
 * rdk_floor.c — what librdkafka alone costs per message, with no sluice in
 * the process: the floor under the kafka scenarios of bench/e2e.
 *
 *   rdk_floor BOOTSTRAP TOPIC COUNT [--no-copy] [property=value ...]
 *
 * Messages are the JSON sluice's kafka output writes for loadgen's RFC 5424
 * events (same keys in the same order, same content generator), rendered
 * before the clock starts, keyed by host. They are produced the way
 * out_kafka produces them: RD_KAFKA_MSG_F_COPY, one rd_kafka_produce_batch
 * per partition (murmur2 of the key, as sluice and Java clients pick), the
 * delivery reports served by rd_kafka_poll on this thread, and a full queue
 * waited out in rd_kafka_poll. --no-copy produces without
 * RD_KAFKA_MSG_F_COPY (the messages outlive their reports here), to show
 * what librdkafka's copy costs. Defaults are the scenario's: lz4, acks=all,
 * idempotent, linger.ms 5; properties on the command line override them.
 *
 * Prints one JSON line: messages delivered, seconds, the process's CPU
 * seconds and those of librdkafka's threads (rdk:*), and messages per
 * CPU-second. No message is counted before its delivery report.
 *
 * Threads: main, plus librdkafka's own.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
#include "lg_text.h"

#define NSAMPLE 8192   /* distinct messages, cycled */
#define BATCH   512    /* messages per round, as a chunk of sluice's */

static long delivered, failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err)
		failed++;
	else
		delivered++;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* utime+stime of the threads named rdk:* */
static double rdk_cpu_s(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return 0;
	long ticks = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[288], st[1024];
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(st, 1, sizeof(st) - 1, f);
		fclose(f);
		st[n] = 0;
		char *l = strchr(st, '('), *r = strrchr(st, ')');
		if (!l || !r || strncmp(l + 1, "rdk:", 4))
			continue;
		/* after ") ": state is field 3; utime, stime are 14 and 15 */
		long ut = 0, stime = 0;
		char *p = r + 2;
		for (int field = 3; field < 14 && p; field++)
			p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
		if (p && sscanf(p, "%ld %ld", &ut, &stime) == 2)
			ticks += ut + stime;
	}
	closedir(d);
	return (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

/* s as the inside of a JSON string (quotes and backslashes escaped; the
 * generator writes no control characters). */
static const char *esc(char *b, size_t cap, const char *s)
{
	size_t o = 0;
	for (; *s && o + 3 < cap; s++) {
		if (*s == '"' || *s == '\\')
			b[o++] = '\\';
		b[o++] = *s;
	}
	b[o] = 0;
	return b;
}

/* The JSON out_kafka writes for one RFC 5424 event of loadgen's. */
static int render(char *b, size_t cap, const struct lg_event *e, unsigned seq)
{
	char pid[16], sd[600], text[700];
	snprintf(pid, sizeof(pid), "%u", e->pid);
	return snprintf(b, cap,
			"{\"@timestamp\":1763755200.%06u,\"pri\":\"%u\",\"time\":\"2026-11-21T20:00:00.%06uZ\","
			"\"host\":\"%s\",\"ident\":\"%s\",\"pid\":\"%s\",\"msgid\":\"%s\",\"extradata\":\"%s\","
			"\"message\":\"%s\"}",
			seq % 1000000, e->pri, seq % 1000000, e->host, e->app, e->pid ? pid : "-", e->msgid,
			esc(sd, sizeof(sd), e->sd), esc(text, sizeof(text), e->text));
}

static int set(rd_kafka_conf_t *kc, const char *k, const char *v)
{
	char err[256];
	if (rd_kafka_conf_set(kc, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "rdk_floor: %s=%s: %s\n", k, v, err);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: rdk_floor BOOTSTRAP TOPIC COUNT [--no-copy] [property=value ...]\n");
		return 2;
	}
	long count = atol(argv[3]);
	int flags = RD_KAFKA_MSG_F_COPY;
	rd_kafka_conf_t *kc = rd_kafka_conf_new();
	if (set(kc, "bootstrap.servers", argv[1]) || set(kc, "compression.codec", "lz4") ||
	    set(kc, "acks", "all") || set(kc, "enable.idempotence", "true") || set(kc, "linger.ms", "5"))
		return 1;
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--no-copy")) {
			flags = 0;
			continue;
		}
		char *eq = strchr(argv[i], '=');
		if (!eq) {
			fprintf(stderr, "rdk_floor: %s: not property=value\n", argv[i]);
			return 2;
		}
		*eq = 0;
		if (set(kc, argv[i], eq + 1))
			return 1;
	}
	rd_kafka_conf_set_dr_msg_cb(kc, on_delivery);
	char err[256];
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "rdk_floor: %s\n", err);
		return 1;
	}
	rd_kafka_topic_t *t = rd_kafka_topic_new(rk, argv[2], NULL);
	const struct rd_kafka_metadata *md;
	if (rd_kafka_metadata(rk, 0, t, &md, 10000) || md->topic_cnt != 1 || md->topics[0].partition_cnt <= 0) {
		fprintf(stderr, "rdk_floor: no metadata for topic %s\n", argv[2]);
		return 1;
	}
	int32_t nparts = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);

	/* The messages, their keys and partitions, before the clock starts. */
	static char text[NSAMPLE][1024];
	static rd_kafka_message_t sample[NSAMPLE];
	static int32_t part[NSAMPLE];
	uint64_t rng = 42;
	size_t bytes = 0;
	for (unsigned i = 0; i < NSAMPLE; i++) {
		struct lg_event e;
		lg_event_gen(&e, &rng, 1);
		int n = render(text[i], sizeof(text[i]), &e, i);
		if (n <= 0 || n >= (int)sizeof(text[i]))
			n = (int)strlen(text[i]);
		sample[i].payload = text[i];
		sample[i].len = (size_t)n;
		/* the key is the host: it sits in the JSON as "host":"..." */
		char *h = strstr(text[i], "\"host\":\"") + 8;
		sample[i].key = h;
		sample[i].key_len = (size_t)(strchr(h, '"') - h);
		part[i] = rd_kafka_msg_partitioner_murmur2(t, h, sample[i].key_len, nparts, NULL, NULL);
		bytes += (size_t)n;
	}

	static rd_kafka_message_t byp[BATCH];
	double t0 = now_s(), c0 = cpu_s(), r0 = rdk_cpu_s();
	long sent = 0;
	while (sent < count) {
		/* One round: BATCH messages, sorted by partition, one batch each. */
		long n = count - sent < BATCH ? count - sent : BATCH;
		for (int32_t p = 0; p < nparts; p++) {
			int k = 0;
			for (long i = 0; i < n; i++) {
				unsigned s = (unsigned)((sent + i) % NSAMPLE);
				if (part[s] == p)
					byp[k++] = sample[s];
			}
			int off = 0;
			while (off < k) {
				int ok = rd_kafka_produce_batch(t, p, flags, byp + off, k - off);
				off += ok;
				if (off < k)
					rd_kafka_poll(rk, 1);   /* queue full: serve reports */
			}
		}
		sent += n;
		rd_kafka_poll(rk, 0);
	}
	rd_kafka_flush(rk, 60000);
	double secs = now_s() - t0, cpu = cpu_s() - c0, rdk = rdk_cpu_s() - r0;
	printf("{\"copy\": %s, \"messages\": %ld, \"delivered\": %ld, \"failed\": %ld, \"avg_bytes\": %zu, \"partitions\": %d, "
	       "\"seconds\": %.3f, \"cpu_s\": %.2f, \"cpu_librdkafka_s\": %.2f, \"msgs_per_s\": %.0f, "
	       "\"msgs_per_cpu_s\": %.0f, \"us_per_msg_librdkafka_threads\": %.3f}\n",
	       flags ? "true" : "false", count, delivered, failed, bytes / NSAMPLE, nparts, secs, cpu, rdk, (double)delivered / secs,
	       (double)delivered / cpu, rdk * 1e6 / (double)(delivered ? delivered : 1));
	rd_kafka_topic_destroy(t);
	rd_kafka_destroy(rk);
	return delivered == count ? 0 : 1;
}
