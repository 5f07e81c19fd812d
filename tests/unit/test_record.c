/* Unit tests for the asciicast writer and player (record.h). Every line
 * the writer produces is parsed back with jansson. */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "pimgate/err.h"
#include "pimgate/record.h"

#define EMOJI "\xf0\x9f\x98\x80" /* U+1F600 */
#define FFFD "\xef\xbf\xbd"

struct fixture {
	char dir[64];
	char path[128];
};

/* What a recording holds once parsed back. */
struct parsed {
	json_t *header;
	char *out; /* the "o" events joined */
	size_t out_len;
	char *in; /* the "i" events joined */
	size_t in_len;
	int events;
	char resize[32]; /* the last "r" event */
	char *raw; /* the whole file */
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/pimgate-test-record-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/s.cast", f->dir);
	*state = f;
	return 0;
}

/* Removes every file the test left in the fixture's directory. */
static int
teardown(void **state)
{
	struct fixture *f = *state;
	char path[512];
	struct dirent *e;
	DIR *d;

	cast_writer_thread_stop(); /* in case a test failed with it running */
	d = opendir(f->dir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", f->dir, e->d_name);
		unlink(path);
	}
	if (d != NULL)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

static const struct cast_header sample_header = {
    .width = 80,
    .height = 24,
    .timestamp = 1796396400,
    .term = "xterm-256color",
    .title = "alice@db1",
    .user = "alice",
    .target = "db1",
    .session_id = 42,
    .command = NULL,
};

static struct cast_writer *
open_writer(struct fixture *f)
{
	struct cast_writer *w = NULL;

	unlink(f->path);
	assert_int_equal(cast_open(f->path, &sample_header, &w), PIM_OK);
	assert_non_null(w);
	return w;
}

static void
append(char **buf, size_t *len, json_t *s)
{
	size_t n = json_string_length(s);

	*buf = realloc(*buf, *len + n + 1);
	assert_non_null(*buf);
	memcpy(*buf + *len, json_string_value(s), n);
	*len += n;
	(*buf)[*len] = '\0';
}

static void
parse_event(struct parsed *p, const char *line)
{
	json_error_t jerr;
	json_t *ev, *code, *data;

	ev = json_loads(line, JSON_ALLOW_NUL, &jerr);
	if (ev == NULL)
		fail_msg("invalid JSON line: %s (%s)", line, jerr.text);
	assert_true(json_is_array(ev));
	assert_int_equal(json_array_size(ev), 3);
	assert_true(json_is_real(json_array_get(ev, 0)));
	code = json_array_get(ev, 1);
	data = json_array_get(ev, 2);
	assert_true(json_is_string(code));
	assert_true(json_is_string(data));
	if (strcmp(json_string_value(code), "o") == 0)
		append(&p->out, &p->out_len, data);
	else if (strcmp(json_string_value(code), "i") == 0)
		append(&p->in, &p->in_len, data);
	else if (strcmp(json_string_value(code), "r") == 0)
		snprintf(p->resize, sizeof(p->resize), "%s",
		    json_string_value(data));
	else
		fail_msg("unexpected event code %s", json_string_value(code));
	p->events++;
	json_decref(ev);
}

/* Reads the recording at PATH, asserting every line is valid JSON. */
static void
parse_file(const char *path, struct parsed *p)
{
	json_error_t jerr;
	char *line = NULL, *save = NULL;
	FILE *fp;
	long size;

	memset(p, 0, sizeof(*p));
	p->out = calloc(1, 1);
	p->in = calloc(1, 1);
	fp = fopen(path, "r");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	rewind(fp);
	p->raw = calloc(1, (size_t)size + 1);
	assert_int_equal(fread(p->raw, 1, (size_t)size, fp), (size_t)size);
	fclose(fp);
	assert_true(size > 0 && p->raw[size - 1] == '\n');

	line = strdup(p->raw);
	save = line;
	p->header = json_loads(strsep(&line, "\n"), 0, &jerr);
	assert_non_null(p->header);
	while (line != NULL && *line != '\0')
		parse_event(p, strsep(&line, "\n"));
	free(save);
}

static void
parsed_free(struct parsed *p)
{
	json_decref(p->header);
	free(p->out);
	free(p->in);
	free(p->raw);
}

/* Writes CHUNKS as output events, closes, checks the joined text. */
static void
check_output(struct fixture *f, const char *const *chunks, size_t n,
    const size_t *lens, const char *expect, size_t expect_len)
{
	struct cast_writer *w = open_writer(f);
	struct parsed p;
	size_t i;

	for (i = 0; i < n; i++) {
		size_t len = lens ? lens[i] : strlen(chunks[i]);

		assert_int_equal(
		    cast_output(w, 0.1 * (double)i, chunks[i], len), PIM_OK);
	}
	assert_int_equal(cast_close(w), PIM_OK);
	parse_file(f->path, &p);
	assert_int_equal(p.out_len, expect_len);
	assert_memory_equal(p.out, expect, expect_len);
	parsed_free(&p);
}

static void
test_header(void **state)
{
	struct fixture *f = *state;
	struct cast_writer *w = open_writer(f);
	struct parsed p;
	json_t *h, *pg;
	struct stat st;

	assert_int_equal(cast_close(w), PIM_OK);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	parse_file(f->path, &p);
	h = p.header;
	assert_int_equal(json_integer_value(json_object_get(h, "version")), 2);
	assert_int_equal(json_integer_value(json_object_get(h, "width")), 80);
	assert_int_equal(json_integer_value(json_object_get(h, "height")), 24);
	assert_int_equal(
	    json_integer_value(json_object_get(h, "timestamp")), 1796396400);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(h, "env"), "TERM")),
	    "xterm-256color");
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(h, "env"), "SHELL")),
	    "/bin/sh");
	assert_string_equal(
	    json_string_value(json_object_get(h, "title")), "alice@db1");
	pg = json_object_get(h, "pimgate");
	assert_string_equal(
	    json_string_value(json_object_get(pg, "user")), "alice");
	assert_string_equal(
	    json_string_value(json_object_get(pg, "target")), "db1");
	assert_int_equal(
	    json_integer_value(json_object_get(pg, "session")), 42);
	assert_true(json_is_null(json_object_get(pg, "command")));
	assert_int_equal(p.events, 0);
	parsed_free(&p);
}

/* Header strings from outside may hold any bytes. */
static void
test_header_hostile(void **state)
{
	struct fixture *f = *state;
	struct cast_header h = sample_header;
	struct cast_writer *w = NULL;
	struct parsed p;
	json_t *pg;

	h.command = "echo \"hi\"\n\\ \xff\x1b";
	h.term = NULL;
	h.title = NULL;
	assert_int_equal(cast_open(f->path, &h, &w), PIM_OK);
	assert_int_equal(cast_close(w), PIM_OK);
	parse_file(f->path, &p);
	pg = json_object_get(p.header, "pimgate");
	assert_string_equal(json_string_value(json_object_get(pg, "command")),
	    "echo \"hi\"\n\\ " FFFD "\x1b");
	assert_null(json_object_get(p.header, "title"));
	assert_null(json_object_get(json_object_get(p.header, "env"), "TERM"));
	parsed_free(&p);
}

static void
test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct cast_header h = sample_header;
	struct cast_writer *w = open_writer(f);

	assert_int_equal(cast_close(w), PIM_OK);
	w = NULL;
	assert_int_equal(cast_open(f->path, &sample_header, &w), PIM_EEXIST);
	assert_null(w);
	assert_int_equal(
	    cast_open("/nonexistent-dir/x.cast", &sample_header, &w), PIM_EIO);
	h.width = 0;
	unlink(f->path);
	assert_int_equal(cast_open(f->path, &h, &w), PIM_EINVAL);
	assert_int_equal(access(f->path, F_OK), -1);
}

static void
test_plain_and_escapes(void **state)
{
	static const char text[] = "hello \"world\" \\ back\x00"
				   "\x01\x1b[0m\x7f\n\r\t\b\f end";
	const char *chunks[] = {text};
	size_t lens[] = {sizeof(text) - 1};
	struct fixture *f = *state;
	struct parsed p;

	check_output(f, chunks, 1, lens, text, sizeof(text) - 1);
	parse_file(f->path, &p);
	assert_non_null(strstr(p.raw, "\\\"world\\\" \\\\ back\\u0000"));
	assert_non_null(strstr(p.raw, "\\u0001\\u001b[0m\\u007f"));
	assert_non_null(strstr(p.raw, "\\n\\r\\t\\b\\f end"));
	assert_non_null(strstr(p.raw, "\n[0.000000, \"o\", \"hello "));
	parsed_free(&p);
}

static void
test_valid_utf8(void **state)
{
	static const char expect[] =
	    "caf\xc3\xa9 \xe2\x82\xac " EMOJI " \xf4\x8f\xbf\xbf";
	const char *chunks[] = {
	    "caf\xc3\xa9 ", "\xe2\x82\xac ", EMOJI, " \xf4\x8f\xbf\xbf"};

	check_output(*state, chunks, 4, NULL, expect, sizeof(expect) - 1);
}

/* A four-byte sequence cut at every position, and byte by byte. */
static void
test_split_emoji(void **state)
{
	static const char emoji[] = EMOJI;
	const char expect[] = "a" EMOJI "b";
	char first[8], second[8];
	const char *chunks[4];
	size_t cut;

	for (cut = 1; cut < 4; cut++) {
		first[0] = 'a';
		memcpy(first + 1, emoji, cut);
		first[cut + 1] = '\0';
		memcpy(second, emoji + cut, 4 - cut);
		second[4 - cut] = 'b';
		second[5 - cut] = '\0';
		chunks[0] = first;
		chunks[1] = second;
		check_output(*state, chunks, 2, NULL, expect, 6);
	}

	chunks[0] = "\xf0";
	chunks[1] = "\x9f";
	chunks[2] = "\x98";
	chunks[3] = "\x80";
	check_output(*state, chunks, 4, NULL, EMOJI, 4);
}

/* A carried tail gets no event of its own. */
static void
test_split_no_empty_event(void **state)
{
	struct fixture *f = *state;
	struct cast_writer *w = open_writer(f);
	struct parsed p;

	assert_int_equal(cast_output(w, 0.5, "\xe2", 1), PIM_OK);
	assert_int_equal(cast_output(w, 0.6, "\x82", 1), PIM_OK);
	assert_int_equal(cast_output(w, 0.7, "\xac", 1), PIM_OK);
	assert_int_equal(cast_output(w, 0.8, "", 0), PIM_OK);
	assert_int_equal(cast_close(w), PIM_OK);
	parse_file(f->path, &p);
	assert_int_equal(p.events, 1);
	assert_string_equal(p.out, "\xe2\x82\xac");
	assert_non_null(strstr(p.raw, "[0.700000, \"o\", \""));
	parsed_free(&p);
}

static void
test_invalid_bytes(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
	    {"\xff", FFFD},
	    {"a\x80z", "a" FFFD "z"},
	    {"\xc0\xaf", FFFD FFFD}, /* overlong '/' */
	    {"\xc1\xbf", FFFD FFFD}, /* overlong */
	    {"\xe0\x80\xaf", FFFD FFFD FFFD}, /* overlong, three bytes */
	    {"\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD},
	    {"\xed\xa0\x80", FFFD FFFD FFFD}, /* surrogate U+D800 */
	    {"\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD}, /* past U+10FFFF */
	    {"\xf5\x80", FFFD FFFD},
	    {"\xe2\x82"
	     "A",
		FFFD "A"}, /* cut short in the middle */
	    {"\xf0\x9f\x98"
	     "\n",
		FFFD "\n"},
	    {"\xe2\xe2\x82\xac", FFFD "\xe2\x82\xac"},
	};
	const char *chunks[1];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		chunks[0] = cases[i].in;
		check_output(*state, chunks, 1, NULL, cases[i].out,
		    strlen(cases[i].out));
	}
}

static void
test_invalid_after_carry(void **state)
{
	const char *a[] = {"x\xe2\x82", "A"};
	const char *b[] = {"\xf0", "\xc3\xa9"};
	const char *c[] = {"\xf0\x9f", "\x98", "\"q"};

	check_output(*state, a, 2, NULL, "x" FFFD "A", 5);
	check_output(*state, b, 2, NULL, FFFD "\xc3\xa9", 5);
	check_output(*state, c, 3, NULL, FFFD "\"q", 5);
}

/* An incomplete tail at close becomes U+FFFD. */
static void
test_tail_at_close(void **state)
{
	const char *chunks[] = {"end\xf0\x9f\x98"};

	check_output(*state, chunks, 1, NULL, "end" FFFD, 6);
}

/* Input and output carry separately. */
static void
test_streams_and_resize(void **state)
{
	struct fixture *f = *state;
	struct cast_writer *w = open_writer(f);
	struct parsed p;

	assert_int_equal(cast_output(w, 0.1, "o\xc3", 2), PIM_OK);
	assert_int_equal(cast_input(w, 0.2, "i\xe2\x82", 3), PIM_OK);
	assert_int_equal(cast_output(w, 0.3, "\xa9", 1), PIM_OK);
	assert_int_equal(cast_input(w, 0.4, "\xac", 1), PIM_OK);
	assert_int_equal(cast_resize(w, 1.5, 100, 40), PIM_OK);
	assert_int_equal(cast_resize(w, 1.6, 0, 40), PIM_EINVAL);
	assert_int_equal(cast_close(w), PIM_OK);
	parse_file(f->path, &p);
	assert_string_equal(p.out, "o\xc3\xa9");
	assert_string_equal(p.in, "i\xe2\x82\xac");
	assert_string_equal(p.resize, "100x40");
	assert_non_null(strstr(p.raw, "\n[1.500000, \"r\", \"100x40\"]\n"));
	assert_non_null(strstr(p.raw, "\n[0.200000, \"i\", \"i\"]\n"));
	parsed_free(&p);
}

static void
test_bytes_and_flush(void **state)
{
	struct fixture *f = *state;
	struct cast_writer *w = open_writer(f);
	struct stat st;
	int64_t n;

	assert_true(cast_bytes(w) > 0);
	assert_int_equal(cast_output(w, 12.3456789, "abc", 3), PIM_OK);
	assert_int_equal(cast_flush(w), PIM_OK);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, cast_bytes(w));
	n = cast_bytes(w);
	assert_int_equal(cast_close(w), PIM_OK);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, n);
}

/* Random valid text cut at random places comes back unchanged; random
 * bytes always give valid JSON lines. */
static void
test_random_splits(void **state)
{
	static const char *const pieces[] = {"a", "\xc3\xa9", "\xe2\x82\xac",
	    EMOJI, "\n", "\x1b", "\"", "\\", "\x7f"};
	struct fixture *f = *state;
	char text[4096], garbage[512];
	size_t len = 0, pos, cut, i;
	struct cast_writer *w;
	struct parsed p;

	srand(7);
	while (len < sizeof(text) - 8) {
		const char *s = pieces[rand() % 9];

		memcpy(text + len, s, strlen(s));
		len += strlen(s);
	}
	for (i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)(rand() & 0xff);

	w = open_writer(f);
	for (pos = 0; pos < len; pos += cut) {
		cut = 1 + (size_t)rand() % 9;
		cut = cut > len - pos ? len - pos : cut;
		assert_int_equal(cast_output(w, 0.0, text + pos, cut), PIM_OK);
		if (rand() % 4 == 0)
			cast_input(w, 0.0, garbage + rand() % 500, 7);
	}
	assert_int_equal(cast_close(w), PIM_OK);
	parse_file(f->path, &p);
	assert_int_equal(p.out_len, len);
	assert_memory_equal(p.out, text, len);
	parsed_free(&p);
}

static void
write_sample(struct fixture *f)
{
	struct cast_writer *w = open_writer(f);

	assert_int_equal(cast_output(w, 0.0, "hello ", 6), PIM_OK);
	assert_int_equal(cast_input(w, 0.01, "ls\r", 3), PIM_OK);
	assert_int_equal(cast_resize(w, 0.02, 120, 30), PIM_OK);
	assert_int_equal(cast_output(w, 0.03, "w\xc3\xb6rld\r\n", 8), PIM_OK);
	assert_int_equal(cast_close(w), PIM_OK);
}

static void
play_to_string(const char *path, double speed, char **out, int *r)
{
	char err[256];
	size_t len = 0;
	FILE *fp = open_memstream(out, &len);

	assert_non_null(fp);
	*r = cast_play(path, speed, fp, err, sizeof(err));
	fclose(fp);
}

static void
test_play(void **state)
{
	struct fixture *f = *state;
	char *out = NULL;
	int r;

	write_sample(f);
	play_to_string(f->path, 0, &out, &r);
	assert_int_equal(r, PIM_OK);
	assert_string_equal(out, "hello w\xc3\xb6rld\r\n");
	free(out);

	play_to_string(f->path, 10.0, &out, &r);
	assert_int_equal(r, PIM_OK);
	assert_string_equal(out, "hello w\xc3\xb6rld\r\n");
	free(out);
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
test_play_errors(void **state)
{
	struct fixture *f = *state;
	char err[256];
	char *out = NULL;
	int r;

	assert_int_equal(
	    cast_play("/nonexistent.cast", 0, stdout, err, sizeof(err)),
	    PIM_EIO);

	write_file(f->path, "{\"version\":1,\"width\":80,\"height\":24}\n");
	assert_int_equal(
	    cast_play(f->path, 0, stdout, err, sizeof(err)), PIM_EINVAL);
	assert_non_null(strstr(err, "version 2"));

	write_file(f->path, "not json\n");
	assert_int_equal(
	    cast_play(f->path, 0, stdout, err, sizeof(err)), PIM_EINVAL);

	write_file(f->path, "");
	assert_int_equal(
	    cast_play(f->path, 0, stdout, err, sizeof(err)), PIM_EINVAL);

	write_file(f->path, "{\"version\":2}\n[0.1, \"o\", \"a\"]\n\n"
			    "[0.2, \"m\", \"\"]\n{\"oops\":1}\n");
	play_to_string(f->path, 0, &out, &r);
	assert_int_equal(r, PIM_EINVAL);
	assert_string_equal(out, "a");
	free(out);
}

/* --- the writer thread --- */

#define ASYNC_THREADS 4
#define ASYNC_PER_THREAD 2
#define ASYNC_TEXT (512 * 1024)
#define DEADLINE_S 30

static uint32_t
xs_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 32);
}

/* Fills TEXT with LEN bytes of valid UTF-8 that needs escaping here and
 * there, from SEED. */
static void
make_text(unsigned seed, char *text, size_t len)
{
	static const char *const pieces[] = {"plain words ", "\xc3\xa9",
	    "\xe2\x82\xac", EMOJI, "\r\n", "\x1b[0m", "\"", "\\", "\x7f",
	    "\xd0\x9f\xd1\x80\xd0\xb8", "\xe4\xb8\x96\xe7\x95\x8c", "\t"};
	uint64_t s = seed * 2654435761u + 7;
	size_t pos = 0, n;

	while (pos < len) {
		const char *p = pieces[xs_next(&s) % 12];

		n = strlen(p);
		if (n > len - pos) {
			memset(text + pos, 'x', len - pos);
			break;
		}
		memcpy(text + pos, p, n);
		pos += n;
	}
}

/* Feeds TEXT to W as output events of random sizes, cut anywhere (some
 * larger than a chunk), mixed with binary input, resizes and flushes,
 * all decided by SEED. Returns the number of calls that failed. */
static int
run_script(struct cast_writer *w, unsigned seed, const char *text, size_t len)
{
	uint64_t s = seed * 40503u + 1;
	unsigned char bin[64];
	size_t pos = 0, n, i;
	int failed = 0;
	double t = 0;

	while (pos < len) {
		t += 0.001;
		n = xs_next(&s) % 100 < 2 ? 65536 + xs_next(&s) % 200000
					  : 1 + xs_next(&s) % 300;
		n = n < len - pos ? n : len - pos;
		failed += cast_output(w, t, text + pos, n) != PIM_OK;
		pos += n;
		switch (xs_next(&s) % 20) {
		case 0:
		case 1:
		case 2:
			n = 1 + xs_next(&s) % sizeof(bin);
			for (i = 0; i < n; i++)
				bin[i] = (unsigned char)xs_next(&s);
			failed += cast_input(w, t, bin, n) != PIM_OK;
			break;
		case 3:
			failed +=
			    cast_resize(w, t, 20 + (int)(xs_next(&s) % 200),
				10 + (int)(xs_next(&s) % 60)) != PIM_OK;
			break;
		case 4:
			failed += cast_flush(w) != PIM_OK;
			break;
		}
	}
	return failed;
}

struct async_job {
	const char *dir;
	int first; /* index of its first writer */
	char *texts[ASYNC_PER_THREAD];
	int failed;
};

static void
async_path(const char *dir, const char *kind, int i, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s%d.cast", dir, kind, i);
}

/* Writes its writers' scripts interleaved, event by event in turns of
 * a script each, then closes them. */
static void *
async_worker(void *arg)
{
	struct async_job *job = arg;
	struct cast_writer *w[ASYNC_PER_THREAD];
	char path[256];
	int i, half;

	for (i = 0; i < ASYNC_PER_THREAD; i++) {
		async_path(job->dir, "a", job->first + i, path, sizeof(path));
		if (cast_open(path, &sample_header, &w[i]) != PIM_OK)
			return (void *)(job->failed = 1, NULL);
	}
	/* Halves of each script in turn, so the writers interleave. */
	for (half = 0; half < 2; half++) {
		for (i = 0; i < ASYNC_PER_THREAD; i++)
			job->failed += run_script(w[i],
			    (unsigned)(job->first + i) * 2 + (unsigned)half,
			    job->texts[i] + half * (ASYNC_TEXT / 2),
			    ASYNC_TEXT / 2);
	}
	for (i = 0; i < ASYNC_PER_THREAD; i++)
		job->failed += cast_close(w[i]) != PIM_OK;
	return NULL;
}

static char *
read_all(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long size;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, fp), (size_t)size);
	fclose(fp);
	*len = (size_t)size;
	return buf;
}

/* The same script written synchronously, for comparison. */
static void
write_reference(const char *path, int i, const char *text)
{
	struct cast_writer *w = NULL;
	int half;

	assert_int_equal(cast_open(path, &sample_header, &w), PIM_OK);
	for (half = 0; half < 2; half++)
		assert_int_equal(
		    run_script(w, (unsigned)i * 2 + (unsigned)half,
			text + half * (ASYNC_TEXT / 2), ASYNC_TEXT / 2),
		    0);
	assert_int_equal(cast_close(w), PIM_OK);
}

/* Several threads write several recordings at once through the writer
 * thread; each file must be valid, hold exactly the text written, and
 * match byte for byte the file the synchronous writer makes of the same
 * calls. */
static void
test_async_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct async_job jobs[ASYNC_THREADS];
	pthread_t threads[ASYNC_THREADS];
	char path[256], ref[256];
	char *got, *want;
	size_t got_len, want_len;
	struct parsed p;
	int i, j;

	assert_int_equal(cast_writer_thread_start(), PIM_OK);
	assert_int_equal(cast_writer_thread_start(), PIM_EINVAL);
	for (i = 0; i < ASYNC_THREADS; i++) {
		jobs[i] = (struct async_job){.dir = f->dir};
		jobs[i].first = i * ASYNC_PER_THREAD;
		for (j = 0; j < ASYNC_PER_THREAD; j++) {
			jobs[i].texts[j] = malloc(ASYNC_TEXT);
			assert_non_null(jobs[i].texts[j]);
			make_text((unsigned)(jobs[i].first + j),
			    jobs[i].texts[j], ASYNC_TEXT);
		}
		assert_int_equal(
		    pthread_create(&threads[i], NULL, async_worker, &jobs[i]),
		    0);
	}
	for (i = 0; i < ASYNC_THREADS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	cast_writer_thread_stop();

	for (i = 0; i < ASYNC_THREADS; i++) {
		assert_int_equal(jobs[i].failed, 0);
		for (j = 0; j < ASYNC_PER_THREAD; j++) {
			int k = jobs[i].first + j;

			async_path(f->dir, "a", k, path, sizeof(path));
			parse_file(path, &p);
			assert_int_equal(p.out_len, ASYNC_TEXT);
			assert_memory_equal(
			    p.out, jobs[i].texts[j], ASYNC_TEXT);
			parsed_free(&p);

			async_path(f->dir, "ref", k, ref, sizeof(ref));
			write_reference(ref, k, jobs[i].texts[j]);
			got = read_all(path, &got_len);
			want = read_all(ref, &want_len);
			assert_int_equal(got_len, want_len);
			assert_memory_equal(got, want, want_len);
			free(got);
			free(want);
			free(jobs[i].texts[j]);
		}
	}
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
pause_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000};

	nanosleep(&ts, NULL);
}

/* Polls until W's backlog is 0, failing after DEADLINE_S seconds. */
static void
wait_backlog_empty(const struct cast_writer *w)
{
	double deadline = now_s() + DEADLINE_S;

	while (cast_backlog(w) != 0) {
		if (now_s() > deadline)
			fail_msg("backlog stuck at %zu", cast_backlog(w));
		pause_ms(1);
	}
}

static void
write_text(struct cast_writer *w, const char *text, size_t len)
{
	size_t pos, n;

	for (pos = 0; pos < len; pos += n) {
		n = len - pos < 32768 ? len - pos : 32768;
		assert_int_equal(cast_output(w, 0.5, text + pos, n), PIM_OK);
	}
}

static void
test_async_backlog_drains(void **state)
{
	struct fixture *f = *state;
	size_t len = 3 * 1024 * 1024;
	char *text = malloc(len);
	struct cast_writer *w;
	struct parsed p;
	struct stat st;

	assert_non_null(text);
	make_text(99, text, len);
	assert_int_equal(cast_writer_thread_start(), PIM_OK);
	w = open_writer(f);
	write_text(w, text, len - 5);
	/* A short event stays in the buffer until flushed. */
	assert_int_equal(cast_output(w, 0.6, text + len - 5, 5), PIM_OK);
	assert_true(cast_backlog(w) >= 5);
	assert_true(cast_backlog(w) <= (size_t)cast_bytes(w));
	assert_int_equal(cast_flush(w), PIM_OK);
	wait_backlog_empty(w);
	assert_int_equal(cast_error(w), PIM_OK);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, cast_bytes(w));

	assert_int_equal(cast_close(w), PIM_OK);
	cast_writer_thread_stop();
	parse_file(f->path, &p);
	assert_int_equal(p.out_len, len);
	assert_memory_equal(p.out, text, len);
	parsed_free(&p);
	free(text);
}

/* A stop with chunks still queued writes them all: closed writers are
 * complete, open ones carry on synchronously. */
static void
test_async_stop_writes_queued(void **state)
{
	struct fixture *f = *state;
	size_t len = 4 * 1024 * 1024;
	char *text = malloc(len);
	struct cast_writer *w[3];
	char path[3][256];
	struct parsed p;
	int i;

	assert_non_null(text);
	make_text(5, text, len);
	assert_int_equal(cast_writer_thread_start(), PIM_OK);
	for (i = 0; i < 3; i++) {
		async_path(f->dir, "q", i, path[i], sizeof(path[i]));
		assert_int_equal(
		    cast_open(path[i], &sample_header, &w[i]), PIM_OK);
		write_text(w[i], text, len - 3);
	}
	assert_int_equal(cast_close(w[0]), PIM_OK);
	assert_int_equal(cast_flush(w[1]), PIM_OK);
	cast_writer_thread_stop(); /* w[2] still holds unflushed bytes */
	cast_writer_thread_stop(); /* not running: nothing to do */

	for (i = 1; i < 3; i++) {
		assert_int_equal(
		    cast_output(w[i], 1.0, text + len - 3, 3), PIM_OK);
		assert_int_equal(cast_flush(w[i]), PIM_OK);
		assert_int_equal(cast_backlog(w[i]), 0);
		assert_int_equal(cast_close(w[i]), PIM_OK);
	}
	for (i = 0; i < 3; i++) {
		parse_file(path[i], &p);
		assert_int_equal(p.out_len, i == 0 ? len - 3 : len);
		assert_memory_equal(p.out, text, p.out_len);
		parsed_free(&p);
	}
	free(text);
}

/* Write errors, made by a file size limit (no hook in the writer): the
 * write past the limit fails with EFBIG. */
struct fsize_limit {
	struct rlimit old;
	void (*old_handler)(int);
};

static void
limit_file_size(rlim_t max, struct fsize_limit *save)
{
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &save->old), 0);
	save->old_handler = signal(SIGXFSZ, SIG_IGN);
	rl = save->old;
	rl.rlim_cur = max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static void
unlimit_file_size(const struct fsize_limit *save)
{
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &save->old), 0);
	signal(SIGXFSZ, save->old_handler);
}

#define FSIZE_LIMIT (100 * 1024)

static void
test_write_error_sync(void **state)
{
	struct fixture *f = *state;
	size_t len = 512 * 1024, pos;
	char *text = malloc(len);
	struct fsize_limit save;
	struct cast_writer *w;
	struct stat st;
	int r = PIM_OK;

	assert_non_null(text);
	make_text(3, text, len);
	limit_file_size(FSIZE_LIMIT, &save);
	w = open_writer(f);
	assert_int_equal(cast_error(w), PIM_OK);
	for (pos = 0; pos < len && r == PIM_OK; pos += 1000)
		r = cast_output(
		    w, 0.1, text + pos, len - pos < 1000 ? len - pos : 1000);
	assert_int_equal(r, PIM_EIO);
	assert_int_equal(cast_error(w), PIM_EIO);
	assert_int_equal(cast_output(w, 0.2, "more", 4), PIM_EIO);
	assert_int_equal(cast_flush(w), PIM_EIO);
	assert_int_equal(cast_close(w), PIM_EIO);
	unlimit_file_size(&save);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, FSIZE_LIMIT);
	free(text);
}

static void
test_write_error_async(void **state)
{
	struct fixture *f = *state;
	size_t len = 512 * 1024, pos;
	char *text = malloc(len);
	struct fsize_limit save;
	struct cast_writer *w;
	double deadline;
	struct stat st;
	int r = PIM_OK;

	assert_non_null(text);
	make_text(4, text, len);
	limit_file_size(FSIZE_LIMIT, &save);
	assert_int_equal(cast_writer_thread_start(), PIM_OK);
	w = open_writer(f);
	/* The calls see the error once the thread has met it. */
	for (pos = 0; pos < len; pos += 1000)
		r = cast_output(
		    w, 0.1, text + pos, len - pos < 1000 ? len - pos : 1000);
	assert_true(r == PIM_OK || r == PIM_EIO);
	r = cast_flush(w);
	assert_true(r == PIM_OK || r == PIM_EIO);
	deadline = now_s() + DEADLINE_S;
	while (cast_error(w) == PIM_OK) {
		if (now_s() > deadline)
			fail_msg("no write error reported");
		pause_ms(1);
	}
	assert_int_equal(cast_error(w), PIM_EIO);
	assert_int_equal(cast_output(w, 0.2, "more", 4), PIM_EIO);
	wait_backlog_empty(w); /* what follows the error is dropped */
	assert_int_equal(cast_close(w), PIM_EIO);
	cast_writer_thread_stop();
	unlimit_file_size(&save);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, FSIZE_LIMIT);
	free(text);
}

/* One call far larger than a chunk, binary, gives the same text as the
 * same bytes in many small calls. */
static void
test_large_event(void **state)
{
	struct fixture *f = *state;
	size_t len = 1024 * 1024, pos, n;
	unsigned char *bin = malloc(len);
	struct cast_writer *w;
	struct parsed one, many;
	uint64_t s = 77;

	assert_non_null(bin);
	for (pos = 0; pos < len; pos++)
		bin[pos] = (unsigned char)xs_next(&s);
	bin[len - 1] = 'z'; /* no tail left for cast_close */
	w = open_writer(f);
	assert_int_equal(cast_output(w, 0.1, bin, len), PIM_OK);
	assert_int_equal(cast_close(w), PIM_OK);
	parse_file(f->path, &one);
	assert_int_equal(one.events, 1);

	w = open_writer(f);
	for (pos = 0; pos < len; pos += n) {
		n = 1 + xs_next(&s) % 7000;
		n = n < len - pos ? n : len - pos;
		assert_int_equal(cast_output(w, 0.1, bin + pos, n), PIM_OK);
	}
	assert_int_equal(cast_close(w), PIM_OK);
	parse_file(f->path, &many);
	assert_int_equal(one.out_len, many.out_len);
	assert_memory_equal(one.out, many.out, one.out_len);
	parsed_free(&one);
	parsed_free(&many);
	free(bin);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_header, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_header_hostile, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_plain_and_escapes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_valid_utf8, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_split_emoji, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_split_no_empty_event, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_invalid_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_invalid_after_carry, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_tail_at_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_streams_and_resize, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_bytes_and_flush, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_random_splits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_play, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_play_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_event, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_async_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_async_backlog_drains, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_async_stop_writes_queued, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_write_error_sync, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_write_error_async, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
