/*
 * in_net.h — what the network inputs (syslog, tcp) share: filling the
 * transport fields of an instance from their keys. Control thread only.
 */
#ifndef IN_NET_H
#define IN_NET_H

#include "dp_plugin.h"

/* Copy listen/port/sizes into the instance, checking them. */
int in_net_setup(struct dp_input *in, enum dp_transport net, const char *listen, int64_t port,
		 int64_t chunk_size, int64_t max_size, struct dp_err *err);

/* The same for a Unix socket at path with mode bits perm ("0644"). */
int in_net_setup_unix(struct dp_input *in, enum dp_transport net, const char *path, const char *perm,
		      int64_t chunk_size, int64_t max_size, struct dp_err *err);

#endif
