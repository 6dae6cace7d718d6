/* fuzz_keyfile: certificate and private-key loading (PEM or DER; PKCS#8, SEC1, PKCS#1) and the
 * re-encoding the secure-cert generator applies to them, as a user's cert and key files reach it. */
#include <stdint.h>
#include <stdlib.h>

#include <mbedtls/pk.h>

#include "core/buf.h"
#include "crypto/keyfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum keyfile_encoding enc;
	buf_t der = BUF_INIT, out = BUF_INIT;
	mbedtls_pk_context pk;
	err_t e = {0};

	(void)keyfile_is_pem(data, size);
	if (keyfile_load_cert(data, size, "fuzz", &der, &enc, &e) == 0) {
		if (keyfile_encode_cert(der.data, der.len, KEYFILE_PEM, &out, &e) != 0)
			abort(); /* a certificate that loaded always re-encodes */
		buf_free_data(&out);
	}
	buf_free_data(&der);

	mbedtls_pk_init(&pk);
	if (keyfile_load_private_key(data, size, NULL, "fuzz", &pk, &enc, &e) == 0) {
		if (keyfile_encode_private_key(&pk, KEYFILE_DER, &out, &e) == 0)
			buf_wipe_data(&out);
		buf_wipe_data(&out);
	}
	mbedtls_pk_free(&pk);
	return 0;
}
