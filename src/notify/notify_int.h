/* Internal to src/notify/: the runner that starts the command. */
#ifndef PIMGATE_NOTIFY_INT_H
#define PIMGATE_NOTIFY_INT_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct notify_runner;

/* Commands running at once, and documents waiting beyond those. */
#define NOTIFY_MAX_RUNNING 4
#define NOTIFY_MAX_QUEUED 256
/* The largest document: it fits the pipe's buffer at once. */
#define NOTIFY_DOC_MAX 4000

/* A runner of COMMAND (copied) through /bin/sh -c, each run ended after
 * TIMEOUT_S seconds. NULL if out of memory. */
struct notify_runner *notify_runner_new(
    struct event_base *base, const char *command, int64_t timeout_s);
/* Runs the command with DOC (LEN bytes, at most NOTIFY_DOC_MAX; copied)
 * on its standard input now, or later if enough are running. EVENT and
 * AUDIT_ID only name the run in the log. Returns PIM_OK, or PIM_EBUSY if
 * the queue is full (the document is dropped and counted). */
int notify_runner_submit(struct notify_runner *r, const char *doc, size_t len,
    const char *event, int64_t audit_id);
/* How many documents were dropped because the queue was full. */
uint64_t notify_runner_dropped(const struct notify_runner *r);
/* SIGHUP: later runs use COMMAND (copied) and TIMEOUT_S; commands
 * already running keep theirs. PIM_OK or PIM_ENOMEM (nothing changed). */
int notify_runner_set(
    struct notify_runner *r, const char *command, int64_t timeout_s);
void notify_runner_free(struct notify_runner *r);

#endif
