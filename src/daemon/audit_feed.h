/* Internal to src/daemon/: the daemon's side of the audit trail. It
 * takes a signed checkpoint of the chain's head at start, every [audit]
 * checkpoint_interval while the head moves and at shutdown, and, with
 * [syslog] audit, sends each new audit event (whoever wrote it: the
 * daemon, pimctl, self-service) to syslog with facility authpriv. The
 * audit module does the work; this file only keeps the timers. */
#ifndef PIMGATE_AUDIT_FEED_H
#define PIMGATE_AUDIT_FEED_H

struct audit_feed;
struct config;
struct event_base;
struct store;

/* Loads the signing key ([audit] signing_key, made first if the state
 * has none), takes the start checkpoint and arms the timers on BASE. ST
 * and CFG must outlive the feed; CFG's [syslog] audit is read at each
 * poll, so a reload may turn it on or off. NULL (logged) if the key
 * cannot be loaded or made, or out of memory. */
struct audit_feed *audit_feed_start(
    struct event_base *base, struct store *st, const struct config *cfg);
/* Sends the events still unsent, takes the shutdown checkpoint if the
 * head moved, and frees F. Call it after the last audit event of the
 * run is stored, before the store is closed. NULL is allowed. */
void audit_feed_stop(struct audit_feed *f);

#endif
