/* slip: SLIP framing of the ROM bootloader link (rom-protocol.md §1). The encoder wraps one
 * packet; the decoder is a byte-at-a-time state machine that is fed whatever chunks the
 * transport returns and yields complete frames, skipping boot-log noise between frames and
 * dropping frames that are malformed or larger than its bound. Shared by host and simulator. */
#ifndef ESPFAB_LINK_SLIP_H
#define ESPFAB_LINK_SLIP_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define SLIP_END 0xC0
#define SLIP_ESC 0xDB
#define SLIP_ESC_END 0xDC
#define SLIP_ESC_ESC 0xDD

/* Largest frame the host ever needs: a 16 KiB stub block plus headers; decoders may use less. */
#define SLIP_DEFAULT_MAX_FRAME (16384 + 64)
/* Bytes seen outside frames that the decoder keeps (the tail of a boot log, for diagnostics). */
#define SLIP_NOISE_KEEP 512

enum slip_state {
	SLIP_STATE_IDLE,    /* outside a frame: bytes are noise until 0xC0 */
	SLIP_STATE_FRAME,   /* inside a frame */
	SLIP_STATE_ESCAPE,  /* inside a frame, after 0xDB */
	SLIP_STATE_DISCARD, /* frame broken (oversized or bad escape): skip to the next 0xC0 */
};

typedef struct slip_decoder {
	uint8_t *frame;
	size_t len;
	size_t max_frame;
	enum slip_state state;
	/* Statistics a link layer can report when things go wrong. */
	unsigned long frames_ok;
	unsigned long frames_oversized;
	unsigned long frames_bad_escape;
	unsigned long noise_bytes;
	/* Last SLIP_NOISE_KEEP noise bytes, oldest first once noise_len reaches the bound. */
	uint8_t noise[SLIP_NOISE_KEEP];
	size_t noise_len;
} slip_decoder_t;

/* Appends 0xC0, the escaped bytes and 0xC0 to out. */
void slip_encode_frame(buf_t *out, const uint8_t *data, size_t len);

/* max_frame = 0 picks SLIP_DEFAULT_MAX_FRAME. */
void slip_decoder_init(slip_decoder_t *d, size_t max_frame);
void slip_decoder_free(slip_decoder_t *d);
/* Forgets a partial frame and the noise (after a reset or a baud change). */
void slip_decoder_reset(slip_decoder_t *d);

/* Feeds up to n bytes. Stops right after the byte that completes a frame: then *frame and
 * *frame_len describe it (valid until the next feed/reset) and the return value is the number
 * of bytes consumed; call again with the rest. Without a complete frame, consumes all n bytes
 * and sets *frame = NULL. Empty frames (back-to-back 0xC0) are never reported. */
size_t slip_decoder_feed(slip_decoder_t *d, const uint8_t *in, size_t n, const uint8_t **frame,
			 size_t *frame_len);

/* Copies the kept noise into out as a NUL-terminated string (non-printables as '.'); returns
 * out. Lets the connect logic look for "waiting for download" in the boot log. */
const char *slip_decoder_noise_text(const slip_decoder_t *d, char *out, size_t out_size);
void slip_decoder_clear_noise(slip_decoder_t *d);

#endif
