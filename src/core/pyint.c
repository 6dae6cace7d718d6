#include "core/pyint.h"

#include <string.h>

static int pyint_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int pyint_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

int pyint_parse(const char *s, int base, int64_t *out)
{
	if (!s || (base != 0 && base != 2 && base != 8 && base != 10 && base != 16))
		return -1;
	const char *p = s, *end = s + strlen(s);
	while (p < end && pyint_is_space(*p))
		p++;
	while (end > p && pyint_is_space(end[-1]))
		end--;
	int neg = 0;
	if (p < end && (*p == '+' || *p == '-'))
		neg = *p++ == '-';
	int auto_base = base == 0, prefixed = 0;
	if (end - p >= 2 && p[0] == '0') {
		char x = (char)(p[1] | 0x20);
		int pb = x == 'x' ? 16 : x == 'o' ? 8 : x == 'b' ? 2 : 0;
		if (pb && (base == 0 || base == pb)) {
			base = pb;
			p += 2;
			prefixed = 1;
		}
	}
	if (base == 0)
		base = 10;
	/* After a prefix one underscore may come first ("0x_ff"); elsewhere underscores only
	 * separate digits, singly. */
	if (prefixed && p < end && *p == '_')
		p++;
	if (p >= end)
		return -1;
	uint64_t v = 0;
	int ndigits = 0, nonzero = 0, leading_zero = *p == '0';
	for (const char *c = p; c < end; c++) {
		if (*c == '_') {
			if (c + 1 >= end || c[1] == '_' || c == p)
				return -1;
			continue;
		}
		int d = pyint_digit_value(*c);
		if (d >= base)
			return -1;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -1;
		v = v * (uint64_t)base + (uint64_t)d;
		ndigits++;
		nonzero |= d != 0;
	}
	if (!ndigits)
		return -1;
	/* int("010", 0) is an error in Python 3; int("000", 0) is 0. */
	if (auto_base && !prefixed && leading_zero && nonzero)
		return -1;
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return -1;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return -1;
		*out = (int64_t)v;
	}
	return 0;
}
