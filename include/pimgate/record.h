/* Session recordings: asciicast v2 files for terminal sessions.
 *
 * The writer keeps the file valid JSON lines whatever bytes it gets: a
 * UTF-8 sequence split across two calls is held back until complete,
 * invalid bytes become U+FFFD, control characters are escaped. Output is
 * buffered; cast_flush() pushes it to the file. */
#ifndef PIMGATE_RECORD_H
#define PIMGATE_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cast_header {
	int width;
	int height;
	int64_t timestamp; /* session start, seconds since epoch */
	const char *term; /* TERM, may be NULL */
	const char *title; /* may be NULL */
	const char *user;
	const char *target;
	int64_t session_id;
	const char *command; /* exec command, NULL for a shell */
};

struct cast_writer;

/* Creates PATH (0600, must not exist) and writes the header line. */
int cast_open(
    const char *path, const struct cast_header *h, struct cast_writer **out);
/* T is seconds since the session start. */
int cast_output(struct cast_writer *w, double t, const void *data, size_t len);
int cast_input(struct cast_writer *w, double t, const void *data, size_t len);
int cast_resize(struct cast_writer *w, double t, int width, int height);
int cast_flush(struct cast_writer *w);
/* Flushes pending bytes (an incomplete UTF-8 tail becomes U+FFFD), closes
 * and frees W. Returns the first error seen while writing, if any. */
int cast_close(struct cast_writer *w);
/* Bytes written to the file so far. */
int64_t cast_bytes(const struct cast_writer *w);

/* Plays the recording at PATH to OUT, sleeping between events as
 * recorded, divided by SPEED (>0); SPEED 0 prints without delay. Returns
 * PIM_OK, PIM_EIO or PIM_EINVAL (not asciicast v2: ERR says why). */
int cast_play(
    const char *path, double speed, FILE *out, char *err, size_t errlen);

#endif
