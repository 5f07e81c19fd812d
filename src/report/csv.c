/* The access report as CSV (RFC 4180, CRLF line ends): one row per
 * activation, session and refused or failed event, and one per user
 * flagged as a whole, under the fixed header REPORT_CSV_HEADER. A cell a
 * spreadsheet would read as a formula is written as text. */
#include <stdio.h>
#include <string.h>

#include "pimgate/err.h"

#include "report_int.h"

enum csv_col {
	COL_KIND,
	COL_USER,
	COL_ROLE,
	COL_ID,
	COL_ACTIVATION,
	COL_REQUESTED,
	COL_START,
	COL_END,
	COL_DURATION,
	COL_STATE,
	COL_REASON,
	COL_TICKET,
	COL_APPROVALS,
	COL_TARGET,
	COL_PROTOCOL,
	COL_PEER,
	COL_END_REASON,
	COL_BYTES_IN,
	COL_BYTES_OUT,
	COL_EVENT,
	COL_OUTCOME,
	COL_DETAIL,
	COL_FLAGS,
	COL_COUNT
};

/* One row being written: cells point at the report or at the buffers. */
struct csv_row {
	const char *cell[COL_COUNT];
	char id[24], act[24], dur[24], in[24], out[24];
	char requested[32], start[32], end[32];
	char flags[256];
	char approvals[1024];
	char note[256];
};

int
report_csv_cell(FILE *out, const char *s)
{
	size_t len = strlen(s);
	bool formula = len > 0 && strchr("=+-@\t\r", s[0]) != NULL;
	bool quote = strpbrk(s, ",\"\r\n") != NULL ||
		     (len > 0 && (s[0] == ' ' || s[len - 1] == ' '));

	if (quote && fputc('"', out) == EOF)
		return PIM_EIO;
	if (formula && fputc('\'', out) == EOF)
		return PIM_EIO;
	for (; *s != '\0'; s++) {
		if (*s == '"' && fputc('"', out) == EOF)
			return PIM_EIO;
		if (fputc(*s, out) == EOF)
			return PIM_EIO;
	}
	if (quote && fputc('"', out) == EOF)
		return PIM_EIO;
	return PIM_OK;
}

static int
csv_write_row(FILE *out, const struct csv_row *row)
{
	for (int i = 0; i < COL_COUNT; i++) {
		if (i > 0 && fputc(',', out) == EOF)
			return PIM_EIO;
		if (report_csv_cell(out,
			row->cell[i] != NULL ? row->cell[i] : "") != PIM_OK)
			return PIM_EIO;
	}
	return fputs("\r\n", out) == EOF ? PIM_EIO : PIM_OK;
}

static void
csv_number(char *buf, size_t size, int64_t v)
{
	snprintf(buf, size, "%lld", (long long)v);
}

static int
csv_activation(FILE *out, const struct report_activation *a)
{
	struct csv_row row = {.cell = {NULL}};

	csv_number(row.id, sizeof(row.id), a->a.id);
	csv_number(row.dur, sizeof(row.dur), a->duration);
	report_approvals_format(a, row.approvals, sizeof(row.approvals));
	report_flags_format(a->flags, ";", row.flags, sizeof(row.flags));
	row.cell[COL_KIND] = "activation";
	row.cell[COL_USER] = a->a.user;
	row.cell[COL_ROLE] = a->a.role;
	row.cell[COL_ID] = row.id;
	row.cell[COL_REQUESTED] =
	    report_instant(a->a.created, row.requested, sizeof(row.requested));
	row.cell[COL_START] =
	    report_instant(a->a.start, row.start, sizeof(row.start));
	row.cell[COL_END] = report_instant(a->until, row.end, sizeof(row.end));
	row.cell[COL_DURATION] = row.dur;
	row.cell[COL_STATE] = report_state_name(a->state);
	row.cell[COL_REASON] = a->a.reason;
	row.cell[COL_TICKET] = a->a.ticket;
	row.cell[COL_APPROVALS] = row.approvals;
	row.cell[COL_FLAGS] = row.flags;
	return csv_write_row(out, &row);
}

static int
csv_session(FILE *out, const struct report_session *x)
{
	struct csv_row row = {.cell = {NULL}};

	csv_number(row.id, sizeof(row.id), x->s.id);
	if (x->s.activation_id != 0)
		csv_number(row.act, sizeof(row.act), x->s.activation_id);
	csv_number(row.dur, sizeof(row.dur), x->length);
	csv_number(row.in, sizeof(row.in), x->s.bytes_in);
	csv_number(row.out, sizeof(row.out), x->s.bytes_out);
	report_flags_format(x->flags, ";", row.flags, sizeof(row.flags));
	report_volume_note(x, row.note, sizeof(row.note));
	row.cell[COL_KIND] = "session";
	row.cell[COL_USER] = x->s.user;
	row.cell[COL_ROLE] = x->s.role;
	row.cell[COL_ID] = row.id;
	row.cell[COL_ACTIVATION] = row.act;
	row.cell[COL_START] =
	    report_instant(x->s.start, row.start, sizeof(row.start));
	row.cell[COL_END] = report_instant(x->s.end, row.end, sizeof(row.end));
	row.cell[COL_DURATION] = row.dur;
	row.cell[COL_TARGET] = x->s.target;
	row.cell[COL_PROTOCOL] = x->s.protocol;
	row.cell[COL_PEER] = x->s.peer;
	row.cell[COL_END_REASON] = x->s.end != 0 ? x->s.end_reason : "live";
	row.cell[COL_BYTES_IN] = row.in;
	row.cell[COL_BYTES_OUT] = row.out;
	row.cell[COL_DETAIL] = row.note;
	row.cell[COL_FLAGS] = row.flags;
	return csv_write_row(out, &row);
}

static int
csv_refusal(FILE *out, const struct report_refusal *x)
{
	struct csv_row row = {.cell = {NULL}};

	csv_number(row.id, sizeof(row.id), x->e.id);
	report_flags_format(x->flags, ";", row.flags, sizeof(row.flags));
	row.cell[COL_KIND] = "refusal";
	row.cell[COL_USER] = x->e.user;
	row.cell[COL_ROLE] = x->e.role;
	row.cell[COL_ID] = row.id;
	row.cell[COL_START] =
	    report_instant(x->e.ts_ms / 1000, row.start, sizeof(row.start));
	row.cell[COL_TARGET] = x->e.target;
	row.cell[COL_PEER] = x->e.peer;
	row.cell[COL_EVENT] = x->e.event;
	row.cell[COL_OUTCOME] = x->e.outcome;
	row.cell[COL_DETAIL] = x->e.detail;
	row.cell[COL_FLAGS] = row.flags;
	return csv_write_row(out, &row);
}

/* A user flagged as a whole (repeated MFA failures). */
static int
csv_user(FILE *out, const struct report_user *u)
{
	struct csv_row row = {.cell = {NULL}};

	if (u->flags == 0)
		return PIM_OK;
	report_flags_format(u->flags, ";", row.flags, sizeof(row.flags));
	snprintf(row.note, sizeof(row.note), "%d failed one-time codes",
	    u->mfa_failures);
	row.cell[COL_KIND] = "user";
	row.cell[COL_USER] = u->name;
	row.cell[COL_DETAIL] = row.note;
	row.cell[COL_FLAGS] = row.flags;
	return csv_write_row(out, &row);
}

static int
csv_user_rows(const struct report *r, const struct report_user *u, FILE *out)
{
	int rc = csv_user(out, u);

	for (size_t i = 0; rc == PIM_OK && i < u->nacts; i++)
		rc = csv_activation(out, &r->acts[u->act_first + i]);
	for (size_t i = 0; rc == PIM_OK && i < u->nsessions; i++)
		rc = csv_session(out, &r->sessions[u->session_first + i]);
	for (size_t i = 0; rc == PIM_OK && i < u->nrefusals; i++)
		rc = csv_refusal(out, &r->refusals[u->refusal_first + i]);
	return rc;
}

int
report_write_csv(const struct report *r, FILE *out)
{
	int rc = fputs(REPORT_CSV_HEADER "\r\n", out) == EOF ? PIM_EIO : PIM_OK;

	for (size_t i = 0; rc == PIM_OK && i < r->nusers; i++)
		rc = csv_user_rows(r, &r->users[i], out);
	if (fflush(out) != 0 || ferror(out))
		rc = PIM_EIO;
	return rc;
}
