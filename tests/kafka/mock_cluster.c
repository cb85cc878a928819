/*
 * mock_cluster.c — a Kafka cluster for the tests: librdkafka's mock cluster
 * (rdkafka_mock.h, the real wire protocol, no broker to install) with 3
 * brokers, the topics named on the command line, the bootstrap address
 * printed on stdout (one line, flushed), up until SIGTERM/SIGINT or EOF on
 * stdin.
 *
 *   mock_cluster [-b BROKERS] TOPIC[:PARTITIONS] ...
 *
 * Commands read from stdin, one per line, so a test can fail the cluster
 * mid-run and bring it back:
 *   down            every broker down (connections closed, refused)
 *   up              every broker up again
 *   error N CODE    the next N Produce requests fail with error CODE
 *   rtt MS [BROKER] every broker (or broker BROKER, 1-based) answers after
 *                   MS milliseconds
 *   leader TOPIC PARTITION BROKER   that broker leads that partition
 * Each command answers "ok" on stdout once applied.
 *
 * Query mode, to check a consumer group's committed offsets:
 *   mock_cluster -q BOOTSTRAP GROUP TOPIC PARTITIONS
 * prints "PARTITION OFFSET" per partition (-1001: none committed).
 *
 * Threads: main only (the mock cluster runs its own threads).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void command(rd_kafka_mock_cluster_t *mc, int nbrokers, char *line)
{
	int n, code, broker;
	char topic[256];
	if (!strncmp(line, "down", 4)) {
		for (int b = 1; b <= nbrokers; b++)
			rd_kafka_mock_broker_set_down(mc, b);
	} else if (!strncmp(line, "up", 2)) {
		for (int b = 1; b <= nbrokers; b++)
			rd_kafka_mock_broker_set_up(mc, b);
	} else if (sscanf(line, "error %d %d", &n, &code) == 2) {
		rd_kafka_resp_err_t errs[1024];
		if (n > 1024)
			n = 1024;
		for (int i = 0; i < n; i++)
			errs[i] = (rd_kafka_resp_err_t)code;
		rd_kafka_mock_push_request_errors_array(mc, 0 /* ApiKey Produce */, (size_t)n, errs);
	} else if (sscanf(line, "leader %255s %d %d", topic, &n, &broker) == 3) {
		rd_kafka_mock_partition_set_leader(mc, topic, n, broker);
	} else if (sscanf(line, "rtt %d %d", &n, &broker) == 2) {
		rd_kafka_mock_broker_set_rtt(mc, broker, n);
	} else if (sscanf(line, "rtt %d", &n) == 1) {
		for (int b = 1; b <= nbrokers; b++)
			rd_kafka_mock_broker_set_rtt(mc, b, n);
	} else {
		printf("error: unknown command\n");
		fflush(stdout);
		return;
	}
	printf("ok\n");
	fflush(stdout);
}

static int query(const char *bootstrap, const char *group, const char *topic, int parts)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)) ||
	    rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr))) {
		fprintf(stderr, "mock_cluster: %s\n", errstr);
		return 1;
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "mock_cluster: %s\n", errstr);
		return 1;
	}
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts);
	for (int p = 0; p < parts; p++)
		rd_kafka_topic_partition_list_add(l, topic, p);
	rd_kafka_resp_err_t e = rd_kafka_committed(rk, l, 10000);
	if (e) {
		fprintf(stderr, "mock_cluster: committed: %s\n", rd_kafka_err2str(e));
		return 1;
	}
	for (int i = 0; i < l->cnt; i++)
		printf("%d %lld\n", l->elems[i].partition, (long long)l->elems[i].offset);
	rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_destroy(rk);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "-q"))
		return query(argv[2], argv[3], argv[4], atoi(argv[5]));
	int nbrokers = 3, opt;
	while ((opt = getopt(argc, argv, "b:")) != -1) {
		if (opt == 'b') {
			nbrokers = atoi(optarg);
		} else {
			fprintf(stderr, "usage: %s [-b BROKERS] TOPIC[:PARTITIONS] ...\n", argv[0]);
			return 2;
		}
	}
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	/* The mock cluster lives inside a client instance; a producer that
	 * is never used to produce. */
	rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "mock_cluster: %s\n", errstr);
		return 1;
	}
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, nbrokers);
	if (!mc) {
		fprintf(stderr, "mock_cluster: cannot create the mock cluster\n");
		return 1;
	}
	for (int i = optind; i < argc; i++) {
		char name[256];
		int parts = 1;
		snprintf(name, sizeof(name), "%s", argv[i]);
		char *colon = strrchr(name, ':');
		if (colon) {
			*colon = 0;
			parts = atoi(colon + 1);
		}
		rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, parts, nbrokers < 3 ? nbrokers : 3);
		if (e) {
			fprintf(stderr, "mock_cluster: topic %s: %s\n", name, rd_kafka_err2str(e));
			return 1;
		}
	}
	/* No SA_RESTART: the signal must interrupt fgets on stdin. */
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	char line[256];
	while (!stop) {
		if (!fgets(line, sizeof(line), stdin)) {
			/* No controller: stay up until the signal. */
			while (!stop)
				pause();
			break;
		}
		command(mc, nbrokers, line);
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
