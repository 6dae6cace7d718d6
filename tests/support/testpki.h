/* testpki: attestation material made on the fly for tests that need a real signed
 * certification declaration (the engine refuses a CD that does not cover its product). */
#ifndef ESPFAB_TESTPKI_H
#define ESPFAB_TESTPKI_H

#include <stdint.h>

/* Writes dir/name: a CD covering vid/pid, signed by a fresh key with a self-signed signer. */
void testpki_write_cd(const char *dir, const char *name, uint16_t vid, uint16_t pid);
/* Writes dir/pai_cert.pem and dir/pai_key.pem (0600): a self-signed P-256 CA with key ids,
 * which the engine accepts as the PAI that signs its DACs. */
void testpki_write_pai(const char *dir);
/* The material the example-style test profiles name: the PAI above and dir/cd.der covering
 * VID 0xFFF1 PID 0x8000. */
void testpki_write_material(const char *dir);

#endif
