/*
 * avro_decode.c — reads back what the kafka output wrote with Format avro,
 * for the end-to-end tests: one message per stdin line, in hex; for each,
 * one line on stdout:
 *
 *   {"id": SCHEMA_ID, "value": <the record as libavro renders it in JSON>}
 *
 * or {"error": "..."} when the magic byte is not 0, the body does not
 * decode under the schema, or bytes are left after the record.
 *
 *   avro_decode SCHEMA_FILE < hex_lines
 *
 * Threads: main only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <avro.h>

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s SCHEMA_FILE < hex_lines\n", argv[0]);
		return 2;
	}
	FILE *f = fopen(argv[1], "r");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	static char schema_json[1 << 16];
	size_t sn = fread(schema_json, 1, sizeof(schema_json) - 1, f);
	fclose(f);
	avro_schema_t schema;
	if (avro_schema_from_json_length(schema_json, sn, &schema)) {
		fprintf(stderr, "avro_decode: schema: %s\n", avro_strerror());
		return 1;
	}
	avro_value_iface_t *cls = avro_generic_class_from_schema(schema);
	avro_value_t v;
	if (!cls || avro_generic_value_new(cls, &v)) {
		fprintf(stderr, "avro_decode: %s\n", avro_strerror());
		return 1;
	}
	size_t cap = 1 << 20;
	char *line = malloc(cap), *msg = malloc(cap);
	while (fgets(line, (int)cap, stdin)) {
		size_t n = 0;
		for (char *p = line; hexval(p[0]) >= 0 && hexval(p[1]) >= 0; p += 2)
			msg[n++] = (char)(hexval(p[0]) << 4 | hexval(p[1]));
		if (n < 5 || msg[0] != 0) {
			printf("{\"error\": \"no Confluent header (%zu bytes, first %d)\"}\n", n, n ? msg[0] : -1);
			continue;
		}
		unsigned id = (unsigned)(unsigned char)msg[1] << 24 | (unsigned)(unsigned char)msg[2] << 16 |
			      (unsigned)(unsigned char)msg[3] << 8 | (unsigned char)msg[4];
		avro_reader_t rd = avro_reader_memory(msg + 5, (int64_t)n - 5);
		char extra, *json = NULL;
		avro_value_reset(&v);
		if (avro_value_read(rd, &v))
			printf("{\"error\": \"does not decode under the schema\"}\n");
		else if (avro_read(rd, &extra, 1) == 0)
			printf("{\"error\": \"bytes left after the record\"}\n");
		else if (avro_value_to_json(&v, 1, &json))
			printf("{\"error\": \"cannot render\"}\n");
		else
			printf("{\"id\": %u, \"value\": %s}\n", id, json);
		free(json);
		avro_reader_free(rd);
	}
	free(line);
	free(msg);
	avro_value_decref(&v);
	avro_value_iface_decref(cls);
	avro_schema_decref(schema);
	return 0;
}
