/* Matter onboarding payload vectors (../shared/vectors/onboarding): every row of vectors.csv
 * through the library (QR string, both manual codes, parse round trip) and through
 * `espfab payload` (case.json's command template with the tool name replaced). */
#include "testutil.h"
#include "vectable.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/payload.h"

static unsigned num(const struct vectable *t, int r, const char *col)
{
	return (unsigned)strtoul(vectable_get_cell(t, r, col), NULL, 10);
}

static void row_payload(const struct vectable *t, int r, struct payload *p)
{
	memset(p, 0, sizeof *p);
	p->version = (uint8_t)num(t, r, "version");
	p->vid = (uint16_t)num(t, r, "vid");
	p->pid = (uint16_t)num(t, r, "pid");
	p->flow = (uint8_t)num(t, r, "flow");
	p->discovery = (uint8_t)num(t, r, "discovery");
	p->discriminator = (uint16_t)num(t, r, "discriminator");
	p->passcode = num(t, r, "passcode");
}

static void test_library_encodes_every_row(void **state)
{
	(void)state;
	struct vectable t;
	json_t *meta;
	if (!vectable_load_set("onboarding", &t, &meta))
		skip();
	for (int r = 0; r < t.nrows; r++) {
		struct payload p;
		row_payload(&t, r, &p);
		char qr[PAYLOAD_QR_MAX], m[PAYLOAD_MANUAL_MAX];
		err_t e = {0};
		if (payload_encode_qr(&p, qr, sizeof qr, &e))
			fail_msg("row %d: %s", r + 1, e.msg);
		char what[40];
		snprintf(what, sizeof what, "row %d qr", r + 1);
		testutil_assert_bytes_equal(what, (uint8_t *)qr, strlen(qr), (const uint8_t *)vectable_get_cell(&t, r, "qr"),
					    strlen(vectable_get_cell(&t, r, "qr")));
		assert_int_equal(payload_encode_manual(&p, 0, m, &e), 0);
		snprintf(what, sizeof what, "row %d manual_short", r + 1);
		testutil_assert_bytes_equal(what, (uint8_t *)m, strlen(m),
					    (const uint8_t *)vectable_get_cell(&t, r, "manual_short"),
					    strlen(vectable_get_cell(&t, r, "manual_short")));
		assert_int_equal(payload_encode_manual(&p, 1, m, &e), 0);
		snprintf(what, sizeof what, "row %d manual_long", r + 1);
		testutil_assert_bytes_equal(what, (uint8_t *)m, strlen(m),
					    (const uint8_t *)vectable_get_cell(&t, r, "manual_long"),
					    strlen(vectable_get_cell(&t, r, "manual_long")));
	}
	vectable_free_table(&t);
	json_decref(meta);
}

static void test_library_parses_every_row(void **state)
{
	(void)state;
	struct vectable t;
	json_t *meta;
	if (!vectable_load_set("onboarding", &t, &meta))
		skip();
	for (int r = 0; r < t.nrows; r++) {
		struct payload want, got;
		row_payload(&t, r, &want);
		err_t e = {0};
		int is_qr = 0;
		if (payload_parse_string(vectable_get_cell(&t, r, "qr"), &got, &is_qr, &e))
			fail_msg("row %d qr: %s", r + 1, e.msg);
		assert_true(is_qr);
		assert_int_equal(got.version, want.version);
		assert_int_equal(got.vid, want.vid);
		assert_int_equal(got.pid, want.pid);
		assert_int_equal(got.flow, want.flow);
		assert_int_equal(got.discovery, want.discovery);
		assert_int_equal(got.discriminator, want.discriminator);
		assert_int_equal(got.passcode, want.passcode);
		assert_int_equal(got.extra_count, 0);

		if (payload_parse_string(vectable_get_cell(&t, r, "manual_short"), &got, &is_qr, &e))
			fail_msg("row %d manual_short: %s", r + 1, e.msg);
		assert_false(is_qr);
		assert_false(got.has_vid_pid);
		assert_int_equal(got.discriminator >> 8, want.discriminator >> 8);
		assert_int_equal(got.passcode, want.passcode);

		if (payload_parse_manual(vectable_get_cell(&t, r, "manual_long"), &got, &e))
			fail_msg("row %d manual_long: %s", r + 1, e.msg);
		assert_true(got.has_vid_pid);
		assert_int_equal(got.vid, want.vid);
		assert_int_equal(got.pid, want.pid);
		assert_int_equal(got.discriminator >> 8, want.discriminator >> 8);
		assert_int_equal(got.passcode, want.passcode);
	}
	vectable_free_table(&t);
	json_decref(meta);
}

static void check_cli_row(const struct vectable *t, int r, const buf_t *out, const char *dir)
{
	buf_t want = BUF_INIT;
	/* The tool prints the 21-digit code exactly when the flow is not standard. */
	buf_append_str(&want, "Manualcode : ");
	buf_append_str(&want, vectable_get_cell(t, r, num(t, r, "flow") ? "manual_long" : "manual_short"));
	buf_append_str(&want, "\nQRCode     : ");
	buf_append_str(&want, vectable_get_cell(t, r, "qr"));
	buf_append_str(&want, "\n");
	char what[32];
	snprintf(what, sizeof what, "row %d stdout", r + 1);
	testutil_assert_bytes_equal(what, out->data, out->len, want.data, want.len);

	/* espfab payload parse QR --json gives back the row's fields. */
	char *pargv[] = {"espfab", "payload", "parse", (char *)vectable_get_cell(t, r, "qr"), "--json", NULL};
	buf_t parsed = BUF_INIT;
	assert_int_equal(testutil_run_espfab(dir, pargv, &parsed, NULL), 0);
	buf_terminate_str(&parsed);
	json_error_t je;
	json_t *o = json_loads((char *)parsed.data, 0, &je);
	assert_non_null(o);
	static const char *const fields[][2] = {{"vendor_id", "vid"}, {"product_id", "pid"},
		{"commissioning_flow", "flow"}, {"discovery_capabilities", "discovery"},
		{"discriminator", "discriminator"}, {"passcode", "passcode"}, {"version", "version"}};
	for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
		assert_int_equal(json_integer_value(json_object_get(o, fields[k][0])),
				 num(t, r, fields[k][1]));
	json_decref(o);
	buf_free_data(&parsed);
	buf_free_data(&want);
}

static void test_cli_reproduces_every_row(void **state)
{
	(void)state;
	vectable_replay_rows("onboarding", "generate_setup_payload.py", "payload", check_cli_row);
}

/* One record of onb_codes.csv: fields may be quoted and hold a line break. */
static int read_csv_record(const char **pos, char fields[][64], int max)
{
	const char *p = *pos;
	int n = 0;
	if (!*p)
		return 0;
	while (n < max) {
		size_t len = 0;
		if (*p == '"') {
			for (p++; *p && !(*p == '"' && p[1] != '"'); p++) {
				if (*p == '"')
					p++;
				if (len < 63)
					fields[n][len++] = *p;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ',' && *p != '\n' && *p != '\r')
				if (len < 63)
					fields[n][len++] = *p++;
		}
		fields[n++][len] = '\0';
		if (*p == ',') {
			p++;
			continue;
		}
		while (*p == '\r' || *p == '\n')
			p++;
		break;
	}
	*pos = p;
	return n;
}

/* The Matter manufacturing tool's onb_codes.csv (../shared/vectors/mfg) holds the same kind of
 * codes, for other VID/PID/flow values: decode, re-encode and group them as the tool wrote them. */
static void test_mfg_onboarding_codes(void **state)
{
	(void)state;
	if (!testutil_vectors_dir())
		skip();
	char *set = testutil_vector_path("mfg", NULL);
	struct stat st;
	int have = stat(set, &st) == 0;
	free(set);
	if (!have)
		skip();
	char **cases = testutil_list_cases("mfg");
	int checked = 0;
	for (char **c = cases; *c; c++) {
		char *dir = testutil_vector_path("mfg", *c);
		char *cj = testutil_join_path(dir, "case.json"), *oc = testutil_join_path(dir, "onb_codes.csv");
		json_t *meta = testutil_load_json(cj);
		assert_non_null(meta);
		buf_t text = BUF_INIT;
		testutil_read_file(oc, &text);
		const char *pos = (const char *)text.data;
		char f[4][64];
		assert_int_equal(read_csv_record(&pos, f, 4), 4);
		assert_string_equal(f[0], "qrcode");
		while (read_csv_record(&pos, f, 4) == 4) {
			struct payload p;
			err_t e = {0};
			if (payload_parse_qr(f[0], &p, &e))
				fail_msg("%s: %s", *c, e.msg);
			assert_int_equal(p.discriminator, strtoul(f[2], NULL, 10));
			assert_int_equal(p.passcode, strtoul(f[3], NULL, 10));
			assert_int_equal(p.passcode, json_integer_value(json_object_get(meta, "passcode")));
			assert_int_equal(p.vid, strtoul(json_string_value(json_object_get(meta, "vendor_id")), NULL, 0));
			assert_int_equal(p.pid, strtoul(json_string_value(json_object_get(meta, "product_id")), NULL, 0));
			char qr[PAYLOAD_QR_MAX], m[PAYLOAD_MANUAL_MAX], g[PAYLOAD_MANUAL_GROUPED_MAX];
			assert_int_equal(payload_encode_qr(&p, qr, sizeof qr, &e), 0);
			assert_string_equal(qr, f[0]);
			assert_int_equal(payload_encode_manual(&p, p.flow != PAYLOAD_FLOW_STANDARD, m, &e), 0);
			assert_int_equal(payload_group_manual(m, g, &e), 0);
			assert_string_equal(g, f[1]);
			checked++;
		}
		buf_free_data(&text);
		json_decref(meta);
		free(cj), free(oc), free(dir);
	}
	assert_true(checked > 0);
	testutil_free_list(cases);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_library_encodes_every_row),
		cmocka_unit_test(test_library_parses_every_row),
		cmocka_unit_test(test_cli_reproduces_every_row),
		cmocka_unit_test(test_mfg_onboarding_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
