/*
 * mb_avro.c — see mb_avro.h. The record is an RFC 5424 syslog event as
 * sluice's parser lays it out (8 string fields, one of them optional in
 * the schema, plus an integer), here built from JSON text.
 * Threads: the benchmark thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dp_chunk.h"
#include "mb_avro.h"
#include "out_json.h"
#include "out_kafka_avro.h"
#include "psr_json.h"

static const char SCHEMA[] =
	"{\"type\":\"record\",\"name\":\"syslog\",\"fields\":["
	"{\"name\":\"pri\",\"type\":\"int\"},{\"name\":\"time\",\"type\":\"string\"},"
	"{\"name\":\"host\",\"type\":\"string\"},{\"name\":\"ident\",\"type\":\"string\"},"
	"{\"name\":\"pid\",\"type\":[\"null\",\"string\"]},{\"name\":\"msgid\",\"type\":[\"null\",\"string\"]},"
	"{\"name\":\"extradata\",\"type\":[\"null\",\"string\"]},{\"name\":\"message\",\"type\":\"string\"}]}";

struct mb_avro {
	struct dp_chunk c;
	struct dp_rec recs[DP_CHUNK_RECS];
	struct dp_field fields[DP_CHUNK_FIELDS];
	uint8_t data[DP_CHUNK_DATA];
	struct out_kafka_avro *a;
	struct out_json_opts jo;
	char out[1 << 20];
};

struct mb_avro *mb_avro_create(unsigned n)
{
	struct mb_avro *m = calloc(1, sizeof(*m));
	struct dp_err err = { 0 };
	if (!m || !(m->a = out_kafka_avro_create(SCHEMA, 1, NULL, &err))) {
		fprintf(stderr, "mb_avro: %s\n", err.msg);
		free(m);
		return NULL;
	}
	m->jo.date_key = "@timestamp";
	dp_chunk_init(&m->c, m->recs, m->fields, m->data);
	for (unsigned i = 0; i < n && i < DP_CHUNK_RECS; i++) {
		char line[512];
		int len = snprintf(line, sizeof(line),
				   "{\"pri\":%u,\"time\":\"2023-11-14T22:13:20.%06uZ\",\"host\":\"web-%02u.example.com\","
				   "\"ident\":\"nginx\",\"pid\":\"%u\",\"msgid\":\"ID%u\",\"extradata\":\"-\","
				   "\"message\":\"GET /api/v1/items/%u HTTP/1.1 200 512 0.%03u\"}",
				   134 + i % 8, i * 37 % 1000000, i % 16, 1000 + i % 50, i % 7, i, i % 1000);
		dp_chunk_rec_begin(&m->c, 1700000000, i);
		if (psr_json_parse(&m->c, line, (size_t)len)) {
			mb_avro_destroy(m);
			return NULL;
		}
		if (dp_chunk_rec_end(&m->c))
			break;   /* the chunk is full: as many as fit */
	}
	return m;
}

uint64_t mb_avro_pass(struct mb_avro *m, int json)
{
	uint64_t bytes = 0;
	for (uint32_t i = 0; i < m->c.nrecs; i++) {
		size_t n = json ? out_json_rec(&m->c, &m->c.recs[i], &m->jo, m->out, sizeof(m->out))
				: out_kafka_avro_encode(m->a, &m->c, &m->c.recs[i], m->out, sizeof(m->out));
		if (!n)
			return 0;
		bytes += n;
	}
	return bytes;
}

uint64_t mb_avro_records(const struct mb_avro *m)
{
	return m->c.nrecs;
}

void mb_avro_destroy(struct mb_avro *m)
{
	if (m)
		out_kafka_avro_destroy(m->a);
	free(m);
}
