/* The SSH front end: accepts connections with libevent, runs each as a
 * non-blocking libssh server session, authenticates "USER:TARGET" logins,
 * connects upstream with the target's sealed credential and relays
 * channels with flow control both ways. */
#ifndef PIMGATE_SSH_FRONT_H
#define PIMGATE_SSH_FRONT_H

#include <stddef.h>

struct event_base;
struct session_mgr;
struct config;
struct vault;
struct ssh_front;

/* Creates the front end and loads the host key and the CA (which signs
 * the certificates of self-service db-cert) named in CFG. All
 * arguments are borrowed and must outlive it. Returns NULL with a reason
 * in ERR. */
struct ssh_front *ssh_front_new(struct event_base *base,
    struct session_mgr *mgr, const struct config *cfg, struct vault *vault,
    char *err, size_t errlen);
/* Listens on HOSTPORT ("127.0.0.1:2222"). PIM_OK or PIM_EIO with ERR. */
int ssh_front_listen(
    struct ssh_front *f, const char *hostport, char *err, size_t errlen);
/* Stops accepting; live connections go on until their sessions end. */
void ssh_front_stop(struct ssh_front *f);
/* Live connections. */
size_t ssh_front_conns(const struct ssh_front *f);
/* Drops every connection at once (after the shutdown grace). */
void ssh_front_free(struct ssh_front *f);

#endif
