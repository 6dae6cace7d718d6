/* nvs_csv: reads the NVS partition generator's CSV (key,type,encoding,value; namespace, data and
 * file rows) into an nvs_list, applying the generator's row rules and quirks (comment lines,
 * value decoding, the Wi-Fi sta./ap. extra entries). Several files share one parser state. */
#ifndef ESPFAB_FORMATS_NVS_CSV_H
#define ESPFAB_FORMATS_NVS_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "formats/nvs.h"

struct nvs_csv_parser {
	struct nvs_list *list;
	char *base_dir;        /* relative file-row paths resolve here (NULL: the cwd) */
	bool namespace_seen;
	bool wifi_extras_written;
	char *ap_ssid, *ap_passwd, *ap_authmode;
};

void nvs_csv_init_parser(struct nvs_csv_parser *p, struct nvs_list *list, const char *base_dir);
void nvs_csv_free_parser(struct nvs_csv_parser *p);
/* name is used in messages ("name:line: field 'value': ..."). */
int nvs_csv_parse_text(struct nvs_csv_parser *p, const char *name, const char *text, size_t len,
		       err_t *e);
int nvs_csv_parse_file(struct nvs_csv_parser *p, const char *path, err_t *e);
/* The generator's multi-file input: files are processed in order into one list. */
int nvs_csv_parse_files(const char *const *paths, size_t n, const char *base_dir,
			struct nvs_list *list, err_t *e);

/* Value decoders with the generator's (Python's) rules, shared with tests. */
/* binascii.a2b_hex after str.strip(): even length, hex digits only, no 0x prefix. */
int nvs_csv_decode_hex(const char *s, size_t n, buf_t *out, err_t *e);
/* binascii.a2b_base64 (non-strict): skips non-alphabet characters, stops at complete padding. */
int nvs_csv_decode_base64(const char *s, size_t n, buf_t *out, err_t *e);
/* Python int() in base 10: surrounding whitespace, a sign, digits with single underscores.
 * Sets *neg and the magnitude; fails when it is not a number or exceeds 2^64-1. */
int nvs_csv_parse_integer(const char *s, size_t n, bool *neg, uint64_t *mag, err_t *e);

#endif
