/* Self-service over SSH: "ssh alice@bastion COMMAND" runs the person's
 * own command (status, activate, approve...) through the selfsvc module
 * and answers on the channel with its output and exit status; with no
 * command, the interactive prompt (prompt.c) takes over. */
#include <stdio.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/selfsvc.h"
#include "pimgate/session.h"

#include "ssh_int.h"

void
ssh_selfsvc_out(struct chpair *p, const char *text, size_t len)
{
	size_t i, start = 0;

	/* On a terminal "\n" becomes "\r\n". */
	for (i = 0; i < len; i++) {
		if (text[i] != '\n' || !p->pty)
			continue;
		evbuffer_add(p->u2c, text + start, i - start);
		evbuffer_add(p->u2c, "\r\n", 2);
		start = i + 1;
	}
	evbuffer_add(p->u2c, text + start, len - start);
}

int
ssh_selfsvc_run(struct chpair *p, int argc, char **argv)
{
	struct conn *c = p->conn;
	struct selfsvc_ctx ctx = {
	    .st = session_mgr_store(c->front->mgr),
	    .vault = c->front->vault,
	    .user = c->user,
	    .peer = c->peer,
	    .now = clock_now(),
	    .interactive = p->pty,
	};
	struct selfsvc_out out = {0};
	char host[256], esc[80];
	int port, rc;

	/* The login lines that `targets` shows use our own port. */
	if (config_split_hostport(
		c->front->cfg->ssh_listen, host, sizeof(host), &port) == PIM_OK)
		ctx.login_port = port;
	rc = selfsvc_run(&ctx, argc, argv, &out);
	/* An extend, deactivate or approval may move live deadlines. */
	session_mgr_changed(c->front->mgr);
	log_info("self-service user=%s peer=%s command=%s status=%d", c->user,
	    c->peer, log_str(argv[0], esc, sizeof(esc)), rc);
	if (out.buf != NULL)
		ssh_selfsvc_out(p, out.buf, out.len);
	selfsvc_out_free(&out);
	return rc;
}

static bool
ssh_selfsvc_needs_code(struct chpair *p, int argc, char **argv)
{
	struct selfsvc_ctx ctx = {
	    .st = session_mgr_store(p->conn->front->mgr),
	    .vault = p->conn->front->vault,
	    .user = p->conn->user,
	    .now = clock_now(),
	    .interactive = true,
	};

	return selfsvc_needs_otp(&ctx, argc, argv);
}

void
ssh_selfsvc_channel(struct chpair *p)
{
	static const char usage[] =
	    "pimgate: unbalanced quotes or too many words\n";
	char **argv = NULL;
	int argc = 0, rc = SELFSVC_USAGE;

	if (p->req == REQ_SHELL) {
		p->state = CH_PROMPT;
		return;
	}
	if (p->req == REQ_EXEC &&
	    selfsvc_split(p->command, &argv, &argc) == 0 && argc > 0) {
		if (p->pty && ssh_selfsvc_needs_code(p, argc, argv) &&
		    ssh_prompt_for_code(p, argv, argc))
			return;
		rc = ssh_selfsvc_run(p, argc, argv);
	} else
		ssh_selfsvc_out(p, usage, sizeof(usage) - 1);
	selfsvc_argv_free(argv, argc);
	p->exit_status = rc;
	p->exit_status_set = true;
	p->state = CH_LOCAL;
}
