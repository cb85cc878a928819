/*
 * in_tail_db.c — the tail input's offsets database (`DB`), in Fluent
 * Bit's format so that a user moving from Fluent Bit keeps their offsets
 * and the other way round. One SQLite table, as Fluent Bit's
 * plugins/in_tail/tail_sql.h creates it:
 *
 *   CREATE TABLE in_tail_files (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
 *     offset INTEGER, inode INTEGER, created INTEGER, rotated INTEGER DEFAULT 0);
 *
 * One row per file followed: `name` the path it was found under (the new
 * name once rotated, with rotated=1), `offset` the byte after the last
 * line delivered, `inode` the key a file is found by on start (and, with
 * DB.compare_filename, its name too; the newest row wins, as in Fluent
 * Bit's tail_db.c), `created` seconds since the epoch. Rows of rotated
 * files are deleted once they are read to the end and delivered.
 *
 * sluice writes `offset` only when every output has taken the lines
 * before it (in_tail.c), in one transaction per returned chunk at most.
 *
 * Threads: the shards share the one connection (DB.locking takes an
 * exclusive lock on the file, so one connection it must be); each call
 * holds the mutex for its statements only.
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dp_log.h"
#include "in_tail.h"

struct tail_db {
	sqlite3 *db;
	pthread_mutex_t mu;
	sqlite3_stmt *get, *get_name, *insert, *update, *rotate, *del;
	char *path;
	uint64_t errors;
};

static const char *const SQL[] = {
	"SELECT id, offset FROM in_tail_files WHERE inode=?1 ORDER BY id DESC;",
	"SELECT id, offset FROM in_tail_files WHERE inode=?1 AND name=?2 ORDER BY id DESC;",
	"INSERT INTO in_tail_files (name, offset, inode, created) VALUES (?1, ?2, ?3, ?4);",
	"UPDATE in_tail_files SET offset=?1 WHERE id=?2;",
	"UPDATE in_tail_files SET name=?1, rotated=1 WHERE id=?2;",
	"DELETE FROM in_tail_files WHERE id=?1;",
};

static int exec(struct tail_db *db, const char *sql, struct dp_err *err)
{
	char *msg = NULL;
	if (sqlite3_exec(db->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	if (err)
		dp_err_set(err, -EIO, "DB %s: %s: %s", db->path, sql, msg ? msg : "error");
	sqlite3_free(msg);
	return -EIO;
}

void in_tail_db_close(struct tail_db *db)
{
	if (!db)
		return;
	sqlite3_stmt **st[] = { &db->get, &db->get_name, &db->insert, &db->update, &db->rotate, &db->del };
	for (unsigned i = 0; i < 6; i++)
		sqlite3_finalize(*st[i]);
	sqlite3_close(db->db);
	pthread_mutex_destroy(&db->mu);
	free(db->path);
	free(db);
}

struct tail_db *in_tail_db_open(const struct tail_cfg *cfg, struct dp_err *err)
{
	static const char *const sync[] = { "3", "2", "1", "0" };
	static const char *const journal[] = { "WAL", "DELETE", "TRUNCATE", "PERSIST", "MEMORY", "OFF" };
	struct tail_db *db = calloc(1, sizeof(*db));
	if (!db) {
		dp_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&db->mu, NULL);
	db->path = strdup(cfg->db);
	err->key = "DB";
	/* FULLMUTEX would lock per call too; ours covers a whole transaction. */
	if (sqlite3_open_v2(cfg->db, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		dp_err_set(err, -EIO, "cannot open DB '%s': %s", cfg->db,
			   db->db ? sqlite3_errmsg(db->db) : "out of memory");
		in_tail_db_close(db);
		return NULL;
	}
	/* Another process (Fluent Bit, sqlite3) may hold the file briefly. */
	sqlite3_busy_timeout(db->db, 1000);
	char sql[96];
	int rc = exec(db, "CREATE TABLE IF NOT EXISTS in_tail_files (id INTEGER PRIMARY KEY, "
		      "name TEXT NOT NULL, offset INTEGER, inode INTEGER, created INTEGER, "
		      "rotated INTEGER DEFAULT 0);", err);
	snprintf(sql, sizeof(sql), "PRAGMA synchronous=%s;", sync[cfg->db_sync]);
	if (!rc)
		rc = exec(db, sql, err);
	if (!rc && cfg->db_locking)
		rc = exec(db, "PRAGMA locking_mode=EXCLUSIVE;", err);
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode=%s;", journal[cfg->db_journal]);
	if (!rc)
		rc = exec(db, sql, err);
	sqlite3_stmt **st[] = { &db->get, &db->get_name, &db->insert, &db->update, &db->rotate, &db->del };
	for (unsigned i = 0; !rc && i < 6; i++)
		if (sqlite3_prepare_v2(db->db, SQL[i], -1, st[i], NULL) != SQLITE_OK)
			rc = dp_err_set(err, -EIO, "DB %s: %s", cfg->db, sqlite3_errmsg(db->db));
	if (rc) {
		in_tail_db_close(db);
		return NULL;
	}
	return db;
}

/* Step a statement that returns no row, then reset it; caller holds mu. */
static int step_done(struct tail_db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (db->errors++ % 1000 == 0)
		dp_error("tail: DB %s: %s", db->path, sqlite3_errmsg(db->db));
	return -EIO;
}

int in_tail_db_get(struct tail_db *db, const char *name, uint64_t ino, int64_t *id, uint64_t *off)
{
	pthread_mutex_lock(&db->mu);
	sqlite3_stmt *st = name ? db->get_name : db->get;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)ino);
	if (name)
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	int found = 0;
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		sqlite3_int64 o = sqlite3_column_int64(st, 1);
		*off = o > 0 ? (uint64_t)o : 0;
		found = 1;
	} else if (rc != SQLITE_DONE) {
		found = -EIO;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&db->mu);
	return found;
}

int64_t in_tail_db_insert(struct tail_db *db, const char *name, uint64_t ino, uint64_t off)
{
	pthread_mutex_lock(&db->mu);
	sqlite3_bind_text(db->insert, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(db->insert, 2, (sqlite3_int64)off);
	sqlite3_bind_int64(db->insert, 3, (sqlite3_int64)ino);
	sqlite3_bind_int64(db->insert, 4, (sqlite3_int64)time(NULL));
	int64_t id = step_done(db, db->insert) ? 0 : sqlite3_last_insert_rowid(db->db);
	pthread_mutex_unlock(&db->mu);
	return id;
}

int in_tail_db_offsets(struct tail_db *db, struct tail_file *list)
{
	int rc = 0;
	pthread_mutex_lock(&db->mu);
	sqlite3_exec(db->db, "BEGIN;", NULL, NULL, NULL);
	for (struct tail_file *f = list; f; f = f->dnext) {
		if (!f->db_id)
			continue;
		sqlite3_bind_int64(db->update, 1, (sqlite3_int64)f->acked);
		sqlite3_bind_int64(db->update, 2, f->db_id);
		rc |= step_done(db, db->update);
	}
	if (sqlite3_exec(db->db, "COMMIT;", NULL, NULL, NULL) != SQLITE_OK) {
		if (db->errors++ % 1000 == 0)
			dp_error("tail: DB %s: commit: %s", db->path, sqlite3_errmsg(db->db));
		sqlite3_exec(db->db, "ROLLBACK;", NULL, NULL, NULL);
		rc = -EIO;
	}
	pthread_mutex_unlock(&db->mu);
	return rc ? -EIO : 0;
}

int in_tail_db_rotate(struct tail_db *db, int64_t id, const char *new_name)
{
	pthread_mutex_lock(&db->mu);
	sqlite3_bind_text(db->rotate, 1, new_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(db->rotate, 2, id);
	int rc = step_done(db, db->rotate);
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int in_tail_db_delete(struct tail_db *db, int64_t id)
{
	pthread_mutex_lock(&db->mu);
	sqlite3_bind_int64(db->del, 1, id);
	int rc = step_done(db, db->del);
	pthread_mutex_unlock(&db->mu);
	return rc;
}
