/* Online backup: a consistent copy of the store taken while pimgated keeps
 * writing, with SQLite's backup API.
 *
 * The copy reads one snapshot: a read transaction is opened on the
 * store's connection before the first step and held to the last. The
 * store is in WAL mode, where a reader never blocks a writer, so the
 * daemon's short lock waits are not touched; and because the snapshot
 * does not move, a write between two steps cannot restart the copy (as
 * it would if each step took a fresh look), so a busy daemon cannot keep
 * a backup from finishing. Steps are a bounded number of pages, and a
 * locked step is retried after a short pause, a bounded number of times.
 *
 * The copy goes to a temporary owner-only file beside the destination;
 * only after it has passed PRAGMA integrity_check and reached the disk is
 * it renamed into place, so the destination is never half written. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/str.h"
#include "store_int.h"

/* Pages copied per step (4 KiB each by default). */
#define BACKUP_STEP_PAGES 64
/* Pause after a step that found a database locked, and how many such
 * pauses in a row are allowed (2 s in all) before giving up. */
#define BACKUP_RETRY_MS 10
#define BACKUP_RETRY_MAX 200

/* The side files SQLite may make beside a database file. */
static const char *const backup_suffixes[] = {"", "-journal", "-wal", "-shm"};
#define BACKUP_NSUFFIXES (sizeof(backup_suffixes) / sizeof(backup_suffixes[0]))

struct backup_job {
	struct store *st;
	const char *path;
	bool force;
	char tmp[PATH_MAX];
	int fd; /* the temporary file, for fsync; -1 when closed */
	sqlite3 *dest; /* the copy's own connection */
	bool snapshot; /* a read transaction is open on the store */
};

/* True if PATH and the file of SB are the same file. */
static bool
backup_same_file(const char *path, const struct stat *sb)
{
	struct stat other;

	return stat(path, &other) == 0 && other.st_dev == sb->st_dev &&
	       other.st_ino == sb->st_ino;
}

/* Refuses a destination that is the live database (or one of its side
 * files), and one that exists unless FORCE allows replacing it. */
static int
backup_check_dest(struct backup_job *job)
{
	const char *db = sqlite3_db_filename(job->st->db, "main");
	char side[PATH_MAX];
	struct stat sb;

	if (lstat(job->path, &sb) != 0) {
		if (errno == ENOENT)
			return PIM_OK;
		return store_err(job->st, PIM_EIO, "cannot check %s: %s",
		    job->path, strerror(errno));
	}
	for (size_t i = 0; db != NULL && i < BACKUP_NSUFFIXES; i++) {
		if (str_printf(
			side, sizeof(side), "%s%s", db, backup_suffixes[i]) &&
		    backup_same_file(side, &sb))
			return store_err(job->st, PIM_EINVAL,
			    "%s is the live database itself", job->path);
	}
	if (!job->force)
		return store_err(
		    job->st, PIM_EEXIST, "%s already exists", job->path);
	if (!S_ISREG(sb.st_mode))
		return store_err(job->st, PIM_EINVAL,
		    "%s exists and is not a regular file", job->path);
	return PIM_OK;
}

/* Creates the temporary file ".NAME.XXXXXX" in the destination's
 * directory, owner-only. */
static int
backup_tmp_create(struct backup_job *job)
{
	char dir[PATH_MAX], base[PATH_MAX];

	if (!str_copy(dir, job->path, sizeof(dir)) ||
	    !str_copy(base, job->path, sizeof(base)) ||
	    !str_printf(job->tmp, sizeof(job->tmp), "%s/.%s.XXXXXX",
		dirname(dir), basename(base)))
		return store_err(
		    job->st, PIM_EINVAL, "path too long: %s", job->path);
	job->fd = mkostemp(job->tmp, O_CLOEXEC);
	if (job->fd < 0 || fchmod(job->fd, 0600) != 0) {
		int e = errno;

		if (job->fd >= 0) {
			close(job->fd);
			job->fd = -1;
			unlink(job->tmp);
		}
		job->tmp[0] = '\0';
		str_copy(dir, job->path, sizeof(dir));
		return store_err(job->st, PIM_EIO,
		    "cannot create a file in %s: %s", dirname(dir),
		    strerror(e));
	}
	return PIM_OK;
}

/* Records the copy connection's error (or the code's text) as WHAT. */
static int
backup_dest_fail(struct backup_job *job, int rc, const char *what)
{
	const char *msg = job->dest != NULL ? sqlite3_errmsg(job->dest) : NULL;

	if (msg == NULL)
		msg = sqlite3_errstr(rc);
	return store_err(job->st,
	    (rc & 0xff) == SQLITE_BUSY ? PIM_EBUSY : PIM_ESTORE, "%s: %s", what,
	    msg);
}

/* Opens the temporary file as a database of its own. No rollback journal
 * while it is filled: a failed copy is thrown away whole. */
static int
backup_dest_open(struct backup_job *job)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int rc;

	rc = sqlite3_open_v2(job->tmp, &job->dest, flags, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(job->dest,
		    "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;",
		    NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return backup_dest_fail(job, rc, "opening the copy");
	return PIM_OK;
}

/* Fixes the snapshot the copy reads: a read transaction, begun by the
 * first read. */
static int
backup_snapshot(struct backup_job *job)
{
	int r;

	if (!sqlite3_get_autocommit(job->st->db))
		return store_err(
		    job->st, PIM_EINVAL, "cannot back up inside a transaction");
	r = store_exec(job->st,
	    "BEGIN DEFERRED; SELECT count(*) FROM sqlite_schema;",
	    "reading the database");
	if (r != PIM_OK) {
		store_rollback(job->st);
		return r;
	}
	job->snapshot = true;
	return PIM_OK;
}

/* True if RC says a database was locked: worth another try. */
static bool
backup_locked(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/* Copies every page, a few at a time; sets *PAGES. */
static int
backup_pages(struct backup_job *job, int64_t *pages)
{
	sqlite3_backup *b;
	int rc, done, waits = 0;

	b = sqlite3_backup_init(job->dest, "main", job->st->db, "main");
	if (b == NULL)
		return backup_dest_fail(
		    job, sqlite3_errcode(job->dest), "starting the copy");
	for (;;) {
		rc = sqlite3_backup_step(b, BACKUP_STEP_PAGES);
		if (rc == SQLITE_OK) {
			waits = 0;
			continue;
		}
		if (!backup_locked(rc) || ++waits > BACKUP_RETRY_MAX)
			break;
		sqlite3_sleep(BACKUP_RETRY_MS);
	}
	*pages = sqlite3_backup_pagecount(b);
	/* finish reports a step's error, but not a lock that never went
	 * away: that one is RC's. */
	done = sqlite3_backup_finish(b);
	if (rc == SQLITE_DONE)
		rc = done;
	if (backup_locked(rc))
		return store_err(job->st, PIM_EBUSY,
		    "copying the database: still locked after %d tries",
		    BACKUP_RETRY_MAX);
	if (rc != SQLITE_OK)
		return backup_dest_fail(job, rc, "copying the database");
	return PIM_OK;
}

/* Runs SQL on the copy: one integer from its first row into *VALUE. */
static int
backup_count(struct backup_job *job, const char *sql, int64_t *value)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(job->dest, sql, -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		*value = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_OK)
		return backup_dest_fail(job, rc, "counting in the copy");
	return PIM_OK;
}

/* The newest audit event of the copy: its id and hash. */
static int
backup_audit_head(struct backup_job *job, struct store_backup_summary *sum)
{
	static const char sql[] =
	    "SELECT id, coalesce(hash, '') FROM audit ORDER BY id DESC LIMIT 1";
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(job->dest, sql, -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		sum->audit_head_id = sqlite3_column_int64(s, 0);
		str_copy(sum->audit_head,
		    (const char *)sqlite3_column_text(s, 1),
		    sizeof(sum->audit_head));
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return backup_dest_fail(job, rc, "reading the copy's audit");
	return PIM_OK;
}

/* PRAGMA integrity_check on the copy: its first line must be "ok". */
static int
backup_integrity(struct backup_job *job)
{
	sqlite3_stmt *s = NULL;
	char first[STORE_TEXT_MAX] = "";
	int rc;

	rc = sqlite3_prepare_v2(
	    job->dest, "PRAGMA integrity_check", -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(s, 0);

		str_copy(first, t != NULL ? t : "", sizeof(first));
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_OK)
		return backup_dest_fail(job, rc, "checking the copy");
	if (strcmp(first, "ok") != 0)
		return store_err(job->st, PIM_ESTORE,
		    "the copy failed its integrity check: %s", first);
	return PIM_OK;
}

/* Makes the copy a self-contained file (a rollback journal, not WAL, in
 * its header: the store switches back to WAL when it is opened), checks
 * it and counts what it holds. */
static int
backup_verify(struct backup_job *job, struct store_backup_summary *sum)
{
	const struct {
		const char *sql;
		int64_t *value;
	} counts[] = {
	    {"SELECT count(*) FROM users", &sum->users},
	    {"SELECT count(*) FROM roles", &sum->roles},
	    {"SELECT count(*) FROM targets", &sum->targets},
	    {"SELECT count(*) FROM assignments", &sum->assignments},
	    {"SELECT count(*) FROM activations", &sum->activations},
	    {"SELECT count(*) FROM sessions", &sum->sessions},
	    {"SELECT count(*) FROM audit", &sum->audit_events},
	    {"PRAGMA user_version", &sum->schema_version},
	};
	int rc, r;

	rc = sqlite3_exec(
	    job->dest, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return backup_dest_fail(job, rc, "finishing the copy");
	r = backup_integrity(job);
	for (size_t i = 0; r == PIM_OK && i < sizeof(counts) / sizeof(*counts);
	     i++)
		r = backup_count(job, counts[i].sql, counts[i].value);
	if (r == PIM_OK)
		r = backup_audit_head(job, sum);
	return r;
}

/* Flushes the copy to disk and closes it. */
static int
backup_sync(struct backup_job *job)
{
	int rc = sqlite3_close(job->dest);

	job->dest = NULL;
	if (rc != SQLITE_OK)
		return store_err(job->st, PIM_ESTORE, "closing the copy: %s",
		    sqlite3_errstr(rc));
	if (fsync(job->fd) != 0 || close(job->fd) != 0) {
		job->fd = -1;
		return store_err(job->st, PIM_EIO, "cannot write %s: %s",
		    job->tmp, strerror(errno));
	}
	job->fd = -1;
	return PIM_OK;
}

/* Flushes the directory holding PATH, so the new name survives a crash;
 * a failure here leaves a complete file, so it is only logged. */
static void
backup_sync_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd;

	if (!str_copy(dir, path, sizeof(dir)))
		return;
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		char buf[128];

		log_warn("backup: directory not flushed error=%s",
		    log_str(strerror(errno), buf, sizeof(buf)));
	}
	if (fd >= 0)
		close(fd);
}

/* Gives the finished copy its name: a hard link where no file may be
 * replaced (it fails if one appeared meanwhile), a rename where one may. */
static int
backup_place(struct backup_job *job)
{
	if (job->force) {
		if (rename(job->tmp, job->path) != 0)
			return store_err(job->st, PIM_EIO,
			    "cannot rename the copy to %s: %s", job->path,
			    strerror(errno));
	} else {
		if (link(job->tmp, job->path) != 0)
			return store_err(job->st,
			    errno == EEXIST ? PIM_EEXIST : PIM_EIO,
			    "cannot create %s: %s", job->path, strerror(errno));
		unlink(job->tmp);
	}
	job->tmp[0] = '\0';
	backup_sync_dir(job->path);
	return PIM_OK;
}

/* Ends the snapshot and removes whatever of the copy is left. */
static void
backup_cleanup(struct backup_job *job)
{
	char side[PATH_MAX + 16];

	if (job->snapshot)
		store_rollback(job->st);
	if (job->dest != NULL)
		sqlite3_close(job->dest);
	if (job->fd >= 0)
		close(job->fd);
	for (size_t i = 0; job->tmp[0] != '\0' && i < BACKUP_NSUFFIXES; i++) {
		if (str_printf(side, sizeof(side), "%s%s", job->tmp,
			backup_suffixes[i]))
			unlink(side);
	}
}

int
store_backup(struct store *st, const char *path, bool force,
    struct store_backup_summary *sum)
{
	struct backup_job job = {.st = st, .path = path, .force = force};
	int r;

	memset(sum, 0, sizeof(*sum));
	job.fd = -1;
	r = backup_check_dest(&job);
	if (r == PIM_OK)
		r = backup_tmp_create(&job);
	if (r == PIM_OK)
		r = backup_dest_open(&job);
	if (r == PIM_OK)
		r = backup_snapshot(&job);
	if (r == PIM_OK)
		r = backup_pages(&job, &sum->pages);
	if (job.snapshot) {
		store_rollback(st);
		job.snapshot = false;
	}
	if (r == PIM_OK)
		r = backup_verify(&job, sum);
	if (r == PIM_OK)
		r = backup_sync(&job);
	if (r == PIM_OK)
		r = backup_place(&job);
	backup_cleanup(&job);
	return r;
}
