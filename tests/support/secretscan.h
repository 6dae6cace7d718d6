/* secretscan: searches test outputs (a simulated flash image, a log, stdout) for secrets a run
 * generated, in any encoding a leak would take: raw bytes in either byte order, hex (either
 * case, any separators), base64 at any alignment (PEM wrapped or inside JSON strings). Each
 * secret is searched as 16-byte windows spread over it, so a partial copy is caught too. */
#ifndef ESPFAB_TESTS_SECRETSCAN_H
#define ESPFAB_TESTS_SECRETSCAN_H

#include <stddef.h>
#include <stdint.h>

struct secretscan_needle;

struct secretscan {
	struct secretscan_needle *needles;
	size_t count, cap;
	size_t secrets;
};

void secretscan_init(struct secretscan *s);
void secretscan_free(struct secretscan *s);
/* A binary secret of at least 8 bytes, named for the failure message. */
void secretscan_add(struct secretscan *s, const char *name, const uint8_t *p, size_t n);
/* The private parts of a key file (PEM/DER): an EC key's scalar, an RSA key's d, p, q, dp, dq. */
void secretscan_add_key_file(struct secretscan *s, const char *name, const char *path);
/* NULL when none of the secrets is in data; else "NAME (FORM)" of the first hit, in a static
 * buffer. */
const char *secretscan_find(const struct secretscan *s, const uint8_t *data, size_t len);
/* Fails the test naming what and the secret when data contains one. */
void secretscan_assert_clean(const struct secretscan *s, const char *what, const uint8_t *data, size_t len);
void secretscan_assert_file_clean(const struct secretscan *s, const char *path);

#endif
