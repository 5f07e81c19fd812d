/* Signed checkpoints of the audit chain: the key file, signing and
 * checking, the log line and its reading back, and the check of
 * checkpoints against the trail (a cut-off tail, a changed event, a
 * deleted checkpoint, a forged one); and the syslog line of an event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "pimgate/audit.h"
#include "pimgate/err.h"
#include "pimgate/store.h"

struct fix {
	char dir[64];
	char db[128];
	char key[128];
	struct store *st;
	struct audit_key *k;
	char found[8][400]; /* the findings reported */
	int nfound;
	char why[AUDIT_CHECKPOINT_WHY_MAX]; /* the last take's refusal */
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pimgate-test-ckpt.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/t.db", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/audit.key", f->dir);
	assert_int_equal(store_open(f->db, true, &f->st), PIM_OK);
	assert_int_equal(audit_key_create(f->key, err, sizeof(err)), PIM_OK);
	assert_int_equal(
	    audit_key_load(f->key, &f->k, err, sizeof(err)), PIM_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;
	char cmd[256];

	audit_key_free(f->k);
	store_close(f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
log_events(struct store *st, int n)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(audit_log(st, "admin:root", AUDIT_ADMIN, "ok",
				     "alice", NULL, "ops", 0, NULL, "a change"),
		    PIM_OK);
}

/* Runs SQL behind the store's back, as someone with the file would. */
static void
tamper(struct fix *f, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Takes a checkpoint, a first one if FIRST and the store has none. */
static int
take(struct fix *f, bool first, struct store_checkpoint *cp)
{
	f->why[0] = '\0';
	return audit_checkpoint_take(
	    f->st, f->k, first, cp, f->why, sizeof(f->why));
}

static void
collect(const char *finding, void *arg)
{
	struct fix *f = arg;

	if (f->nfound < 8)
		snprintf(
		    f->found[f->nfound], sizeof(f->found[0]), "%s", finding);
	f->nfound++;
}

/* Whether some finding contains TEXT. */
static bool
found(const struct fix *f, const char *text)
{
	for (int i = 0; i < f->nfound && i < 8; i++) {
		if (strstr(f->found[i], text) != NULL)
			return true;
	}
	return false;
}

static int
verify(struct fix *f, const struct store_checkpoint *extra, size_t n)
{
	struct audit_cp_check res;

	f->nfound = 0;
	return audit_verify_checkpoints(
	    f->st, f->k, extra, n, collect, f, &res);
}

static void
test_key_file(void **state)
{
	struct fix *f = *state;
	struct audit_key *k = NULL;
	char pub[160], err[256];
	struct stat sb;
	char *pem;
	FILE *out;

	assert_int_equal(stat(f->key, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(strlen(audit_key_id(f->k)), 16);
	assert_int_equal(
	    audit_key_create(f->key, err, sizeof(err)), PIM_EEXIST);

	/* Readable by others: refused. */
	assert_int_equal(chmod(f->key, 0640), 0);
	assert_int_equal(
	    audit_key_load(f->key, &k, err, sizeof(err)), PIM_EINVAL);
	assert_null(k);
	assert_non_null(strstr(err, "group or others"));

	/* The public half alone has the same id. */
	pem = audit_key_public_pem(f->k);
	assert_non_null(pem);
	assert_non_null(strstr(pem, "BEGIN PUBLIC KEY"));
	assert_null(strstr(pem, "PRIVATE"));
	snprintf(pub, sizeof(pub), "%s/audit.pub", f->dir);
	out = fopen(pub, "w");
	assert_non_null(out);
	fputs(pem, out);
	fclose(out);
	free(pem);
	assert_int_equal(
	    audit_key_load_public(pub, &k, err, sizeof(err)), PIM_OK);
	assert_string_equal(audit_key_id(k), audit_key_id(f->k));
	audit_key_free(k);
	k = NULL;

	/* The private key where the public half is wanted: named so. */
	assert_int_equal(chmod(f->key, 0600), 0);
	assert_int_equal(
	    audit_key_load_public(f->key, &k, err, sizeof(err)), PIM_EINVAL);
	assert_null(k);
	assert_non_null(strstr(err, "holds a private key"));
	assert_non_null(strstr(err, "public half"));
}

static void
test_sign_and_check(void **state)
{
	struct fix *f = *state;
	struct store_checkpoint cp, bad;
	struct audit_key *other = NULL;
	char path[160], err[256];

	log_events(f->st, 5);
	assert_int_equal(take(f, true, &cp), PIM_OK);
	assert_true(cp.id > 0);
	assert_int_equal(cp.head_id, 5);
	assert_int_equal(cp.count, 5);
	assert_int_equal(strlen(cp.head_hash), 64);
	assert_int_equal(audit_checkpoint_check(f->k, &cp), PIM_OK);

	/* Any field changed breaks the signature. */
	bad = cp;
	bad.count = 4;
	assert_int_equal(audit_checkpoint_check(f->k, &bad), PIM_EDENIED);
	bad = cp;
	bad.ts_ms++;
	assert_int_equal(audit_checkpoint_check(f->k, &bad), PIM_EDENIED);
	bad = cp;
	bad.head_hash[0] = bad.head_hash[0] == 'a' ? 'b' : 'a';
	assert_int_equal(audit_checkpoint_check(f->k, &bad), PIM_EDENIED);
	bad = cp;
	bad.sig[3] = bad.sig[3] == 'A' ? 'B' : 'A';
	assert_int_equal(audit_checkpoint_check(f->k, &bad), PIM_EDENIED);

	/* Another key neither checks it nor is taken for this one. */
	snprintf(path, sizeof(path), "%s/other.key", f->dir);
	assert_int_equal(audit_key_create(path, err, sizeof(err)), PIM_OK);
	assert_int_equal(
	    audit_key_load(path, &other, err, sizeof(err)), PIM_OK);
	assert_int_equal(audit_checkpoint_check(other, &cp), PIM_EDENIED);
	bad = cp;
	assert_int_equal(audit_checkpoint_sign(other, &bad), PIM_OK);
	assert_string_not_equal(bad.key_id, cp.key_id);
	assert_int_equal(audit_checkpoint_check(f->k, &bad), PIM_EDENIED);
	audit_key_free(other);
}

/* With the previous checkpoint given, only new events are counted, and
 * an unmoved head takes none. */
static void
test_take_incremental(void **state)
{
	struct fix *f = *state;
	struct store_checkpoint a, b;

	log_events(f->st, 3);
	assert_int_equal(take(f, true, &a), PIM_OK);
	assert_int_equal(take(f, false, &b), PIM_EEXIST);
	log_events(f->st, 4);
	assert_int_equal(take(f, false, &b), PIM_OK);
	assert_int_equal(b.head_id, 7);
	assert_int_equal(b.count, 7);
	assert_true(b.id > a.id);
}

static void
test_line_round_trip(void **state)
{
	struct fix *f = *state;
	struct store_checkpoint cp, back;
	char line[AUDIT_CHECKPOINT_LINE_MAX], logged[600];

	log_events(f->st, 2);
	assert_int_equal(take(f, true, &cp), PIM_OK);
	audit_checkpoint_line(&cp, line, sizeof(line));
	assert_int_equal(strncmp(line, AUDIT_CHECKPOINT_TAG " ", 17), 0);

	/* As the daemon's log and syslog show it. */
	snprintf(logged, sizeof(logged),
	    "Dec  4 10:00:00 host pimgated[42]: INFO feed_log_checkpoint: "
	    "%s\n",
	    line);
	assert_int_equal(audit_checkpoint_parse(logged, &back), PIM_OK);
	assert_int_equal(back.id, cp.id);
	assert_int_equal(back.head_id, cp.head_id);
	assert_int_equal(back.count, cp.count);
	assert_int_equal(back.ts_ms, cp.ts_ms);
	assert_string_equal(back.head_hash, cp.head_hash);
	assert_string_equal(back.key_id, cp.key_id);
	assert_string_equal(back.sig, cp.sig);
	assert_int_equal(audit_checkpoint_check(f->k, &back), PIM_OK);

	assert_int_equal(
	    audit_checkpoint_parse("INFO main: pimgated started", &back),
	    PIM_ENOTFOUND);
	/* Inside other text (a quoted detail) it is not a checkpoint. */
	assert_int_equal(audit_checkpoint_parse(
			     "detail=\"x audit checkpoint head=1\"", &back),
	    PIM_ENOTFOUND);
	assert_int_equal(audit_checkpoint_parse(
			     "audit checkpoint head=1 hash=- count=1", &back),
	    PIM_EINVAL);
	assert_int_equal(
	    audit_checkpoint_parse("audit checkpoint head=x hash=- count=1 "
				   "ts_ms=1 key=00 sig=AA==",
		&back),
	    PIM_EINVAL);
}

static void
test_verify_intact(void **state)
{
	struct fix *f = *state;
	struct store_checkpoint cp;
	struct audit_cp_check res;

	log_events(f->st, 3);
	assert_int_equal(take(f, true, &cp), PIM_OK);
	log_events(f->st, 3);
	assert_int_equal(take(f, false, &cp), PIM_OK);
	log_events(f->st, 1);
	f->nfound = 0;
	assert_int_equal(
	    audit_verify_checkpoints(f->st, f->k, NULL, 0, collect, f, &res),
	    PIM_OK);
	assert_int_equal(f->nfound, 0);
	assert_int_equal(res.checked, 2);
	assert_int_equal(res.valid, 2);
	assert_int_equal(res.newest.head_id, 6);
	assert_int_equal(res.unsigned_events, 1);
}

/* The newest events deleted, their checkpoint kept: the tail shows. */
static void
test_verify_truncated(void **state)
{
	struct fix *f = *state;
	struct store_checkpoint cp;

	log_events(f->st, 8);
	assert_int_equal(take(f, true, &cp), PIM_OK);
	tamper(f, "DELETE FROM audit WHERE id > 5");
	assert_int_equal(verify(f, NULL, 0), PIM_EDENIED);
	assert_int_equal(f->nfound, 1);
	assert_true(found(f, "events after #5 are missing: checkpoint #1 of"));
	assert_true(found(f, "signed head #8"));
}

/* The checkpoints deleted as well: the copy from the log still has
 * them. */
static void
test_verify_lines(void **state)
{
	struct fix *f = *state;
	struct store_checkpoint cp;

	log_events(f->st, 8);
	assert_int_equal(take(f, true, &cp), PIM_OK);
	tamper(f, "DELETE FROM audit WHERE id > 5;"
		  "DELETE FROM audit_checkpoints");
	/* The id sequence still counts the deleted row. */
	assert_int_equal(verify(f, NULL, 0), PIM_EDENIED);
	assert_true(found(f, "checkpoint #1 is missing from the store"));
	assert_true(found(f, "no signed checkpoint"));
	assert_int_equal(verify(f, &cp, 1), PIM_EDENIED);
	assert_true(found(f, "in the lines given but not in the store"));
	assert_true(found(f, "events after #5 are missing"));
	/* Told once: by the copy, not as a gap too. */
	assert_false(found(f, "missing from the store"));
	assert_false(found(f, "no signed checkpoint"));

	/* The sequence reset too: without the copy nothing shows what
	 * there was, but that nothing vouches for the trail. */
	tamper(f, "DELETE FROM sqlite_sequence"
		  " WHERE name = 'audit_checkpoints'");
	assert_int_equal(verify(f, NULL, 0), PIM_EDENIED);
	assert_int_equal(f->nfound, 1);
	assert_true(found(f, "no signed checkpoint: nothing vouches for this "
			     "trail"));
}

/* A store without any checkpoint is a finding, even with an intact
 * chain: whoever can write the file could have rewritten all of it. */
static void
test_verify_none(void **state)
{
	struct fix *f = *state;
	struct audit_cp_check res;

	log_events(f->st, 3);
	f->nfound = 0;
	assert_int_equal(
	    audit_verify_checkpoints(f->st, NULL, NULL, 0, collect, f, &res),
	    PIM_EDENIED);
	assert_int_equal(f->nfound, 1);
	assert_true(found(f, "pimctl audit checkpoint"));
	assert_int_equal(verify(f, NULL, 0), PIM_EDENIED);
}

/* Takes N checkpoints, each after one more event. */
static void
take_n(struct fix *f, int n)
{
	struct store_checkpoint cp;

	for (int i = 0; i < n; i++) {
		log_events(f->st, 1);
		assert_int_equal(take(f, true, &cp), PIM_OK);
	}
}

/* Checkpoint ids are never reused: a missing one was deleted. */
static void
test_verify_gaps(void **state)
{
	struct fix *f = *state;

	take_n(f, 5);
	assert_int_equal(verify(f, NULL, 0), PIM_OK);
	tamper(f, "DELETE FROM audit_checkpoints WHERE id = 2");
	assert_int_equal(verify(f, NULL, 0), PIM_EDENIED);
	assert_int_equal(f->nfound, 1);
	assert_true(found(f, "checkpoint #2 is missing from the store"));

	tamper(f, "DELETE FROM audit_checkpoints WHERE id < 5");
	assert_int_equal(verify(f, NULL, 0), PIM_EDENIED);
	assert_int_equal(f->nfound, 1);
	assert_true(found(f, "checkpoints #1 to #4 are missing"));
}

/* The newest checkpoint deleted: the sequence still counts it. Reset
 * too, nothing in the store shows it (README says so). */
static void
test_verify_newest_deleted(void **state)
{
	struct fix *f = *state;

	take_n(f, 3);
	tamper(f, "DELETE FROM audit_checkpoints WHERE id = 3");
	assert_int_equal(verify(f, NULL, 0), PIM_EDENIED);
	assert_true(found(f, "checkpoint #3 is missing from the store"));
	tamper(f, "UPDATE sqlite_sequence SET seq = 2"
		  " WHERE name = 'audit_checkpoints'");
	assert_int_equal(verify(f, NULL, 0), PIM_OK);
}

/* A copy in the lines of a stored checkpoint, with a forged signature:
 * only the bad signature is reported, the stored one is there. */
static void
test_verify_forged_copy(void **state)
{
	struct fix *f = *state;
	struct store_checkpoint cp;

	log_events(f->st, 2);
	assert_int_equal(take(f, true, &cp), PIM_OK);
	cp.sig[5] = cp.sig[5] == 'A' ? 'B' : 'A';
	assert_int_equal(verify(f, &cp, 1), PIM_EDENIED);
	assert_int_equal(f->nfound, 1);
	assert_true(found(f, "(in the lines given) has a bad signature"));
	assert_false(found(f, "not in the store"));

	/* A forged copy of one never stored shows nothing deleted. */
	cp.id = 7;
	assert_int_equal(verify(f, &cp, 1), PIM_EDENIED);
	assert_int_equal(f->nfound, 1);
	assert_true(found(f, "bad signature"));
}

/* Rows renumbered to hide a deleted one: the copies tell. */
static void
test_verify_renumbered(void **state)
{
	struct fix *f = *state;
	struct store_checkpoint both[2];

	log_events(f->st, 2);
	assert_int_equal(take(f, true, &both[0]), PIM_OK);
	log_events(f->st, 2);
	assert_int_equal(take(f, false, &both[1]), PIM_OK);
	tamper(f, "DELETE FROM audit_checkpoints WHERE id = 1;"
		  "UPDATE audit_checkpoints SET id = 1 WHERE id = 2;"
		  "UPDATE sqlite_sequence SET seq = 1"
		  " WHERE name = 'audit_checkpoints'");
	assert_int_equal(verify(f, NULL, 0), PIM_OK);
	assert_int_equal(verify(f, both, 2), PIM_EDENIED);
	assert_true(found(f, "in the store is not checkpoint #1 of"));
	assert_true(found(f, "in the lines given: the row was replaced"));
	assert_true(found(f, "is stored as checkpoint #1: the rows were "
			     "renumbered"));
}

/* Hashes removed from events written after a signed head, to pass them
 * off as older than the chain. */
static void
test_verify_hashless(void **state)
{
	struct fix *f = *state;
	struct store_checkpoint cp;

	log_events(f->st, 3);
	assert_int_equal(take(f, true, &cp), PIM_OK);
	log_events(f->st, 3);
	tamper(f, "UPDATE audit SET hash = '', prev_hash = '' WHERE id > 3");
	assert_int_equal(verify(f, NULL, 0), PIM_EDENIED);
	assert_int_equal(f->nfound, 1);
	assert_true(found(f, "event #4 and 2 more after it have no hash"));
	assert_true(found(f, "head #3 signed by checkpoint #1"));
}

/* A column of a stored checkpoint edited so that what is read of it
 * stays the same. */
static void
test_verify_column(void **state)
{
	struct fix *f = *state;
	struct store_checkpoint cp;

	log_events(f->st, 3);
	assert_int_equal(take(f, true, &cp), PIM_OK);
	tamper(f, "UPDATE audit_checkpoints SET count = count || 'x'");
	assert_int_equal(verify(f, NULL, 0), PIM_EDENIED);
	assert_true(found(f, "checkpoint #1 of"));
	assert_true(found(f, "its count column"));
}

static void
test_verify_changed(void **state)
{
	struct fix *f = *state;
	struct store_checkpoint cp;

	log_events(f->st, 4);
	assert_int_equal(take(f, true, &cp), PIM_OK);
	log_events(f->st, 2);

	/* The head event rewritten with a new hash. */
	tamper(f, "UPDATE audit SET hash = '00' WHERE id = 4");
	assert_int_equal(verify(f, NULL, 0), PIM_EDENIED);
	assert_true(found(f, "event #4 does not have the hash checkpoint #1"));

	/* The checkpoint itself edited to match a shorter trail. */
	tamper(f, "UPDATE audit_checkpoints SET count = 3");
	assert_int_equal(verify(f, NULL, 0), PIM_EDENIED);
	assert_true(found(f, "checkpoint #1 of"));
	assert_true(found(f, "bad signature"));
}

/* An event before the head removed: the count no longer matches. */
static void
test_verify_count(void **state)
{
	struct fix *f = *state;
	struct store_checkpoint cp;

	log_events(f->st, 5);
	assert_int_equal(take(f, true, &cp), PIM_OK);
	tamper(f, "DELETE FROM audit WHERE id = 2");
	assert_int_equal(verify(f, NULL, 0), PIM_EDENIED);
	assert_true(found(f, "counted 5 events up to event #5, the trail "
			     "holds 4"));
}

/* ---- refusals to sign a trail that does not extend the anchor ---- */

static int
count_cb(const struct store_checkpoint *cp, void *arg)
{
	(void)cp;
	(*(int *)arg)++;
	return 0;
}

static int
stored_checkpoints(struct fix *f)
{
	int n = 0;

	assert_int_equal(store_checkpoint_list(f->st, count_cb, &n), PIM_OK);
	return n;
}

/* Asserts that a take is refused with TEXT in the reason, and nothing
 * stored. */
static void
assert_refused(struct fix *f, bool first, const char *text)
{
	struct store_checkpoint cp;
	int before = stored_checkpoints(f);

	assert_int_equal(take(f, first, &cp), PIM_EDENIED);
	if (strstr(f->why, text) == NULL)
		fail_msg("refused for \"%s\", not \"%s\"", f->why, text);
	assert_null(strchr(f->why, '\n'));
	assert_int_equal(stored_checkpoints(f), before);
}

struct rehash {
	struct fix *f;
	int64_t from;
	char prev[STORE_HASH_MAX];
	char sql[8][300];
	int n;
};

static int
rehash_cb(const struct store_audit *a, void *arg)
{
	struct rehash *h = arg;
	struct store_audit e = *a;

	if (a->id < h->from) {
		snprintf(h->prev, sizeof(h->prev), "%s", a->hash);
		return 0;
	}
	assert_true(h->n < 8);
	snprintf(e.prev_hash, sizeof(e.prev_hash), "%s", h->prev);
	assert_int_equal(audit_hash(&e, e.hash), PIM_OK);
	snprintf(h->sql[h->n++], sizeof(h->sql[0]),
	    "UPDATE audit SET prev_hash = '%s', hash = '%s' WHERE id = %lld",
	    e.prev_hash, e.hash, (long long)e.id);
	snprintf(h->prev, sizeof(h->prev), "%s", e.hash);
	return 0;
}

/* Recomputes the (unkeyed) chain from event FROM on, as someone with
 * the file and the source could. */
static void
rehash(struct fix *f, int64_t from)
{
	struct rehash h = {.f = f, .from = from};

	assert_int_equal(
	    store_audit_list(f->st, INT64_MIN, NULL, rehash_cb, &h), PIM_OK);
	for (int i = 0; i < h.n; i++)
		tamper(f, h.sql[i]);
}

/* A head without a hash is never signed: a stripped trail as a first
 * checkpoint, or hashless events after the anchor. */
static void
test_take_hashless_head(void **state)
{
	struct fix *f = *state;
	struct store_checkpoint cp;

	log_events(f->st, 3);
	tamper(f, "UPDATE audit SET hash = '', prev_hash = ''");
	assert_refused(f, true, "the newest event #3 has no hash");

	tamper(f, "DELETE FROM audit");
	log_events(f->st, 3);
	assert_int_equal(take(f, true, &cp), PIM_OK);
	log_events(f->st, 2);
	tamper(f, "UPDATE audit SET hash = '', prev_hash = '' WHERE id > 6");
	assert_refused(f, false,
	    "the audit trail does not extend checkpoint #1 (event #7 has no "
	    "hash): run pimctl audit verify");
}

/* The events since the anchor must hold: an edit, a deletion, a cut
 * tail and a forged anchor each refuse. */
static void
test_take_chain_broken(void **state)
{
	struct fix *f = *state;
	struct store_checkpoint cp;

	log_events(f->st, 3);
	assert_int_equal(take(f, true, &cp), PIM_OK);
	log_events(f->st, 4);
	tamper(f, "UPDATE audit SET detail = 'nothing' WHERE id = 5");
	assert_refused(f, false,
	    "event #5 was changed: its content does not match its hash");
	rehash(f, 5); /* 5 rehashed alone would not link to 6... */
	tamper(f, "UPDATE audit SET prev_hash = 'x' WHERE id = 6");
	assert_refused(f, false, "event #6 does not link to event #5");
	rehash(f, 4);

	/* ... but the events since the anchor rehashed hold: no signature
	 * covers them yet (README says so). */
	assert_int_equal(take(f, false, &cp), PIM_OK);
	assert_int_equal(cp.head_id, 7);
	assert_int_equal(cp.count, 7);

	log_events(f->st, 3);
	tamper(f, "DELETE FROM audit WHERE id = 9");
	assert_refused(f, false, "event #10 does not follow event #8");
	tamper(f, "DELETE FROM audit WHERE id > 8");
	assert_refused(f, false,
	    "events after #8 were removed: the store handed out ids up "
	    "to #10");

	tamper(f, "UPDATE audit_checkpoints SET count = 8 WHERE id = 2");
	assert_refused(
	    f, false, "does not extend checkpoint #2 (its signature is bad");
}

/* The anchor's own event, or one before it, rewritten (and the chain
 * recomputed to match): the signed hash no longer matches. */
static void
test_take_anchor_changed(void **state)
{
	struct fix *f = *state;
	struct store_checkpoint cp;

	log_events(f->st, 4);
	assert_int_equal(take(f, true, &cp), PIM_OK);
	log_events(f->st, 2);
	tamper(f, "UPDATE audit SET detail = 'nothing to see' WHERE id = 2");
	rehash(f, 2);
	assert_refused(f, false,
	    "event #4 it signed was changed: its hash is not the one "
	    "signed");

	tamper(f, "DELETE FROM audit WHERE id = 4");
	assert_refused(f, false, "event #4 it signed is missing");
}

/* No checkpoint stored while the key exists: nobody signs unless told
 * to take the first; the attack of README (strip the chain, delete the
 * checkpoints and their sequence) gets nothing signed either way. */
static void
test_take_no_checkpoint(void **state)
{
	struct fix *f = *state;
	struct store_checkpoint cp;

	log_events(f->st, 3);
	assert_int_equal(take(f, true, &cp), PIM_OK);
	log_events(f->st, 5);
	tamper(f, "UPDATE audit SET hash = '', prev_hash = '';"
		  "UPDATE audit SET detail = 'nothing to see' WHERE id = 2;"
		  "DELETE FROM audit_checkpoints");
	assert_refused(f, false,
	    "the store holds no audit checkpoint to "
	    "extend: run pimctl audit verify");
	assert_refused(f, true,
	    "checkpoints after it, up to #1, were "
	    "deleted");
	tamper(f, "DELETE FROM sqlite_sequence"
		  " WHERE name = 'audit_checkpoints'");
	assert_refused(f, false, "holds no audit checkpoint");
	assert_refused(f, true, "the newest event #8 has no hash");
}

/* --first on a store that predates checkpoints: the whole chain is
 * checked, then the first is signed and later ones extend it. */
static void
test_take_first(void **state)
{
	struct fix *f = *state;
	struct store_checkpoint cp;
	struct audit_key *other = NULL;
	char path[160], err[256];

	/* Events from before the chain, then chained ones. */
	log_events(f->st, 2);
	tamper(f, "UPDATE audit SET hash = '', prev_hash = ''");
	log_events(f->st, 3);
	assert_refused(f, false, "holds no audit checkpoint");
	tamper(f, "UPDATE audit SET detail = 'x' WHERE id = 4");
	assert_refused(f, true, "event #4 was changed");
	tamper(f, "UPDATE audit SET detail = 'a change' WHERE id = 4");

	assert_int_equal(take(f, true, &cp), PIM_OK);
	assert_int_equal(cp.id, 1);
	assert_int_equal(cp.head_id, 5);
	assert_int_equal(cp.count, 5);
	assert_int_equal(verify(f, NULL, 0), PIM_OK);
	log_events(f->st, 1);
	assert_int_equal(take(f, false, &cp), PIM_OK);
	assert_int_equal(cp.head_id, 6);
	assert_int_equal(take(f, false, &cp), PIM_EEXIST);
	assert_int_equal(cp.id, 2);

	/* A new key (the old one lost): only --first starts it anew. */
	snprintf(path, sizeof(path), "%s/other.key", f->dir);
	assert_int_equal(audit_key_create(path, err, sizeof(err)), PIM_OK);
	assert_int_equal(
	    audit_key_load(path, &other, err, sizeof(err)), PIM_OK);
	audit_key_free(f->k);
	f->k = other;
	assert_refused(f, false, "(it is signed by key ");
	assert_int_equal(take(f, true, &cp), PIM_OK);
	assert_int_equal(cp.id, 3);
	assert_string_equal(cp.key_id, audit_key_id(other));
}

static void
test_event_line(void **state)
{
	struct fix *f = *state;
	struct store_audit a = {0};
	char line[AUDIT_LINE_MAX];

	(void)f;
	a.id = 12;
	a.ts_ms = 1796400000123;
	snprintf(a.event, sizeof(a.event), "login");
	snprintf(a.outcome, sizeof(a.outcome), "refused");
	snprintf(a.user, sizeof(a.user), "al\"ice\\");
	snprintf(a.detail, sizeof(a.detail), "bad\npassword \xc3\xa9");
	memset(a.hash, 'a', 64);
	audit_event_line(&a, line, sizeof(line));
	assert_non_null(strstr(line, "audit id=12 time=2026-"));
	assert_non_null(strstr(line, " event=login outcome=refused "));
	assert_non_null(strstr(line, " user=\"al\\\"ice\\\\\""));
	assert_non_null(strstr(line, " detail=\"bad\\x0apassword \xc3\xa9\""));
	assert_non_null(strstr(line, " target=\"\" "));
	assert_non_null(strstr(line, " hash=aaaa"));
	assert_non_null(strstr(line, " prev=-"));
	assert_null(strchr(line, '\n'));

	/* A detail too long for the line is cut; the hashes stay. */
	memset(a.detail, '"', sizeof(a.detail) - 1);
	audit_event_line(&a, line, 400);
	assert_true(strlen(line) < 400);
	assert_non_null(strstr(line, "...\" hash=aaaa"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_key_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_sign_and_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_take_incremental, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_line_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_verify_intact, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_verify_truncated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_verify_changed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_count, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_none, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_gaps, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_verify_newest_deleted, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_verify_forged_copy, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_verify_renumbered, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_verify_hashless, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_verify_column, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_take_hashless_head, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_take_chain_broken, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_take_anchor_changed, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_take_no_checkpoint, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_take_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_event_line, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
