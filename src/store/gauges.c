/* Small reads for monitoring: a health probe and the activation counts
 * the metrics show. Each runs rarely (a scrape, a probe), so the
 * statements are prepared per call rather than cached. */
#include <string.h>

#include "pimgate/err.h"
#include "store_int.h"

int
store_ping(struct store *st)
{
	sqlite3_stmt *s = NULL;
	int rc;

	/* Reading the schema takes the database's shared lock. */
	rc = sqlite3_prepare_v2(
	    st->db, "SELECT count(*) FROM sqlite_master", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_fail(st, rc, "checking the store");
	rc = store_step_row(st, s, "checking the store");
	sqlite3_finalize(s);
	return rc;
}

static int
store_count_row(sqlite3_stmt *s, void *ctx)
{
	int64_t *counts = ctx;
	enum store_act_state state;

	state = store_act_state_parse((const char *)sqlite3_column_text(s, 0));
	if (state > 0 && state < STORE_ACT_STATES)
		counts[state] += sqlite3_column_int64(s, 1);
	return 0;
}

int
store_activation_counts(
    struct store *st, int64_t now, int64_t counts[STORE_ACT_STATES])
{
	static const char sql[] =
	    "SELECT CASE WHEN state = 'active' AND \"end\" <= ?1"
	    " THEN 'expired' ELSE state END AS s, count(*)"
	    " FROM activations GROUP BY s";
	sqlite3_stmt *s = NULL;
	int rc;

	memset(counts, 0, sizeof(int64_t) * STORE_ACT_STATES);
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_fail(st, rc, "counting activations");
	sqlite3_bind_int64(s, 1, now);
	rc = store_each(st, s, store_count_row, counts, "counting activations");
	sqlite3_finalize(s);
	return rc;
}
