/* Unit tests for query logs (record.h, qlog_*). Every line a log holds is
 * parsed back with jansson and its fields checked. */
#include <dirent.h>
#include <math.h>
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
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "pimgate/err.h"
#include "pimgate/record.h"

#define EMOJI "\xf0\x9f\x98\x80" /* U+1F600 */
#define FFFD "\xef\xbf\xbd"
#define START_MS INT64_C(1796409600123) /* 2026-12-04T18:40:00.123Z */
#define MAX_LINES 4096

struct fixture {
	char dir[64];
	char path[128];
};

/* A query log read back: every line parsed. */
struct parsed {
	json_t *lines[MAX_LINES];
	char *raw_lines[MAX_LINES];
	size_t n;
	char *raw; /* the whole file */
	size_t size;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/pimgate-test-qlog-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/s.qlog", f->dir);
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

static const struct qlog_header sample_header = {
    .session_id = 12,
    .user = "alice",
    .target = "clientsdb",
    .database = "records",
    .start_ms = START_MS,
};

static struct cast_writer *
open_log(const char *path)
{
	struct cast_writer *w = NULL;

	assert_int_equal(qlog_open(path, &sample_header, &w), PIM_OK);
	assert_non_null(w);
	return w;
}

static char *
read_all(const char *path, size_t *size)
{
	char *raw;
	FILE *fp;
	long n;

	fp = fopen(path, "r");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	raw = calloc(1, (size_t)n + 1);
	assert_non_null(raw);
	assert_int_equal(fread(raw, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*size = (size_t)n;
	return raw;
}

/* Reads the log at PATH; every line must be one JSON object, without a
 * repeated key, and the file must end with a newline. */
static void
parse_file(const char *path, struct parsed *p)
{
	json_error_t jerr;
	char *line, *next;

	memset(p, 0, sizeof(*p));
	p->raw = read_all(path, &p->size);
	assert_true(p->size > 0 && p->raw[p->size - 1] == '\n');
	for (line = p->raw; *line != '\0'; line = next + 1) {
		next = strchr(line, '\n');
		assert_non_null(next);
		*next = '\0';
		assert_true(p->n < MAX_LINES);
		p->raw_lines[p->n] = line;
		p->lines[p->n] = json_loads(
		    line, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
		if (p->lines[p->n] == NULL)
			fail_msg("invalid JSON line %zu: %s (%s)", p->n, line,
			    jerr.text);
		assert_true(json_is_object(p->lines[p->n]));
		p->n++;
	}
}

static void
parsed_free(struct parsed *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		json_decref(p->lines[i]);
	free(p->raw);
}

/* Asserts that string KEY of O holds exactly the LEN bytes at EXPECT. */
static void
check_bytes(json_t *o, const char *key, const char *expect, size_t len)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("no string \"%s\"", key);
	assert_int_equal(json_string_length(v), len);
	assert_memory_equal(json_string_value(v), expect, len);
}

static void
check_str(json_t *o, const char *key, const char *expect)
{
	check_bytes(o, key, expect, strlen(expect));
}

/* Checks the fields every event has, and that it has NFIELDS in all. */
static void
check_event(
    json_t *ev, const char *type, double t, const char *when, size_t nfields)
{
	json_t *jt = json_object_get(ev, "t");

	assert_true(json_is_number(jt));
	assert_true(fabs(json_number_value(jt) - t) < 1e-9);
	check_str(ev, "time", when);
	check_str(ev, "type", type);
	assert_int_equal(json_object_size(ev), nfields);
}

static void
check_truncated(json_t *ev, size_t full_len)
{
	assert_true(json_is_true(json_object_get(ev, "truncated")));
	assert_int_equal(
	    json_integer_value(json_object_get(ev, "length")), full_len);
}

static void
check_header(json_t *h)
{
	assert_int_equal(json_object_size(h), 7);
	assert_int_equal(json_integer_value(json_object_get(h, "version")), 1);
	check_str(h, "kind", "pimgate-query-log");
	assert_int_equal(json_integer_value(json_object_get(h, "session")), 12);
	check_str(h, "user", "alice");
	check_str(h, "target", "clientsdb");
	check_str(h, "database", "records");
	check_str(h, "start", "2026-12-04T18:40:00.123Z");
}

/* SQL that needs every kind of escape, given with its length (it holds
 * a NUL) and what it must read as. */
static const char hostile_sql[] =
    "SELECT 'it''s', \"col\"\n\tFROM t\r -- \\ \x01\x1f\x7f\x00 "
    "caf\xc3\xa9 \xe2\x82\xac " EMOJI " bad\xff\xfe \xc3( \xed\xa0\x80 "
    "end\xe2\x82";
static const char hostile_expect[] =
    "SELECT 'it''s', \"col\"\n\tFROM t\r -- \\ \x01\x1f\x7f\x00 "
    "caf\xc3\xa9 \xe2\x82\xac " EMOJI " bad" FFFD FFFD " " FFFD
    "( " FFFD FFFD FFFD " end" FFFD;

/* Writes one event of each kind (lines 1 to 13 of the log). */
static void
write_every_event(struct cast_writer *w, const char *big, size_t big_len)
{
	assert_int_equal(
	    qlog_query(w, START_MS + 512, "SELECT 1", 8, 8), PIM_OK);
	assert_int_equal(qlog_query(w, START_MS + 1000, hostile_sql,
			     sizeof(hostile_sql) - 1, sizeof(hostile_sql) - 1),
	    PIM_OK);
	assert_int_equal(
	    qlog_query(w, START_MS + 1001, "SELECT * FROM big", 6, 70000),
	    PIM_OK);
	assert_int_equal(
	    qlog_query(w, START_MS + 61234, big, big_len, big_len), PIM_OK);
	assert_int_equal(
	    qlog_parse(w, START_MS + 2000, "", "SELECT $1", 9, 9, 1), PIM_OK);
	assert_int_equal(qlog_parse(w, START_MS + 2001, "s\"1\n\xff",
			     "INSERT INTO t VALUES ($1, $2)", 11, 29, 2),
	    PIM_OK);
	assert_int_equal(qlog_complete(w, START_MS + 2500, "SELECT 1"), PIM_OK);
	assert_int_equal(
	    qlog_complete(w, START_MS + 2501, "TAG\t\x02\xc3"), PIM_OK);
	assert_int_equal(qlog_error(w, START_MS + 3000, "ERROR", "42P01",
			     "relation \"x\" does not exist\n\xf0\x9f"),
	    PIM_OK);
	assert_int_equal(
	    qlog_event(w, START_MS + 4000, "cancel", NULL, NULL), PIM_OK);
	assert_int_equal(
	    qlog_event(w, START_MS - 5000, "clock", "note", "back"), PIM_OK);
	assert_int_equal(
	    qlog_event(w, START_MS + 3600000, "end", "reason", "expired"),
	    PIM_OK);
}

static void
check_queries(const struct parsed *p, const char *big)
{
	json_t *ev;

	ev = p->lines[1];
	check_event(ev, "query", 0.512, "2026-12-04T18:40:00.635Z", 4);
	check_str(ev, "sql", "SELECT 1");
	assert_non_null(strstr(p->raw_lines[1],
	    "{\"t\":0.512,\"time\":\"2026-12-04T18:40:00.635Z\","
	    "\"type\":\"query\",\"sql\":\"SELECT 1\"}"));

	ev = p->lines[2];
	check_event(ev, "query", 1.0, "2026-12-04T18:40:01.123Z", 4);
	check_bytes(ev, "sql", hostile_expect, sizeof(hostile_expect) - 1);
	assert_non_null(strstr(p->raw_lines[2], "{\"t\":1.000,"));

	ev = p->lines[3];
	check_event(ev, "query", 1.001, "2026-12-04T18:40:01.124Z", 6);
	check_str(ev, "sql", "SELECT");
	check_truncated(ev, 70000);

	/* Longer than QLOG_SQL_MAX: cut there by the log itself. */
	ev = p->lines[4];
	check_event(ev, "query", 61.234, "2026-12-04T18:41:01.357Z", 6);
	check_bytes(ev, "sql", big, QLOG_SQL_MAX);
	check_truncated(ev, 70000);
}

static void
check_others(const struct parsed *p)
{
	json_t *ev;

	ev = p->lines[5];
	check_event(ev, "parse", 2.0, "2026-12-04T18:40:02.123Z", 6);
	check_str(ev, "statement", "");
	check_str(ev, "sql", "SELECT $1");
	assert_int_equal(json_integer_value(json_object_get(ev, "params")), 1);

	ev = p->lines[6];
	check_event(ev, "parse", 2.001, "2026-12-04T18:40:02.124Z", 8);
	check_str(ev, "statement", "s\"1\n" FFFD);
	check_str(ev, "sql", "INSERT INTO");
	check_truncated(ev, 29);
	assert_int_equal(json_integer_value(json_object_get(ev, "params")), 2);

	ev = p->lines[7];
	check_event(ev, "complete", 2.5, "2026-12-04T18:40:02.623Z", 4);
	check_str(ev, "tag", "SELECT 1");
	ev = p->lines[8];
	check_event(ev, "complete", 2.501, "2026-12-04T18:40:02.624Z", 4);
	check_str(ev, "tag", "TAG\t\x02" FFFD);

	ev = p->lines[9];
	check_event(ev, "error", 3.0, "2026-12-04T18:40:03.123Z", 6);
	check_str(ev, "severity", "ERROR");
	check_str(ev, "sqlstate", "42P01");
	check_str(ev, "message", "relation \"x\" does not exist\n" FFFD);

	check_event(p->lines[10], "cancel", 4.0, "2026-12-04T18:40:04.123Z", 3);
	/* A clock stepped back gives t 0, and the real time. */
	check_event(p->lines[11], "clock", 0.0, "2026-12-04T18:39:55.123Z", 4);
	check_str(p->lines[11], "note", "back");
	check_event(p->lines[12], "end", 3600.0, "2026-12-04T19:40:00.123Z", 4);
	check_str(p->lines[12], "reason", "expired");
}

static char *
make_big(size_t len)
{
	char *big = malloc(len);
	size_t i;

	assert_non_null(big);
	for (i = 0; i < len; i++)
		big[i] = (char)('a' + i % 26);
	return big;
}

static void
test_every_event(void **state)
{
	struct fixture *f = *state;
	char *big = make_big(70000);
	struct cast_writer *w = open_log(f->path);
	struct parsed p;
	int64_t bytes;

	write_every_event(w, big, 70000);
	bytes = cast_bytes(w);
	assert_int_equal(cast_backlog(w) > 0, 1);
	assert_int_equal(cast_error(w), PIM_OK);
	assert_int_equal(cast_close(w), PIM_OK);

	parse_file(f->path, &p);
	assert_int_equal(p.n, 13);
	assert_int_equal((int64_t)p.size, bytes);
	check_header(p.lines[0]);
	assert_non_null(strstr(p.raw_lines[0],
	    "{\"version\":1,\"kind\":\"pimgate-query-log\",\"session\":12,"));
	check_queries(&p, big);
	check_others(&p);
	parsed_free(&p);
	free(big);
}

/* SQL cut at QLOG_SQL_MAX in the middle of a sequence ends with U+FFFD;
 * text of any bytes in the header is escaped too. */
static void
test_cut_inside_sequence(void **state)
{
	struct fixture *f = *state;
	struct qlog_header h = sample_header;
	size_t len = QLOG_SQL_MAX - 1 + 4;
	char *sql = malloc(len), *expect = malloc(QLOG_SQL_MAX + 2);
	struct cast_writer *w = NULL;
	struct parsed p;

	assert_non_null(sql);
	assert_non_null(expect);
	memset(sql, 'q', QLOG_SQL_MAX - 1);
	memcpy(sql + QLOG_SQL_MAX - 1, EMOJI, 4);
	memcpy(expect, sql, QLOG_SQL_MAX - 1);
	memcpy(expect + QLOG_SQL_MAX - 1, FFFD, 3);
	h.user = "bob\"\n\xff";
	h.database = "";
	assert_int_equal(qlog_open(f->path, &h, &w), PIM_OK);
	assert_int_equal(qlog_query(w, START_MS, sql, len, len), PIM_OK);
	assert_int_equal(cast_close(w), PIM_OK);

	parse_file(f->path, &p);
	assert_int_equal(p.n, 2);
	check_str(p.lines[0], "user", "bob\"\n" FFFD);
	check_str(p.lines[0], "database", "");
	check_event(p.lines[1], "query", 0.0, "2026-12-04T18:40:00.123Z", 6);
	check_bytes(p.lines[1], "sql", expect, QLOG_SQL_MAX + 2);
	check_truncated(p.lines[1], len);
	parsed_free(&p);
	free(sql);
	free(expect);
}

static void
test_open(void **state)
{
	struct fixture *f = *state;
	struct qlog_header h = sample_header;
	struct cast_writer *w = open_log(f->path);
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(cast_close(w), PIM_OK);

	w = (struct cast_writer *)&h; /* must be reset on failure */
	assert_int_equal(qlog_open(f->path, &sample_header, &w), PIM_EEXIST);
	assert_null(w);
	assert_int_equal(
	    qlog_open("/nonexistent-dir/x.qlog", &sample_header, &w), PIM_EIO);
	assert_null(w);

	unlink(f->path);
	assert_int_equal(qlog_open(NULL, &h, &w), PIM_EINVAL);
	assert_int_equal(qlog_open(f->path, NULL, &w), PIM_EINVAL);
	assert_int_equal(qlog_open(f->path, &h, NULL), PIM_EINVAL);
	h.user = NULL;
	assert_int_equal(qlog_open(f->path, &h, &w), PIM_EINVAL);
	h = sample_header;
	h.target = NULL;
	assert_int_equal(qlog_open(f->path, &h, &w), PIM_EINVAL);
	h = sample_header;
	h.database = NULL;
	assert_int_equal(qlog_open(f->path, &h, &w), PIM_EINVAL);
	h = sample_header;
	h.start_ms = -1;
	assert_int_equal(qlog_open(f->path, &h, &w), PIM_EINVAL);
	assert_int_equal(access(f->path, F_OK), -1);
}

static void
test_bad_arguments(void **state)
{
	static const struct cast_header cast_h = {
	    .width = 80, .height = 24, .user = "alice", .target = "db1"};
	struct fixture *f = *state;
	struct cast_writer *w = open_log(f->path), *cw = NULL;
	char cast_path[256];
	struct parsed p;
	int64_t now = START_MS + 1;

	assert_int_equal(qlog_query(NULL, now, "x", 1, 1), PIM_EINVAL);
	assert_int_equal(qlog_query(w, now, NULL, 1, 1), PIM_EINVAL);
	assert_int_equal(qlog_query(w, now, "xy", 2, 1), PIM_EINVAL);
	assert_int_equal(qlog_query(w, -1, "x", 1, 1), PIM_EINVAL);
	assert_int_equal(qlog_parse(NULL, now, "", "x", 1, 1, 0), PIM_EINVAL);
	assert_int_equal(qlog_parse(w, now, NULL, "x", 1, 1, 0), PIM_EINVAL);
	assert_int_equal(qlog_parse(w, now, "", NULL, 1, 1, 0), PIM_EINVAL);
	assert_int_equal(qlog_parse(w, now, "", "x", 1, 1, -1), PIM_EINVAL);
	assert_int_equal(qlog_complete(NULL, now, "x"), PIM_EINVAL);
	assert_int_equal(qlog_complete(w, now, NULL), PIM_EINVAL);
	assert_int_equal(qlog_error(NULL, now, "E", "1", "m"), PIM_EINVAL);
	assert_int_equal(qlog_error(w, now, NULL, "1", "m"), PIM_EINVAL);
	assert_int_equal(qlog_error(w, now, "E", NULL, "m"), PIM_EINVAL);
	assert_int_equal(qlog_error(w, now, "E", "1", NULL), PIM_EINVAL);
	assert_int_equal(
	    qlog_event(NULL, now, "cancel", NULL, NULL), PIM_EINVAL);
	assert_int_equal(qlog_event(w, now, NULL, NULL, NULL), PIM_EINVAL);
	assert_int_equal(qlog_event(w, now, "", NULL, NULL), PIM_EINVAL);
	assert_int_equal(qlog_event(w, now, "end", "reason", NULL), PIM_EINVAL);
	assert_int_equal(qlog_event(w, now, "end", "type", "x"), PIM_EINVAL);
	assert_int_equal(qlog_event(w, now, "end", "", "x"), PIM_EINVAL);

	/* An empty query is fine; the two kinds of writer do not mix. */
	assert_int_equal(qlog_query(w, now, NULL, 0, 0), PIM_OK);
	assert_int_equal(cast_output(w, 0.1, "x", 1), PIM_EINVAL);
	assert_int_equal(cast_resize(w, 0.1, 80, 24), PIM_EINVAL);
	snprintf(cast_path, sizeof(cast_path), "%s/s.cast", f->dir);
	assert_int_equal(cast_open(cast_path, &cast_h, &cw), PIM_OK);
	assert_int_equal(qlog_query(cw, now, "x", 1, 1), PIM_EINVAL);
	assert_int_equal(qlog_event(cw, now, "end", NULL, NULL), PIM_EINVAL);
	assert_int_equal(cast_close(cw), PIM_OK);
	assert_int_equal(cast_close(w), PIM_OK);

	parse_file(f->path, &p);
	assert_int_equal(p.n, 2);
	check_event(p.lines[1], "query", 0.001, "2026-12-04T18:40:00.124Z", 4);
	check_str(p.lines[1], "sql", "");
	parsed_free(&p);
}

/* --- with the writer thread --- */

#define ASYNC_EVENTS 3000

static void
async_sql(int i, char *buf, size_t size)
{
	snprintf(buf, size, "SELECT %d, '\xc3\xa9\"\n' FROM t%d", i, i % 7);
}

/* Writes events of every kind, some SQL longer than a chunk, so that
 * chunks are handed to the thread in the middle of the run. */
static void
write_async(struct cast_writer *w, const char *big, int first, int count)
{
	char sql[128];
	int i;

	for (i = first; i < first + count; i++) {
		async_sql(i, sql, sizeof(sql));
		if (i % 1000 == 999)
			assert_int_equal(qlog_query(w, START_MS + i, big,
					     QLOG_SQL_MAX, QLOG_SQL_MAX),
			    PIM_OK);
		else
			assert_int_equal(qlog_query(w, START_MS + i, sql,
					     strlen(sql), strlen(sql)),
			    PIM_OK);
		if (i % 100 == 0)
			assert_int_equal(cast_flush(w), PIM_OK);
	}
}

static void
check_async(const char *path, const char *big, int count)
{
	struct parsed p;
	char sql[128];
	int i;

	parse_file(path, &p);
	assert_int_equal(p.n, (size_t)count + 1);
	check_header(p.lines[0]);
	for (i = 0; i < count; i++) {
		async_sql(i, sql, sizeof(sql));
		assert_int_equal(json_object_size(p.lines[i + 1]), 4);
		if (i % 1000 == 999)
			check_bytes(p.lines[i + 1], "sql", big, QLOG_SQL_MAX);
		else
			check_str(p.lines[i + 1], "sql", sql);
	}
	parsed_free(&p);
}

/* One log closed before the stop and one still open across it: both
 * files are complete in the end. */
static void
test_writer_thread(void **state)
{
	struct fixture *f = *state;
	char *big = make_big(QLOG_SQL_MAX);
	struct cast_writer *w, *open_w;
	char path2[256];

	snprintf(path2, sizeof(path2), "%s/open.qlog", f->dir);
	assert_int_equal(cast_writer_thread_start(), PIM_OK);
	w = open_log(f->path);
	open_w = open_log(path2);
	write_async(w, big, 0, ASYNC_EVENTS);
	write_async(open_w, big, 0, ASYNC_EVENTS / 2);
	assert_int_equal(cast_close(w), PIM_OK);
	cast_writer_thread_stop();
	check_async(f->path, big, ASYNC_EVENTS);

	/* Synchronous from here on. */
	write_async(open_w, big, ASYNC_EVENTS / 2, ASYNC_EVENTS / 2);
	assert_int_equal(cast_flush(open_w), PIM_OK);
	assert_int_equal(cast_backlog(open_w), 0);
	assert_int_equal(cast_close(open_w), PIM_OK);
	check_async(path2, big, ASYNC_EVENTS);
	free(big);
}

/* A write error (made by a file size limit) is returned by the events
 * that follow it and by the close. */
static void
test_write_error(void **state)
{
	struct fixture *f = *state;
	char *big = make_big(QLOG_SQL_MAX);
	struct rlimit old, rl;
	void (*old_handler)(int);
	struct cast_writer *w;
	struct stat st;
	int r = PIM_OK, i;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	old_handler = signal(SIGXFSZ, SIG_IGN);
	rl = old;
	rl.rlim_cur = 100 * 1024;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
	w = open_log(f->path);
	for (i = 0; i < 10 && r == PIM_OK; i++)
		r = qlog_query(w, START_MS, big, QLOG_SQL_MAX, QLOG_SQL_MAX);
	assert_int_equal(r, PIM_EIO);
	assert_int_equal(cast_error(w), PIM_EIO);
	assert_int_equal(qlog_complete(w, START_MS, "SELECT 1"), PIM_EIO);
	assert_int_equal(qlog_event(w, START_MS, "end", NULL, NULL), PIM_EIO);
	assert_int_equal(cast_close(w), PIM_EIO);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, 100 * 1024);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_every_event, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_cut_inside_sequence, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_bad_arguments, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_writer_thread, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_error, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
