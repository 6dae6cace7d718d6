/* Unit tests of the esp_secure_cert writer, reader and builder: entry layout, the writer's
 * refusals, a table of corrupted images each reported by name and offset, key and certificate
 * re-encoding, the legacy cust_flash layout (plaintext and DS), the ECDSA-peripheral SEC_CFG,
 * CSV errors and the readback check. Keys and certificates are generated here. */
#include "testutil.h"

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/aes.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

#include "core/checksum.h"
#include "core/hex.h"
#include "core/rng.h"
#include "crypto/ds.h"
#include "crypto/ecdsa_efuse.h"
#include "crypto/keyfile.h"
#include "formats/seccert.h"
#include "formats/seccert_build.h"
#include "formats/seccert_describe.h"

/* ---- generated inputs ---- */

static void gen_ec_key(mbedtls_pk_context *pk)
{
	mbedtls_pk_init(pk);
	assert_int_equal(mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
	assert_int_equal(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*pk),
					     rng_mbedtls_callback, NULL), 0);
}

static void gen_rsa_key(mbedtls_pk_context *pk, unsigned bits)
{
	mbedtls_pk_init(pk);
	assert_int_equal(mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)), 0);
	assert_int_equal(mbedtls_rsa_gen_key(mbedtls_pk_rsa(*pk), rng_mbedtls_callback, NULL, bits, 65537), 0);
}

static void make_cert_der(mbedtls_pk_context *pk, const char *cn, buf_t *der)
{
	mbedtls_x509write_cert w;
	mbedtls_x509write_crt_init(&w);
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, pk);
	mbedtls_x509write_crt_set_issuer_key(&w, pk);
	assert_int_equal(mbedtls_x509write_crt_set_subject_name(&w, cn), 0);
	assert_int_equal(mbedtls_x509write_crt_set_issuer_name(&w, cn), 0);
	mbedtls_mpi serial;
	mbedtls_mpi_init(&serial);
	mbedtls_mpi_lset(&serial, 42);
	assert_int_equal(mbedtls_x509write_crt_set_serial(&w, &serial), 0);
	assert_int_equal(mbedtls_x509write_crt_set_validity(&w, "20240101000000", "20341231235959"), 0);
	unsigned char tmp[4096];
	int n = mbedtls_x509write_crt_der(&w, tmp, sizeof tmp, rng_mbedtls_callback, NULL);
	assert_true(n > 0);
	der->len = 0;
	buf_append_bytes(der, tmp + sizeof tmp - n, (size_t)n);
	mbedtls_mpi_free(&serial);
	mbedtls_x509write_crt_free(&w);
}

static void key_to_pem(mbedtls_pk_context *pk, buf_t *pem)
{
	unsigned char tmp[8192];
	assert_int_equal(mbedtls_pk_write_key_pem(pk, tmp, sizeof tmp), 0);
	pem->len = 0;
	buf_append_bytes(pem, tmp, strlen((char *)tmp));
}

static void key_to_der(mbedtls_pk_context *pk, buf_t *der)
{
	unsigned char tmp[8192];
	int n = mbedtls_pk_write_key_der(pk, tmp, sizeof tmp);
	assert_true(n > 0);
	der->len = 0;
	buf_append_bytes(der, tmp + sizeof tmp - n, (size_t)n);
}

/* ---- writer ---- */

static void test_writer_layout_and_crc(void **state)
{
	(void)state;
	static const size_t lens[] = {0, 1, 15, 16, 17, 100};
	struct seccert_writer w;
	seccert_writer_init(&w, 0);
	err_t e = {0};
	uint8_t value[100];
	for (size_t i = 0; i < sizeof value; i++)
		value[i] = (uint8_t)(i * 7 + 1);
	size_t off = 0;
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		assert_int_equal(seccert_writer_add(&w, 51 + (unsigned)(i % 5), (unsigned)i, 0, value, lens[i], &e), 0);
		const uint8_t *h = w.image.data + off;
		size_t pad = (16 - lens[i] % 16) % 16;
		assert_int_equal(off % 16, 0);
		assert_int_equal(checksum_read_u32le(h), 0xBA5EBA11u);
		assert_int_equal(h[8], 51 + i % 5);
		assert_int_equal(h[9], i);
		assert_int_equal(checksum_read_u16le(h + 10), lens[i]);
		assert_memory_equal(h + 12, value, lens[i]);
		for (size_t k = 0; k < pad; k++)
			assert_int_equal(h[12 + lens[i] + k], 0);
		size_t body = 12 + lens[i] + pad;
		assert_int_equal(checksum_read_u32le(h + body), checksum_crc32_esp(h, body));
		off += body + 4;
		assert_int_equal(w.image.len, off);
	}
	/* INTEGRITY covers everything before it. */
	size_t before = w.image.len;
	assert_int_equal(seccert_writer_add_integrity(&w, 0, &e), 0);
	uint8_t digest[32];
	mbedtls_sha256_ret(w.image.data, before, digest, 0);
	assert_memory_equal(w.image.data + before + 12, digest, 32);
	assert_int_equal(w.image.data[before + 8], 9);
	seccert_writer_free(&w);
}

static void test_writer_refusals(void **state)
{
	(void)state;
	struct seccert_writer w;
	seccert_writer_init(&w, 256);
	err_t e = {0};
	uint8_t big[300] = {0};
	assert_int_equal(seccert_writer_add(&w, 0, 0, 0, "x", 1, &e), 0);
	assert_int_equal(seccert_writer_add(&w, 0, 0, 0, "y", 1, &e), -1);
	assert_non_null(strstr(e.msg, "duplicate"));
	assert_int_equal(seccert_writer_add(&w, 50, 0, 0, "y", 1, &e), -1);
	assert_non_null(strstr(e.msg, "reserved"));
	assert_int_equal(seccert_writer_add(&w, 255, 0, 0, "y", 1, &e), -1);
	assert_int_equal(seccert_writer_add(&w, 1, 255, 0, "y", 1, &e), -1);
	assert_non_null(strstr(e.msg, "subtype 255"));
	assert_int_equal(seccert_writer_add(&w, 1, 0, 0, big, sizeof big, &e), -1);
	assert_non_null(strstr(e.msg, "partition size exceeded"));
	assert_int_equal(w.image.len, 32); /* refusals leave the image as it was */
	seccert_writer_free(&w);
	seccert_writer_init(&w, 0x20000);
	uint8_t *huge = calloc(1, 70000);
	assert_int_equal(seccert_writer_add(&w, 51, 0, 0, huge, 70000, &e), -1);
	assert_non_null(strstr(e.msg, "65535"));
	free(huge);
	seccert_writer_free(&w);
}

/* ---- reader: corrupted inputs ---- */

static void build_sample(buf_t *img)
{
	struct seccert_writer w;
	seccert_writer_init(&w, 0);
	err_t e = {0};
	uint8_t v[40];
	for (size_t i = 0; i < sizeof v; i++)
		v[i] = (uint8_t)(0x30 + i);
	assert_int_equal(seccert_writer_add(&w, 0, 0, 0, v, 40, &e), 0);   /* 0x00, 64 bytes */
	assert_int_equal(seccert_writer_add(&w, 51, 1, 0, v, 5, &e), 0);   /* 0x40, 32 bytes */
	assert_int_equal(seccert_writer_add(&w, 201, 0, 0, v, 16, &e), 0); /* 0x60, 32 bytes */
	assert_int_equal(seccert_writer_add(&w, 52, 0, 0, v, 3, &e), 0);   /* 0x80, 32 bytes */
	assert_int_equal(seccert_writer_add_integrity(&w, 0, &e), 0);      /* 0xa0, 48 bytes */
	img->len = 0;
	buf_append_bytes(img, w.image.data, w.image.len);
	seccert_writer_free(&w);
}

static void fix_crc(uint8_t *img, size_t off)
{
	size_t len = checksum_read_u16le(img + off + 10);
	size_t body = 12 + len + (16 - len % 16) % 16;
	checksum_write_u32le(img + off + body, checksum_crc32_esp(img + off, body));
}

enum corruption {
	C_MAGIC_FIRST, C_MAGIC_MIDDLE, C_CRC, C_LENGTH_PAST_END, C_TRUNCATED_PADDING,
	C_TRUNCATED_FOOTER, C_TRUNCATED_HEADER, C_PADDING_NONZERO, C_INTEGRITY, C_DUPLICATE,
	C_RESERVED, C_GARBAGE_TAIL,
};

static void test_reader_reports_corruptions(void **state)
{
	(void)state;
	static const struct {
		enum corruption c;
		const char *name;
		const char *offset;
	} table[] = {
		{C_MAGIC_FIRST, "bad TLV magic", "offset 0x0:"},
		{C_MAGIC_MIDDLE, "bad TLV magic", "offset 0x60"},
		{C_CRC, "bad CRC", "offset 0x40"},
		{C_LENGTH_PAST_END, "runs past the end", "offset 0x80"},
		{C_TRUNCATED_PADDING, "padding and CRC truncated", "offset 0x80"},
		{C_TRUNCATED_FOOTER, "padding and CRC truncated", "offset 0xa0"},
		{C_TRUNCATED_HEADER, "header truncated", "offset 0xa0"},
		{C_PADDING_NONZERO, "padding byte", "offset 0x40"},
		{C_INTEGRITY, "integrity", "offset 0xa0"},
		{C_DUPLICATE, "duplicate", "offset 0x60"},
		{C_RESERVED, "reserved header bytes", "offset 0x0"},
		{C_GARBAGE_TAIL, "bad TLV magic", "offset 0xd0"},
	};
	buf_t base = BUF_INIT;
	build_sample(&base);
	assert_int_equal(base.len, 0xd0);
	for (size_t t = 0; t < sizeof table / sizeof table[0]; t++) {
		buf_t b = BUF_INIT;
		buf_append_bytes(&b, base.data, base.len);
		uint8_t *p = b.data;
		switch (table[t].c) {
		case C_MAGIC_FIRST: p[0] = 0x12; break;
		case C_MAGIC_MIDDLE: p[0x60 + 3] = 0xBB; break;
		case C_CRC: p[0x40 + 12] ^= 1; break;
		case C_LENGTH_PAST_END: checksum_write_u16le(p + 0x80 + 10, 0x200); break;
		case C_TRUNCATED_PADDING: b.len = 0x80 + 12 + 3 + 5; break;
		case C_TRUNCATED_FOOTER: b.len = 0xa0 + 12 + 32 + 2; break;
		case C_TRUNCATED_HEADER: b.len = 0xa0 + 8; break;
		case C_PADDING_NONZERO: p[0x40 + 12 + 5] = 1; fix_crc(p, 0x40); break;
		case C_INTEGRITY: p[0x40 + 12] ^= 1; fix_crc(p, 0x40); break;
		case C_DUPLICATE: p[0x60 + 8] = 51; p[0x60 + 9] = 1; fix_crc(p, 0x60); break;
		case C_RESERVED: p[6] = 1; fix_crc(p, 0); break;
		case C_GARBAGE_TAIL: buf_append_fill(&b, 0xFF, 32); buf_append_bytes(&b, "junk", 4);
			b.data[0xd0] = 0; break;
		}
		struct seccert_image img;
		err_t e = {0};
		int rc = seccert_parse_image(b.data, b.len, 0, &img, &e);
		if (rc != -1 || !strstr(e.msg, table[t].name) || !strstr(e.msg, table[t].offset))
			fail_msg("corruption %zu: rc %d, message '%s' (want '%s' at '%s')", t, rc, e.msg,
				 table[t].name, table[t].offset);
		seccert_image_free(&img);
		buf_free_data(&b);
	}
	/* The intact sample, also followed by erased flash or the FF FF 00 00 end marker, decodes. */
	for (int tail = 0; tail < 3; tail++) {
		buf_t b = BUF_INIT;
		buf_append_bytes(&b, base.data, base.len);
		if (tail == 1)
			buf_append_fill(&b, 0xFF, 0x2000 - b.len);
		if (tail == 2) {
			buf_append_u32le(&b, 0xFFFF);
			buf_append_fill(&b, 0xFF, 64);
		}
		struct seccert_image img;
		err_t e = {0};
		assert_int_equal(seccert_parse_image(b.data, b.len, 0, &img, &e), 0);
		assert_int_equal(img.count, 5);
		assert_int_equal(img.used_len, 0xd0);
		assert_true(img.integrity_checked);
		assert_int_equal(img.entries[2].type, 201);
		assert_int_equal(img.entries[2].offset, 0x60);
		assert_int_equal(img.entries[1].length, 5);
		assert_non_null(seccert_find_entry(&img, 52, 0));
		assert_null(seccert_find_entry(&img, 52, 1));
		seccert_image_free(&img);
		buf_free_data(&b);
	}
	/* Erased flash is an empty partition, not an error. */
	uint8_t ff[64];
	memset(ff, 0xFF, sizeof ff);
	struct seccert_image img;
	err_t e = {0};
	assert_int_equal(seccert_parse_image(ff, sizeof ff, 0, &img, &e), 0);
	assert_int_equal(img.layout, SECCERT_LAYOUT_EMPTY);
	assert_int_equal(img.count, 0);
	seccert_image_free(&img);
	buf_free_data(&base);
}

/* The reader goes on past a defect where it can and names every one: a bad CRC is skipped by its
 * length (or, when the length leads nowhere, by the next aligned magic), a bad magic by the next
 * aligned magic; the sound entries on either side are decoded. */
static void expect_defects(const buf_t *b, const size_t *want_entries, size_t n_entries,
			   const char *const *want_defects, size_t n_defects)
{
	struct seccert_image img;
	err_t e = {0};
	assert_int_equal(seccert_parse_image(b->data, b->len, 0, &img, &e), -1);
	if (img.count != n_entries)
		fail_msg("%zu entries decoded, want %zu (%s)", img.count, n_entries, e.msg);
	for (size_t i = 0; i < n_entries; i++)
		assert_int_equal(img.entries[i].offset, want_entries[i]);
	if (img.defect_count != n_defects)
		fail_msg("%zu defects, want %zu: %s", img.defect_count, n_defects, e.msg);
	for (size_t i = 0; i < n_defects; i++) {
		if (!strstr(img.defects[i].text, want_defects[i]))
			fail_msg("defect %zu '%s' lacks '%s'", i, img.defects[i].text, want_defects[i]);
		/* the message names every defect */
		if (!strstr(e.msg, img.defects[i].text))
			fail_msg("message '%s' lacks defect %zu", e.msg, i);
	}
	seccert_image_free(&img);
}

static void test_reader_continues_past_defects(void **state)
{
	(void)state;
	buf_t base = BUF_INIT;
	build_sample(&base); /* 0x00 CA_CERT, 0x40 USER_DATA_1, 0x60 MATTER, 0x80 USER_DATA_2, 0xa0 INTEGRITY */

	/* two damaged entries: a bad CRC and a bad magic further on */
	buf_t b = BUF_INIT;
	buf_append_bytes(&b, base.data, base.len);
	b.data[0x40 + 12] ^= 1;
	b.data[0x80 + 1] = 0;
	const size_t e1[] = {0x00, 0x60, 0xa0};
	const char *const d1[] = {"TLV at offset 0x40 (type 51 (USER_DATA_1) subtype 1): bad CRC",
				  "offset 0x80: bad TLV magic",
				  "TLV at offset 0xa0 (type 9 (INTEGRITY) subtype 0): integrity"};
	expect_defects(&b, e1, 3, d1, 3);

	/* a damaged length: skipping by it leads nowhere, so the next magic is found instead */
	b.len = 0;
	buf_append_bytes(&b, base.data, base.len);
	checksum_write_u16le(b.data + 0x40 + 10, 100);
	const size_t e2[] = {0x00, 0x60, 0x80, 0xa0};
	const char *const d2[] = {"TLV at offset 0x40 (type 51 (USER_DATA_1) subtype 1): bad CRC",
				  "offset 0xa0 (type 9 (INTEGRITY) subtype 0): integrity"};
	expect_defects(&b, e2, 4, d2, 2);

	/* the first header damaged: the entries after it are still found */
	b.len = 0;
	buf_append_bytes(&b, base.data, base.len);
	b.data[2] = 0;
	const size_t e3[] = {0x40, 0x60, 0x80, 0xa0};
	const char *const d3[] = {"offset 0x0: bad TLV magic (expected 11 ba 5e ba); 64 bytes "
				  "skipped to the next magic at 0x40",
				  "offset 0xa0 (type 9 (INTEGRITY) subtype 0): integrity"};
	expect_defects(&b, e3, 4, d3, 2);

	/* entries whose CRC holds are decoded with their flaws named: reserved bytes, padding */
	b.len = 0;
	buf_append_bytes(&b, base.data, base.len);
	b.data[0x60 + 6] = 1;
	fix_crc(b.data, 0x60);
	b.data[0x80 + 12 + 3] = 7;
	fix_crc(b.data, 0x80);
	const size_t e4[] = {0x00, 0x40, 0x60, 0x80, 0xa0};
	const char *const d4[] = {"offset 0x60 (type 201 (MATTER_TLV_1) subtype 0): reserved",
				  "offset 0x80 (type 52 (USER_DATA_2) subtype 0): padding byte at 0x8f",
				  "offset 0xa0 (type 9 (INTEGRITY) subtype 0): integrity"};
	expect_defects(&b, e4, 5, d4, 3);

	/* junk after the last entry that holds no magic ends the walk, named */
	b.len = 0;
	buf_append_bytes(&b, base.data, base.len);
	b.data[0x40 + 12] ^= 1;
	buf_append_bytes(&b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	const size_t e5[] = {0x00, 0x60, 0x80, 0xa0};
	const char *const d5[] = {"offset 0x40 (type 51 (USER_DATA_1) subtype 1): bad CRC",
				  "offset 0xa0 (type 9 (INTEGRITY) subtype 0): integrity",
				  "offset 0xd0: bad TLV magic (expected 11 ba 5e ba) and the rest is "
				  "not erased flash"};
	expect_defects(&b, e5, 4, d5, 3);
	buf_free_data(&b);
	buf_free_data(&base);
}

static bool contains_hex_of(const buf_t *text, const uint8_t *p, size_t n)
{
	char *hex = malloc(2 * n + 1);
	assert_non_null(hex);
	hex_encode_bytes(p, n, hex);
	bool hit = text->data && strstr((const char *)text->data, hex);
	for (size_t i = 0; hex[i]; i++) /* upper case too */
		if (hex[i] >= 'a' && hex[i] <= 'f')
			hex[i] = (char)(hex[i] - 'a' + 'A');
	hit = hit || (text->data && strstr((const char *)text->data, hex));
	free(hex);
	return hit;
}

/* `seccert dump` of an image with several defects: every sound entry printed, every defect
 * listed with its offset (text and JSON), exit 1, and never a byte of a private key - neither
 * from a sound PRIV_KEY entry nor from a damaged one, nor from a key file given by mistake. */
static void test_dump_lists_every_defect(void **state)
{
	(void)state;
	uint8_t key1[48], key2[48];
	for (size_t i = 0; i < sizeof key1; i++) {
		key1[i] = (uint8_t)(0xC0 ^ (i * 37));
		key2[i] = (uint8_t)(0x5A ^ (i * 11));
	}
	struct seccert_writer w;
	seccert_writer_init(&w, 0);
	err_t e = {0};
	assert_int_equal(seccert_writer_add(&w, 51, 0, 0, "hello", 5, &e), 0);     /* 0x00 */
	assert_int_equal(seccert_writer_add(&w, 2, 0, 0, key1, sizeof key1, &e), 0); /* 0x20 */
	assert_int_equal(seccert_writer_add(&w, 2, 1, 0, key2, sizeof key2, &e), 0); /* 0x60 */
	assert_int_equal(seccert_writer_add(&w, 52, 0, 0, "world", 5, &e), 0);     /* 0xa0 */
	assert_int_equal(seccert_writer_add(&w, 53, 0, 0, "again", 5, &e), 0);     /* 0xc0 */
	assert_int_equal(w.image.len, 0xe0);
	w.image.data[0x60 + 20] ^= 1; /* key2's CRC fails */
	w.image.data[0xa0] = 0;       /* bad magic: resync at 0xc0 */
	char *dir = testutil_make_tmpdir();
	char *path = testutil_join_path(dir, "bad.bin");
	testutil_write_file(path, w.image.data, w.image.len);
	char *kpath = testutil_join_path(dir, "key.bin");
	testutil_write_file(kpath, key1, sizeof key1);

	char *a1[] = {"espfab", "seccert", "dump", "bad.bin", NULL};
	buf_t out = BUF_INIT, err = BUF_INIT;
	assert_int_equal(testutil_run_espfab(dir, a1, &out, &err), 1);
	buf_terminate_str(&out);
	buf_terminate_str(&err);
	const char *o = (const char *)out.data, *er = (const char *)err.data;
	assert_non_null(strstr(o, "0x0000  USER_DATA_1"));
	assert_non_null(strstr(o, "0x0020  PRIV_KEY"));
	assert_non_null(strstr(o, "0x00c0  USER_DATA_3"));
	assert_null(strstr(o, "0x0060  PRIV_KEY"));
	assert_non_null(strstr(o, "defect: TLV at offset 0x60 (type 2 (PRIV_KEY) subtype 1): bad CRC"));
	assert_non_null(strstr(o, "defect: offset 0xa0: bad TLV magic (expected 11 ba 5e ba); 32 "
				  "bytes skipped to the next magic at 0xc0"));
	assert_non_null(strstr(er, "bad.bin: TLV at offset 0x60"));
	assert_non_null(strstr(er, "offset 0xa0: bad TLV magic"));
	assert_non_null(strstr(er, "(2 defects)"));
	assert_false(contains_hex_of(&out, key1, 8) || contains_hex_of(&err, key1, 8));
	assert_false(contains_hex_of(&out, key2, 8) || contains_hex_of(&err, key2, 8));

	char *a2[] = {"espfab", "seccert", "dump", "bad.bin", "--json", NULL};
	out.len = err.len = 0;
	assert_int_equal(testutil_run_espfab(dir, a2, &out, &err), 1);
	buf_terminate_str(&out);
	json_error_t je;
	json_t *j = json_loads((const char *)out.data, 0, &je);
	assert_non_null(j);
	json_t *defs = json_object_get(j, "defects");
	assert_int_equal(json_array_size(defs), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(defs, 0), "offset")), 0x60);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(defs, 1), "offset")), 0xa0);
	assert_int_equal(json_array_size(json_object_get(j, "entries")), 3);
	json_decref(j);
	assert_false(contains_hex_of(&out, key1, 8) || contains_hex_of(&out, key2, 8));

	/* a key file given by mistake: named as not an esp_secure_cert image, its bytes not shown */
	char *a3[] = {"espfab", "seccert", "dump", "key.bin", NULL};
	out.len = err.len = 0;
	assert_int_equal(testutil_run_espfab(dir, a3, &out, &err), 1);
	buf_terminate_str(&err);
	assert_non_null(strstr((const char *)err.data, "key.bin: offset 0x0: bad TLV magic"));
	assert_false(contains_hex_of(&out, key1, 4) || contains_hex_of(&err, key1, 4));

	/* a sound image still decodes without a defect list */
	seccert_writer_free(&w);
	seccert_writer_init(&w, 0);
	assert_int_equal(seccert_writer_add(&w, 51, 0, 0, "hello", 5, &e), 0);
	testutil_write_file(path, w.image.data, w.image.len);
	out.len = err.len = 0;
	assert_int_equal(testutil_run_espfab(dir, a2, &out, &err), 0);
	buf_terminate_str(&out);
	assert_null(strstr((const char *)out.data, "defects"));
	seccert_writer_free(&w);
	buf_free_data(&out);
	buf_free_data(&err);
	testutil_remove_tree(dir);
	free(path);
	free(kpath);
	free(dir);
}

static void test_readback_verification(void **state)
{
	(void)state;
	buf_t img = BUF_INIT, rb = BUF_INIT;
	build_sample(&img);
	buf_append_bytes(&rb, img.data, img.len);
	buf_append_fill(&rb, 0xFF, 0x2000 - img.len);
	err_t e = {0};
	assert_int_equal(seccert_verify_readback(img.data, img.len, rb.data, rb.len, &e), 0);
	rb.data[0x45] ^= 0x10;
	assert_int_equal(seccert_verify_readback(img.data, img.len, rb.data, rb.len, &e), -1);
	assert_non_null(strstr(e.msg, "0x45"));
	rb.data[0x45] ^= 0x10;
	rb.data[0x1000] = 0;
	assert_int_equal(seccert_verify_readback(img.data, img.len, rb.data, rb.len, &e), -1);
	assert_non_null(strstr(e.msg, "0x1000"));
	assert_int_equal(seccert_verify_readback(img.data, img.len, rb.data, 10, &e), -1);
	buf_free_data(&img);
	buf_free_data(&rb);
}

/* ---- builder ---- */

static void test_keys_and_certs_reencoded(void **state)
{
	(void)state;
	mbedtls_pk_context pk;
	gen_ec_key(&pk);
	buf_t cert = BUF_INIT, pem = BUF_INIT, der = BUF_INIT, messy = BUF_INIT;
	make_cert_der(&pk, "CN=unit device", &cert);
	key_to_pem(&pk, &pem);
	key_to_der(&pk, &der);
	/* The same key as PEM with CRLF line ends and a comment before it: output is canonical. */
	buf_append_str(&messy, "comment line\r\n");
	for (size_t i = 0; i < pem.len; i++) {
		if (pem.data[i] == '\n')
			buf_append_byte(&messy, '\r');
		buf_append_byte(&messy, pem.data[i]);
	}
	struct seccert_spec s;
	seccert_spec_init(&s, "esp32c3");
	err_t e = {0};
	assert_non_null(seccert_spec_add_item(&s, SECCERT_TYPE_DEV_CERT, 0, cert.data, cert.len, "dev", &e));
	struct seccert_item *k = seccert_spec_add_item(&s, SECCERT_TYPE_PRIV_KEY, 0, messy.data, messy.len, "keypem", &e);
	assert_non_null(k);
	assert_non_null(seccert_spec_add_item(&s, SECCERT_TYPE_PRIV_KEY, 1, der.data, der.len, "keyder", &e));
	assert_null(seccert_spec_add_item(&s, SECCERT_TYPE_PRIV_KEY, 1, der.data, der.len, "again", &e));
	assert_non_null(strstr(e.msg, "duplicate"));
	struct seccert_output out;
	assert_int_equal(seccert_build_tlv(&s, &out, &e), 0);
	struct seccert_image img;
	assert_int_equal(seccert_parse_image(out.image.data, out.image.len, 0, &img, &e), 0);
	assert_int_equal(img.count, 4);
	const struct seccert_entry *en = seccert_find_entry(&img, SECCERT_TYPE_DEV_CERT, 0);
	testutil_assert_bytes_equal("DER cert", en->value.data, en->value.len, cert.data, cert.len);
	en = seccert_find_entry(&img, SECCERT_TYPE_PRIV_KEY, 0);
	assert_int_equal(en->value.len, pem.len + 1);
	testutil_assert_bytes_equal("PEM key", en->value.data, pem.len, pem.data, pem.len);
	assert_int_equal(en->value.data[pem.len], 0);
	assert_non_null(strstr((char *)pem.data, "BEGIN EC PRIVATE KEY"));
	en = seccert_find_entry(&img, SECCERT_TYPE_PRIV_KEY, 1);
	testutil_assert_bytes_equal("DER key", en->value.data, en->value.len, der.data, der.len);
	assert_int_equal(en->value.len, 121);
	/* The description names the certificate and shows the key only by type and digest. */
	json_t *d = seccert_describe_entry(seccert_find_entry(&img, SECCERT_TYPE_DEV_CERT, 0));
	assert_string_equal(json_string_value(json_object_get(d, "subject")), "CN=unit device");
	assert_string_equal(json_string_value(json_object_get(d, "not_before")), "2024-01-01 00:00:00");
	assert_string_equal(json_string_value(json_object_get(d, "not_after")), "2034-12-31 23:59:59");
	json_decref(d);
	d = seccert_describe_entry(en);
	assert_string_equal(json_string_value(json_object_get(d, "key_type")), "EC P-256");
	assert_null(json_object_get(d, "hex"));
	uint8_t dg[32];
	char dgh[65];
	mbedtls_sha256_ret(der.data, der.len, dg, 0);
	hex_encode_bytes(dg, 32, dgh);
	assert_string_equal(json_string_value(json_object_get(d, "sha256")), dgh);
	char *text = json_dumps(d, 0);
	char keyhex[2 * 121 + 1];
	hex_encode_bytes(der.data + 7, 16, keyhex);
	assert_null(strstr(text, keyhex));
	free(text);
	json_decref(d);
	seccert_image_free(&img);
	seccert_output_free(&out);
	seccert_spec_free(&s);

	/* A PEM certificate comes out as canonical PEM + NUL. */
	buf_t cert_pem = BUF_INIT;
	assert_int_equal(keyfile_encode_cert(cert.data, cert.len, KEYFILE_PEM, &cert_pem, &e), 0);
	assert_int_equal(cert_pem.data[cert_pem.len - 1], 0);
	assert_int_equal(cert_pem.data[cert_pem.len - 2], '\n');
	assert_non_null(strstr((char *)cert_pem.data, "-----BEGIN CERTIFICATE-----\n"));
	buf_t back = BUF_INIT;
	enum keyfile_encoding enc;
	assert_int_equal(keyfile_load_cert(cert_pem.data, cert_pem.len, "pem", &back, &enc, &e), 0);
	assert_int_equal(enc, KEYFILE_PEM);
	testutil_assert_bytes_equal("PEM round trip", back.data, back.len, cert.data, cert.len);
	/* Not a certificate: named in the message. */
	assert_int_equal(keyfile_load_cert((const uint8_t *)"hello", 5, "junk.der", &back, &enc, &e), -1);
	assert_non_null(strstr(e.msg, "junk.der"));

	buf_free_data(&back);
	buf_free_data(&cert_pem);
	buf_free_data(&cert);
	buf_wipe_data(&pem);
	buf_wipe_data(&der);
	buf_wipe_data(&messy);
	mbedtls_pk_free(&pk);
}

static void test_ecdsa_peripheral(void **state)
{
	(void)state;
	mbedtls_pk_context pk;
	gen_ec_key(&pk);
	buf_t cert = BUF_INIT, der = BUF_INIT;
	make_cert_der(&pk, "CN=h2", &cert);
	key_to_der(&pk, &der);
	for (int placeholder = 0; placeholder < 2; placeholder++) {
		struct seccert_spec s;
		seccert_spec_init(&s, "esp32h2");
		s.ecdsa_key_placeholder = placeholder;
		err_t e = {0};
		assert_non_null(seccert_spec_add_item(&s, SECCERT_TYPE_DEV_CERT, 0, cert.data, cert.len, "dev", &e));
		struct seccert_item *k = seccert_spec_add_item(&s, SECCERT_TYPE_PRIV_KEY, 0, der.data, der.len, "key", &e);
		k->key_kind = SECCERT_KEY_ECDSA_PERIPHERAL;
		strcpy(k->algorithm, "ECDSA");
		k->key_size = 256;
		k->efuse_key_id = 2;
		struct seccert_output out;
		assert_int_equal(seccert_build_tlv(&s, &out, &e), 0);
		struct seccert_image img;
		assert_int_equal(seccert_parse_image(out.image.data, out.image.len, 0, &img, &e), 0);
		assert_int_equal(img.entries[0].type, SECCERT_TYPE_SEC_CFG);
		assert_int_equal(img.entries[0].length, 40);
		assert_int_equal(img.entries[0].value.data[0], 6); /* BLOCK_KEY2 = block 6 */
		for (size_t i = 1; i < 40; i++)
			assert_int_equal(img.entries[0].value.data[i], 0);
		const struct seccert_entry *en = seccert_find_entry(&img, SECCERT_TYPE_PRIV_KEY, 0);
		assert_int_equal(en->flags, SECCERT_FLAG_ECDSA_PERIPHERAL);
		assert_int_equal(en->length, placeholder ? 0 : der.len);
		/* eFuse block = scalar reversed */
		uint8_t d[32];
		assert_int_equal(mbedtls_mpi_write_binary(&mbedtls_pk_ec(pk)->d, d, 32), 0);
		assert_int_equal(out.hw_count, 1);
		assert_memory_equal(out.hw[0].ecdsa_scalar, d, 32);
		for (size_t i = 0; i < 32; i++)
			assert_int_equal(out.hw[0].efuse_block[i], d[31 - i]);
		assert_string_equal(out.hw[0].purpose, "ECDSA_KEY");
		seccert_image_free(&img);
		seccert_output_free(&out);

		/* Refusals: KEY5 on the H2, a chip without the peripheral, a wrong curve size. */
		k->efuse_key_id = 5;
		assert_int_equal(seccert_build_tlv(&s, &out, &e), -1);
		assert_non_null(strstr(e.msg, "BLOCK_KEY5"));
		k->efuse_key_id = 1;
		k->key_size = 384;
		assert_int_equal(seccert_build_tlv(&s, &out, &e), -1);
		assert_non_null(strstr(e.msg, "384"));
		k->key_size = 256;
		k->efuse_key_id = -1;
		assert_int_equal(seccert_build_tlv(&s, &out, &e), -1);
		assert_non_null(strstr(e.msg, "eFuse key id"));
		k->efuse_key_id = 1;
		snprintf(s.chip, sizeof s.chip, "esp32c3");
		assert_int_equal(seccert_build_tlv(&s, &out, &e), -1);
		assert_non_null(strstr(e.msg, "esp32c3 has no ECDSA peripheral"));
		seccert_spec_free(&s);
	}
	uint8_t cfg[40];
	ecdsa_efuse_encode_sec_cfg(0, cfg);
	assert_int_equal(cfg[0], 4);
	buf_free_data(&cert);
	buf_wipe_data(&der);
	mbedtls_pk_free(&pk);
}

static void test_legacy_layouts(void **state)
{
	(void)state;
	mbedtls_pk_context ec, rsa;
	gen_ec_key(&ec);
	gen_rsa_key(&rsa, 1024);
	buf_t dev = BUF_INIT, ca = BUF_INIT, ecder = BUF_INIT, rsapem = BUF_INIT;
	make_cert_der(&ec, "CN=legacy dev", &dev);
	make_cert_der(&ec, "CN=legacy ca", &ca);
	key_to_der(&ec, &ecder);
	key_to_pem(&rsa, &rsapem);
	err_t e = {0};

	/* Plaintext key */
	struct seccert_spec s;
	seccert_spec_init(&s, "esp32c3");
	assert_non_null(seccert_spec_add_item(&s, SECCERT_TYPE_CA_CERT, 0, ca.data, ca.len, "ca", &e));
	assert_non_null(seccert_spec_add_item(&s, SECCERT_TYPE_DEV_CERT, 0, dev.data, dev.len, "dev", &e));
	assert_non_null(seccert_spec_add_item(&s, SECCERT_TYPE_PRIV_KEY, 0, ecder.data, ecder.len, "key", &e));
	struct seccert_output out;
	assert_int_equal(seccert_build_legacy(&s, &out, &e), 0);
	assert_int_equal(out.image.len, 0x6000);
	assert_int_equal(checksum_read_u32le(out.image.data + 24), 0x12345678u);
	assert_int_equal(checksum_read_u16le(out.image.data + 4), dev.len);
	struct seccert_image img;
	assert_int_equal(seccert_parse_image(out.image.data, out.image.len, 0, &img, &e), 0);
	assert_int_equal(img.layout, SECCERT_LAYOUT_LEGACY);
	assert_int_equal(img.count, 3);
	const struct seccert_entry *en = seccert_find_entry(&img, SECCERT_TYPE_DEV_CERT, 0);
	assert_int_equal(en->offset, 0x40);
	testutil_assert_bytes_equal("legacy dev", en->value.data, en->value.len, dev.data, dev.len);
	en = seccert_find_entry(&img, SECCERT_TYPE_CA_CERT, 0);
	assert_int_equal(en->offset, 0x840);
	testutil_assert_bytes_equal("legacy ca", en->value.data, en->value.len, ca.data, ca.len);
	en = seccert_find_entry(&img, SECCERT_TYPE_PRIV_KEY, 0);
	assert_int_equal(en->offset, 0x1840);
	testutil_assert_bytes_equal("legacy key", en->value.data, en->value.len, ecder.data, ecder.len);
	seccert_image_free(&img);
	out.image.data[0x1840 + 5] ^= 1;
	assert_int_equal(seccert_parse_image(out.image.data, out.image.len, 0, &img, &e), -1);
	assert_non_null(strstr(e.msg, "private key"));
	assert_non_null(strstr(e.msg, "0x1840"));
	assert_non_null(strstr(e.msg, "bad CRC"));
	seccert_image_free(&img);
	out.image.data[0x1840 + 5] ^= 1;
	checksum_write_u16le(out.image.data + 4, 3000);
	assert_int_equal(seccert_parse_image(out.image.data, out.image.len, 0, &img, &e), -1);
	assert_non_null(strstr(e.msg, "device certificate"));
	seccert_image_free(&img);
	/* the fields are independent: with the device certificate and the key both damaged, both
	 * are named and the CA certificate still decodes */
	out.image.data[0x1840 + 5] ^= 1;
	assert_int_equal(seccert_parse_image(out.image.data, out.image.len, 0, &img, &e), -1);
	assert_int_equal(img.defect_count, 2);
	assert_non_null(strstr(e.msg, "legacy device certificate at offset 0x40"));
	assert_non_null(strstr(e.msg, "legacy private key at offset 0x1840: bad CRC"));
	assert_int_equal(img.count, 1);
	assert_non_null(seccert_find_entry(&img, SECCERT_TYPE_CA_CERT, 0));
	seccert_image_free(&img);
	seccert_output_free(&out);
	seccert_spec_free(&s);

	/* DS: the legacy image decodes to the same DS_DATA / DS_CONTEXT as the TLV image. */
	uint8_t hmac[32];
	for (size_t i = 0; i < 32; i++)
		hmac[i] = (uint8_t)(0xA0 + i);
	seccert_spec_init(&s, "esp32s3");
	s.ds_iv_fixed = true;
	memset(s.ds_iv, 0x5A, sizeof s.ds_iv);
	assert_non_null(seccert_spec_add_item(&s, SECCERT_TYPE_DEV_CERT, 0, dev.data, dev.len, "dev", &e));
	struct seccert_item *k = seccert_spec_add_item(&s, SECCERT_TYPE_PRIV_KEY, 0, rsapem.data, rsapem.len, "rsa", &e);
	k->key_kind = SECCERT_KEY_RSA_DS;
	strcpy(k->algorithm, "RSA");
	k->key_size = 1024;
	k->efuse_key_id = 3;
	buf_append_bytes(&k->hmac_key, hmac, 32);
	struct seccert_output tlv;
	assert_int_equal(seccert_build_tlv(&s, &tlv, &e), 0);
	assert_int_equal(seccert_build_legacy(&s, &out, &e), 0);
	assert_int_equal(checksum_read_u32le(out.image.data + 36), 0x12345678u);
	assert_int_equal(checksum_read_u16le(out.image.data + 30), 1024);
	assert_int_equal(out.image.data[32], 3);
	assert_memory_equal(out.image.data + 0x1840 + 1600, s.ds_iv, 16);
	struct seccert_image a, b;
	assert_int_equal(seccert_parse_image(tlv.image.data, tlv.image.len, 0, &a, &e), 0);
	assert_int_equal(seccert_parse_image(out.image.data, out.image.len, 0, &b, &e), 0);
	assert_int_equal(b.layout, SECCERT_LAYOUT_LEGACY_DS);
	assert_null(seccert_find_entry(&a, SECCERT_TYPE_PRIV_KEY, 0));
	for (unsigned t = SECCERT_TYPE_DS_DATA; t <= SECCERT_TYPE_DS_CONTEXT; t++) {
		const struct seccert_entry *x = seccert_find_entry(&a, t, 0), *y = seccert_find_entry(&b, t, 0);
		assert_non_null(x);
		assert_non_null(y);
		testutil_assert_bytes_equal("DS entry", y->value.data, y->value.len, x->value.data, x->value.len);
	}
	assert_int_equal(seccert_find_entry(&a, SECCERT_TYPE_DS_DATA, 0)->value.len, 1604);
	assert_memory_equal(tlv.hw[0].efuse_block, hmac, 32);
	assert_false(tlv.hw[0].hmac_generated);
	seccert_image_free(&a);
	seccert_image_free(&b);
	/* Without an HMAC key one is drawn, and two builds differ. */
	buf_wipe_data(&k->hmac_key);
	struct seccert_output g1, g2;
	assert_int_equal(seccert_build_tlv(&s, &g1, &e), 0);
	assert_int_equal(seccert_build_tlv(&s, &g2, &e), 0);
	assert_true(g1.hw[0].hmac_generated);
	assert_memory_not_equal(g1.hw[0].efuse_block, g2.hw[0].efuse_block, 32);
	seccert_output_free(&g2);
	/* RSA DS on a chip without DS, and a declared size too large for the chip. */
	snprintf(s.chip, sizeof s.chip, "esp32");
	assert_int_equal(seccert_build_tlv(&s, &g2, &e), -1);
	assert_non_null(strstr(e.msg, "esp32 has no RSA"));
	snprintf(s.chip, sizeof s.chip, "esp32c3");
	k->key_size = 4096;
	assert_int_equal(seccert_build_tlv(&s, &g2, &e), -1);
	assert_non_null(strstr(e.msg, "4096"));
	assert_non_null(strstr(e.msg, "esp32c3"));
	seccert_output_free(&g1);
	seccert_output_free(&tlv);
	seccert_output_free(&out);
	seccert_spec_free(&s);

	buf_free_data(&dev);
	buf_free_data(&ca);
	buf_wipe_data(&ecder);
	buf_wipe_data(&rsapem);
	mbedtls_pk_free(&ec);
	mbedtls_pk_free(&rsa);
}

/* ---- CSV ---- */

static void test_csv_rows_and_errors(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	char cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(dir), 0);
	testutil_write_file("blob.bin", "\x01\x02\x03", 3);
	static const char header[] =
		"tlv_type,tlv_subtype,data_value,data_type,priv_key_type,algorithm,key_size,efuse_id,efuse_key\n";
	static const struct {
		const char *rows;
		const char *error; /* NULL: accepted */
	} cases[] = {
		{"ESP_SECURE_CERT_USER_DATA_2_TLV,3,\"a, b\",string,,,,,\n"
		 "# a comment row,,,,,,,,\n"
		 "\n"
		 "202,4,blob.bin,file,,,,,\n"
		 "54,0, 0a 0B ,hex,,,,,\n"
		 "55,1,AQID,base64,,,,,\n", NULL},
		{"ESP_SECURE_CERT_NOPE_TLV,0,x,string,,,,,\n", "line 2: unknown tlv_type 'ESP_SECURE_CERT_NOPE_TLV'"},
		{"51,0,x,string,,,,,\n51,0,y,string,,,,,\n", "line 3: duplicate"},
		{"51,255,x,string,,,,,\n", "line 2: tlv_subtype '255'"},
		{"51,0,x,binary,,,,,\n", "line 2: unsupported data_type 'binary'"},
		{"51,0,missing.bin,file,,,,,\n", "missing.bin"},
		{"51,0,zz,hex,,,,,\n", "line 2: hex data_value"},
		{"51,0,,string,,,,,\n", "line 2: missing required 'data_value'"},
		{"TLV_END,0,x,string,,,,,\n", "reserved"},
		{"ESP_SECURE_CERT_PRIV_KEY_TLV,0,blob.bin,file,hmac_encrypted,ECDSA,256,,\n",
		 "priv_key_type 'hmac_encrypted'"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		buf_t csv = BUF_INIT;
		buf_append_str(&csv, header);
		buf_append_str(&csv, cases[i].rows);
		testutil_write_file("c.csv", csv.data, csv.len);
		buf_free_data(&csv);
		struct seccert_spec s;
		seccert_spec_init(&s, "esp32c3");
		err_t e = {0};
		int rc = seccert_spec_add_csv(&s, "c.csv", &e);
		if (!cases[i].error) {
			if (rc)
				fail_msg("csv case %zu: %s", i, e.msg);
			assert_int_equal(s.count, 4);
			assert_int_equal(s.items[0].type, 52);
			assert_int_equal(s.items[0].subtype, 3);
			testutil_assert_bytes_equal("string", s.items[0].data.data, s.items[0].data.len,
						    (const uint8_t *)"a, b", 4);
			assert_int_equal(s.items[1].type, 202);
			testutil_assert_bytes_equal("file", s.items[1].data.data, s.items[1].data.len,
						    (const uint8_t *)"\x01\x02\x03", 3);
			testutil_assert_bytes_equal("hex", s.items[2].data.data, s.items[2].data.len,
						    (const uint8_t *)"\x0a\x0b", 2);
			testutil_assert_bytes_equal("b64", s.items[3].data.data, s.items[3].data.len,
						    (const uint8_t *)"\x01\x02\x03", 3);
			struct seccert_output out;
			assert_int_equal(seccert_build_tlv(&s, &out, &e), 0);
			struct seccert_image img;
			assert_int_equal(seccert_parse_image(out.image.data, out.image.len, 0, &img, &e), 0);
			assert_int_equal(img.count, 5);
			assert_int_equal(img.entries[0].type, 52);
			assert_int_equal(img.entries[4].type, SECCERT_TYPE_INTEGRITY);
			seccert_image_free(&img);
			seccert_output_free(&out);
		} else if (rc != -1 || !strstr(e.msg, cases[i].error)) {
			fail_msg("csv case %zu: rc %d, message '%s', want '%s'", i, rc, e.msg, cases[i].error);
		}
		seccert_spec_free(&s);
	}
	assert_int_equal(chdir(cwd), 0);
	testutil_remove_tree(dir);
	free(dir);
}

static void test_cli_usage_errors(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	buf_t sample = BUF_INIT;
	build_sample(&sample);
	sample.data[0x40 + 13] ^= 0x80;
	char *bad = testutil_join_path(dir, "bad.bin");
	testutil_write_file(bad, sample.data, sample.len);
	free(bad);
	buf_free_data(&sample);
	static const struct {
		const char *args[8];
		int rc;
		const char *msg;
	} cases[] = {
		{{"--bogus"}, 2, "unknown option '--bogus'"},
		{{"--private-key", "k.pem", "--configure_ds"}, 2, "--priv_key_algo"},
		{{"--secure_cert_type", "nvs", "--ca-cert", "x"}, 2, "espfab nvs"},
		{{"--target_chip", "esp8266"}, 2, "esp8266"},
		{{"--summary"}, 2, "device"},
		{{"--ca-cert", "nope.pem"}, 1, "nope.pem"},
		{{"--ds-iv", "0011", "--ca-cert", "x"}, 2, "--ds-iv"},
		{{"dump"}, 2, "usage"},
		{{"dump", "bad.bin"}, 1, "bad.bin: TLV at offset 0x40 (type 51 (USER_DATA_1) subtype 1): bad CRC"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *argv[12] = {"espfab", "seccert"};
		size_t n = 2;
		for (size_t k = 0; k < 8 && cases[i].args[k]; k++)
			argv[n++] = (char *)cases[i].args[k];
		buf_t out = BUF_INIT, err = BUF_INIT;
		int rc = testutil_run_espfab(dir, argv, &out, &err);
		buf_terminate_str(&err);
		if (rc != cases[i].rc || !strstr((char *)err.data, cases[i].msg))
			fail_msg("cli case %zu: rc %d, stderr '%s'", i, rc, (char *)err.data);
		buf_free_data(&out);
		buf_free_data(&err);
	}
	testutil_remove_tree(dir);
	free(dir);
}

/* The CLI end to end on generated inputs: an RSA DS key without a given HMAC key gets a fresh
 * one in hmac_key.bin (0600), the image's DS_DATA decrypts with it to the key's modulus, --output
 * copies the image, and the legacy type gives a cust_flash image. */
static void test_cli_ds_generated_hmac_key(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	mbedtls_pk_context rsa;
	gen_rsa_key(&rsa, 1024);
	buf_t pem = BUF_INIT, cert = BUF_INIT;
	key_to_pem(&rsa, &pem);
	make_cert_der(&rsa, "CN=cli ds", &cert);
	char *kp = testutil_join_path(dir, "k.pem"), *cp = testutil_join_path(dir, "c.der");
	testutil_write_file(kp, pem.data, pem.len);
	chmod(kp, 0600);
	testutil_write_file(cp, cert.data, cert.len);
	char *argv[] = {"espfab", "seccert", "--private-key=k.pem", "--device-cert", "c.der",
			"--configure_ds", "--priv_key_algo", "RSA", "1024", "--efuse_key_id", "2",
			"--target_chip", "esp32c6", "--output", "out.bin", "--skip_flash", NULL};
	buf_t out = BUF_INIT, err = BUF_INIT;
	int rc = testutil_run_espfab(dir, argv, &out, &err);
	buf_terminate_str(&err);
	if (rc)
		fail_msg("espfab seccert: %d %s", rc, (char *)err.data);
	char *hk = testutil_join_path(dir, "esp_secure_cert_data/hmac_key.bin");
	struct stat st;
	assert_int_equal(stat(hk, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	buf_t hmac = BUF_INIT, img = BUF_INIT, copy = BUF_INIT;
	testutil_read_file(hk, &hmac);
	assert_int_equal(hmac.len, 32);
	char *ip = testutil_join_path(dir, "esp_secure_cert_data/esp_secure_cert.bin");
	char *op = testutil_join_path(dir, "out.bin");
	testutil_read_file(ip, &img);
	testutil_read_file(op, &copy);
	testutil_assert_bytes_equal("--output copy", copy.data, copy.len, img.data, img.len);
	struct seccert_image im;
	err_t e = {0};
	assert_int_equal(seccert_parse_image(img.data, img.len, 0, &im, &e), 0);
	assert_null(seccert_find_entry(&im, SECCERT_TYPE_PRIV_KEY, 0));
	const struct seccert_entry *ctx = seccert_find_entry(&im, SECCERT_TYPE_DS_CONTEXT, 0);
	assert_int_equal(ctx->value.data[4], 2);
	assert_int_equal(checksum_read_u16le(ctx->value.data + 6), 1024);
	const struct seccert_entry *dd = seccert_find_entry(&im, SECCERT_TYPE_DS_DATA, 0);
	assert_int_equal(dd->length, 1220);
	assert_int_equal(checksum_read_u32le(dd->value.data), 1024 / 32 - 1);
	uint8_t aes_key[32], iv[16], plain[1200];
	assert_int_equal(ds_derive_aes_key(hmac.data, aes_key), 0);
	memcpy(iv, dd->value.data + 4, 16);
	mbedtls_aes_context aes;
	mbedtls_aes_init(&aes);
	mbedtls_aes_setkey_dec(&aes, aes_key, 256);
	assert_int_equal(mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_DECRYPT, 1200, iv, dd->value.data + 20, plain), 0);
	mbedtls_aes_free(&aes);
	mbedtls_mpi n, m;
	mbedtls_mpi_init(&n);
	mbedtls_mpi_init(&m);
	assert_int_equal(mbedtls_rsa_export(mbedtls_pk_rsa(rsa), &n, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(mbedtls_mpi_read_binary_le(&m, plain + 384, 384), 0);
	assert_int_equal(mbedtls_mpi_cmp_mpi(&m, &n), 0);
	mbedtls_mpi_free(&n);
	mbedtls_mpi_free(&m);
	seccert_image_free(&im);

	/* Legacy cust_flash through the CLI. */
	char *largv[] = {"espfab", "seccert", "--private-key", "k.pem", "--device-cert", "c.der",
			 "--secure_cert_type", "cust_flash", "--target_chip", "esp32c6", NULL};
	assert_int_equal(testutil_run_espfab(dir, largv, &out, &err), 0);
	img.len = 0;
	testutil_read_file(ip, &img);
	assert_int_equal(img.len, 0x6000);
	assert_int_equal(seccert_parse_image(img.data, img.len, 0, &im, &e), 0);
	assert_int_equal(im.layout, SECCERT_LAYOUT_LEGACY);
	const struct seccert_entry *key = seccert_find_entry(&im, SECCERT_TYPE_PRIV_KEY, 0);
	assert_int_equal(key->length, pem.len + 1);
	assert_memory_equal(key->value.data, pem.data, pem.len);
	seccert_image_free(&im);

	buf_wipe_data(&hmac);
	buf_free_data(&img);
	buf_free_data(&copy);
	buf_free_data(&out);
	buf_free_data(&err);
	buf_wipe_data(&pem);
	buf_free_data(&cert);
	free(hk);
	free(ip);
	free(op);
	free(kp);
	free(cp);
	mbedtls_pk_free(&rsa);
	testutil_remove_tree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_layout_and_crc),
		cmocka_unit_test(test_writer_refusals),
		cmocka_unit_test(test_reader_reports_corruptions),
		cmocka_unit_test(test_reader_continues_past_defects),
		cmocka_unit_test(test_dump_lists_every_defect),
		cmocka_unit_test(test_readback_verification),
		cmocka_unit_test(test_keys_and_certs_reencoded),
		cmocka_unit_test(test_ecdsa_peripheral),
		cmocka_unit_test(test_legacy_layouts),
		cmocka_unit_test(test_csv_rows_and_errors),
		cmocka_unit_test(test_cli_usage_errors),
		cmocka_unit_test(test_cli_ds_generated_hmac_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
