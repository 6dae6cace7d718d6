#include "core/hex.h"

#include <mbedtls/base64.h>
#include <string.h>

void hex_encode_bytes(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_value_of(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode_string(const char *s, buf_t *out, err_t *e)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	size_t n = strlen(s);
	if (n % 2)
		return err_set_msg(e, ERR_CHECK, "hex string has an odd number of digits (%zu)", n);
	for (size_t i = 0; i < n; i += 2) {
		int hi = hex_value_of(s[i]), lo = hex_value_of(s[i + 1]);
		if (hi < 0 || lo < 0)
			return err_set_msg(e, ERR_CHECK, "'%c' at position %zu is not a hex digit",
					   hi < 0 ? s[i] : s[i + 1], hi < 0 ? i : i + 1);
		buf_append_byte(out, (uint8_t)(hi << 4 | lo));
	}
	return 0;
}

void hex_encode_base64(const uint8_t *p, size_t n, buf_t *out)
{
	size_t need = 0;
	mbedtls_base64_encode(NULL, 0, &need, p, n);
	buf_reserve_bytes(out, need);
	size_t olen = 0;
	mbedtls_base64_encode(out->data + out->len, out->cap - out->len, &olen, p, n);
	out->len += olen;
	buf_terminate_str(out);
}

int hex_decode_base64(const char *s, buf_t *out, err_t *e)
{
	size_t n = strlen(s), need = 0;
	int rc = mbedtls_base64_decode(NULL, 0, &need, (const unsigned char *)s, n);
	if (rc == MBEDTLS_ERR_BASE64_INVALID_CHARACTER)
		return err_set_msg(e, ERR_CHECK, "not valid base64");
	buf_reserve_bytes(out, need);
	size_t olen = 0;
	rc = mbedtls_base64_decode(out->data + out->len, out->cap - out->len, &olen,
				   (const unsigned char *)s, n);
	if (rc != 0)
		return err_set_msg(e, ERR_CHECK, "not valid base64");
	out->len += olen;
	return 0;
}
