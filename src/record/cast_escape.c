/* Session bytes to JSON string text, by hand, because this runs over
 * every byte a recorded session prints:
 *
 *   - printable ASCII is copied as it is, eight bytes at a time when
 *     eight in a row need nothing;
 *   - '"', '\\' and control characters are escaped;
 *   - well-formed UTF-8 is copied, sequence after sequence;
 *   - each ill-formed part becomes U+FFFD: a byte that cannot start a
 *     sequence, or a lead byte with the continuation bytes that fit it
 *     before the first that does not;
 *   - a well-formed sequence cut short by the end of the input is left
 *     for the caller to carry.
 *
 * A table of the 256 byte values holds what each byte becomes when it
 * stands alone (itself, an escape or U+FFFD, which is what a lead byte
 * becomes when the next byte does not fit it) and, for lead bytes, what
 * may follow. Outside plain runs and sequences the loop does one lookup,
 * one test and one fixed-size copy per byte. The test (could a sequence
 * start here?) is rarely true on binary data; a branch on the byte's
 * class would mispredict at every other byte of it. Within a run of
 * sequences the next position depends only on the lead byte, the checks
 * being predicted. */
#include "cast_int.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define CAST_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */
#define CAST_ONES 0x0101010101010101ull
#define CAST_HIGHS 0x8080808080808080ull

struct cast_class {
	char text[8]; /* what the byte becomes on its own; copied whole */
	unsigned char len; /* bytes of TEXT used */
	unsigned char seq; /* lead byte: length of its sequence; else 0 */
	unsigned char lo; /* lead byte: the byte after it lies in */
	unsigned char span; /* LO..LO+SPAN-1; SPAN is 0 for other bytes */
};

static struct cast_class cast_classes[256];
static pthread_once_t cast_classes_once = PTHREAD_ONCE_INIT;

static void
cast_class_text(unsigned char c, const char *text, size_t len)
{
	memcpy(cast_classes[c].text, text, len);
	cast_classes[c].len = (unsigned char)len;
}

/* Sets lead byte C: a sequence of SEQ bytes whose second byte lies in
 * LO..HI. The narrow ranges after E0, ED, F0 and F4 are what exclude
 * overlong forms, surrogates and code points past U+10FFFF. */
static void
cast_class_lead(unsigned char c, int seq, int lo, int hi)
{
	cast_class_text(c, CAST_REPLACEMENT, 3);
	cast_classes[c].seq = (unsigned char)seq;
	cast_classes[c].lo = (unsigned char)lo;
	cast_classes[c].span = (unsigned char)(hi - lo + 1);
}

static void
cast_classes_build(void)
{
	static const char hex[] = "0123456789abcdef";
	static const char named[] = "\"\"\\\\\nn\rr\tt\bb\ff";
	char e[6] = {'\\', 'u', '0', '0', 0, 0};
	unsigned char c8;
	unsigned c;
	size_t i;

	for (c = 0; c < 256; c++) {
		c8 = (unsigned char)c;
		e[4] = hex[c >> 4];
		e[5] = hex[c & 0xf];
		if (c < 0x20 || c == 0x7f)
			cast_class_text(c8, e, 6);
		else if (c < 0x80)
			cast_class_text(c8, (const char *)&c8, 1);
		else if (c >= 0xc2 && c <= 0xf4)
			cast_class_lead(c8,
			    c < 0xe0   ? 2
			    : c < 0xf0 ? 3
				       : 4,
			    0x80, 0xbf);
		else
			cast_class_text(c8, CAST_REPLACEMENT, 3);
	}
	for (i = 0; named[i] != '\0'; i += 2) {
		e[1] = named[i + 1];
		cast_class_text((unsigned char)named[i], e, 2);
	}
	cast_class_lead(0xe0, 3, 0xa0, 0xbf);
	cast_class_lead(0xed, 3, 0x80, 0x9f);
	cast_class_lead(0xf0, 4, 0x90, 0xbf);
	cast_class_lead(0xf4, 4, 0x80, 0x8f);
}

void
cast_escape_init(void)
{
	pthread_once(&cast_classes_once, cast_classes_build);
}

static inline enum cast_u8
cast_u8_scan(const unsigned char *p, size_t n, size_t *used)
{
	const struct cast_class *k = &cast_classes[p[0]];
	size_t i;

	*used = 1;
	if (k->seq == 0)
		return CAST_U8_BAD;
	if (n < 2) {
		*used = n;
		return CAST_U8_SHORT;
	}
	if ((unsigned)(p[1] - k->lo) >= k->span)
		return CAST_U8_BAD;
	for (i = 2; i < k->seq; i++) {
		if (i == n) {
			*used = n;
			return CAST_U8_SHORT;
		}
		if ((p[i] & 0xc0) != 0x80) {
			*used = i;
			return CAST_U8_BAD;
		}
	}
	*used = k->seq;
	return CAST_U8_OK;
}

enum cast_u8
cast_u8_check(const unsigned char *p, size_t n, size_t *used)
{
	return cast_u8_scan(p, n, used);
}

/* Flags the bytes among the 8 at P that are not copied as they are:
 * below 0x20, 0x7f and up, '"' and '\\'. Returns 0 if there are none.
 * Each term sets the high bit of every byte of its kind; a borrow or a
 * carry between bytes can only start at a byte of that kind and only
 * reaches bytes after it, so no byte is flagged when none is special. */
static inline uint64_t
cast_special8(const unsigned char *p)
{
	uint64_t x, q, b;

	memcpy(&x, p, 8);
	q = x ^ (CAST_ONES * '"');
	b = x ^ (CAST_ONES * '\\');
	return (((x - CAST_ONES * 0x20) & ~x) | /* below 0x20 */
		   (x | (x + CAST_ONES)) | /* 0x7f and up */
		   ((q - CAST_ONES) & ~q) | ((b - CAST_ONES) & ~b)) &
	       CAST_HIGHS;
}

/* Copies plain 8-byte blocks from *PP while there are any. */
static inline char *
cast_copy_plain(char *d, const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;

	do {
		memcpy(d, p, 8);
		d += 8;
		p += 8;
	} while (end - p >= 8 && cast_special8(p) == 0);
	*pp = p;
	return d;
}

/* True if the lead byte of class K at P starts a well-formed sequence;
 * 4 bytes at P are readable. Branch-free: one predictable test of the
 * result instead of one per byte. */
static inline bool
cast_u8_whole(const struct cast_class *k, const unsigned char *p)
{
	unsigned ok;

	ok = (unsigned)(p[1] - k->lo) < k->span;
	ok &= (k->seq < 3) | ((p[2] & 0xc0) == 0x80);
	ok &= (k->seq < 4) | ((p[3] & 0xc0) == 0x80);
	return ok;
}

/* Copies the run of well-formed sequences starting at the lead byte at
 * *PP, then replaces an ill-formed part that ends the run with U+FFFD.
 * Returns false if the input ends inside a well-formed sequence (*PP is
 * left at its start). */
static inline bool
cast_copy_utf8(char **dp, const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	const struct cast_class *k;
	enum cast_u8 r = CAST_U8_OK;
	char *d = *dp;
	size_t used;

	do {
		k = &cast_classes[*p];
		if (end - p >= 4 && cast_u8_whole(k, p)) {
			memcpy(d, p, 4);
			used = k->seq;
		} else {
			r = cast_u8_scan(p, (size_t)(end - p), &used);
			if (r != CAST_U8_OK)
				break;
			memcpy(d, p, used);
		}
		d += used;
		p += used;
	} while (p < end && cast_classes[*p].seq != 0);
	if (r == CAST_U8_BAD) {
		memcpy(d, CAST_REPLACEMENT, 3);
		d += 3;
		p += used;
	}
	*pp = p;
	*dp = d;
	return r != CAST_U8_SHORT;
}

/* True if the lead byte of class K at P may start a sequence: the next
 * byte fits it, or the input ends. Always false for other bytes. */
static inline bool
cast_may_lead(const struct cast_class *k, const unsigned char *p,
    const unsigned char *end)
{
	unsigned next = p + 1 < end ? p[1] : k->lo;

	return (unsigned)(next - k->lo) < k->span;
}

size_t
cast_escape(char *dst, const unsigned char *src, size_t n, size_t *tail)
{
	const unsigned char *p = src, *end = src + n, *stop;
	const struct cast_class *k;
	char *d = dst;

	*tail = 0;
	while (p < end) {
		/* Eight plain bytes are copied at once; otherwise the next
		 * eight go byte by byte, the plain ones included, rather
		 * than testing again at each byte. */
		if (end - p >= 8 && cast_special8(p) == 0) {
			d = cast_copy_plain(d, &p, end);
			continue;
		}
		stop = end - p >= 8 ? p + 8 : end;
		while (p < stop) {
			k = &cast_classes[*p];
			if (!cast_may_lead(k, p, end)) {
				memcpy(d, k->text, 8); /* room: ESCAPE_ROOM */
				d += k->len;
				p++;
			} else if (!cast_copy_utf8(&d, &p, end)) {
				*tail = (size_t)(end - p);
				return (size_t)(d - dst);
			}
		}
	}
	return (size_t)(d - dst);
}
