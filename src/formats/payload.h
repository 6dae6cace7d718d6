/* payload: the Matter onboarding payload a device is commissioned with: the QR-code string
 * ("MT:" + base38 of the packed 88-bit payload, optionally followed by Matter-TLV extension data)
 * and the 11- or 21-digit manual pairing code with its Verhoeff check digit; both ways. */
#ifndef ESPFAB_FORMATS_PAYLOAD_H
#define ESPFAB_FORMATS_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define PAYLOAD_DISCRIMINATOR_MAX 0x0FFF
#define PAYLOAD_FLOW_STANDARD 0
#define PAYLOAD_FLOW_USER_INTENT 1
#define PAYLOAD_FLOW_CUSTOM 2
#define PAYLOAD_PACKED_LEN 11  /* 88 bits */
#define PAYLOAD_MANUAL_MAX 22  /* 21 digits + NUL */
#define PAYLOAD_QR_MAX 1024    /* room for the string with extension data, NUL included */
#define PAYLOAD_EXTRA_MAX 8
#define PAYLOAD_EXTRA_STR_MAX 64

/* Optional QR data: context tag 0x00 serial number, 0x01..0x7F other Matter tags, 0x80..0xFF
 * vendor data. */
enum payload_extra_kind {
	PAYLOAD_EXTRA_STRING,
	PAYLOAD_EXTRA_INT,  /* signed integer (vendor int32) */
	PAYLOAD_EXTRA_UINT, /* unsigned integer (serial number as a number, common uints) */
};

struct payload_extra {
	uint8_t tag;
	enum payload_extra_kind kind;
	int64_t i;
	uint64_t u;
	char str[PAYLOAD_EXTRA_STR_MAX + 1];
};

struct payload {
	uint8_t version;   /* 0 */
	uint16_t vid, pid;
	uint8_t flow;      /* PAYLOAD_FLOW_* */
	uint8_t discovery; /* bit0 SoftAP, bit1 BLE, bit2 on-network */
	uint16_t discriminator;
	uint32_t passcode;
	/* Set by payload_parse_manual: a manual code carries only the top 4 bits of the
	 * discriminator (kept in discriminator as short << 8), no discovery bits, and VID/PID only
	 * when has_vid_pid. */
	int short_discriminator;
	int has_vid_pid;
	size_t extra_count;
	struct payload_extra extra[PAYLOAD_EXTRA_MAX];
};

/* Range checks of every field (messages name the field and value). */
int payload_check_fields(const struct payload *p, err_t *e);

/* The 11 packed bytes (LSB-first bit string, see matter-provisioning.md §4). */
void payload_pack_bits(const struct payload *p, uint8_t out[PAYLOAD_PACKED_LEN]);
/* "MT:" + base38(packed bytes || TLV of p->extra). out holds at least PAYLOAD_QR_MAX chars. */
int payload_encode_qr(const struct payload *p, char *out, size_t out_size, err_t *e);
/* 11 digits, or 21 with VID/PID when with_vid_pid; generate_setup_payload.py passes
 * with_vid_pid = (flow != standard). */
int payload_encode_manual(const struct payload *p, int with_vid_pid, char out[PAYLOAD_MANUAL_MAX],
			  err_t *e);

/* Decoders; both validate (prefix, alphabet, lengths, check digit, version, passcode). */
int payload_parse_qr(const char *s, struct payload *p, err_t *e);
int payload_parse_manual(const char *s, struct payload *p, err_t *e);
/* Either form: "MT:" prefix means QR code; otherwise a manual code (dashes and spaces ignored). */
int payload_parse_string(const char *s, struct payload *p, int *is_qr, err_t *e);

/* Base38 as the Matter QR code uses it. out_size must hold the text and its NUL. */
int payload_encode_base38(const uint8_t *data, size_t n, char *out, size_t out_size, err_t *e);
/* Decodes into out (capacity out_size); *out_len is the byte count. */
int payload_decode_base38(const char *s, uint8_t *out, size_t out_size, size_t *out_len, err_t *e);

/* The manual code grouped for people, as esp-matter-mfg-tool writes it: 11 digits as
 * "dddd-ddd-dddd", 21 digits as "dddd-ddd-dddd\ndddd-ddd-dd-d" (two label lines). */
#define PAYLOAD_MANUAL_GROUPED_MAX 32
int payload_group_manual(const char *code, char out[PAYLOAD_MANUAL_GROUPED_MAX], err_t *e);

/* Verhoeff check digit ('0'..'9') of a string of decimal digits. */
char payload_verhoeff_digit(const char *digits);

#endif
