/* Unit tests for util: errors, logging, strings and the config file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <regex.h>
#include <unistd.h>

#include <cmocka.h>

#include "pimgate/config.h"
#include "pimgate/err.h"
#include "pimgate/log.h"
#include "pimgate/str.h"

/* --- err --- */

static void
test_strerror(void **state)
{
	assert_string_equal(pim_strerror(PIM_OK), "ok");
	assert_string_equal(pim_strerror(PIM_ENOTFOUND), "not found");
	assert_string_equal(pim_strerror(PIM_EBUSY), "busy");
	assert_string_equal(pim_strerror(12345), "unknown error");
}

/* --- log --- */

static void
test_log_str(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
	    {"alice", "alice"},
	    {"", ""},
	    {"a b", "a\\x20b"},
	    {"k=v", "k\\x3dv"},
	    {"say \"hi\"", "say\\x20\\x22hi\\x22"},
	    {"back\\slash", "back\\x5cslash"},
	    {"line\nbreak\r", "line\\x0abreak\\x0d"},
	    {"\x1b[31m", "\\x1b[31m"},
	    {"caf\xc3\xa9", "caf\\xc3\\xa9"},
	    {"\x7f~!", "\\x7f~!"},
	};
	char buf[300];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(
		    log_str(cases[i].in, buf, sizeof(buf)), cases[i].out);
	assert_string_equal(log_str(NULL, buf, sizeof(buf)), "-");
	assert_ptr_equal(log_str("x", buf, sizeof(buf)), buf);
}

static void
test_log_str_truncation(void **state)
{
	char in[200], expect[80], buf[300];

	memset(in, 'a', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	memset(expect, 'a', 64);
	strcpy(expect + 64, "...");
	assert_string_equal(log_str(in, buf, sizeof(buf)), expect);

	in[64] = '\0'; /* exactly 64 bytes: kept whole */
	assert_string_equal(log_str(in, buf, sizeof(buf)), in);

	/* A small buffer keeps what fits, escapes are never cut. */
	assert_string_equal(log_str("abcdefghij", buf, 8), "abcd...");
	assert_string_equal(log_str("abcdefg", buf, 8), "abcdefg");
	assert_string_equal(log_str("a b c", buf, 8), "a...");
	memset(in, ' ', 100);
	in[100] = '\0';
	log_str(in, buf, sizeof(buf));
	assert_int_equal(strlen(buf), 64 * 4 + 3);
}

static void
test_log_levels(void **state)
{
	enum log_level old = log_get_level();

	assert_int_equal(log_level_parse("error"), LL_ERROR);
	assert_int_equal(log_level_parse("warn"), LL_WARN);
	assert_int_equal(log_level_parse("info"), LL_INFO);
	assert_int_equal(log_level_parse("verbose"), LL_VERBOSE);
	assert_int_equal(log_level_parse("debug"), LL_DEBUG);
	assert_int_equal(log_level_parse("loud"), -1);
	assert_int_equal(log_level_parse(NULL), -1);

	log_set_level(LL_INFO);
	assert_true(log_enabled(LL_ERROR));
	assert_true(log_enabled(LL_INFO));
	assert_false(log_enabled(LL_VERBOSE));
	log_set_level(LL_DEBUG);
	assert_true(log_enabled(LL_DEBUG));
	log_set_level(old);
}

/* Runs log calls with standard error sent to a file; returns its text. */
static char *
capture_log(void (*fn)(void))
{
	char path[] = "/tmp/pimgate-test-log-XXXXXX", *text;
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	long n;
	FILE *fp;

	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	fp = fdopen(fd, "r");
	n = lseek(fd, 0, SEEK_END);
	rewind(fp);
	text = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(text, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	unlink(path);
	return text;
}

static void
emit_lines(void)
{
	char buf[300];
	char big[5000];

	log_set_level(LL_INFO);
	log_info("listening on %s port=%d", "127.0.0.1", 2222);
	log_debug("not shown");
	log_error("user=%s", log_str("bad user\n", buf, sizeof(buf)));
	log_warn("two\nlines");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
}

static void
test_log_write(void **state)
{
	regex_t re;
	char *all = capture_log(emit_lines), *text = strdup(all), *line, *save;
	int n = 0;

	assert_int_equal(
	    regcomp(&re,
		"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
		"[0-9]{2}\\.[0-9]{3}Z (INFO|ERROR|WARN) emit_lines: ",
		REG_EXTENDED | REG_NOSUB),
	    0);
	save = text;
	while ((line = strsep(&text, "\n")) != NULL && *line != '\0') {
		assert_int_equal(regexec(&re, line, 0, NULL, 0), 0);
		assert_true(strlen(line) < 2048);
		n++;
	}
	regfree(&re);
	assert_int_equal(n, 4);
	assert_non_null(strstr(all, "INFO emit_lines: listening on 127.0.0.1 "
				    "port=2222\n"));
	assert_non_null(strstr(all, "ERROR emit_lines: user=bad\\x20user"
				    "\\x0a\n"));
	assert_non_null(strstr(all, "WARN emit_lines: two?lines\n"));
	assert_non_null(strstr(all, "xxx...\n"));
	assert_null(strstr(all, "not shown"));
	free(all);
	free(save);
}

/* --- str --- */

static void
test_str_valid_name(void **state)
{
	static const char *const good[] = {
	    "alice", "a", "0", "db-1.prod_x", "9lives", "a-", "x.y.z"};
	static const char *const bad[] = {"", "-a", ".a", "_a", "Alice", "a b",
	    "a/b", "a:b", "al\xc3\xa9", "a\n"};
	char name[80];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(str_valid_name(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(str_valid_name(bad[i]));
	assert_false(str_valid_name(NULL));

	memset(name, 'n', sizeof(name));
	name[63] = '\0';
	assert_true(str_valid_name(name));
	name[63] = 'n';
	name[64] = '\0';
	assert_false(str_valid_name(name));
}

static void
test_str_copy_printf(void **state)
{
	char buf[6];

	assert_true(str_copy(buf, "hello", sizeof(buf)));
	assert_string_equal(buf, "hello");
	assert_false(str_copy(buf, "hello!", sizeof(buf)));
	assert_string_equal(buf, "hello");
	assert_false(str_copy(buf, "x", 0));

	assert_true(str_printf(buf, sizeof(buf), "%d-%s", 12, "ab"));
	assert_string_equal(buf, "12-ab");
	assert_false(str_printf(buf, sizeof(buf), "%d-%s", 123, "ab"));
	assert_string_equal(buf, "123-a");
}

/* --- config --- */

struct conf_fixture {
	char path[64];
};

static int
conf_setup(void **state)
{
	struct conf_fixture *f = calloc(1, sizeof(*f));
	int fd;

	if (f == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "/tmp/pimgate-test-conf-XXXXXX");
	fd = mkstemp(f->path);
	if (fd < 0)
		return -1;
	close(fd);
	*state = f;
	return 0;
}

static int
conf_teardown(void **state)
{
	struct conf_fixture *f = *state;

	unlink(f->path);
	free(f);
	return 0;
}

static void
conf_write(struct conf_fixture *f, const char *text)
{
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* Loads TEXT, expects R; on error ERR must contain "PATH:LINE: WANT". */
static void
conf_expect(
    struct conf_fixture *f, const char *text, int r, int line, const char *want)
{
	struct config cfg;
	char err[512], prefix[128];

	conf_write(f, text);
	assert_int_equal(config_load(f->path, &cfg, err, sizeof(err)), r);
	if (r == PIM_OK) {
		config_free(&cfg);
		return;
	}
	assert_null(cfg.state_dir);
	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", f->path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", f->path);
	assert_memory_equal(err, prefix, strlen(prefix));
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void
test_config_good(void **state)
{
	struct conf_fixture *f = *state;
	struct config cfg;
	char err[256];

	conf_write(f, "; pimgate test\n"
		      "[server]\n"
		      "state_dir = /var/lib/pimgate\n"
		      "database = /srv/db.sqlite\n"
		      "log_level = debug\n"
		      "store_poll_ms = 50\n"
		      "[ssh]\n"
		      "listen = 127.0.0.1:22222\n"
		      "login_grace_time = 2m\n"
		      "[postgres]\n"
		      "listen = [::1]:15433\n"
		      "[http]\n"
		      "listen = localhost:19187\n"
		      "[recording]\n"
		      "input = yes\n");
	assert_int_equal(config_load(f->path, &cfg, err, sizeof(err)), PIM_OK);
	assert_string_equal(cfg.path, f->path);
	assert_string_equal(cfg.state_dir, "/var/lib/pimgate");
	assert_string_equal(cfg.db_path, "/srv/db.sqlite");
	assert_string_equal(cfg.recordings_dir, "/var/lib/pimgate/recordings");
	assert_string_equal(
	    cfg.host_key, "/var/lib/pimgate/ssh_host_ed25519_key");
	assert_string_equal(cfg.secret_key, "/var/lib/pimgate/secret.key");
	assert_string_equal(cfg.ca_key, "/var/lib/pimgate/ca.key");
	assert_string_equal(cfg.ca_cert, "/var/lib/pimgate/ca.crt");
	assert_string_equal(cfg.log_level, "debug");
	assert_string_equal(cfg.ssh_listen, "127.0.0.1:22222");
	assert_string_equal(cfg.pg_listen, "[::1]:15433");
	assert_string_equal(cfg.http_listen, "localhost:19187");
	assert_true(cfg.record_input);
	assert_int_equal(cfg.login_grace, 120);
	assert_int_equal(cfg.poll_ms, 50);
	config_free(&cfg);
	assert_null(cfg.path);
}

static void
test_config_defaults(void **state)
{
	struct conf_fixture *f = *state;
	struct config cfg;
	char err[256];

	conf_write(f, "[server]\nstate_dir = /st/\n");
	assert_int_equal(config_load(f->path, &cfg, err, sizeof(err)), PIM_OK);
	assert_string_equal(cfg.db_path, "/st/pimgate.db");
	assert_string_equal(cfg.recordings_dir, "/st/recordings");
	assert_string_equal(cfg.log_level, "info");
	assert_string_equal(cfg.ssh_listen, "127.0.0.1:2222");
	assert_string_equal(cfg.pg_listen, "127.0.0.1:5433");
	assert_string_equal(cfg.http_listen, "127.0.0.1:9187");
	assert_false(cfg.record_input);
	assert_int_equal(cfg.login_grace, 60);
	assert_int_equal(cfg.poll_ms, 200);
	config_free(&cfg);
}

static void
test_config_errors(void **state)
{
	struct conf_fixture *f = *state;
	struct config cfg;
	char err[256];

	conf_expect(f, "[server]\nstate_dir=/s\n[ssh]\nlisen = 1.2.3.4:1\n",
	    PIM_EINVAL, 4, "unknown key [ssh] lisen");
	conf_expect(f, "[server]\nstate_dir=/s\n[sssh]\nlisten=a:1\n",
	    PIM_EINVAL, 4, "unknown section [sssh]");
	conf_expect(f, "[ssh]\nlisten = 127.0.0.1:2222\n", PIM_EINVAL, 0,
	    "state_dir is required");
	conf_expect(f, "", PIM_EINVAL, 0, "state_dir is required");
	conf_expect(f, "[server]\nstate_dir=/s\nthis is not ini\n", PIM_EINVAL,
	    3, "syntax error");
	conf_expect(f, "[server]\nstate_dir=/s\nlog_level=loud\n", PIM_EINVAL,
	    3, "[server] log_level");
	conf_expect(f, "[server]\nstate_dir=/s\n[recording]\ninput=maybe\n",
	    PIM_EINVAL, 4, "[recording] input");
	conf_expect(f, "[server]\nstate_dir=/s\n[ssh]\nlogin_grace_time=60\n",
	    PIM_EINVAL, 4, "[ssh] login_grace_time");
	conf_expect(f, "[server]\nstate_dir=/s\nstore_poll_ms=0\n", PIM_EINVAL,
	    3, "store_poll_ms");
	conf_expect(f, "[server]\nstate_dir=/s\nstore_poll_ms=5x\n", PIM_EINVAL,
	    3, "store_poll_ms");
	conf_expect(f, "[server]\nstate_dir=\n", PIM_EINVAL, 2, "state_dir");

	assert_int_equal(
	    config_load("/nonexistent/pimgate.conf", &cfg, err, sizeof(err)),
	    PIM_EIO);
	assert_non_null(strstr(err, "/nonexistent/pimgate.conf"));
}

static void
test_config_bad_listen(void **state)
{
	static const char *const bad[] = {"localhost", "127.0.0.1", ":2222",
	    "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:22x",
	    "::1:22", "[::1]", "[::1]22", "[]:22", "a b:22", "h:-1"};
	struct conf_fixture *f = *state;
	char text[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
		    "[server]\nstate_dir=/s\n[http]\nlisten = %s\n", bad[i]);
		conf_expect(f, text, PIM_EINVAL, 4, "[http] listen");
	}
	conf_expect(f, "[server]\nstate_dir=/s\n[ssh]\nlisten=0.0.0.0:65535\n",
	    PIM_OK, 0, NULL);
}

static void
test_split_hostport(void **state)
{
	char host[16];
	int port = 0;

	assert_int_equal(
	    config_split_hostport("127.0.0.1:2222", host, sizeof(host), &port),
	    PIM_OK);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 2222);
	assert_int_equal(
	    config_split_hostport("[::1]:5433", host, sizeof(host), &port),
	    PIM_OK);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 5433);
	assert_int_equal(config_split_hostport("a-very-long-host-name:1", host,
			     sizeof(host), &port),
	    PIM_EINVAL);
	assert_int_equal(
	    config_split_hostport(NULL, host, sizeof(host), &port), PIM_EINVAL);
}

static void
test_str_sanitize(void **state)
{
	char buf[16];

	(void)state;
	str_sanitize(buf, sizeof(buf), "ls -l /tmp");
	assert_string_equal(buf, "ls -l /tmp");
	str_sanitize(buf, sizeof(buf), "a\x1b[2Jb\n\x7f");
	assert_string_equal(buf, "a?[2Jb??");
	str_sanitize(buf, sizeof(buf), "caf\xc3\xa9 \xff\xfe");
	assert_string_equal(buf, "caf\xc3\xa9 ??");
	/* Overlong and surrogate encodings are not valid UTF-8. */
	str_sanitize(buf, sizeof(buf), "\xc0\xaf\xed\xa0\x80");
	assert_string_equal(buf, "?????");
	str_sanitize(buf, sizeof(buf), "0123456789abcdefghij");
	assert_string_equal(buf, "0123456789ab...");
	/* A multi-byte character is never cut in half. */
	str_sanitize(buf, 8, "ab\xe2\x9c\x93\xe2\x9c\x93");
	assert_string_equal(buf, "ab...");
}

static void
test_str_summarize(void **state)
{
	char buf[32], big[1200];

	(void)state;
	str_summarize(buf, sizeof(buf), "ls   -l\t\t/tmp\n");
	assert_string_equal(buf, "ls -l /tmp ");
	/* Padding does not push a payload out of sight. */
	memset(big, ' ', sizeof(big));
	memcpy(big, "true", 4);
	memcpy(big + 1000, ";echo HIDDEN", 12);
	big[1012] = '\0';
	str_summarize(buf, sizeof(buf), big);
	assert_string_equal(buf, "true ;echo HIDDEN");
	/* Too long: head and tail survive. */
	memset(big, 'x', 600);
	memcpy(big, "HEAD", 4);
	memcpy(big + 596, "TAIL", 5);
	str_summarize(buf, sizeof(buf), big);
	assert_int_equal(strlen(buf), 31);
	assert_memory_equal(buf, "HEAD", 4);
	assert_string_equal(buf + 27, "TAIL");
	assert_non_null(strstr(buf, " ... "));
}

static void
test_str_check_text(void **state)
{
	uint32_t bad = 0, cp = 0;

	(void)state;
	assert_int_equal(str_check_text("care plan \xc3\xa9", &bad), 0);
	assert_int_equal(str_check_text("a\tb", &bad), -1);
	assert_int_equal(bad, 0x09);
	assert_int_equal(str_check_text("x\xe2\x80\xae", &bad), -1);
	assert_int_equal(bad, 0x202e);
	/* Zero-width space, BOM: invisible, so refused too. */
	assert_int_equal(str_check_text("a\xe2\x80\x8b"
					"b",
			     &bad),
	    -1);
	assert_int_equal(bad, 0x200b);
	assert_int_equal(str_check_text("\xef\xbb\xbf", &bad), -1);
	assert_int_equal(str_check_text("\xc0\xaf", &bad), -1);
	assert_int_equal(bad, STR_BAD_UTF8);
	assert_int_equal(str_utf8_decode("\xf0\x9f\x98\x80", &cp), 4);
	assert_int_equal(cp, 0x1f600);
	assert_int_equal(str_utf8_decode("\xed\xa0\x80", &cp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strerror),
	    cmocka_unit_test(test_log_str),
	    cmocka_unit_test(test_log_str_truncation),
	    cmocka_unit_test(test_log_levels),
	    cmocka_unit_test(test_log_write),
	    cmocka_unit_test(test_str_valid_name),
	    cmocka_unit_test(test_str_copy_printf),
	    cmocka_unit_test(test_str_sanitize),
	    cmocka_unit_test(test_str_summarize),
	    cmocka_unit_test(test_str_check_text),
	    cmocka_unit_test_setup_teardown(
		test_config_good, conf_setup, conf_teardown),
	    cmocka_unit_test_setup_teardown(
		test_config_defaults, conf_setup, conf_teardown),
	    cmocka_unit_test_setup_teardown(
		test_config_errors, conf_setup, conf_teardown),
	    cmocka_unit_test_setup_teardown(
		test_config_bad_listen, conf_setup, conf_teardown),
	    cmocka_unit_test(test_split_hostport),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
