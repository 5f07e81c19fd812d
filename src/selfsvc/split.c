/* Splitting a typed command line into words, the way a shell would for
 * plain words and quotes (no variables, globs or operators). */
#include <stdlib.h>
#include <string.h>

#include "selfsvc_int.h"

/* The words found so far and the one being built. */
struct split {
	char **argv;
	int argc;
	char *word; /* as long as the line, so it never overflows */
	size_t len;
	bool in_word; /* a word has begun (even an empty "" one) */
};

static bool
split_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Ends the word being built. Returns 0, -2 or -3. */
static int
split_push(struct split *sp)
{
	char *w;

	if (!sp->in_word)
		return 0;
	if (sp->argc >= SELFSVC_MAX_WORDS)
		return -2;
	w = malloc(sp->len + 1);
	if (w == NULL)
		return -3;
	memcpy(w, sp->word, sp->len);
	w[sp->len] = '\0';
	sp->argv[sp->argc++] = w;
	sp->len = 0;
	sp->in_word = false;
	return 0;
}

/* Reads the quoted part that starts at *P (at the quote) into the word
 * and moves *P past its closing quote. Returns 0 or -1. */
static int
split_quoted(struct split *sp, const char **p)
{
	char q = **p;
	const char *s = *p + 1;

	sp->in_word = true;
	for (; *s != '\0' && *s != q; s++) {
		if (q == '"' && *s == '\\' && (s[1] == '"' || s[1] == '\\'))
			s++;
		sp->word[sp->len++] = *s;
	}
	if (*s != q)
		return -1;
	*p = s + 1;
	return 0;
}

/* Handles the character at *P and moves *P on. Returns 0, -1, -2, -3. */
static int
split_step(struct split *sp, const char **p)
{
	const char *s = *p;

	if (split_blank(*s)) {
		*p = s + 1;
		return split_push(sp);
	}
	if (*s == '\'' || *s == '"')
		return split_quoted(sp, p);
	if (*s == '\\') {
		if (s[1] == '\0')
			return -1;
		s++;
	}
	sp->in_word = true;
	sp->word[sp->len++] = *s;
	*p = s + 1;
	return 0;
}

int
selfsvc_split(const char *line, char ***argv, int *argc)
{
	struct split sp = {0};
	const char *p = line;
	int rc = 0;

	*argv = NULL;
	*argc = 0;
	sp.argv = calloc(SELFSVC_MAX_WORDS + 1, sizeof(*sp.argv));
	sp.word = malloc(strlen(line) + 1);
	if (sp.argv == NULL || sp.word == NULL)
		rc = -3;
	while (rc == 0 && *p != '\0')
		rc = split_step(&sp, &p);
	if (rc == 0)
		rc = split_push(&sp);
	free(sp.word);
	if (rc != 0) {
		selfsvc_argv_free(sp.argv, sp.argc);
		return rc;
	}
	*argv = sp.argv;
	*argc = sp.argc;
	return 0;
}

void
selfsvc_argv_free(char **argv, int argc)
{
	if (argv == NULL)
		return;
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}
