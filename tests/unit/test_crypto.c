/*
 * IKE crypto primitives against published vectors (HMAC: RFC 2202 and
 * RFC 4231 test case 2; AES-CBC: NIST SP 800-38A F.2.1), Diffie-Hellman
 * agreement and peer-value checks for every group, and the RFC 2409 key
 * schedule's structure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "testlib.h"

#include "crypto/ike_crypto.h"
#include "crypto/ike_keys.h"

/* The algorithm cache every test computes with (group setup). */
static struct ike_crypto *cx;

static void
test_hmac_vectors(void **state)
{
	static const struct {
		unsigned alg;
		const char *mac;
	} v[] = {
	    {IKE_HASH_ALG_SHA1, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
	    {IKE_HASH_ALG_SHA256,
		"5bdcc146bf60754e6a042426089575c75a003f089d"
		"2739839dec58b964ec3843"},
	    {IKE_HASH_ALG_SHA384,
		"af45d2e376484031617f78d2b58a6b1b9c7ef464f5"
		"a01b47e42ec3736322445e8e2240ca5e69e2c78b32"
		"39ecfab21649"},
	    {IKE_HASH_ALG_SHA512,
		"164b7a7bfcf819e2e395fbe73b56e0a387bd64222e"
		"831fd610270cd7ea2505549758bf75c05a994a6d03"
		"4f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce7"
		"37"},
	};
	/* "what do ya want " | "for nothing?", in two chunks */
	const struct ike_chunk data[] = {
	    {"what do ya want ", 16}, {"for nothing?", 12}};
	uint8_t out[IKE_HASH_MAX], want[IKE_HASH_MAX];

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		size_t n = tl_unhex(v[i].mac, want);

		assert_int_equal(n, ike_hash_len(v[i].alg));
		assert_true(
		    ips_ok(ike_prf(cx, v[i].alg, "Jefe", 4, data, 2, out)));
		assert_memory_equal(out, want, n);
	}
	assert_int_equal(
	    ike_prf(cx, 1 /* MD5 */, "k", 1, data, 2, out).err, IPS_E_INVAL);
}

static void
test_aes_cbc_vector(void **state)
{
	uint8_t key[16], iv[16], pt[32], ct[32], want[32], back[32];

	(void)state;
	tl_unhex("2b7e151628aed2a6abf7158809cf4f3c", key);
	tl_unhex("000102030405060708090a0b0c0d0e0f", iv);
	tl_unhex(
	    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51",
	    pt);
	tl_unhex(
	    "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2",
	    want);
	assert_true(ips_ok(
	    ike_cbc(cx, IKE_CIPHER_AES_CBC, true, key, 16, iv, pt, 32, ct)));
	assert_memory_equal(ct, want, 32);
	assert_true(ips_ok(
	    ike_cbc(cx, IKE_CIPHER_AES_CBC, false, key, 16, iv, ct, 32, back)));
	assert_memory_equal(back, pt, 32);
	/* In place, and only whole blocks. */
	assert_true(ips_ok(ike_cbc(
	    cx, IKE_CIPHER_AES_CBC, true, key, 16, iv, back, 32, back)));
	assert_memory_equal(back, want, 32);
	assert_int_equal(
	    ike_cbc(cx, IKE_CIPHER_AES_CBC, true, key, 16, iv, pt, 17, ct).err,
	    IPS_E_INVAL);
	assert_int_equal(ike_cipher_keylen(IKE_CIPHER_AES_CBC, 0), 0);
	assert_int_equal(ike_cipher_keylen(IKE_CIPHER_AES_CBC, 256), 32);
	assert_int_equal(ike_cipher_keylen(IKE_CIPHER_3DES_CBC, 0), 24);
}

/* Both sides of every group reach the same secret; bad peers fail. */
static void
test_dh_groups(void **state)
{
	static const unsigned groups[] = {2, 5, 14, 15, 19, 20};

	(void)state;
	for (size_t g = 0; g < 6; g++) {
		struct ike_dh *a, *b;
		uint8_t pa[IKE_DH_MAX], pb[IKE_DH_MAX], bad[IKE_DH_MAX];
		uint8_t sa[IKE_DH_MAX], sb[IKE_DH_MAX];
		size_t n = ike_dh_public_len(groups[g]), la, lb;

		assert_true(ips_ok(ike_dh_new(cx, groups[g], &a)));
		assert_true(ips_ok(ike_dh_new(cx, groups[g], &b)));
		assert_true(ips_ok(ike_dh_public(a, pa, n)));
		assert_true(ips_ok(ike_dh_public(b, pb, n)));
		assert_memory_not_equal(pa, pb, n);
		assert_true(ips_ok(ike_dh_derive(a, pb, n, sa, &la)));
		assert_true(ips_ok(ike_dh_derive(b, pa, n, sb, &lb)));
		assert_int_equal(la, lb);
		/* MODP secrets are padded to the prime; ECP is x alone */
		assert_int_equal(la, groups[g] >= 19 ? n / 2 : n);
		assert_memory_equal(sa, sb, la);

		/* 0, 1 and all-ones (>= p) are not valid public values;
		 * nor is a point off the curve. */
		memset(bad, 0, n);
		assert_int_equal(
		    ike_dh_derive(a, bad, n, sa, &la).err, IPS_E_IKE_MALFORMED);
		bad[n - 1] = 1;
		assert_int_equal(
		    ike_dh_derive(a, bad, n, sa, &la).err, IPS_E_IKE_MALFORMED);
		memset(bad, 0xff, n);
		assert_int_equal(
		    ike_dh_derive(a, bad, n, sa, &la).err, IPS_E_IKE_MALFORMED);
		assert_int_equal(ike_dh_derive(a, pb, n - 1, sa, &la).err,
		    IPS_E_IKE_MALFORMED);
		ike_dh_free(a);
		ike_dh_free(b);
	}
	assert_int_equal(ike_dh_public_len(1), 0);
}

/* The schedule's definitions, recomputed from their RFC 2409 formulas
 * with the PRF alone. */
static void
test_key_schedule(void **state)
{
	static const uint8_t ni[16] = {1}, nr[16] = {2}, gxy[256] = {3};
	static const uint8_t ci[8] = {4}, cr[8] = {5}, spi[4] = {0xca, 0xfe};
	const unsigned prf = IKE_HASH_ALG_SHA1;
	uint8_t skeyid[IKE_HASH_MAX], x[IKE_HASH_MAX], key[32], km[64];
	struct ike_skeyids s;
	static const uint8_t zero = 0, proto = 3;

	(void)state;
	assert_true(ips_ok(ike_skeyid_psk(
	    cx, prf, (const uint8_t *)"psk", 3, ni, 16, nr, 16, skeyid)));
	{
		const struct ike_chunk in[] = {{ni, 16}, {nr, 16}};

		assert_true(ips_ok(ike_prf(cx, prf, "psk", 3, in, 2, x)));
		assert_memory_equal(skeyid, x, 20);
	}
	assert_true(
	    ips_ok(ike_skeyid_derive(cx, prf, skeyid, gxy, 256, ci, cr, &s)));
	assert_int_equal(s.len, 20);
	{
		const struct ike_chunk in[] = {
		    {s.a, 20}, {gxy, 256}, {ci, 8}, {cr, 8}, {"\x02", 1}};

		assert_true(ips_ok(ike_prf(cx, prf, skeyid, 20, in, 5, x)));
		assert_memory_equal(s.e, x, 20);
	}
	/* AES-256 needs 32 bytes from a 20-byte SKEYID_e: K1 | K2[0..12) */
	assert_true(ips_ok(ike_enc_key(cx, prf, &s, 32, key)));
	{
		const struct ike_chunk k1in[] = {{&zero, 1}};
		uint8_t k1[20], k2[20];
		const struct ike_chunk k2in[] = {{k1, 20}};

		assert_true(ips_ok(ike_prf(cx, prf, s.e, 20, k1in, 1, k1)));
		assert_true(ips_ok(ike_prf(cx, prf, s.e, 20, k2in, 1, k2)));
		assert_memory_equal(key, k1, 20);
		assert_memory_equal(key + 20, k2, 12);
	}
	/* AES-128 takes SKEYID_e's first 16 bytes as they are. */
	assert_true(ips_ok(ike_enc_key(cx, prf, &s, 16, key)));
	assert_memory_equal(key, s.e, 16);
	/* KEYMAT, no PFS, 36 bytes: K1 | K2[0..16) */
	assert_true(ips_ok(ike_keymat(
	    cx, prf, &s, NULL, 0, proto, spi, ni, 16, nr, 16, 36, km)));
	{
		const struct ike_chunk k1in[] = {
		    {&proto, 1}, {spi, 4}, {ni, 16}, {nr, 16}};
		uint8_t k1[20], k2[20];
		const struct ike_chunk k2in[] = {
		    {k1, 20}, {&proto, 1}, {spi, 4}, {ni, 16}, {nr, 16}};

		assert_true(ips_ok(ike_prf(cx, prf, s.d, 20, k1in, 4, k1)));
		assert_true(ips_ok(ike_prf(cx, prf, s.d, 20, k2in, 5, k2)));
		assert_memory_equal(km, k1, 20);
		assert_memory_equal(km + 20, k2, 16);
	}
	/* Phase 2 IV: hash(last block | M-ID) */
	{
		uint8_t iv[16], h[20];
		const uint8_t last[16] = {9};
		const struct ike_chunk in[] = {
		    {last, 16}, {"\x12\x34\x56\x78", 4}};

		assert_true(ips_ok(ike_iv_phase2(
		    cx, IKE_HASH_ALG_SHA1, last, 16, 0x12345678, iv)));
		assert_true(ips_ok(ike_hash(cx, IKE_HASH_ALG_SHA1, in, 2, h)));
		assert_memory_equal(iv, h, 16);
	}
}

static void
test_ct_equal_and_random(void **state)
{
	uint8_t a[32], b[32];

	(void)state;
	assert_true(ips_ok(ike_random(a, sizeof(a))));
	memcpy(b, a, sizeof(a));
	assert_true(ike_ct_equal(a, b, 32));
	b[31] ^= 1;
	assert_false(ike_ct_equal(a, b, 32));
}

static int
cx_setup(void **state)
{
	(void)state;
	return ips_ok(ike_crypto_new(&cx)) ? 0 : -1;
}

static int
cx_teardown(void **state)
{
	(void)state;
	ike_crypto_free(cx);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hmac_vectors),
	    cmocka_unit_test(test_aes_cbc_vector),
	    cmocka_unit_test(test_dh_groups),
	    cmocka_unit_test(test_key_schedule),
	    cmocka_unit_test(test_ct_equal_and_random),
	};

	return cmocka_run_group_tests(tests, cx_setup, cx_teardown);
}
