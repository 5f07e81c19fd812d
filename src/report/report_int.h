/* Internal to src/report/: helpers the builder and the writers share. */
#ifndef PIMGATE_REPORT_INT_H
#define PIMGATE_REPORT_INT_H

#include <stddef.h>

#include "pimgate/report.h"

/* Appends a copy of ITEM (SIZE bytes) to the array *ITEMS of *N, grown
 * as needed (*CAP). PIM_OK or PIM_ENOMEM. */
int report_push(
    void **items, size_t *n, size_t *cap, size_t size, const void *item);

/* Replaces in place every invalid UTF-8 byte and every character that
 * changes how text reads (str_unsafe_char) with '?'. */
void report_clean(char *s);

/* An instant as RFC 3339 into BUF (SIZE >= 21); "" for 0. */
const char *report_instant(int64_t t, char *buf, size_t size);
/* "1h30m" into BUF. */
const char *report_duration(int64_t secs, char *buf, size_t size);
/* The name of state S, "unknown" if it has none. */
const char *report_state_name(enum store_act_state s);
/* Approvals as "bob; carol (deny)" into BUF. */
void report_approvals_format(
    const struct report_activation *a, char *buf, size_t size);
/* One line on why session X is flagged unusual ("" if it is not). */
void report_volume_note(const struct report_session *x, char *buf, size_t size);

/* Calls FN with each distinct role of user U, in order: the roles of
 * its activations and its sessions. Stops early if FN returns != 0. */
int report_each_role(const struct report *r, const struct report_user *u,
    int (*fn)(const struct report *r, const struct report_user *u,
	const char *role, void *arg),
    void *arg);

#endif
