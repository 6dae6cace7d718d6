/* fuzz_efuse_plan: eFuse decoding and key-burn planning on whatever a chip's eFuse registers read
 * (a damaged line, a chip provisioned by someone else): key-block status, security state, and a
 * plan for every block and purpose. Safety rules checked on every input: a plan (not a resume)
 * is only made for a block whose words all read zero, and never for a chip other than the one
 * named. The first input byte picks the chip; the rest fills the register dump. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loader/chip.h"
#include "loader/efuse.h"

static const char *const fuzz_blocks[] = {"BLOCK1", "BLOCK2", "BLOCK3", "BLOCK_KEY0", "BLOCK_KEY1",
					  "BLOCK_KEY2", "BLOCK_KEY3", "BLOCK_KEY4", "BLOCK_KEY5",
					  "BLOCK_KEY6", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[64] = {0x5a, 0xa5, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
					0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12,
					0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c,
					0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26};
	struct efuse_dump d;
	struct efuse_security sec;
	struct efuse_key_plan plan;
	err_t e = {0};

	if (size < 2)
		return 0;
	const struct chip_desc *chip = chip_get_desc((enum chip_type)(data[0] % CHIP_COUNT));
	unsigned flags = data[1];
	if (!chip)
		return 0;
	memset(&d, 0, sizeof d);
	d.chip = chip;
	memcpy(d.words, data + 2, size - 2 < sizeof d.words ? size - 2 : sizeof d.words);

	efuse_security_state(&d, &sec);
	for (int b = 0; b < chip->efuse->n_blocks; b++) {
		struct efuse_key_status ks;
		efuse_key_status(&d, b, &ks);
	}
	const struct chip_desc *other = chip_get_desc((enum chip_type)((data[0] + 1) % CHIP_COUNT));
	for (int bi = 0; fuzz_blocks[bi]; bi++) {
		int idx = chip_efuse_find_block(chip, fuzz_blocks[bi]);
		int purposes[] = {KP_USER, KP_ECDSA_KEY, KP_XTS_AES_256_KEY_1, KP_XTS_AES_128_KEY,
				  KP_HMAC_DOWN_DIGITAL_SIGNATURE, KP_HMAC_UP, KP_SECURE_BOOT_DIGEST0,
				  KP_ESP32_FLASH_ENCRYPTION, KP_ESP32_SECURE_BOOT_V2,
				  KP_C2_XTS_AES_128_KEY_DERIVED};
		for (size_t p = 0; p < sizeof purposes / sizeof purposes[0]; p++) {
			struct efuse_burn_req req = {
				.chip_name = chip->name,
				.block = fuzz_blocks[bi],
				.key = key,
				.key_len = (flags & 3) == 0 ? 16 : (flags & 3) == 1 ? 24 : (flags & 3) == 2 ? 32 : 64,
				.purpose = purposes[p],
				.read_protect = flags & 4,
				.no_write_protect = flags & 8,
				.resume = flags & 16,
			};
			if (efuse_plan_key(chip, &d, &req, &plan, &e) == 0) {
				if (idx < 0 || plan.block_idx != idx)
					abort(); /* a plan for a block that was not named */
				if (!req.resume) {
					for (int w = 0; w < 8; w++)
						if (d.words[idx][w])
							abort(); /* would burn over existing bits */
				}
			}
			/* the same request for another chip type must be refused */
			if (other && other != chip) {
				req.chip_name = other->name;
				if (efuse_plan_key(chip, &d, &req, &plan, &e) == 0)
					abort();
			}
		}
	}
	return 0;
}
