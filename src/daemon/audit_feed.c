/* The daemon's timers for the audit trail: signed checkpoints, and
 * audit events to syslog. Each tick does a few short store calls (the
 * head, a count over a range of ids, one insert, or one bounded batch of
 * new events): the loop never waits long. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <event2/event.h>

#include "pimgate/audit.h"
#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/store.h"
#include "pimgate/syslog_out.h"

#include "audit_feed.h"

/* Events sent per poll; the rest wait for the next one. */
#define FEED_BATCH 64
/* Batches sent at shutdown at most, so a huge backlog cannot hold the
 * exit. */
#define FEED_FINAL_BATCHES 64
/* A checkpoint that could not be taken (the store busy) is tried again
 * this soon. */
#define FEED_RETRY_S 10

struct audit_feed {
	struct event_base *base;
	struct store *st;
	const struct config *cfg;
	struct audit_key *key;
	struct event *ckpt_ev;
	struct event *poll_ev;
	/* The key was made at this start: no checkpoint can be signed by
	 * it yet, so the first one may be taken (until one is). */
	bool key_created;
	bool following; /* sending events to syslog */
	int64_t last_sent; /* the newest event sent (or skipped) */
	bool warned; /* a store error was logged; quiet until it clears */
};

/* ---- checkpoints ---- */

/* Logs CP, and sends it with the events when they go to syslog: a copy
 * off the store that `pimctl audit verify --checkpoints` can read. */
static void
feed_log_checkpoint(struct audit_feed *f, const struct store_checkpoint *cp)
{
	char line[AUDIT_CHECKPOINT_LINE_MAX];

	audit_checkpoint_line(cp, line, sizeof(line));
	log_info("%s", line);
	if (f->cfg->syslog_audit)
		syslog_out_send(LOG_AUTHPRIV, LOG_INFO, line);
}

/* Takes a checkpoint if the head moved since the newest stored one.
 * A trail that does not extend it is not signed: that refusal is logged
 * as an error and tried again at the next interval (the daemon keeps
 * running). Returns false if the store or signing failed (retried
 * soon). */
static bool
feed_checkpoint(struct audit_feed *f, const char *why)
{
	char reason[AUDIT_CHECKPOINT_WHY_MAX];
	struct store_checkpoint cp;
	int r;

	r = audit_checkpoint_take(
	    f->st, f->key, f->key_created, &cp, reason, sizeof(reason));
	if (r == PIM_EEXIST)
		return true;
	if (r == PIM_EDENIED) {
		log_error("audit checkpoint refused when=%s: %s", why, reason);
		return true;
	}
	if (r != PIM_OK) {
		log_warn("cannot take an audit checkpoint when=%s: %s", why,
		    r == PIM_ECRYPTO ? "signing failed" : store_errmsg(f->st));
		return false;
	}
	f->key_created = false;
	feed_log_checkpoint(f, &cp);
	return true;
}

static void
feed_arm_checkpoint(struct audit_feed *f, int64_t secs)
{
	struct timeval tv = {.tv_sec = secs};

	evtimer_add(f->ckpt_ev, &tv);
}

static void
feed_checkpoint_cb(evutil_socket_t fd, short what, void *arg)
{
	struct audit_feed *f = arg;
	int64_t every = f->cfg->audit_checkpoint;

	(void)fd;
	(void)what;
	if (feed_checkpoint(f, "interval"))
		feed_arm_checkpoint(f, every);
	else
		feed_arm_checkpoint(
		    f, every < FEED_RETRY_S ? every : FEED_RETRY_S);
}

/* ---- events to syslog ---- */

static int
feed_send_cb(const struct store_audit *a, void *arg)
{
	struct audit_feed *f = arg;
	char line[AUDIT_LINE_MAX];

	audit_event_line(a, line, sizeof(line));
	syslog_out_send(LOG_AUTHPRIV,
	    strcmp(a->outcome, "ok") == 0 ? LOG_INFO : LOG_NOTICE, line);
	f->last_sent = a->id;
	return 0;
}

/* Starts following from the newest event: what was written before is in
 * the store (and `pimctl audit export`), not replayed. */
static bool
feed_follow(struct audit_feed *f)
{
	if (store_audit_max_id(f->st, &f->last_sent) != PIM_OK)
		return false;
	f->following = true;
	log_info("audit events to syslog after_id=%lld facility=authpriv",
	    (long long)f->last_sent);
	return true;
}

/* Sends one batch; returns how many events it held, -1 on error. */
static int
feed_send_batch(struct audit_feed *f)
{
	int64_t before = f->last_sent;
	int r;

	r = store_audit_since_id(
	    f->st, f->last_sent, FEED_BATCH, feed_send_cb, f);
	if (r != PIM_OK) {
		if (!f->warned)
			log_warn("cannot read new audit events after=%lld: %s",
			    (long long)f->last_sent, store_errmsg(f->st));
		f->warned = true;
		return -1;
	}
	f->warned = false;
	return f->last_sent > before ? 1 : 0;
}

static void
feed_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct audit_feed *f = arg;

	(void)fd;
	(void)what;
	if (!f->cfg->syslog_audit) {
		f->following = false; /* turned off by a reload */
		return;
	}
	if (!f->following) {
		feed_follow(f);
		return;
	}
	feed_send_batch(f);
}

/* ---- start and stop ---- */

/* The signing key, made first if the state has none (a state from
 * before checkpoints): then, and only then, the daemon may take a first
 * checkpoint itself. */
static int
feed_load_key(struct audit_feed *f)
{
	const char *path = f->cfg->audit_key;
	char err[512];
	int r;

	r = audit_key_load(path, &f->key, err, sizeof(err));
	if (r == PIM_ENOTFOUND) {
		r = audit_key_create(path, err, sizeof(err));
		if (r == PIM_OK) {
			log_info("audit signing key created path=%s", path);
			f->key_created = true;
		}
		if (r == PIM_OK || r == PIM_EEXIST)
			r = audit_key_load(path, &f->key, err, sizeof(err));
	}
	if (r != PIM_OK) {
		log_error("audit signing key: %s", err);
		return r;
	}
	log_info("audit signing key loaded key=%s", audit_key_id(f->key));
	return PIM_OK;
}

static int
feed_arm(struct audit_feed *f)
{
	struct timeval tv = {
	    .tv_sec = f->cfg->poll_ms / 1000,
	    .tv_usec = (f->cfg->poll_ms % 1000) * 1000,
	};

	f->ckpt_ev = evtimer_new(f->base, feed_checkpoint_cb, f);
	f->poll_ev = event_new(f->base, -1, EV_PERSIST, feed_poll_cb, f);
	if (f->ckpt_ev == NULL || f->poll_ev == NULL ||
	    event_add(f->poll_ev, &tv) != 0)
		return PIM_ENOMEM;
	return PIM_OK;
}

static void
feed_free(struct audit_feed *f)
{
	if (f->ckpt_ev != NULL)
		event_free(f->ckpt_ev);
	if (f->poll_ev != NULL)
		event_free(f->poll_ev);
	audit_key_free(f->key);
	free(f);
}

struct audit_feed *
audit_feed_start(
    struct event_base *base, struct store *st, const struct config *cfg)
{
	struct audit_feed *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->base = base;
	f->st = st;
	f->cfg = cfg;
	if (feed_load_key(f) != PIM_OK || feed_arm(f) != PIM_OK) {
		feed_free(f);
		return NULL;
	}
	if (cfg->syslog_audit)
		feed_follow(f);
	if (feed_checkpoint(f, "start"))
		feed_arm_checkpoint(f, cfg->audit_checkpoint);
	else
		feed_arm_checkpoint(f, FEED_RETRY_S);
	return f;
}

void
audit_feed_stop(struct audit_feed *f)
{
	if (f == NULL)
		return;
	/* The session ends stored at shutdown go out too. */
	for (int i = 0; f->following && f->cfg->syslog_audit &&
			i < FEED_FINAL_BATCHES && feed_send_batch(f) > 0;
	     i++)
		;
	feed_checkpoint(f, "stop");
	feed_free(f);
}
