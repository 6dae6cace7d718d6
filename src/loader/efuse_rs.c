/* efuse_rs: eFuse block coding (see efuse_rs.h). */
#include "loader/efuse_rs.h"

#include <pthread.h>
#include <string.h>

static uint8_t gf_exp[512];
static uint8_t gf_log[256];
static pthread_once_t gf_once = PTHREAD_ONCE_INIT;

static void gf_build_tables(void)
{
	unsigned x = 1;
	for (int i = 0; i < 255; i++) {
		gf_exp[i] = (uint8_t)x;
		gf_log[x] = (uint8_t)i;
		x <<= 1;
		if (x & 0x100)
			x ^= 0x11D;
	}
	for (int i = 255; i < 512; i++)
		gf_exp[i] = gf_exp[i - 255];
}

/* Tables are built once; encoders may run on the worker and UI threads at the same time. */
static void gf_init(void)
{
	pthread_once(&gf_once, gf_build_tables);
}

static uint8_t gf_mul(uint8_t a, uint8_t b)
{
	if (!a || !b)
		return 0;
	return gf_exp[gf_log[a] + gf_log[b]];
}

/* g(x) = Π (x - α^i), i = 0..11, coefficients highest degree first (g[0] = 1). */
static void rs_generator(uint8_t g[EFUSE_RS_PARITY_LEN + 1])
{
	memset(g, 0, EFUSE_RS_PARITY_LEN + 1);
	g[0] = 1;
	int deg = 0;
	for (int i = 0; i < EFUSE_RS_PARITY_LEN; i++) {
		uint8_t root = gf_exp[i];
		/* multiply by (x + root): new[j] = g[j] + root*g[j-1] */
		for (int j = deg + 1; j > 0; j--)
			g[j] ^= gf_mul(g[j - 1], root);
		deg++;
	}
}

void efuse_rs_encode(const uint8_t data[EFUSE_RS_DATA_LEN], uint8_t parity[EFUSE_RS_PARITY_LEN])
{
	uint8_t g[EFUSE_RS_PARITY_LEN + 1];
	uint8_t rem[EFUSE_RS_PARITY_LEN] = {0};
	gf_init();
	rs_generator(g);
	/* Long division of data·x^12 by g, message byte 0 = highest-degree coefficient. */
	for (int i = 0; i < EFUSE_RS_DATA_LEN; i++) {
		uint8_t coef = data[i] ^ rem[0];
		memmove(rem, rem + 1, EFUSE_RS_PARITY_LEN - 1);
		rem[EFUSE_RS_PARITY_LEN - 1] = 0;
		if (coef)
			for (int j = 0; j < EFUSE_RS_PARITY_LEN; j++)
				rem[j] ^= gf_mul(g[j + 1], coef);
	}
	memcpy(parity, rem, EFUSE_RS_PARITY_LEN);
}

void efuse_rs_check_words(const uint8_t data[EFUSE_RS_DATA_LEN], uint32_t words[3])
{
	uint8_t p[EFUSE_RS_PARITY_LEN];
	efuse_rs_encode(data, p);
	for (int w = 0; w < 3; w++)
		words[w] = (uint32_t)p[4 * w] | (uint32_t)p[4 * w + 1] << 8 |
			   (uint32_t)p[4 * w + 2] << 16 | (uint32_t)p[4 * w + 3] << 24;
}

int efuse_rs_syndromes(const uint8_t codeword[EFUSE_RS_DATA_LEN + EFUSE_RS_PARITY_LEN],
		       uint8_t syn[EFUSE_RS_PARITY_LEN])
{
	int bad = 0;
	gf_init();
	for (int i = 0; i < EFUSE_RS_PARITY_LEN; i++) {
		uint8_t x = gf_exp[i], acc = 0;
		/* Horner over coefficients, highest degree first */
		for (int k = 0; k < EFUSE_RS_DATA_LEN + EFUSE_RS_PARITY_LEN; k++)
			acc = gf_mul(acc, x) ^ codeword[k];
		syn[i] = acc;
		if (acc)
			bad++;
	}
	return bad;
}

void efuse_34_encode(const uint8_t data[24], uint8_t out[32])
{
	for (int g = 0; g < 4; g++) {
		const uint8_t *in = data + 6 * g;
		uint8_t *o = out + 8 * g;
		uint8_t x = 0;
		unsigned sum = 0;
		for (int i = 0; i < 6; i++) {
			o[i] = in[i];
			x ^= in[i];
			sum += (unsigned)(i + 1) * (unsigned)__builtin_popcount(in[i]);
		}
		o[6] = x;
		o[7] = (uint8_t)sum;
	}
}
