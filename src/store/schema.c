/* Schema migrations. PRAGMA user_version holds the version reached; each
 * entry of MIGRATIONS takes the schema one version further. All pending
 * migrations run in one transaction, so a later version may alter what an
 * earlier one created. Never edit a released migration: add one. */
#include <stdio.h>

#include "pimgate/err.h"
#include "store_int.h"

/* Rows that others point at by id (assignments, activations, sessions,
 * audit events) use AUTOINCREMENT: an id is never handed out twice, even
 * after the row with the largest one is deleted. */
static const char schema_v1[] =
    "CREATE TABLE users ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " pw_hash TEXT,"
    " enabled INTEGER NOT NULL DEFAULT 1,"
    " created INTEGER NOT NULL);"

    "CREATE TABLE user_keys ("
    " user_id INTEGER NOT NULL REFERENCES users(id),"
    " \"key\" TEXT NOT NULL,"
    " UNIQUE (user_id, \"key\"));"

    "CREATE TABLE roles ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " max_activation INTEGER NOT NULL,"
    " max_session INTEGER NOT NULL,"
    " idle_timeout INTEGER NOT NULL DEFAULT 0,"
    " channels INTEGER NOT NULL,"
    " created INTEGER NOT NULL);"

    "CREATE TABLE targets ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL,"
    " host TEXT NOT NULL,"
    " port INTEGER NOT NULL,"
    " login TEXT NOT NULL,"
    " host_key TEXT NOT NULL DEFAULT '',"
    " secret BLOB,"
    " created INTEGER NOT NULL);"

    "CREATE TABLE grants ("
    " role_id INTEGER NOT NULL REFERENCES roles(id),"
    " target_id INTEGER NOT NULL REFERENCES targets(id),"
    " PRIMARY KEY (role_id, target_id));"
    "CREATE INDEX grants_target ON grants(target_id);"

    "CREATE TABLE assignments ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " user_id INTEGER NOT NULL REFERENCES users(id),"
    " role_id INTEGER NOT NULL REFERENCES roles(id),"
    " kind INTEGER NOT NULL CHECK (kind IN (1, 2)),"
    " start INTEGER NOT NULL DEFAULT 0,"
    " \"end\" INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL,"
    " UNIQUE (user_id, role_id, kind));"

    "CREATE TABLE activations ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " user_id INTEGER NOT NULL REFERENCES users(id),"
    " role_id INTEGER NOT NULL REFERENCES roles(id),"
    " state TEXT NOT NULL CHECK (state IN ('pending', 'active',"
    "  'expired', 'revoked', 'deactivated', 'denied', 'cancelled')),"
    " start INTEGER NOT NULL,"
    " \"end\" INTEGER NOT NULL,"
    " reason TEXT NOT NULL DEFAULT '',"
    " ticket TEXT NOT NULL DEFAULT '',"
    " requested_by TEXT NOT NULL DEFAULT '',"
    " created INTEGER NOT NULL,"
    " ended INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX activations_user ON activations(user_id, id);"
    "CREATE INDEX activations_state ON activations(state, \"end\");"

    /* Sessions keep names as well as ids: rows outlive what they name. */
    "CREATE TABLE sessions ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " user_id INTEGER NOT NULL,"
    " target_id INTEGER NOT NULL,"
    " role_id INTEGER NOT NULL,"
    " assignment_id INTEGER NOT NULL DEFAULT 0,"
    " activation_id INTEGER NOT NULL DEFAULT 0,"
    " user TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " role TEXT NOT NULL,"
    " protocol TEXT NOT NULL,"
    " peer TEXT NOT NULL DEFAULT '',"
    " start INTEGER NOT NULL,"
    " deadline INTEGER NOT NULL,"
    " \"end\" INTEGER NOT NULL DEFAULT 0,"
    " end_reason TEXT NOT NULL DEFAULT '',"
    " bytes_in INTEGER NOT NULL DEFAULT 0,"
    " bytes_out INTEGER NOT NULL DEFAULT 0,"
    " recording TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX sessions_live ON sessions(\"end\") WHERE \"end\" = 0;"

    "CREATE TABLE recordings ("
    " session_id INTEGER NOT NULL REFERENCES sessions(id),"
    " seq INTEGER NOT NULL,"
    " path TEXT NOT NULL,"
    " PRIMARY KEY (session_id, seq));"

    /* The first recording of a session is also kept on the session. */
    "CREATE TRIGGER recordings_first AFTER INSERT ON recordings"
    " BEGIN UPDATE sessions SET recording = NEW.path"
    "  WHERE id = NEW.session_id AND recording = ''; END;"

    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " ts_ms INTEGER NOT NULL,"
    " actor TEXT NOT NULL DEFAULT '',"
    " event TEXT NOT NULL,"
    " outcome TEXT NOT NULL DEFAULT '',"
    " user TEXT NOT NULL DEFAULT '',"
    " target TEXT NOT NULL DEFAULT '',"
    " role TEXT NOT NULL DEFAULT '',"
    " session_id INTEGER NOT NULL DEFAULT 0,"
    " peer TEXT NOT NULL DEFAULT '',"
    " detail TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX audit_ts ON audit(ts_ms);"
    "CREATE INDEX audit_user ON audit(user, ts_ms);";

/* Version 2: an admin may ask for a live session to be ended; the node
 * that holds it sees the request and ends it with reason "killed". */
static const char schema_v2[] =
    "ALTER TABLE sessions ADD COLUMN kill_by TEXT NOT NULL DEFAULT '';";

/* Version 3: multi-factor authentication. The TOTP secret is sealed by
 * the vault; totp_step is the last time step a code was accepted for
 * (a code is good once). */
static const char schema_v3[] =
    "ALTER TABLE users ADD COLUMN mfa_secret BLOB;"
    "ALTER TABLE users ADD COLUMN mfa_at_login INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN totp_step INTEGER NOT NULL DEFAULT 0;";

/* Version 4: PIM role settings and approvals. */
static const char schema_v4[] =
    "ALTER TABLE roles ADD COLUMN require_mfa INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE roles ADD COLUMN require_reason INTEGER NOT NULL"
    " DEFAULT 0;"
    "ALTER TABLE roles ADD COLUMN min_reason_len INTEGER NOT NULL"
    " DEFAULT 0;"
    "ALTER TABLE roles ADD COLUMN require_ticket INTEGER NOT NULL"
    " DEFAULT 0;"
    "ALTER TABLE roles ADD COLUMN ticket_pattern TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE roles ADD COLUMN approvals INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE roles ADD COLUMN approvers TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE roles ADD COLUMN approval_ttl INTEGER NOT NULL"
    " DEFAULT 86400;"
    "ALTER TABLE roles ADD COLUMN allow_perm_eligible INTEGER NOT NULL"
    " DEFAULT 1;"
    "ALTER TABLE roles ADD COLUMN allow_perm_active INTEGER NOT NULL"
    " DEFAULT 1;"
    "ALTER TABLE roles ADD COLUMN max_assignment INTEGER NOT NULL"
    " DEFAULT 0;"
    "ALTER TABLE roles ADD COLUMN break_glass INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE activations ADD COLUMN break_glass INTEGER NOT NULL"
    " DEFAULT 0;"
    "ALTER TABLE activations ADD COLUMN approve_by INTEGER NOT NULL"
    " DEFAULT 0;"
    "CREATE TABLE approvals ("
    " activation_id INTEGER NOT NULL REFERENCES activations(id),"
    " approver TEXT NOT NULL,"
    " decision TEXT NOT NULL CHECK (decision IN ('approve', 'deny')),"
    " reason TEXT NOT NULL DEFAULT '',"
    " ts INTEGER NOT NULL,"
    " PRIMARY KEY (activation_id, approver));";

/* Version 5: per-role warning times before a session's deadline,
 * seconds, comma-separated ("none" for no warning). */
static const char schema_v5[] =
    "ALTER TABLE roles ADD COLUMN warn_before TEXT NOT NULL"
    " DEFAULT '300,60';";

/* Version 6: PostgreSQL targets (database name, upstream TLS mode and
 * the CA that signs the upstream's certificate) and the client
 * certificates issued by the bastion's CA. A certificate is bound to one
 * user and one target and is valid no longer than the grant that allowed
 * it; the serial is the lower-case hex of the certificate's serial. */
static const char schema_v6[] =
    "ALTER TABLE targets ADD COLUMN database TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE targets ADD COLUMN tls TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE targets ADD COLUMN tls_ca TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE certs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " serial TEXT NOT NULL UNIQUE,"
    " user_id INTEGER NOT NULL,"
    " user TEXT NOT NULL,"
    " target_id INTEGER NOT NULL,"
    " target TEXT NOT NULL,"
    " activation_id INTEGER NOT NULL DEFAULT 0,"
    " assignment_id INTEGER NOT NULL DEFAULT 0,"
    " not_before INTEGER NOT NULL,"
    " not_after INTEGER NOT NULL,"
    " issued_by TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX certs_user ON certs(user, id);";

/* Version 7: the audit trail is a hash chain. Each event stores the hash
 * of the one before it and its own hash over its content (audit.c says
 * how); events written before version 7 keep empty hashes and are
 * reported as written before the chain began. */
static const char schema_v7[] =
    "ALTER TABLE audit ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE audit ADD COLUMN hash TEXT NOT NULL DEFAULT '';";

/* Version 8: signed checkpoints of the audit chain's head. Each row says
 * which event was the newest (its id and hash), how many events there
 * were up to it, when, and the bastion's Ed25519 signature over that
 * (audit/checkpoint.c), so a tail deleted later still shows. */
static const char schema_v8[] = "CREATE TABLE audit_checkpoints ("
				" id INTEGER PRIMARY KEY AUTOINCREMENT,"
				" ts_ms INTEGER NOT NULL,"
				" head_id INTEGER NOT NULL,"
				" head_hash TEXT NOT NULL,"
				" count INTEGER NOT NULL,"
				" key_id TEXT NOT NULL,"
				" sig TEXT NOT NULL);";

/* Version 9: indexes for access reports (report.c), which read a period
 * of activations and sessions by when they ended (0 while a session is
 * live) and a user's earlier sessions by start. */
static const char schema_v9[] =
    "CREATE INDEX activations_end ON activations(\"end\");"
    "CREATE INDEX sessions_end ON sessions(\"end\");"
    "CREATE INDEX sessions_user_start ON sessions(user_id, start);";

/* Index I takes the schema from version I to version I + 1. */
static const char *const migrations[] = {
    schema_v1,
    schema_v2,
    schema_v3,
    schema_v4,
    schema_v5,
    schema_v6,
    schema_v7,
    schema_v8,
    schema_v9,
};

#define SCHEMA_LATEST ((int)(sizeof(migrations) / sizeof(migrations[0])))

static int
schema_read_version(struct store *st, int *version)
{
	sqlite3_stmt *s = NULL;
	int r, rc;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*version = sqlite3_column_int(s, 0);
		r = PIM_OK;
	} else
		r = store_fail(st, rc, "reading the schema version");
	sqlite3_finalize(s);
	return r;
}

/* Applies migrations FROM..latest inside the open transaction. */
static int
schema_apply(struct store *st, int from)
{
	char sql[64];
	char what[64];
	int i, r;

	for (i = from; i < SCHEMA_LATEST; i++) {
		snprintf(what, sizeof(what), "migrating to schema %d", i + 1);
		r = store_exec(st, migrations[i], what);
		if (r != PIM_OK)
			return r;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_LATEST);
	return store_exec(st, sql, "recording the schema version");
}

static int
schema_check_newer(struct store *st, int version)
{
	if (version <= SCHEMA_LATEST)
		return PIM_OK;
	return store_err(st, PIM_ESTORE,
	    "database schema %d is newer than this program (%d)", version,
	    SCHEMA_LATEST);
}

int
store_migrate(struct store *st)
{
	int version = 0, r;

	r = schema_read_version(st, &version);
	if (r == PIM_OK)
		r = schema_check_newer(st, version);
	if (r != PIM_OK || version == SCHEMA_LATEST)
		goto out;

	/* Re-read under the write lock: another process may have won. */
	r = store_exec(st, "BEGIN IMMEDIATE", "starting the migration");
	if (r == PIM_OK)
		r = schema_read_version(st, &version);
	if (r == PIM_OK)
		r = schema_check_newer(st, version);
	if (r == PIM_OK && version < SCHEMA_LATEST)
		r = schema_apply(st, version);
	if (r == PIM_OK)
		r = store_exec(st, "COMMIT", "committing the migration");
	if (r != PIM_OK && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
out:
	if (r == PIM_OK)
		st->schema_version = SCHEMA_LATEST;
	return r;
}
