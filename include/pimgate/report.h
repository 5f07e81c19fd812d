/* Access reports, for the periodic review of privileged access that
 * HIPAA asks for: per user and role, the activations of a period with
 * their justification, ticket, approvals and duration, the sessions held
 * under them, the refusals, break-glass use, and flags for a reviewer.
 *
 * report_build reads the store and applies the flag rules; nothing here
 * reads the clock (NOW is given) or writes anywhere but the FILE given
 * to a writer. Every text field of a built report has been cleaned:
 * invalid UTF-8 and characters that change how text reads (controls,
 * bidi overrides, zero-width characters) are '?'.
 *
 * The flag rules:
 * - off-hours: an activation that was active (not one only requested)
 *   whose window, from its start to its end or to when it was ended
 *   early, is not wholly inside one working span (hours.h);
 * - break-glass: an activation of a break-glass role, or a refused
 *   break-glass request;
 * - ended-expired, ended-killed, ended-revoked: a session ended by its
 *   deadline, by an admin, or by its grant's withdrawal;
 * - unusual-volume: an ended session whose bytes (in + out) exceed
 *   VOLUME_FACTOR times the median of the same user's up to
 *   REPORT_HISTORY_MAX latest sessions that started before it and have
 *   ended, when there are at least REPORT_HISTORY_MIN of them, and that
 *   reach REPORT_VOLUME_FLOOR bytes (a few kilobytes more than a tiny
 *   median is no data leaving);
 * - repeated-mfa-failures: a user with REPORT_MFA_REPEATED or more
 *   failed one-time codes in the period (at login, at activation, or
 *   inside a PostgreSQL password); each such event is tagged
 *   mfa-failure. */
#ifndef PIMGATE_REPORT_H
#define PIMGATE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pimgate/hours.h"
#include "pimgate/store.h"

#define REPORT_MFA_REPEATED 3
#define REPORT_HISTORY_MIN 5
#define REPORT_HISTORY_MAX 100
#define REPORT_VOLUME_FLOOR ((int64_t)1 << 20)

enum report_flag {
	REPORT_OFF_HOURS = 1u << 0,
	REPORT_BREAK_GLASS = 1u << 1,
	REPORT_ENDED_EXPIRED = 1u << 2,
	REPORT_ENDED_KILLED = 1u << 3,
	REPORT_ENDED_REVOKED = 1u << 4,
	REPORT_VOLUME = 1u << 5,
	REPORT_MFA_REPEATED_FLAG = 1u << 6,
	/* A tag on a refusal, not by itself worth a review. */
	REPORT_MFA_FAILURE = 1u << 7,
};
/* The flags listed under "needs review". */
#define REPORT_REVIEW_FLAGS                                              \
	(REPORT_OFF_HOURS | REPORT_BREAK_GLASS | REPORT_ENDED_EXPIRED |  \
	    REPORT_ENDED_KILLED | REPORT_ENDED_REVOKED | REPORT_VOLUME | \
	    REPORT_MFA_REPEATED_FLAG)

/* "off-hours", ...; NULL unless FLAG is exactly one known flag. */
const char *report_flag_name(unsigned flag);
/* The names of the flags of FLAGS, joined by SEP, into BUF ("" if
 * none). */
void report_flags_format(
    unsigned flags, const char *sep, char *buf, size_t size);

struct report_options {
	int64_t from; /* the period is [FROM, TO) */
	int64_t to;
	char user[STORE_NAME_MAX]; /* "" for everyone */
	struct work_hours hours;
	int64_t volume_factor; /* [report] volume_factor */
	int64_t now; /* an active activation past its end is expired */
};

struct report_activation {
	struct store_activation a;
	enum store_act_state state; /* at NOW */
	bool held; /* it was active at some time */
	int64_t until; /* the window's end, or when it was ended early */
	int64_t duration; /* UNTIL - start (secs) */
	struct store_approval *approvals; /* in order of decision */
	size_t napprovals;
	unsigned flags;
};

struct report_session {
	struct store_session s;
	int64_t bytes; /* in + out */
	int64_t length; /* secs, to NOW while it is live */
	int history; /* earlier sessions the median is taken over */
	int64_t median; /* their median bytes; -1 below REPORT_HISTORY_MIN */
	size_t act; /* index of its activation in the report, or SIZE_MAX */
	unsigned flags;
};

struct report_refusal {
	struct store_audit e; /* hashes left empty */
	unsigned flags;
};

/* One user's part; the ranges index the report's arrays, which are in
 * user order. */
struct report_user {
	char name[STORE_NAME_MAX]; /* "" for events that named nobody */
	size_t act_first, nacts;
	size_t session_first, nsessions;
	size_t refusal_first, nrefusals;
	int mfa_failures;
	unsigned flags; /* REPORT_MFA_REPEATED_FLAG */
};

struct report {
	struct report_options opt;
	struct report_user *users;
	size_t nusers;
	/* By user, role, start. */
	struct report_activation *acts;
	size_t nacts;
	struct report_session *sessions;
	size_t nsessions;
	/* By user, then time. */
	struct report_refusal *refusals;
	size_t nrefusals;
};

/* Builds the report of OPT from the store into *OUT (report_free it).
 * Returns PIM_OK, PIM_EINVAL (FROM not before TO), PIM_ENOMEM or a store
 * error (store_errmsg says what). */
int report_build(
    struct store *st, const struct report_options *opt, struct report **out);
void report_free(struct report *r);

/* ---- the rules, on their own ---- */

/* The flags of an activation: off-hours, break-glass. */
unsigned report_rule_activation(
    const struct report_options *opt, const struct report_activation *a);
/* The flags a session's end reason earns. */
unsigned report_rule_end(const char *end_reason);
/* The median of the N values of V (sorted in place); the lower middle
 * and upper middle's mean, rounded down, for an even N. N > 0. */
int64_t report_median(int64_t *v, int n);
/* Whether BYTES is unusual against MEDIAN of HISTORY earlier sessions. */
bool report_rule_volume(
    int64_t factor, int64_t bytes, int64_t median, int history);
/* Whether audit event E is a failed one-time code. */
bool report_is_mfa_failure(const struct store_audit *e);
/* Whether audit event E is about a break-glass request. */
bool report_is_break_glass(const struct store_audit *e);

/* ---- writers: PIM_OK, PIM_EIO (OUT failed) or PIM_ENOMEM ---- */

/* For a person: a list of what needs review, then user by user and
 * role by role. */
int report_write_text(const struct report *r, FILE *out);
/* One row per item under a fixed header (REPORT_CSV_HEADER); cells that
 * a spreadsheet would take for a formula are made text. */
int report_write_csv(const struct report *r, FILE *out);
/* One JSON document. */
int report_write_json(const struct report *r, FILE *out);

#define REPORT_CSV_HEADER                                                    \
	"kind,user,role,id,activation,requested,start,end,duration_s,state," \
	"reason,ticket,approvals,target,protocol,peer,end_reason,bytes_in,"  \
	"bytes_out,event,outcome,detail,flags"

/* Writes S as one CSV cell: a leading = + - @ (or tab, carriage
 * return) gets an apostrophe before it, so that a spreadsheet shows it
 * as text, and the cell is quoted (quotes doubled) when it holds a
 * comma, a quote or a line break, or starts or ends with a space. */
int report_csv_cell(FILE *out, const char *s);

#endif
