/* Signed checkpoints of the audit chain (schema v8), and the two small
 * reads of the chain a checkpoint is made of. Rows are only appended;
 * the signature is made and checked in the audit module. */
#include "pimgate/err.h"
#include "store_int.h"

int
store_audit_head(struct store *st, int64_t *id, char hash[STORE_HASH_MAX])
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_AUDIT_HEAD,
	    "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", &s);
	if (r != PIM_OK)
		return r;
	r = store_step_row(st, s, "reading the audit chain's head");
	if (r == PIM_OK) {
		*id = sqlite3_column_int64(s, 0);
		store_col_text(s, 1, hash, STORE_HASH_MAX);
	}
	store_stmt_put(st, STMT_AUDIT_HEAD, s);
	return r;
}

int
store_audit_count(
    struct store *st, int64_t after_id, int64_t upto_id, int64_t *n)
{
	sqlite3_stmt *s = NULL;
	int r;

	/* A range of the primary key: cheap however long the trail. */
	r = store_stmt_get(st, STMT_AUDIT_COUNT,
	    "SELECT count(*) FROM audit WHERE id > ?1 AND id <= ?2", &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, after_id);
	sqlite3_bind_int64(s, 2, upto_id);
	r = store_step_row(st, s, "counting audit events");
	if (r == PIM_OK)
		*n = sqlite3_column_int64(s, 0);
	store_stmt_put(st, STMT_AUDIT_COUNT, s);
	return r;
}

int
store_checkpoint_add(struct store *st, struct store_checkpoint *cp)
{
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_CKPT_ADD,
	    "INSERT INTO audit_checkpoints (ts_ms, head_id, head_hash, count,"
	    " key_id, sig) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	    &s);
	if (r != PIM_OK)
		return r;
	sqlite3_bind_int64(s, 1, cp->ts_ms);
	sqlite3_bind_int64(s, 2, cp->head_id);
	store_bind_text(s, 3, cp->head_hash);
	sqlite3_bind_int64(s, 4, cp->count);
	store_bind_text(s, 5, cp->key_id);
	store_bind_text(s, 6, cp->sig);
	r = store_step_done(st, s, "storing an audit checkpoint");
	if (r == PIM_OK)
		cp->id = sqlite3_last_insert_rowid(st->db);
	store_stmt_put(st, STMT_CKPT_ADD, s);
	return r;
}

struct checkpoint_each {
	store_checkpoint_cb cb;
	void *arg;
};

static const char *const checkpoint_col_names[] = {
    "id", "ts_ms", "head_id", "head_hash", "count", "key_id", "sig"};

/* Whether column COL was read exactly: the first that was not is noted
 * in CP->mismatch, as for audit events. */
static void
checkpoint_note(struct store_checkpoint *cp, int col, bool ok)
{
	if (!ok && cp->mismatch == NULL)
		cp->mismatch = checkpoint_col_names[col];
}

static int
checkpoint_row(sqlite3_stmt *s, void *ctx)
{
	struct checkpoint_each *e = ctx;
	struct store_checkpoint cp = {0};

	checkpoint_note(&cp, 0, store_col_int_exact(s, 0, &cp.id));
	checkpoint_note(&cp, 1, store_col_int_exact(s, 1, &cp.ts_ms));
	checkpoint_note(&cp, 2, store_col_int_exact(s, 2, &cp.head_id));
	checkpoint_note(&cp, 3,
	    store_col_text_exact(s, 3, cp.head_hash, sizeof(cp.head_hash)));
	checkpoint_note(&cp, 4, store_col_int_exact(s, 4, &cp.count));
	checkpoint_note(
	    &cp, 5, store_col_text_exact(s, 5, cp.key_id, sizeof(cp.key_id)));
	checkpoint_note(
	    &cp, 6, store_col_text_exact(s, 6, cp.sig, sizeof(cp.sig)));
	return e->cb(&cp, e->arg);
}

int
store_checkpoint_list(struct store *st, store_checkpoint_cb cb, void *arg)
{
	struct checkpoint_each e = {cb, arg};
	sqlite3_stmt *s = NULL;
	int r;

	r = store_stmt_get(st, STMT_CKPT_LIST,
	    "SELECT id, ts_ms, head_id, head_hash, count, key_id, sig"
	    " FROM audit_checkpoints ORDER BY id",
	    &s);
	if (r != PIM_OK)
		return r;
	r = store_each(st, s, checkpoint_row, &e, "listing audit checkpoints");
	store_stmt_put(st, STMT_CKPT_LIST, s);
	return r;
}

int
store_audit_sequences(struct store *st, int64_t *events, int64_t *checkpoints)
{
	sqlite3_stmt *s = NULL;
	int r;

	/* The rows of sqlite_sequence stay when the rows they count are
	 * deleted (a row missing here reads as 0). */
	r = store_stmt_get(st, STMT_AUDIT_SEQ,
	    "SELECT coalesce((SELECT seq FROM sqlite_sequence"
	    " WHERE name = 'audit'), 0), coalesce((SELECT seq"
	    " FROM sqlite_sequence WHERE name = 'audit_checkpoints'), 0)",
	    &s);
	if (r != PIM_OK)
		return r;
	r = store_step_row(st, s, "reading the audit id sequences");
	if (r == PIM_OK) {
		*events = sqlite3_column_int64(s, 0);
		*checkpoints = sqlite3_column_int64(s, 1);
	}
	store_stmt_put(st, STMT_AUDIT_SEQ, s);
	return r;
}
