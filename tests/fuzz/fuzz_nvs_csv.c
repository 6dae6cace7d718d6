/* fuzz_nvs_csv: the NVS generator's CSV reader (rows, encodings, value decoding, Wi-Fi extras)
 * and the partition writer behind it. Whatever CSV is accepted and written must read back
 * through nvs_read without a single damaged page or entry - unless a key repeats in a namespace
 * index: the generator writes both items, and the reader then counts the chunks of both blobs
 * under one index, so such lists are only written, not checked. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "formats/nvs.h"
#include "formats/nvs_csv.h"
#include "formats/nvs_read.h"
#include "formats/nvs_write.h"

/* True when a namespace index would hold the same key twice. As the generator does, a namespace
 * named again does not switch back to it: items keep the newest namespace's index (vector n02). */
static bool fuzz_has_repeated_key(const struct nvs_list *l)
{
	size_t *ns_of = calloc(l->count + 1, sizeof *ns_of);
	size_t ns = 0, names = 0;
	bool repeated = false;

	if (!ns_of)
		abort();
	for (size_t i = 0; i < l->count && !repeated; i++) {
		if (l->items[i].kind == NVS_ITEM_NAMESPACE) {
			bool seen = false;

			for (size_t j = 0; j < i; j++)
				seen |= l->items[j].kind == NVS_ITEM_NAMESPACE &&
					!strcmp(l->items[j].key, l->items[i].key);
			if (!seen)
				ns = ++names;
			continue;
		}
		ns_of[i] = ns;
		for (size_t j = 0; j < i; j++)
			if (l->items[j].kind == NVS_ITEM_DATA && ns_of[j] == ns &&
			    !strcmp(l->items[j].key, l->items[i].key))
				repeated = true;
	}
	free(ns_of);
	return repeated;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nvs_list list;
	struct nvs_csv_parser p;
	buf_t img = BUF_INIT;
	err_t e = {0};

	nvs_list_init(&list);
	/* file rows resolve in a folder that does not exist: no file is ever read */
	nvs_csv_init_parser(&p, &list, "/nonexistent-espfab-fuzz");
	if (nvs_csv_parse_text(&p, "fuzz.csv", (const char *)data, size, &e) == 0) {
		for (int version = 1; version <= 2; version++) {
			if (nvs_write_partition(&list, 0x6000, version, &img, &e) == 0) {
				struct nvs_read_result r;

				memset(&r, 0, sizeof r);
				if (nvs_read_partition(img.data, img.len, &r, &e) != 0)
					abort();
				if (r.problem_count != 0 && !fuzz_has_repeated_key(&list)) {
					fprintf(stderr, "written image reads back damaged: %s\n",
						r.first_problem);
					abort();
				}
				nvs_read_free(&r);
			}
			buf_free_data(&img);
		}
	}
	nvs_csv_free_parser(&p);
	nvs_list_free(&list);

	/* the value decoders on the raw bytes */
	buf_t out = BUF_INIT;
	bool neg;
	uint64_t mag;
	(void)nvs_csv_decode_hex((const char *)data, size, &out, &e);
	buf_free_data(&out);
	(void)nvs_csv_decode_base64((const char *)data, size, &out, &e);
	buf_free_data(&out);
	(void)nvs_csv_parse_integer((const char *)data, size, &neg, &mag, &e);
	return 0;
}
