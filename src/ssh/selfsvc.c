/* Self-service over SSH: "ssh alice@bastion COMMAND" runs the person's
 * own command (status, activate, approve...) through the selfsvc module
 * and answers on the channel with its output and exit status; with no
 * command, the interactive prompt (prompt.c) takes over. */
#include <stdio.h>
#include <string.h>

#include "pimgate/clock.h"
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

/* Who runs self-service commands on P, and where. */
static void
ssh_selfsvc_ctx(const struct chpair *p, struct selfsvc_ctx *ctx)
{
	const struct conn *c = p->conn;

	memset(ctx, 0, sizeof(*ctx));
	ctx->st = session_mgr_store(c->front->mgr);
	ctx->vault = c->front->vault;
	ctx->user = c->user;
	ctx->peer = c->peer;
	ctx->now = clock_now();
	ctx->interactive = p->pty;
	/* The login lines that `targets` shows use our own port. */
	ctx->login_port = c->front->login_port;
}

int
ssh_selfsvc_run(struct chpair *p, int argc, char **argv)
{
	struct conn *c = p->conn;
	struct selfsvc_ctx ctx;
	struct selfsvc_out out = {0};
	char esc[80];
	int rc;

	ssh_selfsvc_ctx(p, &ctx);
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

bool
ssh_selfsvc_needs_code(struct chpair *p, int argc, char **argv)
{
	struct selfsvc_ctx ctx;

	ssh_selfsvc_ctx(p, &ctx);
	ctx.interactive = true;
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
