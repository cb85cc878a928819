/*
 * shard_store_sync.c — storage.sync full: one thread per shard fdatasyncs
 * what the shard appended, and tells it (syncer.synced) how far the disk
 * has it; the shard counts records stored and acknowledges them only up
 * to there, and never waits for the disk itself.
 *
 * Threads: the syncer runs here; start and stop are the shard's (open and
 * close), which talks to it only through the atomics of struct syncer.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "shard_store_int.h"

static void *syncer_main(void *arg)
{
	struct syncer *y = arg;
	int fd = -1;
	uint64_t fd_seg = 0;
	while (!atomic_load(&y->stop)) {
		uint64_t seq = atomic_load_explicit(&y->want_seq, memory_order_acquire);
		uint64_t seg = atomic_load_explicit(&y->want_seg, memory_order_acquire);
		if (seq <= atomic_load(&y->synced)) {
			struct pollfd p = { .fd = y->efd, .events = POLLIN };
			poll(&p, 1, 200);
			uint64_t v;
			ssize_t r = read(y->efd, &v, sizeof(v));
			(void)r;
			continue;
		}
		if (fd < 0 || fd_seg != seg) {
			/* A new segment: the old one's last writes, and any
			 * segment in between, reach the disk with syncfs. */
			if (fd >= 0) {
				syncfs(fd);
				close(fd);
			}
			char path[PATH_MAX + 32];
			snprintf(path, sizeof(path), "%s/%016llx.seg", y->dir, (unsigned long long)seg);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			fd_seg = seg;
			if (fd < 0) {
				/* Deleted already: all of it was delivered. */
				atomic_store(&y->synced, seq);
				if (dp_bell_asleep(y->bell))
					dp_bell_ring(y->bell);
				continue;
			}
		}
		if (fdatasync(fd) == 0) {
			atomic_store(&y->synced, seq);
			/* a shard asleep with nothing else to do would never see
			 * it (an ack owed for what was just synced) */
			if (dp_bell_asleep(y->bell))
				dp_bell_ring(y->bell);
		} else
			dp_error("store: fdatasync in %s: %s", y->dir, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

int shard_store_syncer_start(struct shard_store *ss, struct dp_bell *bell, struct dp_err *err)
{
	struct syncer *y = calloc(1, sizeof(*y));
	if (!y)
		return dp_err_set(err, -ENOMEM, "store: out of memory");
	y->bell = bell;
	snprintf(y->dir, sizeof(y->dir), "%s", ss->dirs[0].path);
	y->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	atomic_store(&y->synced, ss->next_seq - 1);
	atomic_store(&y->want_seq, ss->next_seq - 1);
	int rc = y->efd < 0 ? errno : pthread_create(&y->thread, NULL, syncer_main, y);
	if (rc) {
		if (y->efd >= 0)
			close(y->efd);
		free(y);
		return dp_err_set(err, -rc, "store: cannot start its sync thread: %s", strerror(rc));
	}
	ss->sync = y;
	return 0;
}

void shard_store_syncer_stop(struct syncer *y)
{
	atomic_store(&y->stop, 1);
	uint64_t one = 1;
	ssize_t r = write(y->efd, &one, sizeof(one));
	(void)r;
	pthread_join(y->thread, NULL);
	close(y->efd);
	free(y);
}
