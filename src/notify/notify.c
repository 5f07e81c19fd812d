/* Notifications derived from the audit log.
 *
 * The audit log is the one record every writer (pimctl, self-service,
 * the daemon) keeps of each decision, so the notifier follows it: every
 * store_poll_ms it reads the events after the last one it saw, picks
 * those about activations (notify_classify) and hands a JSON document per
 * notification to the runner. Expiry writes no audit event (the daemon's
 * sweep only marks rows), so expiries come from the activations table:
 * windows that closed since the last look, in state active or expired. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "pimgate/clock.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/notify.h"
#include "pimgate/str.h"

#include "notify_int.h"

/* Audit events read per poll; the rest wait for the next one. */
#define NOTIFY_BATCH 64
/* Approvals listed in one document. */
#define NOTIFY_APPROVERS_MAX 8

struct notify {
	struct event_base *base;
	struct store *st;
	const struct config *cfg;
	struct notify_runner *runner;
	struct event *poll_ev;
	int64_t last_audit_id; /* the newest audit event looked at */
	int64_t last_expiry; /* windows ending up to here were looked at */
};

/* ---- which audit events matter ---- */

/* Reads the decimal id that follows PREFIX at the start of S, or 0. */
static int64_t
notify_id_after(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	char *end;
	long long id;

	if (s == NULL || strncmp(s, prefix, n) != 0)
		return 0;
	s += n;
	if (*s < '0' || *s > '9')
		return 0;
	id = strtoll(s, &end, 10);
	return *end == ' ' || *end == ',' || *end == ')' || *end == '\0' ? id
									 : 0;
}

/* "activate U R for D (activation ID, STATE)..." */
static bool
notify_classify_activate(const char *d, struct notify_kind *k)
{
	const char *p = strstr(d, " (activation ");
	const char *state;

	if (p == NULL)
		return false;
	k->activation_id = notify_id_after(p, " (activation ");
	state = strchr(p, ',');
	if (k->activation_id == 0 || state == NULL)
		return false;
	if (k->break_glass) {
		k->events[0] = NOTIFY_BREAKGLASS;
		k->events[1] = NOTIFY_ACTIVE;
	} else if (strncmp(state, ", pending)", 10) == 0)
		k->events[0] = NOTIFY_REQUESTED;
	else if (strncmp(state, ", active)", 9) == 0)
		k->events[0] = NOTIFY_ACTIVE;
	else
		return false;
	return true;
}

bool
notify_classify(const struct store_audit *a, struct notify_kind *k)
{
	const char *d = a->detail;

	memset(k, 0, sizeof(*k));
	if (strcmp(a->outcome, "ok") != 0)
		return false;
	/* pimctl writes "admin"; self-service "selfservice". */
	if (strcmp(a->event, "admin") != 0 && strncmp(a->event, "self", 4) != 0)
		return false;
	if (strncmp(d, "BREAK-GLASS ", 12) == 0) {
		k->break_glass = true;
		d += 12;
	}
	if (strncmp(d, "activate ", 9) == 0)
		return notify_classify_activate(d, k);
	if ((k->activation_id = notify_id_after(d, "approve request ")) > 0) {
		k->events[0] = NOTIFY_APPROVED;
		if (strstr(d, " (now active)") != NULL)
			k->events[1] = NOTIFY_ACTIVE;
		return true;
	}
	if ((k->activation_id = notify_id_after(d, "deny request ")) > 0) {
		k->events[0] = NOTIFY_DENIED;
		return true;
	}
	if ((k->activation_id = notify_id_after(d, "revoke activation ")) > 0) {
		/* Revoking a pending request denies it. */
		k->events[0] = strstr(d, ": denied") != NULL ? NOTIFY_DENIED
							     : NOTIFY_REVOKED;
		return true;
	}
	if ((k->activation_id = notify_id_after(d, "deactivate activation ")) >
	    0) {
		k->events[0] = NOTIFY_DEACTIVATED;
		return true;
	}
	if ((k->activation_id = notify_id_after(d, "cancel activation ")) > 0) {
		k->events[0] = NOTIFY_CANCELLED;
		return true;
	}
	return false;
}

/* ---- the document ---- */

/* A JSON string of S, cut to MAX bytes for people if it is longer (or
 * not valid UTF-8). */
static json_t *
notify_json_text(const char *s, size_t max)
{
	char buf[STORE_TEXT_MAX + 4];
	json_t *j;

	if (max > STORE_TEXT_MAX)
		max = STORE_TEXT_MAX;
	if (strlen(s) <= max && (j = json_string(s)) != NULL)
		return j;
	str_sanitize(buf, max + 1 < sizeof(buf) ? max + 1 : sizeof(buf), s);
	return json_string(buf);
}

static json_t *
notify_json_instant(int64_t t)
{
	char buf[32];

	if (t <= 0)
		return json_null();
	instant_format(t, buf, sizeof(buf));
	return json_string(buf);
}

static int
notify_approval_cb(const struct store_approval *ap, void *arg)
{
	json_t *arr = arg;

	if (json_array_size(arr) >= NOTIFY_APPROVERS_MAX)
		return 0;
	json_array_append_new(
	    arr, json_pack("{s:o, s:s, s:o}", "by",
		     notify_json_text(ap->approver, STORE_NAME_MAX), "decision",
		     ap->decision, "time", notify_json_instant(ap->ts)));
	return 0;
}

/* Adds what the activation row says (the window, the reason, who
 * approved); the audit event alone is enough if the row cannot be read. */
static void
notify_add_activation(
    struct notify *n, json_t *doc, const struct store_activation *x, size_t cut)
{
	const char *state = store_act_state_name(x->state);
	struct store_role r;
	json_t *arr = json_array();

	json_object_set_new(doc, "activation_id", json_integer(x->id));
	json_object_set_new(doc, "user", notify_json_text(x->user, cut));
	json_object_set_new(doc, "role", notify_json_text(x->role, cut));
	json_object_set_new(
	    doc, "state", state != NULL ? json_string(state) : json_null());
	json_object_set_new(doc, "reason", notify_json_text(x->reason, cut));
	json_object_set_new(doc, "ticket", notify_json_text(x->ticket, cut));
	json_object_set_new(
	    doc, "requested_by", notify_json_text(x->requested_by, cut));
	json_object_set_new(doc, "start", notify_json_instant(x->start));
	json_object_set_new(doc, "end", notify_json_instant(x->end));
	json_object_set_new(doc, "requested", notify_json_instant(x->created));
	json_object_set_new(doc, "break_glass", json_boolean(x->break_glass));
	if (arr != NULL && store_approval_list(
			       n->st, x->id, notify_approval_cb, arr) == PIM_OK)
		json_object_set_new(doc, "approvals", arr);
	else
		json_decref(arr);
	if (store_role_get_by_id(n->st, x->role_id, &r) == PIM_OK &&
	    r.approvals > 0) {
		json_object_set_new(
		    doc, "approvals_needed", json_integer(r.approvals));
		json_object_set_new(
		    doc, "approvers", notify_json_text(r.approvers, cut));
	}
}

/* Builds the document of EVENT; A is the audit event (NULL for an
 * expiry), X the activation (NULL if unknown). CUT bounds free text. */
static json_t *
notify_doc(struct notify *n, const char *event, const struct store_audit *a,
    const struct store_activation *x, size_t cut)
{
	json_t *doc = json_object();

	if (doc == NULL)
		return NULL;
	json_object_set_new(doc, "event", json_string(event));
	if (a != NULL) {
		json_object_set_new(doc, "audit_id", json_integer(a->id));
		json_object_set_new(
		    doc, "time", notify_json_instant(a->ts_ms / 1000));
		json_object_set_new(
		    doc, "actor", notify_json_text(a->actor, cut));
		json_object_set_new(
		    doc, "user", notify_json_text(a->user, cut));
		json_object_set_new(
		    doc, "role", notify_json_text(a->role, cut));
		json_object_set_new(
		    doc, "detail", notify_json_text(a->detail, cut));
	} else {
		json_object_set_new(doc, "time", notify_json_instant(x->end));
		json_object_set_new(doc, "actor", json_string("pimgated"));
	}
	if (x != NULL)
		notify_add_activation(n, doc, x, cut);
	return doc;
}

/* Builds and queues one notification; free text is cut until the
 * document fits NOTIFY_DOC_MAX. */
static void
notify_emit(struct notify *n, const char *event, const struct store_audit *a,
    const struct store_activation *x)
{
	static const size_t cuts[] = {STORE_TEXT_MAX, 160, 40};
	int64_t audit_id = a != NULL ? a->id : 0;
	char *text = NULL;
	size_t i;

	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		json_t *doc = notify_doc(n, event, a, x, cuts[i]);

		free(text);
		text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
		json_decref(doc);
		if (text == NULL || strlen(text) <= NOTIFY_DOC_MAX)
			break;
	}
	if (text == NULL || strlen(text) > NOTIFY_DOC_MAX) {
		log_warn("notify document not built event=%s audit_id=%lld",
		    event, (long long)audit_id);
		free(text);
		return;
	}
	log_verbose("notify event=%s audit_id=%lld activation=%lld", event,
	    (long long)audit_id, x != NULL ? (long long)x->id : 0LL);
	notify_runner_submit(n->runner, text, strlen(text), event, audit_id);
	free(text);
}

static int
notify_audit_cb(const struct store_audit *a, void *arg)
{
	struct notify *n = arg;
	struct store_activation x;
	struct notify_kind k;
	bool have = false;
	size_t i;

	n->last_audit_id = a->id;
	if (!notify_classify(a, &k))
		return 0;
	if (k.activation_id > 0 &&
	    store_activation_get(n->st, k.activation_id, &x) == PIM_OK)
		have = true;
	for (i = 0; i < 2 && k.events[i] != NULL; i++)
		notify_emit(n, k.events[i], a, have ? &x : NULL);
	return 0;
}

static int
notify_expired_cb(const struct store_activation *x, void *arg)
{
	notify_emit(arg, NOTIFY_EXPIRED, NULL, x);
	return 0;
}

static void
notify_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notify *n = arg;
	int64_t now = clock_now();

	if (store_audit_since_id(n->st, n->last_audit_id, NOTIFY_BATCH,
		notify_audit_cb, n) != PIM_OK)
		log_warn("notify cannot read the audit log after=%lld: %s",
		    (long long)n->last_audit_id, store_errmsg(n->st));
	if (now <= n->last_expiry)
		return;
	if (store_activation_ending(
		n->st, n->last_expiry, now, notify_expired_cb, n) != PIM_OK) {
		log_warn("notify cannot read expired activations: %s",
		    store_errmsg(n->st));
		return;
	}
	n->last_expiry = now;
}

struct notify *
notify_new(struct event_base *base, struct store *st, const struct config *cfg)
{
	struct notify *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->base = base;
	n->st = st;
	n->cfg = cfg;
	n->runner =
	    notify_runner_new(base, cfg->notify_command, cfg->notify_timeout);
	if (n->runner == NULL) {
		free(n);
		return NULL;
	}
	return n;
}

int
notify_start(struct notify *n)
{
	struct timeval tv;

	tv.tv_sec = n->cfg->poll_ms / 1000;
	tv.tv_usec = (n->cfg->poll_ms % 1000) * 1000;
	if (store_audit_max_id(n->st, &n->last_audit_id) != PIM_OK)
		return PIM_ESTORE;
	n->last_expiry = clock_now();
	n->poll_ev = event_new(n->base, -1, EV_PERSIST, notify_poll_cb, n);
	if (n->poll_ev == NULL || event_add(n->poll_ev, &tv) != 0)
		return PIM_ENOMEM;
	log_info("notify started after_audit_id=%lld timeout=%llds",
	    (long long)n->last_audit_id, (long long)n->cfg->notify_timeout);
	return PIM_OK;
}

int
notify_reconfigure(struct notify *n)
{
	struct timeval tv;

	if (notify_runner_set(n->runner, n->cfg->notify_command,
		n->cfg->notify_timeout) != PIM_OK)
		return PIM_ENOMEM;
	if (n->poll_ev == NULL)
		return PIM_OK;
	tv.tv_sec = n->cfg->poll_ms / 1000;
	tv.tv_usec = (n->cfg->poll_ms % 1000) * 1000;
	return event_add(n->poll_ev, &tv) == 0 ? PIM_OK : PIM_ENOMEM;
}

void
notify_free(struct notify *n)
{
	if (n == NULL)
		return;
	if (n->poll_ev != NULL)
		event_free(n->poll_ev);
	notify_runner_free(n->runner);
	free(n);
}
