/* Self-service over SSH: "ssh alice@bastion COMMAND" runs the person's
 * own command (status, activate, approve...) through the selfsvc module
 * and answers on the channel with its output and exit status; with no
 * command, the interactive prompt (prompt.c) takes over. A command that
 * reads its standard input (db-cert, a certificate request) runs once
 * the client has sent EOF, or at once when more than a request may hold
 * has come (state CH_INPUT): the loop never waits for it. */
#include <stdio.h>
#include <string.h>

#include "pimgate/ca.h"
#include "pimgate/clock.h"
#include "pimgate/log.h"
#include "pimgate/selfsvc.h"
#include "pimgate/session.h"

#include "ssh_int.h"

/* Queues TEXT for P's client on BUF (stdout or stderr). */
static void
ssh_selfsvc_queue(
    struct chpair *p, struct evbuffer *buf, const char *text, size_t len)
{
	size_t i, start = 0;

	/* On a terminal "\n" becomes "\r\n". */
	for (i = 0; i < len; i++) {
		if (text[i] != '\n' || !p->pty)
			continue;
		evbuffer_add(buf, text + start, i - start);
		evbuffer_add(buf, "\r\n", 2);
		start = i + 1;
	}
	evbuffer_add(buf, text + start, len - start);
}

void
ssh_selfsvc_out(struct chpair *p, const char *text, size_t len)
{
	ssh_selfsvc_queue(p, p->u2c, text, len);
}

/* Who runs self-service commands on P, and where. */
static void
ssh_selfsvc_ctx(const struct chpair *p, struct selfsvc_ctx *ctx)
{
	const struct conn *c = p->conn;

	memset(ctx, 0, sizeof(*ctx));
	ctx->st = session_mgr_store(c->front->mgr);
	ctx->vault = c->front->vault;
	ctx->ca = c->front->ca;
	ctx->user = c->user;
	ctx->peer = c->peer;
	ctx->now = clock_now();
	ctx->interactive = p->pty;
	/* The login lines that `targets` shows use our own port. */
	ctx->login_port = c->front->login_port;
	ctx->pg_port = c->front->pg_port;
}

/* Runs ARGV for P's user with standard input INPUT (LEN bytes; NULL:
 * none) and queues the answer. A command that reads its input writes
 * data on stdout: when it fails, what it says goes to stderr instead. */
static int
ssh_selfsvc_exec(
    struct chpair *p, int argc, char **argv, const char *input, size_t len)
{
	struct conn *c = p->conn;
	struct selfsvc_out out = {0}, notes = {0};
	struct selfsvc_ctx ctx;
	char esc[80];
	int rc;

	ssh_selfsvc_ctx(p, &ctx);
	ctx.input = input;
	ctx.input_len = len;
	ctx.notes = &notes;
	rc = selfsvc_run(&ctx, argc, argv, &out);
	/* An extend, deactivate or approval may move live deadlines. */
	session_mgr_changed(c->front->mgr);
	log_info("self-service user=%s peer=%s command=%s status=%d", c->user,
	    c->peer, log_str(argv[0], esc, sizeof(esc)), rc);
	if (out.buf != NULL)
		ssh_selfsvc_queue(p,
		    input != NULL && rc != SELFSVC_OK ? p->u2c_err : p->u2c,
		    out.buf, out.len);
	if (notes.buf != NULL)
		ssh_selfsvc_queue(p, p->u2c_err, notes.buf, notes.len);
	selfsvc_out_free(&out);
	selfsvc_out_free(&notes);
	return rc;
}

int
ssh_selfsvc_run(struct chpair *p, int argc, char **argv)
{
	return ssh_selfsvc_exec(p, argc, argv, NULL, 0);
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
		if (selfsvc_reads_input(argc, argv)) {
			/* The command runs once its input has come. */
			selfsvc_argv_free(argv, argc);
			p->state = CH_INPUT;
			return;
		}
		rc = ssh_selfsvc_run(p, argc, argv);
	} else
		ssh_selfsvc_out(p, usage, sizeof(usage) - 1);
	selfsvc_argv_free(argv, argc);
	p->exit_status = rc;
	p->exit_status_set = true;
	p->state = CH_LOCAL;
}

void
ssh_selfsvc_input_step(struct chpair *p)
{
	size_t len = evbuffer_get_length(p->c2u);
	const char *input;
	char **argv = NULL;
	int argc = 0, rc = SELFSVC_USAGE;

	/* Input longer than a request may be is refused at once (the
	 * command says so and audits it); the rest is never read. */
	if (!p->c_eof && len <= CA_CSR_MAX)
		return;
	input = (const char *)evbuffer_pullup(p->c2u, -1);
	if (input == NULL) {
		input = ""; /* nothing came (or no memory): an empty request */
		len = 0;
	}
	if (selfsvc_split(p->command, &argv, &argc) == 0 && argc > 0)
		rc = ssh_selfsvc_exec(p, argc, argv, input, len);
	selfsvc_argv_free(argv, argc);
	evbuffer_drain(p->c2u, len);
	p->exit_status = rc;
	p->exit_status_set = true;
	p->state = CH_LOCAL;
}
