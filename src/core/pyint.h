/* pyint: integers parsed the way Python's int(text, base) reads them, because the reference tools
 * take their numeric options through int(s) or int(s, 0) and users' command lines and CSV files
 * rely on what those accept (surrounding whitespace, a sign, 0x/0o/0b prefixes, underscores). */
#ifndef ESPFAB_CORE_PYINT_H
#define ESPFAB_CORE_PYINT_H

#include <stdint.h>

/* base 10, 16, 8, 2, or 0 (prefix decides; a decimal with a leading zero is then refused, as
 * Python does). Returns 0 and sets *out, or -1 when s is not an integer Python accepts or its
 * value does not fit an int64_t. */
int pyint_parse(const char *s, int base, int64_t *out);

#endif
