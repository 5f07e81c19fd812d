/* Unit tests for the config's two daemon helpers: every problem of a
 * file with its line (pimgated -t), and what a reload moves (SIGHUP). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pimgate/config.h"
#include "pimgate/err.h"

#define MSGS_MAX 8

struct fixture {
	char path[64];
	char msgs[MSGS_MAX][320];
	int nmsgs;
	char changed[MSGS_MAX][64];
	bool applied[MSGS_MAX];
	int nchanged;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	if (f == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "/tmp/pimgate-test-config-XXXXXX");
	fd = mkstemp(f->path);
	if (fd < 0)
		return -1;
	close(fd);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	free(f);
	return 0;
}

static void
write_conf(struct fixture *f, const char *text)
{
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
collect(void *arg, const char *msg)
{
	struct fixture *f = arg;

	assert_true(f->nmsgs < MSGS_MAX);
	snprintf(f->msgs[f->nmsgs++], sizeof(f->msgs[0]), "%s", msg);
}

/* Message N is "PATH:LINE: WANT". */
static void
expect_msg(struct fixture *f, int n, int line, const char *want)
{
	char full[320];

	snprintf(full, sizeof(full), "%s:%d: %s", f->path, line, want);
	assert_true(n < f->nmsgs);
	assert_string_equal(f->msgs[n], full);
}

static void
test_each_problem(void **state)
{
	struct fixture *f = *state;
	struct config cfg;

	write_conf(f, "[server]\n"
		      "state_dir = /s\n"
		      "[ssh]\n"
		      "lisen = 1\n"
		      "# a comment\n"
		      "[nonsense]\n"
		      "a = 1\n"
		      "b = 2\n"
		      "[recording]\n"
		      "max_size = lots\n"
		      "[server]\n"
		      "log_level = loud\n");
	assert_int_equal(config_load_each(f->path, &cfg, collect, f), 4);
	assert_int_equal(f->nmsgs, 4);
	expect_msg(f, 0, 4, "unknown key [ssh] lisen");
	/* Told at its first key (libinih says nothing of sections). */
	expect_msg(f, 1, 7, "unknown section [nonsense]");
	expect_msg(f, 2, 10,
	    "[recording] max_size: expected a size such as "
	    "512M or 2G");
	expect_msg(f, 3, 12,
	    "[server] log_level: expected error, warn, "
	    "info, verbose or debug");
	/* What could be read is there, with the defaults. */
	assert_string_equal(cfg.state_dir, "/s");
	assert_string_equal(cfg.ssh_listen, "127.0.0.1:2222");
	assert_string_equal(cfg.db_path, "/s/pimgate.db");
	config_free(&cfg);
}

static void
test_each_syntax_and_state(void **state)
{
	struct fixture *f = *state;
	struct config cfg;

	write_conf(f, "[ssh]\nlisten = 127.0.0.1:1\nnot ini\n");
	assert_int_equal(config_load_each(f->path, &cfg, collect, f), 2);
	expect_msg(f, 0, 3, "syntax error");
	assert_non_null(strstr(f->msgs[1], "state_dir is required"));
	assert_null(cfg.db_path);
	config_free(&cfg);

	f->nmsgs = 0;
	assert_int_equal(
	    config_load_each("/nonexistent/pimgate.conf", &cfg, collect, f), 1);
	assert_non_null(strstr(f->msgs[0], "/nonexistent/pimgate.conf: cannot "
					   "open"));
	config_free(&cfg);

	f->nmsgs = 0;
	write_conf(f, "[server]\nstate_dir = /s\n");
	assert_int_equal(config_load_each(f->path, &cfg, collect, f), 0);
	assert_int_equal(f->nmsgs, 0);
	config_free(&cfg);
}

static void
changed(void *arg, const char *section, const char *name, bool applied)
{
	struct fixture *f = arg;

	assert_true(f->nchanged < MSGS_MAX);
	snprintf(f->changed[f->nchanged], sizeof(f->changed[0]), "%s.%s",
	    section, name);
	f->applied[f->nchanged++] = applied;
}

static void
load(struct fixture *f, const char *text, struct config *cfg)
{
	char err[256];

	write_conf(f, text);
	assert_int_equal(config_load(f->path, cfg, err, sizeof(err)), PIM_OK);
}

/* The reload takes the live keys, keeps the others, reports both. */
static void
test_reload(void **state)
{
	struct fixture *f = *state;
	struct config live, fresh;

	load(f,
	    "[server]\nstate_dir = /s\nlog_level = info\n"
	    "[ssh]\nlisten = 127.0.0.1:2222\n"
	    "[notify]\ncommand = old\n",
	    &live);
	load(f,
	    "[server]\nstate_dir = /s\nlog_level = debug\n"
	    "shutdown_grace = 3s\n"
	    "[ssh]\nlisten = 127.0.0.1:2223\n"
	    "[recording]\ninput = true\n",
	    &fresh);
	assert_int_equal(config_reload(&live, &fresh, changed, f), 4);

	assert_string_equal(live.log_level, "debug");
	assert_int_equal(live.shutdown_grace, 3);
	assert_true(live.record_input);
	assert_null(live.notify_command);
	assert_string_equal(live.ssh_listen, "127.0.0.1:2222");
	/* The old values went to FRESH, freed with it. */
	assert_string_equal(fresh.log_level, "info");
	assert_string_equal(fresh.notify_command, "old");

	assert_int_equal(f->nchanged, 5);
	for (int i = 0; i < f->nchanged; i++) {
		bool want = strcmp(f->changed[i], "ssh.listen") != 0;

		if (want != f->applied[i])
			fail_msg("%s applied=%d", f->changed[i], f->applied[i]);
	}
	config_free(&fresh);
	config_free(&live);
}

static void
test_reload_same(void **state)
{
	struct fixture *f = *state;
	struct config live, fresh;
	const char *text = "[server]\nstate_dir = /s\n[notify]\ncommand = x\n";

	load(f, text, &live);
	load(f, text, &fresh);
	assert_int_equal(config_reload(&live, &fresh, changed, f), 0);
	assert_int_equal(f->nchanged, 0);
	config_free(&fresh);
	config_free(&live);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_each_problem, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_each_syntax_and_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reload_same, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
