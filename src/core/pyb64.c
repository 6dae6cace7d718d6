#include "core/pyb64.h"

static int pyb64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int pyb64_decode(const char *s, size_t n, buf_t *out, err_t *e)
{
	int quad = 0, pads = 0;
	unsigned left = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '=') {
			/* Padding counts only once two data characters of the group are in; enough
			 * of it ends the input, whatever follows. */
			if (quad >= 2 && quad + ++pads >= 4)
				return 0;
			continue;
		}
		int v = pyb64_value(c);
		if (v < 0)
			continue;
		pads = 0;
		switch (quad) {
		case 0:
			left = (unsigned)v;
			quad = 1;
			break;
		case 1:
			buf_append_byte(out, (uint8_t)((left << 2) | ((unsigned)v >> 4)));
			left = (unsigned)v & 0x0f;
			quad = 2;
			break;
		case 2:
			buf_append_byte(out, (uint8_t)((left << 4) | ((unsigned)v >> 2)));
			left = (unsigned)v & 0x03;
			quad = 3;
			break;
		default:
			buf_append_byte(out, (uint8_t)((left << 6) | (unsigned)v));
			quad = 0;
			break;
		}
	}
	if (quad == 1)
		return err_set_msg(e, ERR_CHECK,
				   "invalid base64: the number of data characters is 1 more than a multiple of 4");
	if (quad != 0)
		return err_set_msg(e, ERR_CHECK, "invalid base64: incorrect padding");
	return 0;
}
