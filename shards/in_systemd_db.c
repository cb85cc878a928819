/*
 * in_systemd_db.c — the systemd input's cursor database (`DB`), in Fluent
 * Bit's format so that a DB Fluent Bit wrote keeps working here and the
 * other way round. One SQLite table, as plugins/in_systemd/systemd_db.h
 * creates it:
 *
 *   CREATE TABLE in_systemd_cursor (cursor TEXT NOT NULL, updated INTEGER);
 *
 * with one row: `cursor` the journal cursor of the last entry delivered
 * (reading resumes after it), `updated` when it was written (Unix
 * seconds). Fluent Bit inserts the row at start with an empty cursor
 * (printed as "(null)"), which is no valid cursor: a start then reads as if
 * there were no DB. More than one row (a table Fluent Bit calls corrupted)
 * is cut to the newest, as Fluent Bit does.
 *
 * Threads: opened and closed on the control thread, used in between by
 * the one shard that reads the journal (never two threads at once).
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dp_log.h"
#include "in_systemd.h"

struct systemd_db {
	sqlite3 *db;
	sqlite3_stmt *update, *insert;
	char *path;
	uint64_t errors;
};

static int exec(struct systemd_db *db, const char *sql, struct dp_err *err)
{
	char *msg = NULL;
	if (sqlite3_exec(db->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	if (err)
		dp_err_set(err, -EIO, "DB %s: %s: %s", db->path, sql, msg ? msg : "error");
	sqlite3_free(msg);
	return -EIO;
}

void in_systemd_db_close(struct systemd_db *db)
{
	if (!db)
		return;
	sqlite3_finalize(db->update);
	sqlite3_finalize(db->insert);
	sqlite3_close(db->db);
	free(db->path);
	free(db);
}

struct systemd_db *in_systemd_db_open(const char *path, int sync, struct dp_err *err)
{
	static const char *const pragma[] = {
		"PRAGMA synchronous=3;", "PRAGMA synchronous=2;", "PRAGMA synchronous=1;",
		"PRAGMA synchronous=0;",
	};
	err->key = "DB";
	struct systemd_db *db = calloc(1, sizeof(*db));
	if (!db || !(db->path = strdup(path))) {
		free(db);
		dp_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		dp_err_set(err, -EIO, "cannot open DB '%s': %s", path,
			   db->db ? sqlite3_errmsg(db->db) : "out of memory");
		in_systemd_db_close(db);
		return NULL;
	}
	/* Another process (Fluent Bit, sqlite3) may hold the file briefly. */
	sqlite3_busy_timeout(db->db, 1000);
	int rc = exec(db, "CREATE TABLE IF NOT EXISTS in_systemd_cursor (cursor TEXT NOT NULL, "
		      "updated INTEGER);", err);
	if (!rc)
		rc = exec(db, pragma[sync], err);
	if (!rc)
		rc = exec(db, "DELETE FROM in_systemd_cursor WHERE ROWID < "
			  "(SELECT MAX(ROWID) FROM in_systemd_cursor);", err);
	if (!rc && (sqlite3_prepare_v2(db->db, "UPDATE in_systemd_cursor SET cursor=?1, updated=?2;",
				       -1, &db->update, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(db->db, "INSERT INTO in_systemd_cursor (cursor, updated) "
				       "VALUES (?1, ?2);", -1, &db->insert, NULL) != SQLITE_OK))
		rc = dp_err_set(err, -EIO, "DB %s: %s", path, sqlite3_errmsg(db->db));
	if (rc) {
		in_systemd_db_close(db);
		return NULL;
	}
	return db;
}

int in_systemd_db_get(struct systemd_db *db, char *buf, size_t cap)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->db, "SELECT cursor FROM in_systemd_cursor LIMIT 1;", -1, &st,
			       NULL) != SQLITE_OK)
		return -EIO;
	int rc = sqlite3_step(st);
	int found = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
	if (found == 1) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		size_t n = t ? strlen((const char *)t) : 0;
		if (!t || n >= cap)
			found = 0;   /* not a cursor of ours */
		else
			memcpy(buf, t, n + 1);
	}
	sqlite3_finalize(st);
	return found;
}

static int step(sqlite3_stmt *st, const char *cursor)
{
	sqlite3_bind_text(st, 1, cursor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int in_systemd_db_set(struct systemd_db *db, const char *cursor)
{
	int rc = step(db->update, cursor);
	/* The first cursor of a new DB: no row to update yet. */
	if (!rc && sqlite3_changes(db->db) == 0)
		rc = step(db->insert, cursor);
	if (rc && db->errors++ % 1000 == 0)
		dp_error("systemd: DB %s: %s", db->path, sqlite3_errmsg(db->db));
	return rc;
}
