/* The asciicast v2 player: prints a recording's output events with the
 * recorded pauses, for pimctl. */
#include "pimgate/record.h"

#include "pimgate/err.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAST_PLAY_GAP_MAX 2.0 /* longest pause between two events, in s */

struct cast_player {
	const char *path;
	double speed;
	FILE *out;
	double prev_t;
	char *err;
	size_t errlen;
};

static void
cast_play_sleep(double secs)
{
	struct timespec ts, rem;

	if (secs > CAST_PLAY_GAP_MAX)
		secs = CAST_PLAY_GAP_MAX;
	if (!(secs > 0))
		return;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &rem) != 0 && errno == EINTR)
		ts = rem;
}

/* Checks the first line: an object with "version": 2. */
static int
cast_play_header(struct cast_player *pl, const char *line)
{
	json_error_t jerr;
	json_t *h, *v;
	int ok;

	h = json_loads(line, 0, &jerr);
	if (h == NULL || !json_is_object(h)) {
		snprintf(pl->err, pl->errlen, "%s: header is not a JSON object",
		    pl->path);
		json_decref(h);
		return PIM_EINVAL;
	}
	v = json_object_get(h, "version");
	ok = json_is_integer(v) && json_integer_value(v) == 2;
	json_decref(h);
	if (!ok) {
		snprintf(pl->err, pl->errlen, "%s: not asciicast version 2",
		    pl->path);
		return PIM_EINVAL;
	}
	return PIM_OK;
}

/* Waits out the gap before an event at T and prints DATA. */
static int
cast_play_output(struct cast_player *pl, double t, json_t *data)
{
	size_t n = json_string_length(data);

	if (pl->speed > 0) {
		cast_play_sleep((t - pl->prev_t) / pl->speed);
		pl->prev_t = t;
	}
	if (fwrite(json_string_value(data), 1, n, pl->out) != n)
		return PIM_EIO;
	if (pl->speed > 0 && fflush(pl->out) != 0)
		return PIM_EIO;
	return PIM_OK;
}

/* Handles one event line; only "o" events are printed. */
static int
cast_play_event(struct cast_player *pl, const char *line, long lineno)
{
	json_error_t jerr;
	json_t *ev, *t, *code, *data;
	int r = PIM_OK;

	ev = json_loads(line, JSON_ALLOW_NUL, &jerr);
	t = json_array_get(ev, 0);
	code = json_array_get(ev, 1);
	data = json_array_get(ev, 2);
	if (!json_is_array(ev) || !json_is_number(t) || !json_is_string(code) ||
	    data == NULL) {
		snprintf(pl->err, pl->errlen, "%s:%ld: not an event", pl->path,
		    lineno);
		r = PIM_EINVAL;
	} else if (strcmp(json_string_value(code), "o") == 0 &&
		   json_is_string(data)) {
		r = cast_play_output(pl, json_number_value(t), data);
		if (r != PIM_OK)
			snprintf(pl->err, pl->errlen, "write failed");
	}
	json_decref(ev);
	return r;
}

static bool
cast_play_blank(const char *line)
{
	return line[strspn(line, " \t\r\n")] == '\0';
}

static int
cast_play_lines(struct cast_player *pl, FILE *in)
{
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	int r = PIM_OK;

	while (r == PIM_OK && getline(&line, &cap, in) >= 0) {
		lineno++;
		if (lineno == 1)
			r = cast_play_header(pl, line);
		else if (!cast_play_blank(line))
			r = cast_play_event(pl, line, lineno);
	}
	if (r == PIM_OK && ferror(in)) {
		snprintf(pl->err, pl->errlen, "%s: read failed", pl->path);
		r = PIM_EIO;
	} else if (r == PIM_OK && lineno == 0) {
		snprintf(pl->err, pl->errlen, "%s: empty file", pl->path);
		r = PIM_EINVAL;
	}
	free(line);
	return r;
}

int
cast_play(const char *path, double speed, FILE *out, char *err, size_t errlen)
{
	struct cast_player pl = {path, speed, out, 0, err, errlen};
	char dummy[1];
	FILE *in;
	int r;

	if (err == NULL || errlen == 0) {
		pl.err = dummy;
		pl.errlen = sizeof(dummy);
	}
	pl.err[0] = '\0';
	if (path == NULL || out == NULL || !(speed >= 0) || isinf(speed)) {
		snprintf(pl.err, pl.errlen, "bad arguments");
		return PIM_EINVAL;
	}
	in = fopen(path, "re");
	if (in == NULL) {
		snprintf(pl.err, pl.errlen, "%s: %s", path, strerror(errno));
		return PIM_EIO;
	}
	r = cast_play_lines(&pl, in);
	fclose(in);
	return r;
}
