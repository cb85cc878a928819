/*
 * mb_avro.h — C side of the Avro micro-benchmark (bench_avro.cc): one
 * chunk of syslog-like records (parsed from JSON), encoded record by record
 * as the kafka output does, with Format avro (out_kafka_avro.h) or, for
 * comparison, json (out_json.h). C because the C++ harness should not see
 * sluice's headers (see mb_shim.h).
 * Threads: the benchmark thread.
 */
#ifndef MB_AVRO_H
#define MB_AVRO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mb_avro;

/* A chunk of up to n records (as many as fit); NULL on failure. */
struct mb_avro *mb_avro_create(unsigned n);
/* Encode every record once; returns the bytes written (0: a record failed). */
uint64_t mb_avro_pass(struct mb_avro *m, int json);
uint64_t mb_avro_records(const struct mb_avro *m);
void mb_avro_destroy(struct mb_avro *m);

#ifdef __cplusplus
}
#endif

#endif
