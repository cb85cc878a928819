/*
 * in_systemd.h — what the two parts of the systemd input share: the
 * plugin (in_systemd.c: keys, reading the journal, records, when the
 * cursor moves) and its cursor database (in_systemd_db.c).
 *
 * Threads: the DB is opened and closed on the control thread (setup,
 * teardown) and used in between by the one shard that reads the journal.
 */
#ifndef IN_SYSTEMD_H
#define IN_SYSTEMD_H

#include <stddef.h>
#include "dp_common.h"

/* A journal cursor ("s=...;i=...;b=...;m=...;t=...;x=..."): about 150
 * bytes; one longer than this is not kept (its chunk's successor is). */
#define SYSTEMD_CURSOR_MAX 256

struct systemd_db;

/* sync: index in "extra|full|normal|off" (DB.Sync). NULL and err filled
 * (err->key "DB") when the file cannot be opened or is not a database. */
struct systemd_db *in_systemd_db_open(const char *path, int sync, struct dp_err *err);
void in_systemd_db_close(struct systemd_db *db);
/* The stored cursor into buf: 1, 0 when there is none, -EIO. */
int in_systemd_db_get(struct systemd_db *db, char *buf, size_t cap);
/* Store the cursor of the last entry delivered: 0 or -EIO (logged,
 * rate-limited; the next settled chunk tries again). */
int in_systemd_db_set(struct systemd_db *db, const char *cursor);

#endif
