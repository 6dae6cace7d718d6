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

enum pyb64_status pyb64_decode_core(const char *s, size_t n, int stop_non_ascii, buf_t *out,
				    size_t *data_chars)
{
	int quad = 0, pads = 0;
	unsigned left = 0;
	size_t count = 0;
	enum pyb64_status st = PYB64_OK;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (stop_non_ascii && c >= 0x80) {
			st = PYB64_NON_ASCII;
			goto done;
		}
		if (c == '=') {
			/* Padding counts only once two data characters of the group are in; enough
			 * of it ends the input, whatever follows. */
			if (quad >= 2 && quad + ++pads >= 4)
				goto done;
			continue;
		}
		int v = pyb64_value(c);
		if (v < 0)
			continue;
		count++;
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
		st = PYB64_DANGLING_ONE;
	else if (quad != 0)
		st = PYB64_BAD_PADDING;
done:
	if (data_chars)
		*data_chars = count;
	return st;
}

int pyb64_decode(const char *s, size_t n, buf_t *out, err_t *e)
{
	switch (pyb64_decode_core(s, n, 0, out, NULL)) {
	case PYB64_OK:
		return 0;
	case PYB64_DANGLING_ONE:
		return err_set_msg(e, ERR_CHECK,
				   "invalid base64: the number of data characters is 1 more than a multiple of 4");
	default:
		return err_set_msg(e, ERR_CHECK, "invalid base64: incorrect padding");
	}
}
