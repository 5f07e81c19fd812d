/* The interactive self-service prompt: "ssh alice@bastion" with no
 * command. A small line editor (printable text, backspace, Ctrl-C,
 * Ctrl-D, Enter; escape sequences ignored) in front of the selfsvc
 * commands; an `activate` that needs a one-time code asks for it without
 * echo. Without a pty the same loop reads lines without echo or prompt,
 * so commands can be piped in. */
#include <stdlib.h>
#include <string.h>

#include "pimgate/selfsvc.h"

#include "ssh_int.h"

#define PROMPT_LINE_MAX 1024
#define PROMPT_TEXT "pimgate> "
#define PROMPT_OTP "One-time code from your authenticator: "

enum prompt_esc {
	ESC_NONE = 0,
	ESC_START, /* ESC seen */
	ESC_CSI, /* ESC [ seen: skip to the final byte */
};

struct ssh_prompt {
	char line[PROMPT_LINE_MAX];
	size_t len;
	bool last_cr;
	enum prompt_esc esc;
	bool otp; /* the line is a one-time code for SAVED */
	bool one_shot; /* "ssh -t alice@bastion activate ...": then end */
	bool too_long; /* keys were dropped: the line is refused */
	char **saved; /* the command waiting for its code */
	int nsaved;
};

void
ssh_prompt_free(struct ssh_prompt *pr)
{
	if (pr == NULL)
		return;
	selfsvc_argv_free(pr->saved, pr->nsaved);
	explicit_bzero(pr, sizeof(*pr));
	free(pr);
}

static void
prompt_say(struct chpair *p, const char *text)
{
	ssh_selfsvc_out(p, text, strlen(text));
}

static void
prompt_show(struct chpair *p)
{
	if (p->pty)
		prompt_say(p, p->prompt->otp ? PROMPT_OTP : PROMPT_TEXT);
}

static void
prompt_finish(struct chpair *p, int status)
{
	p->exit_status = status;
	p->exit_status_set = true;
	p->state = CH_LOCAL;
}

/* The code was typed: run the saved command with --otp CODE; returns
 * its exit status. */
static int
prompt_run_with_code(struct chpair *p)
{
	struct ssh_prompt *pr = p->prompt;
	char **argv = calloc((size_t)pr->nsaved + 3, sizeof(*argv));
	int i, rc;

	if (argv == NULL) {
		prompt_say(p, "pimgate: out of memory\n");
		return 1;
	}
	for (i = 0; i < pr->nsaved; i++)
		argv[i] = pr->saved[i];
	argv[i++] = "--otp";
	argv[i++] = pr->line;
	rc = ssh_selfsvc_run(p, i, argv);
	free(argv);
	selfsvc_argv_free(pr->saved, pr->nsaved);
	pr->saved = NULL;
	pr->nsaved = 0;
	pr->otp = false;
	return rc;
}

static bool
prompt_is_exit(const char *w)
{
	return strcmp(w, "exit") == 0 || strcmp(w, "quit") == 0 ||
	       strcmp(w, "logout") == 0;
}

/* A whole line was typed. */
static void
prompt_line(struct chpair *p)
{
	struct ssh_prompt *pr = p->prompt;
	char **argv = NULL;
	int argc = 0;

	pr->line[pr->len] = '\0';
	if (pr->too_long) {
		pr->too_long = false;
		prompt_say(p, "pimgate: the line is too long (at most 1023 "
			      "characters)\n");
		goto out;
	}
	if (pr->otp && pr->one_shot) {
		prompt_finish(p, prompt_run_with_code(p));
		explicit_bzero(pr->line, sizeof(pr->line));
		return;
	}
	if (pr->otp) {
		prompt_run_with_code(p);
		goto out;
	}
	if (selfsvc_split(pr->line, &argv, &argc) != 0) {
		prompt_say(p, "pimgate: unbalanced quotes or too many words\n");
		goto out;
	}
	if (argc > 0 && prompt_is_exit(argv[0])) {
		selfsvc_argv_free(argv, argc);
		prompt_finish(p, 0);
		return;
	}
	if (argc > 0 && p->pty && ssh_selfsvc_needs_code(p, argc, argv)) {
		pr->saved = argv;
		pr->nsaved = argc;
		pr->otp = true;
		argv = NULL;
	} else if (argc > 0) {
		ssh_selfsvc_run(p, argc, argv);
	}
	selfsvc_argv_free(argv, argc);
out:
	explicit_bzero(pr->line, sizeof(pr->line));
	pr->len = 0;
	prompt_show(p);
}

static void
prompt_erase(struct chpair *p)
{
	struct ssh_prompt *pr = p->prompt;

	if (pr->len == 0)
		return;
	/* Back over one whole UTF-8 character. */
	do
		pr->len--;
	while (
	    pr->len > 0 && ((unsigned char)pr->line[pr->len] & 0xc0) == 0x80);
	if (p->pty && !pr->otp)
		prompt_say(p, "\b \b");
}

static void
prompt_cancel(struct chpair *p)
{
	struct ssh_prompt *pr = p->prompt;

	if (p->pty)
		prompt_say(p, "^C\n");
	if (pr->one_shot) {
		prompt_finish(p, 130);
		return;
	}
	selfsvc_argv_free(pr->saved, pr->nsaved);
	pr->saved = NULL;
	pr->nsaved = 0;
	pr->otp = false;
	pr->too_long = false;
	pr->len = 0;
	prompt_show(p);
}

/* Escape sequences (arrow keys...) are read and ignored. */
static bool
prompt_escape(struct ssh_prompt *pr, unsigned char k)
{
	if (pr->esc == ESC_NONE && k == 0x1b) {
		pr->esc = ESC_START;
		return true;
	}
	if (pr->esc == ESC_START) {
		pr->esc = k == '[' ? ESC_CSI : ESC_NONE;
		return true;
	}
	if (pr->esc == ESC_CSI) {
		if (k >= 0x40 && k <= 0x7e)
			pr->esc = ESC_NONE;
		return true;
	}
	return false;
}

static void
prompt_key(struct chpair *p, unsigned char k)
{
	struct ssh_prompt *pr = p->prompt;
	bool cr = pr->last_cr;

	pr->last_cr = k == '\r';
	if (prompt_escape(pr, k))
		return;
	if (k == '\n' && cr)
		return; /* the LF of a CR LF */
	if (k == '\r' || k == '\n') {
		if (p->pty)
			prompt_say(p, "\n");
		prompt_line(p);
	} else if (k == 0x7f || k == 0x08) {
		prompt_erase(p);
	} else if (k == 0x03) {
		prompt_cancel(p);
	} else if (k == 0x04 && pr->len == 0) {
		prompt_finish(p, 0);
	} else if (k >= 0x20 && pr->len >= PROMPT_LINE_MAX - 1) {
		pr->too_long = true;
	} else if (k >= 0x20) {
		pr->line[pr->len++] = (char)k;
		if (p->pty && !pr->otp)
			evbuffer_add(p->u2c, &k, 1);
	}
}

static bool
prompt_start(struct chpair *p)
{
	char hello[160];

	p->prompt = calloc(1, sizeof(*p->prompt));
	if (p->prompt == NULL)
		return false;
	if (p->pty) {
		snprintf(hello, sizeof(hello),
		    "pimgate self-service for %s. Type 'help' for the "
		    "commands, 'exit' to leave.\n",
		    p->conn->user);
		prompt_say(p, hello);
		prompt_show(p);
	}
	return true;
}

bool
ssh_prompt_for_code(struct chpair *p, char **argv, int argc)
{
	p->prompt = calloc(1, sizeof(*p->prompt));
	if (p->prompt == NULL)
		return false;
	p->prompt->saved = argv;
	p->prompt->nsaved = argc;
	p->prompt->otp = true;
	p->prompt->one_shot = true;
	prompt_show(p);
	p->state = CH_PROMPT;
	return true;
}

void
ssh_prompt_step(struct chpair *p)
{
	unsigned char keys[256];
	int n, i;

	if (p->prompt == NULL && !prompt_start(p)) {
		prompt_finish(p, 1);
		return;
	}
	while (p->state == CH_PROMPT &&
	       (n = evbuffer_remove(p->c2u, keys, sizeof(keys))) > 0) {
		for (i = 0; i < n && p->state == CH_PROMPT; i++)
			prompt_key(p, keys[i]);
	}
	if (p->state == CH_PROMPT && p->c_eof)
		prompt_finish(p, p->prompt->one_shot ? 1 : 0);
	if (!chpair_flush_local(p))
		p->conn->client_gone = true;
}
