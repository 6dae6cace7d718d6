#include "label/qr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "core/buf.h"

static int qr_is_alnum_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || strchr(" $%*+-./:", c) != NULL;
}

static QRecLevel qr_level(enum qr_ecc ecc)
{
	switch (ecc) {
	case QR_ECC_L: return QR_ECLEVEL_L;
	case QR_ECC_M: return QR_ECLEVEL_M;
	case QR_ECC_Q: return QR_ECLEVEL_Q;
	case QR_ECC_H: return QR_ECLEVEL_H;
	}
	return QR_ECLEVEL_M;
}

int qr_encode_text(const char *text, enum qr_ecc ecc, struct qr_matrix *out, err_t *e)
{
	memset(out, 0, sizeof *out);
	if (!text || !*text)
		return err_set_msg(e, ERR_CHECK, "QR payload is empty");
	size_t len = strlen(text);
	int alnum = 1;
	for (size_t i = 0; i < len; i++)
		if (!qr_is_alnum_char(text[i]))
			alnum = 0;
	QRcode *code = NULL;
	errno = 0;
	if (alnum) {
		QRinput *in = QRinput_new2(0, qr_level(ecc));
		if (!in)
			return err_set_msg(e, ERR_CHECK, "QR payload: %s", strerror(errno));
		if (QRinput_append(in, QR_MODE_AN, (int)len, (const unsigned char *)text) == 0)
			code = QRcode_encodeInput(in);
		QRinput_free(in);
	} else {
		code = QRcode_encodeString(text, 0, qr_level(ecc), QR_MODE_8, 1);
	}
	if (!code)
		return err_set_msg(e, ERR_CHECK, "QR payload '%s' cannot be encoded (%zu characters, ECC %c): %s",
				   text, len, qr_name_ecc(ecc), errno == ERANGE ? "too long" : strerror(errno));
	out->width = code->width;
	out->version = code->version;
	out->modules = mem_alloc_zeroed((size_t)code->width * (size_t)code->width);
	/* libqrencode's byte: bit 0 = dark, the other bits describe the module's role */
	for (int i = 0; i < code->width * code->width; i++)
		out->modules[i] = code->data[i] & 1;
	QRcode_free(code);
	return 0;
}

void qr_free_matrix(struct qr_matrix *m)
{
	free(m->modules);
	memset(m, 0, sizeof *m);
}

int qr_get_module(const struct qr_matrix *m, int x, int y)
{
	if (x < 0 || y < 0 || x >= m->width || y >= m->width)
		return 0;
	return m->modules[(size_t)y * (size_t)m->width + (size_t)x];
}

int qr_parse_ecc(const char *s, enum qr_ecc *out, err_t *e)
{
	static const char names[] = "LMQH";
	if (s && s[0] && !s[1]) {
		const char *p = strchr(names, s[0] >= 'a' ? s[0] - 'a' + 'A' : s[0]);
		if (p) {
			*out = (enum qr_ecc)(p - names);
			return 0;
		}
	}
	return err_set_msg(e, ERR_USAGE, "QR error correction '%s' is not one of L, M, Q, H", s ? s : "");
}

char qr_name_ecc(enum qr_ecc ecc)
{
	return "LMQH"[ecc & 3];
}
