/* Network plumbing shared by the front ends (ssh, pg): listening on a
 * configured "HOST:PORT", naming a peer, and the resolver for targets
 * named by host name. */
#ifndef PIMGATE_NET_H
#define PIMGATE_NET_H

#include <stddef.h>

#include <event2/listener.h>

struct event_base;
struct evdns_base;
struct sockaddr;

/* "ADDR:PORT" of SA into BUF ("?:0" for a family other than IP). */
void net_peer(const struct sockaddr *sa, char *buf, size_t size);
struct net_listener;
/* Listens on HOSTPORT (a numeric address and a port) and calls CB with
 * ARG for each connection; WHAT names the config section for errors
 * ("ssh", "postgres"; a string that outlives the listener). Sets *PORT
 * if not NULL. When accepting fails for want of file descriptors, the
 * listener pauses for a moment instead of spinning, and says so in the
 * log at most once a minute. NULL with a reason in ERR. */
struct net_listener *net_listen(struct event_base *base, const char *what,
    const char *hostport, evconnlistener_cb cb, void *arg, int *port, char *err,
    size_t errlen);
void net_listener_free(struct net_listener *nl);
/* A resolver that never blocks the loop: the hosts file, then the name
 * servers of RESOLV_CONF. NULL (logged) if none could be made. */
struct evdns_base *net_resolver(
    struct event_base *base, const char *resolv_conf);

#endif
