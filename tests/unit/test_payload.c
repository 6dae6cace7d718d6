/* Unit tests of src/formats/payload: bad inputs (each named in the message), base38 and Verhoeff
 * details, the QR extension data against connectedhomeip's own test string, and the CLI. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/payload.h"

static struct payload base_payload(void)
{
	struct payload p;
	memset(&p, 0, sizeof p);
	p.vid = 0xFFF1;
	p.pid = 0x8000;
	p.discovery = 2;
	p.discriminator = 3840;
	p.passcode = 20202021;
	return p;
}

static void test_spec_example(void **state)
{
	(void)state;
	/* matter-provisioning.md §4/§5 example values. */
	struct payload p = base_payload();
	uint8_t b[PAYLOAD_PACKED_LEN];
	payload_pack_bits(&p, b);
	const uint8_t want[] = {0x88, 0xff, 0x07, 0x00, 0x44, 0x00, 0xe0, 0x4b, 0x84, 0x68, 0x02};
	testutil_assert_bytes_equal("packed", b, sizeof b, want, sizeof want);
	char qr[PAYLOAD_QR_MAX], m[PAYLOAD_MANUAL_MAX];
	err_t e = {0};
	assert_int_equal(payload_encode_qr(&p, qr, sizeof qr, &e), 0);
	assert_string_equal(qr, "MT:Y.K9042C00KA0648G00");
	assert_int_equal(payload_encode_manual(&p, 0, m, &e), 0);
	assert_string_equal(m, "34970112332");
	p.flow = 2;
	assert_int_equal(payload_encode_manual(&p, 1, m, &e), 0);
	assert_string_equal(m, "749701123365521327687");
}

static void test_invalid_fields_are_named(void **state)
{
	(void)state;
	static const struct {
		uint32_t passcode;
		uint16_t discriminator;
		uint8_t flow;
		const char *named;
	} cases[] = {
		{0, 100, 0, "00000000"},	 {11111111, 100, 0, "11111111"}, {22222222, 100, 0, "22222222"},
		{33333333, 100, 0, "33333333"},	 {44444444, 100, 0, "44444444"}, {55555555, 100, 0, "55555555"},
		{66666666, 100, 0, "66666666"},	 {77777777, 100, 0, "77777777"}, {88888888, 100, 0, "88888888"},
		{99999999, 100, 0, "99999999"},	 {12345678, 100, 0, "12345678"}, {87654321, 100, 0, "87654321"},
		{99999999 + 1, 100, 0, "100000000"}, {134217727, 100, 0, "134217727"},
		{20202021, 4096, 0, "4096"},	 {20202021, 0xFFFF, 0, "65535"}, {20202021, 100, 3, "flow 3"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct payload p = base_payload();
		p.passcode = cases[i].passcode;
		p.discriminator = cases[i].discriminator;
		p.flow = cases[i].flow;
		char qr[PAYLOAD_QR_MAX], m[PAYLOAD_MANUAL_MAX];
		err_t e = {0};
		assert_int_equal(payload_encode_qr(&p, qr, sizeof qr, &e), -1);
		if (!strstr(e.msg, cases[i].named))
			fail_msg("case %zu: message does not name %s: %s", i, cases[i].named, e.msg);
		memset(&e, 0, sizeof e);
		assert_int_equal(payload_encode_manual(&p, 0, m, &e), -1);
		assert_non_null(strstr(e.msg, cases[i].named));
	}
}

static void test_bad_strings_are_rejected(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		const char *named;
	} cases[] = {
		{"XT:Y.K9042C00KA0648G00", "MT:"},
		{"mt:Y.K9042C00KA0648G00", "MT:"},
		{"Y.K9042C00KA0648G00", "MT:"},
		{"MT:Y.K9042C00KA0648G0", "length"},	   /* 18 chars: 5+5+5+3 */
		{"MT:Y.K9042C00KA0648g00", "'g'"},	   /* lowercase is not base38 */
		{"MT:Y.K9042C00KA0648 00", "' '"},
		{"MT:Y.K9042C00KA0648...", "exceeds"},	   /* 4-char group above 0xFFFF */
		{"MT:Y.K9042C00", "fewer than 11"},
		{"MT:R5L90MP500K64J00000", "version 5"},  /* connectedhomeip's wrong-version example */
		{"MT:", "fewer than 11"},
		{"34970112333", "check digit 3"},
		{"34970112331", "check digit 1"},
		{"749701123365521327680", "check digit 0"},
		{"3497011233", "10 digits"},
		{"349701123321", "12 digits"},
		{"3497011233x", "'x'"},
		{"84970112332", "check digit"},          /* first digit 8: version check after digit */
		{"74970112334", "flag is set"},         /* VID/PID flag with 11 digits */
		{"", "0 digits"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct payload p;
		err_t e = {0};
		assert_int_equal(payload_parse_string(cases[i].s, &p, NULL, &e), -1);
		if (!strstr(e.msg, cases[i].named))
			fail_msg("'%s': message does not name %s: %s", cases[i].s, cases[i].named, e.msg);
	}
}

static void test_manual_code_rules(void **state)
{
	(void)state;
	struct payload p;
	err_t e = {0};
	/* Dashes as printed on labels are accepted. */
	assert_int_equal(payload_parse_manual("3497-011-2332", &p, &e), 0);
	assert_int_equal(p.passcode, 20202021);
	assert_int_equal(p.discriminator >> 8, 15);
	/* A check-digit-correct code whose first digit is 8 names the version problem. */
	char d[12] = "8497011233";
	d[10] = payload_verhoeff_digit(d);
	d[11] = '\0';
	assert_int_equal(payload_parse_manual(d, &p, &e), -1);
	assert_non_null(strstr(e.msg, "first digit 8"));
	/* Check digit over a code that carries a forbidden passcode (11111111). */
	struct payload q = base_payload();
	q.passcode = 11111111;
	unsigned c2 = ((15u & 3u) << 14) | (q.passcode & 0x3FFFu), c3 = q.passcode >> 14;
	char raw[16];
	snprintf(raw, sizeof raw, "%u%05u%04u", 15u >> 2, c2, c3);
	size_t n = strlen(raw);
	raw[n] = payload_verhoeff_digit(raw);
	raw[n + 1] = '\0';
	assert_int_equal(payload_parse_manual(raw, &p, &e), -1);
	assert_non_null(strstr(e.msg, "11111111"));
	/* Verhoeff: the textbook example 236 -> check digit 3. */
	assert_int_equal(payload_verhoeff_digit("236"), '3');
	/* Any single-digit error in a valid code is caught. */
	const char *good = "749701123365521327687";
	for (size_t i = 0; i < strlen(good); i++) {
		char bad[32];
		strcpy(bad, good);
		bad[i] = (char)('0' + (bad[i] - '0' + 1) % 10);
		assert_int_equal(payload_parse_manual(bad, &p, &e), -1);
	}
}

static void test_base38_groups(void **state)
{
	(void)state;
	char s[32];
	uint8_t b[16];
	size_t n = 0;
	err_t e = {0};
	const uint8_t one[] = {0xFF}, two[] = {0xFF, 0xFF}, three[] = {0xFF, 0xFF, 0xFF};
	assert_int_equal(payload_encode_base38(one, 1, s, sizeof s, &e), 0);
	assert_int_equal(strlen(s), 2);
	assert_int_equal(payload_encode_base38(two, 2, s, sizeof s, &e), 0);
	assert_int_equal(strlen(s), 4);
	assert_int_equal(payload_encode_base38(three, 3, s, sizeof s, &e), 0);
	assert_int_equal(strlen(s), 5);
	assert_int_equal(payload_decode_base38(s, b, sizeof b, &n, &e), 0);
	testutil_assert_bytes_equal("base38", b, n, three, 3);
	/* 255 = 6*38 + 27 -> digits 27 ('R'), 6 ('6') least significant first */
	assert_int_equal(payload_encode_base38(one, 1, s, sizeof s, &e), 0);
	assert_string_equal(s, "R6");
	assert_int_equal(payload_encode_base38(one, 1, s, 2, &e), -1);
}

static void test_extension_data_matches_sdk(void **state)
{
	(void)state;
	/* connectedhomeip's QR test string with optional data (serial number and vendor elements). */
	const char *sdk = "MT:M5L90MP500K64J0A33P0SET70.QT52B.E23-WZE0WISA0DK5N1K8SQ1RYCU1O0";
	struct payload p;
	err_t e = {0};
	assert_int_equal(payload_parse_qr(sdk, &p, &e), 0);
	assert_int_equal(p.vid, 12);
	assert_int_equal(p.pid, 1);
	assert_int_equal(p.discriminator, 128);
	assert_int_equal(p.passcode, 2048);
	assert_int_equal(p.discovery, 1);
	assert_int_equal(p.extra_count, 3);
	int seen_serial = 0;
	for (size_t i = 0; i < p.extra_count; i++)
		if (p.extra[i].tag == 0 && p.extra[i].kind == PAYLOAD_EXTRA_STRING) {
			assert_string_equal(p.extra[i].str, "123456789");
			seen_serial = 1;
		}
	assert_true(seen_serial);
	/* Encoding the same content in a different order gives the SDK's bytes again. */
	struct payload q = p;
	q.extra[0] = p.extra[2];
	q.extra[2] = p.extra[0];
	char qr[PAYLOAD_QR_MAX];
	assert_int_equal(payload_encode_qr(&q, qr, sizeof qr, &e), 0);
	assert_string_equal(qr, sdk);
	/* Truncated extension data is reported. */
	char cut[80];
	snprintf(cut, sizeof cut, "%.*s", (int)strlen(sdk) - 5, sdk);
	assert_int_equal(payload_parse_qr(cut, &p, &e), -1);
	/* Duplicate tags are refused when encoding. */
	q.extra[1].tag = q.extra[0].tag;
	assert_int_equal(payload_encode_qr(&q, qr, sizeof qr, &e), -1);
	assert_non_null(strstr(e.msg, "twice"));
}

/* Random strings and mutated valid codes: decoded or refused with a message, never a crash. */
static void test_random_strings_are_handled(void **state)
{
	(void)state;
	static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-.:Tabc ";
	const char *seeds[] = {"MT:Y.K9042C00KA0648G00", "MT:M5L90MP500K64J0A33P0SET70.QT52B.E23-WZE0WISA0DK5N1K8SQ1RYCU1O0",
			       "34970112332", "749701123365521327687"};
	srand(4242);
	int ok = 0, refused = 0;
	for (int round = 0; round < 5000; round++) {
		char s[128];
		const char *seed = seeds[rand() % 4];
		snprintf(s, sizeof s, "%s", seed);
		size_t n = strlen(s);
		int edits = 1 + rand() % 3;
		for (int k = 0; k < edits; k++) {
			int what = rand() % 3;
			if (what == 0 && n)
				s[rand() % (int)n] = alphabet[rand() % (int)(sizeof alphabet - 1)];
			else if (what == 1 && n)
				s[--n] = '\0';
			else if (n + 1 < sizeof s) {
				s[n++] = alphabet[rand() % (int)(sizeof alphabet - 1)];
				s[n] = '\0';
			}
		}
		struct payload p;
		err_t e = {0};
		if (payload_parse_string(s, &p, NULL, &e) == 0) {
			ok++;
			char qr[PAYLOAD_QR_MAX];
			if (!strncmp(s, "MT:", 3) && payload_encode_qr(&p, qr, sizeof qr, &e) == 0)
				assert_int_equal(strncmp(qr, "MT:", 3), 0);
		} else {
			refused++;
			assert_true(e.msg[0] != '\0');
		}
	}
	assert_true(refused > 0);
	(void)ok;
}

static void test_cli(void **state)
{
	(void)state;
	static const struct {
		const char *args[20];
		int rc;
		const char *text; /* in stdout when rc 0, in stderr otherwise */
	} cases[] = {
		{{"payload", "-d", "4096", "-p", "20202021"}, 1, "4096"},
		{{"payload", "-d", "3840", "-p", "12345678"}, 1, "12345678"},
		{{"payload", "-d", "3840", "-p", "99999999"}, 1, "99999999"},
		{{"payload", "-d", "3840", "-p", "100000000"}, 1, "100000000"},
		{{"payload", "-d", "3840", "-p", "0"}, 1, "00000000"},
		{{"payload", "-d", "3840", "-p", "20202021", "-vid", "65536"}, 1, "65536"},
		{{"payload", "-d", "3840", "-p", "20202021", "-cf", "3"}, 2, "3"},
		{{"payload", "-d", "3840", "-p", "20202021", "-dm", "8"}, 1, "8"},
		{{"payload", "-d", "3840"}, 2, "--passcode"},
		{{"payload", "-d", "3840", "-p", "20202021", "--bogus"}, 2, "--bogus"},
		{{"payload", "parse", "XT:Y.K9042C00KA0648G00"}, 1, "MT:"},
		{{"payload", "parse", "34970112333"}, 1, "check digit"},
		/* The defaults of the reference tool: vid/pid 0, flow 0, discovery 4. */
		{{"payload", "--discriminator=3840", "--passcode", "20202021"}, 0, "Manualcode : 34970112332\n"},
		{{"payload", "-d", "0xF00", "-p", "20202021", "-vid", "0xFFF1", "-pid", "0x8000", "-dm", "2"}, 0,
		 "QRCode     : MT:Y.K9042C00KA0648G00\n"},
		{{"payload", "-d", "3840", "-p", "20202021", "-vid", "65521", "-pid", "32768", "-cf", "1"}, 0,
		 "Manualcode : 749701123365521327687\n"},
		{{"payload", "parse", "3497-011-2332"}, 0, "ShortDiscriminator : 15\n"},
		{{"payload", "-d", "128", "-p", "2048", "-vid", "12", "-pid", "1", "-dm", "1", "--serial-number",
		  "123456789", "--vendor-string", "130=myData", "--vendor-int", "131=12"},
		 0, "MT:M5L90MP500K64J0A33P0SET70.QT52B.E23-WZE0WISA0DK5N1K8SQ1RYCU1O0\n"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *argv[24] = {"espfab"};
		int n = 1;
		for (int k = 0; cases[i].args[k]; k++)
			argv[n++] = (char *)cases[i].args[k];
		argv[n] = NULL;
		buf_t out = BUF_INIT, err = BUF_INIT;
		int rc = testutil_run_espfab(NULL, argv, &out, &err);
		buf_terminate_str(&out);
		buf_terminate_str(&err);
		if (rc != cases[i].rc)
			fail_msg("case %zu: exit %d, want %d (%s)", i, rc, cases[i].rc, (char *)err.data);
		const char *where = rc == 0 ? (char *)out.data : (char *)err.data;
		if (!strstr(where, cases[i].text))
			fail_msg("case %zu: '%s' not in output: %s", i, cases[i].text, where);
		buf_free_data(&out);
		buf_free_data(&err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_invalid_fields_are_named),
		cmocka_unit_test(test_bad_strings_are_rejected),
		cmocka_unit_test(test_manual_code_rules),
		cmocka_unit_test(test_base38_groups),
		cmocka_unit_test(test_extension_data_matches_sdk),
		cmocka_unit_test(test_random_strings_are_handled),
		cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
