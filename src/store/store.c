/* Opening and closing the store, transactions and change detection. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pimgate/err.h"
#include "pimgate/log.h"
#include "store_int.h"

#define STORE_BUSY_TIMEOUT_MS 250

/* SQLite's own diagnostics go to our log stream, at debug level: the
 * errors that matter reach callers through store_errmsg(). */
static void
store_sqlite_log(void *arg, int code, const char *msg)
{
	log_debug("sqlite: %s (code %d)", msg, code);
}

/* Must run before SQLite initializes; later calls are harmless no-ops. */
static void
store_route_log(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	sqlite3_config(SQLITE_CONFIG_LOG, store_sqlite_log, NULL);
}

/* Creates PATH owner-only unless it exists already. */
static int
store_create_file(struct store *st, const char *path)
{
	int fd;

	fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		close(fd);
		return PIM_OK;
	}
	if (errno == EEXIST)
		return PIM_OK;
	return store_err(
	    st, PIM_EIO, "cannot create %s: %s", path, strerror(errno));
}

static int
store_connect(struct store *st, const char *path)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int rc;

	if (access(path, F_OK) != 0 && errno == ENOENT)
		return store_err(st, PIM_ENOTFOUND, "no such database");
	rc = sqlite3_open_v2(path, &st->db, flags, NULL);
	if (rc != SQLITE_OK)
		return store_fail(st, rc, "opening the database");
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	return PIM_OK;
}

static int
store_configure(struct store *st)
{
	static const char sql[] = "PRAGMA journal_mode = WAL;"
				  "PRAGMA synchronous = NORMAL;"
				  "PRAGMA foreign_keys = ON;";

	return store_exec(st, sql, "configuring the database");
}

int
store_open(const char *path, bool create, struct store **out)
{
	struct store *st = NULL;
	int r;

	*out = NULL;
	store_route_log();
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return PIM_ENOMEM;

	r = create ? store_create_file(st, path) : PIM_OK;
	if (r == PIM_OK)
		r = store_connect(st, path);
	if (r == PIM_OK)
		r = store_configure(st);
	if (r == PIM_OK)
		r = store_migrate(st);
	if (r != PIM_OK) {
		log_error("store %s: %s", path, st->errmsg);
		store_close(st);
		return r;
	}
	*out = st;
	return PIM_OK;
}

void
store_close(struct store *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(st->stmts[i]);
	sqlite3_close_v2(st->db);
	free(st);
}

const char *
store_errmsg(const struct store *st)
{
	return st != NULL ? st->errmsg : "";
}

int
store_schema_version(struct store *st)
{
	return st->schema_version;
}

int
store_data_version(struct store *st, int64_t *version)
{
	sqlite3_stmt *s = NULL;
	int r, rc;

	r = store_stmt_get(st, STMT_DATA_VERSION, "PRAGMA data_version", &s);
	if (r != PIM_OK)
		return r;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*version = sqlite3_column_int64(s, 0);
		r = PIM_OK;
	} else
		r = store_fail(st, rc, "reading the data version");
	store_stmt_put(st, STMT_DATA_VERSION, s);
	return r;
}

/* Runs one cached statement that returns no rows. */
static int
store_run(
    struct store *st, enum store_stmt_id id, const char *sql, const char *what)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, id, sql, &s);
	if (r == PIM_OK)
		r = store_step_done(st, s, what);
	store_stmt_put(st, id, s);
	return r;
}

int
store_begin(struct store *st)
{
	/* IMMEDIATE: take the write lock now, so a transaction never has to
	 * upgrade (and deadlock) halfway through. */
	return store_run(
	    st, STMT_BEGIN, "BEGIN IMMEDIATE", "starting a transaction");
}

int
store_commit(struct store *st)
{
	return store_run(st, STMT_COMMIT, "COMMIT", "committing");
}

void
store_rollback(struct store *st)
{
	if (sqlite3_get_autocommit(st->db))
		return;
	if (store_run(st, STMT_ROLLBACK, "ROLLBACK", "rolling back") != PIM_OK)
		log_warn("store: %s", st->errmsg);
}

void
store_set_busy_timeout(struct store *st, int ms)
{
	sqlite3_busy_timeout(st->db, ms);
}
