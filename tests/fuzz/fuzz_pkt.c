/*
 * fuzz_pkt.c — libFuzzer target for shard_pkt_parse: any bytes as a frame
 * (copied to a block of exactly their length, so ASan catches overreads).
 * A delivered payload must lie inside the frame; the verdict must be one
 * of the enum's values. Byte 0 picks the configured port (any or 514) and
 * the largest frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "shard_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct shard_pkt_cfg cfg = {
		.port = data[0] & 1 ? 514 : 0,
		.max_frame = data[0] & 2 ? 1518 : 0,
	};
	size_t len = size - 1;
	uint8_t *f = malloc(len ? len : 1);
	memcpy(f, data + 1, len);
	struct shard_pkt pk;
	enum shard_pkt_verdict v = shard_pkt_parse(&cfg, f, (uint32_t)len, &pk);
	if ((unsigned)v >= SHARD_PKT_NVERDICTS)
		abort();
	if (v == SHARD_PKT_OK) {
		if (pk.payload < f || pk.payload + pk.len > f + len)
			abort();
		if (cfg.port && pk.dport != 514)
			abort();
		char src[64];
		shard_pkt_src_name(&pk, src, sizeof(src));
	}
	free(f);
	return 0;
}
