#include "simefuse.h"

#include <string.h>

#include "testutil.h"

#include "core/checksum.h"
#include "loader/chip.h"

void simefuse_load(const char *path, const char *chip, struct efuse_dump *d)
{
	const struct chip_desc *c = chip_find_by_name(chip);
	assert_non_null(c);
	memset(d, 0, sizeof *d);
	d->chip = c;
	buf_t b = BUF_INIT;
	testutil_read_file(path, &b);
	const struct efuse_layout *l = c->efuse;
	size_t at = 0;
	for (int i = 0; i < l->n_blocks; i++) {
		for (int w = 0; w < l->blocks[i].words; w++) {
			if (at + 4 > b.len)
				fail_msg("%s: %zu bytes, too short for the %s eFuse layout", path, b.len, chip);
			d->words[i][w] = checksum_read_u32le(b.data + at);
			at += 4;
		}
	}
	buf_wipe_data(&b);
}

void simefuse_key_bytes(const struct efuse_dump *d, int key_block, uint8_t out[32])
{
	const struct efuse_layout *l = d->chip->efuse;
	int idx = l->first_key_block + key_block;
	memset(out, 0, 32);
	for (int w = 0; w < l->blocks[idx].words && w < 8; w++) {
		uint32_t v = d->words[idx][w];
		out[4 * w] = (uint8_t)v;
		out[4 * w + 1] = (uint8_t)(v >> 8);
		out[4 * w + 2] = (uint8_t)(v >> 16);
		out[4 * w + 3] = (uint8_t)(v >> 24);
	}
}
