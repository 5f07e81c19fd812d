/* Unit tests for client certificates: the store's rows,
 * the policy (how long a certificate may last under an activation, a
 * permanent or a time-bound active assignment; refusals; acceptance of
 * a presented serial, which also needs the grant it was issued under to
 * hold still), the CA's checks of the request (its CN, one PEM block) and
 * the one issuing path (selfsvc_cert_issue and the db-cert command) with
 * its audit events. A fresh store and CA in a temporary directory and a
 * fixed clock for every test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pimgate/audit.h"
#include "pimgate/ca.h"
#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/policy.h"
#include "pimgate/selfsvc.h"
#include "pimgate/store.h"

#define H 3600
#define T0 1800000000 /* 2027-01-15T08:00:00Z */
#define MAX POLICY_CERT_MAX_SECS

struct fx {
	char dir[64];
	char path[128], ca_cert[128], ca_key[128];
	struct store *st;
	struct ca *ca;
	int64_t alice, carol;
	int64_t dba, ops, long_role;
	int64_t clientsdb, host1, lonely;
	char *csr; /* a good request (EC P-256) */
	char reason[POLICY_REASON_MAX];
	struct store_audit last; /* the newest cert.issue event */
	int naudit;
};

static int64_t
fx_user(struct fx *f, const char *name, bool enabled)
{
	int64_t id = 0;

	assert_int_equal(
	    store_user_add(f->st, name, NULL, T0 - H, &id), PIM_OK);
	if (!enabled)
		assert_int_equal(
		    store_user_set_enabled(f->st, name, false), PIM_OK);
	return id;
}

static int64_t
fx_role(struct fx *f, const char *name, int64_t max_act)
{
	struct store_role r = {0};
	int64_t id = 0;

	snprintf(r.name, sizeof(r.name), "%s", name);
	r.max_activation = max_act;
	r.max_session = 8 * H;
	r.channels = CHANNEL_DEFAULT;
	r.created = T0 - H;
	assert_int_equal(store_role_add(f->st, &r, &id), PIM_OK);
	return id;
}

static int64_t
fx_target(struct fx *f, const char *name, const char *kind)
{
	struct store_target t = {0};
	int64_t id = 0;

	snprintf(t.name, sizeof(t.name), "%s", name);
	snprintf(t.kind, sizeof(t.kind), "%s", kind);
	snprintf(t.host, sizeof(t.host), "127.0.0.1");
	snprintf(t.login, sizeof(t.login), "care");
	t.port = strcmp(kind, "ssh") == 0 ? 22 : 5432;
	t.created = T0 - H;
	assert_int_equal(store_target_add(f->st, &t, NULL, 0, &id), PIM_OK);
	return id;
}

static int64_t
fx_assign(struct fx *f, int64_t user, int64_t role, enum store_assign_kind kind,
    int64_t start, int64_t end)
{
	struct store_assignment a = {0};
	int64_t id = 0;

	a.user_id = user;
	a.role_id = role;
	a.kind = kind;
	a.start = start;
	a.end = end;
	a.created = T0 - H;
	assert_int_equal(store_assignment_add(f->st, &a, &id), PIM_OK);
	return id;
}

static int64_t
fx_activation(struct fx *f, int64_t user, int64_t role, enum store_act_state s,
    int64_t start, int64_t end)
{
	struct store_activation a = {0};
	int64_t id = 0;

	a.user_id = user;
	a.role_id = role;
	a.state = s;
	a.start = start;
	a.end = end;
	snprintf(a.reason, sizeof(a.reason), "care plan update");
	a.created = start;
	assert_int_equal(store_activation_add(f->st, &a, &id), PIM_OK);
	return id;
}

/* A PEM request (malloc'd) for a new EC P-256 key, with subject CN=CN
 * (none if CN is NULL). */
static char *
fx_csr(const char *cn)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509_REQ *req = X509_REQ_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL, *pem;
	long n;

	assert_non_null(key);
	if (cn != NULL)
		assert_int_equal(
		    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req),
			"CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
			0),
		    1);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	assert_int_equal(PEM_write_bio_X509_REQ(b, req), 1);
	n = BIO_get_mem_data(b, &data);
	pem = calloc(1, (size_t)n + 1);
	assert_non_null(pem);
	memcpy(pem, data, (size_t)n);
	BIO_free(b);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return pem;
}

/* alice (enabled), carol (disabled); dba (4h) and ops grant clientsdb,
 * long (24h) grants clientsdb too; host1 is an SSH host; nothing grants
 * lonely. */
static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pimgate-cert-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/pimgate.db", f->dir);
	snprintf(f->ca_cert, sizeof(f->ca_cert), "%s/ca.crt", f->dir);
	snprintf(f->ca_key, sizeof(f->ca_key), "%s/ca.key", f->dir);
	assert_int_equal(store_open(f->path, true, &f->st), PIM_OK);
	assert_int_equal(
	    ca_create(f->ca_cert, f->ca_key, T0 - H, err, sizeof(err)), PIM_OK);
	assert_int_equal(
	    ca_load(f->ca_cert, f->ca_key, &f->ca, err, sizeof(err)), PIM_OK);
	f->alice = fx_user(f, "alice", true);
	f->carol = fx_user(f, "carol", false);
	f->dba = fx_role(f, "dba", 4 * H);
	f->ops = fx_role(f, "ops", 4 * H);
	f->long_role = fx_role(f, "long", 24 * H);
	f->clientsdb = fx_target(f, "clientsdb", "postgres");
	f->host1 = fx_target(f, "host1", "ssh");
	f->lonely = fx_target(f, "lonely", "postgres");
	assert_int_equal(store_role_grant(f->st, f->dba, f->clientsdb), PIM_OK);
	assert_int_equal(store_role_grant(f->st, f->ops, f->clientsdb), PIM_OK);
	assert_int_equal(store_role_grant(f->st, f->ops, f->host1), PIM_OK);
	assert_int_equal(
	    store_role_grant(f->st, f->long_role, f->clientsdb), PIM_OK);
	f->csr = fx_csr(NULL);
	clock_set_fixed(T0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char side[160];

	clock_set_fixed(0);
	free(f->csr);
	ca_free(f->ca);
	store_close(f->st);
	unlink(f->path);
	unlink(f->ca_cert);
	unlink(f->ca_key);
	snprintf(side, sizeof(side), "%s-wal", f->path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", f->path);
	unlink(side);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
fx_has(const char *text, const char *want)
{
	if (strstr(text, want) == NULL)
		fail_msg("'%s' lacks '%s'", text, want);
}

/* ---- the store ---- */

static struct store_cert
cert_row(const char *serial, const char *user, int64_t user_id)
{
	struct store_cert c = {0};

	snprintf(c.serial, sizeof(c.serial), "%s", serial);
	snprintf(c.user, sizeof(c.user), "%s", user);
	snprintf(c.target, sizeof(c.target), "clientsdb");
	snprintf(c.issued_by, sizeof(c.issued_by), "admin:root");
	c.user_id = user_id;
	c.activation_id = 7;
	c.not_before = T0;
	c.not_after = T0 + H;
	c.created = T0;
	return c;
}

static int
collect(const struct store_cert *c, void *arg)
{
	char *seen = arg;

	strcat(seen, c->serial);
	strcat(seen, " ");
	return 0;
}

static void
test_store(void **state)
{
	struct fx *f = *state;
	struct store_cert a = cert_row("0a1b", "alice", f->alice);
	struct store_cert b = cert_row("ff00", "carol", f->carol);
	struct store_cert dup = cert_row("0a1b", "carol", f->carol);
	struct store_cert got;
	char seen[128] = "";

	assert_int_equal(store_cert_add(f->st, &a), PIM_OK);
	assert_int_equal(store_cert_add(f->st, &b), PIM_OK);
	assert_true(b.id > a.id);
	assert_int_equal(store_cert_add(f->st, &dup), PIM_EEXIST);

	assert_int_equal(store_cert_get(f->st, "0a1b", &got), PIM_OK);
	assert_string_equal(got.user, "alice");
	assert_int_equal(got.user_id, f->alice);
	assert_int_equal(got.activation_id, 7);
	assert_int_equal(got.not_after, T0 + H);
	assert_string_equal(got.issued_by, "admin:root");
	assert_int_equal(got.revoked, 0);
	assert_int_equal(store_cert_get(f->st, "beef", &got), PIM_ENOTFOUND);

	assert_int_equal(store_cert_list(f->st, NULL, collect, seen), PIM_OK);
	assert_string_equal(seen, "ff00 0a1b "); /* newest first */
	seen[0] = '\0';
	assert_int_equal(
	    store_cert_list(f->st, "alice", collect, seen), PIM_OK);
	assert_string_equal(seen, "0a1b ");

	assert_int_equal(store_cert_revoke(f->st, "0a1b", T0 + 60), PIM_OK);
	assert_int_equal(
	    store_cert_revoke(f->st, "0a1b", T0 + 90), PIM_ENOTFOUND);
	assert_int_equal(
	    store_cert_revoke(f->st, "beef", T0 + 90), PIM_ENOTFOUND);
	assert_int_equal(store_cert_get(f->st, "0a1b", &got), PIM_OK);
	assert_int_equal(got.revoked, T0 + 60);
}

/* ---- policy_cert_window ---- */

/* The window of alice on TARGET at NOW; WANT is the return code. */
static int64_t
window(struct fx *f, const char *target, int64_t now, int want,
    struct admission *adm)
{
	struct admission local;
	int64_t end = -1;
	int rc;

	rc = policy_cert_window(f->st, "alice", target, now,
	    adm != NULL ? adm : &local, &end, f->reason, sizeof(f->reason));
	if (rc != want)
		fail_msg("window gave %d, want %d: %s", rc, want, f->reason);
	return end;
}

static void
test_window_activation(void **state)
{
	struct fx *f = *state;
	struct admission adm;
	int64_t act;

	fx_assign(f, f->alice, f->dba, ASSIGN_ELIGIBLE, 0, 0);
	act = fx_activation(f, f->alice, f->dba, ACT_ACTIVE, T0, T0 + 2 * H);
	assert_int_equal(
	    window(f, "clientsdb", T0 + 60, PIM_OK, &adm), T0 + 2 * H);
	assert_int_equal(adm.activation_id, act);
	assert_int_equal(adm.assignment_id, 0);
	assert_string_equal(adm.role, "dba");
	/* Later in the window, still its end. */
	assert_int_equal(
	    window(f, "clientsdb", T0 + H, PIM_OK, NULL), T0 + 2 * H);
	/* At its end, refused. */
	window(f, "clientsdb", T0 + 2 * H, PIM_EDENIED, NULL);
	fx_has(f->reason, "expired");
	fx_has(f->reason, "needs an active grant");
}

static void
test_window_long_activation_capped(void **state)
{
	struct fx *f = *state;

	fx_assign(f, f->alice, f->long_role, ASSIGN_ELIGIBLE, 0, 0);
	fx_activation(f, f->alice, f->long_role, ACT_ACTIVE, T0, T0 + 20 * H);
	assert_int_equal(window(f, "clientsdb", T0, PIM_OK, NULL), T0 + MAX);
}

static void
test_window_permanent(void **state)
{
	struct fx *f = *state;
	struct admission adm;
	int64_t asg;

	asg = fx_assign(f, f->alice, f->ops, ASSIGN_ACTIVE, 0, 0);
	assert_int_equal(
	    window(f, "clientsdb", T0 + 5, PIM_OK, &adm), T0 + 5 + MAX);
	assert_int_equal(adm.assignment_id, asg);
	assert_int_equal(adm.activation_id, 0);
}

static void
test_window_time_bound(void **state)
{
	struct fx *f = *state;

	fx_assign(f, f->alice, f->ops, ASSIGN_ACTIVE, T0 - H, T0 + 3 * H);
	assert_int_equal(window(f, "clientsdb", T0, PIM_OK, NULL), T0 + 3 * H);
	/* A window longer than the cap is cut. */
	fx_assign(f, f->alice, f->dba, ASSIGN_ACTIVE, T0 - H, T0 + 30 * H);
	assert_int_equal(window(f, "clientsdb", T0, PIM_OK, NULL), T0 + MAX);
	/* Once the ops one has ended, the dba one alone counts. */
	assert_int_equal(
	    window(f, "clientsdb", T0 + 4 * H, PIM_OK, NULL), T0 + 4 * H + MAX);
}

static void
test_window_refusals(void **state)
{
	struct fx *f = *state;

	/* Nothing held. */
	window(f, "clientsdb", T0, PIM_EDENIED, NULL);
	fx_has(f->reason, "no role grants alice access to target clientsdb");
	fx_has(f->reason, "a certificate for target clientsdb needs an active "
			  "grant");

	/* Eligible, not activated: says what to run. */
	fx_assign(f, f->alice, f->dba, ASSIGN_ELIGIBLE, 0, 0);
	window(f, "clientsdb", T0, PIM_EDENIED, NULL);
	fx_has(f->reason, "run 'activate dba'");

	/* Pending. */
	fx_activation(f, f->alice, f->dba, ACT_PENDING, T0, T0 + H);
	window(f, "clientsdb", T0, PIM_EDENIED, NULL);
	fx_has(f->reason, "awaiting approval");

	/* Not a database target, and no target at all. */
	fx_assign(f, f->alice, f->ops, ASSIGN_ACTIVE, 0, 0);
	window(f, "host1", T0, PIM_EDENIED, NULL);
	assert_string_equal(f->reason, "target host1 is an SSH host; "
				       "certificates are for database targets");
	window(f, "nosuch", T0, PIM_ENOTFOUND, NULL);
	assert_string_equal(f->reason, "no target named nosuch");
	window(f, "lonely", T0, PIM_EDENIED, NULL);
	fx_has(f->reason, "target lonely");

	/* A disabled user. */
	fx_assign(f, f->carol, f->ops, ASSIGN_ACTIVE, 0, 0);
	assert_int_equal(policy_cert_window(f->st, "carol", "clientsdb", T0,
			     &(struct admission){0}, &(int64_t){0}, f->reason,
			     sizeof(f->reason)),
	    PIM_EDENIED);
	assert_string_equal(f->reason, "user carol is disabled");
	assert_int_equal(policy_cert_window(f->st, "bob", "clientsdb", T0,
			     &(struct admission){0}, &(int64_t){0}, f->reason,
			     sizeof(f->reason)),
	    PIM_ENOTFOUND);
	assert_string_equal(f->reason, "no user named bob");
}

/* ---- policy_cert_accept ---- */

static int
fx_accept(struct fx *f, const char *serial, const char *user,
    const char *target, int64_t now)
{
	return policy_cert_accept(
	    f->st, serial, user, target, now, f->reason, sizeof(f->reason));
}

static void
test_accept(void **state)
{
	struct fx *f = *state;
	struct store_cert c = cert_row("0a1b", "alice", f->alice);

	/* Its grant: an activation that holds throughout. */
	fx_assign(f, f->alice, f->dba, ASSIGN_ELIGIBLE, 0, 0);
	c.activation_id =
	    fx_activation(f, f->alice, f->dba, ACT_ACTIVE, T0 - H, T0 + 2 * H);
	assert_int_equal(store_cert_add(f->st, &c), PIM_OK);
	assert_int_equal(
	    fx_accept(f, "0a1b", "alice", "clientsdb", T0), PIM_OK);
	assert_int_equal(
	    fx_accept(f, "0a1b", "alice", "clientsdb", T0 + H - 1), PIM_OK);

	assert_int_equal(
	    fx_accept(f, "beef", "alice", "clientsdb", T0), PIM_EDENIED);
	assert_string_equal(
	    f->reason, "this certificate was not issued by this bastion");
	assert_int_equal(
	    fx_accept(f, "", "alice", "clientsdb", T0), PIM_EDENIED);

	assert_int_equal(
	    fx_accept(f, "0a1b", "bob", "clientsdb", T0), PIM_EDENIED);
	fx_has(f->reason, "issued to alice, not to bob");

	assert_int_equal(
	    fx_accept(f, "0a1b", "alice", "lonely", T0), PIM_EDENIED);
	assert_string_equal(f->reason,
	    "this certificate was issued for target clientsdb, not lonely; "
	    "ask for one with the db-cert command");

	assert_int_equal(
	    fx_accept(f, "0a1b", "alice", "clientsdb", T0 + H), PIM_EDENIED);
	assert_string_equal(f->reason,
	    "this certificate expired at 2027-01-15T09:00:00Z; ask for a new "
	    "one with the db-cert command");

	assert_int_equal(
	    fx_accept(f, "0a1b", "alice", "clientsdb", T0 - 600), PIM_EDENIED);
	fx_has(f->reason, "valid only from");

	assert_int_equal(store_cert_revoke(f->st, "0a1b", T0 + 60), PIM_OK);
	assert_int_equal(
	    fx_accept(f, "0a1b", "alice", "clientsdb", T0 + 90), PIM_EDENIED);
	fx_has(f->reason, "this certificate was revoked");
}

/* Issues a certificate to alice for clientsdb at NOW from F's request;
 * returns its serial in SERIAL. */
static void
fx_issued(struct fx *f, int64_t now, char serial[STORE_SERIAL_MAX],
    struct selfsvc_cert *c)
{
	int rc = selfsvc_cert_issue(f->st, f->ca, "alice", "clientsdb", f->csr,
	    strlen(f->csr), "alice", NULL, now, c, f->reason,
	    sizeof(f->reason));

	if (rc != PIM_OK)
		fail_msg("issue gave %d: %s", rc, f->reason);
	snprintf(serial, STORE_SERIAL_MAX, "%s", c->serial);
	free(c->pem);
	c->pem = NULL;
}

/* A certificate issued under activation 1 is refused once activation 1
 * has been deactivated: with the admission rule's reason while nothing
 * else admits alice, and though activation 2 of the same role does; one
 * issued under activation 2 is accepted. */
static void
test_accept_deactivated(void **state)
{
	struct fx *f = *state;
	char one[STORE_SERIAL_MAX], two[STORE_SERIAL_MAX];
	struct admission adm;
	struct selfsvc_cert c;
	int64_t a1, a2;

	fx_assign(f, f->alice, f->dba, ASSIGN_ELIGIBLE, 0, 0);
	a1 = fx_activation(f, f->alice, f->dba, ACT_ACTIVE, T0, T0 + 2 * H);
	fx_issued(f, T0, one, &c);
	assert_int_equal(c.activation_id, a1);
	assert_int_equal(
	    fx_accept(f, one, "alice", "clientsdb", T0 + 60), PIM_OK);

	assert_int_equal(policy_deactivate(f->st, a1, "alice", T0 + H,
			     f->reason, sizeof(f->reason)),
	    PIM_OK);
	assert_int_equal(
	    fx_accept(f, one, "alice", "clientsdb", T0 + H + 1), PIM_EDENIED);
	assert_string_equal(f->reason,
	    "this certificate was issued under activation 1, which has "
	    "ended: activation 1 of role dba was deactivated; run 'activate "
	    "dba'");

	a2 = fx_activation(f, f->alice, f->dba, ACT_ACTIVE, T0 + H, T0 + 3 * H);
	window(f, "clientsdb", T0 + H + 60, PIM_OK, &adm);
	assert_int_equal(adm.activation_id, a2);

	assert_int_equal(
	    fx_accept(f, one, "alice", "clientsdb", T0 + H + 60), PIM_EDENIED);
	assert_string_equal(f->reason,
	    "this certificate was issued under activation 1, which has "
	    "ended; ask for a new one with the db-cert command");
	/* Also as of an instant before the deactivation (a session's
	 * start): the activation's state says it has ended. */
	assert_int_equal(
	    fx_accept(f, one, "alice", "clientsdb", T0 + 60), PIM_EDENIED);

	fx_issued(f, T0 + H + 60, two, &c);
	assert_int_equal(c.activation_id, a2);
	assert_int_equal(
	    fx_accept(f, two, "alice", "clientsdb", T0 + H + 120), PIM_OK);
}

/* Revoked by an admin: the same, with another activation live. */
static void
test_accept_revoked_activation(void **state)
{
	struct fx *f = *state;
	char serial[STORE_SERIAL_MAX];
	struct selfsvc_cert c;
	int64_t a1;

	fx_assign(f, f->alice, f->dba, ASSIGN_ELIGIBLE, 0, 0);
	a1 = fx_activation(f, f->alice, f->dba, ACT_ACTIVE, T0, T0 + 2 * H);
	fx_issued(f, T0, serial, &c);
	fx_activation(f, f->alice, f->dba, ACT_ACTIVE, T0 + 60, T0 + 4 * H);
	assert_int_equal(
	    fx_accept(f, serial, "alice", "clientsdb", T0 + 120), PIM_OK);
	assert_int_equal(store_activation_transition(
			     f->st, a1, ACT_ACTIVE, ACT_REVOKED, T0 + 300),
	    PIM_OK);
	assert_int_equal(
	    fx_accept(f, serial, "alice", "clientsdb", T0 + 360), PIM_EDENIED);
	fx_has(f->reason, "issued under activation 1, which has ended");
}

/* An activation that expires on time ends its certificate by the
 * certificate's own end; as of an instant inside its window (a live
 * session's start) the certificate still holds, so that a session is
 * ended by its deadline, not by this check. */
static void
test_accept_activation_expired(void **state)
{
	struct fx *f = *state;
	char serial[STORE_SERIAL_MAX];
	struct selfsvc_cert c;
	int n = 0;

	fx_assign(f, f->alice, f->dba, ASSIGN_ELIGIBLE, 0, 0);
	fx_activation(f, f->alice, f->dba, ACT_ACTIVE, T0, T0 + 2 * H);
	fx_issued(f, T0, serial, &c);
	assert_int_equal(
	    store_activation_expire(f->st, T0 + 2 * H, &n), PIM_OK);
	assert_int_equal(n, 1);
	assert_int_equal(
	    fx_accept(f, serial, "alice", "clientsdb", T0 + 60), PIM_OK);
	assert_int_equal(fx_accept(f, serial, "alice", "clientsdb", T0 + 2 * H),
	    PIM_EDENIED);
	fx_has(f->reason, "this certificate expired at");
}

/* A certificate issued under an active assignment is refused once the
 * assignment is removed, even while another grant admits alice, and
 * stays refused when the assignment is given again (a new one). With no
 * grant left, the admission rule's reason follows. */
static void
test_accept_assignment_removed(void **state)
{
	struct fx *f = *state;
	char serial[STORE_SERIAL_MAX];
	struct selfsvc_cert c;
	int64_t asg;

	asg = fx_assign(f, f->alice, f->ops, ASSIGN_ACTIVE, 0, 0);
	fx_issued(f, T0, serial, &c);
	assert_int_equal(c.assignment_id, asg);
	assert_int_equal(c.activation_id, 0);
	fx_assign(f, f->alice, f->dba, ASSIGN_ACTIVE, 0, 0);
	assert_int_equal(
	    fx_accept(f, serial, "alice", "clientsdb", T0 + 60), PIM_OK);

	assert_int_equal(
	    store_assignment_remove(f->st, f->alice, f->ops), PIM_OK);
	window(f, "clientsdb", T0 + 60, PIM_OK, NULL);
	assert_int_equal(
	    fx_accept(f, serial, "alice", "clientsdb", T0 + 60), PIM_EDENIED);
	assert_string_equal(f->reason,
	    "this certificate was issued under an assignment that no longer "
	    "holds; ask for a new one with the db-cert command");

	fx_assign(f, f->alice, f->ops, ASSIGN_ACTIVE, 0, 0);
	assert_int_equal(
	    fx_accept(f, serial, "alice", "clientsdb", T0 + 60), PIM_EDENIED);

	assert_int_equal(
	    store_assignment_remove(f->st, f->alice, f->ops), PIM_OK);
	assert_int_equal(
	    store_assignment_remove(f->st, f->alice, f->dba), PIM_OK);
	assert_int_equal(
	    fx_accept(f, serial, "alice", "clientsdb", T0 + 60), PIM_EDENIED);
	assert_string_equal(f->reason,
	    "this certificate was issued under an assignment that no longer "
	    "holds: no role grants alice access to target clientsdb");
}

/* ---- the CA's checks of the request ---- */

/* Signs CSR for alice on clientsdb; WANT is the return code. */
static int
ca_sign(struct fx *f, const char *csr, int want)
{
	char serial[STORE_SERIAL_MAX], *pem = NULL;
	int rc = ca_sign_client(f->ca, csr, strlen(csr), "alice", "clientsdb",
	    T0, T0 + H, &pem, serial, f->reason, sizeof(f->reason));

	if (rc != want)
		fail_msg("ca_sign_client gave %d, want %d: %s", rc, want,
		    rc == PIM_OK ? "" : f->reason);
	if (rc != PIM_OK)
		assert_null(pem);
	free(pem);
	return rc;
}

/* A request naming someone else is refused; naming alice, or nobody, is
 * taken. */
static void
test_ca_subject(void **state)
{
	struct fx *f = *state;
	char *bob = fx_csr("bob"), *alice = fx_csr("alice");
	char *upper = fx_csr("Alice");

	ca_sign(f, bob, PIM_EINVAL);
	assert_string_equal(f->reason,
	    "the request names bob, but the certificate would be for alice: "
	    "make a request with -subj /CN=alice");
	ca_sign(f, upper, PIM_EINVAL);
	fx_has(f->reason, "the request names Alice");
	ca_sign(f, alice, PIM_OK);
	ca_sign(f, f->csr, PIM_OK);
	free(bob);
	free(alice);
	free(upper);
}

/* A copy of A followed by B (malloc'd). */
static char *
fx_join(const char *a, const char *b)
{
	char *s = malloc(strlen(a) + strlen(b) + 1);

	assert_non_null(s);
	strcpy(s, a);
	strcat(s, b);
	return s;
}

/* Exactly one PEM block, the request, and only white space after it. */
static void
test_ca_one_block(void **state)
{
	struct fx *f = *state;
	char *other = fx_csr("alice");
	char *two = fx_join(f->csr, other);
	char *cert_first = fx_join(ca_cert_pem(f->ca), f->csr);
	char *trailing = fx_join(f->csr, "rm -rf /\n");
	char *blank = fx_join(f->csr, "\n \t\r\n");
	char *lead = fx_join("Subject: CN=alice\n", f->csr);

	ca_sign(f, two, PIM_EINVAL);
	assert_string_equal(f->reason, "the input holds more than one PEM "
				       "block: give exactly one certificate "
				       "request");
	ca_sign(f, cert_first, PIM_EINVAL);
	fx_has(f->reason, "give exactly one certificate request");
	ca_sign(f, trailing, PIM_EINVAL);
	assert_string_equal(f->reason, "the input goes on after the request's "
				       "END line: give exactly one "
				       "certificate request");
	ca_sign(f, blank, PIM_OK);
	ca_sign(f, lead, PIM_OK);
	free(other);
	free(two);
	free(cert_first);
	free(trailing);
	free(blank);
	free(lead);
}

/* ---- issuing: selfsvc_cert_issue and db-cert ---- */

static int
audit_row(const struct store_audit *a, void *arg)
{
	struct fx *f = arg;

	if (strcmp(a->event, AUDIT_CERT) != 0)
		return 0;
	f->last = *a;
	f->naudit++;
	return 0;
}

static void
fx_audit(struct fx *f)
{
	memset(&f->last, 0, sizeof(f->last));
	f->naudit = 0;
	assert_int_equal(
	    store_audit_list(f->st, 0, NULL, audit_row, f), PIM_OK);
}

static int
issue(struct fx *f, const char *csr, struct selfsvc_cert *c)
{
	return selfsvc_cert_issue(f->st, f->ca, "alice", "clientsdb", csr,
	    strlen(csr), "admin:root", NULL, T0, c, f->reason,
	    sizeof(f->reason));
}

static void
test_issue(void **state)
{
	struct fx *f = *state;
	struct selfsvc_cert c;
	struct store_cert row;
	char note[256];
	int64_t act;
	X509 *x;
	BIO *b;

	/* Refused and audited. */
	assert_int_equal(issue(f, f->csr, &c), PIM_EDENIED);
	assert_null(c.pem);
	fx_audit(f);
	assert_int_equal(f->naudit, 1);
	assert_string_equal(f->last.outcome, "refused");
	assert_string_equal(f->last.actor, "admin:root");
	fx_has(f->last.detail, "target=clientsdb");

	/* Issued under an activation, recorded and audited. */
	fx_assign(f, f->alice, f->dba, ASSIGN_ELIGIBLE, 0, 0);
	act = fx_activation(f, f->alice, f->dba, ACT_ACTIVE, T0, T0 + 2 * H);
	assert_int_equal(issue(f, f->csr, &c), PIM_OK);
	assert_non_null(c.pem);
	assert_int_equal(c.not_after, T0 + 2 * H);
	assert_int_equal(c.activation_id, act);
	assert_false(c.capped);
	b = BIO_new_mem_buf(c.pem, -1);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	assert_non_null(x);
	assert_int_equal(
	    ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), T0 + 2 * H), 0);
	X509_free(x);
	BIO_free(b);
	assert_int_equal(store_cert_get(f->st, c.serial, &row), PIM_OK);
	assert_string_equal(row.user, "alice");
	assert_string_equal(row.target, "clientsdb");
	assert_int_equal(row.activation_id, act);
	assert_int_equal(row.not_before, T0);
	assert_int_equal(row.not_after, T0 + 2 * H);
	assert_string_equal(row.issued_by, "admin:root");
	fx_audit(f);
	assert_int_equal(f->naudit, 2);
	assert_string_equal(f->last.outcome, "ok");
	assert_string_equal(f->last.role, "dba");
	fx_has(f->last.detail, c.serial);
	fx_has(f->last.detail, "not_after=2027-01-15T10:00:00Z");
	selfsvc_cert_note(&c, note, sizeof(note));
	assert_string_equal(note, "valid until 2027-01-15T10:00:00Z (the end "
				  "of activation 1 of role dba)");
	free(c.pem);

	/* A bad request: refused, audited, nothing recorded. */
	assert_int_equal(issue(f, "garbage", &c), PIM_EINVAL);
	fx_has(f->reason, "not a PEM certificate request");
	fx_audit(f);
	assert_int_equal(f->naudit, 3);
	assert_string_equal(f->last.outcome, "refused");
}

/* Runs "db-cert TARGET" with INPUT (NULL: none) for alice; WANT is the
 * status; OUT and NOTES are left for the caller to free. */
static void
db_cert(struct fx *f, const char *target, const char *input, int want,
    struct selfsvc_out *out, struct selfsvc_out *notes)
{
	struct selfsvc_ctx ctx = {
	    .st = f->st,
	    .user = "alice",
	    .peer = "127.0.0.1:40000",
	    .now = T0,
	    .login_host = "bastion.example",
	    .login_port = 2222,
	    .ca = f->ca,
	    .input = input,
	    .input_len = input != NULL ? strlen(input) : 0,
	    .notes = notes,
	};
	char verb[] = "db-cert", name[STORE_NAME_MAX];
	char *argv[] = {verb, name, NULL};
	int rc;

	snprintf(name, sizeof(name), "%s", target);
	memset(out, 0, sizeof(*out));
	memset(notes, 0, sizeof(*notes));
	rc = selfsvc_run(&ctx, 2, argv, out);
	if (rc != want)
		fail_msg("db-cert gave %d, want %d: %s", rc, want,
		    out->buf != NULL ? out->buf : "");
}

static void
test_db_cert_command(void **state)
{
	struct fx *f = *state;
	struct selfsvc_out out, notes;
	char *argv[] = {(char *)"db-cert", (char *)"clientsdb", NULL};
	char *bob = fx_csr("bob");

	assert_true(selfsvc_reads_input(2, argv));
	argv[1] = (char *)"--help";
	assert_false(selfsvc_reads_input(2, argv));

	/* From the prompt (no input): how to run it. */
	db_cert(f, "clientsdb", NULL, SELFSVC_REFUSED, &out, &notes);
	fx_has(out.buf, "run ssh -p 2222 alice@bastion.example db-cert "
			"clientsdb < FILE.csr");
	selfsvc_out_free(&out);

	/* No grant. */
	db_cert(f, "clientsdb", f->csr, SELFSVC_REFUSED, &out, &notes);
	fx_has(out.buf, "needs an active grant");
	assert_null(notes.buf);
	selfsvc_out_free(&out);

	/* Granted: the certificate alone on OUT, the note apart. */
	fx_assign(f, f->alice, f->ops, ASSIGN_ACTIVE, 0, T0 + 5 * H);
	db_cert(f, "clientsdb", f->csr, SELFSVC_OK, &out, &notes);
	assert_true(strncmp(out.buf, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
	assert_non_null(strstr(out.buf, "-----END CERTIFICATE-----\n"));
	assert_string_equal(notes.buf, "valid until 2027-01-15T13:00:00Z (the "
				       "end of the assignment of role ops)\n");
	fx_audit(f);
	assert_string_equal(f->last.actor, "alice");
	assert_string_equal(f->last.peer, "127.0.0.1:40000");
	selfsvc_out_free(&out);
	selfsvc_out_free(&notes);

	/* Another person's request: refused and audited, nothing issued. */
	db_cert(f, "clientsdb", bob, SELFSVC_REFUSED, &out, &notes);
	fx_has(out.buf, "the request names bob, but the certificate would "
			"be for alice: make a request with -subj /CN=alice");
	assert_null(notes.buf);
	fx_audit(f);
	assert_string_equal(f->last.outcome, "refused");
	fx_has(f->last.detail, "the request names bob");
	selfsvc_out_free(&out);
	free(bob);

	/* Garbage, an SSH host, a malformed name. */
	db_cert(f, "clientsdb", "garbage\n", SELFSVC_REFUSED, &out, &notes);
	fx_has(out.buf, "not a PEM certificate request");
	selfsvc_out_free(&out);
	db_cert(f, "host1", f->csr, SELFSVC_REFUSED, &out, &notes);
	fx_has(out.buf, "is an SSH host");
	selfsvc_out_free(&out);
	db_cert(f, "Bad Name", f->csr, SELFSVC_USAGE, &out, &notes);
	selfsvc_out_free(&out);
}

#define FX_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_store),
	    FX_TEST(test_window_activation),
	    FX_TEST(test_window_long_activation_capped),
	    FX_TEST(test_window_permanent),
	    FX_TEST(test_window_time_bound),
	    FX_TEST(test_window_refusals),
	    FX_TEST(test_accept),
	    FX_TEST(test_accept_deactivated),
	    FX_TEST(test_accept_revoked_activation),
	    FX_TEST(test_accept_activation_expired),
	    FX_TEST(test_accept_assignment_removed),
	    FX_TEST(test_ca_subject),
	    FX_TEST(test_ca_one_block),
	    FX_TEST(test_issue),
	    FX_TEST(test_db_cert_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
