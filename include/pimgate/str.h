/* Small safe-string helpers. */
#ifndef PIMGATE_STR_H
#define PIMGATE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies SRC into DST (size SIZE), always terminated. Returns false if
 * SRC did not fit (DST then holds a truncated copy). */
bool str_copy(char *dst, const char *src, size_t size);

/* True if NAME is a valid name for users, roles and targets: 1 to 63
 * characters from [a-z0-9._-], starting with a letter or digit. */
bool str_valid_name(const char *name);

/* Joins FMT into DST like snprintf; returns false on truncation. */
bool str_printf(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Decodes the UTF-8 sequence at S into *CP and returns its length (1 to
 * 4), or 0 if S does not start a valid one (overlong forms, surrogates,
 * values past U+10FFFF). Never reads past a terminating NUL. */
size_t str_utf8_decode(const char *s, uint32_t *cp);
/* C0, DEL and C1 control characters. */
bool str_control_char(uint32_t cp);
/* Characters that make text read differently from what it holds:
 * controls, zero-width characters (U+200B..U+200F, U+FEFF), line and
 * paragraph separators, bidi embeddings, overrides and isolates. */
bool str_unsafe_char(uint32_t cp);
#define STR_BAD_UTF8 0xffffffffu
/* 0 if S is valid UTF-8 free of unsafe characters; else -1 with *BAD
 * the first unsafe code point, or STR_BAD_UTF8. */
int str_check_text(const char *s, uint32_t *bad);

/* Copies SRC into DST (size SIZE >= 4) for people to read: valid UTF-8
 * is kept, control characters and invalid bytes become '?', and a SRC too
 * long ends in "...". */
void str_sanitize(char *dst, size_t size, const char *src);

/* Like str_sanitize, for commands in audit details: runs of white space
 * become one space, and a SRC too long keeps its head and its tail
 * around " ... " (a payload cannot hide behind padding). */
void str_summarize(char *dst, size_t size, const char *src);

#endif
