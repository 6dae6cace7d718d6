/* pyb64: base64 decoding with the leniency of Python's base64.b64decode(s) (validate=False), which
 * the reference tools use on salts and CSV values: characters outside the alphabet are skipped,
 * decoding stops at the first complete padding, and only a dangling group is an error. */
#ifndef ESPFAB_CORE_PYB64_H
#define ESPFAB_CORE_PYB64_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

/* What pyb64_decode_core found; callers word the error the way their reference tool does. */
enum pyb64_status {
	PYB64_OK = 0,
	PYB64_DANGLING_ONE,  /* data characters are 1 more than a multiple of 4 */
	PYB64_BAD_PADDING,   /* a group of 2 or 3 data characters without its padding */
	PYB64_NON_ASCII,     /* a byte >= 0x80 before the end (only with stop_non_ascii) */
};

/* The one decoding loop: appends the decoded bytes of s[0..n) to out and counts the alphabet
 * characters read in *data_chars (may be NULL). */
enum pyb64_status pyb64_decode_core(const char *s, size_t n, int stop_non_ascii, buf_t *out,
				    size_t *data_chars);
/* Appends the decoded bytes of s[0..n) to out; -1 (ERR_CHECK) when Python would raise. */
int pyb64_decode(const char *s, size_t n, buf_t *out, err_t *e);

#endif
