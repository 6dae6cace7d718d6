/* fuzz_nvs: the NVS partition reader (pages, bitmaps, entries, blob reassembly), its listing and
 * JSON views, as `espfab nvs` and the inspector see a partition read from a device; also the
 * nvs_keys partition reader and in-place decryption of the image with a fixed key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "crypto/nvs_crypt.h"
#include "formats/nvs_read.h"

static void fuzz_read_image(const uint8_t *data, size_t size)
{
	struct nvs_read_result r;
	buf_t out = BUF_INIT;
	err_t e = {0};

	memset(&r, 0, sizeof r);
	if (nvs_read_partition(data, size, &r, &e) == 0) {
		nvs_read_format_listing(&r, &out);
		buf_free_data(&out);
		json_t *j = nvs_read_to_json(&r);
		if (!j)
			abort();
		json_decref(j);
		for (size_t i = 0; i < r.value_count; i++) {
			const struct nvs_read_value *v = &r.values[i];

			nvs_read_format_value(v, &out);
			buf_free_data(&out);
			(void)nvs_read_is_secret(v);
			if (nvs_read_find_value(&r, v->ns_name, v->key) == NULL)
				abort();
		}
	}
	nvs_read_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[NVS_CRYPT_KEY_LEN] = {0x11, 0x22, 0x33, 0x44, 0x55};
	uint8_t parsed[NVS_CRYPT_KEY_LEN];
	int crc_ok;
	err_t e = {0};

	fuzz_read_image(data, size);
	(void)nvs_crypt_parse_keys_partition(data, size, parsed, &crc_ok, &e);
	/* An encrypted partition read back: decrypt (only whole pages) and decode. */
	if (size >= 4096 && size % 4096 == 0 && size <= 4 * 4096) {
		uint8_t *copy = malloc(size);

		if (!copy)
			return 0;
		memcpy(copy, data, size);
		if (nvs_crypt_decrypt_partition(copy, size, key, &e) == 0)
			fuzz_read_image(copy, size);
		free(copy);
	}
	return 0;
}
