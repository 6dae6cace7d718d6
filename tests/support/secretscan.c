#include "secretscan.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>

#include "testutil.h"

#include "core/hex.h"

#define SCAN_WINDOW 16
#define SCAN_STRIDE 48 /* a window every this many bytes of a long secret */

enum scan_view { SCAN_RAW, SCAN_HEX, SCAN_B64 };

struct secretscan_needle {
	char name[48];
	char form[24];
	enum scan_view view;
	uint8_t bytes[2 * SCAN_WINDOW + 4];
	size_t len;
};

void secretscan_init(struct secretscan *s)
{
	memset(s, 0, sizeof *s);
}

void secretscan_free(struct secretscan *s)
{
	if (s->needles)
		mbedtls_platform_zeroize(s->needles, s->cap * sizeof *s->needles);
	free(s->needles);
	memset(s, 0, sizeof *s);
}

static void scan_add_needle(struct secretscan *s, const char *name, const char *form, enum scan_view view,
			    const void *p, size_t n)
{
	assert_true(n <= sizeof s->needles[0].bytes);
	if (s->count == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->needles = realloc(s->needles, s->cap * sizeof *s->needles);
		assert_non_null(s->needles);
	}
	struct secretscan_needle *nd = &s->needles[s->count++];
	snprintf(nd->name, sizeof nd->name, "%s", name);
	snprintf(nd->form, sizeof nd->form, "%s", form);
	nd->view = view;
	memcpy(nd->bytes, p, n);
	nd->len = n;
}

static void scan_add_window(struct secretscan *s, const char *name, const char *order, const uint8_t *w, size_t n)
{
	char hex[2 * SCAN_WINDOW + 1], form[24];
	snprintf(form, sizeof form, "raw%s", order);
	scan_add_needle(s, name, form, SCAN_RAW, w, n);
	hex_encode_bytes(w, n, hex);
	snprintf(form, sizeof form, "hex%s", order);
	scan_add_needle(s, name, form, SCAN_HEX, hex, strlen(hex));
	/* base64 of the window starting at each offset mod 3 of the encoded stream: whole 3-byte
	 * groups only, so the needle does not depend on what surrounds it. */
	for (size_t k = 0; k < 3 && n - k >= 6; k++) {
		buf_t b = BUF_INIT;
		hex_encode_base64(w + k, (n - k) / 3 * 3, &b);
		snprintf(form, sizeof form, "base64+%zu%s", k, order);
		scan_add_needle(s, name, form, SCAN_B64, b.data, b.len);
		buf_free_data(&b);
	}
}

void secretscan_add(struct secretscan *s, const char *name, const uint8_t *p, size_t n)
{
	assert_true(n >= 8);
	uint8_t *rev = malloc(n);
	assert_non_null(rev);
	for (size_t i = 0; i < n; i++)
		rev[i] = p[n - 1 - i];
	size_t w = n < SCAN_WINDOW ? n : SCAN_WINDOW;
	for (size_t off = 0;; off += SCAN_STRIDE) {
		if (off > n - w)
			off = n - w;
		scan_add_window(s, name, "", p + off, w);
		scan_add_window(s, name, " reversed", rev + off, w);
		if (off == n - w)
			break;
	}
	mbedtls_platform_zeroize(rev, n);
	free(rev);
	s->secrets++;
}

static void scan_add_mpi(struct secretscan *s, const char *name, const mbedtls_mpi *x)
{
	uint8_t b[1024];
	size_t n = mbedtls_mpi_size(x);
	assert_true(n >= 8 && n <= sizeof b);
	assert_int_equal(mbedtls_mpi_write_binary(x, b, n), 0);
	secretscan_add(s, name, b, n);
	mbedtls_platform_zeroize(b, sizeof b);
}

void secretscan_add_key_file(struct secretscan *s, const char *name, const char *path)
{
	/* The private parts only: a key file also carries the public key, which the certificate on
	 * flash rightly holds. A copy of the file itself (DER, PEM) contains these parts. */
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	if (mbedtls_pk_parse_keyfile(&pk, path, NULL))
		fail_msg("%s: not a private key file", path);
	char what[64];
	if (mbedtls_pk_get_type(&pk) == MBEDTLS_PK_ECKEY) {
		snprintf(what, sizeof what, "%s scalar", name);
		scan_add_mpi(s, what, &mbedtls_pk_ec(pk)->d);
	} else if (mbedtls_pk_get_type(&pk) == MBEDTLS_PK_RSA) {
		mbedtls_rsa_context *rsa = mbedtls_pk_rsa(pk);
		snprintf(what, sizeof what, "%s d", name);
		scan_add_mpi(s, what, &rsa->D);
		snprintf(what, sizeof what, "%s p", name);
		scan_add_mpi(s, what, &rsa->P);
		snprintf(what, sizeof what, "%s q", name);
		scan_add_mpi(s, what, &rsa->Q);
		snprintf(what, sizeof what, "%s dp", name);
		scan_add_mpi(s, what, &rsa->DP);
		snprintf(what, sizeof what, "%s dq", name);
		scan_add_mpi(s, what, &rsa->DQ);
	} else {
		fail_msg("%s: neither an EC nor an RSA key", path);
	}
	mbedtls_pk_free(&pk);
}

/* hex view: hex digits only, lower case ("AA:BB", "0xaa, 0xbb" match); base64 view: the
 * alphabet only, JSON escapes \n \r \t dropped (wrapped PEM and JSON strings match). */
static void scan_make_views(const uint8_t *p, size_t n, buf_t *hex, buf_t *b64)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == '\\' && i + 1 < n && (p[i + 1] == 'n' || p[i + 1] == 'r' || p[i + 1] == 't')) {
			i++;
			continue;
		}
		bool digit = c >= '0' && c <= '9';
		if (digit || (c >= 'a' && c <= 'f'))
			buf_append_byte(hex, c);
		else if (c >= 'A' && c <= 'F')
			buf_append_byte(hex, (uint8_t)(c - 'A' + 'a'));
		if (digit || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' || c == '/')
			buf_append_byte(b64, c);
	}
}

const char *secretscan_find(const struct secretscan *s, const uint8_t *data, size_t len)
{
	static char hit[128];
	buf_t hex = BUF_INIT, b64 = BUF_INIT;
	scan_make_views(data, len, &hex, &b64);
	const char *found = NULL;
	for (size_t i = 0; i < s->count && !found; i++) {
		const struct secretscan_needle *nd = &s->needles[i];
		const uint8_t *v = nd->view == SCAN_RAW ? data : nd->view == SCAN_HEX ? hex.data : b64.data;
		size_t vn = nd->view == SCAN_RAW ? len : nd->view == SCAN_HEX ? hex.len : b64.len;
		if (v && vn >= nd->len && memmem(v, vn, nd->bytes, nd->len)) {
			snprintf(hit, sizeof hit, "%s (%s)", nd->name, nd->form);
			found = hit;
		}
	}
	buf_free_data(&hex);
	buf_free_data(&b64);
	return found;
}

void secretscan_assert_clean(const struct secretscan *s, const char *what, const uint8_t *data, size_t len)
{
	assert_true(s->secrets > 0);
	const char *hit = secretscan_find(s, data, len);
	if (hit)
		fail_msg("%s contains the secret %s", what, hit);
}

void secretscan_assert_file_clean(const struct secretscan *s, const char *path)
{
	buf_t b = BUF_INIT;
	testutil_read_file(path, &b);
	secretscan_assert_clean(s, path, b.data, b.len);
	buf_free_data(&b);
}
