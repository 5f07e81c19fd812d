/* Self-service over SSH: "ssh alice@bastion COMMAND" runs the person's
 * own command (status, activate, approve...) through the selfsvc module
 * and answers on the channel with its output and exit status. */
#include <stdio.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/selfsvc.h"
#include "pimgate/session.h"

#include "ssh_int.h"

/* Queues TEXT for the client; on a terminal "\n" becomes "\r\n". */
static void
selfsvc_queue(struct chpair *p, const char *text, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (text[i] != '\n' || !p->pty)
			continue;
		evbuffer_add(p->u2c, text + start, i - start);
		evbuffer_add(p->u2c, "\r\n", 2);
		start = i + 1;
	}
	evbuffer_add(p->u2c, text + start, len - start);
}

static int
selfsvc_exec(struct chpair *p, struct selfsvc_out *out)
{
	struct conn *c = p->conn;
	struct selfsvc_ctx ctx = {
	    .st = session_mgr_store(c->front->mgr),
	    .vault = c->front->vault,
	    .user = c->user,
	    .peer = c->peer,
	    .now = clock_now(),
	    .interactive = false,
	};
	char **argv = NULL, esc[80], host[256];
	int argc = 0, rc, port = 0;

	/* The login line that `targets` shows uses our own port. */
	if (config_split_hostport(
		c->front->cfg->ssh_listen, host, sizeof(host), &port) == PIM_OK)
		ctx.login_port = port;

	rc = selfsvc_split(p->command, &argv, &argc);
	if (rc != 0 || argc == 0) {
		selfsvc_argv_free(argv, argc);
		return -1;
	}
	rc = selfsvc_run(&ctx, argc, argv, out);
	log_info("self-service user=%s peer=%s command=%s status=%d", c->user,
	    c->peer, log_str(argv[0], esc, sizeof(esc)), rc);
	selfsvc_argv_free(argv, argc);
	return rc;
}

void
ssh_selfsvc_channel(struct chpair *p)
{
	static const char usage[] =
	    "pimgate: give a command, e.g. 'ssh USER@bastion status'; "
	    "'help' lists them\n";
	struct selfsvc_out out = {0};
	int rc = SELFSVC_USAGE;

	if (p->req == REQ_EXEC)
		rc = selfsvc_exec(p, &out);
	if (rc < 0 || p->req != REQ_EXEC) {
		/* No interactive prompt yet: a command must be given. */
		selfsvc_queue(p, usage, sizeof(usage) - 1);
		rc = SELFSVC_USAGE;
	} else if (out.buf != NULL) {
		selfsvc_queue(p, out.buf, out.len);
	}
	selfsvc_out_free(&out);
	p->exit_status = rc;
	p->exit_status_set = true;
	p->state = CH_LOCAL;
}
