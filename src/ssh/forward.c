/* Port forwarding: "ssh -L" opens direct-tcpip channels, relayed to the
 * same destination as seen from the target, when the role allows
 * port-forward channels. Remote forwarding ("ssh -R") is refused. Both
 * decisions are audited. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/log.h"
#include "pimgate/session.h"
#include "pimgate/str.h"

#include "ssh_int.h"

/* Audits and logs a refused forward; returns 1 (libssh replies "no"). */
static int
fwd_refuse(struct conn *c, const char *why)
{
	log_info("forward refused user=%s target=%s peer=%s reason=\"%s\"",
	    c->user, c->target, c->peer, why);
	/* A request may come in the same batch as the login, before the
	 * session is opened. */
	if (c->sess != NULL)
		session_audit(c->sess, AUDIT_CHANNEL, "refused", why);
	else
		session_mgr_audit(c->front->mgr, AUDIT_CHANNEL, c->user,
		    c->target, c->peer, "refused", why);
	return 1;
}

static bool
fwd_valid_host(const char *host)
{
	size_t n = host != NULL ? strlen(host) : 0;

	return n > 0 && n < 256 &&
	       strspn(host,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789.-:") == n;
}

static int
fwd_open(struct conn *c, ssh_message msg)
{
	const char *host = ssh_message_channel_request_open_destination(msg);
	int port = ssh_message_channel_request_open_destination_port(msg);
	const char *orig = ssh_message_channel_request_open_originator(msg);
	char detail[STORE_TEXT_MAX];
	struct chpair *p;

	/* "ssh -W" asks at once, maybe before the pump has admitted. */
	if (c->authed && !c->admitted_checked) {
		if (c->state == CONN_KEX)
			c->state = CONN_OPEN;
		conn_admit(c);
	}
	if (!c->authed || c->sess == NULL || c->state != CONN_OPEN)
		return fwd_refuse(
		    c, c->refusal[0] ? c->refusal : "port forwarding refused");
	if (!fwd_valid_host(host) || port <= 0 || port > 65535)
		return fwd_refuse(c, "port forwarding to a malformed address");
	snprintf(detail, sizeof(detail), "port-forward: %s:%d", host, port);
	if (!session_channel_allowed(c->sess, CHANNEL_PORT_FORWARD)) {
		snprintf(detail, sizeof(detail),
		    "role %s does not allow port forwarding (to %s:%d)",
		    session_admission(c->sess)->role, host, port);
		return fwd_refuse(c, detail);
	}
	if (c->nchans >= SSH_MAX_CHANNELS)
		return fwd_refuse(c, "too many channels on one connection");
	if (!session_recording_space(c->front->mgr))
		return fwd_refuse(c, "the recordings disk is below its "
				     "free-space floor");
	p = chpair_open(c);
	if (p == NULL)
		return 1;
	p->req = REQ_FORWARD;
	p->command = strdup(host);
	p->fwd_port = port;
	p->fwd_orig = strdup(fwd_valid_host(orig) ? orig : "127.0.0.1");
	p->fwd_orig_port =
	    ssh_message_channel_request_open_originator_port(msg);
	if (p->command == NULL || p->fwd_orig == NULL ||
	    ssh_message_channel_request_open_reply_accept_channel(
		msg, p->cch) != SSH_OK) {
		p->state = CH_DONE;
		return 1;
	}
	session_audit(c->sess, AUDIT_CHANNEL, "ok", detail);
	p->state = CH_WAIT_UPSTREAM;
	return 0; /* answered */
}

/* Messages that no server callback took: forwarding requests. */
static int
fwd_message_cb(ssh_session s, ssh_message msg, void *arg)
{
	struct conn *c = arg;
	int type = ssh_message_type(msg);
	int sub = ssh_message_subtype(msg);

	if (auth_kbdint_message(c, msg))
		return 0; /* answered */
	if (type == SSH_REQUEST_CHANNEL_OPEN && sub == SSH_CHANNEL_DIRECT_TCPIP)
		return fwd_open(c, msg);
	if (type == SSH_REQUEST_GLOBAL &&
	    sub == SSH_GLOBAL_REQUEST_TCPIP_FORWARD && c->authed)
		return fwd_refuse(
		    c, "remote port forwarding (ssh -R) is not supported");
	return 1;
}

void
forward_install(struct conn *c)
{
	ssh_set_message_callback(c->s, fwd_message_cb, c);
}
