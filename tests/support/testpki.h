/* testpki: attestation material made on the fly for tests that need a real signed
 * certification declaration (the engine refuses a CD that does not cover its product). */
#ifndef ESPFAB_TESTPKI_H
#define ESPFAB_TESTPKI_H

#include <stdint.h>

/* Writes dir/name: a CD covering vid/pid, signed by a fresh key with a self-signed signer. */
void testpki_write_cd(const char *dir, const char *name, uint16_t vid, uint16_t pid);

#endif
