/* The PostgreSQL front end: a TLS listener that speaks the opening of the
 * PostgreSQL wire protocol, authenticates people by client certificates
 * issued by the bastion's CA (or, where the config allows, by their
 * bastion password inside TLS), admits them through the session module,
 * logs in to the target database with the stored credential and relays
 * the protocol both ways with flow control, logging the queries. */
#ifndef PIMGATE_PG_FRONT_H
#define PIMGATE_PG_FRONT_H

#include <stddef.h>

struct event_base;
struct session_mgr;
struct config;
struct vault;
struct pg_front;

/* Creates the front end: loads the listener's TLS certificate and key
 * and the CA that client certificates must chain to, all named in CFG.
 * Arguments are borrowed and must outlive it. NULL with a reason in ERR. */
struct pg_front *pg_front_new(struct event_base *base, struct session_mgr *mgr,
    const struct config *cfg, struct vault *vault, char *err, size_t errlen);
/* Listens on HOSTPORT. PIM_OK or PIM_EIO with ERR. */
int pg_front_listen(
    struct pg_front *f, const char *hostport, char *err, size_t errlen);
/* Stops accepting; live connections go on until their sessions end. */
void pg_front_stop(struct pg_front *f);
size_t pg_front_conns(const struct pg_front *f);
/* Drops every connection at once. */
void pg_front_free(struct pg_front *f);

#endif
