/* fuzz_slip_rom: the SLIP decoder fed in arbitrary chunks, and the ROM packet parsers (request,
 * ROM and stub responses, GET_SECURITY_INFO payload, error text) on every frame it yields, as
 * bytes from a device or a noisy cable reach the host (and the simulator). Every frame must be
 * within the decoder's bound and survive an encode/decode round trip unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "link/slip.h"
#include "loader/rom_proto.h"

static void fuzz_check_frame(const uint8_t *frame, size_t len, size_t max_frame)
{
	struct rom_request req;
	struct rom_response resp;
	struct rom_security_info si;

	if (len == 0 || len > max_frame)
		abort();
	if (rom_proto_parse_request(frame, len, &req) == 0) {
		if (req.data_len && req.data + req.data_len > frame + len)
			abort();
		(void)rom_proto_checksum(req.data, req.data_len);
		(void)rom_proto_opcode_name(req.op);
	}
	for (int stub = 0; stub < 2; stub++) {
		size_t sl = stub ? ROM_STATUS_LEN_STUB : ROM_STATUS_LEN_ROM;

		if (rom_proto_parse_response(frame, len, sl, &resp) != 0)
			continue;
		if (resp.payload_len && resp.payload + resp.payload_len > frame + len)
			abort();
		if (!rom_proto_describe_error(resp.status, resp.error))
			abort();
		(void)rom_proto_is_unsupported(&resp, resp.op);
		(void)rom_proto_parse_security_info(resp.payload, resp.payload_len, &si);
	}
	/* round trip: the frame re-encoded decodes to itself */
	buf_t wire = BUF_INIT;
	slip_decoder_t d;
	const uint8_t *again = NULL;
	size_t again_len = 0, used;

	slip_encode_frame(&wire, frame, len);
	slip_decoder_init(&d, max_frame);
	used = slip_decoder_feed(&d, wire.data, wire.len, &again, &again_len);
	if (!again || again_len != len || memcmp(again, frame, len) != 0 || used != wire.len)
		abort();
	slip_decoder_free(&d);
	buf_free_data(&wire);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	slip_decoder_t d;
	size_t max_frame, chunk;
	char noise[128];

	if (size < 2)
		return 0;
	/* first byte: a small or the default frame bound; second: the chunk size of the reads */
	max_frame = data[0] & 1 ? 64 + data[0] : 0;
	chunk = 1 + data[1];
	data += 2;
	size -= 2;
	slip_decoder_init(&d, max_frame);
	if (!max_frame)
		max_frame = SLIP_DEFAULT_MAX_FRAME;
	while (size > 0) {
		size_t n = size < chunk ? size : chunk, off = 0;

		while (off < n) {
			const uint8_t *frame;
			size_t flen, used = slip_decoder_feed(&d, data + off, n - off, &frame, &flen);

			if (used == 0 || used > n - off)
				abort();
			off += used;
			if (frame)
				fuzz_check_frame(frame, flen, max_frame);
		}
		data += n;
		size -= n;
		(void)slip_decoder_noise_text(&d, noise, sizeof noise);
		if (strlen(noise) >= sizeof noise)
			abort();
	}
	slip_decoder_free(&d);
	return 0;
}
