#include "formats/payload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/spake2p.h"

static const char payload_base38_alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-.";

/* Matter-TLV control bytes used by the QR extension data. */
#define TLV_TAG_CONTEXT 0x20
#define TLV_TYPE_INT8 0x00
#define TLV_TYPE_UINT8 0x04
#define TLV_TYPE_UTF8_1 0x0C
#define TLV_TYPE_STRUCT 0x15
#define TLV_TYPE_END 0x18

/* ---- bit packing ---- */

static void payload_put_bits(uint8_t *buf, unsigned *pos, uint64_t v, unsigned width)
{
	for (unsigned i = 0; i < width; i++, (*pos)++)
		if ((v >> i) & 1)
			buf[*pos / 8] |= (uint8_t)(1u << (*pos % 8));
}

static uint64_t payload_get_bits(const uint8_t *buf, unsigned *pos, unsigned width)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < width; i++, (*pos)++)
		if (buf[*pos / 8] & (1u << (*pos % 8)))
			v |= (uint64_t)1 << i;
	return v;
}

void payload_pack_bits(const struct payload *p, uint8_t out[PAYLOAD_PACKED_LEN])
{
	unsigned pos = 0;
	memset(out, 0, PAYLOAD_PACKED_LEN);
	payload_put_bits(out, &pos, p->version, 3);
	payload_put_bits(out, &pos, p->vid, 16);
	payload_put_bits(out, &pos, p->pid, 16);
	payload_put_bits(out, &pos, p->flow, 2);
	payload_put_bits(out, &pos, p->discovery, 8);
	payload_put_bits(out, &pos, p->discriminator, 12);
	payload_put_bits(out, &pos, p->passcode, 27);
	/* 4 padding bits stay 0 */
}

int payload_check_fields(const struct payload *p, err_t *e)
{
	if (p->version != 0)
		return err_set_msg(e, ERR_CHECK, "version %u is not supported (only 0)", p->version);
	if (p->discriminator > PAYLOAD_DISCRIMINATOR_MAX)
		return err_set_msg(e, ERR_CHECK, "discriminator %u is out of range (0..4095)", p->discriminator);
	if (p->flow > PAYLOAD_FLOW_CUSTOM)
		return err_set_msg(e, ERR_CHECK, "commissioning flow %u is not 0, 1 or 2", p->flow);
	if (spake2p_check_passcode(p->passcode, e))
		return -1;
	if (p->extra_count > PAYLOAD_EXTRA_MAX)
		return err_set_msg(e, ERR_CHECK, "too many optional data elements (%zu, at most %d)",
				   p->extra_count, PAYLOAD_EXTRA_MAX);
	for (size_t i = 0; i < p->extra_count; i++)
		for (size_t k = 0; k < i; k++)
			if (p->extra[k].tag == p->extra[i].tag)
				return err_set_msg(e, ERR_CHECK, "optional data tag 0x%02x is given twice",
						   p->extra[i].tag);
	return 0;
}

/* ---- base38 ---- */

int payload_encode_base38(const uint8_t *data, size_t n, char *out, size_t out_size, err_t *e)
{
	size_t need = (n / 3) * 5 + (n % 3 == 2 ? 4 : n % 3 == 1 ? 2 : 0) + 1;
	if (out_size < need)
		return err_set_msg(e, ERR_CHECK, "base38 text of %zu bytes does not fit in %zu chars", n, out_size);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		size_t chunk = n - i < 3 ? n - i : 3;
		uint32_t v = 0;
		for (size_t k = 0; k < chunk; k++)
			v |= (uint32_t)data[i + k] << (8 * k);
		int chars = chunk == 3 ? 5 : chunk == 2 ? 4 : 2;
		for (int k = 0; k < chars; k++) {
			out[o++] = payload_base38_alphabet[v % 38];
			v /= 38;
		}
	}
	out[o] = '\0';
	return 0;
}

int payload_decode_base38(const char *s, uint8_t *out, size_t out_size, size_t *out_len, err_t *e)
{
	size_t n = strlen(s), o = 0;
	if (n % 5 == 1 || n % 5 == 3)
		return err_set_msg(e, ERR_CHECK, "base38 text has an invalid length (%zu characters)", n);
	for (size_t i = 0; i < n; i += 5) {
		size_t chars = n - i < 5 ? n - i : 5;
		size_t bytes = chars == 5 ? 3 : chars == 4 ? 2 : 1;
		uint32_t v = 0;
		for (size_t k = chars; k-- > 0;) {
			const char *c = s[i + k] ? strchr(payload_base38_alphabet, s[i + k]) : NULL;
			if (!c)
				return err_set_msg(e, ERR_CHECK, "'%c' at position %zu is not a base38 character",
						   s[i + k], i + k);
			v = v * 38 + (uint32_t)(c - payload_base38_alphabet);
		}
		if (v >> (8 * bytes))
			return err_set_msg(e, ERR_CHECK, "base38 group at position %zu exceeds %zu bytes", i, bytes);
		if (o + bytes > out_size)
			return err_set_msg(e, ERR_CHECK, "base38 text is too long (%zu characters)", n);
		for (size_t k = 0; k < bytes; k++)
			out[o++] = (uint8_t)(v >> (8 * k));
	}
	*out_len = o;
	return 0;
}

/* ---- Verhoeff (dihedral group D5) ---- */

static int verhoeff_mod5(int v)
{
	return ((v % 5) + 5) % 5;
}

static int verhoeff_multiply(int j, int k)
{
	if (j < 5 && k < 5)
		return verhoeff_mod5(j + k);
	if (j < 5)
		return 5 + verhoeff_mod5(j + k - 5);
	if (k < 5)
		return 5 + verhoeff_mod5(j - 5 - k);
	return verhoeff_mod5(j - k);
}

static int verhoeff_permute(int digit, int times)
{
	static const int p1[10] = {1, 5, 7, 6, 2, 8, 3, 0, 9, 4};
	for (int t = 0; t < times % 8; t++)
		digit = p1[digit];
	return digit;
}

char payload_verhoeff_digit(const char *digits)
{
	int c = 0, pos = 1;
	for (size_t i = strlen(digits); i-- > 0; pos++)
		c = verhoeff_multiply(c, verhoeff_permute(digits[i] - '0', pos));
	return (char)('0' + ((c >= 1 && c <= 4) ? 5 - c : c));
}

/* ---- TLV extension data ---- */

static int payload_extra_order(const void *a, const void *b)
{
	const struct payload_extra *x = *(const struct payload_extra *const *)a;
	const struct payload_extra *y = *(const struct payload_extra *const *)b;
	/* The SDK writes vendor elements (tags >= 0x80) first, then the common ones, each by tag. */
	int xv = x->tag >= 0x80, yv = y->tag >= 0x80;
	if (xv != yv)
		return yv - xv;
	return (int)x->tag - (int)y->tag;
}

static size_t payload_put_le(uint8_t *out, uint64_t v, int bytes)
{
	for (int k = 0; k < bytes; k++)
		out[k] = (uint8_t)(v >> (8 * k));
	return (size_t)bytes;
}

/* Returns the TLV length written into out (capacity cap), or 0 with e set. */
static size_t payload_write_tlv(const struct payload *p, uint8_t *out, size_t cap, err_t *e)
{
	const struct payload_extra *order[PAYLOAD_EXTRA_MAX];
	for (size_t i = 0; i < p->extra_count; i++)
		order[i] = &p->extra[i];
	qsort(order, p->extra_count, sizeof order[0], payload_extra_order);
	size_t o = 0;
	if (cap < 2 + p->extra_count * (3 + PAYLOAD_EXTRA_STR_MAX + 8)) {
		err_set_msg(e, ERR_CHECK, "internal: TLV buffer too small");
		return 0;
	}
	out[o++] = TLV_TYPE_STRUCT;
	for (size_t i = 0; i < p->extra_count; i++) {
		const struct payload_extra *x = order[i];
		int width = 1, code = 0;
		if (x->kind == PAYLOAD_EXTRA_STRING) {
			size_t len = strlen(x->str);
			out[o++] = TLV_TAG_CONTEXT | TLV_TYPE_UTF8_1;
			out[o++] = x->tag;
			out[o++] = (uint8_t)len;
			memcpy(out + o, x->str, len);
			o += len;
			continue;
		}
		/* Integers take the smallest width that holds the value, as the SDK's TLVWriter does. */
		if (x->kind == PAYLOAD_EXTRA_INT) {
			int64_t v = x->i;
			if (v >= INT8_MIN && v <= INT8_MAX)
				width = 1, code = 0;
			else if (v >= INT16_MIN && v <= INT16_MAX)
				width = 2, code = 1;
			else if (v >= INT32_MIN && v <= INT32_MAX)
				width = 4, code = 2;
			else
				width = 8, code = 3;
			out[o++] = (uint8_t)(TLV_TAG_CONTEXT | (TLV_TYPE_INT8 + code));
			out[o++] = x->tag;
			o += payload_put_le(out + o, (uint64_t)v, width);
		} else {
			uint64_t v = x->u;
			if (v <= UINT8_MAX)
				width = 1, code = 0;
			else if (v <= UINT16_MAX)
				width = 2, code = 1;
			else if (v <= UINT32_MAX)
				width = 4, code = 2;
			else
				width = 8, code = 3;
			out[o++] = (uint8_t)(TLV_TAG_CONTEXT | (TLV_TYPE_UINT8 + code));
			out[o++] = x->tag;
			o += payload_put_le(out + o, v, width);
		}
	}
	out[o++] = TLV_TYPE_END;
	return o;
}

static int payload_read_tlv(const uint8_t *d, size_t n, struct payload *p, err_t *e)
{
	size_t o = 0;
	if (n < 2 || d[o++] != TLV_TYPE_STRUCT)
		return err_set_msg(e, ERR_CHECK, "QR extension data is not a TLV structure (first byte 0x%02x)",
				   n ? d[0] : 0);
	for (;;) {
		if (o >= n)
			return err_set_msg(e, ERR_CHECK, "QR extension data: structure not terminated");
		uint8_t ctl = d[o++];
		if (ctl == TLV_TYPE_END)
			break;
		if ((ctl & 0xE0) != TLV_TAG_CONTEXT || o >= n)
			return err_set_msg(e, ERR_CHECK,
					   "QR extension data: element at offset %zu is not context-tagged (0x%02x)",
					   o - 1, ctl);
		if (p->extra_count >= PAYLOAD_EXTRA_MAX)
			return err_set_msg(e, ERR_CHECK, "QR extension data: more than %d elements",
					   PAYLOAD_EXTRA_MAX);
		struct payload_extra *x = &p->extra[p->extra_count];
		memset(x, 0, sizeof *x);
		x->tag = d[o++];
		int type = ctl & 0x1F;
		if (type <= 0x07) {
			int width = 1 << (type & 3);
			if (o + (size_t)width > n)
				return err_set_msg(e, ERR_CHECK, "QR extension data: tag 0x%02x truncated", x->tag);
			uint64_t v = 0;
			for (int k = 0; k < width; k++)
				v |= (uint64_t)d[o + (size_t)k] << (8 * k);
			o += (size_t)width;
			if (type <= 0x03) {
				int shift = 64 - 8 * width;
				x->kind = PAYLOAD_EXTRA_INT;
				x->i = shift ? (int64_t)(v << shift) >> shift : (int64_t)v;
			} else {
				x->kind = PAYLOAD_EXTRA_UINT;
				x->u = v;
			}
		} else if (type == TLV_TYPE_UTF8_1 || type == TLV_TYPE_UTF8_1 + 1) {
			int lw = type == TLV_TYPE_UTF8_1 ? 1 : 2;
			if (o + (size_t)lw > n)
				return err_set_msg(e, ERR_CHECK, "QR extension data: tag 0x%02x truncated", x->tag);
			size_t len = d[o] | (lw == 2 ? (size_t)d[o + 1] << 8 : 0);
			o += (size_t)lw;
			if (o + len > n)
				return err_set_msg(e, ERR_CHECK, "QR extension data: string of tag 0x%02x truncated",
						   x->tag);
			if (len > PAYLOAD_EXTRA_STR_MAX)
				return err_set_msg(e, ERR_CHECK,
						   "QR extension data: string of tag 0x%02x is %zu bytes (at most %d)",
						   x->tag, len, PAYLOAD_EXTRA_STR_MAX);
			x->kind = PAYLOAD_EXTRA_STRING;
			memcpy(x->str, d + o, len);
			x->str[len] = '\0';
			o += len;
		} else {
			return err_set_msg(e, ERR_CHECK, "QR extension data: tag 0x%02x has unsupported element type 0x%02x",
					   x->tag, type);
		}
		p->extra_count++;
	}
	return 0;
}

/* ---- QR code ---- */

int payload_encode_qr(const struct payload *p, char *out, size_t out_size, err_t *e)
{
	if (payload_check_fields(p, e))
		return -1;
	uint8_t bytes[PAYLOAD_PACKED_LEN + 2 + PAYLOAD_EXTRA_MAX * (3 + PAYLOAD_EXTRA_STR_MAX + 8)];
	payload_pack_bits(p, bytes);
	size_t n = PAYLOAD_PACKED_LEN;
	if (p->extra_count) {
		size_t t = payload_write_tlv(p, bytes + n, sizeof bytes - n, e);
		if (!t)
			return -1;
		n += t;
	}
	if (out_size < 4)
		return err_set_msg(e, ERR_CHECK, "QR output buffer too small");
	memcpy(out, "MT:", 3);
	return payload_encode_base38(bytes, n, out + 3, out_size - 3, e);
}

int payload_parse_qr(const char *s, struct payload *p, err_t *e)
{
	memset(p, 0, sizeof *p);
	if (strncmp(s, "MT:", 3) != 0)
		return err_set_msg(e, ERR_CHECK, "QR string '%.40s' does not start with 'MT:'", s);
	uint8_t bytes[PAYLOAD_QR_MAX];
	size_t n = 0;
	if (payload_decode_base38(s + 3, bytes, sizeof bytes, &n, e))
		return err_prepend_context(e, "QR string");
	if (n < PAYLOAD_PACKED_LEN)
		return err_set_msg(e, ERR_CHECK, "QR string decodes to %zu bytes, fewer than %d", n,
				   PAYLOAD_PACKED_LEN);
	unsigned pos = 0;
	p->version = (uint8_t)payload_get_bits(bytes, &pos, 3);
	p->vid = (uint16_t)payload_get_bits(bytes, &pos, 16);
	p->pid = (uint16_t)payload_get_bits(bytes, &pos, 16);
	p->flow = (uint8_t)payload_get_bits(bytes, &pos, 2);
	p->discovery = (uint8_t)payload_get_bits(bytes, &pos, 8);
	p->discriminator = (uint16_t)payload_get_bits(bytes, &pos, 12);
	p->passcode = (uint32_t)payload_get_bits(bytes, &pos, 27);
	unsigned padding = (unsigned)payload_get_bits(bytes, &pos, 4);
	p->has_vid_pid = 1;
	if (padding)
		return err_set_msg(e, ERR_CHECK, "QR payload padding bits are 0x%x, not 0", padding);
	if (n > PAYLOAD_PACKED_LEN && payload_read_tlv(bytes + PAYLOAD_PACKED_LEN, n - PAYLOAD_PACKED_LEN, p, e))
		return -1;
	if (payload_check_fields(p, e))
		return err_prepend_context(e, "QR string");
	return 0;
}

/* ---- manual pairing code ---- */

int payload_encode_manual(const struct payload *p, int with_vid_pid, char out[PAYLOAD_MANUAL_MAX], err_t *e)
{
	if (payload_check_fields(p, e))
		return -1;
	unsigned short_disc = p->discriminator >> 8;
	unsigned c1 = ((with_vid_pid ? 1u : 0u) << 2) | (short_disc >> 2);
	unsigned c2 = ((short_disc & 3u) << 14) | (p->passcode & 0x3FFFu);
	unsigned c3 = p->passcode >> 14;
	char tmp[64];
	if (with_vid_pid)
		snprintf(tmp, sizeof tmp, "%u%05u%04u%05u%05u", c1, c2, c3, (unsigned)p->vid, (unsigned)p->pid);
	else
		snprintf(tmp, sizeof tmp, "%u%05u%04u", c1, c2, c3);
	size_t n = strlen(tmp);
	memcpy(out, tmp, n + 1);
	out[n] = payload_verhoeff_digit(out);
	out[n + 1] = '\0';
	return 0;
}

static unsigned payload_digits_value(const char *s, int n)
{
	unsigned v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

int payload_parse_manual(const char *s, struct payload *p, err_t *e)
{
	memset(p, 0, sizeof *p);
	char d[PAYLOAD_MANUAL_MAX];
	size_t n = 0;
	for (const char *c = s; *c; c++) {
		if (*c == '-' || *c == ' ')
			continue;
		if (*c < '0' || *c > '9')
			return err_set_msg(e, ERR_CHECK, "manual code '%.40s': '%c' is not a digit", s, *c);
		if (n + 1 >= sizeof d)
			return err_set_msg(e, ERR_CHECK, "manual code '%.40s' has more than 21 digits", s);
		d[n++] = *c;
	}
	d[n] = '\0';
	if (n != 11 && n != 21)
		return err_set_msg(e, ERR_CHECK, "manual code '%s' has %zu digits (11 or 21 expected)", d, n);
	char check = d[n - 1];
	d[n - 1] = '\0';
	char want = payload_verhoeff_digit(d);
	d[n - 1] = check;
	if (check != want)
		return err_set_msg(e, ERR_CHECK, "manual code '%s': check digit %c is wrong (expected %c)", d,
				   check, want);
	unsigned c1 = payload_digits_value(d, 1);
	if (c1 > 7)
		return err_set_msg(e, ERR_CHECK, "manual code '%s': first digit %u means an unsupported version",
				   d, c1);
	p->has_vid_pid = (c1 >> 2) & 1;
	if ((p->has_vid_pid && n != 21) || (!p->has_vid_pid && n != 11))
		return err_set_msg(e, ERR_CHECK, "manual code '%s': %zu digits but the VID/PID flag is %s", d, n,
				   p->has_vid_pid ? "set" : "clear");
	unsigned c2 = payload_digits_value(d + 1, 5), c3 = payload_digits_value(d + 6, 4);
	if (c2 > 0xFFFF || c3 > 0x1FFF)
		return err_set_msg(e, ERR_CHECK, "manual code '%s': passcode digits out of range", d);
	unsigned short_disc = ((c1 & 3u) << 2) | (c2 >> 14);
	p->discriminator = (uint16_t)(short_disc << 8);
	p->short_discriminator = 1;
	p->passcode = (c2 & 0x3FFFu) | (c3 << 14);
	if (p->has_vid_pid) {
		unsigned vid = payload_digits_value(d + 10, 5), pid = payload_digits_value(d + 15, 5);
		if (vid > 0xFFFF || pid > 0xFFFF)
			return err_set_msg(e, ERR_CHECK, "manual code '%s': VID %u or PID %u exceeds 65535", d, vid,
					   pid);
		p->vid = (uint16_t)vid;
		p->pid = (uint16_t)pid;
		/* The code only says "not standard"; 1 and 2 are indistinguishable. */
		p->flow = PAYLOAD_FLOW_CUSTOM;
	}
	if (spake2p_check_passcode(p->passcode, e))
		return err_prepend_context(e, "manual code '%s'", d);
	return 0;
}

int payload_group_manual(const char *code, char out[PAYLOAD_MANUAL_GROUPED_MAX], err_t *e)
{
	size_t n = strlen(code);
	for (size_t i = 0; i < n; i++)
		if (code[i] < '0' || code[i] > '9')
			return err_set_msg(e, ERR_CHECK, "manual code '%.32s': '%c' is not a digit", code, code[i]);
	if (n == 11)
		snprintf(out, PAYLOAD_MANUAL_GROUPED_MAX, "%.4s-%.3s-%.4s", code, code + 4, code + 7);
	else if (n == 21)
		snprintf(out, PAYLOAD_MANUAL_GROUPED_MAX, "%.4s-%.3s-%.4s\n%.4s-%.3s-%.2s-%.1s", code, code + 4,
			 code + 7, code + 11, code + 15, code + 18, code + 20);
	else
		return err_set_msg(e, ERR_CHECK, "manual code '%.32s' has %zu digits (11 or 21 expected)", code, n);
	return 0;
}

int payload_parse_string(const char *s, struct payload *p, int *is_qr, err_t *e)
{
	int qr = strncmp(s, "MT:", 3) == 0;
	if (is_qr)
		*is_qr = qr;
	if (qr)
		return payload_parse_qr(s, p, e);
	/* Anything starting with letters is a QR string with a wrong prefix, not a manual code. */
	if ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z'))
		return err_set_msg(e, ERR_CHECK, "'%.40s' is neither a QR string (no 'MT:' prefix) nor a manual code",
				   s);
	return payload_parse_manual(s, p, e);
}
