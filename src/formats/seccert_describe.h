/* seccert_describe: a JSON view of a decoded esp_secure_cert partition for the inspector and
 * `espfab seccert dump`: certificate subject, issuer and validity, key type and storage, DS and
 * SEC_CFG fields. Private keys, DS ciphertext and other secret values are shown only as type,
 * length and SHA-256, never as bytes. */
#ifndef ESPFAB_FORMATS_SECCERT_DESCRIBE_H
#define ESPFAB_FORMATS_SECCERT_DESCRIBE_H

#include <jansson.h>

#include "core/buf.h"
#include "formats/seccert.h"

json_t *seccert_describe_entry(const struct seccert_entry *en);
/* {"layout", "used_bytes", "integrity_checked", "entries": [...]}, plus "defects":
 * [{"offset", "defect"}, ...] when the image has any. */
json_t *seccert_describe_image(const struct seccert_image *img);
/* One line per entry, then one per defect, for terminals. */
void seccert_format_text(const json_t *desc, buf_t *out);

#endif
