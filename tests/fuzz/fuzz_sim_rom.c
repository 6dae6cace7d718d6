/* fuzz_sim_rom: the simulator's command dispatcher (espfab-sim's ROM loader model) fed a SLIP
 * stream from a misbehaving host. The first byte picks the chip; a SYNC is handled first so the
 * input reaches the other commands (register and eFuse writes, flash and deflate downloads, MD5,
 * reads, baud changes). Every reply the simulator produces must be a well-formed ROM response. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "link/slip.h"
#include "loader/chip.h"
#include "loader/rom_proto.h"
#include "sim/sim_efuse.h"
#include "sim/sim_flash.h"
#include "sim/sim_rom.h"

static void fuzz_handle(sim_rom_t *r, const uint8_t *frame, size_t len)
{
	struct sim_rom_out out;
	struct rom_response resp;

	memset(&out, 0, sizeof out);
	sim_rom_out_clear(&out);
	sim_rom_handle(r, frame, len, -1, &out);
	if (out.n_pkt > sizeof out.pkt / sizeof out.pkt[0])
		abort();
	for (size_t i = 0; i < out.n_pkt; i++)
		if (rom_proto_parse_response(out.pkt[i].data, out.pkt[i].len, ROM_STATUS_LEN_ROM,
					     &resp) != 0)
			abort();
	sim_rom_out_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[6] = {0x24, 0x6f, 0x28, 0x01, 0x02, 0x03};
	const struct chip_desc *chip;
	sim_flash_t flash;
	sim_efuse_t efuse;
	sim_rom_t rom;
	slip_decoder_t dec;
	err_t e = {0};
	buf_t sync = BUF_INIT, pkt = BUF_INIT;

	if (size < 1)
		return 0;
	chip = chip_get_desc((enum chip_type)(data[0] % CHIP_COUNT));
	data++;
	size--;
	if (!chip || sim_flash_open(&flash, NULL, 256 * 1024, &e) != 0)
		return 0;
	if (sim_efuse_open(&efuse, chip, NULL, mac, &e) != 0) {
		sim_flash_close(&flash);
		return 0;
	}
	sim_rom_init(&rom, chip, 40, &flash, &efuse, false);

	rom_proto_build_sync(&sync);
	rom_proto_encode_request(&pkt, ROM_OP_SYNC, sync.data, sync.len, 0);
	fuzz_handle(&rom, pkt.data, pkt.len);

	slip_decoder_init(&dec, 0);
	size_t off = 0;
	while (off < size) {
		const uint8_t *frame;
		size_t flen;

		off += slip_decoder_feed(&dec, data + off, size - off, &frame, &flen);
		if (frame)
			fuzz_handle(&rom, frame, flen);
	}
	slip_decoder_free(&dec);
	buf_free_data(&sync);
	buf_free_data(&pkt);
	sim_rom_free(&rom);
	sim_efuse_close(&efuse);
	sim_flash_close(&flash);
	return 0;
}
