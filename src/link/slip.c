/* slip: SLIP encoder and incremental, bounded decoder (see slip.h). */
#include "link/slip.h"

#include <stdlib.h>
#include <string.h>

void slip_encode_frame(buf_t *out, const uint8_t *data, size_t len)
{
	buf_reserve_bytes(out, len + len / 8 + 2);
	buf_append_byte(out, SLIP_END);
	for (size_t i = 0; i < len; i++) {
		if (data[i] == SLIP_END) {
			buf_append_byte(out, SLIP_ESC);
			buf_append_byte(out, SLIP_ESC_END);
		} else if (data[i] == SLIP_ESC) {
			buf_append_byte(out, SLIP_ESC);
			buf_append_byte(out, SLIP_ESC_ESC);
		} else {
			buf_append_byte(out, data[i]);
		}
	}
	buf_append_byte(out, SLIP_END);
}

void slip_decoder_init(slip_decoder_t *d, size_t max_frame)
{
	memset(d, 0, sizeof(*d));
	d->max_frame = max_frame ? max_frame : SLIP_DEFAULT_MAX_FRAME;
	d->frame = mem_alloc_zeroed(d->max_frame);
	d->state = SLIP_STATE_IDLE;
}

void slip_decoder_free(slip_decoder_t *d)
{
	free(d->frame);
	d->frame = NULL;
	d->len = 0;
}

void slip_decoder_reset(slip_decoder_t *d)
{
	d->len = 0;
	d->state = SLIP_STATE_IDLE;
	d->noise_len = 0;
}

void slip_decoder_clear_noise(slip_decoder_t *d)
{
	d->noise_len = 0;
}

static void slip_keep_noise(slip_decoder_t *d, uint8_t c)
{
	d->noise_bytes++;
	if (d->noise_len == SLIP_NOISE_KEEP) {
		memmove(d->noise, d->noise + 1, SLIP_NOISE_KEEP - 1);
		d->noise_len--;
	}
	d->noise[d->noise_len++] = c;
}

/* Adds a decoded byte; a frame that outgrows the bound is dropped as a whole. */
static void slip_push_byte(slip_decoder_t *d, uint8_t c)
{
	if (d->len >= d->max_frame) {
		d->frames_oversized++;
		d->len = 0;
		d->state = SLIP_STATE_DISCARD;
		return;
	}
	d->frame[d->len++] = c;
}

size_t slip_decoder_feed(slip_decoder_t *d, const uint8_t *in, size_t n, const uint8_t **frame,
			 size_t *frame_len)
{
	*frame = NULL;
	*frame_len = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = in[i];
		switch (d->state) {
		case SLIP_STATE_IDLE:
			if (c == SLIP_END) {
				d->state = SLIP_STATE_FRAME;
				d->len = 0;
			} else {
				slip_keep_noise(d, c);
			}
			break;
		case SLIP_STATE_FRAME:
			if (c == SLIP_END) {
				if (d->len == 0)
					break; /* back-to-back delimiters: still at a frame start */
				d->state = SLIP_STATE_IDLE;
				d->frames_ok++;
				*frame = d->frame;
				*frame_len = d->len;
				d->len = 0;
				return i + 1;
			}
			if (c == SLIP_ESC)
				d->state = SLIP_STATE_ESCAPE;
			else
				slip_push_byte(d, c);
			break;
		case SLIP_STATE_ESCAPE:
			if (c == SLIP_ESC_END || c == SLIP_ESC_ESC) {
				d->state = SLIP_STATE_FRAME;
				slip_push_byte(d, c == SLIP_ESC_END ? SLIP_END : SLIP_ESC);
			} else if (c == SLIP_END) {
				/* A delimiter right after an escape: the frame is broken, but this 0xC0
				 * may start the next one. */
				d->frames_bad_escape++;
				d->len = 0;
				d->state = SLIP_STATE_FRAME;
			} else {
				d->frames_bad_escape++;
				d->len = 0;
				d->state = SLIP_STATE_DISCARD;
			}
			break;
		case SLIP_STATE_DISCARD:
			if (c == SLIP_END) {
				/* Could be the end of the broken frame or the start of the next one;
				 * treating it as a start is safe because empty frames are skipped and a
				 * mis-aligned frame is rejected by the packet layer. */
				d->state = SLIP_STATE_FRAME;
				d->len = 0;
			}
			break;
		}
	}
	return n;
}

const char *slip_decoder_noise_text(const slip_decoder_t *d, char *out, size_t out_size)
{
	size_t n = 0;
	if (out_size == 0)
		return out;
	for (size_t i = 0; i < d->noise_len && n + 1 < out_size; i++) {
		uint8_t c = d->noise[i];
		out[n++] = (c >= 0x20 && c < 0x7F) || c == '\n' ? (char)c : '.';
	}
	out[n] = '\0';
	return out;
}
