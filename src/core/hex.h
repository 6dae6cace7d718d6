/* hex: hex and base64 text encodings of byte strings, as the reference tools print and read them
 * (lowercase hex, byte 0 first; standard base64 with padding). */
#ifndef ESPFAB_CORE_HEX_H
#define ESPFAB_CORE_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* out must hold 2*n+1 chars. */
void hex_encode_bytes(const uint8_t *p, size_t n, char *out);
/* Accepts upper or lower case, an optional 0x prefix, and no separators. */
int hex_decode_string(const char *s, buf_t *out, err_t *e);
/* Appends the base64 text (no NUL counted, but terminated). */
void hex_encode_base64(const uint8_t *p, size_t n, buf_t *out);
int hex_decode_base64(const char *s, buf_t *out, err_t *e);

#endif
