/* Internal to the record module, shared by its parts:
 *
 *   cast_escape.c  session bytes to JSON string text (the hot loop);
 *   cast.c         the writer: lines into a buffer, the buffer into chunks,
 *                  chunks into the file;
 *   cast_thread.c  the optional writer thread and its queue of chunks;
 *   qlog.c         query logs, lines of its own through the same writer.
 *
 * A chunk is a run of formatted bytes bound for one writer's file. The
 * writer formats into its current chunk; once the chunk holds
 * CAST_CHUNK_FILL bytes, or on cast_flush() or cast_close(), the chunk is
 * handed on: queued for the thread if it runs, otherwise written at once
 * on the caller's thread. The thread writes queued chunks in queue order,
 * so each file receives its bytes in the order they were formatted. */
#ifndef PIMGATE_CAST_INT_H
#define PIMGATE_CAST_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAST_CHUNK_FILL 65536 /* hand a chunk on once it holds this much */

/* --- cast_escape.c --- */

enum cast_u8 {
	CAST_U8_OK, /* a well-formed sequence */
	CAST_U8_BAD, /* an ill-formed part: replace it with one U+FFFD */
	CAST_U8_SHORT, /* well-formed so far, but the input ended */
};

/* Room cast_escape() needs at DST for N input bytes. */
#define CAST_ESCAPE_ROOM(n) ((n)*6 + 8)

/* Builds the byte class table; call (once is enough) before the others.
 * Thread-safe. */
void cast_escape_init(void);
/* Checks the non-ASCII sequence at P (N >= 1 bytes). *USED is the length
 * of the sequence (OK), of the ill-formed part (BAD) or N (SHORT). */
enum cast_u8 cast_u8_check(const unsigned char *p, size_t n, size_t *used);
/* Writes the JSON string text (no quotes) for SRC..SRC+N to DST, which
 * has CAST_ESCAPE_ROOM(N) bytes of room. A well-formed but unfinished
 * sequence at the very end is left out: *TAIL is its length (0 to 3).
 * Returns the bytes written. */
size_t cast_escape(char *dst, const unsigned char *src, size_t n, size_t *tail);

/* --- cast.c --- */

struct cast_writer;

struct cast_chunk {
	struct cast_chunk *next; /* in the thread's queue */
	struct cast_writer *w;
	size_t len;
	size_t cap; /* room at DATA */
	bool close; /* after writing, close W's file and free W */
	char data[];
};

/* Writes C to its writer's file (skipped once the writer has failed),
 * takes it off the writer's backlog, then closes and frees the writer if
 * C asks for it. Frees C. Returns the writer's first write error, PIM_OK
 * if none. Runs on the writer thread, or on the caller's thread when
 * there is none. */
int cast_chunk_done(struct cast_chunk *c);

/* Creates PATH (0600, must not exist) and a writer for it that has
 * formatted nothing yet. Returns PIM_OK, PIM_EEXIST, PIM_EIO or
 * PIM_ENOMEM. */
int cast_writer_new(const char *path, struct cast_writer **out);
/* Closes and removes the file of a writer from cast_writer_new() that has
 * handed nothing on, and frees the writer. */
void cast_writer_discard(struct cast_writer *w);
/* Marks W as a query log begun at START_MS: the asciicast events refuse
 * it. cast_is_qlog() is false for NULL and for asciicast writers. */
void cast_set_qlog(struct cast_writer *w, int64_t start_ms);
bool cast_is_qlog(const struct cast_writer *w, int64_t *start_ms);

/* Lines of any JSON, for qlog.c. Text is appended to the line being
 * formatted, which counts (and may go on towards the file) only once
 * cast_line_done() ends it; until then cast_line_cancel() takes the
 * whole line back. Nothing is handed on in the middle of a line, so a
 * long line makes the chunk grow. The appending functions return PIM_OK
 * or PIM_ENOMEM (part of the text may have been appended). */
int cast_add(struct cast_writer *w, const char *s);
/* Appends N bytes at S (any bytes) as a quoted JSON string; a sequence
 * left unfinished at the end becomes U+FFFD. */
int cast_json_bytes(struct cast_writer *w, const void *s, size_t n);
/* Ends the line (its text ends with "\n"): counts it, and hands the chunk
 * on once it is full. Returns PIM_OK, or W's first write error if the
 * chunk was handed on. */
int cast_line_done(struct cast_writer *w);
void cast_line_cancel(struct cast_writer *w);

/* --- cast_thread.c --- */

/* Queues C for the writer thread and returns true, or returns false if
 * the thread does not run (C is left to the caller). */
bool cast_thread_queue(struct cast_chunk *c);
/* True while the thread runs and takes chunks. */
bool cast_thread_running(void);
/* Bytes queued for the thread and not yet written, all writers. */
size_t cast_thread_queued(void);

#endif
