/* placeholder while the DPDK path is brought up */
#include <errno.h>
#include "shard_rx.h"
int shard_rx_xdp_open(struct shard *sh, struct shard_in *si, struct dp_err *err)
{
	(void)sh; (void)si;
	return dp_err_set(err, -ENOTSUP, "af_xdp: not yet");
}
