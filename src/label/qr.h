/* qr: the QR symbol of an onboarding payload as a module matrix, from libqrencode. Every label
 * output (terminal, PNG, ZPL) starts from this matrix, so all of them carry the same symbol. */
#ifndef ESPFAB_LABEL_QR_H
#define ESPFAB_LABEL_QR_H

#include <stdint.h>

#include "core/err.h"

/* The quiet zone ISO/IEC 18004 asks for around a model 2 symbol, in modules. */
#define QR_QUIET_ZONE 4

enum qr_ecc { QR_ECC_L, QR_ECC_M, QR_ECC_Q, QR_ECC_H };

/* Medium, as esp-matter renders the onboarding QR (version 2 for an "MT:" payload; see
 * reference/matter-provisioning.md §4). connectedhomeip's ESP32 example screens use Low, but only
 * for an on-screen code; a printed label gets scuffed and smeared, M restores ~15% of the
 * symbol, and a 22-character payload still fits version 2 (25×25 modules). */
#define QR_ECC_DEFAULT QR_ECC_M

struct qr_matrix {
	int width;         /* modules per side, without the quiet zone */
	int version;
	uint8_t *modules;  /* width × width, row-major, 1 = dark */
};

/* Encodes text. A string made only of QR alphanumeric characters (every "MT:" payload: upper
 * case, digits, "-", ".", ":") is put in ONE alphanumeric segment, as the Matter tools do;
 * anything else goes through libqrencode's mode optimiser, case-sensitive. */
int qr_encode_text(const char *text, enum qr_ecc ecc, struct qr_matrix *out, err_t *e);
void qr_free_matrix(struct qr_matrix *m);
/* 1 for a dark module; coordinates outside the symbol (the quiet zone) are light. */
int qr_get_module(const struct qr_matrix *m, int x, int y);

/* "L", "M", "Q", "H" (either case) → ecc; -1 with e set otherwise. */
int qr_parse_ecc(const char *s, enum qr_ecc *out, err_t *e);
char qr_name_ecc(enum qr_ecc ecc);

#endif
