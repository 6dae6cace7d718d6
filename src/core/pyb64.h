/* pyb64: base64 decoding with the leniency of Python's base64.b64decode(s) (validate=False), which
 * the reference tools use on salts and CSV values: characters outside the alphabet are skipped,
 * decoding stops at the first complete padding, and only a dangling group is an error. */
#ifndef ESPFAB_CORE_PYB64_H
#define ESPFAB_CORE_PYB64_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

/* Appends the decoded bytes of s[0..n) to out; -1 (ERR_CHECK) when Python would raise. */
int pyb64_decode(const char *s, size_t n, buf_t *out, err_t *e);

#endif
