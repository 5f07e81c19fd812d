/* Printing a query log for people (pimctl replay of a database
 * session): one line per event, its time from the start, its type and
 * its text. Control characters in the logged text become '?', so that
 * a statement cannot drive the reader's terminal. */
#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "pimgate/err.h"
#include "pimgate/record.h"
#include "pimgate/str.h"

#define QLOG_LINE_MAX (8 << 20) /* a logged line, at most */

/* Prints the LEN bytes of S with control characters (but newline),
 * NUL and the characters that make text read differently from what it
 * holds (bidi controls...) made '?', each newline followed by INDENT. */
static void
qlog_print_text(FILE *out, const char *s, size_t len, const char *indent)
{
	const char *end = s + len;
	uint32_t cp;
	size_t n;

	while (s < end) {
		if (*s == '\n') {
			fprintf(out, "\n%s", indent);
			s++;
			continue;
		}
		if (*s == '\t') {
			fputc(' ', out);
			s++;
			continue;
		}
		n = *s == '\0' ? 1 : str_utf8_decode(s, &cp);
		if (n == 0 || (size_t)(end - s) < n)
			n = 1, cp = STR_BAD_UTF8;
		if (*s == '\0' || cp == STR_BAD_UTF8 || str_unsafe_char(cp))
			fputc('?', out);
		else
			fwrite(s, 1, n, out);
		s += n;
	}
}

static const char *
qlog_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* Prints string KEY of O whole (NUL bytes included). */
static void
qlog_print_field(FILE *out, json_t *o, const char *key, const char *indent)
{
	json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		qlog_print_text(
		    out, json_string_value(v), json_string_length(v), indent);
}

static void
qlog_print_head(FILE *out, json_t *h)
{
	fprintf(out, "session %lld: ",
	    (long long)json_integer_value(json_object_get(h, "session")));
	qlog_print_field(out, h, "user", "");
	fputs(" on ", out);
	qlog_print_field(out, h, "target", "");
	fputs(" (database ", out);
	qlog_print_field(out, h, "database", "");
	fputs("), from ", out);
	qlog_print_field(out, h, "start", "");
	fputc('\n', out);
}

/* The text part of event E. */
static void
qlog_print_body(FILE *out, json_t *e, const char *type)
{
	const char *indent = "                      ";

	if (strcmp(type, "query") == 0 || strcmp(type, "parse") == 0) {
		qlog_print_field(out, e, "sql", indent);
		if (json_is_true(json_object_get(e, "truncated")))
			fprintf(out, " [... %lld bytes in all]",
			    (long long)json_integer_value(
				json_object_get(e, "length")));
		if (strcmp(type, "parse") == 0)
			fprintf(out, "  [%lld parameters]",
			    (long long)json_integer_value(
				json_object_get(e, "params")));
	} else if (strcmp(type, "complete") == 0) {
		qlog_print_field(out, e, "tag", indent);
	} else if (strcmp(type, "error") == 0) {
		qlog_print_field(out, e, "severity", indent);
		fputc(' ', out);
		qlog_print_field(out, e, "sqlstate", indent);
		fputs(": ", out);
		qlog_print_field(out, e, "message", indent);
	} else if (strcmp(type, "function") == 0) {
		fprintf(out, "function %lld, %lld arguments: ",
		    (long long)json_integer_value(json_object_get(e, "oid")),
		    (long long)json_integer_value(json_object_get(e, "args")));
		qlog_print_field(out, e, "arguments", indent);
	} else if (strcmp(type, "end") == 0) {
		qlog_print_field(out, e, "reason", indent);
	}
}

static int
qlog_print_line(FILE *out, const char *line, int n, char *err, size_t errlen)
{
	json_error_t je;
	json_t *e = json_loads(line, JSON_ALLOW_NUL, &je);
	const char *type;

	if (!json_is_object(e)) {
		snprintf(err, errlen, "line %d is not a JSON object", n);
		json_decref(e);
		return PIM_EINVAL;
	}
	if (n == 1) {
		if (strcmp(qlog_str(e, "kind"), "pimgate-query-log") != 0) {
			snprintf(err, errlen, "not a pimgate query log");
			json_decref(e);
			return PIM_EINVAL;
		}
		qlog_print_head(out, e);
	} else {
		type = qlog_str(e, "type");
		fprintf(out, "%10.3fs  ",
		    json_number_value(json_object_get(e, "t")));
		qlog_print_field(out, e, "type", "");
		fprintf(out, "%*s  ",
		    (int)(strlen(type) < 8 ? 8 - strlen(type) : 0), "");
		qlog_print_body(out, e, type);
		fputc('\n', out);
	}
	json_decref(e);
	return PIM_OK;
}

int
qlog_print(const char *path, FILE *out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int n = 0, rc = PIM_OK;

	if (f == NULL) {
		snprintf(err, errlen, "cannot open it");
		return PIM_EIO;
	}
	while (rc == PIM_OK && (len = getline(&line, &cap, f)) > 0) {
		if (len > QLOG_LINE_MAX) {
			snprintf(err, errlen, "line %d is too long", n + 1);
			rc = PIM_EINVAL;
			break;
		}
		rc = qlog_print_line(out, line, ++n, err, errlen);
	}
	free(line);
	fclose(f);
	if (rc == PIM_OK && n == 0) {
		snprintf(err, errlen, "the file is empty");
		rc = PIM_EINVAL;
	}
	return rc;
}
