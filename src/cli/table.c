/* Text tables for pimctl listings: a header row and aligned columns. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct cli_table {
	int ncols;
	int nrows; /* including the header */
	int cap; /* rows allocated */
	char **cells;
};

/* Copies S for display: control characters (a newline in a reason, an
 * escape sequence), bidi overrides and invalid UTF-8 become '?', so one
 * row stays one line and reads as what is stored. */
static char *
cli_cell_dup(const char *s)
{
	char *d = strdup(s != NULL ? s : "-");

	if (d != NULL)
		cli_text_clean(d);
	return d;
}

/* Adds one row from AP (NCOLS strings). */
static int
cli_table_vadd(struct cli_table *t, va_list ap)
{
	char **row;

	if (t->nrows == t->cap) {
		int cap = t->cap == 0 ? 16 : t->cap * 2;
		char **cells = reallocarray(
		    t->cells, (size_t)cap * t->ncols, sizeof(*cells));

		if (cells == NULL)
			return CLI_FAIL;
		t->cells = cells;
		t->cap = cap;
	}
	row = t->cells + (size_t)t->nrows * t->ncols;
	for (int i = 0; i < t->ncols; i++)
		row[i] = cli_cell_dup(va_arg(ap, const char *));
	t->nrows++;
	for (int i = 0; i < t->ncols; i++) {
		if (row[i] == NULL)
			return CLI_FAIL;
	}
	return CLI_OK;
}

struct cli_table *
cli_table_new(int ncols, ...)
{
	struct cli_table *t = calloc(1, sizeof(*t));
	va_list ap;
	int rc;

	if (t == NULL)
		return NULL;
	t->ncols = ncols;
	va_start(ap, ncols);
	rc = cli_table_vadd(t, ap);
	va_end(ap);
	if (rc != CLI_OK) {
		cli_table_free(t);
		return NULL;
	}
	return t;
}

int
cli_table_add(struct cli_table *t, ...)
{
	va_list ap;
	int rc;

	va_start(ap, t);
	rc = cli_table_vadd(t, ap);
	va_end(ap);
	return rc;
}

void
cli_table_print(struct cli_table *t)
{
	size_t *width = calloc((size_t)t->ncols, sizeof(*width));

	if (width == NULL) {
		cli_table_free(t);
		return;
	}
	for (int r = 0; r < t->nrows; r++) {
		for (int c = 0; c < t->ncols; c++) {
			size_t len = strlen(t->cells[r * t->ncols + c]);

			if (len > width[c])
				width[c] = len;
		}
	}
	for (int r = 0; r < t->nrows; r++) {
		for (int c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];

			if (c == t->ncols - 1)
				printf("%s\n", cell);
			else
				printf("%-*s  ", (int)width[c], cell);
		}
	}
	free(width);
	cli_table_free(t);
}

void
cli_table_free(struct cli_table *t)
{
	if (t == NULL)
		return;
	for (int i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
