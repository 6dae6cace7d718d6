#include "crypto/pbkdf2.h"

#include <stdatomic.h>
#include <string.h>

#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define PBKDF2_X86 1
#endif

#define PBKDF2_HLEN 32
#define PBKDF2_BLOCK 64
/* The iterated blocks hash 64 (pad) + 32 (U) bytes: their length field is 768 bits. */
#define PBKDF2_ITER_BITS 0x300u
#define PBKDF2_MAX_LANES 4

/* The HMAC key schedule, done once: SHA-256 states after the ipad and opad blocks. */
struct pbkdf2_keyed {
	mbedtls_sha256_context ipad, opad;
};

static void pbkdf2_store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int pbkdf2_set_key(struct pbkdf2_keyed *k, const uint8_t *pw, size_t pw_len)
{
	uint8_t key[PBKDF2_BLOCK] = {0}, pad[PBKDF2_BLOCK];
	int rc = 0;
	mbedtls_sha256_init(&k->ipad);
	mbedtls_sha256_init(&k->opad);
	if (pw_len > PBKDF2_BLOCK)
		rc = mbedtls_sha256_ret(pw, pw_len, key, 0);
	else if (pw_len)
		memcpy(key, pw, pw_len);
	for (size_t i = 0; i < PBKDF2_BLOCK; i++)
		pad[i] = key[i] ^ 0x36;
	if (!rc)
		rc = mbedtls_sha256_starts_ret(&k->ipad, 0) || mbedtls_sha256_update_ret(&k->ipad, pad, sizeof pad);
	for (size_t i = 0; i < PBKDF2_BLOCK; i++)
		pad[i] = key[i] ^ 0x5c;
	if (!rc)
		rc = mbedtls_sha256_starts_ret(&k->opad, 0) || mbedtls_sha256_update_ret(&k->opad, pad, sizeof pad);
	mbedtls_platform_zeroize(key, sizeof key);
	mbedtls_platform_zeroize(pad, sizeof pad);
	return rc;
}

static void pbkdf2_free_key(struct pbkdf2_keyed *k)
{
	mbedtls_sha256_free(&k->ipad);
	mbedtls_sha256_free(&k->opad);
}

/* U1 = HMAC(pw, salt || INT(block)), through mbedTLS's buffered SHA-256 (salt of any length). */
static int pbkdf2_first_u(const struct pbkdf2_keyed *k, const uint8_t *salt, size_t salt_len, uint32_t block,
			  uint8_t u[PBKDF2_HLEN])
{
	mbedtls_sha256_context c;
	uint8_t be[4];
	pbkdf2_store_be32(be, block);
	mbedtls_sha256_init(&c);
	mbedtls_sha256_clone(&c, &k->ipad);
	int rc = (salt_len && mbedtls_sha256_update_ret(&c, salt, salt_len)) ||
		 mbedtls_sha256_update_ret(&c, be, sizeof be) || mbedtls_sha256_finish_ret(&c, u);
	if (!rc) {
		mbedtls_sha256_clone(&c, &k->opad);
		rc = mbedtls_sha256_update_ret(&c, u, PBKDF2_HLEN) || mbedtls_sha256_finish_ret(&c, u);
	}
	mbedtls_sha256_free(&c);
	return rc;
}

/* Iterations 2..n of one chain on mbedTLS's compression function: t = U1 ^ ... ^ Un. */
static void pbkdf2_iterate_portable(const struct pbkdf2_keyed *k, uint32_t iterations, const uint8_t u1[PBKDF2_HLEN],
				    uint8_t t[PBKDF2_HLEN])
{
	mbedtls_sha256_context ci, co;
	uint8_t bi[PBKDF2_BLOCK] = {0}, bo[PBKDF2_BLOCK] = {0};
	mbedtls_sha256_init(&ci);
	mbedtls_sha256_init(&co);
	mbedtls_sha256_clone(&ci, &k->ipad);
	mbedtls_sha256_clone(&co, &k->opad);
	/* Both blocks: 32 message bytes, the 0x80 terminator, zeros, the bit length. */
	bi[PBKDF2_HLEN] = bo[PBKDF2_HLEN] = 0x80;
	pbkdf2_store_be32(bi + 60, PBKDF2_ITER_BITS);
	pbkdf2_store_be32(bo + 60, PBKDF2_ITER_BITS);
	memcpy(bi, u1, PBKDF2_HLEN);
	memcpy(t, u1, PBKDF2_HLEN);
	for (uint32_t j = 1; j < iterations; j++) {
		memcpy(ci.state, k->ipad.state, sizeof ci.state);
		mbedtls_internal_sha256_process(&ci, bi);
		for (int w = 0; w < 8; w++)
			pbkdf2_store_be32(bo + 4 * w, ci.state[w]);
		memcpy(co.state, k->opad.state, sizeof co.state);
		mbedtls_internal_sha256_process(&co, bo);
		for (int w = 0; w < 8; w++)
			pbkdf2_store_be32(bi + 4 * w, co.state[w]);
		for (int i = 0; i < PBKDF2_HLEN; i++)
			t[i] ^= bi[i];
	}
	mbedtls_platform_zeroize(bi, sizeof bi);
	mbedtls_platform_zeroize(bo, sizeof bo);
	mbedtls_sha256_free(&ci);
	mbedtls_sha256_free(&co);
}

#ifdef PBKDF2_X86
/* FIPS 180-4 §4.2.2. */
static const uint32_t pbkdf2_k256[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define PBKDF2_NI __attribute__((target("sha,sse4.1")))
#define PBKDF2_NI_INLINE __attribute__((target("sha,sse4.1"), always_inline)) static inline

/* State words H0..H7 (lane 0 first) to the instructions' register pair ABEF / CDGH. */
PBKDF2_NI_INLINE void pbkdf2_ni_to_abef(__m128i dcba, __m128i hgfe, __m128i *abef, __m128i *cdgh)
{
	__m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
	__m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
	*abef = _mm_alignr_epi8(cdab, efgh, 8);
	*cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
}

/* And back: the digest as message words W0..W3, W4..W7 of the next block. */
PBKDF2_NI_INLINE void pbkdf2_ni_from_abef(__m128i abef, __m128i cdgh, __m128i *dcba, __m128i *hgfe)
{
	__m128i feba = _mm_shuffle_epi32(abef, 0x1B);
	__m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
	*dcba = _mm_blend_epi16(feba, dchg, 0xF0);
	*hgfe = _mm_alignr_epi8(dchg, feba, 8);
}

/* One compression of L independent blocks, interleaved so the rounds of one chain fill the
 * latency of the others. w0/w1 hold message words 0..7 per lane and receive the new state in
 * message order; words 8..15 are the fixed padding of a 96-byte message. */
PBKDF2_NI_INLINE void pbkdf2_ni_compress(int L, __m128i abef0, __m128i cdgh0, __m128i w0[], __m128i w1[])
{
	__m128i s0[PBKDF2_MAX_LANES], s1[PBKDF2_MAX_LANES], m[4][PBKDF2_MAX_LANES];
	const __m128i pad2 = _mm_set_epi32(0, 0, 0, (int)0x80000000u);
	const __m128i pad3 = _mm_set_epi32((int)PBKDF2_ITER_BITS, 0, 0, 0);
#pragma GCC unroll 4
	for (int l = 0; l < L; l++) {
		s0[l] = abef0;
		s1[l] = cdgh0;
		m[0][l] = w0[l];
		m[1][l] = w1[l];
		m[2][l] = pad2;
		m[3][l] = pad3;
	}
#pragma GCC unroll 16
	for (int g = 0; g < 16; g++) {
		__m128i k = _mm_load_si128((const __m128i *)&pbkdf2_k256[4 * g]);
#pragma GCC unroll 4
		for (int l = 0; l < L; l++) {
			if (g >= 4)
				m[g % 4][l] = _mm_sha256msg2_epu32(
					_mm_add_epi32(_mm_sha256msg1_epu32(m[g % 4][l], m[(g + 1) % 4][l]),
						      _mm_alignr_epi8(m[(g + 3) % 4][l], m[(g + 2) % 4][l], 4)),
					m[(g + 3) % 4][l]);
			__m128i wk = _mm_add_epi32(m[g % 4][l], k);
			s1[l] = _mm_sha256rnds2_epu32(s1[l], s0[l], wk);
			s0[l] = _mm_sha256rnds2_epu32(s0[l], s1[l], _mm_shuffle_epi32(wk, 0x0E));
		}
	}
#pragma GCC unroll 4
	for (int l = 0; l < L; l++)
		pbkdf2_ni_from_abef(_mm_add_epi32(s0[l], abef0), _mm_add_epi32(s1[l], cdgh0), &w0[l], &w1[l]);
}

PBKDF2_NI_INLINE void pbkdf2_ni_iterate_lanes(int L, const uint32_t inner[8], const uint32_t outer[8],
					      uint32_t iterations, uint8_t u[][PBKDF2_HLEN], uint8_t t[][PBKDF2_HLEN])
{
	const __m128i bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
	__m128i iabef, icdgh, oabef, ocdgh;
	pbkdf2_ni_to_abef(_mm_loadu_si128((const __m128i *)inner), _mm_loadu_si128((const __m128i *)(inner + 4)),
			  &iabef, &icdgh);
	pbkdf2_ni_to_abef(_mm_loadu_si128((const __m128i *)outer), _mm_loadu_si128((const __m128i *)(outer + 4)),
			  &oabef, &ocdgh);
	__m128i w0[PBKDF2_MAX_LANES], w1[PBKDF2_MAX_LANES], t0[PBKDF2_MAX_LANES], t1[PBKDF2_MAX_LANES];
#pragma GCC unroll 4
	for (int l = 0; l < L; l++) {
		w0[l] = t0[l] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)u[l]), bswap);
		w1[l] = t1[l] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(u[l] + 16)), bswap);
	}
	for (uint32_t j = 1; j < iterations; j++) {
		pbkdf2_ni_compress(L, iabef, icdgh, w0, w1);
		pbkdf2_ni_compress(L, oabef, ocdgh, w0, w1);
#pragma GCC unroll 4
		for (int l = 0; l < L; l++) {
			t0[l] = _mm_xor_si128(t0[l], w0[l]);
			t1[l] = _mm_xor_si128(t1[l], w1[l]);
		}
	}
#pragma GCC unroll 4
	for (int l = 0; l < L; l++) {
		_mm_storeu_si128((__m128i *)t[l], _mm_shuffle_epi8(t0[l], bswap));
		_mm_storeu_si128((__m128i *)(t[l] + 16), _mm_shuffle_epi8(t1[l], bswap));
	}
}

/* One instantiation per lane count, so every loop above unrolls to straight-line code. */
PBKDF2_NI static void pbkdf2_ni_iterate(int lanes, const uint32_t inner[8], const uint32_t outer[8],
					uint32_t iterations, uint8_t u[][PBKDF2_HLEN], uint8_t t[][PBKDF2_HLEN])
{
	switch (lanes) {
	case 1: pbkdf2_ni_iterate_lanes(1, inner, outer, iterations, u, t); break;
	case 2: pbkdf2_ni_iterate_lanes(2, inner, outer, iterations, u, t); break;
	case 3: pbkdf2_ni_iterate_lanes(3, inner, outer, iterations, u, t); break;
	default: pbkdf2_ni_iterate_lanes(4, inner, outer, iterations, u, t); break;
	}
}
#endif

bool pbkdf2_has_sha_ni(void)
{
#ifdef PBKDF2_X86
	/* 0 unknown, 1 no, 2 yes; racing first callers compute the same answer. */
	static atomic_int cached;
	int c = atomic_load_explicit(&cached, memory_order_relaxed);
	if (!c) {
		unsigned a, b, cx, d;
		bool ok = __get_cpuid(1, &a, &b, &cx, &d) && (cx & bit_SSSE3) && (cx & bit_SSE4_1);
		ok = ok && __get_cpuid_count(7, 0, &a, &b, &cx, &d) && (b & bit_SHA);
		c = ok ? 2 : 1;
		atomic_store_explicit(&cached, c, memory_order_relaxed);
	}
	return c == 2;
#else
	return false;
#endif
}

static atomic_int pbkdf2_default_impl = PBKDF2_IMPL_AUTO;

void pbkdf2_set_default_impl(enum pbkdf2_impl impl)
{
	atomic_store(&pbkdf2_default_impl, (int)impl);
}

int pbkdf2_hmac_sha256_with(enum pbkdf2_impl impl, const uint8_t *pw, size_t pw_len, const uint8_t *salt,
			    size_t salt_len, uint32_t iterations, uint8_t *out, size_t out_len, err_t *e)
{
	if (iterations == 0)
		return err_set_msg(e, ERR_CHECK, "PBKDF2: iteration count 0 is out of range");
	if ((uint64_t)out_len > (uint64_t)UINT32_MAX * PBKDF2_HLEN)
		return err_set_msg(e, ERR_CHECK, "PBKDF2: output length %zu is too long", out_len);
	if (impl == PBKDF2_IMPL_AUTO)
		impl = pbkdf2_has_sha_ni() ? PBKDF2_IMPL_SHA_NI : PBKDF2_IMPL_PORTABLE;
	if (impl == PBKDF2_IMPL_SHA_NI && !pbkdf2_has_sha_ni())
		return err_set_msg(e, ERR_CHECK, "PBKDF2: this CPU has no SHA extensions");
	int lanes = impl == PBKDF2_IMPL_SHA_NI ? PBKDF2_MAX_LANES : 1;

	struct pbkdf2_keyed k;
	uint8_t u[PBKDF2_MAX_LANES][PBKDF2_HLEN], t[PBKDF2_MAX_LANES][PBKDF2_HLEN];
	int rc = pbkdf2_set_key(&k, pw, pw_len);
	size_t nblocks = (out_len + PBKDF2_HLEN - 1) / PBKDF2_HLEN;
	for (size_t b = 0; !rc && b < nblocks; b += (size_t)lanes) {
		int n = nblocks - b < (size_t)lanes ? (int)(nblocks - b) : lanes;
		for (int l = 0; !rc && l < n; l++)
			rc = pbkdf2_first_u(&k, salt, salt_len, (uint32_t)(b + (size_t)l + 1), u[l]);
		if (rc)
			break;
#ifdef PBKDF2_X86
		if (impl == PBKDF2_IMPL_SHA_NI)
			pbkdf2_ni_iterate(n, k.ipad.state, k.opad.state, iterations, u, t);
		else
#endif
			for (int l = 0; l < n; l++)
				pbkdf2_iterate_portable(&k, iterations, u[l], t[l]);
		for (int l = 0; l < n; l++) {
			size_t off = (b + (size_t)l) * PBKDF2_HLEN;
			size_t len = out_len - off < PBKDF2_HLEN ? out_len - off : PBKDF2_HLEN;
			memcpy(out + off, t[l], len);
		}
	}
	mbedtls_platform_zeroize(u, sizeof u);
	mbedtls_platform_zeroize(t, sizeof t);
	pbkdf2_free_key(&k);
	if (rc)
		return err_set_msg(e, ERR_CHECK, "PBKDF2: SHA-256 failed");
	return 0;
}

int pbkdf2_hmac_sha256(const uint8_t *pw, size_t pw_len, const uint8_t *salt, size_t salt_len,
		       uint32_t iterations, uint8_t *out, size_t out_len, err_t *e)
{
	return pbkdf2_hmac_sha256_with((enum pbkdf2_impl)atomic_load(&pbkdf2_default_impl), pw, pw_len, salt, salt_len, iterations, out, out_len, e);
}
