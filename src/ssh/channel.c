/* Channel pairs: one client channel relayed to one upstream channel.
 *
 * Flow control: each direction has a bounded buffer of our own. A data
 * callback takes only what fits; what it leaves stays inside libssh
 * (which then stops widening that peer's window) and is read out once our
 * buffer is empty again. Writes never exceed the destination's window, so
 * a slow side slows the other and memory stays bounded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimgate/clock.h"
#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/record.h"
#include "pimgate/session.h"
#include "pimgate/str.h"

#include "ssh_int.h"

#define CH_CHUNK 32768
#define CH_NOTICE_WAIT_US 500000
/* A live recording reaches the disk at least this often. */
#define CH_CAST_FLUSH_US 1000000
/* Recording text not yet on disk beyond which the target is not read
 * (its window closes): a slow disk slows its own session only. */
#define CH_CAST_BACKLOG_MAX (4u * 1024 * 1024)
#define CH_CAST_RECHECK_US 20000

/* ---- callbacks: move data, set flags, nothing else ---- */

static double
ch_cast_time(const struct chpair *p)
{
	return (double)(clock_mono_us() - p->cast_start_us) / 1e6;
}

static void
ch_record_output(struct chpair *p, const void *data, size_t len)
{
	if (p->cast == NULL || p->cast_failed || len == 0)
		return;
	if (cast_output(p->cast, ch_cast_time(p), data, len) != PIM_OK)
		p->cast_failed = true;
	p->cast_dirty = true;
}

static void
ch_traffic(struct chpair *p, size_t in, size_t out)
{
	p->uncounted_in += in;
	p->uncounted_out += out;
	if (p->conn->sess == NULL ||
	    (p->uncounted_in == 0 && p->uncounted_out == 0))
		return;
	session_traffic(p->conn->sess, p->uncounted_in, p->uncounted_out);
	p->uncounted_in = p->uncounted_out = 0;
}

static size_t
ch_take(struct evbuffer *buf, const void *data, size_t len)
{
	size_t used = evbuffer_get_length(buf);
	size_t room = used < SSH_RELAY_BUF ? SSH_RELAY_BUF - used : 0;
	size_t take = len < room ? len : room;

	if (take > 0 && evbuffer_add(buf, data, take) != 0)
		return 0;
	return take;
}

static int
ch_client_data_cb(ssh_session s, ssh_channel ch, void *data, uint32_t len,
    int is_stderr, void *arg)
{
	struct chpair *p = arg;
	size_t take;

	if (p->state > CH_RUNNING)
		return (int)len; /* going away: discard */
	take = ch_take(p->c2u, data, len);
	if (take > 0 && p->cast != NULL && p->conn->front->cfg->record_input) {
		if (cast_input(p->cast, ch_cast_time(p), data, take) != PIM_OK)
			p->cast_failed = true;
		p->cast_dirty = true;
	}
	ch_traffic(p, take, 0);
	return (int)take;
}

static bool
ch_recording_behind(const struct chpair *p)
{
	return p->cast != NULL && cast_backlog(p->cast) > CH_CAST_BACKLOG_MAX;
}

static int
ch_upstream_data_cb(ssh_session s, ssh_channel ch, void *data, uint32_t len,
    int is_stderr, void *arg)
{
	struct chpair *p = arg;
	size_t take;

	if (p->state > CH_RUNNING)
		return (int)len;
	if (ch_recording_behind(p))
		return 0;
	take = ch_take(is_stderr ? p->u2c_err : p->u2c, data, len);
	ch_record_output(p, data, take);
	ch_traffic(p, 0, take);
	return (int)take;
}

static void
ch_client_eof_cb(ssh_session s, ssh_channel ch, void *arg)
{
	((struct chpair *)arg)->c_eof = true;
}

static void
ch_client_close_cb(ssh_session s, ssh_channel ch, void *arg)
{
	((struct chpair *)arg)->c_closed = true;
}

static void
ch_upstream_eof_cb(ssh_session s, ssh_channel ch, void *arg)
{
	((struct chpair *)arg)->u_eof = true;
}

static void
ch_upstream_close_cb(ssh_session s, ssh_channel ch, void *arg)
{
	((struct chpair *)arg)->u_closed = true;
}

static void
ch_exit_status_cb(ssh_session s, ssh_channel ch, int status, void *arg)
{
	struct chpair *p = arg;

	p->exit_status_set = true;
	p->exit_status = status;
}

static void
ch_exit_signal_cb(ssh_session s, ssh_channel ch, const char *sig, int core,
    const char *errmsg, const char *lang, void *arg)
{
	struct chpair *p = arg;

	p->exit_signal_set = true;
	p->exit_core = core != 0;
	str_copy(p->exit_signal, sig, sizeof(p->exit_signal));
}

static int
ch_pty_cb(ssh_session s, ssh_channel ch, const char *term, int cols, int rows,
    int pxw, int pxh, void *arg)
{
	struct chpair *p = arg;

	if (p->req != REQ_NONE || p->pty)
		return -1;
	p->pty = true;
	str_copy(p->term, term, sizeof(p->term));
	p->cols = cols;
	p->rows = rows;
	p->pxw = pxw;
	p->pxh = pxh;
	return 0;
}

static int
ch_window_cb(ssh_session s, ssh_channel ch, int cols, int rows, int pxw,
    int pxh, void *arg)
{
	struct chpair *p = arg;

	p->cols = cols;
	p->rows = rows;
	p->pxw = pxw;
	p->pxh = pxh;
	p->resize_pending = true;
	return 0;
}

static bool
ch_env_allowed(const char *name)
{
	return strcmp(name, "TERM") == 0 || strcmp(name, "LANG") == 0 ||
	       strncmp(name, "LC_", 3) == 0;
}

static int
ch_env_cb(ssh_session s, ssh_channel ch, const char *name, const char *value,
    void *arg)
{
	struct chpair *p = arg;

	if (p->req != REQ_NONE || p->nenv >= SSH_MAX_ENV ||
	    !ch_env_allowed(name) || strlen(value) > 256)
		return -1;
	p->env_name[p->nenv] = strdup(name);
	p->env_value[p->nenv] = strdup(value);
	if (p->env_name[p->nenv] == NULL || p->env_value[p->nenv] == NULL)
		return -1;
	p->nenv++;
	return 0;
}

static int
ch_request(struct chpair *p, enum ch_req req, const char *command)
{
	if (p->req != REQ_NONE)
		return -1;
	if (command != NULL && (p->command = strdup(command)) == NULL)
		return -1;
	p->req = req;
	return 0;
}

static int
ch_shell_cb(ssh_session s, ssh_channel ch, void *arg)
{
	return ch_request(arg, REQ_SHELL, NULL);
}

static int
ch_exec_cb(ssh_session s, ssh_channel ch, const char *command, void *arg)
{
	return ch_request(arg, REQ_EXEC, command);
}

static int
ch_subsystem_cb(ssh_session s, ssh_channel ch, const char *name, void *arg)
{
	if (strcmp(name, "sftp") != 0)
		return -1;
	return ch_request(arg, REQ_SFTP, NULL);
}

/* Called from the server's channel-open callbacks: a new pair whose
 * client channel is ready to be accepted, or NULL. */
struct chpair *
chpair_open(struct conn *c)
{
	struct chpair *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->conn = c;
	p->no = ++c->next_no;
	p->state = CH_WAIT_REQUEST;
	p->cch = ssh_channel_new(c->s);
	p->c2u = evbuffer_new();
	p->u2c = evbuffer_new();
	p->u2c_err = evbuffer_new();
	TAILQ_INSERT_TAIL(&c->chans, p, entry);
	c->nchans++;
	if (p->cch == NULL || !p->c2u || !p->u2c || !p->u2c_err) {
		p->state = CH_DONE;
		return NULL;
	}
	p->ccb.userdata = p;
	p->ccb.channel_data_function = ch_client_data_cb;
	p->ccb.channel_eof_function = ch_client_eof_cb;
	p->ccb.channel_close_function = ch_client_close_cb;
	p->ccb.channel_pty_request_function = ch_pty_cb;
	p->ccb.channel_pty_window_change_function = ch_window_cb;
	p->ccb.channel_env_request_function = ch_env_cb;
	p->ccb.channel_shell_request_function = ch_shell_cb;
	p->ccb.channel_exec_request_function = ch_exec_cb;
	p->ccb.channel_subsystem_request_function = ch_subsystem_cb;
	ssh_callbacks_init(&p->ccb);
	ssh_set_channel_callbacks(p->cch, &p->ccb);
	return p;
}

/* ---- top level: the pair's state machine ---- */

static void
ch_fail(struct chpair *p, const char *message)
{
	str_copy(p->error, message, sizeof(p->error));
	p->fail_since_us = clock_mono_us();
	p->state = CH_FAILING;
}

static const char *
ch_kind_name(enum ch_req req)
{
	switch (req) {
	case REQ_SHELL:
		return "shell";
	case REQ_EXEC:
		return "exec";
	case REQ_SFTP:
		return "sftp";
	case REQ_FORWARD:
		return "port-forward";
	default:
		return "none";
	}
}

static unsigned
ch_kind_bit(enum ch_req req)
{
	switch (req) {
	case REQ_SHELL:
		return CHANNEL_SHELL;
	case REQ_EXEC:
		return CHANNEL_EXEC;
	case REQ_SFTP:
		return CHANNEL_SFTP;
	case REQ_FORWARD:
		return CHANNEL_PORT_FORWARD;
	default:
		return 0;
	}
}

static int
ch_start_recording(struct chpair *p)
{
	struct session *s = p->conn->sess;
	struct cast_header h = {0};
	char path[STORE_PATH_MAX];

	if (!session_recording_space(p->conn->front->mgr)) {
		log_error("recordings disk below its free-space floor dir=%s",
		    p->conn->front->cfg->recordings_dir);
		return PIM_EIO;
	}
	if (session_recording_path(s, "cast", path, sizeof(path)) != PIM_OK)
		return PIM_EINVAL;
	/* A pty without a terminal behind it (ssh -tt < file) has 0x0. */
	h.width = p->pty && p->cols > 0 ? p->cols : 80;
	h.height = p->pty && p->rows > 0 ? p->rows : 24;
	h.timestamp = clock_now();
	h.term = p->pty ? p->term : NULL;
	h.user = session_user(s);
	h.target = session_target(s);
	h.session_id = session_id(s);
	h.command = p->command;
	if (cast_open(path, &h, &p->cast) != PIM_OK) {
		log_error("cannot create recording path=%s session=%lld: %s",
		    path, (long long)session_id(s), strerror(errno));
		return PIM_EIO;
	}
	p->cast_start_us = clock_mono_us();
	return session_add_recording(s, path);
}

static void
ch_audit_open(struct chpair *p)
{
	char detail[STORE_TEXT_MAX], cmd[STORE_TEXT_MAX - 16];

	str_summarize(cmd, sizeof(cmd), p->command ? p->command : "");
	snprintf(detail, sizeof(detail), "%s%s%s", ch_kind_name(p->req),
	    p->command ? ": " : "", cmd);
	session_audit(p->conn->sess, AUDIT_CHANNEL, "ok", detail);
}

/* The request is known: may this session open it? */
static void
ch_admit(struct chpair *p)
{
	struct conn *c = p->conn;
	char msg[SSH_MSG_MAX];

	if (c->selfsvc) {
		ssh_selfsvc_channel(p);
		return;
	}
	if (c->refusal[0] != '\0' || c->sess == NULL) {
		ch_fail(p, c->refusal[0] ? c->refusal : "pimgate: refused");
		return;
	}
	if (!session_channel_allowed(c->sess, ch_kind_bit(p->req))) {
		snprintf(msg, sizeof(msg),
		    "pimgate: role %s does not allow %s channels",
		    session_admission(c->sess)->role, ch_kind_name(p->req));
		session_audit(c->sess, AUDIT_CHANNEL, "refused", msg + 9);
		ch_fail(p, msg);
		return;
	}
	/* sftp is not a terminal: no asciicast, but the disk must still
	 * have room for what its session records. */
	if (p->req == REQ_SFTP ? !session_recording_space(c->front->mgr)
			       : ch_start_recording(p) != PIM_OK) {
		session_audit(c->sess, AUDIT_CHANNEL, "refused",
		    "recording could not be started");
		ch_fail(p,
		    "pimgate: this session cannot be recorded right now; "
		    "access refused");
		return;
	}
	ch_audit_open(p);
	p->state = CH_WAIT_UPSTREAM;
}

static void
ch_open_upstream(struct chpair *p)
{
	struct upstream *u = p->conn->up;

	if (u == NULL || u->state == UP_FAILED) {
		ch_fail(p, u ? u->error : "pimgate: no upstream connection");
		return;
	}
	if (u->state != UP_READY)
		return;
	p->uch = ssh_channel_new(u->s);
	if (p->uch == NULL) {
		ch_fail(p, "pimgate: cannot open a channel to the target");
		return;
	}
	p->ucb.userdata = p;
	p->ucb.channel_data_function = ch_upstream_data_cb;
	p->ucb.channel_eof_function = ch_upstream_eof_cb;
	p->ucb.channel_close_function = ch_upstream_close_cb;
	p->ucb.channel_exit_status_function = ch_exit_status_cb;
	p->ucb.channel_exit_signal_function = ch_exit_signal_cb;
	ssh_callbacks_init(&p->ucb);
	ssh_set_channel_callbacks(p->uch, &p->ucb);
	p->state = CH_OPENING;
}

/* One non-blocking upstream request; true when it has completed. */
static bool
ch_upstream_request(
    struct chpair *p, int rc, enum ch_state next, const char *what)
{
	char msg[SSH_MSG_MAX];

	if (rc == SSH_AGAIN)
		return false;
	if (rc != SSH_OK) {
		snprintf(msg, sizeof(msg), "pimgate: target %s refused %s",
		    p->conn->target, what);
		ch_fail(p, msg);
		return true;
	}
	p->state = next;
	return true;
}

static void
ch_setup_step(struct chpair *p)
{
	ssh_channel u = p->uch;
	int rc;

	switch (p->state) {
	case CH_OPENING:
		if (p->req == REQ_FORWARD) {
			rc = ssh_channel_open_forward(u, p->command,
			    p->fwd_port, p->fwd_orig, p->fwd_orig_port);
			ch_upstream_request(
			    p, rc, CH_RUNNING, "the forwarded connection");
			break;
		}
		rc = ssh_channel_open_session(u);
		ch_upstream_request(p, rc, p->pty ? CH_PTY : CH_ENV,
		    "to open a session channel");
		break;
	case CH_PTY:
		rc = ssh_channel_request_pty_size(u, p->term, p->cols, p->rows);
		ch_upstream_request(p, rc, CH_ENV, "a terminal");
		break;
	case CH_ENV:
		/* Best effort: a target may refuse any variable. */
		while (p->env_sent < p->nenv) {
			rc =
			    ssh_channel_request_env(u, p->env_name[p->env_sent],
				p->env_value[p->env_sent]);
			if (rc == SSH_AGAIN)
				return;
			p->env_sent++;
		}
		p->state = CH_START;
		break;
	case CH_START:
		if (p->req == REQ_SHELL)
			rc = ssh_channel_request_shell(u);
		else if (p->req == REQ_EXEC)
			rc = ssh_channel_request_exec(u, p->command);
		else
			rc = ssh_channel_request_subsystem(u, "sftp");
		ch_upstream_request(p, rc, CH_RUNNING, "the command");
		break;
	default:
		break;
	}
}

/* Writes as much of BUF to DST as its window allows. Returns false if
 * the session failed. */
static bool
ch_move(struct evbuffer *buf, ssh_channel dst, bool is_stderr)
{
	char tmp[CH_CHUNK];
	size_t len, n;
	uint32_t win;
	int rc;

	while ((len = evbuffer_get_length(buf)) > 0) {
		win = ssh_channel_window_size(dst);
		n = len < win ? len : win;
		n = n < sizeof(tmp) ? n : sizeof(tmp);
		if (n == 0 || !ssh_channel_is_open(dst))
			break;
		evbuffer_copyout(buf, tmp, n);
		rc = is_stderr ? ssh_channel_write_stderr(dst, tmp, (uint32_t)n)
			       : ssh_channel_write(dst, tmp, (uint32_t)n);
		if (rc == SSH_ERROR)
			return false;
		if (rc <= 0)
			break;
		evbuffer_drain(buf, (size_t)rc);
	}
	return true;
}

/* Reads what libssh holds back for SRC once our buffer is empty. Returns
 * the bytes moved. */
static size_t
ch_refill(ssh_channel src, int is_stderr, struct evbuffer *buf)
{
	char tmp[CH_CHUNK];
	int avail, n;

	if (evbuffer_get_length(buf) > 0 || src == NULL)
		return 0;
	avail = ssh_channel_poll(src, is_stderr);
	if (avail <= 0)
		return 0;
	n = ssh_channel_read_nonblocking(src, tmp,
	    (uint32_t)(avail < CH_CHUNK ? avail : CH_CHUNK), is_stderr);
	if (n <= 0)
		return 0;
	evbuffer_add(buf, tmp, (size_t)n);
	return (size_t)n;
}

static void
ch_refill_upstream(struct chpair *p, int is_stderr)
{
	struct evbuffer *buf = is_stderr ? p->u2c_err : p->u2c;
	unsigned char *data;
	size_t n;

	if (ch_recording_behind(p))
		return;
	n = ch_refill(p->uch, is_stderr, buf);
	if (n == 0)
		return;
	data = evbuffer_pullup(buf, -1);
	ch_record_output(p, data, n);
	ch_traffic(p, 0, n);
}

static bool
ch_upstream_drained(struct chpair *p)
{
	return evbuffer_get_length(p->u2c) == 0 &&
	       evbuffer_get_length(p->u2c_err) == 0 &&
	       ssh_channel_poll(p->uch, 0) <= 0 &&
	       ssh_channel_poll(p->uch, 1) <= 0;
}

static void
ch_relay_client(struct chpair *p)
{
	size_t n;

	ch_traffic(p, 0, 0); /* what came before the session, if any */
	if (!ch_move(p->c2u, p->uch, false)) {
		if (p->conn->sess != NULL)
			session_end(p->conn->sess, END_UPSTREAM, NULL);
		return;
	}
	n = ch_refill(p->cch, 0, p->c2u);
	if (n > 0) {
		ch_traffic(p, n, 0);
		ch_move(p->c2u, p->uch, false);
	}
	if (p->c_eof && !p->c_eof_sent && evbuffer_get_length(p->c2u) == 0 &&
	    ssh_channel_poll(p->cch, 0) <= 0) {
		ssh_channel_send_eof(p->uch);
		p->c_eof_sent = true;
	}
}

static void
ch_flush_recording(struct chpair *p)
{
	int64_t now = clock_mono_us();
	struct timeval tv = {.tv_sec = CH_CAST_FLUSH_US / 1000000};

	if (ch_recording_behind(p)) {
		/* Nothing announces that the disk caught up: look again. */
		tv.tv_sec = 0;
		tv.tv_usec = CH_CAST_RECHECK_US;
		evtimer_add(p->conn->flush, &tv);
	}
	if (p->cast == NULL || !p->cast_dirty)
		return;
	if (now - p->cast_flushed_us < CH_CAST_FLUSH_US) {
		/* Come back for the tail even if nothing else happens. */
		if (!evtimer_pending(p->conn->flush, NULL))
			evtimer_add(p->conn->flush, &tv);
		return;
	}
	p->cast_flushed_us = now;
	p->cast_dirty = false;
	if (cast_flush(p->cast) != PIM_OK)
		p->cast_failed = true;
}

/* Bytes recorded by every channel of C so far. */
static int64_t
conn_recorded_bytes(const struct conn *c)
{
	const struct chpair *q;
	int64_t n = c->recorded_done;

	TAILQ_FOREACH(q, &c->chans, entry)
	n += q->cast != NULL ? cast_bytes(q->cast) : 0;
	return n;
}

/* A recording that failed, or a session whose recordings grew past
 * [recording] max_size, ends the session: nothing is relayed that is not
 * recorded. */
static void
ch_check_recording(struct chpair *p)
{
	int64_t max = p->conn->front->cfg->record_max_size;
	char msg[SSH_MSG_MAX], size[32];

	if (p->conn->sess == NULL || p->cast == NULL)
		return;
	if (p->cast_failed || cast_error(p->cast) != PIM_OK) {
		session_end(p->conn->sess, END_RECORDING,
		    "pimgate: the recording of this session failed; "
		    "session ended");
		return;
	}
	if (max <= 0 || conn_recorded_bytes(p->conn) <= max)
		return;
	snprintf(size, sizeof(size), "%lld MiB", (long long)(max >> 20));
	snprintf(msg, sizeof(msg),
	    "pimgate: this session's recording reached its limit of %s; "
	    "session ended",
	    size);
	session_end(p->conn->sess, END_RECORDING, msg);
}

/* What a relay pass can change: if none of it moved, the pass found
 * nothing to do. */
static uint64_t ch_relay_mark(const struct chpair *p);

uint64_t
chpair_mark(const struct chpair *p)
{
	if (p->state != CH_RUNNING)
		return p->state;
	return ch_relay_mark(p) + p->state;
}

static uint64_t
ch_relay_mark(const struct chpair *p)
{
	return evbuffer_get_length(p->c2u) +
	       (evbuffer_get_length(p->u2c) << 20) +
	       (evbuffer_get_length(p->u2c_err) << 40) +
	       ((uint64_t)ssh_channel_window_size(p->uch) << 8) +
	       ((uint64_t)ssh_channel_window_size(p->cch) << 28) +
	       p->c_eof_sent + ((uint64_t)p->u_closed << 1);
}

static void
ch_relay_pass(struct chpair *p)
{
	if (p->resize_pending && p->pty) {
		p->resize_pending = false;
		ssh_channel_change_pty_size(p->uch, p->cols, p->rows);
		if (p->cast != NULL && p->cols > 0 && p->rows > 0)
			cast_resize(p->cast, ch_cast_time(p), p->cols, p->rows);
	}
	ch_relay_client(p);
	if (!ch_move(p->u2c, p->cch, false) ||
	    !ch_move(p->u2c_err, p->cch, true)) {
		p->conn->client_gone = true;
		return;
	}
	ch_refill_upstream(p, 0);
	ch_refill_upstream(p, 1);
}

/* Relays until a pass changes nothing: reading leftovers polls the
 * sessions, which may take in a window adjust or data that no socket
 * event will announce again. */
static void
ch_relay(struct chpair *p)
{
	uint64_t before;
	int passes = 0;

	do {
		before = ch_relay_mark(p);
		ch_relay_pass(p);
	} while (!p->conn->client_gone && p->state == CH_RUNNING &&
		 ch_relay_mark(p) != before && ++passes < 64);
	if (passes >= 64)
		conn_kick(p->conn); /* yield to others, come back soon */
	ch_flush_recording(p);
	ch_check_recording(p);
	if (p->u_closed && ch_upstream_drained(p))
		p->state = CH_CLOSING;
}

/* Upstream is done and everything reached the client: exit status, EOF,
 * CLOSE to the client, then close the upstream channel. */
static void
ch_close_step(struct chpair *p)
{
	if (p->exit_status_set)
		ssh_channel_request_send_exit_status(p->cch, p->exit_status);
	else if (p->exit_signal_set)
		ssh_channel_request_send_exit_signal(
		    p->cch, p->exit_signal, p->exit_core, "", "");
	ssh_channel_send_eof(p->cch);
	ssh_channel_close(p->cch);
	if (p->uch != NULL && ssh_channel_is_open(p->uch))
		ssh_channel_close(p->uch);
	p->state = CH_DONE;
}

/* Tells the client error[] on stderr (waiting briefly for window), then
 * closes. A refusal exits 1; a session ended by the bastion sends no
 * exit status. */
static void
ch_fail_step(struct chpair *p, bool with_status)
{
	char line[SSH_MSG_MAX + 8];
	int n;

	n = snprintf(
	    line, sizeof(line), p->pty ? "\r\n%s\r\n" : "%s\n", p->error);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)strlen(line);
	if (ssh_channel_window_size(p->cch) < (uint32_t)n &&
	    clock_mono_us() - p->fail_since_us < CH_NOTICE_WAIT_US)
		return;
	if (ssh_channel_is_open(p->cch)) {
		/* A forwarded connection carries the target's bytes only. */
		if (p->req != REQ_FORWARD) {
			ssh_channel_write_stderr(p->cch, line, (uint32_t)n);
			ch_record_output(p, line, (size_t)n);
		}
		if (with_status)
			ssh_channel_request_send_exit_status(p->cch, 1);
		ssh_channel_send_eof(p->cch);
		ssh_channel_close(p->cch);
	}
	if (p->uch != NULL && ssh_channel_is_open(p->uch))
		ssh_channel_close(p->uch);
	p->state = CH_DONE;
}

static void
ch_step_once(struct chpair *p)
{
	switch (p->state) {
	case CH_WAIT_REQUEST:
		if (p->req != REQ_NONE)
			ch_admit(p);
		break;
	case CH_WAIT_UPSTREAM:
		ch_open_upstream(p);
		break;
	case CH_OPENING:
	case CH_PTY:
	case CH_ENV:
	case CH_START:
		ch_setup_step(p);
		break;
	case CH_RUNNING:
		ch_relay(p);
		break;
	case CH_FAILING:
		ch_fail_step(p, p->conn->state != CONN_ENDING);
		break;
	case CH_CLOSING:
		ch_close_step(p);
		break;
	case CH_PROMPT:
		ssh_prompt_step(p);
		break;
	case CH_INPUT:
		ssh_selfsvc_input_step(p);
		break;
	case CH_LOCAL:
		if (!ch_move(p->u2c, p->cch, false) ||
		    !ch_move(p->u2c_err, p->cch, true)) {
			p->conn->client_gone = true;
			break;
		}
		if (evbuffer_get_length(p->u2c) == 0 &&
		    evbuffer_get_length(p->u2c_err) == 0)
			ch_close_step(p);
		break;
	case CH_DONE:
		break;
	}
}

void
chpair_step(struct chpair *p)
{
	enum ch_state before;

	if (p->c_closed && p->state != CH_DONE) {
		if (p->uch != NULL && ssh_channel_is_open(p->uch))
			ssh_channel_close(p->uch);
		if (ssh_channel_is_open(p->cch))
			ssh_channel_close(p->cch);
		p->state = CH_DONE;
		return;
	}
	do {
		before = p->state;
		ch_step_once(p);
	} while (p->state != before && !p->conn->client_gone);
}

bool
chpair_flush_local(struct chpair *p)
{
	return ch_move(p->u2c, p->cch, false);
}

void
chpair_notice(struct chpair *p, const char *message)
{
	char line[SSH_MSG_MAX + 8];
	int n;

	if (p->state != CH_RUNNING || !p->pty)
		return;
	n = snprintf(line, sizeof(line), "\r\n%s\r\n", message);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    ssh_channel_window_size(p->cch) < (uint32_t)n)
		return; /* a notice may be dropped, never half-written */
	ssh_channel_write_stderr(p->cch, line, (uint32_t)n);
	ch_record_output(p, line, (size_t)n);
}

/* The session is ending: show MESSAGE and close, whatever the state. */
void
chpair_end(struct chpair *p, const char *message)
{
	if (p->state == CH_FAILING || p->state == CH_DONE)
		return;
	ch_fail(p, message);
}

void
chpair_free(struct chpair *p)
{
	struct conn *c = p->conn;
	int i;

	TAILQ_REMOVE(&c->chans, p, entry);
	c->nchans--;
	if (p->cast != NULL)
		c->recorded_done += cast_bytes(p->cast);
	if (p->cast != NULL && cast_close(p->cast) != PIM_OK)
		log_error("recording incomplete session=%lld channel=%d",
		    (long long)(c->sess ? session_id(c->sess) : 0), p->no);
	if (p->uch != NULL) {
		ssh_remove_channel_callbacks(p->uch, &p->ucb);
		ssh_channel_free(p->uch);
	}
	if (p->cch != NULL) {
		ssh_remove_channel_callbacks(p->cch, &p->ccb);
		ssh_channel_free(p->cch);
	}
	evbuffer_free(p->c2u);
	evbuffer_free(p->u2c);
	evbuffer_free(p->u2c_err);
	for (i = 0; i < p->nenv; i++) {
		free(p->env_name[i]);
		free(p->env_value[i]);
	}
	free(p->command);
	free(p->fwd_orig);
	ssh_prompt_free(p->prompt);
	free(p);
}
