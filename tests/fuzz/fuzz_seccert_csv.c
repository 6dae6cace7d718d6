/* fuzz_seccert_csv: the esp_secure_cert generator's CSV (tlv_type, subtype, data_value,
 * data_type, key columns) and the TLV build from it, with fixed DS IV. The run happens in a
 * scratch folder holding the input files of the CSV vector cases (when the vectors are there),
 * so file rows can name real certificates and keys. Whatever builds must parse back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fileio.h"
#include "formats/seccert.h"
#include "formats/seccert_build.h"

static char fuzz_csv_path[4200];
static char fuzz_dir[64];

static const char *const fuzz_case_files[] = {"pai_cert.der", "paa_cert.pem", "dac_cert.der",
					      "dac_cert.pem", "dac_key_sec1.pem", "dac_key.pem",
					      "user5.bin", "rsa_ca_cert.pem", "rsa_client_cert.pem",
					      "rsa_client_key.der", "fuzz.csv", NULL};

static void fuzz_remove_scratch(void)
{
	for (int i = 0; fuzz_case_files[i]; i++) {
		char path[200];

		snprintf(path, sizeof path, "%s/%s", fuzz_dir, fuzz_case_files[i]);
		unlink(path);
	}
	rmdir(fuzz_dir);
}

static void fuzz_copy_case_files(const char *vectors, const char *set_case)
{
	const char *const *names = fuzz_case_files;

	for (int i = 0; names[i]; i++) {
		char path[4096];
		buf_t data = BUF_INIT;
		err_t e = {0};

		snprintf(path, sizeof path, "%s/secure_cert/%s/%s", vectors, set_case, names[i]);
		if (fileio_read_file(path, &data, &e) == 0)
			(void)fileio_write_atomic(names[i], data.data, data.len, 0600, &e);
		buf_free_data(&data);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/espfab-fuzz-seccert-csv.XXXXXX");
	const char *dir = mkdtemp(fuzz_dir);
	const char *vectors = getenv("ESPFAB_VECTORS");

	if (!dir || chdir(dir) != 0)
		abort();
	atexit(fuzz_remove_scratch);
	if (vectors) {
		fuzz_copy_case_files(vectors, "s07_csv_custom_tlvs");
		fuzz_copy_case_files(vectors, "s10_csv_multi_subtypes");
	}
	snprintf(fuzz_csv_path, sizeof fuzz_csv_path, "%s/fuzz.csv", dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seccert_spec spec;
	struct seccert_output out;
	err_t e = {0};
	FILE *f = fopen(fuzz_csv_path, "wb");

	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	seccert_spec_init(&spec, "esp32c3");
	spec.ds_iv_fixed = true;
	memset(&out, 0, sizeof out);
	if (seccert_spec_add_csv(&spec, fuzz_csv_path, &e) == 0 &&
	    seccert_build_tlv(&spec, &out, &e) == 0) {
		struct seccert_image img;

		if (seccert_parse_image(out.image.data, out.image.len, 0, &img, &e) != 0)
			abort(); /* the writer's image must read back */
		seccert_image_free(&img);
		seccert_output_free(&out);
	}
	seccert_spec_free(&spec);
	return 0;
}
