/*
 * ESP sealing and opening (RFC 4303) for every transform we offer: what
 * one SA seals its twin opens; a flipped bit, a truncation, a wrong
 * sequence number or bad padding are refused with the error that names
 * the statistic they count in, and leave the output as it was.
 * tests/integration/test_esp_tshark.c checks the same packets against an
 * independent implementation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "esp/esp.h"
#include "wire/ike_wire.h"

static const struct esp_alg algs[] = {
    {ESP_TRANSFORM_AES_GCM_16, 128, 0, false},
    {ESP_TRANSFORM_AES_GCM_16, 256, 0, false},
    {ESP_TRANSFORM_AES_CBC, 128, IPSEC_AUTH_HMAC_SHA, false},
    {ESP_TRANSFORM_AES_CBC, 256, IPSEC_AUTH_HMAC_SHA2_256, false},
    {ESP_TRANSFORM_AES_CBC, 192, IPSEC_AUTH_HMAC_SHA2_256, false},
    {ESP_TRANSFORM_3DES, 0, IPSEC_AUTH_HMAC_SHA, false},
    {ESP_TRANSFORM_NULL, 0, IPSEC_AUTH_HMAC_SHA2_256, false},
    {ESP_TRANSFORM_AES_GCM_16, 128, 0, true},
    {ESP_TRANSFORM_AES_CBC, 128, IPSEC_AUTH_HMAC_SHA2_256, true},
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

/* An outbound SA and its inbound twin over the same key. */
static void
pair(const struct esp_alg *a, struct esp_sa **out, struct esp_sa **in)
{
	uint8_t key[64];
	size_t n = esp_key_len(a);

	assert_int_not_equal(n, 0);
	for (size_t i = 0; i < n; i++)
		key[i] = (uint8_t)(0xa0 + i);
	assert_true(ips_ok(esp_sa_new(a, true, 0x11223344, key, n, out)));
	assert_true(ips_ok(esp_sa_new(a, false, 0x11223344, key, n, in)));
}

/* Every payload length from 0 to 70 (every padding), and a 1400-byte
 * one, round trip; the packet is no longer than the stated overhead. */
static void
test_round_trip(void **state)
{
	uint8_t payload[1400], pkt[1500], back[1500];

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	for (size_t k = 0; k < NALGS; k++) {
		struct esp_sa *o, *in;

		pair(&algs[k], &o, &in);
		for (size_t len = 0; len <= 1400;
		     len = len < 70 ? len + 1 : 1400) {
			uint64_t seq = algs[k].esn
			    ? ((uint64_t)3 << 32) + len + 1
			    : len + 1;
			struct wbuf w, b;
			uint32_t spi, lo;
			uint8_t nh = 0;

			wbuf_init_on(&w, pkt, sizeof(pkt));
			wbuf_init_on(&b, back, sizeof(back));
			assert_true(ips_ok(
			    esp_seal(o, seq, ESP_NH_IPV4, payload, len, &w)));
			assert_true(w.len <= len + esp_overhead(o));
			assert_true(ips_ok(esp_peek(w.p, w.len, &spi, &lo)));
			assert_int_equal(spi, 0x11223344);
			assert_int_equal(lo, (uint32_t)seq);
			if (algs[k].transform == ESP_TRANSFORM_NULL)
				/* RFC 2410: the payload in the clear */
				assert_memory_equal(
				    pkt + ESP_HDR_LEN, payload, len);
			assert_true(
			    ips_ok(esp_open(in, seq, w.p, w.len, &b, &nh)));
			assert_int_equal(b.len, len);
			assert_memory_equal(back, payload, len);
			assert_int_equal(nh, ESP_NH_IPV4);
			if (len == 1400)
				break;
		}
		assert_int_equal(
		    esp_encrypts(o), algs[k].transform != ESP_TRANSFORM_NULL);
		esp_sa_free(o);
		esp_sa_free(in);
	}
}

/* Any bit flipped anywhere is an ICV failure; the output is untouched. */
static void
test_tampering(void **state)
{
	uint8_t payload[100] = {1, 2, 3}, pkt[300], back[300];

	(void)state;
	for (size_t k = 0; k < NALGS; k++) {
		struct esp_sa *o, *in;
		struct wbuf w, b;
		uint8_t nh;

		pair(&algs[k], &o, &in);
		wbuf_init_on(&w, pkt, sizeof(pkt));
		assert_true(ips_ok(
		    esp_seal(o, 9, ESP_NH_IPV6, payload, sizeof(payload), &w)));
		for (size_t byte = 0; byte < w.len; byte++) {
			pkt[byte] ^= 0x10;
			wbuf_init_on(&b, back, sizeof(back));
			b.len = 3; /* what was there must stay */
			/* the sequence number as a receiver reads it */
			if (esp_open(
				in, wire_get_be32(pkt + 4), pkt, w.len, &b, &nh)
				.err != IPS_E_ESP_ICV)
				fail_msg(
				    "alg %zu: byte %zu of %zu flipped passes",
				    k, byte, w.len);
			assert_int_equal(b.len, 3);
			pkt[byte] ^= 0x10;
		}
		/* a sequence number that is not the packet's own */
		wbuf_init_on(&b, back, sizeof(back));
		assert_int_equal(
		    esp_open(in, 10, pkt, w.len, &b, &nh).err, IPS_E_INVAL);
		/* truncations: too short to hold the ICV, or shortened */
		assert_int_equal(
		    esp_open(in, 9, pkt, 10, &b, &nh).err, IPS_E_SHORT);
		assert_int_not_equal(
		    esp_open(in, 9, pkt, w.len - 1, &b, &nh).err, IPS_E_OK);
		assert_int_equal(b.len, 0);
		/* a direction the SA does not have */
		assert_int_equal(
		    esp_open(o, 9, pkt, w.len, &b, &nh).err, IPS_E_INVAL);
		assert_int_equal(
		    esp_seal(in, 9, ESP_NH_IPV4, payload, 1, &b).err,
		    IPS_E_INVAL);
		esp_sa_free(o);
		esp_sa_free(in);
	}
}

/* ESN: the high half is not on the wire but in the ICV (RFC 4303
 * 3.3.2.1, RFC 4106 5): opened with the wrong high half, it fails. */
static void
test_esn_high_half(void **state)
{
	uint8_t payload[40] = {0}, pkt[200], back[200];
	const uint64_t seq = ((uint64_t)7 << 32) | 5;

	(void)state;
	for (size_t k = 0; k < NALGS; k++) {
		struct esp_sa *o, *in;
		struct wbuf w, b;
		uint8_t nh;

		if (!algs[k].esn)
			continue;
		pair(&algs[k], &o, &in);
		wbuf_init_on(&w, pkt, sizeof(pkt));
		wbuf_init_on(&b, back, sizeof(back));
		assert_true(ips_ok(esp_seal(
		    o, seq, ESP_NH_IPV4, payload, sizeof(payload), &w)));
		assert_int_equal(wire_get_be32(pkt + 4), 5);
		assert_int_equal(
		    esp_open(in, 5, pkt, w.len, &b, &nh).err, IPS_E_ESP_ICV);
		assert_true(ips_ok(esp_open(in, seq, pkt, w.len, &b, &nh)));
		esp_sa_free(o);
		esp_sa_free(in);
	}
}

/*
 * Authentic but malformed: an ESP-NULL packet whose HMAC is right and
 * whose padding is not 1, 2, 3, ..., or whose pad length runs past the
 * payload, is a decryption failure (Packets Not Decrypted), not an
 * authentication one.
 */
static void
test_bad_trailer(void **state)
{
	const struct esp_alg a = {
	    ESP_TRANSFORM_NULL, 0, IPSEC_AUTH_HMAC_SHA2_256, false};
	static const uint8_t trailers[][4] = {
	    {1, 3, 2, 4}, /* padding 1, 3: not the sequence */
	    {0, 0, 9, 4}, /* pad length 9 > what is there */
	};
	uint8_t key[32], pkt[64], back[64], mac[32];
	struct esp_sa *in;

	(void)state;
	memset(key, 0x5a, sizeof(key));
	assert_true(ips_ok(esp_sa_new(&a, false, 0x0a0b0c0d, key, 32, &in)));
	for (size_t t = 0; t < 2; t++) {
		size_t len = 0, maclen = 0;
		struct wbuf b;
		uint8_t nh;

		wire_put_be32(pkt, 0x0a0b0c0d);
		wire_put_be32(pkt + 4, 1);
		len = 8;
		memset(pkt + len, 0xee, 8); /* payload */
		len += 8;
		memcpy(pkt + len, trailers[t], 4);
		len += 4;
		assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL,
		    key, 32, pkt, len, mac, sizeof(mac), &maclen));
		memcpy(pkt + len, mac, 16);
		len += 16;
		wbuf_init_on(&b, back, sizeof(back));
		assert_int_equal(
		    esp_open(in, 1, pkt, len, &b, &nh).err, IPS_E_ESP_DECRYPT);
		assert_int_equal(b.len, 0);
	}
	esp_sa_free(in);
}

/* Keys of the wrong length, and transforms we do not offer, are refused
 * at install time, not at the first packet. */
static void
test_bad_sa(void **state)
{
	static const struct esp_alg bad[] = {
	    {ESP_TRANSFORM_AES_GCM_16, 192, 0, false}, /* not offered */
	    {ESP_TRANSFORM_AES_CBC, 128, 0, false}, /* no integrity */
	    {ESP_TRANSFORM_NULL, 0, 0, false},
	    {ESP_TRANSFORM_AES_GCM_16, 128, IPSEC_AUTH_HMAC_SHA, false},
	    {99, 128, IPSEC_AUTH_HMAC_SHA, false},
	};
	const struct esp_alg ok = {ESP_TRANSFORM_AES_GCM_16, 128, 0, false};
	uint8_t key[64] = {0};
	struct esp_sa *sa;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(esp_key_len(&bad[i]), 0);
		assert_int_equal(
		    esp_sa_new(&bad[i], true, 1000, key, 20, &sa).err,
		    IPS_E_INVAL);
	}
	assert_int_equal(esp_key_len(&ok), 20); /* 16 + the salt */
	assert_int_equal(
	    esp_sa_new(&ok, true, 1000, key, 16, &sa).err, IPS_E_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_tampering),
	    cmocka_unit_test(test_esn_high_half),
	    cmocka_unit_test(test_bad_trailer),
	    cmocka_unit_test(test_bad_sa),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
